//! Prometheus metrics of the hub (`GET /metrics`), with the `prometheus-client` crate as on the
//! node. Region gauges are copied in at scrape time from the hub's links and the national
//! counters (O(regions)); HTTP requests are counted as they are served.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use server_kit::metrics::HttpMetrics;

use crate::hub::RegionLink;
use crate::national::RegionCounts;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegionLabels {
    region: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegionStatusLabels {
    region: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegionVersionLabels {
    region: String,
    version: String,
}

/// What the hub's components know at scrape time.
pub struct Scrape<'a> {
    pub links: &'a [RegionLink],
    pub counts: &'a BTreeMap<String, RegionCounts>,
    pub store_size_bytes: u64,
    pub store_flushes: u64,
}

pub struct CentralMetrics {
    registry: Registry,
    /// The data directory's disk space (absent in tests that keep no directory).
    disk: Option<server_kit::metrics::DiskMetrics>,
    region_connected: Family<RegionLabels, Gauge>,
    region_last_contact_ms: Family<RegionLabels, Gauge>,
    region_connections: Family<RegionLabels, Counter>,
    region_frames_in: Family<RegionLabels, Counter>,
    replication_stalled: Family<RegionLabels, Gauge>,
    replication_stalls: Family<RegionLabels, Counter>,
    region_documents: Family<RegionLabels, Gauge>,
    region_cards: Family<RegionLabels, Gauge>,
    region_open_cards: Family<RegionStatusLabels, Gauge>,
    region_software: Family<RegionVersionLabels, Gauge>,
    http: HttpMetrics,
    store_bytes: Gauge,
    store_flushes: Counter,
}

impl Default for CentralMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl CentralMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("central");
        let http = HttpMetrics::register(&mut registry);
        let mut m = CentralMetrics {
            region_connected: Family::default(),
            region_last_contact_ms: Family::default(),
            region_connections: Family::default(),
            region_frames_in: Family::default(),
            replication_stalled: Family::default(),
            replication_stalls: Family::default(),
            region_documents: Family::default(),
            region_cards: Family::default(),
            region_open_cards: Family::default(),
            region_software: Family::default(),
            http,
            store_bytes: Gauge::default(),
            store_flushes: Counter::default(),
            registry,
            disk: None,
        };
        let registry = &mut m.registry;
        registry.register(
            "region_connected",
            "1 while the region's node is connected",
            m.region_connected.clone(),
        );
        registry.register(
            "region_last_contact_ms",
            "Last frame from the region (ms since epoch, 0 = never)",
            m.region_last_contact_ms.clone(),
        );
        registry.register(
            "region_connections",
            "Connections the region's node opened",
            m.region_connections.clone(),
        );
        registry.register(
            "region_frames_in",
            "Replication frames received from the region since the hub started",
            m.region_frames_in.clone(),
        );
        registry.register(
            "replication_stalled",
            "1 while the region's link is open but moves no data although changes are pending (server_kit::replication::STALL_DETECT_MS)",
            m.replication_stalled.clone(),
        );
        registry.register(
            "replication_stalls",
            "Stalls detected on the region's links",
            m.replication_stalls.clone(),
        );
        registry.register(
            "region_documents",
            "Documents held per region",
            m.region_documents.clone(),
        );
        registry.register(
            "region_cards",
            "Cards held per region",
            m.region_cards.clone(),
        );
        registry.register(
            "region_open_cards",
            "Open cards per region and status",
            m.region_open_cards.clone(),
        );
        registry.register(
            "region_software_info",
            "1 for the software version the region's node named when it last connected (rolling upgrades)",
            m.region_software.clone(),
        );
        registry.register(
            "store_size_bytes",
            "Database size on disk",
            m.store_bytes.clone(),
        );
        registry.register(
            "store_flushes",
            "Group-commit flushes to disk",
            m.store_flushes.clone(),
        );
        m
    }

    /// The HTTP request metrics, for [`server_kit::metrics::track`].
    /// Also reports the space left on the filesystem of `data_dir` (the disk-filling alert).
    pub fn with_data_dir(mut self, data_dir: std::path::PathBuf) -> Self {
        self.disk = Some(server_kit::metrics::DiskMetrics::register(
            &mut self.registry,
            data_dir,
        ));
        self
    }

    pub fn http(&self) -> &HttpMetrics {
        &self.http
    }

    /// The OpenMetrics text, after copying in what other components count.
    pub fn render(&self, scrape: &Scrape<'_>) -> String {
        // Counters kept elsewhere only grow; copying in the difference keeps these monotonic.
        let catch_up = |c: &Counter, v: u64| {
            let cur = c.get();
            if v > cur {
                c.inc_by(v - cur);
            }
        };
        if let Some(d) = &self.disk {
            d.refresh();
        }
        let region = |r: &str| RegionLabels {
            region: r.to_string(),
        };
        // One series per region, its current version: an upgraded region's old one goes.
        self.region_software.clear();
        for l in scrape.links {
            if let Some(version) = &l.software_version {
                self.region_software
                    .get_or_create(&RegionVersionLabels {
                        region: l.region.clone(),
                        version: version.clone(),
                    })
                    .set(1);
            }
            let labels = region(&l.region);
            self.region_connected
                .get_or_create(&labels)
                .set(l.connected as i64);
            self.region_last_contact_ms
                .get_or_create(&labels)
                .set(l.last_contact_ms.unwrap_or(0));
            catch_up(
                &self.region_connections.get_or_create(&labels),
                l.connections,
            );
            catch_up(&self.region_frames_in.get_or_create(&labels), l.frames_in);
            self.replication_stalled
                .get_or_create(&labels)
                .set(l.stalled as i64);
            catch_up(&self.replication_stalls.get_or_create(&labels), l.stalls);
        }
        for (r, counts) in scrape.counts {
            let as_gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            self.region_documents
                .get_or_create(&region(r))
                .set(as_gauge(counts.docs));
            self.region_cards
                .get_or_create(&region(r))
                .set(as_gauge(counts.cards));
            for st in sync::CardStatus::ALL.into_iter().filter(|s| s.is_open()) {
                self.region_open_cards
                    .get_or_create(&RegionStatusLabels {
                        region: r.clone(),
                        status: st.as_str().to_string(),
                    })
                    .set(as_gauge(counts.open.get(&st).copied().unwrap_or(0)));
            }
        }
        self.store_bytes
            .set(i64::try_from(scrape.store_size_bytes).unwrap_or(i64::MAX));
        catch_up(&self.store_flushes, scrape.store_flushes);
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Flushes the group commit has made, for [`Scrape::store_flushes`].
pub fn flushes(gc: &server_kit::store::GroupCommit) -> u64 {
    gc.flushes.load(Ordering::Relaxed)
}
