//! History benchmark: fills a database with N synthetic ban events through the
//! archive import's own write path (`archive_sync::write_events`; skewed IPs, 50 jails, 150 countries, IPv4 + IPv6, one
//! year, realistic origins and ends), folds them with the real rollup job, settles the
//! database as time would (`ANALYZE`; `VACUUM (ANALYZE)` on PostgreSQL), then measures
//! every dashboard and history endpoint over real HTTP (p50/p95/p99), and the same
//! questions answered the naive way (raw GROUP BY without rollups, text prefix search
//! without the binary IP index) for comparison, with the query plans of both.
//!
//!   cargo bench -p e2e --bench history -- --events 1000000 --backend sqlite
//!   cargo bench -p e2e --bench history -- --events 10000000 --backend postgres
//!
//! Options: `--requests R` per variant (default 40), `--txn N` events per write
//! (default 20 000; two transactions of half each on PostgreSQL), `--plans` prints EXPLAIN output,
//! `--fresh` refills even if a database from an earlier run exists, `--ingest-only` refills
//! and stops after measuring the insert path, `--prepare-only` stops once the database is
//! filled, folded and settled (measure later on a quiet machine). SQLite files live in
//! `target/bench-history/`; PostgreSQL databases are `bangui_bench_<N>` at
//! BANGUI_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::analytics::query::{Filters, Key, Plan, Sql, counts_sql, plan_settings};
use api::analytics::{Sort, rows_sql};
use scheduler::ban_writer;
use scheduler::fail2ban::Fail2ban;
use scheduler::geo::Geo;
use scheduler::jobs::{JobContext, JobDeps, archive_sync, rollups};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use shared::archive::DAY_MS;
use shared::config::Config;
use shared::db;
use shared::lease::{LeaseStore, LeaseTiming};
use testkit::synthetic::Generator;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

struct Args {
    events: usize,
    /// Events per insert transaction.
    txn: usize,
    postgres: bool,
    requests: usize,
    plans: bool,
    fresh: bool,
    /// Stop after filling (implies `--fresh`): for measuring the insert path alone.
    ingest_only: bool,
    /// Stop once the database is filled, folded and settled: measure later, on a quiet
    /// machine (another benchmark can fill meanwhile).
    prepare_only: bool,
}

fn args() -> Args {
    let mut a = Args {
        events: 1_000_000,
        txn: 20_000,
        postgres: false,
        requests: 40,
        plans: false,
        fresh: false,
        ingest_only: false,
        prepare_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--events" => {
                a.events = it
                    .next()
                    .and_then(|v| v.replace('_', "").parse().ok())
                    .expect("--events N")
            }
            "--txn" => a.txn = it.next().and_then(|v| v.parse().ok()).expect("--txn N"),
            "--backend" => a.postgres = it.next().as_deref() == Some("postgres"),
            "--requests" => {
                a.requests = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--requests R")
            }
            "--plans" => a.plans = true,
            "--fresh" => a.fresh = true,
            "--prepare-only" => a.prepare_only = true,
            "--ingest-only" => {
                a.ingest_only = true;
                a.fresh = true;
            }
            _ => {}
        }
    }
    a
}

async fn database(a: &Args) -> String {
    if a.postgres {
        let admin_url = std::env::var("BANGUI_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("bangui_bench_{}", a.events);
        let admin = sea_orm::Database::connect(&admin_url)
            .await
            .expect("postgres");
        if a.fresh {
            db::execute(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                [],
            )
            .await
            .expect("drop");
        }
        let exists = db::query_one(
            &admin,
            "SELECT 1 AS x FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        )
        .await
        .expect("q")
        .is_some();
        if !exists {
            db::execute(&admin, &format!("CREATE DATABASE {name}"), [])
                .await
                .expect("create");
        }
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b)
            .to_owned();
        format!("{base}/{name}")
    } else {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-history");
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join(format!("history-{}.db", a.events));
        if a.fresh {
            for ext in ["", "-wal", "-shm"] {
                std::fs::remove_file(format!("{}{ext}", file.display())).ok();
            }
        }
        format!("sqlite://{}?mode=rwc", file.display())
    }
}

fn config(url: &str) -> Config {
    testkit::config(
        url,
        &[
            ("BANGUI_FAIL2BAN_SOCKET", "/nonexistent/f2b.sock"),
            ("BANGUI_LOG", "error"),
        ],
    )
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    db::query_one(db, sql, [])
        .await
        .expect("query")
        .and_then(|r| r.try_get::<Option<i64>>("", "v").ok().flatten())
        .unwrap_or(0)
}

/// Fills the archive week by week; returns (rows, seconds spent writing).
async fn fill(
    ctx: &JobContext,
    generator: &mut Generator,
    events: usize,
    txn_size: usize,
    now: i64,
) -> (usize, f64) {
    let year = 365 * DAY_MS;
    let start = now - year;
    let mut written = 0;
    let mut spent = 0.0;
    for w in 0..53 {
        let from = start + w * 7 * DAY_MS;
        let to = (from + 7 * DAY_MS).min(now);
        if from >= to {
            break;
        }
        let share = usize::try_from((to - from) * 1000 / year).unwrap_or(0);
        let batch = generator.events(events * share / 1000, from, to);
        let rows = batch.len();
        let chunks: Vec<Vec<ban_writer::BanEvent>> =
            batch.chunks(txn_size).map(<[_]>::to_vec).collect();
        let t = Instant::now();
        for chunk in chunks {
            let writer = ctx.f2b.snapshot_writer.lock().await;
            archive_sync::write_events(ctx, &writer, chunk)
                .await
                .expect("insert");
        }
        spent += t.elapsed().as_secs_f64();
        written += rows;
        if w % 10 == 9 {
            eprintln!("  … {written} events, {:.0}/s", written as f64 / spent);
        }
    }
    (written, spent)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn admin(base: &str) -> reqwest::Client {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let creds =
        serde_json::json!({"username": "admin", "password": "correct horse battery staple"});
    c.post(format!("{base}/setup"))
        .json(&creds)
        .send()
        .await
        .expect("setup");
    let r = c
        .post(format!("{base}/auth/login"))
        .json(&creds)
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200, "login");
    let origin = base.trim_end_matches("/api/v1");
    let v: serde_json::Value = c
        .post(format!("{base}/auth/tokens"))
        .header("X-Requested-With", "bangui")
        .header("Origin", origin)
        .json(&serde_json::json!({"name": "bench", "role": "viewer"}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", v["token"].as_str().expect("token"))
            .parse()
            .expect("header"),
    );
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .expect("client")
}

/// [`explain`] for a counts query, under the settings requests run it with.
async fn explain_counts(db: &DatabaseConnection, title: &str, c: (Sql, Plan)) {
    let txn = db.begin().await.expect("begin");
    plan_settings(&txn, c.1).await.expect("settings");
    explain(&txn, title, &c.0.text, c.0.values).await;
    txn.commit().await.expect("commit");
}

async fn explain<C: ConnectionTrait>(db: &C, title: &str, sql: &str, values: Vec<sea_orm::Value>) {
    let backend = db.get_database_backend();
    let prefix = if backend == sea_orm::DatabaseBackend::Postgres {
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) "
    } else {
        "EXPLAIN QUERY PLAN "
    };
    let stmt = db::statement(backend, &format!("{prefix}{sql}"), values);
    let rows = db.query_all_raw(stmt).await.expect("explain");
    println!("\n#### {title}\n```");
    for r in rows {
        let line = r
            .try_get::<String>("", "QUERY PLAN")
            .or_else(|_| r.try_get::<String>("", "detail"))
            .unwrap_or_default();
        println!("{line}");
    }
    println!("```");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let url = database(&a).await;
    let config = config(&url);
    let conn = shared::db::connect(&config.database_url, shared::db::Role::Scheduler)
        .await
        .expect("connect");
    let t = Instant::now();
    let migrated = migrations::up_guarded(&conn).await.expect("migrate");
    let migrate_secs = t.elapsed().as_secs_f64();
    let timing = LeaseTiming::new(
        Duration::from_secs(3600),
        Duration::from_secs(5),
        Duration::from_secs(10),
    )
    .expect("timing");
    let store = LeaseStore::new(shared::lease::SCHEDULER_LEASE, "bench", &timing);
    let token = store
        .acquire_or_renew(&conn)
        .await
        .expect("lease")
        .expect("free")
        .token;
    let (_valid, valid_rx) = watch::channel(Instant::now() + Duration::from_secs(86_400));
    let mut generator = Generator::new(42, (a.events / 8).max(1000));
    let now = db::db_now_ms(&conn).await.expect("now");
    let backend = if a.postgres { "PostgreSQL" } else { "SQLite" };
    println!("# History benchmark: {} events on {backend}", a.events);
    if migrated > 0 {
        // On a reused database this is what an upgrade costs (e.g. a rollup set built
        // from the archive).
        println!("migrations: {migrated} applied in {migrate_secs:.1} s");
    }

    let existing = scalar(&conn, "SELECT COUNT(*) AS v FROM ban_events").await;
    let geo_box: Box<dyn scheduler::geo::GeoLookup> = Box::new(std::mem::take(&mut generator.geo));
    let ctx = JobContext::new(
        conn.clone(),
        store.fence(token),
        JobDeps {
            f2b: Arc::new(Fail2ban::new(config.fail2ban.clone())),
            geo: Arc::new(Geo::new(geo_box, None, "synthetic".into())),
            history: config.history.clone(),
            command_expiry: Duration::from_secs(60),
            guard: Arc::new(scheduler::blocklist::guard(&config.blocklists)),
        },
        valid_rx,
    );
    if existing == 0 {
        eprintln!("filling …");
        let (rows, secs) = fill(&ctx, &mut generator, a.events, a.txn, now).await;
        println!(
            "\ningest: {rows} events in {secs:.1} s = {:.0} events/s (the archive import's write path: geo, binary IP, end marking, three lanes without ON CONFLICT on PostgreSQL; {} events per batch)",
            rows as f64 / secs,
            a.txn
        );
        if a.ingest_only {
            return;
        }
    } else {
        println!("\n(reusing the {existing} events of an earlier run; --fresh to refill)");
    }
    // Folds what is pending (everything after a fill; what an interrupted run left).
    let t = Instant::now();
    let folded = rollups::catch_up(&ctx, rollups::BATCH)
        .await
        .expect("rollups");
    let secs = t.elapsed().as_secs_f64();
    if folded > 0 {
        println!(
            "rollups: {folded} event ids folded in {secs:.1} s = {:.0} events/s",
            folded as f64 / secs
        );
    }
    if folded > 0 || migrated > 0 {
        // A year-old archive has been vacuumed and analysed many times over; a fresh fill
        // has not. On PostgreSQL the vacuum also sets the visibility map (index-only
        // scans) and keeps autovacuum from running through the measurements below.
        let t = Instant::now();
        let settle = if a.postgres {
            "VACUUM (ANALYZE)"
        } else {
            "ANALYZE"
        };
        // Its own connection: the pool's statement timeout (30 s) is far too short.
        sea_orm::Database::connect(config.database_url.expose())
            .await
            .expect("connect")
            .execute_unprepared(settle)
            .await
            .expect("settle");
        println!("{settle}: {:.1} s", t.elapsed().as_secs_f64());
    }
    let bans = scalar(
        &conn,
        "SELECT COUNT(*) AS v FROM ban_events WHERE kind = 'ban'",
    )
    .await;
    let ips = scalar(&conn, "SELECT COUNT(*) AS v FROM ip_stats").await;
    let rollup_rows = scalar(&conn, "SELECT COUNT(*) AS v FROM ban_rollups").await;
    println!(
        "archive: {} rows ({bans} bans, {ips} distinct IPs), {rollup_rows} rollup rows",
        scalar(&conn, "SELECT COUNT(*) AS v FROM ban_events").await
    );
    if !a.postgres {
        let pages = scalar(
            &conn,
            "SELECT page_count * page_size AS v FROM pragma_page_count(), pragma_page_size()",
        )
        .await;
        println!("database file: {:.0} MiB", pages as f64 / 1_048_576.0);
    } else {
        let size = scalar(&conn, "SELECT pg_database_size(current_database()) AS v").await;
        println!("database size: {:.0} MiB", size as f64 / 1_048_576.0);
    }
    if a.prepare_only {
        return;
    }

    // The API, over real HTTP on loopback.
    let app = api::app::App::build(config.clone()).await.expect("api");
    let base = format!("http://{}/api/v1", app.local_addr());
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(stop.clone()));
    let http = admin(&base).await;

    let top_ip: String = db::query_one(
        &conn,
        "SELECT ip FROM ip_stats ORDER BY bans DESC LIMIT 1",
        [],
    )
    .await
    .expect("q")
    .expect("row")
    .try_get("", "ip")
    .expect("ip");
    let top_country: String = db::query_one(&conn, "SELECT country FROM ban_rollups WHERE dims = 'c' AND grain = 'w' GROUP BY country ORDER BY SUM(bans) DESC LIMIT 1", [])
        .await.expect("q").expect("row").try_get("", "country").expect("country");
    let some_ips: Vec<String> = db::query_all(
        &conn,
        "SELECT ip FROM ip_stats WHERE bans < 5 ORDER BY ip LIMIT 200",
        [],
    )
    .await
    .expect("q")
    .iter()
    .filter_map(|r| r.try_get("", "ip").ok())
    .collect();
    let v6 = some_ips
        .iter()
        .find(|ip| ip.contains(':'))
        .cloned()
        .unwrap_or_else(|| "2001:200::1".into());
    let v6_prefix = v6.split(':').take(2).collect::<Vec<_>>().join(":") + ":";
    let v4_prefix = some_ips
        .iter()
        .find(|ip| ip.contains('.'))
        .map(|ip| ip.split('.').take(2).collect::<Vec<_>>().join(".") + ".")
        .unwrap_or_else(|| "45.".into());
    let enc = |s: &str| s.replace(':', "%3A").replace('/', "%2F");

    let mut variants: Vec<(String, String)> = Vec::new();
    for r in ["24h", "7d", "30d", "365d"] {
        variants.push((
            "dashboard/bans".into(),
            format!("/dashboard/bans?range={r}"),
        ));
        variants.push((
            "dashboard/trend".into(),
            format!("/dashboard/trend?range={r}"),
        ));
        variants.push((
            "dashboard/by-country".into(),
            format!("/dashboard/by-country?range={r}"),
        ));
        variants.push((
            "dashboard/by-jail".into(),
            format!("/dashboard/by-jail?range={r}"),
        ));
        variants.push((
            "dashboard/by-asn".into(),
            format!("/dashboard/by-asn?range={r}"),
        ));
        variants.push((
            "dashboard/repeat-offenders".into(),
            format!("/dashboard/repeat-offenders?range={r}"),
        ));
    }
    for q in [
        "/dashboard/bans?range=365d&jail=sshd&page=20".to_owned(),
        "/dashboard/bans?range=365d&origin=blocklist".to_owned(),
        format!("/dashboard/bans?range=30d&country={top_country}&origin=auto"),
        "/dashboard/trend?range=365d&series=jail".to_owned(),
        "/dashboard/trend?range=30d&series=origin&jail=sshd".to_owned(),
        format!("/dashboard/trend?range=365d&country={top_country}"),
        format!("/dashboard/by-country?range=365d&country={top_country}&page=3"),
        "/dashboard/by-jail?range=365d&origin=manual".to_owned(),
        "/dashboard/by-asn?range=365d&jail=sshd".to_owned(),
        "/dashboard/repeat-offenders?range=365d&jail=sshd".to_owned(),
        "/dashboard/repeat-offenders?range=30d&origin=blocklist".to_owned(),
    ] {
        let name = q
            .split('?')
            .next()
            .unwrap_or("")
            .trim_start_matches('/')
            .to_owned();
        variants.push((name, q));
    }
    for q in [
        "/history".to_owned(),
        "/history?page=100".to_owned(),
        format!("/history?ip={}", enc(&v4_prefix)),
        format!("/history?ip={}", enc(&v6_prefix)),
        format!(
            "/history?ip={}&range=30d",
            enc(&format!("{v4_prefix}0.0/16"))
        ),
        format!("/history?country={top_country}&state=expired"),
        "/history?state=banned".to_owned(),
        "/history?jail=sshd&sort=at".to_owned(),
    ] {
        variants.push(("history".into(), q));
    }
    variants.push((
        "history/{ip} (top IP)".into(),
        format!("/history/{}", enc(&top_ip)),
    ));
    println!(
        "\n| endpoint | request | p50 ms | p95 ms | p99 ms | plan |\n|---|---|---:|---:|---:|---|"
    );
    let mut worst: HashMap<String, f64> = HashMap::new();
    for (name, path) in &variants {
        let mut times = Vec::with_capacity(a.requests);
        let mut plan = String::new();
        for i in 0..a.requests + 3 {
            let t = Instant::now();
            let r = http.get(format!("{base}{path}")).send().await.expect("GET");
            let status = r.status();
            let body: serde_json::Value = r.json().await.expect("json");
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(status, 200, "{path}: {body}");
            plan = body["plan"].as_str().unwrap_or("").to_owned();
            if i >= 3 {
                times.push(ms);
            }
        }
        times.sort_by(f64::total_cmp);
        let p95 = percentile(&times, 0.95);
        println!(
            "| {name} | `{path}` | {:.1} | {p95:.1} | {:.1} | {plan} |",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
        let w = worst.entry(name.clone()).or_insert(0.0);
        *w = w.max(p95);
    }
    // The IP timeline and geo of many different IPs.
    for (name, prefix) in [
        ("history/{ip} (200 IPs)", "/history/"),
        ("geo/{ip} (200 IPs)", "/geo/"),
    ] {
        let mut times = Vec::new();
        for ip in &some_ips {
            let t = Instant::now();
            let r = http
                .get(format!("{base}{prefix}{}", enc(ip)))
                .send()
                .await
                .expect("GET");
            assert_eq!(r.status(), 200);
            let _ = r.bytes().await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let p95 = percentile(&times, 0.95);
        println!(
            "| {name} | `{prefix}<ip>` | {:.1} | {p95:.1} | {:.1} | |",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
        worst.insert(name.into(), p95);
    }
    let mut names: Vec<_> = worst.into_iter().collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    println!(
        "\nworst p95 per endpoint: {}",
        names
            .iter()
            .map(|(n, v)| format!("{n} {v:.1} ms"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // The naive way, for comparison: the same questions from raw events.
    let year = Filters {
        from_ms: now - 365 * DAY_MS,
        to_ms: now + 1,
        ..Default::default()
    };
    let naive: Vec<(&str, String, Vec<sea_orm::Value>)> = vec![
        ("by-country 365d, raw GROUP BY (no rollups)", format!("SELECT country, COUNT(*) AS n FROM ban_events WHERE kind = 'ban' AND at_ms >= {} GROUP BY country ORDER BY n DESC", year.from_ms), vec![]),
        ("trend 365d, raw GROUP BY (no rollups)", format!("SELECT (at_ms - {0}) / 604800000 AS b, COUNT(*) AS n FROM ban_events WHERE kind = 'ban' AND at_ms >= {0} GROUP BY 1", year.from_ms), vec![]),
        ("repeat offenders 365d, raw GROUP BY (no ip_stats)", format!("SELECT ip, COUNT(*) AS n FROM ban_events WHERE kind = 'ban' AND at_ms >= {} GROUP BY ip HAVING COUNT(*) >= 2 ORDER BY n DESC LIMIT 20", year.from_ms), vec![]),
        ("IP prefix search as text LIKE (no binary IP index)", "SELECT id FROM ban_events WHERE kind = 'ban' AND ip LIKE $1 ORDER BY at_ms DESC LIMIT 50".into(), vec![format!("{v4_prefix}%").into()]),
        ("IP timeline by text (no IP index)", "SELECT id FROM ban_events WHERE kind = 'ban' AND ip = $1 ORDER BY at_ms DESC LIMIT 100".into(), vec![top_ip.clone().into()]),
    ];
    println!("\n| naive query | run 1 ms | run 2 ms | run 3 ms |\n|---|---:|---:|---:|");
    for (title, sql, values) in &naive {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            db::query_all(&conn, sql, values.clone())
                .await
                .expect("naive");
            runs.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "| {title} | {:.0} | {:.0} | {:.0} |",
            runs[0], runs[1], runs[2]
        );
    }
    if a.plans {
        println!("\n### Query plans ({backend}, {} events)", a.events);
        let hwm = api::analytics::query::rollup_mark(&conn)
            .await
            .expect("mark");
        explain_counts(
            &conn,
            "by-country, 365 days (rollups + raw edges + not-yet-rolled events)",
            counts_sql(&year, &[Key::Country], None, hwm),
        )
        .await;
        explain_counts(
            &conn,
            "by-asn, 365 days, top 20 (the ASN set without origin)",
            counts_sql(&year, &[Key::Asn], Some(20), hwm),
        )
        .await;
        let sshd = Filters {
            jail: Some("sshd".into()),
            ..year.clone()
        };
        let c = counts_sql(
            &sshd,
            &[Key::Bucket {
                start: shared::archive::Grain::Week.floor(year.from_ms),
                size: 7 * DAY_MS,
            }],
            None,
            hwm,
        );
        explain_counts(&conn, "trend of one jail, 53 weeks", c).await;
        let r = rows_sql(&year, Sort::NewestFirst, 1, 50);
        explain(&conn, "ban list, newest first", &r.text, r.values).await;
        let span = shared::archive::ban_span(&conn).await.expect("span");
        for (title, search) in [
            ("IP prefix search (binary IP range)", &v4_prefix),
            ("the busiest IP's bans, newest first", &top_ip),
        ] {
            let f = Filters {
                ip: Some(shared::archive::parse_ip_search(search).expect("ip")),
                span,
                ..year.clone()
            };
            let r = rows_sql(&f, Sort::NewestFirst, 1, 50);
            explain(&conn, title, &r.text, r.values).await;
        }
        for (title, sql, values) in naive {
            explain(&conn, &format!("naive: {title}"), &sql, values).await;
        }
    }
    stop.cancel();
}
