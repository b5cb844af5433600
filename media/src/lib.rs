//! `media`: citizen audio/video calls over WebRTC (app "102", SOS button, "Закон и Порядок"),
//! relay to the operator console, and recording with 30-day retention (R03, R09, R10).
//!
//! Not built yet: it arrives with the WebRTC call issue, behind a small boundary of our own so
//! that the node does not depend on webrtc types. No code until then.
