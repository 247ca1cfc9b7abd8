//! A smaller archive, part two (issue #23; ADR 0011, measured in Docs/performance.md):
//! - A ban's matched log lines are stored packed (raw DEFLATE, `matches_z`) instead of
//!   as JSON text (`matches`, dropped): the lines of one ban repeat one format and pack
//!   to a third or less, and they were most of a ban row's bytes. Existing rows are
//!   packed in batches of ids, with progress in the log.
//! - `ban_rollups` is keyed `(dims, grain, jail, bucket_ms, origin, country, asn)` and
//!   loses its secondary index `(dims, grain, jail, bucket_ms)`. On SQLite (a clustered
//!   table since migration 22) that index held every key column again, as much as the
//!   table; readers now name the jail (`'*'` in sets without jails, or the jails the
//!   archive has) before the time range, which the new key serves directly.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};
use shared::archive::{pack_matches, unpack_matches};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Rows converted per statement.
const BATCH: usize = 2_000;

const ROLLUP_COLUMNS: &str = "dims TEXT NOT NULL, grain TEXT NOT NULL, bucket_ms BIGINT NOT NULL, \
     jail TEXT NOT NULL, origin TEXT NOT NULL, country TEXT NOT NULL, asn BIGINT NOT NULL, \
     bans BIGINT NOT NULL";
const ROLLUP_NAMES: &str = "dims, grain, bucket_ms, jail, origin, country, asn, bans";
const OLD_KEY: &str = "dims, grain, bucket_ms, jail, origin, country, asn";
const NEW_KEY: &str = "dims, grain, jail, bucket_ms, origin, country, asn";
const OLD_INDEX: &str =
    "CREATE INDEX ban_rollups_jail ON ban_rollups (dims, grain, jail, bucket_ms)";

/// Moves every ban's matched lines from column `from` to column `to`, converted by
/// `convert`, `BATCH` rows a statement, and clears `from`.
async fn move_matches(
    db: &SchemaManagerConnection<'_>,
    from: &str,
    to: &str,
    convert: impl Fn(&sea_orm_migration::sea_orm::QueryResult) -> Result<Value, DbErr>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let started = std::time::Instant::now();
    let mut after: i64 = 0;
    let mut moved: u64 = 0;
    loop {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT id, {from} FROM ban_events WHERE id > $1 AND {from} IS NOT NULL \
                     ORDER BY id LIMIT {BATCH}"
                ),
                [after.into()],
            ))
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("", "id")?;
        let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 2);
        for r in &rows {
            values.push(r.try_get::<i64>("", "id")?.into());
            values.push(convert(r)?);
        }
        let tuples: Vec<String> = (0..rows.len())
            .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
            .collect();
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "WITH v (id, m) AS (VALUES {}) UPDATE ban_events SET {to} = v.m, {from} = NULL \
                 FROM v WHERE ban_events.id = v.id",
                tuples.join(", ")
            ),
            values,
        ))
        .await?;
        moved += rows.len() as u64;
        if moved % 100_000 < BATCH as u64 {
            tracing::info!(
                moved,
                up_to_id = after,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "packed matches: {from} -> {to}"
            );
        }
    }
    tracing::info!(
        moved,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "packed matches: {from} -> {to} done"
    );
    Ok(())
}

/// Rebuilds `ban_rollups` keyed by `key`, with `index` (if any) beside it.
async fn rekey_rollups(
    db: &SchemaManagerConnection<'_>,
    key: &str,
    index: Option<&str>,
) -> Result<(), DbErr> {
    let started = std::time::Instant::now();
    let mut steps: Vec<String> = match db.get_database_backend() {
        DatabaseBackend::Postgres => vec![
            "DROP INDEX IF EXISTS ban_rollups_jail".into(),
            "ALTER TABLE ban_rollups DROP CONSTRAINT ban_rollups_pkey".into(),
            format!("ALTER TABLE ban_rollups ADD CONSTRAINT ban_rollups_pkey PRIMARY KEY ({key})"),
        ],
        _ => vec![
            format!(
                "CREATE TABLE ban_rollups_new ({ROLLUP_COLUMNS}, PRIMARY KEY ({key})) WITHOUT ROWID"
            ),
            format!(
                "INSERT INTO ban_rollups_new ({ROLLUP_NAMES}) SELECT {ROLLUP_NAMES} FROM ban_rollups ORDER BY {key}"
            ),
            "DROP TABLE ban_rollups".into(),
            "ALTER TABLE ban_rollups_new RENAME TO ban_rollups".into(),
        ],
    };
    steps.extend(index.map(str::to_owned));
    for sql in steps {
        db.execute_unprepared(&sql).await?;
    }
    tracing::info!(
        key,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "packed matches: ban_rollups rebuilt"
    );
    Ok(())
}

fn bytes_type(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => "BYTEA",
        _ => "BLOB",
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let bytes = bytes_type(m.get_database_backend());
        // Every pending migration runs in one transaction (lib.rs): an interrupted
        // upgrade leaves the old layout whole.
        db.execute_unprepared(&format!(
            "ALTER TABLE ban_events ADD COLUMN matches_z {bytes} NULL"
        ))
        .await?;
        move_matches(db, "matches", "matches_z", |r| {
            let text: String = r.try_get("", "matches")?;
            Ok(pack_matches(&text).into())
        })
        .await?;
        db.execute_unprepared("ALTER TABLE ban_events DROP COLUMN matches")
            .await?;
        rekey_rollups(db, NEW_KEY, None).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        rekey_rollups(db, OLD_KEY, Some(OLD_INDEX)).await?;
        db.execute_unprepared("ALTER TABLE ban_events ADD COLUMN matches TEXT NULL")
            .await?;
        move_matches(db, "matches_z", "matches", |r| {
            let packed: Vec<u8> = r.try_get("", "matches_z")?;
            Ok(unpack_matches(&packed).into())
        })
        .await?;
        db.execute_unprepared("ALTER TABLE ban_events DROP COLUMN matches_z")
            .await?;
        Ok(())
    }
}
