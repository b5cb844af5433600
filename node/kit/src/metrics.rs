//! Metrics the node and the hub register the same way (Prometheus, `prometheus-client`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    status: u16,
}

/// HTTP requests by method and status, and their latency: registered the same way by the node
/// and the central hub.
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    requests: Family<HttpLabels, Counter>,
    duration: Histogram,
}

impl HttpMetrics {
    /// Creates the metrics and registers them as `http_requests` and
    /// `http_request_duration_seconds`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = HttpMetrics {
            requests: Family::default(),
            duration: Histogram::new(exponential_buckets(0.0002, 2.0, 16)),
        };
        registry.register(
            "http_requests",
            "HTTP requests by method and status",
            m.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            m.duration.clone(),
        );
        m
    }

    pub fn observe(&self, method: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&HttpLabels {
                method: method.to_string(),
                status,
            })
            .inc();
        self.duration.observe(elapsed.as_secs_f64());
    }
}

/// Middleware that counts every request by method and status and times it:
/// `.layer(middleware::from_fn_with_state(metrics.clone(), server_kit::metrics::track))`.
pub async fn track(State(m): State<HttpMetrics>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let resp = next.run(req).await;
    m.observe(method.as_str(), resp.status().as_u16(), started.elapsed());
    resp
}

/// The space of the filesystem that holds the data directory (database, recordings), for the
/// "disk filling" alert: registered the same way by the node and the hub as
/// `data_disk_available_bytes` and `data_disk_size_bytes`, read at each scrape.
#[derive(Clone, Debug)]
pub struct DiskMetrics {
    dir: PathBuf,
    available: Gauge,
    size: Gauge,
}

impl DiskMetrics {
    pub fn register(registry: &mut Registry, dir: PathBuf) -> Self {
        let m = DiskMetrics {
            dir,
            available: Gauge::default(),
            size: Gauge::default(),
        };
        registry.register(
            "data_disk_available_bytes",
            "Space left to this service on the filesystem of its data directory, in bytes",
            m.available.clone(),
        );
        registry.register(
            "data_disk_size_bytes",
            "Size of the filesystem of the data directory, in bytes",
            m.size.clone(),
        );
        m
    }

    /// The filesystem's space now, `(available, size)` in bytes; `None` (logged) when it
    /// cannot be read.
    pub fn read(&self) -> Option<(u64, u64)> {
        match (fs2::available_space(&self.dir), fs2::total_space(&self.dir)) {
            (Ok(available), Ok(size)) => Some((available, size)),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "the data directory's disk space cannot be read");
                None
            }
        }
    }

    /// Reads the filesystem's space into the gauges; a failed read leaves the last values.
    pub fn refresh(&self) {
        if let Some((available, size)) = self.read() {
            self.available
                .set(i64::try_from(available).unwrap_or(i64::MAX));
            self.size.set(i64::try_from(size).unwrap_or(i64::MAX));
        }
    }
}
