//! Metrics the node and the hub register the same way (Prometheus, `prometheus-client`).

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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
