//! Progress of long steps (key generation, signing, writing a bundle): a spinner on stderr when
//! it is a terminal, nothing otherwise (pipes, CI, tests).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the spinner redraws, in milliseconds.
const SPINNER_TICK_MS: u64 = 80;

/// Receives the steps of a long operation.
pub trait Progress {
    /// A new step starts.
    fn step(&mut self, what: &str);
    /// The operation is done; clear what was shown.
    fn finish(&mut self);
}

/// Shows nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn step(&mut self, _what: &str) {}
    fn finish(&mut self) {}
}

/// An indicatif spinner on stderr, shown only when stderr is a terminal.
#[derive(Debug)]
pub struct Spinner {
    bar: ProgressBar,
}

impl Spinner {
    /// A spinner on stderr (hidden unless stderr is a terminal).
    pub fn stderr() -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            bar.set_style(style);
        }
        Spinner { bar }
    }
}

impl Progress for Spinner {
    fn step(&mut self, what: &str) {
        if self.bar.is_hidden() {
            return;
        }
        self.bar.set_message(what.to_owned());
        self.bar
            .enable_steady_tick(Duration::from_millis(SPINNER_TICK_MS));
    }

    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        // An operation that failed midway must not leave a spinner drawn over its error message.
        self.bar.finish_and_clear();
    }
}
