//! Writing what BanGUI knows about bans: the current-ban snapshot (`f2b_bans`) and the
//! event archive (`ban_events`). Used by the ban sync, the archive import and the command
//! executor, always inside a fenced transaction.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, SqlErr, Statement, Value};
use shared::{archive, db};

use crate::geo::{CacheMemo, Geo, GeoInfo, GeoLookup};

/// When an IP the geo data does not know is looked up again.
pub const GEO_RETRY_MS: i64 = 3_600_000;

/// Rows per multi-row INSERT (at most 18 values a row: well inside both databases'
/// parameter limits). Measured with the history benchmark (`Docs/performance.md`).
const BATCH: usize = 500;

/// Rows per archive insert on PostgreSQL (19 array parameters, whatever the rows).
const PG_ROWS_PER_INSERT: usize = 1000;

pub use shared::domain::{EventKind, EventSource as Source, Origin};

/// One current ban.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentBan {
    pub jail: String,
    pub ip: String,
    pub banned_at_ms: i64,
    /// `None`: permanent.
    pub expires_at_ms: Option<i64>,
    pub bantime_s: Option<i64>,
    pub bancount: i64,
    pub origin: Origin,
    pub failures: Option<i64>,
    pub matches: Option<String>,
}

/// One archived event.
#[derive(Debug, Clone, PartialEq)]
pub struct BanEvent {
    pub kind: EventKind,
    pub at_ms: i64,
    pub ban: CurrentBan,
    pub source: Source,
    /// Who asked for it, for events a command made (the user or token's name).
    pub actor: Option<String>,
    /// The command that made it (its audit row holds the request id).
    pub command_id: Option<i64>,
}

/// fail2ban writes IPs its own way; store them canonically (`2001:DB8::5` and
/// `2001:db8::5` are one IP). Anything that is not an address is kept as given.
pub fn normalize_ip(raw: &str) -> String {
    let raw = raw.trim();
    match raw.split_once('/') {
        None => raw
            .parse::<IpAddr>()
            .map_or_else(|_| raw.to_owned(), |a| a.to_string()),
        Some((a, p)) => a
            .parse::<IpAddr>()
            .map_or_else(|_| raw.to_owned(), |a| format!("{a}/{p}")),
    }
}

/// Appends `(…),(…)` placeholder groups of `width` values each, numbered from `$1`.
fn values_clause(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| {
            let cols: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", cols.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A ban's identity: jail, IP and when it began.
type BanKey<'a> = (&'a str, &'a str, i64);

fn ban_key(e: &BanEvent) -> BanKey<'_> {
    (e.ban.jail.as_str(), e.ban.ip.as_str(), e.ban.banned_at_ms)
}

/// How one ban ended: the kind of its end event and when.
type End = (&'static str, i64);

/// What a write does with events the archive holds already (same natural key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// Skips them.
    Skip,
    /// The caller filtered them out; on PostgreSQL one left fails the write with a unique
    /// violation ([`is_duplicate`]) and the caller writes again with `Skip`. It spares every
    /// row the speculative insertion `ON CONFLICT` costs (a sixth of the archive import's
    /// write time at 10 M events). SQLite skips them either way: `INSERT OR IGNORE` costs
    /// nothing extra there.
    Unexpected,
}

/// Whether a write failed because an event was archived already ([`Duplicates::Unexpected`]).
pub fn is_duplicate(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Inserts events; what happens to ones already recorded (natural key jail, ip,
/// banned_at, kind) is up to `duplicates`.
/// Each row carries the IP's binary key and where the IP is (resolved here from memory,
/// or from `geo_cache` for IPs the local data does not know); new IPs enter `geo_cache`.
/// An unban or expiry also marks the ban it ends.
pub async fn insert_events<C: ConnectionTrait>(
    db: &C,
    events: &[BanEvent],
    geo: &Geo,
    duplicates: Duplicates,
) -> Result<u64, DbErr> {
    let places = resolve(db, events, geo.local.as_ref()).await?;
    // Ends of bans that arrive together with their ban (archive imports, catching up) are
    // written into the ban row; only the others update an earlier row.
    let ends_here: HashMap<BanKey, End> = events
        .iter()
        .filter(|e| e.kind != EventKind::Ban)
        .map(|e| (ban_key(e), (e.kind.as_str(), e.at_ms)))
        .collect();
    let end_of = |e: &BanEvent| {
        (e.kind == EventKind::Ban)
            .then(|| ends_here.get(&ban_key(e)))
            .flatten()
            .copied()
    };
    let backend = db.get_database_backend();
    let postgres = backend == DatabaseBackend::Postgres;
    let insert = |chunk: &[BanEvent]| {
        if postgres {
            array_insert(chunk, &places, end_of, duplicates)
        } else {
            values_insert(backend, chunk, &places, end_of)
        }
    };
    // The next statement is built while the database runs the current one: the two
    // overlap (the database works on another thread or in another process), which is
    // worth about an eighth of the ingest time (Docs/performance.md).
    let mut written = 0;
    let rows_per_insert = if postgres { PG_ROWS_PER_INSERT } else { BATCH };
    let mut chunks = events.chunks(rows_per_insert).peekable();
    let mut next = chunks.peek().map(|c| insert(c));
    while let (Some(current), Some(chunk)) = (next, chunks.next()) {
        let (done, following) = tokio::join!(db.execute_raw(current), async {
            chunks.peek().map(|c| insert(c))
        });
        let inserted = done?.rows_affected();
        written += inserted;
        if inserted < chunk.len() as u64 {
            // Some of these were recorded before; such a ban may not know yet how it ended.
            let ends: Vec<(BanKey, End)> = chunk
                .iter()
                .filter_map(|e| Some((ban_key(e), end_of(e)?)))
                .collect();
            mark_ended(db, &ends).await?;
        }
        next = following;
    }
    remember_places(db, &places, &geo.memo).await?;
    let bans_here: HashSet<BanKey> = events
        .iter()
        .filter(|e| e.kind == EventKind::Ban)
        .map(ban_key)
        .collect();
    let later: Vec<(BanKey, End)> = events
        .iter()
        .filter(|e| e.kind != EventKind::Ban && !bans_here.contains(&ban_key(e)))
        .map(|e| (ban_key(e), (e.kind.as_str(), e.at_ms)))
        .collect();
    mark_ended(db, &later).await?;
    Ok(written)
}

/// The archive's columns, in the order both insert forms write them.
const EVENT_COLUMN_COUNT: usize = 19;
const EVENT_COLUMNS: &str = "kind, jail, ip, at_ms, banned_at_ms, bantime_s, bancount, origin, \
     failures, matches_z, source, ip_bin, country, asn, match_count, end_kind, ended_at_ms, actor, \
     command_id";

/// SQLite: a multi-row `INSERT OR IGNORE … VALUES`. `OR IGNORE` (rather than an upsert
/// clause) means no statement can fail half-way, so SQLite keeps no statement journal
/// (a copy of every page a statement changes, a fifth of the writer's time at 4 M
/// events; Docs/performance.md).
fn values_insert(
    backend: DatabaseBackend,
    chunk: &[BanEvent],
    places: &HashMap<String, GeoInfo>,
    end_of: impl Fn(&BanEvent) -> Option<End>,
) -> Statement {
    let sql = format!(
        "INSERT OR IGNORE INTO ban_events ({EVENT_COLUMNS}) VALUES {}",
        values_clause(chunk.len(), EVENT_COLUMN_COUNT)
    );
    let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * EVENT_COLUMN_COUNT);
    for e in chunk {
        let place = places.get(e.ban.ip.as_str());
        let end = end_of(e);
        values.extend([
            e.kind.as_str().into(),
            e.ban.jail.clone().into(),
            e.ban.ip.clone().into(),
            e.at_ms.into(),
            e.ban.banned_at_ms.into(),
            e.ban.bantime_s.into(),
            e.ban.bancount.into(),
            e.ban.origin.as_str().into(),
            e.ban.failures.into(),
            lines_of(e).map(archive::pack_matches).into(),
            e.source.as_str().into(),
            archive::ip_key_of_text(&e.ban.ip).into(),
            place.and_then(|g| g.country.clone()).into(),
            place.and_then(|g| g.asn).into(),
            match_count(lines_of(e)).into(),
            end.map(|(kind, _)| kind).into(),
            end.map(|(_, at)| at).into(),
            e.actor.clone().into(),
            e.command_id.into(),
        ]);
    }
    db::statement(backend, &sql, values)
}

/// A PostgreSQL array literal (`{…}`) built one element at a time: every element is
/// quoted, so any text goes in as it is (backslash and quote escaped).
struct ArrayLiteral(String);

impl ArrayLiteral {
    fn new() -> Self {
        Self(String::from("{"))
    }

    fn separate(&mut self) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
    }

    fn text(&mut self, value: Option<&str>) {
        self.separate();
        let Some(value) = value else {
            self.0.push_str("NULL");
            return;
        };
        self.0.push('"');
        for c in value.chars() {
            if c == '"' || c == '\\' {
                self.0.push('\\');
            }
            self.0.push(c);
        }
        self.0.push('"');
    }

    fn number(&mut self, value: Option<i64>) {
        self.separate();
        match value {
            Some(n) => {
                use std::fmt::Write;
                // Writing into a String cannot fail.
                let _ = write!(self.0, "{n}");
            }
            None => self.0.push_str("NULL"),
        }
    }

    /// A `bytea` element in its hex form (`\x…`).
    fn bytes(&mut self, value: Option<&[u8]>) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        self.separate();
        let Some(value) = value else {
            self.0.push_str("NULL");
            return;
        };
        self.0.push_str("\"\\\\x");
        for b in value {
            self.0.push(char::from(DIGITS[usize::from(b >> 4)]));
            self.0.push(char::from(DIGITS[usize::from(b & 15)]));
        }
        self.0.push('"');
    }

    fn finish(mut self) -> Value {
        self.0.push('}');
        self.0.into()
    }
}

/// PostgreSQL: the rows travel as one array per column, expanded by `unnest`, instead of
/// 18 parameters a row. Binding thousands of parameters (sea-query values converted to
/// sqlx arguments, then encoded) kept the client busy while the backend waited, and the
/// backend set up an expression per value; the arrays are built while the previous
/// statement runs, and parse quicker than a JSON document (Docs/performance.md). They
/// travel as text: sea-query's binary arrays cannot hold NULL elements.
fn array_insert(
    chunk: &[BanEvent],
    places: &HashMap<String, GeoInfo>,
    end_of: impl Fn(&BanEvent) -> Option<End>,
    duplicates: Duplicates,
) -> Statement {
    let mut columns: [ArrayLiteral; EVENT_COLUMN_COUNT] =
        std::array::from_fn(|_| ArrayLiteral::new());
    for e in chunk {
        let place = places.get(e.ban.ip.as_str());
        let end = end_of(e);
        let [
            kind,
            jail,
            ip,
            at,
            banned_at,
            bantime,
            bancount,
            origin,
            failures,
            matches,
            source,
            ip_bin,
            country,
            asn,
            match_lines,
            end_kind,
            ended_at,
            actor,
            command,
        ] = &mut columns;
        kind.text(Some(e.kind.as_str()));
        jail.text(Some(&e.ban.jail));
        ip.text(Some(&e.ban.ip));
        at.number(Some(e.at_ms));
        banned_at.number(Some(e.ban.banned_at_ms));
        bantime.number(e.ban.bantime_s);
        bancount.number(Some(e.ban.bancount));
        origin.text(Some(e.ban.origin.as_str()));
        failures.number(e.ban.failures);
        matches.bytes(lines_of(e).map(archive::pack_matches).as_deref());
        source.text(Some(e.source.as_str()));
        ip_bin.bytes(Some(&archive::ip_key_of_text(&e.ban.ip)));
        country.text(place.and_then(|g| g.country.as_deref()));
        asn.number(place.and_then(|g| g.asn));
        match_lines.number(match_count(lines_of(e)).map(i64::from));
        end_kind.text(end.map(|(kind, _)| kind));
        ended_at.number(end.map(|(_, at)| at));
        actor.text(e.actor.as_deref());
        command.number(e.command_id);
    }
    Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        format!(
            "INSERT INTO ban_events ({EVENT_COLUMNS}) SELECT * FROM unnest($1::text[], \
             $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::text[], \
             $9::int8[], $10::bytea[], $11::text[], $12::bytea[], $13::text[], $14::int8[], \
             $15::int8[], $16::text[], $17::int8[], $18::text[], $19::int8[]){}",
            match duplicates {
                Duplicates::Skip => " ON CONFLICT (banned_at_ms, jail, ip, kind) DO NOTHING",
                Duplicates::Unexpected => "",
            }
        ),
        columns.map(ArrayLiteral::finish),
    )
}

/// The matched log lines an event stores: the ban's own row only. Its end (unban,
/// expire) would repeat them, and nothing reads them there (migration 22, ADR 0011).
/// They are stored packed (`matches_z`, migration 23).
fn lines_of(e: &BanEvent) -> Option<&str> {
    (e.kind == EventKind::Ban)
        .then_some(e.ban.matches.as_deref())
        .flatten()
}

/// The number of log lines in a `matches` JSON array.
fn match_count(matches: Option<&str>) -> Option<i32> {
    let lines: Vec<serde_json::Value> = serde_json::from_str(matches?).ok()?;
    i32::try_from(lines.len()).ok()
}

/// Where each distinct IP of `events` is.
async fn resolve<C: ConnectionTrait>(
    db: &C,
    events: &[BanEvent],
    geo: &dyn GeoLookup,
) -> Result<HashMap<String, GeoInfo>, DbErr> {
    let mut places = HashMap::new();
    let mut unknown = Vec::new();
    for e in events {
        if places.contains_key(e.ban.ip.as_str()) {
            continue;
        }
        let Ok(addr) = e.ban.ip.parse::<IpAddr>() else {
            continue;
        };
        let info = geo.lookup(addr);
        if !info.is_known() {
            unknown.push(e.ban.ip.clone());
        }
        places.insert(e.ban.ip.clone(), info);
    }
    // What the HTTP fallback (or older local data) found earlier for these.
    for chunk in unknown.chunks(BATCH) {
        let list = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = db::query_all(
            db,
            &format!(
                "SELECT g.ip, g.country, g.asn, g.asn_org FROM geo_cache g \
                 WHERE g.ip IN ({list}) AND (g.country IS NOT NULL OR g.asn IS NOT NULL)"
            ),
            chunk
                .iter()
                .map(|ip| ip.clone().into())
                .collect::<Vec<Value>>(),
        )
        .await?;
        for r in rows {
            let ip: String = r.try_get("", "ip")?;
            places.insert(
                ip,
                GeoInfo {
                    country: r.try_get("", "country")?,
                    asn: r.try_get("", "asn")?,
                    asn_org: r.try_get("", "asn_org")?,
                },
            );
        }
    }
    Ok(places)
}

/// Records newly seen IPs in `geo_cache` (unknown ones due for a retry in an hour) and
/// the names of newly seen ASNs, skipping what `memo` knows is there already.
async fn remember_places<C: ConnectionTrait>(
    db: &C,
    places: &HashMap<String, GeoInfo>,
    memo: &CacheMemo,
) -> Result<(), DbErr> {
    let generation = memo.generation();
    let rows: Vec<Place<'_>> = places
        .iter()
        .filter_map(|(ip, g)| {
            let key = archive::ip_key(ip.parse().ok()?);
            (!memo.has_ip(&key)).then_some((ip, g, key))
        })
        .collect();
    let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
    let rows_per_insert = if postgres { PG_ROWS_PER_INSERT } else { BATCH };
    for chunk in rows.chunks(rows_per_insert) {
        let (sql, values) = if postgres {
            places_array_insert(chunk)
        } else {
            places_values_insert(chunk)
        };
        let inserted: HashSet<String> = db::query_all(db, &sql, values)
            .await?
            .iter()
            .map(|r| r.try_get("", "ip"))
            .collect::<Result<_, _>>()?;
        memo.add_ips(
            generation,
            chunk
                .iter()
                .filter(|(ip, _, _)| !inserted.contains(ip.as_str()))
                .map(|(_, _, key)| *key),
        );
    }
    let mut names: Vec<(i64, &str)> = places
        .values()
        .filter_map(|g| Some((g.asn?, g.asn_org.as_deref()?)))
        .filter(|(asn, _)| !memo.has_asn(*asn))
        .collect();
    names.sort_unstable();
    names.dedup_by_key(|(asn, _)| *asn);
    let inserted = remember_asn_names(db, &names).await?;
    memo.add_asns(
        generation,
        names
            .iter()
            .map(|(asn, _)| *asn)
            .filter(|asn| !inserted.contains(asn)),
    );
    Ok(())
}

/// A newly seen IP for `geo_cache`: its text, where it is, and its binary key.
type Place<'a> = (&'a String, &'a GeoInfo, [u8; 16]);

/// How a `geo_cache` row was found, and when an unknown IP is due for another look
/// (an hour from now; NULL for a known one).
fn place_source(g: &GeoInfo) -> (&'static str, Option<i64>) {
    if g.is_known() {
        ("local", None)
    } else {
        ("none", Some(GEO_RETRY_MS))
    }
}

/// SQLite: `geo_cache` rows as a multi-row VALUES, returning the IPs it inserted.
fn places_values_insert(chunk: &[Place<'_>]) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 6);
    let mut groups = Vec::with_capacity(chunk.len());
    for (i, (ip, g, _)) in chunk.iter().enumerate() {
        let b = i * 6;
        // NULL + x is NULL: a known IP gets no retry time.
        groups.push(format!(
            "(${}, ${}, ${}, ${}, ${}, {{now_ms}}, {{now_ms}} + ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6
        ));
        let (source, retry) = place_source(g);
        values.extend([
            (*ip).clone().into(),
            g.country.clone().into(),
            g.asn.into(),
            g.asn_org.clone().into(),
            source.into(),
            retry.into(),
        ]);
    }
    let sql = format!(
        "INSERT INTO geo_cache (ip, country, asn, asn_org, source, resolved_at_ms, retry_at_ms) \
         VALUES {} ON CONFLICT (ip) DO NOTHING RETURNING ip",
        groups.join(", ")
    );
    (sql, values)
}

/// PostgreSQL: `geo_cache` rows as one array per column (as `array_insert` does for
/// events: a VALUES list of thousands of parameters cost the backend as much per row
/// as the events themselves), returning the IPs it inserted.
fn places_array_insert(chunk: &[Place<'_>]) -> (String, Vec<Value>) {
    let mut columns: [ArrayLiteral; 6] = std::array::from_fn(|_| ArrayLiteral::new());
    for (ip_text, g, _) in chunk {
        let [ip, country, asn, org, source, retry] = &mut columns;
        let (how, due) = place_source(g);
        ip.text(Some(ip_text));
        country.text(g.country.as_deref());
        asn.number(g.asn);
        org.text(g.asn_org.as_deref());
        source.text(Some(how));
        retry.number(due);
    }
    let sql =
        "INSERT INTO geo_cache (ip, country, asn, asn_org, source, resolved_at_ms, retry_at_ms) \
         SELECT ip, country, asn, org, source, {now_ms}, {now_ms} + retry \
         FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::int8[]) \
         AS t (ip, country, asn, org, source, retry) \
         ON CONFLICT (ip) DO NOTHING RETURNING ip"
            .to_owned();
    (sql, columns.map(ArrayLiteral::finish).into())
}

/// Inserts ASN names not yet known; returns the ASNs it inserted.
pub async fn remember_asn_names<C: ConnectionTrait>(
    db: &C,
    names: &[(i64, &str)],
) -> Result<HashSet<i64>, DbErr> {
    let mut inserted = HashSet::new();
    for chunk in names.chunks(BATCH) {
        let groups: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, {{now_ms}})", i * 2 + 1, i * 2 + 2))
            .collect();
        let values: Vec<Value> = chunk
            .iter()
            .flat_map(|(asn, org)| [(*asn).into(), (*org).to_owned().into()])
            .collect();
        for r in db::query_all(
            db,
            &format!(
                "INSERT INTO asn_names (asn, org, updated_at_ms) VALUES {} \
                 ON CONFLICT (asn) DO NOTHING RETURNING asn",
                groups.join(", ")
            ),
            values,
        )
        .await?
        {
            inserted.insert(r.try_get::<i64>("", "asn")?);
        }
    }
    Ok(inserted)
}

/// Marks the bans that unban/expire events end, so each ban row knows its own state.
/// One primary-key-like update per end (the natural key index): a joined multi-row
/// UPDATE was planned as a scan on PostgreSQL before the table had statistics.
async fn mark_ended<C: ConnectionTrait>(db: &C, ends: &[(BanKey<'_>, End)]) -> Result<(), DbErr> {
    for ((jail, ip, banned_at_ms), (kind, at_ms)) in ends {
        db::execute(
            db,
            "UPDATE ban_events SET end_kind = $1, ended_at_ms = $2 WHERE jail = $3 AND ip = $4 \
             AND banned_at_ms = $5 AND kind = 'ban' AND end_kind IS NULL",
            [
                (*kind).into(),
                (*at_ms).into(),
                (*jail).to_owned().into(),
                (*ip).to_owned().into(),
                (*banned_at_ms).into(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// Inserts or replaces current bans.
pub async fn upsert_current<C: ConnectionTrait>(
    db: &C,
    bans: &[CurrentBan],
    seen_at_ms: i64,
) -> Result<(), DbErr> {
    for chunk in bans.chunks(BATCH) {
        let sql = format!(
            "INSERT INTO f2b_bans (jail, ip, banned_at_ms, expires_at_ms, bantime_s, bancount, origin, \
             failures, seen_at_ms) VALUES {} ON CONFLICT (jail, ip) DO UPDATE SET \
             banned_at_ms = excluded.banned_at_ms, expires_at_ms = excluded.expires_at_ms, \
             bantime_s = excluded.bantime_s, bancount = excluded.bancount, origin = excluded.origin, \
             failures = excluded.failures, seen_at_ms = excluded.seen_at_ms",
            values_clause(chunk.len(), 9)
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 9);
        for b in chunk {
            values.extend([
                b.jail.clone().into(),
                b.ip.clone().into(),
                b.banned_at_ms.into(),
                b.expires_at_ms.into(),
                b.bantime_s.into(),
                b.bancount.into(),
                b.origin.as_str().into(),
                b.failures.into(),
                seen_at_ms.into(),
            ]);
        }
        db::execute(db, &sql, values).await?;
    }
    Ok(())
}

/// Removes current bans by (jail, ip).
pub async fn delete_current<C: ConnectionTrait>(
    db: &C,
    pairs: &[(String, String)],
) -> Result<(), DbErr> {
    for chunk in pairs.chunks(BATCH) {
        let sql = format!(
            "DELETE FROM f2b_bans WHERE (jail, ip) IN ({})",
            values_clause(chunk.len(), 2)
        );
        let values: Vec<Value> = chunk
            .iter()
            .flat_map(|(j, i)| [j.clone().into(), i.clone().into()])
            .collect();
        db::execute(db, &sql, values).await?;
    }
    Ok(())
}

/// Every current ban (the snapshot the next sync diffs against).
pub async fn load_current<C: ConnectionTrait>(db: &C) -> Result<Vec<CurrentBan>, DbErr> {
    load_current_where(db, "", Vec::new()).await
}

/// The current bans but those of the jails in `except`.
pub async fn load_current_except<C: ConnectionTrait>(
    db: &C,
    except: &[String],
) -> Result<Vec<CurrentBan>, DbErr> {
    if except.is_empty() {
        return load_current(db).await;
    }
    let marks: Vec<String> = (1..=except.len()).map(|i| format!("${i}")).collect();
    load_current_where(
        db,
        &format!(" WHERE jail NOT IN ({})", marks.join(", ")),
        except.iter().map(|j| Value::from(j.clone())).collect(),
    )
    .await
}

const CURRENT: &str = "SELECT jail, ip, banned_at_ms, expires_at_ms, bantime_s, bancount, origin, failures FROM f2b_bans";

async fn load_current_where<C: ConnectionTrait>(
    db: &C,
    where_sql: &str,
    values: Vec<Value>,
) -> Result<Vec<CurrentBan>, DbErr> {
    let rows = db::query_all(db, &format!("{CURRENT}{where_sql}"), values).await?;
    rows.iter()
        .map(|r| {
            Ok(CurrentBan {
                jail: r.try_get("", "jail")?,
                ip: r.try_get("", "ip")?,
                banned_at_ms: r.try_get("", "banned_at_ms")?,
                expires_at_ms: r.try_get("", "expires_at_ms")?,
                bantime_s: r.try_get("", "bantime_s")?,
                bancount: i64::from(r.try_get::<i32>("", "bancount")?),
                // An unknown word (a row written by hand) reads as fail2ban's own ban.
                origin: Origin::parse(&r.try_get::<String>("", "origin")?).unwrap_or(Origin::Auto),
                failures: r.try_get::<Option<i32>>("", "failures")?.map(i64::from),
                matches: None,
            })
        })
        .collect()
}

/// The current bans of these IPs, in `jail` (so the key's index serves it) or in any
/// jail.
async fn load_current_of<C: ConnectionTrait>(
    db: &C,
    jail: Option<&str>,
    ips: &[String],
) -> Result<Vec<CurrentBan>, DbErr> {
    let mut out = Vec::new();
    let first = usize::from(jail.is_some()) + 1;
    let by_jail = if jail.is_some() { "jail = $1 AND " } else { "" };
    for chunk in ips.chunks(BATCH) {
        let marks: Vec<String> = (0..chunk.len())
            .map(|i| format!("${}", i + first))
            .collect();
        let mut values: Vec<Value> = jail
            .map(|j| Value::from(j.to_owned()))
            .into_iter()
            .collect();
        values.extend(chunk.iter().map(|ip| Value::from(ip.clone())));
        let where_sql = format!(" WHERE {by_jail}ip IN ({})", marks.join(", "));
        out.extend(load_current_where(db, &where_sql, values).await?);
    }
    Ok(out)
}

/// The configured ban time of each jail, from the jail snapshot (seconds; -1 permanent).
pub async fn jail_bantimes<C: ConnectionTrait>(
    db: &C,
) -> Result<std::collections::HashMap<String, i64>, DbErr> {
    let rows = db::query_all(db, "SELECT name, settings FROM f2b_jails", []).await?;
    let mut out = std::collections::HashMap::new();
    for r in rows {
        let name: String = r.try_get("", "name")?;
        let settings: String = r.try_get("", "settings")?;
        if let Some(b) = serde_json::from_str::<serde_json::Value>(&settings)
            .ok()
            .and_then(|v| v.get("bantime").and_then(serde_json::Value::as_i64))
        {
            out.insert(name, b);
        }
    }
    Ok(out)
}

/// Records bans a command made (`ips` as fail2ban was given them): the ones the snapshot
/// does not hold yet become current bans and `ban` events, with `origin` and who asked.
pub async fn record_bans<C: ConnectionTrait>(
    txn: &C,
    jail: &str,
    ips: &[String],
    origin: Origin,
    actor: Option<&str>,
    geo: &Geo,
    now: i64,
) -> Result<(), DbErr> {
    let bantime = jail_bantimes(txn).await?.get(jail).copied();
    // Only the rows of these IPs: a blocklist jail may hold hundreds of thousands.
    let mut existing: HashSet<String> = HashSet::new();
    for chunk in ips.chunks(BATCH) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let mut values: Vec<Value> = vec![jail.into()];
        values.extend(chunk.iter().map(|ip| Value::from(ip.clone())));
        existing.extend(
            db::query_all(
                txn,
                &format!(
                    "SELECT ip FROM f2b_bans WHERE jail = $1 AND ip IN ({})",
                    marks.join(", ")
                ),
                values,
            )
            .await?
            .iter()
            .filter_map(|r| r.try_get::<String>("", "ip").ok()),
        );
    }
    let new: Vec<CurrentBan> = ips
        .iter()
        .filter(|ip| !existing.contains(*ip))
        .map(|ip| CurrentBan {
            jail: jail.to_owned(),
            ip: ip.clone(),
            banned_at_ms: now,
            expires_at_ms: bantime.filter(|b| *b >= 0).map(|b| now + b * 1000),
            bantime_s: bantime,
            bancount: 1,
            origin,
            failures: Some(0),
            matches: None,
        })
        .collect();
    let events: Vec<BanEvent> = new
        .iter()
        .map(|b| BanEvent {
            kind: EventKind::Ban,
            at_ms: now,
            ban: b.clone(),
            source: Source::Command,
            actor: actor.map(str::to_owned),
            command_id: crate::commands::running(),
        })
        .collect();
    insert_events(txn, &events, geo, Duplicates::Skip).await?;
    upsert_current(txn, &new, now).await
}

/// Records unbans a command made: the current bans of `targets` (in `jail`, or in every
/// jail) end with an `unban` event.
pub async fn record_unbans<C: ConnectionTrait>(
    txn: &C,
    jail: Option<&str>,
    targets: &[String],
    actor: Option<&str>,
    geo: &Geo,
    now: i64,
) -> Result<(), DbErr> {
    let gone: Vec<CurrentBan> = load_current_of(txn, jail, targets).await?;
    end_bans(txn, gone, now, actor, geo).await
}

/// Ends current bans with `unban` events (a command's doing).
pub async fn end_bans<C: ConnectionTrait>(
    txn: &C,
    gone: Vec<CurrentBan>,
    now: i64,
    actor: Option<&str>,
    geo: &Geo,
) -> Result<(), DbErr> {
    let pairs: Vec<(String, String)> = gone
        .iter()
        .map(|b| (b.jail.clone(), b.ip.clone()))
        .collect();
    let events: Vec<BanEvent> = gone
        .into_iter()
        .map(|ban| BanEvent {
            kind: EventKind::Unban,
            at_ms: now,
            ban,
            source: Source::Command,
            actor: actor.map(str::to_owned),
            command_id: crate::commands::running(),
        })
        .collect();
    insert_events(txn, &events, geo, Duplicates::Skip).await?;
    delete_current(txn, &pairs).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_are_stored_canonically() {
        assert_eq!(normalize_ip("2001:DB8:0::5"), "2001:db8::5");
        assert_eq!(normalize_ip(" 192.0.2.1 "), "192.0.2.1");
        assert_eq!(normalize_ip("2001:DB8::/32"), "2001:db8::/32");
        assert_eq!(normalize_ip("not-an-ip"), "not-an-ip");
    }

    #[test]
    fn array_literals_quote_every_element() {
        let mut a = ArrayLiteral::new();
        a.text(Some(r#"say "hi" \ {x},y"#));
        a.text(None);
        a.text(Some("NULL"));
        a.number(Some(-5));
        a.number(None);
        a.bytes(Some(&[0, 0xab]));
        a.bytes(Some(&[]));
        a.bytes(None);
        assert_eq!(
            a.finish(),
            Value::from(r#"{"say \"hi\" \\ {x},y",NULL,"NULL",-5,NULL,"\\x00ab","\\x",NULL}"#)
        );
    }

    #[test]
    fn placeholders_number_across_rows() {
        assert_eq!(values_clause(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
