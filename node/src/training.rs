//! Training mode (seed 001 p.28.4, staff training): a node that ЦОУ staff practise on without
//! touching the region's real work.
//!
//! What makes a node a training node, and where each promise is kept:
//! - its own data directory, never the live one: [`training_data_dir`] beside the live one, and
//!   [`check_data_dir`] refuses a live store to a training node and a training store to a live
//!   node (a marker file says which a directory is);
//! - the embedded demo data (the demo address warnings, reception schedule and beats), and no
//!   link to the outside world: `Config::for_training` removes the central hub, field
//!   terminals, messengers, e-mail, the caller-location lookup and the state register;
//! - no outward delivery even if a sender were registered: the outbox holds every message for
//!   an outside channel (`Outbox::hold_outside_channels`);
//! - marked everywhere: every answer carries [`HEADER`], every HTML page loads the kit's
//!   banner ([`mark_page`]), `/healthz` and `/metrics` say so (monitoring can tell a training
//!   node from a live one).

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The marker file in a training node's data directory.
pub const MARKER_FILE: &str = "TRAINING";
/// What the marker file says, for a person who finds it.
const MARKER_TEXT: &str =
    "This directory holds a training node's demo data (node --training). It never replicates.\n";
/// Appended to the live data directory's name for the training one.
pub const DIR_SUFFIX: &str = "-training";
/// Header on every answer of a training node.
pub const HEADER: &str = "x-training-mode";
/// What a training node adds to the head of every HTML page: the kit's banner and its style.
pub const PAGE_MARKS: &str = "<link rel=\"stylesheet\" href=\"/kit/training.css\">\
<script type=\"module\" src=\"/kit/training.js\"></script>";
/// Largest HTML page the marks are added to (the node's pages are far smaller); a larger
/// answer passes unmarked rather than being buffered.
pub const PAGE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// The training node's data directory for a live data directory: beside it, its name with
/// [`DIR_SUFFIX`] (`/var/lib/node102/data` → `/var/lib/node102/data-training`), so a backup
/// or restore of the live directory never carries demo data, and the other way round.
pub fn training_data_dir(live: &Path) -> PathBuf {
    match live.file_name() {
        Some(name) => {
            let mut name = name.to_os_string();
            name.push(DIR_SUFFIX);
            live.with_file_name(name)
        }
        None => live.join(&DIR_SUFFIX[1..]),
    }
}

/// Checks that `data_dir` suits the node's mode before its store is opened. A training node
/// refuses a directory that holds anything without the marker (a live node's data); a live node
/// refuses one with the marker (demo data must never be served, and replicated, as real). Once
/// the store is open, [`mark`] marks a training directory.
pub fn check_data_dir(data_dir: &Path, training: bool) -> anyhow::Result<()> {
    let marked = data_dir.join(MARKER_FILE).exists();
    if training && !marked {
        let holds_data = std::fs::read_dir(data_dir)
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(false);
        if holds_data {
            anyhow::bail!(
                "{} holds a live node's data and has no {MARKER_FILE} marker: a training node runs only on its own directory ({})",
                data_dir.display(),
                training_data_dir(data_dir).display()
            );
        }
    }
    if !training && marked {
        anyhow::bail!(
            "{} holds a training node's demo data ({MARKER_FILE}); start it with --training, or give the live data directory",
            data_dir.display()
        );
    }
    Ok(())
}

/// Marks `data_dir` as a training node's, after its store was opened there (the store refuses
/// to be created in a directory that holds anything else).
pub fn mark(data_dir: &Path) -> anyhow::Result<()> {
    let marker = data_dir.join(MARKER_FILE);
    if !marker.exists() {
        std::fs::write(&marker, MARKER_TEXT)
            .with_context(|| format!("cannot write {}", marker.display()))?;
    }
    Ok(())
}

/// `page` with [`PAGE_MARKS`] at the end of its head (or at its start when it has none).
pub fn mark_page(page: &str) -> String {
    let at = page
        .find("</head>")
        .or_else(|| page.find("<body"))
        .unwrap_or(0);
    let mut out = String::with_capacity(page.len() + PAGE_MARKS.len());
    out.push_str(&page[..at]);
    out.push_str(PAGE_MARKS);
    out.push_str(&page[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_training_directory_sits_beside_the_live_one() {
        for (live, training) in [
            ("/var/lib/node102/data", "/var/lib/node102/data-training"),
            ("data/node", "data/node-training"),
            ("data/node/", "data/node-training"),
            ("/", "/training"),
        ] {
            assert_eq!(
                training_data_dir(Path::new(live)),
                PathBuf::from(training),
                "{live}"
            );
        }
    }

    #[test]
    fn marks_go_at_the_end_of_the_head() {
        let check = |page: &str, expect: &str| {
            assert_eq!(
                mark_page(page),
                expect.replace("MARKS", PAGE_MARKS),
                "{page}"
            );
        };
        check(
            "<html><head><title>x</title></head><body></body></html>",
            "<html><head><title>x</title>MARKS</head><body></body></html>",
        );
        check("<p>x</p><body>y", "<p>x</p>MARKS<body>y");
        check("plain", "MARKSplain");
    }

    #[test]
    fn a_training_node_refuses_live_data_and_a_live_node_refuses_training_data() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("data");
        std::fs::create_dir_all(&live).unwrap();
        std::fs::write(live.join("db"), b"live store").unwrap();
        let err = check_data_dir(&live, true).unwrap_err().to_string();
        assert!(err.contains("live node's data"), "{err}");
        assert!(!live.join(MARKER_FILE).exists());
        check_data_dir(&live, false).unwrap();

        let training = training_data_dir(&live);
        check_data_dir(&training, true).unwrap();
        std::fs::create_dir_all(&training).unwrap();
        std::fs::write(training.join("db"), b"training store").unwrap();
        mark(&training).unwrap();
        assert!(training.join(MARKER_FILE).exists());
        check_data_dir(&training, true).unwrap();
        let err = check_data_dir(&training, false).unwrap_err().to_string();
        assert!(err.contains("--training"), "{err}");
    }
}
