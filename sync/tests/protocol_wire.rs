//! Property-style tests of the frame decoder: random, truncated, bit-flipped and oversized input
//! gives an error, never a panic, and a session fed such input applies nothing.

use automerge::ChangeHash;
use sync::protocol::sim::Rng;
use sync::protocol::wire::{
    decode_frame_limited, encode_docs_deflated, Ack, AckResult, DocBatch, DocEntry, Hello,
    FRAME_BYTES_HARD_MAX,
};
use sync::protocol::{
    decode_frame, encode_frame, Authority, Config, DecodeError, Frame, MemRepo, Message, Priority,
    ProtocolError, RejectReason, Repo, Session,
};

fn samples() -> Vec<Frame> {
    vec![
        Frame {
            seq: 0,
            message: Message::Hello(Hello {
                version_min: 1,
                version_max: 2,
                authority: Authority::Region("AST".into()),
                frame_bytes_max: 1 << 20,
                repo_id: [5; 16],
                software_version: Some("0.1.0".into()),
            }),
        },
        Frame {
            seq: 1,
            message: Message::Docs(DocBatch {
                batch: 0,
                entries: vec![
                    DocEntry {
                        doc_id: "AST/card/1".into(),
                        heads: vec![ChangeHash([1; 32])],
                        bytes: vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4],
                        priority: Some(Priority::Active),
                    },
                    DocEntry {
                        doc_id: "AST/card/2".into(),
                        heads: vec![],
                        bytes: vec![9; 40],
                        priority: None,
                    },
                ],
            }),
        },
        Frame {
            seq: 2,
            message: Message::Ack(Ack {
                batch: 0,
                results: vec![
                    AckResult::Same,
                    AckResult::Heads(vec![ChangeHash([2; 32])]),
                    AckResult::Rejected(RejectReason::NotYourRegion),
                ],
            }),
        },
        Frame {
            seq: 3,
            message: Message::Ping,
        },
        Frame {
            seq: 4,
            message: Message::Close {
                code: 7,
                reason: "тайм-аут".into(),
            },
        },
    ]
}

#[test]
fn decode_roundtrips_every_sample() {
    for f in samples() {
        assert_eq!(decode_frame(&encode_frame(&f)), Ok(f));
    }
}

/// A batch of documents as alike as one region's cards: the same keys and actor, other values.
fn similar_batch(seq: u64, count: usize) -> Frame {
    let entries = (0..count)
        .map(|i| {
            let mut bytes =
                b"actor:0123456789abcdef status:sent_for_processing channel:app_102_call caller:"
                    .to_vec();
            bytes.extend_from_slice(format!("+7701{i:07} Астана, ул. Кенесары {i}").as_bytes());
            DocEntry {
                doc_id: format!("AST/card/{i:08}"),
                heads: vec![ChangeHash([i as u8; 32])],
                bytes,
                priority: Some(Priority::Normal),
            }
        })
        .collect();
    Frame {
        seq,
        message: Message::Docs(DocBatch { batch: 3, entries }),
    }
}

fn deflated(frame: &Frame) -> Vec<u8> {
    let Message::Docs(batch) = &frame.message else {
        panic!("not a docs frame")
    };
    encode_docs_deflated(frame.seq, batch)
}

#[test]
fn deflated_docs_roundtrip_and_are_smaller() {
    let frame = similar_batch(12, 40);
    let plain = encode_frame(&frame);
    let z = deflated(&frame);
    assert_eq!(z[0], 0x06, "a compressible batch travels as DOCZ");
    assert!(
        z.len() * 3 < plain.len(),
        "deflated {} B vs plain {} B",
        z.len(),
        plain.len()
    );
    assert_eq!(decode_frame(&z), Ok(frame));
}

#[test]
fn incompressible_docs_travel_plain() {
    let mut rng = Rng::new(5);
    let frame = Frame {
        seq: 1,
        message: Message::Docs(DocBatch {
            batch: 0,
            entries: vec![DocEntry {
                doc_id: "AST/card/x".into(),
                heads: vec![],
                bytes: (0..400).map(|_| rng.next_u64() as u8).collect(),
                priority: None,
            }],
        }),
    };
    let z = deflated(&frame);
    assert_eq!(
        z,
        encode_frame(&frame),
        "random bytes do not shrink: sent as DOCS"
    );
    assert_eq!(decode_frame(&z), Ok(frame));
}

/// DOCZ header for hand-made bodies: type, seq 0, batch 0, declared inflated size.
fn docz_with(raw_bytes: u64, deflate_stream: &[u8]) -> Vec<u8> {
    let mut b = vec![0x06, 0, 0];
    let mut v = raw_bytes;
    while v >= 0x80 {
        b.push((v as u8) | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
    b.extend_from_slice(deflate_stream);
    b
}

fn deflate(raw: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

#[test]
fn deflate_bombs_and_lying_sizes_are_refused() {
    // 8 MiB of zeros deflate to a few KiB; a receiver with a 64 KiB limit refuses the declared
    // size before inflating anything.
    let bomb = deflate(&vec![0u8; 8 << 20]);
    assert!(bomb.len() < 64 * 1024);
    assert!(matches!(
        decode_frame_limited(&docz_with(8 << 20, &bomb), 64 * 1024),
        Err(DecodeError::OverLimit {
            what: "inflated size",
            ..
        })
    ));
    // Declaring less than the stream holds: inflation stops one byte past the declared size.
    assert_eq!(
        decode_frame(&docz_with(1000, &bomb)),
        Err(DecodeError::Malformed {
            what: "compressed documents"
        })
    );
    // A valid body, but declared one byte longer than it is.
    let Frame { message, .. } = similar_batch(0, 3);
    let body_frame = encode_frame(&Frame { seq: 0, message });
    let body = &body_frame[3..]; // type, seq 0, batch 3: one byte each
    let z = deflate(body);
    assert!(decode_frame(&docz_with(body.len() as u64, &z)).is_ok());
    assert!(decode_frame(&docz_with(body.len() as u64 + 1, &z)).is_err());
    // Bytes after the end of the deflate stream.
    let mut trailing = z.clone();
    trailing.push(0);
    assert_eq!(
        decode_frame(&docz_with(body.len() as u64, &trailing)),
        Err(DecodeError::TrailingBytes(1))
    );
    // Not a deflate stream at all.
    assert!(decode_frame(&docz_with(10, &[0xff; 16])).is_err());
}

#[test]
fn truncated_frames_are_errors() {
    let mut all: Vec<Vec<u8>> = samples().iter().map(encode_frame).collect();
    all.push(deflated(&similar_batch(1, 8)));
    for bytes in all {
        assert!(decode_frame(&bytes).is_ok());
        for len in 0..bytes.len() {
            assert!(
                decode_frame(&bytes[..len]).is_err(),
                "prefix of {len} bytes of frame type 0x{:02x} decoded",
                bytes[0]
            );
        }
    }
}

#[test]
fn bit_flipped_frames_never_panic() {
    let mut all: Vec<Vec<u8>> = samples().iter().map(encode_frame).collect();
    all.push(deflated(&similar_batch(1, 8)));
    for bytes in all {
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            // Either an error or some frame; re-encoding a decoded frame must decode again.
            if let Ok(g) = decode_frame(&b) {
                assert_eq!(decode_frame(&encode_frame(&g)), Ok(g));
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng::new(0x102);
    let mut decoded = 0;
    for _ in 0..50_000 {
        let len = rng.below(96) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        // Half of the inputs start with a valid frame type to get past the first check.
        if !b.is_empty() && rng.below(2) == 0 {
            b[0] = 1 + rng.below(6) as u8;
        }
        if decode_frame(&b).is_ok() {
            decoded += 1;
        }
    }
    // Pings with a valid sequence number are legitimately decodable noise.
    assert!(decoded < 50_000);
}

#[test]
fn mutated_valid_frames_never_panic() {
    let mut rng = Rng::new(7);
    let mut bases: Vec<Vec<u8>> = samples().iter().map(encode_frame).collect();
    bases.push(deflated(&similar_batch(1, 8)));
    for _ in 0..20_000 {
        let mut b = bases[rng.below(bases.len() as u64) as usize].clone();
        for _ in 0..1 + rng.below(4) {
            match rng.below(3) {
                0 if !b.is_empty() => {
                    let i = rng.below(b.len() as u64) as usize;
                    b[i] = rng.next_u64() as u8;
                }
                1 => {
                    let i = rng.below(b.len() as u64 + 1) as usize;
                    b.insert(i, rng.next_u64() as u8);
                }
                _ if !b.is_empty() => {
                    let i = rng.below(b.len() as u64) as usize;
                    b.remove(i);
                }
                _ => {}
            }
        }
        let _ = decode_frame(&b);
    }
}

#[test]
fn oversized_frames_and_huge_counts_are_refused() {
    let big = vec![4u8; 2048];
    assert_eq!(
        decode_frame_limited(&big, 1024),
        Err(DecodeError::TooLarge {
            bytes: 2048,
            max: 1024
        })
    );
    assert!(matches!(
        decode_frame(&vec![0u8; FRAME_BYTES_HARD_MAX + 1]),
        Err(DecodeError::TooLarge { .. })
    ));
    // A Docs frame claiming 2^60 entries in a few bytes is refused before allocating.
    let mut b = vec![2u8, 0, 0];
    b.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
    assert!(matches!(
        decode_frame(&b),
        Err(DecodeError::Truncated { .. })
    ));
    // Trailing bytes after a complete frame.
    assert_eq!(decode_frame(&[4, 0, 0]), Err(DecodeError::TrailingBytes(1)));
    assert_eq!(
        decode_frame(&[0x99, 0]),
        Err(DecodeError::UnknownType(0x99))
    );
    assert_eq!(decode_frame(&[]), Err(DecodeError::Empty));
}

/// A session fed garbage closes with a reason, tells the peer, and applies nothing.
#[test]
fn session_refuses_garbage_and_applies_nothing() {
    let mut rng = Rng::new(99);
    for case in 0..200 {
        let mut repo = MemRepo::new([1; 16]);
        let mut s = Session::new(
            Config::default(),
            Authority::Central,
            Authority::Region("AST".into()),
            &mut repo,
            0,
        )
        .expect("session");
        while s.poll_transmit().is_some() {}
        let len = 1 + rng.below(200) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        b[0] = 2; // a Docs frame before the Hello, or garbage: both are errors
        let err = s
            .handle_frame(&mut repo, &b, 10)
            .expect_err("garbage accepted");
        assert!(s.is_closed(), "case {case}: {err}");
        assert!(repo.docs.is_empty(), "case {case}: something was applied");
        let close = s.poll_transmit().expect("a close frame tells the peer why");
        assert!(matches!(
            decode_frame(&close).map(|f| f.message),
            Ok(Message::Close { .. })
        ));
        assert_eq!(
            s.handle_frame(&mut repo, &b, 11),
            Err(ProtocolError::Closed)
        );
        assert!(repo.docs_in_region("AST").is_empty());
    }
}
