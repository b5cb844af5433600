//! Fuzz target for `sync::protocol::wire::decode_frame`.
//!
//! Properties checked on every input:
//! 1. The decoder is total: any byte string gives `Ok(frame)` or `Err(DecodeError)`, never a
//!    panic (libFuzzer reports panics, overflows under debug assertions, and OOM/timeouts).
//! 2. Round trip: when the input decodes, `encode_frame` of the frame decodes again to an equal
//!    frame. (The bytes need not be equal: the decoder skips unknown extensions, which the
//!    encoder does not write back.)
//! 3. Canonical re-encoding: encoding the re-decoded frame gives the same bytes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sync::protocol::wire::{decode_frame, encode_frame};

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = decode_frame(data) else {
        return;
    };
    let encoded = encode_frame(&frame);
    let again = match decode_frame(&encoded) {
        Ok(f) => f,
        Err(e) => panic!(
            "re-encoded frame does not decode: {e:?}\nframe: {frame:?}\nencoded: {encoded:02x?}"
        ),
    };
    assert_eq!(again, frame, "round trip changed the frame; encoded: {encoded:02x?}");
    assert_eq!(
        encode_frame(&again),
        encoded,
        "encoding is not deterministic for an equal frame"
    );
});
