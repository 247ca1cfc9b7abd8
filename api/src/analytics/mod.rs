//! The history archive as the API reads it: filters, counts (from the rollups), lists,
//! repeat offenders, an IP's timeline and cached geo answers. The HTTP surface is in
//! `routes::dashboard` and `routes::history`.

pub mod query;
pub mod range;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use poem_openapi::Object;
use sea_orm::{ConnectionTrait, DbErr, QueryResult, TransactionSession, TransactionTrait};
use shared::archive::{IP_WEEK_SQL, ban_span, ip_key, ip_weeks_condition};
use shared::countries::country_name;
use shared::db;
use shared::domain::{BanState, GeoSource, Origin};

use self::query::{Filters, STATE_SQL, Sql};
use crate::time::from_epoch_ms;

/// The furthest a list may be paged (offset): deeper pages get slower for nobody's
/// benefit; narrow the filters or flip the sort instead.
pub const MAX_OFFSET: u64 = 10_000;
/// When the rollups cannot count a list (an IP search, a state), its total is counted
/// from the events up to nine pages past the one asked for, at least this many and at
/// most [`MAX_OFFSET`]: every page that can be asked for stays reachable, and a first page
/// never reads more than this many rows to count (a state filter reads each row: 10 000
/// took 120 ms on PostgreSQL at 10 M events).
pub const COUNT_FLOOR: i64 = 1_000;

fn count_cap(page: u32, page_size: u32) -> i64 {
    let depth = i64::from(page) * i64::from(page_size) + 9 * i64::from(page_size);
    depth.clamp(COUNT_FLOOR, i64::try_from(MAX_OFFSET).unwrap_or(i64::MAX))
}

/// One ban as the history shows it.
#[derive(Debug, Clone, Object)]
pub struct BanRecord {
    pub id: i64,
    /// When the ban started (UTC).
    pub at: DateTime<Utc>,
    /// The same time in the requested zone (`tz`), with its offset.
    pub at_local: String,
    pub ip: String,
    pub jail: String,
    pub origin: Origin,
    /// ISO 3166-1 alpha-2; null when unknown.
    pub country: Option<String>,
    pub country_name: Option<String>,
    pub asn: Option<i64>,
    pub asn_org: Option<String>,
    pub failures: Option<i32>,
    pub bancount: i32,
    /// Seconds; -1 permanent; null unknown.
    pub bantime_s: Option<i64>,
    /// `banned`: fail2ban holds it now.
    pub state: BanState,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_at_local: Option<String>,
}

#[derive(Debug, Clone, Object)]
pub struct BanRecordPage {
    pub items: Vec<BanRecord>,
    pub total: i64,
    /// False when `total` stopped counting (nine pages past this one, at least 1 000 rows,
    /// at most 10 000): there are at least that many; narrow the filters for an exact one.
    pub total_exact: bool,
    pub page: u32,
    pub page_size: u32,
}

const RECORD_COLUMNS: &str = "e.id, e.at_ms, e.ip, e.jail, e.origin, e.country, e.asn, \
    a.org AS asn_org, e.failures, e.bancount, e.bantime_s, e.ended_at_ms";

fn record(r: &QueryResult, tz: Tz) -> Result<BanRecord, DbErr> {
    let at_ms: i64 = r.try_get("", "at_ms")?;
    let ended: Option<i64> = r.try_get("", "ended_at_ms")?;
    let country: Option<String> = r.try_get("", "country")?;
    Ok(BanRecord {
        id: r.try_get("", "id")?,
        at: from_epoch_ms(at_ms),
        at_local: range::local(at_ms, tz),
        ip: r.try_get("", "ip")?,
        jail: r.try_get("", "jail")?,
        origin: r.try_get("", "origin")?,
        country_name: country.as_deref().and_then(country_name).map(str::to_owned),
        country,
        asn: r.try_get("", "asn")?,
        asn_org: r.try_get("", "asn_org")?,
        failures: r.try_get("", "failures")?,
        bancount: r.try_get("", "bancount")?,
        bantime_s: r.try_get("", "bantime_s")?,
        state: r.try_get("", "state")?,
        ended_at: ended.map(from_epoch_ms),
        ended_at_local: ended.map(|t| range::local(t, tz)),
    })
}

/// Newest (or oldest) first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    NewestFirst,
    OldestFirst,
}

/// A page of bans under `f`.
pub async fn list<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    f: &Filters,
    sort: Sort,
    page: u32,
    page_size: u32,
    tz: Tz,
) -> Result<BanRecordPage, DbErr> {
    let (total, total_exact) = query::total(db, f, count_cap(page, page_size)).await?;
    let items = rows(db, f, sort, page, page_size, tz).await?;
    Ok(BanRecordPage {
        items,
        total,
        total_exact,
        page,
        page_size,
    })
}

/// The rows of one page, without a total.
pub async fn rows<C: ConnectionTrait>(
    db: &C,
    f: &Filters,
    sort: Sort,
    page: u32,
    page_size: u32,
    tz: Tz,
) -> Result<Vec<BanRecord>, DbErr> {
    let sql = rows_sql(f, sort, page, page_size);
    db::query_all(db, &sql.text, sql.values)
        .await?
        .iter()
        .map(|r| record(r, tz))
        .collect()
}

/// The query [`rows`] runs (public so benchmarks can show its plan).
pub fn rows_sql(f: &Filters, sort: Sort, page: u32, page_size: u32) -> Sql {
    let mut sql = Sql::default();
    let conds = f.raw_conditions(&mut sql);
    let (lo, hi) = (sql.arg(f.from_ms), sql.arg(f.to_ms));
    let dir = match sort {
        Sort::NewestFirst => "DESC",
        Sort::OldestFirst => "ASC",
    };
    let offset = u64::from(page.saturating_sub(1)) * u64::from(page_size);
    // One IP's bans come out of the week-first IP index in (week, time) order, which is
    // time order: saying so spares sorting them all.
    let week = match &f.ip {
        Some(ip) if ip.is_single() => format!("{IP_WEEK_SQL} {dir}, "),
        _ => String::new(),
    };
    // The page's ids first (an index walk), then the columns, the ASN name and the state
    // for those rows only: PostgreSQL would compute them for every skipped row too.
    sql.text = format!(
        "SELECT {RECORD_COLUMNS}, {STATE_SQL} AS state FROM (SELECT e.id FROM ban_events e{} \
         WHERE {conds} AND {at} >= {lo} AND {at} < {hi} \
         ORDER BY {week}e.at_ms {dir}, e.id {dir} LIMIT {page_size} OFFSET {offset}) p \
         JOIN ban_events e ON e.id = p.id LEFT JOIN asn_names a ON a.asn = e.asn \
         ORDER BY e.at_ms {dir}, e.id {dir}",
        f.table_hint(),
        at = f.at_col()
    );
    sql
}

/// One repeat offender.
#[derive(Debug, Clone, Object)]
pub struct Offender {
    pub ip: String,
    /// Bans in the range (under the filters).
    pub bans: i64,
    pub last_at: DateTime<Utc>,
    pub last_at_local: String,
    /// The jails that banned it in the weeks the range touches.
    pub jails: Vec<String>,
    pub country: Option<String>,
    pub country_name: Option<String>,
    pub asn: Option<i64>,
    pub asn_org: Option<String>,
}

#[derive(Debug, Clone, Object)]
pub struct OffenderList {
    pub items: Vec<Offender>,
    /// `raw` (counted from the events in range), `ip_weeks` (candidates walked from the
    /// top of each week the range touches) or `ip_totals` (candidates walked by their
    /// all-time count), both under the jail/origin filter; the walks stop once no further
    /// IP can make the list.
    pub plan: String,
}

/// Ranges with fewer bans than this are grouped directly; above, candidates are walked
/// from `ip_weeks` or `ip_totals`.
pub const OFFENDERS_RAW_LIMIT: i64 = 20_000;
/// Ranges touching at most this many weeks walk the weekly lists; longer ones the
/// all-time list.
const WEEK_LISTS: usize = 10;
const CANDIDATE_PAGE: usize = 400;
const MAX_CANDIDATE_PAGES: usize = 50;

struct Tally {
    ip: String,
    bans: i64,
}

/// Runs a query of `ip` and `n` columns.
/// Stands for the rollup mark in tally SQL; [`tallies`] puts the mark in as a number.
const MARK: &str = "{rollup_mark}";

async fn tallies<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    text: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<Tally>, DbErr> {
    // One snapshot for the mark and the per-IP tables, so events the rollup job folds in
    // between are neither missed nor counted twice. The mark goes in as a literal: even a
    // prepared statement's generic plan then sees that "ids above it" are few (with the
    // mark as a sub-select it walked the whole time range, 2 s for 365 days at 10 M).
    let txn = query::read_snapshot(db).await?;
    let text = text.replace(MARK, &query::rollup_mark(&txn).await?.to_string());
    let rows = db::query_all(&txn, &text, values).await?;
    txn.commit().await?;
    rows.iter()
        .map(|r| {
            Ok(Tally {
                ip: r.try_get("", "ip")?,
                bans: r.try_get("", "n")?,
            })
        })
        .collect()
}

fn order(t: &mut [Tally]) {
    t.sort_by(|a, b| b.bans.cmp(&a.bans).then_with(|| a.ip.cmp(&b.ip)));
}

async fn tally_rows<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    f: &Filters,
    extra: &str,
    mut sql: Sql,
    min_bans: i64,
) -> Result<Vec<Tally>, DbErr> {
    let conds = f.raw_conditions(&mut sql);
    let (lo, hi) = (sql.arg(f.from_ms), sql.arg(f.to_ms));
    let min = sql.arg(min_bans);
    let text = format!(
        "SELECT e.ip, COUNT(*) AS n FROM ban_events e{} \
         WHERE {conds} AND {at} >= {lo} AND {at} < {hi}{extra} GROUP BY e.ip \
         HAVING COUNT(*) >= {min}",
        f.table_hint(),
        at = f.at_col()
    );
    tallies(db, &text, sql.values).await
}

/// Placeholders for the per-IP tables' `jail` and `origin` under `f` (`'*'`: any).
fn ip_filter_args(sql: &mut Sql, f: &Filters) -> (String, String) {
    use shared::archive::ip_filter_key;
    (
        sql.arg(ip_filter_key(f.jail.as_deref())),
        sql.arg(ip_filter_key(f.origin.map(Origin::as_str))),
    )
}

/// Range counts of candidate IPs. With only origin/jail filters, whole weeks come from
/// `ip_weeks` and only the range's edges (and events not rolled up yet) from the events.
async fn tally_candidates<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    f: &Filters,
    ips: &[String],
    min_bans: i64,
) -> Result<Vec<Tally>, DbErr> {
    let addrs: Vec<std::net::IpAddr> = ips.iter().filter_map(|ip| ip.parse().ok()).collect();
    if addrs.is_empty() {
        return Ok(Vec::new());
    }
    let weekly = f.country.is_none() && f.asn.is_none() && f.ip.is_none() && f.state.is_none();
    if !weekly {
        let mut sql = Sql::default();
        let keys: Vec<String> = addrs.iter().map(|a| sql.arg(ip_key(*a).to_vec())).collect();
        let extra = format!(
            " AND {} AND e.ip_bin IN ({})",
            ip_weeks_condition(f.from_ms, f.to_ms, f.span),
            keys.join(", ")
        );
        return tally_rows(db, f, &extra, sql, min_bans).await;
    }
    let mut sql = Sql::default();
    let mut parts = Vec::new();
    let span = week_span(f.from_ms, f.to_ms);
    // Bans of the candidates in [from, to) among the events of `ids` ("all", "rolled": at
    // or below the rollup mark, "fresh": above it), added (`sign` 1) or taken away (-1).
    let raw = |sql: &mut Sql, from: i64, to: i64, ids: Ids, sign: i8| {
        if from >= to {
            return None;
        }
        let conds = f.raw_conditions(sql);
        let keys: Vec<String> = addrs.iter().map(|a| sql.arg(ip_key(*a).to_vec())).collect();
        let (lo, hi) = (sql.arg(from), sql.arg(to));
        // Events above the rollup mark are few: read by row id, not through the IP index.
        let (hint, weeks, extra) = match ids {
            Ids::All => ("", ip_weeks_condition(from, to, f.span), String::new()),
            Ids::Rolled => (
                "",
                ip_weeks_condition(from, to, f.span),
                format!(" AND e.id <= {MARK}"),
            ),
            Ids::Fresh => (
                "{by_rowid}",
                "1 = 1".to_owned(),
                format!(" AND e.id > {MARK}"),
            ),
        };
        Some(format!(
            "SELECT e.ip AS ip, {sign} * COUNT(*) AS n FROM ban_events e{hint} WHERE {conds} \
             AND {weeks} AND e.ip_bin IN ({}) AND e.at_ms >= {lo} AND e.at_ms < {hi}{extra} \
             GROUP BY e.ip",
            keys.join(", ")
        ))
    };
    // Outside the weeks: counted directly.
    parts.extend(raw(
        &mut sql,
        f.from_ms,
        span.from.min(f.to_ms),
        Ids::All,
        1,
    ));
    parts.extend(raw(&mut sql, span.to.max(f.from_ms), f.to_ms, Ids::All, 1));
    if span.from < span.to {
        let list: Vec<String> = ips.iter().map(|ip| sql.arg(ip.clone())).collect();
        let (lo, hi) = (sql.arg(span.from), sql.arg(span.to));
        let (jail, origin) = ip_filter_args(&mut sql, f);
        parts.push(format!(
            "SELECT w.ip AS ip, w.bans AS n FROM ip_weeks w WHERE w.ip IN ({}) \
             AND w.week_ms >= {lo} AND w.week_ms < {hi} AND w.jail = {jail} AND w.origin = {origin}",
            list.join(", ")
        ));
        // The parts of edge weeks outside the range, and events not rolled up yet.
        parts.extend(raw(&mut sql, span.from, f.from_ms, Ids::Rolled, -1));
        parts.extend(raw(&mut sql, f.to_ms, span.to, Ids::Rolled, -1));
        parts.extend(raw(
            &mut sql,
            span.from.max(f.from_ms),
            span.to.min(f.to_ms),
            Ids::Fresh,
            1,
        ));
    }
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let min = sql.arg(min_bans);
    let text = format!(
        "SELECT ip, CAST(SUM(n) AS BIGINT) AS n FROM ({}) t GROUP BY ip HAVING SUM(n) >= {min}",
        parts.join(" UNION ALL ")
    );
    tallies(db, &text, sql.values).await
}

/// Which events a raw count reads, relative to the rollup mark.
#[derive(Clone, Copy)]
enum Ids {
    All,
    Rolled,
    Fresh,
}

/// The whole weeks whose `ip_weeks` rows count a range `[from, to)`. An edge week the
/// range covers more than half of is taken whole and its uncovered part subtracted from
/// the events, one covered less than half is counted from the events: either way an edge
/// reads at most half a week of events. Empty (`from == to`) when the range is better
/// counted from the events alone.
fn week_span(from: i64, to: i64) -> query::Piece {
    let week = shared::archive::Grain::Week;
    let size = week.size_ms();
    let span = |from, to| query::Piece {
        grain: Some(week),
        from,
        to,
    };
    let (first, last) = (week.floor(from), week.floor(to));
    if first == last {
        // Within one week: whole minus both ends, or only the range itself.
        return if to - from > size / 2 {
            span(first, first + size)
        } else {
            span(from, from)
        };
    }
    let nearest = |t: i64, floor: i64| {
        if t - floor <= size / 2 {
            floor
        } else {
            floor + size
        }
    };
    span(nearest(from, first), nearest(to, last))
}

/// The IPs banned most often under `f` (at least `min_bans` times), most first.
///
/// Small ranges are grouped directly. Ranges of a few weeks walk the weekly lists of
/// `ip_weeks`; longer ones walk `ip_totals` (bans per IP over the whole archive, an upper
/// bound of any range's count) from the top. Both read the rows of the jail/origin
/// filter (`'*'` rows without one), count each candidate's bans in range (from
/// `ip_weeks` for whole weeks), and stop once no candidate further down can beat the
/// current `limit`-th place. Events the rollup job has not reached yet are in neither
/// table, so their IPs are always candidates too.
pub async fn repeat_offenders<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    f: &Filters,
    min_bans: i64,
    limit: u32,
    tz: Tz,
    raw_limit: i64,
) -> Result<OffenderList, DbErr> {
    // The candidates' bans are read through the week-first IP index: its weeks.
    let f = &Filters {
        span: match f.span {
            Some(span) => Some(span),
            None => ban_span(db).await?,
        },
        ..f.clone()
    };
    // Grouping directly reads every ban of the range that the indexes cannot skip;
    // origin has no index (see the query plan), so its rows count as read.
    let scanned = Filters {
        origin: None,
        ..f.clone()
    };
    let (estimate, _) = query::total(db, &scanned, raw_limit).await?;
    let week = shared::archive::Grain::Week;
    let weeks: Vec<i64> = (0..)
        .map(|i| week.floor(f.from_ms) + i * week.size_ms())
        .take_while(|w| *w < f.to_ms)
        .take(WEEK_LISTS + 1)
        .collect();
    let (mut top, plan) = if estimate < raw_limit || f.ip.is_some() {
        (
            tally_rows(db, f, "", Sql::default(), min_bans).await?,
            "raw",
        )
    } else if weeks.len() <= WEEK_LISTS {
        (
            walk_weeks(db, f, &weeks, min_bans, limit).await?,
            "ip_weeks",
        )
    } else {
        (walk_candidates(db, f, min_bans, limit).await?, "ip_totals")
    };
    order(&mut top);
    top.truncate(limit as usize);
    Ok(OffenderList {
        items: describe_offenders(db, f, top, tz).await?,
        plan: plan.into(),
    })
}

/// Candidates for ranges of a few weeks: the IPs of each touched week from the top of
/// its `ip_weeks` list under the filter (Fagin's threshold algorithm: an IP not seen yet has at most the
/// sum of the weeks' current positions, so once the current last place reaches that sum,
/// nobody else can enter the list).
async fn walk_weeks<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    f: &Filters,
    weeks: &[i64],
    min_bans: i64,
    limit: u32,
) -> Result<Vec<Tally>, DbErr> {
    let limit = limit as usize;
    let page_size = (limit * 3).max(60);
    let mut best: Vec<Tally> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut batch = fresh_ips(db).await?;
    // Per week: the last (bans, ip) read, and whether the list is used up.
    let mut cursors: Vec<(Option<(i64, String)>, bool)> = vec![(None, false); weeks.len()];
    for _ in 0..=MAX_CANDIDATE_PAGES {
        let mut bound = 0;
        for (w, cursor) in weeks.iter().zip(cursors.iter_mut()) {
            if cursor.1 {
                continue;
            }
            let mut sql = Sql::default();
            let week = sql.arg(*w);
            let keyset = after_clause(&mut sql, cursor.0.as_ref());
            let (jail, origin) = ip_filter_args(&mut sql, f);
            let rows = db::query_all(
                db,
                &format!(
                    "SELECT ip, bans FROM ip_weeks WHERE week_ms = {week} AND jail = {jail} \
                     AND origin = {origin}{keyset} ORDER BY bans DESC, ip DESC LIMIT {page_size}"
                ),
                sql.values,
            )
            .await?;
            cursor.1 = rows.len() < page_size;
            for r in &rows {
                let ip: String = r.try_get("", "ip")?;
                let bans: i64 = r.try_get("", "bans")?;
                cursor.0 = Some((bans, ip.clone()));
                batch.push(ip);
            }
            if !cursor.1 {
                bound += cursor.0.as_ref().map_or(0, |c| c.0);
            }
        }
        batch.retain(|ip| seen.insert(ip.clone()));
        for chunk in batch.chunks(CANDIDATE_PAGE) {
            best.extend(tally_candidates(db, f, chunk, min_bans).await?);
        }
        batch.clear();
        order(&mut best);
        best.truncate(limit);
        let exhausted = cursors.iter().all(|c| c.1);
        if exhausted
            || bound < min_bans
            || (best.len() == limit && best.last().is_some_and(|t| t.bans >= bound))
        {
            break;
        }
    }
    Ok(best)
}

/// The keyset condition that continues a `bans DESC, ip DESC` list after `(bans, ip)`
/// (both keys descending, so the `(…, bans, ip)` indexes are walked backwards, unsorted).
fn after_clause(sql: &mut Sql, after: Option<&(i64, String)>) -> String {
    match after {
        Some((bans, ip)) => {
            let (b, i) = (sql.arg(*bans), sql.arg(ip.clone()));
            format!(" AND (bans < {b} OR (bans = {b} AND ip < {i}))")
        }
        None => String::new(),
    }
}

/// IPs of events the rollup job has not reached yet (in no per-IP table so far).
async fn fresh_ips<C: ConnectionTrait>(db: &C) -> Result<Vec<String>, DbErr> {
    let hwm = query::rollup_mark(db).await?;
    db::query_all(
        db,
        "SELECT DISTINCT ip FROM ban_events{by_rowid} WHERE kind = 'ban' AND id > $1",
        [hwm.into()],
    )
    .await?
    .iter()
    .map(|r| r.try_get("", "ip"))
    .collect()
}

async fn walk_candidates<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    f: &Filters,
    min_bans: i64,
    limit: u32,
) -> Result<Vec<Tally>, DbErr> {
    let limit = limit as usize;
    let page_size = (limit * 2).max(40);
    let mut best: Vec<Tally> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut batch = fresh_ips(db).await?;
    let mut after: Option<(i64, String)> = None;
    for page in 0..=MAX_CANDIDATE_PAGES {
        let mut bound = i64::MAX;
        if page > 0 {
            let mut sql = Sql::default();
            let (jail, origin) = ip_filter_args(&mut sql, f);
            let min = sql.arg(min_bans);
            let keyset = after_clause(&mut sql, after.as_ref());
            let rows = db::query_all(
                db,
                &format!(
                    "SELECT ip, bans FROM ip_totals WHERE jail = {jail} AND origin = {origin} \
                     AND bans >= {min}{keyset} ORDER BY bans DESC, ip DESC LIMIT {page_size}"
                ),
                sql.values,
            )
            .await?;
            if rows.is_empty() {
                break;
            }
            batch = Vec::with_capacity(rows.len());
            for r in &rows {
                let ip: String = r.try_get("", "ip")?;
                let bans: i64 = r.try_get("", "bans")?;
                bound = bans;
                after = Some((bans, ip.clone()));
                batch.push(ip);
            }
        }
        batch.retain(|ip| seen.insert(ip.clone()));
        for chunk in batch.chunks(CANDIDATE_PAGE) {
            best.extend(tally_candidates(db, f, chunk, min_bans).await?);
        }
        order(&mut best);
        best.truncate(limit);
        // Nobody further down can reach the current last place.
        if best.len() == limit && best.last().is_some_and(|t| t.bans >= bound) {
            break;
        }
    }
    Ok(best)
}

/// The list's details in three queries, whatever its length: each IP's last ban in range
/// (an index probe per IP), the jails of the weeks the range touches (an index probe per
/// IP and jail), and what the geo cache knows.
async fn describe_offenders<C: ConnectionTrait>(
    db: &C,
    f: &Filters,
    top: Vec<Tally>,
    tz: Tz,
) -> Result<Vec<Offender>, DbErr> {
    if top.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::default();
    let (lo, hi) = (sql.arg(f.from_ms), sql.arg(f.to_ms));
    // Newest first by week, then time: the index's own order, so each probe stops at
    // the first row it finds.
    let weeks = ip_weeks_condition(f.from_ms, f.to_ms, f.span);
    let probes: Vec<String> = top
        .iter()
        .map(|t| {
            let key = t.ip.parse().map(|a| ip_key(a).to_vec()).unwrap_or_default();
            let (ip, k) = (sql.arg(t.ip.clone()), sql.arg(key));
            format!(
                "SELECT {ip} AS ip, (SELECT e.at_ms FROM ban_events e WHERE e.kind = 'ban' \
                 AND {weeks} AND e.ip_bin = {k} AND e.at_ms >= {lo} AND e.at_ms < {hi} \
                 ORDER BY {IP_WEEK_SQL} DESC, e.at_ms DESC LIMIT 1) AS at_ms"
            )
        })
        .collect();
    let mut last: HashMap<String, i64> = HashMap::new();
    for r in db::query_all(db, &probes.join(" UNION ALL "), sql.values).await? {
        if let Some(at) = r.try_get::<Option<i64>>("", "at_ms")? {
            last.insert(r.try_get("", "ip")?, at);
        }
    }
    let mut sql = Sql::default();
    let list: Vec<String> = top.iter().map(|t| sql.arg(t.ip.clone())).collect();
    let (lo, hi) = (
        sql.arg(shared::archive::Grain::Week.floor(f.from_ms)),
        sql.arg(f.to_ms),
    );
    let origin = sql.arg(shared::archive::ip_filter_key(f.origin.map(Origin::as_str)));
    let mut jails: HashMap<String, Vec<String>> = HashMap::new();
    for r in db::query_all(
        db,
        // The IP's jails from `ip_totals`, each checked for a week in range by one seek
        // into `ip_weeks`: reading the IP's `ip_weeks` rows instead meant every jail,
        // origin and week of it (10 000 rows for a busy IP at 10 M events).
        &format!(
            "SELECT t.ip, t.jail FROM ip_totals t WHERE t.ip IN ({}) AND t.jail <> '*' \
             AND t.origin = {origin} AND t.bans > 0 AND EXISTS (SELECT 1 FROM ip_weeks w \
             WHERE w.ip = t.ip AND w.jail = t.jail AND w.origin = t.origin \
             AND w.week_ms >= {lo} AND w.week_ms < {hi} AND w.bans > 0) ORDER BY t.ip, t.jail",
            list.join(", ")
        ),
        sql.values,
    )
    .await?
    {
        jails
            .entry(r.try_get("", "ip")?)
            .or_default()
            .push(r.try_get("", "jail")?);
    }
    let ips: Vec<&str> = top.iter().map(|t| t.ip.as_str()).collect();
    let mut geo = geo_of_many(db, &ips).await?;
    Ok(top
        .into_iter()
        .map(|t| {
            let last_ms = last.get(&t.ip).copied().unwrap_or(0);
            let g = geo.remove(&t.ip);
            Offender {
                last_at: from_epoch_ms(last_ms),
                last_at_local: range::local(last_ms, tz),
                jails: jails.remove(&t.ip).unwrap_or_default(),
                country_name: g.as_ref().and_then(|g| g.country_name.clone()),
                country: g.as_ref().and_then(|g| g.country.clone()),
                asn: g.as_ref().and_then(|g| g.asn),
                asn_org: g.and_then(|g| g.asn_org),
                ip: t.ip,
                bans: t.bans,
            }
        })
        .collect())
}

/// What the scheduler found out about an IP.
#[derive(Debug, Clone, Object)]
pub struct GeoView {
    pub ip: String,
    pub country: Option<String>,
    pub country_name: Option<String>,
    pub asn: Option<i64>,
    pub asn_org: Option<String>,
    pub source: GeoSource,
    pub resolved_at: DateTime<Utc>,
}

pub async fn geo_of<C: ConnectionTrait>(db: &C, ip: &str) -> Result<Option<GeoView>, DbErr> {
    Ok(geo_of_many(db, &[ip]).await?.remove(ip))
}

/// What the geo cache knows about each of `ips` (IPs it does not know are left out).
async fn geo_of_many<C: ConnectionTrait>(
    db: &C,
    ips: &[&str],
) -> Result<HashMap<String, GeoView>, DbErr> {
    let mut sql = Sql::default();
    let list: Vec<String> = ips.iter().map(|ip| sql.arg((*ip).to_owned())).collect();
    let rows = db::query_all(
        db,
        &format!(
            "SELECT ip, country, asn, asn_org, source, resolved_at_ms FROM geo_cache WHERE ip IN ({})",
            list.join(", ")
        ),
        sql.values,
    )
    .await?;
    rows.iter()
        .map(|r| {
            let country: Option<String> = r.try_get("", "country")?;
            let ip: String = r.try_get("", "ip")?;
            Ok((
                ip.clone(),
                GeoView {
                    ip,
                    country_name: country.as_deref().and_then(country_name).map(str::to_owned),
                    country,
                    asn: r.try_get("", "asn")?,
                    asn_org: r.try_get("", "asn_org")?,
                    source: r.try_get("", "source")?,
                    resolved_at: from_epoch_ms(r.try_get("", "resolved_at_ms")?),
                },
            ))
        })
        .collect()
}

/// One ban in an IP's timeline.
#[derive(Debug, Object)]
pub struct TimelineBan {
    pub jail: String,
    pub start: DateTime<Utc>,
    pub start_local: String,
    /// The ban time fail2ban gave (seconds; -1 permanent).
    pub bantime_s: Option<i64>,
    pub state: BanState,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_at_local: Option<String>,
    /// How long the ban lasted (to its end, or until now while it holds), seconds.
    pub lasted_s: Option<i64>,
    pub origin: Origin,
    /// Who made the ban through BanGUI (a user or API token); null for fail2ban's own.
    pub by: Option<String>,
    /// Who lifted it through BanGUI; null while it holds, when it expired, or when it was
    /// unbanned outside BanGUI.
    pub ended_by: Option<String>,
    /// The command that made the ban (manual and blocklist bans).
    pub command_id: Option<i64>,
    /// The request that queued that command (find it in the audit log and the logs).
    pub request_id: Option<String>,
    /// The command that lifted it, and its request.
    pub ended_command_id: Option<i64>,
    pub ended_request_id: Option<String>,
    pub failures: Option<i32>,
    pub bancount: i32,
    /// The log lines that led to the ban.
    pub matches: Vec<String>,
}

#[derive(Debug, Object)]
pub struct IpTimeline {
    pub ip: String,
    pub geo: Option<GeoView>,
    /// Jails holding the IP now (from the latest snapshot).
    pub banned_in: Vec<String>,
    pub total_bans: i64,
    pub total_failures: i64,
    pub total_matches: i64,
    pub first_at: Option<DateTime<Utc>>,
    pub last_at: Option<DateTime<Utc>>,
    /// Newest first, at most `limit`.
    pub bans: Vec<TimelineBan>,
}

/// The matched lines of a ban row's packed `matches_z` (fail2ban's JSON array), one
/// string a line.
fn flatten_matches(packed: Option<Vec<u8>>) -> Vec<String> {
    let raw = packed.and_then(|z| shared::archive::unpack_matches(&z));
    let Some(v) = raw.and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()) else {
        return Vec::new();
    };
    let line = |x: &serde_json::Value| match x {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(parts) => parts
            .iter()
            .filter_map(serde_json::Value::as_str)
            .collect::<String>()
            .trim()
            .to_owned(),
        other => other.to_string(),
    };
    v.as_array()
        .map(|a| a.iter().map(line).collect())
        .unwrap_or_default()
}

/// An IP's whole story; `None` when BanGUI never saw it.
pub async fn timeline<C: ConnectionTrait>(
    db: &C,
    ip: std::net::IpAddr,
    limit: u32,
    tz: Tz,
) -> Result<Option<IpTimeline>, DbErr> {
    let text = ip.to_string();
    let key = ip_key(ip).to_vec();
    // Totals from ip_stats plus the IP's events the rollup job has not reached yet;
    // first and last from the two ends of the IP's index range. However often an IP was
    // banned, this reads a handful of rows.
    // Every week of the archive, walked in the IP index's own order (week, time).
    let weeks = ip_weeks_condition(i64::MIN, i64::MAX, ban_span(db).await?);
    let totals = db::query_one(
        db,
        &format!(
            "SELECT CAST(COALESCE(s.bans, 0) + u.n AS BIGINT) AS n, \
             CAST(COALESCE(s.failures, 0) + COALESCE(u.failures, 0) AS BIGINT) AS failures, \
             CAST(COALESCE(s.matches, 0) + COALESCE(u.matches, 0) AS BIGINT) AS matches, \
             (SELECT e.at_ms FROM ban_events e WHERE e.kind = 'ban' AND {weeks} AND e.ip_bin = $2 \
             ORDER BY {IP_WEEK_SQL}, e.at_ms LIMIT 1) AS first_ms, \
             (SELECT e.at_ms FROM ban_events e WHERE e.kind = 'ban' AND {weeks} AND e.ip_bin = $2 \
             ORDER BY {IP_WEEK_SQL} DESC, e.at_ms DESC LIMIT 1) AS last_ms \
             FROM (SELECT COUNT(*) AS n, SUM(COALESCE(e.failures, 0)) AS failures, \
             SUM(COALESCE(e.match_count, 0)) AS matches FROM ban_events e WHERE e.kind = 'ban' \
             AND {weeks} AND e.ip_bin = $2 AND e.ip = $1 AND {{unindexed}}e.id > $3) u \
             LEFT JOIN ip_stats s ON s.ip = $1"
        ),
        [
            text.clone().into(),
            key.clone().into(),
            query::rollup_mark(db).await?.into(),
        ],
    )
    .await?;
    let banned_in: Vec<String> = db::query_all(
        db,
        "SELECT jail FROM f2b_bans WHERE ip = $1 ORDER BY jail",
        [text.clone().into()],
    )
    .await?
    .iter()
    .map(|r| r.try_get("", "jail"))
    .collect::<Result<_, _>>()?;
    let (n, failures, matches, first, last) = match totals {
        Some(r) => (
            r.try_get::<i64>("", "n")?,
            r.try_get::<Option<i64>>("", "failures")?.unwrap_or(0),
            r.try_get::<Option<i64>>("", "matches")?.unwrap_or(0),
            r.try_get::<Option<i64>>("", "first_ms")?,
            r.try_get::<Option<i64>>("", "last_ms")?,
        ),
        None => (0, 0, 0, None, None),
    };
    if n == 0 && banned_in.is_empty() {
        return Ok(None);
    }
    let now = db::db_now_ms(db).await?;
    let rows = db::query_all(
        db,
        &format!(
            "SELECT e.jail, e.at_ms, e.bantime_s, e.ended_at_ms, e.origin, e.failures, e.bancount, \
             e.matches_z, e.actor, e.command_id, (SELECT u.actor FROM ban_events u WHERE e.end_kind = 'unban' \
             AND u.banned_at_ms = e.banned_at_ms AND u.jail = e.jail AND u.ip = e.ip \
             AND u.kind = 'unban' LIMIT 1) AS ended_by, \
             (SELECT u.command_id FROM ban_events u WHERE e.end_kind = 'unban' \
             AND u.banned_at_ms = e.banned_at_ms AND u.jail = e.jail AND u.ip = e.ip \
             AND u.kind = 'unban' LIMIT 1) AS ended_command_id, \
             {STATE_SQL} AS state FROM ban_events e WHERE e.kind = 'ban' AND {weeks} \
             AND e.ip_bin = $1 ORDER BY {IP_WEEK_SQL} DESC, e.at_ms DESC, e.id DESC LIMIT {limit}"
        ),
        [key.into()],
    )
    .await?;
    let mut commands: Vec<i64> = Vec::new();
    for r in &rows {
        commands.extend(r.try_get::<Option<i64>>("", "command_id")?);
        commands.extend(r.try_get::<Option<i64>>("", "ended_command_id")?);
    }
    let requests = request_ids(db, &commands).await?;
    let request_of = |c: Option<i64>| c.and_then(|c| requests.get(&c).cloned());
    let mut bans = Vec::with_capacity(rows.len());
    for r in rows {
        let start: i64 = r.try_get("", "at_ms")?;
        let command_id: Option<i64> = r.try_get("", "command_id")?;
        let ended_command_id: Option<i64> = r.try_get("", "ended_command_id")?;
        let ended: Option<i64> = r.try_get("", "ended_at_ms")?;
        let bantime: Option<i64> = r.try_get("", "bantime_s")?;
        let state: BanState = r.try_get("", "state")?;
        let lasted_ms = match (ended, state, bantime) {
            (Some(end), _, _) => Some(end - start),
            (None, BanState::Banned, _) => Some(now - start),
            (None, _, Some(b)) if b >= 0 => Some(b * 1000),
            _ => None,
        };
        bans.push(TimelineBan {
            jail: r.try_get("", "jail")?,
            start: from_epoch_ms(start),
            start_local: range::local(start, tz),
            bantime_s: bantime,
            state,
            ended_at: ended.map(from_epoch_ms),
            ended_at_local: ended.map(|t| range::local(t, tz)),
            lasted_s: lasted_ms.map(|ms| ms.max(0) / 1000),
            origin: r.try_get("", "origin")?,
            by: r.try_get("", "actor")?,
            ended_by: r.try_get("", "ended_by")?,
            command_id,
            request_id: request_of(command_id),
            ended_command_id,
            ended_request_id: request_of(ended_command_id),
            failures: r.try_get("", "failures")?,
            bancount: r.try_get("", "bancount")?,
            matches: flatten_matches(r.try_get("", "matches_z")?),
        });
    }
    Ok(Some(IpTimeline {
        geo: geo_of(db, &text).await?,
        ip: text,
        banned_in,
        total_bans: n,
        total_failures: failures,
        total_matches: matches,
        first_at: first.map(from_epoch_ms),
        last_at: last.map(from_epoch_ms),
        bans,
    }))
}

/// `k -> v` for the rows of `select` (a query with a `{ids}` placeholder inside
/// `IN (…)`, returning columns `k` and `v`) over a set of numeric keys, 500 at a time.
async fn text_by_id<C: ConnectionTrait>(
    db: &C,
    select: &str,
    ids: &[i64],
) -> Result<HashMap<i64, String>, DbErr> {
    let mut out = HashMap::new();
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(500) {
        // Numbers only: the list is safe to write into the statement.
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        for r in db::query_all(db, &select.replace("{ids}", &list), []).await? {
            out.insert(r.try_get("", "k")?, r.try_get("", "v")?);
        }
    }
    Ok(out)
}

/// The request ids of commands, from the audit rows that queued them (kept as long as the
/// history, while command rows are kept for days).
async fn request_ids<C: ConnectionTrait>(
    db: &C,
    commands: &[i64],
) -> Result<HashMap<i64, String>, DbErr> {
    text_by_id(
        db,
        "SELECT command_id AS k, request_id AS v FROM audit_log \
         WHERE command_id IN ({ids}) AND request_id IS NOT NULL",
        commands,
    )
    .await
}

/// ASN organisation names for a set of ASNs.
pub async fn asn_orgs<C: ConnectionTrait>(
    db: &C,
    asns: &[i64],
) -> Result<HashMap<i64, String>, DbErr> {
    text_by_id(
        db,
        "SELECT asn AS k, org AS v FROM asn_names WHERE asn IN ({ids})",
        asns,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reach_nine_pages_ahead_within_bounds() {
        assert_eq!(count_cap(1, 50), COUNT_FLOOR);
        assert_eq!(count_cap(100, 50), 5_450);
        assert_eq!(count_cap(30, 500), 10_000);
        // Whatever page is asked for, the count reaches past it: Next stays usable.
        for (page, size) in [(1, 1), (19, 50), (150, 50), (20, 500)] {
            let end = i64::from(page) * i64::from(size);
            assert!(
                count_cap(page, size) > end || end >= 10_000,
                "{page} {size}"
            );
        }
    }

    #[test]
    fn edge_weeks_are_read_whole_only_when_mostly_covered() {
        let week = shared::archive::Grain::Week;
        let w = week.floor(1_764_547_200_000 + 3 * DAY);
        let size = week.size_ms();
        // Mostly covered at both ends: whole weeks, both ends subtracted.
        let s = week_span(w - size + DAY, w + size + 6 * DAY);
        assert_eq!((s.from, s.to), (w - size, w + 2 * size));
        // Barely covered at both ends: only the whole weeks between.
        let s = week_span(w - DAY, w + size + DAY);
        assert_eq!((s.from, s.to), (w, w + size));
        // One day within a week: counted from the events alone.
        let s = week_span(w + DAY, w + 2 * DAY);
        assert_eq!(s.from, s.to);
    }

    const DAY: i64 = 86_400_000;
}
