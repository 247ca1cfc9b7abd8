//! The Prometheus recorder both binaries install (the one piece of global state besides
//! the tracing subscriber).

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Latency buckets from 1 ms to 60 s, for request and job duration histograms.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Installs the process recorder and returns the handle that renders `/metrics`.
/// A second call (several apps built in one test process) returns a fresh, unattached
/// handle instead of failing.
pub fn install() -> PrometheusHandle {
    let builder = || {
        PrometheusBuilder::new()
            .set_buckets(DURATION_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new())
    };
    builder()
        .install_recorder()
        .unwrap_or_else(|_| builder().build_recorder().handle())
}
