//! The history archive made fast to query (see `Docs/performance.md`, "History and
//! dashboard query plan"):
//!
//! - `ban_events` gains a fixed-width binary IP (`ip_bin`, 16 bytes, IPv4 as
//!   `::ffff:a.b.c.d`) so exact and CIDR lookups are index range scans for both families,
//!   the IP's country and ASN at the time of the ban, and how a ban ended (`end_kind`,
//!   `ended_at_ms`) so a ban row carries its own state.
//! - Partial indexes over ban rows only (`kind = 'ban'`), one per filter the endpoints use,
//!   each ending in `(at_ms, id)` so filtered lists come out in time order from the index.
//! - `ban_rollups`: ban counts per time bucket (hour, day, week) for six dimension sets,
//!   kept current by the scheduler's rollup job up to `rollup_state.hwm_id`.
//! - `ip_stats`: bans, failures and matched lines per IP over the retained archive (the IP
//!   timeline's totals); `ip_weeks` and `ip_totals`: bans per IP under every jail/origin
//!   filter, per week and overall (repeat offenders).
//! - `geo_cache` and `asn_names`: what the scheduler resolved; the API only reads them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COMMON_UP: &[&str] = &[
    "ALTER TABLE ban_events ADD COLUMN country TEXT NULL",
    "ALTER TABLE ban_events ADD COLUMN asn BIGINT NULL",
    "ALTER TABLE ban_events ADD COLUMN end_kind TEXT NULL",
    "ALTER TABLE ban_events ADD COLUMN ended_at_ms BIGINT NULL",
    // How many log lines `matches` holds, so totals need not parse every row.
    "ALTER TABLE ban_events ADD COLUMN match_count INTEGER NULL",
    "DROP INDEX ban_events_ip_at",
    // Rows written before this migration: the scheduler's geo job fills them in, and the
    // rollup job stops below the first one until it has.
    "CREATE INDEX ban_events_unresolved ON ban_events (id) WHERE ip_bin IS NULL",
    // One row per (dimension set, grain, bucket, origin, jail, country, asn). Columns a set
    // does not group by hold '*' (text) or -1 (asn). Unknown country is '', unknown ASN 0.
    "CREATE TABLE ban_rollups (
        dims TEXT NOT NULL,
        grain TEXT NOT NULL,
        bucket_ms BIGINT NOT NULL,
        jail TEXT NOT NULL,
        origin TEXT NOT NULL,
        country TEXT NOT NULL,
        asn BIGINT NOT NULL,
        bans BIGINT NOT NULL,
        PRIMARY KEY (dims, grain, bucket_ms, jail, origin, country, asn)
    )",
    // The jail-specific sets are read for one jail over a time range.
    "CREATE INDEX ban_rollups_jail ON ban_rollups (dims, grain, jail, bucket_ms)",
    "CREATE TABLE rollup_state (
        name TEXT PRIMARY KEY,
        hwm_id BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
    )",
    "INSERT INTO rollup_state (name, hwm_id, updated_at_ms) VALUES ('ban_rollups', 0, 0)",
    // Bans per IP, week, jail and origin, plus rows with jail and/or origin '*' (all):
    // a candidate's count over any range of weeks without touching its (possibly
    // thousands of) events, and, walked from the top of a week under any jail/origin
    // filter, the exact lists that bound every IP not seen yet (repeat offenders over
    // ranges of a few weeks).
    "CREATE TABLE ip_weeks (
        ip TEXT NOT NULL,
        week_ms BIGINT NOT NULL,
        jail TEXT NOT NULL,
        origin TEXT NOT NULL,
        bans BIGINT NOT NULL,
        -- A candidate's weeks under one filter are one short range of this key.
        PRIMARY KEY (ip, jail, origin, week_ms)
    )",
    "CREATE INDEX ip_weeks_top ON ip_weeks (week_ms, jail, origin, bans, ip)",
    // The same over the whole retained archive (repeat offenders over long ranges walk it).
    "CREATE TABLE ip_totals (
        ip TEXT NOT NULL,
        jail TEXT NOT NULL,
        origin TEXT NOT NULL,
        bans BIGINT NOT NULL,
        PRIMARY KEY (ip, jail, origin)
    )",
    "CREATE INDEX ip_totals_top ON ip_totals (jail, origin, bans, ip)",
    "CREATE TABLE geo_cache (
        ip TEXT PRIMARY KEY,
        country TEXT NULL,
        asn BIGINT NULL,
        asn_org TEXT NULL,
        source TEXT NOT NULL,
        resolved_at_ms BIGINT NOT NULL,
        retry_at_ms BIGINT NULL
    )",
    "CREATE INDEX geo_cache_retry ON geo_cache (retry_at_ms) WHERE retry_at_ms IS NOT NULL",
    "CREATE INDEX geo_cache_resolved ON geo_cache (resolved_at_ms)",
    "CREATE TABLE asn_names (
        asn BIGINT PRIMARY KEY,
        org TEXT NOT NULL,
        updated_at_ms BIGINT NOT NULL
    )",
];

const COMMON_DOWN: &[&str] = &[
    "DROP TABLE asn_names",
    "DROP TABLE geo_cache",
    "DROP TABLE ip_totals",
    "DROP TABLE ip_weeks",
    "DROP TABLE ip_stats",
    "DROP TABLE rollup_state",
    "DROP TABLE ban_rollups",
    "DROP INDEX ban_events_unresolved",
    "DROP INDEX ban_events_ban_asn_at",
    "DROP INDEX ban_events_ban_country_at",
    "DROP INDEX ban_events_ban_ip_at",
    "DROP INDEX ban_events_ban_jail_at",
    "DROP INDEX ban_events_ban_at",
    "CREATE INDEX ban_events_ip_at ON ban_events (ip, at_ms)",
    "ALTER TABLE ban_events DROP COLUMN match_count",
    "ALTER TABLE ban_events DROP COLUMN ended_at_ms",
    "ALTER TABLE ban_events DROP COLUMN end_kind",
    "ALTER TABLE ban_events DROP COLUMN asn",
    "ALTER TABLE ban_events DROP COLUMN country",
    "ALTER TABLE ban_events DROP COLUMN ip_bin",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let bytes = match m.get_database_backend() {
            DatabaseBackend::Postgres => "BYTEA",
            _ => "BLOB",
        };
        db.execute_unprepared(&format!(
            "ALTER TABLE ban_events ADD COLUMN ip_bin {bytes} NULL"
        ))
        .await?;
        // Per IP over the retained archive: bans (repeat offenders), failures and matched
        // lines (the IP timeline's totals without reading every ban).
        db.execute_unprepared(&format!(
            "CREATE TABLE ip_stats (ip TEXT PRIMARY KEY, ip_bin {bytes} NULL, bans BIGINT NOT NULL, \
             failures BIGINT NOT NULL DEFAULT 0, matches BIGINT NOT NULL DEFAULT 0)"
        ))
        .await?;
        for sql in COMMON_UP {
            db.execute_unprepared(sql).await?;
        }
        // Lists are ordered by (at_ms, id). SQLite ends every index with the rowid (`id`)
        // already; PostgreSQL needs it spelled out, or it sorts instead of walking.
        let id = match m.get_database_backend() {
            DatabaseBackend::Postgres => ", id",
            _ => "",
        };
        for (name, columns) in [
            // Also covering for "bans per IP in a time range" (short-range repeat offenders).
            ("ban_events_ban_at", format!("at_ms{id}, ip")),
            ("ban_events_ban_jail_at", format!("jail, at_ms{id}")),
            ("ban_events_ban_ip_at", format!("ip_bin, at_ms{id}")),
            ("ban_events_ban_country_at", format!("country, at_ms{id}")),
            ("ban_events_ban_asn_at", format!("asn, at_ms{id}")),
            // No (origin, at_ms) index: the rarest origin is still a few per cent of bans,
            // so walking the time index and skipping the others is as fast and costs no
            // writes.
        ] {
            db.execute_unprepared(&format!(
                "CREATE INDEX {name} ON ban_events ({columns}) WHERE kind = 'ban'"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in COMMON_DOWN {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
