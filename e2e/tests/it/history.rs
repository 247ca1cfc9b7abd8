//! The history archive end to end: events written by the scheduler's own insert path,
//! folded by the real rollup job, read over real HTTP from an in-process API, and every
//! answer compared with a brute-force computation over the same rows.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scheduler::ban_writer::{self, BanEvent, CurrentBan, EventKind, Origin, Source};
use scheduler::fail2ban::Fail2ban;
use scheduler::geo::{Geo, GeoInfo, GeoLookup};
use scheduler::jobs::{JobContext, JobDeps, archive_sync, geo_resolve, retention, rollups};
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde_json::Value;
use shared::archive::{self, DAY_MS, Dims, HOUR_MS, ip_key};
use shared::config::Config;
use shared::db;
use shared::lease::{LeaseStore, LeaseTiming, SCHEDULER_LEASE};
use testkit::db::{Backend, TestDb, backends};
use testkit::synthetic::Generator;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use testkit::client::admin_client;

pub struct Harness {
    pub test_db: TestDb,
    pub db: DatabaseConnection,
    pub config: Config,
    pub base: String,
    pub http: reqwest::Client,
    store: LeaseStore,
    token: i64,
    _valid: watch::Sender<Instant>,
    valid_rx: watch::Receiver<Instant>,
    api_shutdown: CancellationToken,
}

fn config(url: &str) -> Config {
    testkit::config(url, &[("BANGUI_FAIL2BAN_SOCKET", "/nonexistent/f2b.sock")])
}

impl Harness {
    pub async fn start(backend: Backend) -> Harness {
        let test_db = TestDb::create(backend).await;
        let config = config(&test_db.url);
        let db = test_db.connect().await;
        migrations::up_guarded(&db).await.expect("migrate");
        let timing = LeaseTiming::new(
            Duration::from_secs(600),
            Duration::from_secs(5),
            Duration::from_secs(10),
        )
        .expect("timing");
        let store = LeaseStore::new(SCHEDULER_LEASE, "history-test", &timing);
        let token = store
            .acquire_or_renew(&db)
            .await
            .expect("lease")
            .expect("free")
            .token;
        let (valid, valid_rx) = watch::channel(Instant::now() + Duration::from_secs(3600));
        let app = api::app::App::build(config.clone()).await.expect("api");
        let base = format!("http://{}/api/v1", app.local_addr());
        let api_shutdown = CancellationToken::new();
        tokio::spawn(app.run_until_stopped(api_shutdown.clone()));
        let http = admin_client(&base).await;
        Harness {
            test_db,
            db,
            config,
            base,
            http,
            store,
            token,
            _valid: valid,
            valid_rx,
            api_shutdown,
        }
    }

    /// A leader's job context with `geo` as its lookup.
    pub fn ctx(&self, geo: Box<dyn GeoLookup>) -> JobContext {
        let deps = JobDeps {
            f2b: Arc::new(Fail2ban::new(self.config.fail2ban.clone())),
            geo: Arc::new(Geo::new(geo, None, "test".into())),
            history: self.config.history.clone(),
            command_expiry: Duration::from_secs(60),
            guard: Arc::new(scheduler::blocklist::guard(&self.config.blocklists)),
        };
        JobContext::new(
            self.db.clone(),
            self.store.fence(self.token),
            deps,
            self.valid_rx.clone(),
        )
    }

    pub async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = r.status();
        let v: Value = r.json().await.expect("JSON");
        assert_eq!(status, 200, "{path}: {v}");
        v
    }

    pub async fn get_status(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn stop(self) {
        self.api_shutdown.cancel();
        self.db.close_by_ref().await.ok();
        self.test_db.drop_db().await;
    }
}

/// The same leader's context with another database handle, geo or deadline.
fn variant(
    ctx: &JobContext,
    db: DatabaseConnection,
    geo: Arc<Geo>,
    valid_until: watch::Receiver<Instant>,
) -> JobContext {
    let deps = JobDeps {
        f2b: ctx.f2b.clone(),
        geo,
        history: ctx.history.clone(),
        command_expiry: ctx.command_expiry,
        guard: ctx.guard.clone(),
    };
    JobContext::new(db, ctx.fence.clone(), deps, valid_until)
}

/// One ban row as stored.
#[derive(Debug, Clone)]
struct Row {
    at: i64,
    ip: String,
    jail: String,
    origin: String,
    country: String,
    asn: i64,
}

async fn all_bans(db: &DatabaseConnection) -> Vec<Row> {
    db::query_all(
        db,
        "SELECT at_ms, ip, jail, origin, country, asn FROM ban_events WHERE kind = 'ban'",
        [],
    )
    .await
    .expect("rows")
    .iter()
    .map(|r| Row {
        at: r.try_get("", "at_ms").expect("at"),
        ip: r.try_get("", "ip").expect("ip"),
        jail: r.try_get("", "jail").expect("jail"),
        origin: r.try_get("", "origin").expect("origin"),
        country: r
            .try_get::<Option<String>>("", "country")
            .expect("country")
            .unwrap_or_default(),
        asn: r
            .try_get::<Option<i64>>("", "asn")
            .expect("asn")
            .unwrap_or(0),
    })
    .collect()
}

fn rfc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Counts of `key` over rows in `[from, to)` passing `keep`.
fn brute<K: Ord>(
    rows: &[Row],
    from: i64,
    to: i64,
    keep: &dyn Fn(&Row) -> bool,
    key: &dyn Fn(&Row) -> K,
) -> BTreeMap<K, i64> {
    let mut out = BTreeMap::new();
    for r in rows.iter().filter(|r| r.at >= from && r.at < to && keep(r)) {
        *out.entry(key(r)).or_insert(0) += 1;
    }
    out
}

fn as_map(items: &Value, key: &str, count: &str) -> BTreeMap<String, i64> {
    items
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            let k = match &i[key] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, i[count].as_i64().expect("count"))
        })
        .collect()
}

async fn now_ms(db: &DatabaseConnection) -> i64 {
    db::db_now_ms(db).await.expect("now")
}

/// Inserts events in batches the way the archive import does (on PostgreSQL a batch of
/// 4 000 events or more goes in two lanes at once).
async fn insert(ctx: &JobContext, events: &[BanEvent]) {
    for chunk in events.chunks(5000) {
        let writer = ctx.f2b.snapshot_writer.lock().await;
        archive_sync::write_events(ctx, &writer, chunk.to_vec())
            .await
            .expect("insert");
    }
}

/// Compares every aggregate endpoint with brute force for one filter combination.
async fn check_aggregates(
    h: &Harness,
    rows: &[Row],
    range_q: &str,
    from: i64,
    to: i64,
    filter: &str,
) {
    let (origin, jail, country, asn) = {
        let p: HashMap<&str, &str> = filter
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        (
            p.get("origin").map(|s| (*s).to_owned()),
            p.get("jail").map(|s| (*s).to_owned()),
            p.get("country").map(|s| (*s).to_owned()),
            p.get("asn").map(|s| s.parse::<i64>().expect("asn")),
        )
    };
    let keep = move |r: &Row| {
        origin.as_ref().is_none_or(|o| &r.origin == o)
            && jail.as_ref().is_none_or(|j| &r.jail == j)
            && country.as_ref().is_none_or(|c| &r.country == c)
            && asn.is_none_or(|a| r.asn == a)
    };
    let q = format!("{range_q}{filter}");
    let ctx = &q;

    let by_jail = h.get(&format!("/dashboard/by-jail?{q}")).await;
    let expect = brute(rows, from, to, &keep, &|r| r.jail.clone());
    assert_eq!(
        as_map(&by_jail["items"], "jail", "bans"),
        expect,
        "by-jail {ctx}"
    );

    let by_asn = h.get(&format!("/dashboard/by-asn?{q}&limit=100")).await;
    let expect: BTreeMap<String, i64> = brute(rows, from, to, &keep, &|r| r.asn)
        .into_iter()
        .map(|(k, v)| (if k == 0 { String::new() } else { k.to_string() }, v))
        .collect();
    let got = as_map(&by_asn["items"], "asn", "bans");
    if expect.len() <= 100 {
        assert_eq!(got, expect, "by-asn {ctx}");
    }
    let total: i64 = brute(rows, from, to, &keep, &|_| ()).values().sum();
    assert_eq!(by_asn["total"], total, "by-asn total {ctx}");

    let trend = h.get(&format!("/dashboard/trend?{q}&series=origin")).await;
    let size = trend["bucket_seconds"].as_i64().expect("size") * 1000;
    let start =
        chrono::DateTime::parse_from_rfc3339(trend["buckets"][0]["start"].as_str().expect("start"))
            .expect("rfc")
            .timestamp_millis();
    let expect = brute(rows, from, to, &keep, &|r| (r.at - start) / size);
    let buckets = trend["buckets"].as_array().expect("buckets");
    for (i, b) in buckets.iter().enumerate() {
        assert_eq!(
            b["total"].as_i64(),
            Some(expect.get(&(i as i64)).copied().unwrap_or(0)),
            "trend bucket {i} {ctx}"
        );
    }
    let by_origin = brute(rows, from, to, &keep, &|r| r.origin.clone());
    for s in trend["series"].as_array().expect("series") {
        let sum: i64 = s["counts"]
            .as_array()
            .expect("counts")
            .iter()
            .filter_map(Value::as_i64)
            .sum();
        assert_eq!(
            Some(&sum),
            by_origin.get(s["name"].as_str().expect("name")),
            "series {ctx}"
        );
    }

    if !filter.contains("country=") {
        // The dashboard asks for the counts with one companion row: it gets one.
        let by_country = h
            .get(&format!("/dashboard/by-country?{q}&page_size=1"))
            .await;
        let expect = brute(rows, from, to, &keep, &|r| r.country.clone());
        assert_eq!(
            as_map(&by_country["items"], "country", "bans"),
            expect,
            "by-country {ctx}"
        );
        let latest = by_country["bans"]["items"].as_array().expect("latest");
        assert_eq!(latest.len() as i64, total.min(1), "companion list {ctx}");
    }

    let page = h.get(&format!("/dashboard/bans?{q}&page_size=20")).await;
    assert_eq!(page["total"], total, "bans total {ctx}");
    let mut times: Vec<i64> = rows
        .iter()
        .filter(|r| r.at >= from && r.at < to && keep(r))
        .map(|r| r.at)
        .collect();
    times.sort_unstable_by(|a, b| b.cmp(a));
    let got: Vec<i64> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            chrono::DateTime::parse_from_rfc3339(i["at"].as_str().expect("at"))
                .expect("rfc")
                .timestamp_millis()
        })
        .collect();
    assert_eq!(
        got,
        times.into_iter().take(20).collect::<Vec<_>>(),
        "bans order {ctx}"
    );

    let offenders = h
        .get(&format!("/dashboard/repeat-offenders?{q}&limit=10"))
        .await;
    let counts = brute(rows, from, to, &keep, &|r| r.ip.clone());
    let mut expect: Vec<i64> = counts.values().copied().filter(|n| *n >= 2).collect();
    expect.sort_unstable_by(|a, b| b.cmp(a));
    expect.truncate(10);
    let got: Vec<i64> = offenders["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["bans"].as_i64().expect("bans"))
        .collect();
    assert_eq!(got, expect, "repeat offenders {ctx}");
    for i in offenders["items"].as_array().expect("items") {
        assert_eq!(
            counts.get(i["ip"].as_str().expect("ip")).copied(),
            i["bans"].as_i64(),
            "{ctx}"
        );
    }
}

/// Random events (some exactly on bucket edges), partly rolled up, then every aggregate
/// against brute force under many filter combinations and ranges.
#[tokio::test]
async fn aggregates_equal_brute_force_on_random_data() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        let now = now_ms(&h.db).await;
        for seed in [7_u64, 1234] {
            let mut generator = Generator::new(seed, 300);
            let mut events = generator.events(2500, now - 400 * DAY_MS, now);
            // Bucket edges: exactly on an hour/day boundary and one millisecond before.
            let edge = now - now % DAY_MS - 3 * DAY_MS;
            for (i, at) in [edge, edge - 1, edge + HOUR_MS, edge + HOUR_MS - 1]
                .into_iter()
                .enumerate()
            {
                let mut e = events[i].clone();
                e.kind = EventKind::Ban;
                e.at_ms = at;
                e.ban.banned_at_ms = at;
                events.push(e);
            }
            let ctx = h.ctx(Box::new(generator.geo));
            let (first, second) = events.split_at(events.len() * 2 / 3);
            insert(&ctx, first).await;
            rollups::catch_up(&ctx, 500).await.expect("rollups");
            // The rest is not rolled up yet: answers must include it anyway.
            insert(&ctx, second).await;
            let rows = all_bans(&h.db).await;
            let jail = rows[0].jail.clone();
            let country = rows
                .iter()
                .find(|r| !r.country.is_empty())
                .map(|r| r.country.clone())
                .expect("country");
            let asn = rows.iter().map(|r| r.asn).find(|a| *a > 0).expect("asn");
            let filters = [
                String::new(),
                "&origin=auto".into(),
                format!("&jail={jail}"),
                format!("&country={country}"),
                format!("&asn={asn}"),
                format!("&asn={asn}&origin=manual"),
                format!("&jail={jail}&origin=auto&country={country}"),
            ];
            for preset in ["24h", "7d", "30d", "365d"] {
                let trend = h.get(&format!("/dashboard/trend?range={preset}")).await;
                let from =
                    chrono::DateTime::parse_from_rfc3339(trend["from"].as_str().expect("from"))
                        .expect("rfc")
                        .timestamp_millis();
                let to = chrono::DateTime::parse_from_rfc3339(trend["to"].as_str().expect("to"))
                    .expect("rfc")
                    .timestamp_millis();
                for f in &filters {
                    check_aggregates(&h, &rows, &format!("range={preset}"), from, to, f).await;
                }
            }
            // Custom ranges with ragged edges (raw pieces at both ends).
            for (from, to) in [
                (now - 200 * DAY_MS - 12_345, now - 3 * DAY_MS + 777),
                (edge - 1, edge + HOUR_MS),
                (now - 40 * DAY_MS + 1, now - 20 * DAY_MS - 1),
            ] {
                let q = format!("from={}&to={}", rfc(from), rfc(to));
                for f in &filters {
                    check_aggregates(&h, &rows, &q, from, to, f).await;
                }
            }
            // Everything rolled up now: same answers.
            rollups::catch_up(&ctx, 100_000).await.expect("rollups");
            let trend = h.get("/dashboard/trend?range=365d").await;
            let from = chrono::DateTime::parse_from_rfc3339(trend["from"].as_str().expect("from"))
                .expect("rfc")
                .timestamp_millis();
            let to = chrono::DateTime::parse_from_rfc3339(trend["to"].as_str().expect("to"))
                .expect("rfc")
                .timestamp_millis();
            assert_eq!(trend["plan"], "rollups");
            for f in &filters {
                check_aggregates(&h, &rows, "range=365d", from, to, f).await;
            }
            backfilled_set_equals_the_folded_one(&h.db).await;
            db::execute(&h.db, "DELETE FROM ban_events", [])
                .await
                .expect("reset");
            db::execute(&h.db, "DELETE FROM ban_rollups", [])
                .await
                .expect("reset");
            for table in ["ip_stats", "ip_weeks", "ip_totals"] {
                db::execute(&h.db, &format!("DELETE FROM {table}"), [])
                    .await
                    .expect("reset");
            }
            db::execute(
                &h.db,
                "UPDATE rollup_state SET hwm_id = (SELECT COALESCE(MAX(id), 0) FROM ban_events)",
                [],
            )
            .await
            .expect("reset");
        }
        h.stop().await;
    }
}

/// The candidate walks over `ip_totals` and `ip_weeks` find the same top list as grouping
/// everything, under every jail/origin filter.
/// The top 15 repeat offenders (at least 2 bans) under `f`, grouped from the events and
/// walked through the per-IP tables.
async fn raw_and_walked(
    db: &DatabaseConnection,
    f: &api::analytics::query::Filters,
) -> (api::analytics::OffenderList, api::analytics::OffenderList) {
    let tz = chrono_tz::Tz::UTC;
    let raw = api::analytics::repeat_offenders(db, f, 2, 15, tz, i64::MAX)
        .await
        .expect("raw");
    let walk = api::analytics::repeat_offenders(db, f, 2, 15, tz, 0)
        .await
        .expect("walk");
    (raw, walk)
}

fn offender_counts(l: &api::analytics::OffenderList) -> Vec<(i64, String)> {
    l.items.iter().map(|o| (o.bans, o.ip.clone())).collect()
}

/// Long, flat week lists (many IPs, most banned once a week, lists longer than a page,
/// read over several rounds): the threshold walk still gives the full grouping's answer.
#[tokio::test]
async fn repeat_offender_walk_on_flat_lists_matches_the_full_grouping() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        let now = now_ms(&h.db).await;
        let mut generator = Generator::new(5, 3000);
        let events = generator.events(6000, now - 35 * DAY_MS, now);
        let ctx = h.ctx(Box::new(generator.geo));
        insert(&ctx, &events).await;
        rollups::catch_up(&ctx, 100_000).await.expect("rollups");
        for (days, origin) in [(30, None), (30, Some("auto")), (20, Some("blocklist"))] {
            let f = api::analytics::query::Filters {
                from_ms: now - days * DAY_MS,
                to_ms: now + 1,
                origin: origin.and_then(shared::domain::Origin::parse),
                ..Default::default()
            };
            let (raw, walk) = raw_and_walked(&h.db, &f).await;
            assert_eq!(walk.plan, "ip_weeks");
            assert_eq!(
                offender_counts(&raw),
                offender_counts(&walk),
                "{days} days {origin:?}"
            );
            assert_eq!(
                raw.items.len(),
                15,
                "enough repeat offenders to fill the list"
            );
        }
        h.stop().await;
    }
}

/// A rollup set added to an archive that already holds events (its migration) comes out
/// exactly as the rollup job would have folded it.
async fn backfilled_set_equals_the_folded_one(db: &DatabaseConnection) {
    let dims = Dims::AsnAnyOrigin;
    let rows = |db: DatabaseConnection| async move {
        let sql = format!(
            "SELECT grain, bucket_ms, jail, origin, country, asn, bans FROM ban_rollups \
             WHERE dims = '{}' AND bans <> 0 ORDER BY grain, bucket_ms, asn",
            dims.code()
        );
        db::query_all(&db, &sql, [])
            .await
            .expect("rollup rows")
            .iter()
            .map(|r| {
                let text = |c: &str| r.try_get::<String>("", c).expect("text");
                let int = |c: &str| r.try_get::<i64>("", c).expect("int");
                (
                    [text("grain"), text("jail"), text("origin"), text("country")],
                    [int("bucket_ms"), int("asn"), int("bans")],
                )
            })
            .collect::<Vec<_>>()
    };
    let folded = rows(db.clone()).await;
    assert!(
        folded.iter().any(|(t, _)| t[0] == "h") && folded.iter().any(|(t, _)| t[0] == "16w"),
        "the folded set has hourly and 16-week rows"
    );
    let txn = db.begin().await.expect("begin");
    let hwm = archive::lock_rollups(&txn).await.expect("lock");
    let delete = format!("DELETE FROM ban_rollups WHERE dims = '{}'", dims.code());
    db::execute(&txn, &delete, []).await.expect("delete");
    for sql in archive::backfill_statements(dims, hwm) {
        db::execute(&txn, &sql, []).await.expect("backfill");
    }
    txn.commit().await.expect("commit");
    assert_eq!(rows(db.clone()).await, folded, "backfilled = folded");

    // A scheduler of another version (rollup sets not its own) stops writing rollups.
    let set_layout = |layout: String| async move {
        db::execute(
            db,
            "UPDATE rollup_state SET sets = $1",
            [sea_orm::Value::from(layout)],
        )
        .await
        .expect("layout");
    };
    set_layout("o:h,d".into()).await;
    let txn = db.begin().await.expect("begin");
    let err = archive::lock_rollups(&txn)
        .await
        .expect_err("foreign layout");
    assert!(err.to_string().contains("another BanGUI version"), "{err}");
    txn.rollback().await.expect("rollback");
    set_layout(archive::rollup_layout()).await;
}

#[tokio::test]
async fn repeat_offender_walk_matches_the_full_grouping() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        let now = now_ms(&h.db).await;
        let mut generator = Generator::new(99, 400);
        let events = generator.events(6000, now - 300 * DAY_MS, now);
        let ctx = h.ctx(Box::new(generator.geo));
        insert(&ctx, &events[..5000]).await;
        rollups::catch_up(&ctx, 100_000).await.expect("rollups");
        let rolled = all_bans(&h.db).await;
        insert(&ctx, &events[5000..]).await;
        // Edge weeks covered mostly (counted as whole weeks minus the rest) and barely
        // (counted from the events), at both ends and within one week.
        let w = shared::archive::Grain::Week.floor(now);
        let week = 7 * DAY_MS;
        for (from, to, plan) in [
            (now - 300 * DAY_MS, now + 1, "ip_totals"),
            (now - 30 * DAY_MS, now + 1, "ip_weeks"),
            (now - 2 * DAY_MS - 5, now - 5, "ip_weeks"),
            (
                w - 20 * week + DAY_MS,
                w - 3 * week + 6 * DAY_MS,
                "ip_totals",
            ),
            (w - 8 * week + 5 * DAY_MS, w - week + DAY_MS, "ip_weeks"),
            (w - 2 * week + DAY_MS / 2, w - week - DAY_MS / 2, "ip_weeks"),
            (
                w - 2 * week + 3 * DAY_MS,
                w - 2 * week + 4 * DAY_MS,
                "ip_weeks",
            ),
        ] {
            for (origin, jail) in [
                (None, None),
                (Some("auto"), None),
                (Some("blocklist"), None),
                (None, Some("sshd")),
                (Some("auto"), Some("sshd")),
            ] {
                let f = api::analytics::query::Filters {
                    from_ms: from,
                    to_ms: to,
                    origin: origin.and_then(shared::domain::Origin::parse),
                    jail: jail.map(str::to_owned),
                    ..Default::default()
                };
                let (raw, walk) = raw_and_walked(&h.db, &f).await;
                assert_eq!((raw.plan.as_str(), walk.plan.as_str()), ("raw", plan));
                assert_eq!(
                    offender_counts(&raw),
                    offender_counts(&walk),
                    "{from}..{to} {origin:?} {jail:?}"
                );
                // Each IP's jails: those of its rolled-up bans in the weeks the range
                // touches, under the origin filter.
                let week = shared::archive::Grain::Week;
                for o in &walk.items {
                    let mut jails: Vec<String> = rolled
                        .iter()
                        .filter(|r| {
                            r.ip == o.ip
                                && origin.is_none_or(|x| r.origin == x)
                                && week.floor(r.at) >= week.floor(from)
                                && week.floor(r.at) < to
                        })
                        .map(|r| r.jail.clone())
                        .collect();
                    jails.sort();
                    jails.dedup();
                    assert_eq!(o.jails, jails, "{} {from}..{to} {origin:?}", o.ip);
                }
            }
        }
        h.stop().await;
    }
}

/// `ip_stats` and every jail/origin row set of `ip_weeks` and `ip_totals` count each of the
/// `bans` ban rows exactly once, and hold no empty rows.
async fn per_ip_tables_count(db: &DatabaseConnection, bans: usize) {
    let mut sets = vec!["SELECT CAST(SUM(bans) AS BIGINT) AS n FROM ip_stats".to_owned()];
    for table in ["ip_weeks", "ip_totals"] {
        for (jail, origin) in [("<>", "<>"), ("=", "<>"), ("<>", "="), ("=", "=")] {
            sets.push(format!(
                "SELECT CAST(SUM(bans) AS BIGINT) AS n FROM {table} WHERE jail {jail} '*' AND origin {origin} '*'"
            ));
        }
    }
    for q in sets {
        let n: Option<i64> = db::query_one(db, &q, [])
            .await
            .expect("q")
            .expect("row")
            .try_get("", "n")
            .expect("n");
        assert_eq!(n.unwrap_or(0), bans as i64, "{q}");
    }
    for table in ["ip_stats", "ip_weeks", "ip_totals"] {
        let empty = db::query_all(db, &format!("SELECT ip FROM {table} WHERE bans <= 0"), [])
            .await
            .expect("q");
        assert!(empty.is_empty(), "{table} keeps no empty rows");
    }
}

fn event(ip: &str, jail: &str, at: i64, kind: EventKind) -> BanEvent {
    BanEvent {
        kind,
        at_ms: at,
        ban: CurrentBan {
            jail: jail.into(),
            ip: ip.into(),
            banned_at_ms: at,
            expires_at_ms: Some(at + 600_000),
            bantime_s: Some(600),
            bancount: 1,
            origin: Origin::Auto,
            failures: Some(5),
            matches: Some(r#"["line one", "line two"]"#.into()),
        },
        source: Source::Sync,
        actor: None,
        command_id: None,
    }
}

struct FixedGeo(HashMap<String, GeoInfo>);

impl GeoLookup for FixedGeo {
    fn lookup(&self, ip: std::net::IpAddr) -> GeoInfo {
        self.0.get(&ip.to_string()).cloned().unwrap_or_default()
    }
}

fn place(country: &str, asn: i64) -> GeoInfo {
    GeoInfo {
        country: Some(country.into()),
        asn: Some(asn),
        asn_org: Some(format!("Org {asn}")),
    }
}

/// IP search (exact, CIDR, typed prefixes; IPv4 and IPv6), the timeline, geo, states,
/// time zones and every bad input.
#[tokio::test]
async fn history_search_timeline_geo_and_bad_input() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        let now = now_ms(&h.db).await;
        let geo = FixedGeo(HashMap::from([
            ("2001:db8:1::7".to_owned(), place("DE", 3320)),
            ("198.51.100.7".to_owned(), place("FR", 3215)),
        ]));
        let ctx = h.ctx(Box::new(geo));
        let t = now - 10 * DAY_MS;
        let mut events = vec![
            event("2001:db8:1::7", "sshd", t, EventKind::Ban),
            event("2001:db8:1::7", "sshd", t, EventKind::Unban),
            event("2001:db8:1::7", "postfix", t + HOUR_MS, EventKind::Ban),
            event("2001:db8:2::9", "sshd", t + 2 * HOUR_MS, EventKind::Ban),
            event("198.51.100.7", "sshd", t + 3 * HOUR_MS, EventKind::Ban),
            event("198.51.100.7", "sshd", t + 3 * HOUR_MS, EventKind::Expire),
            event("198.51.101.1", "sshd", t + 4 * HOUR_MS, EventKind::Ban),
        ];
        events[6].at_ms = now - 1000;
        events[6].ban.banned_at_ms = now - 1000;
        insert(&ctx, &events).await;
        ban_writer::upsert_current(&h.db, &[events[6].ban.clone()], now)
            .await
            .expect("current");
        rollups::catch_up(&ctx, 1000).await.expect("rollups");

        let ips = |v: &Value| -> Vec<String> {
            let mut l: Vec<String> = v["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["ip"].as_str().expect("ip").to_owned())
                .collect();
            l.sort();
            l
        };
        let find = |q: &str| format!("/history?ip={}", q.replace(':', "%3A").replace('/', "%2F"));
        assert_eq!(
            ips(&h.get(&find("2001:db8:")).await),
            ["2001:db8:1::7", "2001:db8:1::7", "2001:db8:2::9"]
        );
        assert_eq!(
            ips(&h.get(&find("2001:db8:1::/48")).await),
            ["2001:db8:1::7", "2001:db8:1::7"]
        );
        assert_eq!(
            ips(&h.get(&find("2001:DB8:1:0::7")).await),
            ["2001:db8:1::7", "2001:db8:1::7"]
        );
        assert_eq!(
            ips(&h.get(&find("198.51.")).await),
            ["198.51.100.7", "198.51.101.1"]
        );
        assert_eq!(
            ips(&h.get(&find("198.51.100.0/24")).await),
            ["198.51.100.7"]
        );
        assert_eq!(ips(&h.get(&find("10.")).await), Vec::<String>::new());
        // States: unbanned, expired (ended or gone), banned (fail2ban holds it now).
        let state = |s: &'static str| format!("/history?state={s}");
        assert_eq!(ips(&h.get(&state("unbanned")).await), ["2001:db8:1::7"]);
        assert_eq!(ips(&h.get(&state("banned")).await), ["198.51.101.1"]);
        assert_eq!(
            ips(&h.get(&state("expired")).await),
            ["198.51.100.7", "2001:db8:1::7", "2001:db8:2::9"]
        );
        // Country and ASN filters; unknown places.
        assert_eq!(
            ips(&h.get("/history?country=de").await),
            ["2001:db8:1::7", "2001:db8:1::7"]
        );
        assert_eq!(ips(&h.get("/history?asn=3215").await), ["198.51.100.7"]);
        assert_eq!(
            ips(&h.get("/history?country=unknown").await),
            ["198.51.101.1", "2001:db8:2::9"]
        );
        assert_eq!(
            ips(&h.get("/history?asn=0&range=24h").await),
            ["198.51.101.1"]
        );
        let v = h.get("/dashboard/bans?range=24h&tz=Europe%2FBerlin").await;
        assert_eq!(ips(&v), ["198.51.101.1"]);
        let at = chrono::DateTime::parse_from_rfc3339(v["items"][0]["at"].as_str().expect("at"))
            .expect("rfc");
        let local = chrono::DateTime::parse_from_rfc3339(
            v["items"][0]["at_local"].as_str().expect("local"),
        )
        .expect("rfc");
        assert_eq!(at, local, "the same instant");
        assert!(
            [3600, 7200].contains(&local.offset().local_minus_utc()),
            "Berlin offset"
        );
        assert_eq!(at.offset().local_minus_utc(), 0, "stored and sent as UTC");

        // The timeline of an IPv6 address, with its path written differently.
        let tl = h.get("/history/2001:DB8:1:0:0:0:0:7?tz=Asia%2FTokyo").await;
        assert_eq!(tl["ip"], "2001:db8:1::7");
        assert_eq!(tl["total_bans"], 2);
        assert_eq!(tl["total_failures"], 10);
        assert_eq!(tl["total_matches"], 4);
        assert_eq!(tl["geo"]["country"], "DE");
        assert_eq!(tl["geo"]["country_name"], "Germany");
        assert_eq!(tl["geo"]["asn_org"], "Org 3320");
        let bans = tl["bans"].as_array().expect("bans");
        assert_eq!(bans[0]["jail"], "postfix");
        assert_eq!(bans[1]["state"], "unbanned");
        assert_eq!(bans[1]["lasted_s"], 0);
        assert_eq!(
            bans[1]["matches"],
            serde_json::json!(["line one", "line two"])
        );
        assert!(
            bans[0]["start_local"]
                .as_str()
                .expect("local")
                .ends_with("+09:00")
        );
        let tl = h.get("/history/198.51.101.1").await;
        assert_eq!(tl["banned_in"], serde_json::json!(["sshd"]));
        assert_eq!(tl["bans"][0]["state"], "banned");

        let g = h.get("/geo/198.51.100.7").await;
        assert_eq!(
            (
                g["country"].as_str(),
                g["asn"].as_i64(),
                g["source"].as_str()
            ),
            (Some("FR"), Some(3215), Some("local"))
        );
        let g = h.get("/geo/2001:db8:2::9").await;
        assert_eq!(
            (g["country"].clone(), g["source"].as_str()),
            (Value::Null, Some("none"))
        );

        for (path, status, code) in [
            ("/history/203.0.113.250", 404, "ip_not_seen"),
            ("/history/not-an-ip", 422, "invalid_ip"),
            ("/geo/203.0.113.250", 404, "geo_not_resolved"),
            ("/geo/999.1.1.1", 422, "invalid_ip"),
            ("/dashboard/bans?range=2d", 422, "invalid_range"),
            ("/dashboard/bans?range=all", 422, "invalid_range"),
            (
                "/dashboard/bans?from=2026-01-01T00:00:00Z",
                422,
                "invalid_range",
            ),
            (
                "/dashboard/bans?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
                422,
                "invalid_range",
            ),
            (
                "/dashboard/bans?from=yesterday&to=2026-01-01T00:00:00Z",
                422,
                "invalid_range",
            ),
            (
                "/dashboard/trend?from=1990-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
                422,
                "invalid_range",
            ),
            ("/dashboard/bans?origin=robot", 400, "invalid_origin"),
            ("/dashboard/bans?country=XX", 422, "invalid_country"),
            ("/dashboard/bans?asn=-4", 422, "invalid_asn"),
            ("/dashboard/bans?jail=a%20b", 422, "invalid_jail_name"),
            ("/dashboard/bans?tz=Mars%2FOlympus", 422, "invalid_timezone"),
            ("/dashboard/bans?sort=ip", 400, "invalid_sort"),
            (
                "/dashboard/bans?page=1000&page_size=500",
                422,
                "page_too_deep",
            ),
            ("/dashboard/trend?series=country", 400, "invalid_series"),
            ("/history?ip=300.1.", 422, "invalid_ip_search"),
            (
                "/history?ip=2001%3Adb8%3A%3A%2F200",
                422,
                "invalid_ip_search",
            ),
            ("/history?state=gone", 400, "invalid_state"),
        ] {
            let (s, body) = h.get_status(path).await;
            assert_eq!(
                (s, body["error_code"].as_str()),
                (status, Some(code)),
                "{path}: {body}"
            );
            assert!(body["request_id"].is_string(), "{path}");
        }
        // A value outside a filter's enum names the field, like every other filter error.
        for (path, field) in [
            ("/dashboard/bans?origin=robot", "origin"),
            ("/history?state=gone", "state"),
            ("/history?sort=ip", "sort"),
            ("/dashboard/trend?series=country", "series"),
        ] {
            let (_, body) = h.get_status(path).await;
            assert_eq!(body["details"]["field"], field, "{path}: {body}");
        }
        // Viewers read; nobody else does.
        let anon = reqwest::Client::new();
        let r = anon
            .get(format!("{}/dashboard/trend", h.base))
            .send()
            .await
            .expect("anon");
        assert_eq!(r.status(), 401);
        h.stop().await;
    }
}

/// Unknown IPs resolved later move their bans' counts to the right country; the rollup
/// job survives being stopped mid-way; retention purges old rows and keeps every
/// aggregate exact.
#[tokio::test]
async fn geo_retry_rollup_recovery_and_retention_keep_aggregates_exact() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        let now = now_ms(&h.db).await;
        let mut generator = Generator::new(5, 500);
        let events = generator.events(8000, now - 420 * DAY_MS, now);
        let ctx = h.ctx(Box::new(generator.geo));

        // Rollups stopped mid-way: a leader that loses its deadline after one batch...
        insert(&ctx, &events).await;
        let (expired_tx, expired_rx) = watch::channel(Instant::now() + Duration::from_millis(300));
        let short = variant(&ctx, h.db.clone(), ctx.geo.clone(), expired_rx);
        let first = rollups::step(&short, 700).await.expect("one batch");
        assert_eq!(first, 700);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(
            rollups::catch_up(&short, 700).await.is_err(),
            "stops when no longer leading"
        );
        drop(expired_tx);
        // ...and a run killed in the middle of its work, as a crashed process would be (its
        // own connections die with it).
        let crashed_db = h.test_db.connect().await;
        let crashed = variant(&ctx, crashed_db.clone(), ctx.geo.clone(), ctx.valid_until());
        let killed = tokio::spawn(async move { rollups::catch_up(&crashed, 300).await });
        tokio::time::sleep(Duration::from_millis(30)).await;
        killed.abort();
        let _ = killed.await;
        crashed_db.close().await.ok();
        rollups::catch_up(&ctx, 1000).await.expect("catch up");
        let hwm: i64 = db::query_one(&h.db, "SELECT hwm_id FROM rollup_state", [])
            .await
            .expect("q")
            .expect("row")
            .try_get("", "hwm_id")
            .expect("hwm");
        let max: i64 = db::query_one(&h.db, "SELECT MAX(id) AS m FROM ban_events", [])
            .await
            .expect("q")
            .expect("row")
            .try_get("", "m")
            .expect("max");
        assert_eq!(hwm, max);
        let rows = all_bans(&h.db).await;
        let range = |q: &str| format!("from={}&to={}{q}", rfc(now - 500 * DAY_MS), rfc(now + 1));
        check_aggregates(&h, &rows, &range(""), now - 500 * DAY_MS, now + 1, "").await;
        per_ip_tables_count(&h.db, rows.len()).await;

        // An IP nobody knew becomes known: its bans and the rollups follow.
        let unknown = rows
            .iter()
            .find(|r| r.country.is_empty())
            .expect("an unknown IP")
            .ip
            .clone();
        db::execute(
            &h.db,
            "UPDATE geo_cache SET retry_at_ms = 0 WHERE ip = $1",
            [unknown.clone().into()],
        )
        .await
        .expect("due");
        let knows = h.ctx(Box::new(FixedGeo(HashMap::from([(
            unknown.clone(),
            place("NZ", 9500),
        )]))));
        geo_resolve::retry_unknown(&knows).await.expect("retry");
        let rows = all_bans(&h.db).await;
        assert!(
            rows.iter()
                .filter(|r| r.ip == unknown)
                .all(|r| r.country == "NZ" && r.asn == 9500)
        );
        check_aggregates(&h, &rows, &range(""), now - 500 * DAY_MS, now + 1, "").await;
        let g = h.get(&format!("/geo/{unknown}")).await;
        assert_eq!(g["country"], "NZ");

        // Retention: everything before the week-aligned cut-off goes, in batches.
        let cutoff = shared::archive::Grain::Week.floor(now - 365 * DAY_MS);
        // An IP whose bans all go; offered again first, so the insert path's memo knows
        // its geo row (the database turned the offer away).
        let gone = rows
            .iter()
            .map(|r| r.ip.clone())
            .find(|ip| rows.iter().filter(|r| &r.ip == ip).all(|r| r.at < cutoff))
            .expect("an IP with only old bans");
        let old_ban = events
            .iter()
            .find(|e| e.ban.ip == gone && e.kind == ban_writer::EventKind::Ban)
            .expect("its ban")
            .clone();
        insert(&ctx, std::slice::from_ref(&old_ban)).await;
        // The blocklist import log goes with the history; an unfinished import stays.
        for (started, finished) in [
            (cutoff - DAY_MS, Some(cutoff - DAY_MS + 1)),
            (cutoff - DAY_MS, None),
            (now, Some(now)),
        ] {
            db::execute(
                &h.db,
                "INSERT INTO blocklist_imports (source_id, trigger_kind, started_at_ms, finished_at_ms, \
                 outcome, phase) VALUES (1, 'schedule', $1, $2, 'applied', 'done')",
                [started.into(), finished.into()],
            )
            .await
            .expect("import row");
        }
        let purged = retention::purge(&ctx).await.expect("purge");
        assert!(purged > 0);
        let kept: Vec<(i64, Option<i64>)> = db::query_all(
            &h.db,
            "SELECT started_at_ms, finished_at_ms FROM blocklist_imports ORDER BY id",
            [],
        )
        .await
        .expect("imports")
        .iter()
        .map(|r| {
            (
                r.try_get("", "started_at_ms").expect("s"),
                r.try_get("", "finished_at_ms").expect("f"),
            )
        })
        .collect();
        assert_eq!(kept, [(cutoff - DAY_MS, None), (now, Some(now))]);
        let left = all_bans(&h.db).await;
        assert!(left.iter().all(|r| r.at >= cutoff));
        assert_eq!(left.len(), rows.iter().filter(|r| r.at >= cutoff).count());
        let old: i64 = db::query_one(
            &h.db,
            "SELECT COUNT(*) AS n FROM ban_events WHERE at_ms < $1",
            [cutoff.into()],
        )
        .await
        .expect("q")
        .expect("row")
        .try_get("", "n")
        .expect("n");
        assert_eq!(old, 0, "end events go too");
        check_aggregates(&h, &left, &range(""), now - 500 * DAY_MS, now + 1, "").await;
        let trend = h.get("/dashboard/trend?range=365d").await;
        let from = chrono::DateTime::parse_from_rfc3339(trend["from"].as_str().expect("from"))
            .expect("rfc")
            .timestamp_millis();
        let to = chrono::DateTime::parse_from_rfc3339(trend["to"].as_str().expect("to"))
            .expect("rfc")
            .timestamp_millis();
        check_aggregates(&h, &left, "range=365d", from, to, "&origin=auto").await;
        per_ip_tables_count(&h.db, left.len()).await;
        let empty: i64 = db::query_one(
            &h.db,
            "SELECT COUNT(*) AS n FROM ban_rollups WHERE bucket_ms < $1 AND bans <= 0",
            [cutoff.into()],
        )
        .await
        .expect("q")
        .expect("row")
        .try_get("", "n")
        .expect("n");
        assert_eq!(empty, 0);
        let key = ip_key(left[0].ip.parse().expect("ip"));
        assert_eq!(key.len(), 16);

        // Its geo row goes once old enough; when it is banned again it gets a new one.
        let geo_rows = |ip: String| {
            let db = h.db.clone();
            async move {
                db::query_one(
                    &db,
                    "SELECT COUNT(*) AS n FROM geo_cache WHERE ip = $1",
                    [ip.into()],
                )
                .await
                .expect("q")
                .expect("row")
                .try_get::<i64>("", "n")
                .expect("n")
            }
        };
        db::execute(&h.db, "UPDATE geo_cache SET resolved_at_ms = 0", [])
            .await
            .expect("age");
        retention::purge(&ctx).await.expect("purge");
        assert_eq!(geo_rows(gone.clone()).await, 0);
        let mut again = old_ban;
        again.at_ms = now - 1000;
        again.ban.banned_at_ms = now - 1000;
        insert(&ctx, &[again]).await;
        assert_eq!(geo_rows(gone).await, 1, "offered again after retention");
        h.stop().await;
    }
}

/// The offline data the run command installs (`scheduler/geo`, from the npm registry)
/// places well-known addresses.
#[test]
fn real_geo_files_place_well_known_addresses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scheduler/geo/node_modules/@ip-location-db");
    let country = dir.join("geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb");
    if !country.exists() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install scheduler/geo (npm ci)"
        );
        eprintln!("skipped: run `npm ci --prefix scheduler/geo` first");
        return;
    }
    let asn = [dir.join("asn/asn-ipv4.csv"), dir.join("asn/asn-ipv6.csv")];
    let started = Instant::now();
    let geo = scheduler::geo::GeoDb::load(Some(&country), &asn).expect("load");
    eprintln!("loaded in {:?}: {}", started.elapsed(), geo.describe());
    let at = |ip: &str| geo.lookup(ip.parse().expect("ip"));
    let google = at("8.8.8.8");
    assert_eq!(
        (google.country.as_deref(), google.asn),
        (Some("US"), Some(15169))
    );
    assert!(
        google
            .asn_org
            .is_some_and(|o| o.to_lowercase().contains("google"))
    );
    assert_eq!(at("2001:4860:4860::8888").asn, Some(15169));
    assert_eq!(at("2001:4860:4860::8888").country.as_deref(), Some("US"));
    assert_eq!(
        at("192.168.1.1"),
        GeoInfo::default(),
        "private addresses are nowhere"
    );
}

/// The HTTP fallback (off by default) answers for IPs the files do not know, within its
/// rate limit, and what it finds reaches the archive.
#[tokio::test]
async fn the_http_geo_fallback_is_used_for_unknown_ips_and_rate_limited() {
    use poem::{Route, Server, get, handler, listener::TcpListener, web::Path};

    #[handler]
    fn answer(Path(ip): Path<String>) -> poem::web::Json<Value> {
        poem::web::Json(
            serde_json::json!({"ip": ip, "countryCode": "SE", "asn": "AS1299 Arelion", "isp": "Arelion"}),
        )
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let server = tokio::spawn(
        Server::new(TcpListener::bind(addr.to_string()))
            .run(Route::new().at("/geo/:ip", get(answer))),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let h = Harness::start(backends()[0]).await;
    let now = now_ms(&h.db).await;
    let ctx = h.ctx(Box::new(FixedGeo(HashMap::new())));
    let events: Vec<BanEvent> = (1..=4)
        .map(|i| {
            event(
                &format!("203.0.113.{i}"),
                "sshd",
                now - i * HOUR_MS,
                EventKind::Ban,
            )
        })
        .collect();
    insert(&ctx, &events).await;
    rollups::catch_up(&ctx, 1000).await.expect("rollups");
    db::execute(&h.db, "UPDATE geo_cache SET retry_at_ms = 0", [])
        .await
        .expect("due");
    let http = scheduler::geo::HttpFallback::new(
        format!("http://{addr}/geo/{{ip}}"),
        3,
        Duration::from_secs(2),
    )
    .expect("client");
    let geo = Geo::new(
        Box::new(FixedGeo(HashMap::new())),
        Some(http),
        "test".into(),
    );
    let with_http = variant(&ctx, h.db.clone(), Arc::new(geo), ctx.valid_until());
    geo_resolve::retry_unknown(&with_http).await.expect("retry");
    let rows = all_bans(&h.db).await;
    let resolved = rows
        .iter()
        .filter(|r| r.country == "SE" && r.asn == 1299)
        .count();
    assert_eq!(resolved, 3, "three lookups a minute: {rows:?}");
    // Which three is up to the job's order; any of them answers from the HTTP source.
    let one = rows
        .iter()
        .find(|r| r.country == "SE")
        .expect("resolved")
        .ip
        .clone();
    let g = h.get(&format!("/geo/{one}")).await;
    assert_eq!(
        (g["source"].as_str(), g["asn_org"].as_str()),
        (Some("http"), Some("Arelion")),
        "{g}"
    );
    let by_country = h.get("/dashboard/by-country?range=24h").await;
    assert_eq!(
        as_map(&by_country["items"], "country", "bans").get("SE"),
        Some(&3),
        "{by_country}"
    );
    server.abort();
    h.stop().await;
}

/// Events recorded before are skipped, however they arrive again; a ban recorded alone
/// learns how it ended when the end arrives later, alone or together with the ban again
/// (a sync that saw the ban, then an archive import that brings ban and expiry).
#[tokio::test]
async fn events_arriving_twice_are_kept_once_and_late_ends_reach_their_ban() {
    for backend in backends() {
        let h = Harness::start(backend).await;
        let ctx = h.ctx(Box::new(FixedGeo(HashMap::new())));
        let now = now_ms(&h.db).await;
        let event = |kind, ip: &str, banned_at_ms: i64, at_ms: i64| BanEvent {
            kind,
            at_ms,
            ban: CurrentBan {
                jail: "sshd".into(),
                ip: ip.into(),
                banned_at_ms,
                expires_at_ms: Some(banned_at_ms + 600_000),
                bantime_s: Some(600),
                bancount: 1,
                origin: Origin::Auto,
                failures: Some(5),
                matches: None,
            },
            source: Source::Archive,
            actor: None,
            command_id: None,
        };
        let write = |events: Vec<BanEvent>| {
            let ctx = &ctx;
            async move {
                let txn = ctx.fenced_txn().await.expect("txn");
                let n = ban_writer::insert_events(
                    &txn,
                    &events,
                    &ctx.geo,
                    ban_writer::Duplicates::Skip,
                )
                .await
                .expect("insert");
                ctx.commit(txn).await.expect("commit");
                n
            }
        };
        let state = |ip: &'static str| {
            let db = h.db.clone();
            async move {
                let rows = db::query_all(
                    &db,
                    "SELECT kind, end_kind, ended_at_ms FROM ban_events WHERE ip = $1 ORDER BY kind",
                    [ip.into()],
                )
                .await
                .expect("rows");
                rows.iter()
                    .map(|r| {
                        (
                            r.try_get::<String>("", "kind").expect("kind"),
                            r.try_get::<Option<String>>("", "end_kind").expect("end"),
                            r.try_get::<Option<i64>>("", "ended_at_ms").expect("at"),
                        )
                    })
                    .collect::<Vec<_>>()
            }
        };
        let (t, end) = (now - 3_600_000, now - 3_000_000);

        // Seen by a sync first, then imported with its expiry.
        let ban = event(EventKind::Ban, "2001:db8::7", t, t);
        let expire = event(EventKind::Expire, "2001:db8::7", t, end);
        assert_eq!(write(vec![ban.clone()]).await, 1);
        assert_eq!(state("2001:db8::7").await, [("ban".into(), None, None)]);
        assert_eq!(
            write(vec![ban.clone(), expire.clone()]).await,
            1,
            "only the expiry is new"
        );
        let ended = vec![
            ("ban".to_owned(), Some("expire".to_owned()), Some(end)),
            ("expire".to_owned(), None, None),
        ];
        assert_eq!(state("2001:db8::7").await, ended);
        // The same import again changes nothing.
        assert_eq!(write(vec![ban, expire]).await, 0);
        assert_eq!(state("2001:db8::7").await, ended);

        // Ban and unban together the first time; then the unban alone again.
        let ban = event(EventKind::Ban, "192.0.2.9", t, t);
        let unban = event(EventKind::Unban, "192.0.2.9", t, end);
        assert_eq!(write(vec![ban, unban.clone()]).await, 2);
        assert_eq!(write(vec![unban]).await, 0);
        assert_eq!(
            state("192.0.2.9").await,
            [
                ("ban".to_owned(), Some("unban".to_owned()), Some(end)),
                ("unban".to_owned(), None, None),
            ]
        );
        h.stop().await;
    }
}

/// A batch large enough for two lanes on PostgreSQL arrives whole: every event once,
/// text exactly as given (quotes, backslashes, braces, commas, the word NULL, non-ASCII),
/// NULLs as NULLs, ends written into their bans; the same batch again writes nothing;
/// the rollups count every ban.
#[tokio::test]
async fn a_large_batch_is_written_once_with_its_text_intact() {
    const BANS: usize = 3000;
    let tricky = r#"["a \"quoted\" {brace}, comma \\ back","NULL","ünïcödé 🚫 ' ;"]"#;
    for backend in backends() {
        let h = Harness::start(backend).await;
        let ctx = h.ctx(Box::new(FixedGeo(HashMap::from([(
            "192.0.2.1".to_owned(),
            place("NL", 64500),
        )]))));
        let now = now_ms(&h.db).await;
        let mut events = Vec::new();
        for i in 0..BANS {
            let ip = if i % 3 == 0 {
                format!("2001:db8::{i:x}")
            } else {
                format!("192.0.{}.{}", 2 + i / 250, 1 + i % 250)
            };
            let banned_at_ms = now - 2 * DAY_MS + i64::try_from(i).expect("i") * 1000;
            let ban = CurrentBan {
                jail: if i % 2 == 0 {
                    "sshd".into()
                } else {
                    "nginx \"x\"".into()
                },
                ip,
                banned_at_ms,
                expires_at_ms: (i % 5 != 0).then_some(banned_at_ms + 600_000),
                bantime_s: (i % 5 != 0).then_some(600),
                bancount: 2,
                origin: Origin::Auto,
                failures: (i % 7 != 0).then_some(5),
                matches: (i % 4 != 0).then(|| tricky.to_owned()),
            };
            events.push(BanEvent {
                kind: EventKind::Ban,
                at_ms: banned_at_ms,
                ban: ban.clone(),
                source: Source::Archive,
                actor: None,
                command_id: None,
            });
            events.push(BanEvent {
                kind: if i % 2 == 0 {
                    EventKind::Expire
                } else {
                    EventKind::Unban
                },
                at_ms: banned_at_ms + 600_000,
                ban,
                source: Source::Archive,
                actor: None,
                command_id: None,
            });
        }
        let write = |events: Vec<BanEvent>| {
            let ctx = &ctx;
            async move {
                let writer = ctx.f2b.snapshot_writer.lock().await;
                archive_sync::write_events(ctx, &writer, events)
                    .await
                    .expect("write")
            }
        };
        assert_eq!(
            write(events.clone()).await,
            u64::try_from(2 * BANS).expect("n")
        );
        assert_eq!(write(events.clone()).await, 0, "{backend:?}: written again");
        // Old and new mixed: lanes holding a duplicate are written again skipping it, the
        // others go through as they are; either way only the new events are added.
        let fresh: Vec<BanEvent> = events
            .iter()
            .take(200)
            .map(|e| {
                let mut e = e.clone();
                e.ban.jail = "fresh".into();
                e
            })
            .collect();
        let mixed: Vec<BanEvent> = events.iter().cloned().chain(fresh).collect();
        assert_eq!(write(mixed).await, 200, "{backend:?}: old and new");
        db::execute(&h.db, "DELETE FROM ban_events WHERE jail = 'fresh'", [])
            .await
            .expect("tidy");

        let rows = db::query_all(
            &h.db,
            "SELECT kind, jail, ip, at_ms, banned_at_ms, bantime_s, bancount, failures, matches_z, \
             match_count, ip_bin, country, asn, end_kind, ended_at_ms FROM ban_events",
            [],
        )
        .await
        .expect("rows");
        assert_eq!(rows.len(), 2 * BANS, "{backend:?}");
        let mut by_key = HashMap::new();
        for r in &rows {
            let kind: String = r.try_get("", "kind").expect("kind");
            let ip: String = r.try_get("", "ip").expect("ip");
            let banned_at: i64 = r.try_get("", "banned_at_ms").expect("banned_at");
            assert!(
                by_key.insert((kind, ip, banned_at), r).is_none(),
                "one row each"
            );
        }
        for e in &events {
            let r = by_key[&(
                e.kind.as_str().to_owned(),
                e.ban.ip.clone(),
                e.ban.banned_at_ms,
            )];
            let get_i64 = |c: &str| r.try_get::<Option<i64>>("", c).expect(c);
            let get_i32 = |c: &str| r.try_get::<Option<i32>>("", c).expect(c).map(i64::from);
            let get_text = |c: &str| r.try_get::<Option<String>>("", c).expect(c);
            assert_eq!(get_text("jail").as_deref(), Some(e.ban.jail.as_str()));
            assert_eq!(get_i64("at_ms"), Some(e.at_ms));
            assert_eq!(get_i64("bantime_s"), e.ban.bantime_s);
            assert_eq!(get_i32("bancount"), Some(2));
            assert_eq!(get_i32("failures"), e.ban.failures);
            // Matched lines are kept once, on the ban; its end event repeats none of them.
            let stored_matches = (e.kind == EventKind::Ban)
                .then(|| e.ban.matches.clone())
                .flatten();
            // Stored packed (migration 23), and the text comes back whole.
            let packed: Option<Vec<u8>> = r.try_get("", "matches_z").expect("matches_z");
            assert_eq!(
                packed.and_then(|z| shared::archive::unpack_matches(&z)),
                stored_matches,
                "{backend:?}"
            );
            assert_eq!(get_i32("match_count"), stored_matches.as_ref().map(|_| 3));
            let key: Vec<u8> = r.try_get("", "ip_bin").expect("ip_bin");
            assert_eq!(key, ip_key(e.ban.ip.parse().expect("ip")).to_vec());
            let known = e.ban.ip == "192.0.2.1";
            assert_eq!(get_text("country"), known.then(|| "NL".to_owned()));
            assert_eq!(get_i64("asn"), known.then_some(64500));
            if e.kind == EventKind::Ban {
                let end = if e.ban.jail == "sshd" {
                    "expire"
                } else {
                    "unban"
                };
                assert_eq!(get_text("end_kind").as_deref(), Some(end));
                assert_eq!(get_i64("ended_at_ms"), Some(e.at_ms + 600_000));
            } else {
                assert_eq!(get_text("end_kind"), None);
            }
        }

        rollups::catch_up(&ctx, 1000).await.expect("rollups");
        let v = h.get("/dashboard/by-jail?range=7d").await;
        assert_eq!(v["total"].as_u64(), Some(BANS as u64), "{backend:?}: {v}");
        assert_eq!(
            v["items"].as_array().map(Vec::len),
            Some(2),
            "{backend:?}: {v}"
        );
        h.stop().await;
    }
}

/// Archive answers are shared while the archive is unchanged and never outlive a change:
/// each write (new events, a rollup fold, retention) shows in the very next answer; many
/// tabs asking at once run the queries once; a failed computation is not kept.
#[tokio::test]
async fn shared_answers_follow_every_change_of_the_archive() {
    use api::answers::Answers;
    use api::error::{ApiError, ErrorCode};
    use std::sync::atomic::{AtomicUsize, Ordering};

    for backend in backends() {
        let h = Harness::start(backend).await;
        let ctx = h.ctx(Box::new(FixedGeo(HashMap::new())));
        let now = now_ms(&h.db).await;
        let bans = |from: usize, n: usize, jail: &str| -> Vec<BanEvent> {
            (from..from + n)
                .map(|i| {
                    event(
                        &format!("198.51.100.{}", i + 1),
                        jail,
                        now - HOUR_MS - i64::try_from(i).expect("i") * 1000,
                        EventKind::Ban,
                    )
                })
                .collect()
        };
        let total = |v: &Value| v["total"].as_i64();
        let q = "/dashboard/by-jail?range=24h";

        // Two bans from before the retention period (365 days), for the purge below.
        let stale: Vec<BanEvent> = (0..2)
            .map(|i| {
                let at = now - 400 * DAY_MS - i * 1000;
                event(&format!("203.0.113.{}", i + 1), "old", at, EventKind::Ban)
            })
            .collect();
        insert(&ctx, &stale).await;
        insert(&ctx, &bans(0, 3, "sshd")).await;
        assert_eq!(total(&h.get(q).await), Some(3), "{backend:?}");
        assert_eq!(total(&h.get(q).await), Some(3), "{backend:?}: again");
        // New events, not folded yet (read from the raw tail), then folded.
        insert(&ctx, &bans(3, 2, "nginx")).await;
        assert_eq!(total(&h.get(q).await), Some(5), "{backend:?}: new events");
        rollups::catch_up(&ctx, 1000).await.expect("rollups");
        let v = h.get(q).await;
        assert_eq!(total(&v), Some(5), "{backend:?}: folded");
        assert_eq!(v["plan"], "rollups", "{backend:?}: {v}");
        // Another question is its own answer.
        let v = h.get("/dashboard/by-jail?range=24h&jail=nginx").await;
        assert_eq!(total(&v), Some(2), "{backend:?}: {v}");
        let page = h.get("/history?range=24h&page_size=2").await;
        assert_eq!(page["total"].as_i64(), Some(5), "{backend:?}: {page}");
        assert_eq!(page["items"].as_array().map(Vec::len), Some(2));

        // Retention deletes rows without adding any: the next answer has lost them.
        let listed = |v: &Value| v["total"].as_i64();
        assert_eq!(
            listed(&h.get("/history?range=all").await),
            Some(7),
            "{backend:?}"
        );
        assert_eq!(retention::purge(&ctx).await.expect("purge"), 2);
        assert_eq!(
            listed(&h.get("/history?range=all").await),
            Some(5),
            "{backend:?}: after retention"
        );

        // The cache itself, on the same database: one computation per version.
        let answers = Answers::new(true);
        let runs = AtomicUsize::new(0);
        let compute = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, ApiError>(runs.load(Ordering::SeqCst))
        };
        let asked: Vec<usize> =
            futures_util::future::join_all((0..16).map(|_| answers.get(&h.db, "/k", compute())))
                .await
                .into_iter()
                .map(|r| r.expect("answer"))
                .collect();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "{backend:?}: 16 tabs, one run"
        );
        assert!(asked.iter().all(|a| *a == 1), "{asked:?}");
        assert_eq!(answers.get(&h.db, "/k", compute()).await.expect("again"), 1);
        assert_eq!(
            answers
                .get(&h.db, "/other", compute())
                .await
                .expect("other"),
            2
        );
        insert(&ctx, &bans(10, 1, "sshd")).await;
        assert_eq!(answers.get(&h.db, "/k", compute()).await.expect("after"), 3);
        let failing = answers
            .get(&h.db, "/fails", async {
                runs.fetch_add(1, Ordering::SeqCst);
                Err::<usize, _>(ApiError::new(ErrorCode::InvalidRange, "no"))
            })
            .await;
        assert!(failing.is_err());
        assert_eq!(
            answers
                .get(&h.db, "/fails", compute())
                .await
                .expect("retried"),
            5
        );
        let off = Answers::new(false);
        off.get(&h.db, "/k", compute()).await.expect("off");
        off.get(&h.db, "/k", compute()).await.expect("off");
        assert_eq!(
            runs.load(Ordering::SeqCst),
            7,
            "{backend:?}: disabled computes each time"
        );
        h.stop().await;
    }
}
