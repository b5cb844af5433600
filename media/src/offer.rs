//! Checks a browser's SDP offer before any resources are spent on it, and says in words a
//! person can act on why one cannot be served.

use rtc::peer_connection::sdp::RTCSessionDescription;

use crate::error::MediaError;
use crate::limits::SDP_BYTES_MAX;

/// Direction of a media section as the offerer wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferDirection {
    /// `a=sendrecv` (also the default when no direction is given).
    SendRecv,
    /// `a=sendonly`: the offerer sends, we only receive.
    SendOnly,
    /// `a=recvonly`: the offerer only receives.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl OfferDirection {
    /// Whether the offerer wants to receive media in this section.
    pub fn offerer_receives(self) -> bool {
        matches!(self, OfferDirection::SendRecv | OfferDirection::RecvOnly)
    }
}

/// What an acceptable offer contains.
#[derive(Debug, Clone)]
pub struct CheckedOffer {
    /// The parsed description, ready for the peer connection.
    pub description: RTCSessionDescription,
    /// The audio section's direction (always present: Opus audio is required).
    pub audio: OfferDirection,
    /// The video section's direction, if the offer has an active video section.
    pub video: Option<OfferDirection>,
}

/// Parses and checks an offer: size, syntax, exactly one audio section with Opus, at most one
/// video section and only with VP8.
pub fn check_offer(sdp: &str) -> Result<CheckedOffer, MediaError> {
    if sdp.len() > SDP_BYTES_MAX {
        return Err(MediaError::SdpTooLarge {
            bytes: sdp.len(),
            max: SDP_BYTES_MAX,
        });
    }
    if !sdp.trim_start().starts_with("v=") {
        return Err(MediaError::MalformedSdp(
            "an SDP offer starts with \"v=0\"".into(),
        ));
    }
    let description = RTCSessionDescription::offer(sdp.to_owned())
        .map_err(|err| MediaError::MalformedSdp(first_line(&err.to_string())))?;
    let parsed = description
        .unmarshal()
        .map_err(|err| MediaError::MalformedSdp(first_line(&err.to_string())))?;

    let mut audio = None;
    let mut video = None;
    for media in &parsed.media_descriptions {
        let kind = media.media_name.media.as_str();
        if media.media_name.port.value == 0 || !matches!(kind, "audio" | "video") {
            continue; // rejected sections and data channels are answered by the stack
        }
        let codecs: Vec<String> = media
            .attributes
            .iter()
            .filter(|a| a.key == "rtpmap")
            .filter_map(|a| a.value.as_deref())
            .filter_map(|v| v.split_whitespace().nth(1))
            .filter_map(|enc| enc.split('/').next())
            .map(str::to_ascii_lowercase)
            .collect();
        let direction = if media.attribute("sendonly").is_some() {
            OfferDirection::SendOnly
        } else if media.attribute("recvonly").is_some() {
            OfferDirection::RecvOnly
        } else if media.attribute("inactive").is_some() {
            OfferDirection::Inactive
        } else {
            OfferDirection::SendRecv
        };
        let (slot, codec) = if kind == "audio" {
            (&mut audio, "opus")
        } else {
            (&mut video, "vp8")
        };
        if slot.is_some() {
            return Err(MediaError::UnsupportedCodecs(format!(
                "the offer has more than one {kind} section; send one audio and at most one video track"
            )));
        }
        if !codecs.iter().any(|c| c == codec) {
            let offered = if codecs.is_empty() {
                "none".to_owned()
            } else {
                let mut unique = codecs.clone();
                unique.dedup();
                unique.join(", ")
            };
            return Err(MediaError::UnsupportedCodecs(format!(
                "the {kind} section offers no {} (offered: {offered}); calls are relayed without transcoding",
                codec.to_uppercase()
            )));
        }
        for (key, what) in [
            ("ice-ufrag", "ICE credentials (a=ice-ufrag)"),
            ("ice-pwd", "ICE credentials (a=ice-pwd)"),
            ("fingerprint", "DTLS fingerprint (a=fingerprint)"),
        ] {
            if media.attribute(key).is_none() && parsed.attribute(key).is_none() {
                return Err(MediaError::MalformedSdp(format!(
                    "the {kind} section has no {what}"
                )));
            }
        }
        *slot = Some(direction);
    }
    let Some(audio) = audio else {
        return Err(MediaError::UnsupportedCodecs(
            "the offer has no audio section with Opus".into(),
        ));
    };
    Ok(CheckedOffer {
        description,
        audio,
        video,
    })
}

/// The answer as a browser behind NAT must see it: every host candidate and connection line on
/// `bind_ip` names `announced` instead (1:1 NAT, the node's public or DMZ address that the
/// firewall forwards to `bind_ip` port for port). Other lines are kept byte for byte.
pub fn announce(sdp: &str, bind_ip: std::net::IpAddr, announced: std::net::IpAddr) -> String {
    let bind = bind_ip.to_string();
    let public = announced.to_string();
    let family = if announced.is_ipv4() { "IP4" } else { "IP6" };
    let mut out = String::with_capacity(sdp.len() + 64);
    for line in sdp.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix("\r\n") {
            Some(b) => (b, "\r\n"),
            None => match line.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (line, ""),
            },
        };
        if let Some(rest) = body.strip_prefix("a=candidate:") {
            // foundation component transport priority connection-address port typ ...
            let mut fields: Vec<&str> = rest.split(' ').collect();
            if fields.len() > 4 && fields[4] == bind {
                fields[4] = &public;
                out.push_str("a=candidate:");
                out.push_str(&fields.join(" "));
                out.push_str(end);
                continue;
            }
        } else if let Some(addr) = body
            .strip_prefix("c=IN IP4 ")
            .or_else(|| body.strip_prefix("c=IN IP6 "))
        {
            if addr == bind {
                out.push_str(&format!("c=IN {family} {public}{end}"));
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(sections: &str) -> String {
        format!(
            "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
             a=fingerprint:sha-256 00:11\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n{sections}"
        )
    }

    const AUDIO: &str = "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n";
    const PCMU: &str =
        "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:0 PCMU/8000\r\n";
    const VP8: &str = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n";
    const H264: &str = "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtpmap:102 H264/90000\r\n";

    #[test]
    fn accepts_opus_with_optional_vp8() {
        let checked = check_offer(&offer(AUDIO)).unwrap();
        assert_eq!(
            (checked.audio, checked.video),
            (OfferDirection::SendRecv, None)
        );
        let checked = check_offer(&offer(&format!("{AUDIO}{VP8}"))).unwrap();
        assert_eq!(checked.video, Some(OfferDirection::SendOnly));
    }

    #[test]
    fn refuses_what_cannot_be_relayed() {
        let check = |sdp: String, expect: &str| {
            let err = check_offer(&sdp).unwrap_err();
            assert!(
                err.to_string().contains(expect),
                "{err} should mention {expect}"
            );
        };
        check(offer(PCMU), "no OPUS (offered: pcmu)");
        check(offer(&format!("{AUDIO}{H264}")), "no VP8 (offered: h264)");
        check(offer(""), "no audio section");
        check(offer(&format!("{AUDIO}{AUDIO}")), "more than one audio");
        check("hello".into(), "malformed");
        check("v=0\r\nthis is not sdp\r\n".into(), "malformed");
        check("x".repeat(SDP_BYTES_MAX + 1), "more than the");
        let no_fingerprint = offer(AUDIO).replace("a=fingerprint:sha-256 00:11\r\n", "");
        check(no_fingerprint, "no DTLS fingerprint");
        let no_ufrag = offer(AUDIO).replace("a=ice-ufrag:abcd\r\n", "");
        check(no_ufrag, "no ICE credentials");
    }

    #[test]
    fn announce_rewrites_host_candidates_on_the_bind_address_only() {
        let sdp = "v=0\r\nc=IN IP4 10.1.0.5\r\na=candidate:1 1 udp 2130706431 10.1.0.5 40002 typ host\r\n\
                   a=candidate:2 1 udp 1694498815 10.9.9.9 40002 typ srflx raddr 10.1.0.5 rport 40002\r\n\
                   a=ice-ufrag:abc\r\n";
        let out = announce(
            sdp,
            "10.1.0.5".parse().unwrap(),
            "203.0.113.7".parse().unwrap(),
        );
        assert_eq!(
            out,
            "v=0\r\nc=IN IP4 203.0.113.7\r\na=candidate:1 1 udp 2130706431 203.0.113.7 40002 typ host\r\n\
             a=candidate:2 1 udp 1694498815 10.9.9.9 40002 typ srflx raddr 10.1.0.5 rport 40002\r\n\
             a=ice-ufrag:abc\r\n"
        );
    }
}
