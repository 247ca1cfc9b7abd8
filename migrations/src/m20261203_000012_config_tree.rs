//! fail2ban's configuration as the scheduler last read it (ADR 0008, issue #18): each file
//! read with its SHA-256 (`config_files`), each jail with its effective jail-level
//! settings and where each was set (`config_jails`, settings as JSON), and the read itself
//! (`config_reads`: one row, with the error when the tree could not be read). The API
//! reads these rows; only the scheduler reads files.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE config_files (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, \
     size_bytes BIGINT NOT NULL, mtime_ms BIGINT NOT NULL)",
    "CREATE TABLE config_jails (name TEXT PRIMARY KEY, enabled BOOLEAN NOT NULL, \
     settings TEXT NOT NULL, problems TEXT NOT NULL)",
    "CREATE TABLE config_reads (id INTEGER PRIMARY KEY, root TEXT NOT NULL, \
     read_at_ms BIGINT NOT NULL, fingerprint TEXT NOT NULL, error TEXT)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for sql in UP {
            m.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["config_reads", "config_jails", "config_files"] {
            m.get_connection()
                .execute_unprepared(&format!("DROP TABLE {table}"))
                .await?;
        }
        Ok(())
    }
}
