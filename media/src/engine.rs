//! How every peer connection of this crate is built, server and headless clients alike: Opus
//! and VP8 only, the default interceptors (NACK, reports, TWCC feedback), key-frame requests
//! handed to the application, one UDP socket, no mDNS, no STUN.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, Packet, Slot, StreamInfo, TaggedPacket};
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use rtc::sansio::Protocol;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    Registry, SettingEngineBuilder,
};

/// Payload type we register Opus with; answers use the offerer's number.
const OPUS_PAYLOAD_TYPE: u8 = 111;
/// Payload type we register VP8 with; answers use the offerer's number.
const VP8_PAYLOAD_TYPE: u8 = 96;
/// Position of the key-frame request forwarder: application-most, after every interceptor that
/// reads RTCP (the default chain's slots are below 10 000).
const KEYFRAME_FORWARDER_SLOT: usize = 14_000;

/// The Opus codec as we register and send it.
pub fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// The VP8 codec as we register and send it.
pub fn vp8_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_VP8.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

/// STUN and TURN servers of a headless client, and whether it may use only relayed candidates
/// (the server side needs none: it is reached at its own or announced address).
#[derive(Debug, Clone, Default)]
pub struct IceSettings {
    pub servers: Vec<IceServerEntry>,
    /// `iceTransportPolicy: "relay"`: gather and use only TURN relay candidates.
    pub relay_only: bool,
}

/// One STUN or TURN server (`turn:host:3478?transport=udp`) with its credential.
#[derive(Debug, Clone)]
pub struct IceServerEntry {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

/// Builds a peer connection bound to exactly `addr`.
pub async fn build_peer_connection(
    addr: SocketAddr,
    handler: Arc<dyn PeerConnectionEventHandler>,
    ice: &IceSettings,
) -> webrtc::error::Result<Arc<dyn PeerConnection>> {
    let mut media_engine = MediaEngine::default();
    media_engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus_codec(),
            payload_type: OPUS_PAYLOAD_TYPE,
        },
        RtpCodecKind::Audio,
    )?;
    media_engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: vp8_codec(),
            payload_type: VP8_PAYLOAD_TYPE,
        },
        RtpCodecKind::Video,
    )?;
    let registry = register_default_interceptors(Registry::new(), &mut media_engine)?.with(
        Slot::from(KEYFRAME_FORWARDER_SLOT),
        KeyframeRequestForwarder::default(),
    );

    let setting_engine = SettingEngineBuilder::new()
        // mDNS would add a socket on port 5353 per connection. The server is reached at its
        // host candidate and learns a browser's address from its checks (peer-reflexive), so
        // there is nothing to resolve.
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        // We bind one concrete address; announce it even when it is loopback (tests, a proxy
        // on the same host).
        .with_include_loopback_candidate(true)
        .build();

    let mut configuration = RTCConfigurationBuilder::new().with_ice_servers(
        ice.servers
            .iter()
            .map(|s| webrtc::peer_connection::RTCIceServer {
                urls: s.urls.clone(),
                username: s.username.clone(),
                credential: s.credential.clone(),
            })
            .collect(),
    );
    if ice.relay_only {
        configuration = configuration
            .with_ice_transport_policy(webrtc::peer_connection::RTCIceTransportPolicy::Relay);
    }
    let pc = PeerConnectionBuilder::new()
        .with_configuration(configuration.build())
        .with_media_engine(media_engine)
        .with_interceptor_registry(registry)
        .with_setting_engine(setting_engine)
        .with_handler(handler)
        .with_udp_addrs(vec![addr])
        .build()
        .await?;
    Ok(Arc::new(pc))
}

/// Hands inbound key-frame requests (PLI, FIR) to the application's local track and drops the
/// rest of the inbound RTCP, which the other interceptors have already acted on. Inbound RTCP
/// stops at the end of the chain unless an interceptor marks it for the application.
#[derive(Default)]
struct KeyframeRequestForwarder {
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequestForwarder {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = webrtc::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let requests: Vec<Box<dyn rtc::rtcp::Packet>> = packets
                .iter()
                .filter(|packet| is_keyframe_request(packet.as_ref()))
                .cloned()
                .collect();
            if requests.is_empty() {
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(requests);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }
}

impl Interceptor for KeyframeRequestForwarder {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// Whether an RTCP batch delivered to a local track asks for a key frame.
pub fn asks_for_keyframe(packets: &[Box<dyn rtc::rtcp::Packet>]) -> bool {
    packets.iter().any(|p| is_keyframe_request(p.as_ref()))
}
