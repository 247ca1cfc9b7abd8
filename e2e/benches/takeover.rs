//! Takeover time of a standby after the leader is SIGKILLed or SIGTERMed: median, min
//! and max over N runs, for the default and the short lease timings, on every backend of
//! `BANGUI_TEST_BACKENDS`.
//!
//!     cargo build --release -p scheduler && cargo bench -p e2e --bench takeover   # 10 runs each
//!     BENCH_RUNS=3 BENCH_TIMINGS=short cargo bench -p e2e --bench takeover

use std::time::{Duration, Instant};

use testkit::db::{TestDb, backends};
use testkit::processes::{SchedulerProcess, Timings, wait_for_single_leader};

async fn one_takeover(url: &str, timings: Timings, signal: &str) -> Duration {
    let procs = [
        SchedulerProcess::spawn(url, timings, "bench-a"),
        SchedulerProcess::spawn(url, timings, "bench-b"),
    ];
    for p in &procs {
        p.wait_healthy().await;
    }
    let refs: Vec<&SchedulerProcess> = procs.iter().collect();
    let leader = wait_for_single_leader(&refs, timings.ttl * 3).await;
    let standby = &procs[1 - leader];
    procs[leader].signal(signal);
    let sent = Instant::now();
    loop {
        if standby.health().await.is_some_and(|h| h.leader) {
            return sent.elapsed();
        }
        assert!(sent.elapsed() < timings.ttl * 3, "no takeover");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:>8.0} ms   min {:>8.0} ms   max {:>8.0} ms   (n={})",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        samples.len()
    )
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let which = std::env::var("BENCH_TIMINGS").unwrap_or_else(|_| "short,default".into());
    for backend in backends() {
        for (label, timings) in [("short", Timings::SHORT), ("default", Timings::DEFAULT)] {
            if !which.split(',').any(|w| w == label) {
                continue;
            }
            for signal in ["KILL", "TERM"] {
                let mut samples = Vec::new();
                for _ in 0..runs {
                    let db = TestDb::create(backend).await;
                    samples.push(one_takeover(&db.url, timings, signal).await);
                    db.drop_db().await;
                }
                println!(
                    "{:<8} {:<7} ttl={:>5}ms interval={:>5}ms SIG{:<4}  {}",
                    backend.name(),
                    label,
                    timings.ttl.as_millis(),
                    timings.interval.as_millis(),
                    signal,
                    summary(samples)
                );
            }
        }
    }
}
