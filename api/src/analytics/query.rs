//! Answering history questions fast: counts come from the rollups where a covering
//! dimension set exists, with only the edges of the range (and events the rollup job has
//! not reached yet) counted from `ban_events`; lists walk the partial `(filter, at_ms)`
//! indexes in time order. The plan is written down in `Docs/performance.md`.

use sea_orm::{
    AccessMode, ConnectionTrait, DbErr, IsolationLevel, TransactionSession, TransactionTrait, Value,
};
use shared::archive::{ANY, Dims, Grain, IpRange, Needs, ip_weeks_condition};
use shared::db;
use shared::domain::{BanState, Origin};

/// A SQL text with numbered placeholders and their values.
#[derive(Default)]
pub struct Sql {
    pub text: String,
    pub values: Vec<Value>,
}

impl Sql {
    /// Adds a value and returns its placeholder.
    pub fn arg(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        format!("${}", self.values.len())
    }
}

/// The country filter: a code, or the IPs no data source placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountryFilter {
    Code(String),
    Unknown,
}

/// Every filter the history and dashboard endpoints accept, already validated.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub from_ms: i64,
    pub to_ms: i64,
    pub origin: Option<Origin>,
    pub jail: Option<String>,
    pub country: Option<CountryFilter>,
    /// 0: unknown ASN.
    pub asn: Option<i64>,
    pub ip: Option<IpRange>,
    pub state: Option<BanState>,
    /// The archive's oldest and newest ban (`shared::archive::ban_span`), loaded with an
    /// IP filter: the weeks the IP index is probed in.
    pub span: Option<(i64, i64)>,
}

/// Whether ban row `e` is the ban fail2ban holds now (a primary-key lookup).
const CURRENT_SQL: &str = "e.end_kind IS NULL AND EXISTS (SELECT 1 FROM f2b_bans b \
    WHERE b.jail = e.jail AND b.ip = e.ip AND b.banned_at_ms = e.banned_at_ms)";

/// The state of a ban row `e`: how it ended, or whether fail2ban still holds it.
pub const STATE_SQL: &str = "CASE WHEN e.end_kind = 'unban' THEN 'unbanned' \
    WHEN e.end_kind IS NULL AND EXISTS (SELECT 1 FROM f2b_bans b \
    WHERE b.jail = e.jail AND b.ip = e.ip AND b.banned_at_ms = e.banned_at_ms) THEN 'banned' \
    ELSE 'expired' END";

impl Filters {
    /// Conditions over ban rows `e` (time range excluded).
    pub fn raw_conditions(&self, sql: &mut Sql) -> String {
        let mut c = vec!["e.kind = 'ban'".to_owned()];
        if let Some(o) = &self.origin {
            c.push(format!("e.origin = {}", sql.arg(o.as_str().to_owned())));
        }
        if let Some(j) = &self.jail {
            c.push(format!("e.jail = {}", sql.arg(j.clone())));
        }
        match &self.country {
            Some(CountryFilter::Code(code)) => {
                c.push(format!("e.country = {}", sql.arg(code.clone())));
            }
            Some(CountryFilter::Unknown) => c.push("e.country IS NULL".into()),
            None => {}
        }
        match self.asn {
            Some(0) => c.push("e.asn IS NULL".into()),
            Some(a) => c.push(format!("e.asn = {}", sql.arg(a))),
            None => {}
        }
        if let Some(ip) = &self.ip {
            c.push(ip_weeks_condition(self.from_ms, self.to_ms, self.span));
            if ip.is_single() {
                c.push(format!("e.ip_bin = {}", sql.arg(ip.first.to_vec())));
            } else {
                let lo = sql.arg(ip.first.to_vec());
                let hi = sql.arg(ip.last.to_vec());
                c.push(format!("e.ip_bin >= {lo} AND e.ip_bin <= {hi}"));
            }
        }
        match self.state {
            Some(BanState::Unbanned) => c.push("e.end_kind = 'unban'".into()),
            // Driven from the (small) current-ban snapshot through the natural key.
            Some(BanState::Banned) => c.push(
                // CROSS JOIN: SQLite keeps the snapshot as the outer loop.
                "e.end_kind IS NULL AND e.id IN (SELECT x.id FROM f2b_bans b CROSS JOIN ban_events x \
                 WHERE x.jail = b.jail AND x.ip = b.ip AND x.banned_at_ms = b.banned_at_ms AND x.kind = 'ban')"
                    .into(),
            ),
            Some(BanState::Expired) => c.push(format!(
                "(e.end_kind = 'expire' OR (e.end_kind IS NULL AND NOT ({CURRENT_SQL})))"
            )),
            None => {}
        }
        c.join(" AND ")
    }

    /// The hint after `ban_events e`: with `state=banned` the rows are found through the
    /// current-ban snapshot (a handful of row ids), never by walking a time index.
    pub fn table_hint(&self) -> &'static str {
        if self.state == Some(BanState::Banned) {
            "{by_rowid}"
        } else {
            ""
        }
    }

    /// The time column for range conditions: with an IP search, kept from driving the
    /// query on SQLite, which stays on the week-first binary-IP index (a handful of IPs
    /// per week) instead of walking a long time range.
    pub fn at_col(&self) -> &'static str {
        if self.ip.is_some() {
            "{unindexed}e.at_ms"
        } else {
            "e.at_ms"
        }
    }

    /// Conditions over `ban_rollups` rows `r` of set `dims`.
    ///
    /// The table's key is `(dims, grain, jail, bucket_ms, …)` with no other index, so
    /// every piece names its jail before its time range: `'*'` in the sets without
    /// jails, the filter's jail, or else every jail the archive has (the jail set's
    /// coarsest rows, a few hundred), each a short range of the key.
    fn rollup_conditions(&self, sql: &mut Sql, dims: Dims) -> String {
        let mut c = Vec::new();
        if let Some(o) = &self.origin {
            c.push(format!("r.origin = {}", sql.arg(o.as_str().to_owned())));
        }
        match &self.jail {
            Some(j) => c.push(format!("r.jail = {}", sql.arg(j.clone()))),
            None if dims.has_jail() => c.push(format!(
                "r.jail IN (SELECT DISTINCT j.jail FROM ban_rollups j WHERE j.dims = '{}' AND j.grain = '{}')",
                Dims::Jail.code(),
                Grain::Weeks16.code()
            )),
            None => c.push(format!("r.jail = '{ANY}'")),
        }
        match &self.country {
            Some(CountryFilter::Code(code)) => {
                c.push(format!("r.country = {}", sql.arg(code.clone())));
            }
            Some(CountryFilter::Unknown) => c.push("r.country = ''".into()),
            None => {}
        }
        if let Some(a) = self.asn {
            c.push(format!("r.asn = {}", sql.arg(a)));
        }
        c.iter().map(|x| format!(" AND {x}")).collect()
    }

    fn needs(&self) -> Needs {
        Needs {
            origin: self.origin.is_some(),
            jail: self.jail.is_some(),
            country: self.country.is_some(),
            asn: self.asn.is_some(),
        }
    }

    /// Whether rollups can answer counts under these filters at all.
    fn rollup_friendly(&self) -> bool {
        self.ip.is_none() && self.state.is_none()
    }
}

/// What counts are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The index of the `size`-ms bucket counted from `start`.
    Bucket {
        start: i64,
        size: i64,
    },
    Origin,
    Jail,
    Country,
    Asn,
}

impl Key {
    fn raw(self) -> String {
        match self {
            Key::Bucket { start, size } => format!("((e.at_ms - {start}) / {size})"),
            Key::Origin => "e.origin".into(),
            Key::Jail => "e.jail".into(),
            Key::Country => "COALESCE(e.country, '')".into(),
            Key::Asn => "COALESCE(e.asn, 0)".into(),
        }
    }

    fn rollup(self) -> String {
        match self {
            Key::Bucket { start, size } => format!("((r.bucket_ms - {start}) / {size})"),
            Key::Origin => "r.origin".into(),
            Key::Jail => "r.jail".into(),
            Key::Country => "r.country".into(),
            Key::Asn => "r.asn".into(),
        }
    }

    fn is_text(self) -> bool {
        matches!(self, Key::Origin | Key::Jail | Key::Country)
    }
}

/// A value of a key column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyValue {
    Int(i64),
    Text(String),
}

impl KeyValue {
    pub fn int(&self) -> i64 {
        match self {
            KeyValue::Int(i) => *i,
            KeyValue::Text(_) => 0,
        }
    }

    pub fn text(&self) -> &str {
        match self {
            KeyValue::Text(t) => t,
            KeyValue::Int(_) => "",
        }
    }
}

/// A piece of a time range: counted from rollups of `grain`, or from raw events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub grain: Option<Grain>,
    pub from: i64,
    pub to: i64,
}

/// Splits `[from, to)` into the fewest pieces: whole buckets of the coarsest grains in
/// the middle, finer grains towards the edges, raw events for what is left over.
/// `grains` is finest first.
pub fn decompose(from: i64, to: i64, grains: &[Grain]) -> Vec<Piece> {
    let mut out = Vec::new();
    split(from, to, grains, &mut out);
    out
}

fn split(from: i64, to: i64, grains: &[Grain], out: &mut Vec<Piece>) {
    if from >= to {
        return;
    }
    let Some((&g, finer)) = grains.split_last() else {
        out.push(Piece {
            grain: None,
            from,
            to,
        });
        return;
    };
    let first = if g.is_aligned(from) {
        from
    } else {
        g.floor(from) + g.size_ms()
    };
    let last = g.floor(to);
    if first >= last {
        split(from, to, finer, out);
        return;
    }
    split(from, first, finer, out);
    out.push(Piece {
        grain: Some(g),
        from: first,
        to: last,
    });
    split(last, to, finer, out);
}

/// The grains whose buckets never straddle a `Key::Bucket` boundary.
fn usable_grains(keys: &[Key]) -> Vec<Grain> {
    Grain::ALL
        .into_iter()
        .filter(|g| {
            keys.iter().all(|k| match k {
                Key::Bucket { start, size } => size % g.size_ms() == 0 && g.is_aligned(*start),
                _ => true,
            })
        })
        .collect()
}

/// One counted group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub keys: Vec<KeyValue>,
    pub n: i64,
}

/// How the counts were computed (reported in responses so clients and benchmarks can
/// see the plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Rollups,
    Raw,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Rollups => "rollups",
            Plan::Raw => "raw",
        }
    }
}

/// Ban counts under `f`, grouped by `keys` (none: one total), biggest first, at most
/// `limit` groups. Zero groups are left out.
/// A read-only transaction that sees one snapshot throughout. PostgreSQL needs
/// `REPEATABLE READ` for that; a SQLite read transaction in WAL mode is one snapshot
/// already (and sea-orm warns on every request if given the options).
pub(crate) async fn read_snapshot<C: TransactionTrait + ConnectionTrait>(
    db: &C,
) -> Result<C::Transaction, DbErr> {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        db.begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await
    } else {
        db.begin().await
    }
}

pub async fn counts<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    f: &Filters,
    keys: &[Key],
    limit: Option<u32>,
) -> Result<(Vec<Count>, Plan), DbErr> {
    // One snapshot for the mark and the counts, so events the rollup job folds in between
    // are neither missed nor counted twice. The mark goes in as a value: planners then see
    // that "ids above it" are few (as a sub-select, PostgreSQL guessed a third of the table
    // and walked the time index instead).
    let txn = read_snapshot(db).await?;
    let hwm = rollup_mark(&txn).await?;
    let (sql, plan) = counts_sql(f, keys, limit, hwm);
    plan_settings(&txn, plan).await?;
    let names: Vec<String> = (0..keys.len()).map(|i| format!("k{i}")).collect();
    let rows = db::query_all(&txn, &sql.text, sql.values).await?;
    txn.commit().await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let n: Option<i64> = r.try_get("", "n")?;
        let Some(n) = n.filter(|n| *n > 0) else {
            continue;
        };
        let mut kv = Vec::with_capacity(keys.len());
        for (k, name) in keys.iter().zip(&names) {
            kv.push(if k.is_text() {
                KeyValue::Text(r.try_get("", name)?)
            } else {
                KeyValue::Int(r.try_get("", name)?)
            });
        }
        out.push(Count { keys: kv, n });
    }
    Ok((out, plan))
}

pub use shared::archive::rollup_mark;

/// The planner settings a [`counts_sql`] query runs with, for the rest of the transaction
/// (public so benchmarks show the plans requests get).
pub async fn plan_settings<C: ConnectionTrait>(txn: &C, plan: Plan) -> Result<(), DbErr> {
    if txn.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    // The rollup UNIONs have high cost estimates; PostgreSQL's JIT compiler then spent
    // 50-100 ms compiling a query that runs in a few.
    db::execute(txn, "SET LOCAL jit = off", []).await?;
    if plan == Plan::Rollups {
        // Rollup rows are few, but their estimates are far too high (72 000 for 6 000),
        // so PostgreSQL started parallel workers for them: the year-long ASN top list took
        // 24 ms that way, 16 ms in one process. Raw plans (whole tables) keep them.
        db::execute(txn, "SET LOCAL max_parallel_workers_per_gather = 0", []).await?;
    }
    Ok(())
}

/// The query [`counts`] runs (public so benchmarks can show its plan).
pub fn counts_sql(f: &Filters, keys: &[Key], limit: Option<u32>, hwm: i64) -> (Sql, Plan) {
    let mut needs = f.needs();
    for k in keys {
        match k {
            Key::Origin => needs.origin = true,
            Key::Jail => needs.jail = true,
            Key::Country => needs.country = true,
            Key::Asn => needs.asn = true,
            _ => {}
        }
    }
    let dims = Dims::covering(needs).filter(|_| f.rollup_friendly());
    let mut sql = Sql::default();
    let names: Vec<String> = (0..keys.len()).map(|i| format!("k{i}")).collect();
    // Pieces of a rollup plan hand their rows up ungrouped (`grouped` false): one hash
    // aggregate over all of them is cheaper than one per piece plus one over the pieces'
    // groups (the year-long ASN top list on PostgreSQL at 10 M: 32 -> 24 ms, parallel).
    let raw_select = |sql: &mut Sql, from: i64, to: i64, hint: &str, extra: &str, grouped: bool| {
        let conds = f.raw_conditions(sql);
        let (lo, hi) = (sql.arg(from), sql.arg(to));
        let cols: String = keys
            .iter()
            .zip(&names)
            .map(|(k, n)| format!("{} AS {n}, ", k.raw()))
            .collect();
        let (n, group) = if grouped {
            ("COUNT(*)", group_by(keys.len()))
        } else {
            ("1", String::new())
        };
        format!(
            "SELECT {cols}{n} AS n FROM ban_events e{hint} WHERE {conds} AND e.at_ms >= {lo} AND e.at_ms < {hi}{extra}{group}"
        )
    };
    let mut parts = Vec::new();
    let plan = match dims {
        None => {
            parts.push(raw_select(
                &mut sql,
                f.from_ms,
                f.to_ms,
                f.table_hint(),
                "",
                true,
            ));
            Plan::Raw
        }
        Some(dims) => {
            let grains: Vec<Grain> = usable_grains(keys)
                .into_iter()
                .filter(|g| dims.grains().contains(g))
                .collect();
            let pieces = decompose(f.from_ms, f.to_ms, &grains);
            for p in &pieces {
                match p.grain {
                    None => parts.push(raw_select(&mut sql, p.from, p.to, "", "", false)),
                    Some(g) => {
                        let conds = f.rollup_conditions(&mut sql, dims);
                        let (lo, hi) = (sql.arg(p.from), sql.arg(p.to));
                        let cols: String = keys
                            .iter()
                            .zip(&names)
                            .map(|(k, n)| format!("{} AS {n}, ", k.rollup()))
                            .collect();
                        parts.push(format!(
                            "SELECT {cols}r.bans AS n FROM ban_rollups r \
                             WHERE r.dims = '{}' AND r.grain = '{}' AND r.bucket_ms >= {lo} AND r.bucket_ms < {hi}{conds}",
                            dims.code(),
                            g.code(),
                        ));
                    }
                }
            }
            // Events the rollup job has not reached yet, inside the rolled-up span.
            let rolled: Vec<&Piece> = pieces.iter().filter(|p| p.grain.is_some()).collect();
            if let (Some(first), Some(last)) = (rolled.first(), rolled.last()) {
                let mark = format!(" AND e.id > {hwm}");
                parts.push(raw_select(
                    &mut sql,
                    first.from,
                    last.to,
                    "{by_rowid}",
                    &mark,
                    false,
                ));
            }
            Plan::Rollups
        }
    };
    let key_list = names.join(", ");
    let outer_cols = if keys.is_empty() {
        String::new()
    } else {
        format!("{key_list}, ")
    };
    let mut text = format!(
        "SELECT {outer_cols}CAST(SUM(n) AS BIGINT) AS n FROM ({}) t",
        parts.join(" UNION ALL ")
    );
    if !keys.is_empty() {
        text.push_str(&format!(
            " GROUP BY {key_list} HAVING SUM(n) > 0 ORDER BY n DESC, {key_list}"
        ));
    }
    if let Some(l) = limit {
        text.push_str(&format!(" LIMIT {l}"));
    }
    sql.text = text;
    (sql, plan)
}

fn group_by(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(
            " GROUP BY {}",
            (1..=n)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The number of bans under `f`: exact from the rollups when they cover the filters,
/// else counted up to `cap` (the bool says whether the count is exact).
pub async fn total<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    f: &Filters,
    cap: i64,
) -> Result<(i64, bool), DbErr> {
    if f.rollup_friendly() && Dims::covering(f.needs()).is_some() {
        let (c, _) = counts(db, f, &[], None).await?;
        return Ok((c.first().map_or(0, |c| c.n), true));
    }
    let mut sql = Sql::default();
    let conds = f.raw_conditions(&mut sql);
    let (lo, hi) = (sql.arg(f.from_ms), sql.arg(f.to_ms));
    let text = format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 AS x FROM ban_events e{} WHERE {conds} \
         AND {at} >= {lo} AND {at} < {hi} LIMIT {}) t",
        f.table_hint(),
        cap + 1,
        at = f.at_col()
    );
    let txn = db.begin().await?;
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // Planned for the values at hand: a prepared statement's generic plan does not
        // know whether a country is common (scan the table until `cap` rows matched) or
        // rare (walk its index), and with a state filter each row needs its table page:
        // the generic plan took 90-150 ms for a common country at 10 M events, 6 ms
        // planned for it.
        db::execute(&txn, "SET LOCAL plan_cache_mode = force_custom_plan", []).await?;
    }
    let n: i64 = db::query_one(&txn, &text, sql.values)
        .await?
        .map(|r| r.try_get("", "n"))
        .transpose()?
        .unwrap_or(0);
    txn.commit().await?;
    Ok((n.min(cap), n <= cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::archive::{DAY_MS, HOUR_MS, WEEK_ALIGN_MS, WEEK_MS};

    #[test]
    fn ranges_split_into_coarse_middles_and_raw_edges() {
        let w = WEEK_ALIGN_MS + 2800 * WEEK_MS; // a Monday
        let from = w - 2 * DAY_MS - 3 * HOUR_MS - 5;
        let to = w + 3 * WEEK_MS + DAY_MS + 2 * HOUR_MS + 7;
        let p = decompose(from, to, &Grain::ALL);
        let kinds: Vec<_> = p.iter().map(|p| p.grain).collect();
        assert_eq!(
            kinds,
            vec![
                None,
                Some(Grain::Hour),
                Some(Grain::Day),
                Some(Grain::Week),
                Some(Grain::Day),
                Some(Grain::Hour),
                None
            ]
        );
        assert!(p.windows(2).all(|w| w[0].to == w[1].from));
        assert_eq!((p[0].from, p[6].to), (from, to));
        // Already aligned: no raw edges.
        let p = decompose(w, w + WEEK_MS, &Grain::ALL);
        assert_eq!(
            p,
            vec![Piece {
                grain: Some(Grain::Week),
                from: w,
                to: w + WEEK_MS
            }]
        );
        // Shorter than an hour: raw only.
        let p = decompose(w + 5, w + 10, &Grain::ALL);
        assert_eq!(
            p,
            vec![Piece {
                grain: None,
                from: w + 5,
                to: w + 10
            }]
        );
        assert!(decompose(10, 10, &Grain::ALL).is_empty());
    }

    #[test]
    fn bucket_keys_limit_the_grains() {
        let six_h = Key::Bucket {
            start: 0,
            size: 6 * HOUR_MS,
        };
        assert_eq!(usable_grains(&[six_h]), vec![Grain::Hour]);
        let day = Key::Bucket {
            start: DAY_MS,
            size: DAY_MS,
        };
        assert_eq!(usable_grains(&[day]), vec![Grain::Hour, Grain::Day]);
        let week = Key::Bucket {
            start: WEEK_ALIGN_MS,
            size: WEEK_MS,
        };
        assert_eq!(
            usable_grains(&[week]),
            vec![Grain::Hour, Grain::Day, Grain::Week]
        );
        let odd_week = Key::Bucket {
            start: 0,
            size: WEEK_MS,
        };
        assert_eq!(usable_grains(&[odd_week]), vec![Grain::Hour, Grain::Day]);
    }
}
