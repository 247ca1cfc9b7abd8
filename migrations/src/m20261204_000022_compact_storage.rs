//! A smaller archive (issue #23; ADR 0011, measured in Docs/performance.md):
//! - An end event (unban, expire) no longer repeats its ban's matched log lines: nothing
//!   reads them from the end row (the timeline and the IP totals read the ban row), and
//!   they were a third of the archive's row bytes. Existing end rows are cleared in
//!   batches of ids; the space is reused by later events (a `VACUUM` returns it at once).
//! - SQLite: the rollup tables (`ban_rollups`, `ip_weeks`, `ip_totals`) become
//!   `WITHOUT ROWID` tables. Each was a rowid table plus a primary-key index holding
//!   every column of the row again; clustered on the key, each is one B-tree. Same keys,
//!   same secondary indexes, same queries. (PostgreSQL has no clustered tables: its
//!   heap and primary key stay.)
//!
//! Progress is logged per table and per batch, so an upgrade of a large archive shows
//! where it is.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Event ids cleared per statement (SQLite holds its one writer lock per statement).
const BATCH: i64 = 200_000;

/// (table, columns in key order then the rest, primary key, secondary index).
const ROLLUP_TABLES: &[(&str, &str, &str, &str)] = &[
    (
        "ban_rollups",
        "dims TEXT NOT NULL, grain TEXT NOT NULL, bucket_ms BIGINT NOT NULL, jail TEXT NOT NULL, \
         origin TEXT NOT NULL, country TEXT NOT NULL, asn BIGINT NOT NULL, bans BIGINT NOT NULL",
        "dims, grain, bucket_ms, jail, origin, country, asn",
        "CREATE INDEX ban_rollups_jail ON ban_rollups (dims, grain, jail, bucket_ms)",
    ),
    (
        "ip_weeks",
        "ip TEXT NOT NULL, jail TEXT NOT NULL, origin TEXT NOT NULL, week_ms BIGINT NOT NULL, \
         bans BIGINT NOT NULL",
        "ip, jail, origin, week_ms",
        "CREATE INDEX ip_weeks_top ON ip_weeks (week_ms, jail, origin, bans, ip)",
    ),
    (
        "ip_totals",
        "ip TEXT NOT NULL, jail TEXT NOT NULL, origin TEXT NOT NULL, bans BIGINT NOT NULL",
        "ip, jail, origin",
        "CREATE INDEX ip_totals_top ON ip_totals (jail, origin, bans, ip)",
    ),
];

async fn max_event_id(db: &SchemaManagerConnection<'_>) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COALESCE(MAX(id), 0) AS id FROM ban_events",
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "id"))
        .transpose()?
        .unwrap_or(0))
}

async fn clear_end_matches(db: &SchemaManagerConnection<'_>) -> Result<(), DbErr> {
    let last = max_event_id(db).await?;
    let started = std::time::Instant::now();
    let mut cleared = 0;
    let mut from = 0;
    while from < last {
        let to = from + BATCH;
        let done = db
            .execute_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "UPDATE ban_events SET matches = NULL, match_count = NULL \
                 WHERE id > $1 AND id <= $2 AND kind <> 'ban' AND matches IS NOT NULL",
                [from.into(), to.into()],
            ))
            .await?;
        cleared += done.rows_affected();
        from = to;
        tracing::info!(
            done_ids = Ord::min(from, last),
            of_ids = last,
            cleared,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "compact storage: end events' matched lines"
        );
    }
    Ok(())
}

async fn recluster(db: &SchemaManagerConnection<'_>, rowid: bool) -> Result<(), DbErr> {
    for (table, columns, key, index) in ROLLUP_TABLES {
        let started = std::time::Instant::now();
        let without = if rowid { "" } else { " WITHOUT ROWID" };
        let names: Vec<&str> = columns
            .split(", ")
            .filter_map(|c| c.split_whitespace().next())
            .collect();
        let names = names.join(", ");
        for sql in [
            format!("CREATE TABLE {table}_new ({columns}, PRIMARY KEY ({key})){without}"),
            format!("INSERT INTO {table}_new ({names}) SELECT {names} FROM {table} ORDER BY {key}"),
            format!("DROP TABLE {table}"),
            format!("ALTER TABLE {table}_new RENAME TO {table}"),
            (*index).to_owned(),
        ] {
            db.execute_unprepared(&sql).await?;
        }
        tracing::info!(
            table,
            clustered = !rowid,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "compact storage: rollup table rebuilt"
        );
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        clear_end_matches(db).await?;
        if m.get_database_backend() == DatabaseBackend::Sqlite {
            recluster(db, false).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The cleared lines are not needed by anything; only the table layout goes back.
        if m.get_database_backend() == DatabaseBackend::Sqlite {
            recluster(m.get_connection(), true).await?;
        }
        Ok(())
    }
}
