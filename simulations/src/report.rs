//! Reports shared by every command: the JSON file under `<target>/sim/NAME.json`, the closing
//! `RESULT NAME key=value ...` line on stdout, latency summaries and the seed.
//!
//! The RESULT line is the machine-readable contract with CI, so it is always the last stdout line
//! and its keys keep the order in which the command added them.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Map, Value};

/// The workspace target dir: `CARGO_TARGET_DIR` when set, else `<workspace root>/target`.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        if dir.is_absolute() {
            return dir;
        }
        // Cargo resolves a relative CARGO_TARGET_DIR against the directory it runs in, which for
        // `cargo run` is also ours.
        return std::env::current_dir()
            .map(|cwd| cwd.join(&dir))
            .unwrap_or(dir);
    }
    workspace_root().join("target")
}

pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// `<target>/sim`, created on demand.
pub fn sim_dir() -> anyhow::Result<PathBuf> {
    let dir = target_dir().join("sim");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// A scratch directory under `<target>/sim/tmp`, so the data lives on the same file system as
/// the build (and not on a tmpfs where `fsync` costs nothing and the figures would flatter).
pub fn scratch_dir(prefix: &str) -> anyhow::Result<tempfile::TempDir> {
    let parent = sim_dir()?.join("tmp");
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&parent)
        .with_context(|| format!("cannot create a scratch dir in {}", parent.display()))
}

/// The seed of a run: the one given, or a fresh random one. Printed first so a failure replays.
pub fn choose_seed(name: &str, given: Option<u64>) -> u64 {
    let seed = given.unwrap_or_else(rand::random);
    println!("{name}: seed={seed} (replay with --seed {seed})");
    seed
}

/// One command's report. `result` feeds both the JSON and the RESULT line; `details` only the
/// JSON.
pub struct Report {
    name: String,
    result: Vec<(String, Value)>,
    details: Map<String, Value>,
}

impl Report {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            result: Vec::new(),
            details: Map::new(),
        }
    }

    /// Adds (or replaces) a key of the RESULT line.
    pub fn kv(&mut self, key: &str, value: impl Into<Value>) {
        let value = value.into();
        match self.result.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.result.push((key.to_string(), value)),
        }
    }

    /// Adds a float rounded to `decimals` places, so the RESULT line stays readable.
    pub fn kv_f(&mut self, key: &str, value: f64, decimals: u32) {
        self.kv(key, round(value, decimals));
    }

    pub fn detail(&mut self, key: &str, value: impl Into<Value>) {
        self.details.insert(key.to_string(), value.into());
    }

    /// Writes `<target>/sim/NAME.json` and prints the RESULT line; call it last.
    pub fn finish(self) -> anyhow::Result<PathBuf> {
        let path = sim_dir()?.join(format!("{}.json", self.name));
        let result: Map<String, Value> = self.result.iter().cloned().collect();
        let doc = json!({
            "name": self.name,
            "finished_at": chrono::Utc::now().to_rfc3339(),
            "result": result,
            "details": Value::Object(self.details),
        });
        let text = serde_json::to_string_pretty(&doc).context("cannot encode the report")?;
        std::fs::write(&path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("report: {}", path.display());
        let mut line = format!("RESULT {}", self.name);
        for (key, value) in &self.result {
            let text = match value {
                Value::String(s) => s.replace(char::is_whitespace, "_"),
                other => other.to_string(),
            };
            line.push_str(&format!(" {key}={text}"));
        }
        println!("{line}");
        Ok(path)
    }
}

/// Keeps a failed run's scratch dir instead of deleting it, says where (`what` names what it
/// holds), and records it in the report as `kept_dir`.
pub fn keep_for_inspection(scratch: tempfile::TempDir, what: &str, report: Option<&mut Report>) {
    let kept = scratch.keep();
    println!("{what} kept for inspection: {}", kept.display());
    if let Some(report) = report {
        report.detail("kept_dir", kept.display().to_string());
    }
}

pub fn round(value: f64, decimals: u32) -> f64 {
    if !value.is_finite() {
        return 0.0;
    }
    let scale = 10f64.powi(decimals as i32);
    (value * scale).round() / scale
}

/// Latency summary of a set of samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub count: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    pub fn from_samples(samples: &mut [Duration]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let at = |q: f64| {
            // Nearest-rank percentile.
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            ms(samples[rank - 1])
        };
        let total: f64 = samples.iter().map(|d| ms(*d)).sum();
        Self {
            count: samples.len(),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: ms(samples[samples.len() - 1]),
            mean_ms: total / samples.len() as f64,
        }
    }

    pub fn to_json(self) -> Value {
        json!({
            "count": self.count,
            "p50_ms": round(self.p50_ms, 3),
            "p90_ms": round(self.p90_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
        })
    }

    pub fn human(self) -> String {
        format!(
            "n={} p50={:.3} ms p90={:.3} ms p99={:.3} ms max={:.3} ms",
            self.count, self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms
        )
    }
}

/// A progress bar on stderr, shown only when stderr is a terminal (CI logs stay clean).
pub fn progress(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>14} [{bar:40}] {pos}/{len} {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// A spinner-like bar over a fixed duration (in tenths of a second).
pub fn timed_progress(duration: Duration, what: &str) -> ProgressBar {
    let bar = progress((duration.as_millis() / 100) as u64, what);
    bar.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {elapsed_precise}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// A goal flag for the RESULT line and a human word for stdout.
pub fn goal_word(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples in ms → (p50, p99, max) in ms.
    fn check(samples_ms: &[u64], expect: (f64, f64, f64)) {
        let mut samples: Vec<Duration> = samples_ms
            .iter()
            .map(|&ms| Duration::from_millis(ms))
            .collect();
        let latency = Latency::from_samples(&mut samples);
        assert_eq!(
            (latency.p50_ms, latency.p99_ms, latency.max_ms),
            expect,
            "samples {samples_ms:?}"
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        check(&[], (0.0, 0.0, 0.0));
        check(&[7], (7.0, 7.0, 7.0));
        check(&[4, 1, 3, 2], (2.0, 4.0, 4.0));
        let hundred: Vec<u64> = (1..=100).rev().collect();
        check(&hundred, (50.0, 99.0, 100.0));
    }

    #[test]
    fn rounding_keeps_the_result_line_short() {
        assert_eq!(round(1.23456, 3), 1.235);
        assert_eq!(round(f64::NAN, 3), 0.0);
    }
}
