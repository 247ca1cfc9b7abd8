//! Blocklist imports (issue #20, ADR 0009):
//! - `blocklist_sources`: what to fetch, how to read it, where to ban it, when; and what
//!   the last applied import left (`etag`, `last_modified`, `content_sha256`).
//! - `blocklist_entries`: the set each source has applied to fail2ban (canonical
//!   `IpOrNet` text), so the next import bans only what is new and unbans what left.
//! - `blocklist_imports`: one row per import (the import log), with its progress while
//!   it runs; at most one unfinished import per source (a partial unique index).
//! - `blocklist_staged`: the difference an import applies, written once before the
//!   first fail2ban call and marked done chunk by chunk, so a new leader continues where
//!   the old one stopped.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let id = match m.get_database_backend() {
            DatabaseBackend::Postgres => "id BIGSERIAL PRIMARY KEY",
            _ => "id INTEGER PRIMARY KEY AUTOINCREMENT",
        };
        let db = m.get_connection();
        for sql in [
            format!(
                "CREATE TABLE blocklist_sources ({id}, name TEXT NOT NULL, url TEXT NOT NULL UNIQUE, \
                 format TEXT NOT NULL, csv_column INTEGER, jail TEXT NOT NULL, schedule TEXT NOT NULL, \
                 enabled BOOLEAN NOT NULL, etag TEXT, last_modified TEXT, content_sha256 TEXT, \
                 next_run_at_ms BIGINT, created_by TEXT, created_at_ms BIGINT NOT NULL, \
                 updated_at_ms BIGINT NOT NULL)"
            ),
            "CREATE TABLE blocklist_entries (source_id BIGINT NOT NULL, entry TEXT NOT NULL, \
             PRIMARY KEY (source_id, entry))"
                .into(),
            // "Does another source still hold this entry?"
            "CREATE INDEX blocklist_entries_entry ON blocklist_entries (entry)".into(),
            format!(
                "CREATE TABLE blocklist_imports ({id}, source_id BIGINT NOT NULL, \
                 trigger_kind TEXT NOT NULL, command_id BIGINT, requested_by TEXT, request_id TEXT, \
                 started_at_ms BIGINT NOT NULL, finished_at_ms BIGINT, outcome TEXT NOT NULL, \
                 phase TEXT NOT NULL, http_status INTEGER, bytes BIGINT, entries BIGINT, \
                 added BIGINT NOT NULL DEFAULT 0, removed BIGINT NOT NULL DEFAULT 0, \
                 unchanged BIGINT NOT NULL DEFAULT 0, kept BIGINT NOT NULL DEFAULT 0, \
                 invalid BIGINT NOT NULL DEFAULT 0, invalid_samples TEXT, \
                 allowlisted BIGINT NOT NULL DEFAULT 0, total_ops BIGINT NOT NULL DEFAULT 0, \
                 done_ops BIGINT NOT NULL DEFAULT 0, fail2ban_calls BIGINT NOT NULL DEFAULT 0, \
                 content_sha256 TEXT, etag TEXT, last_modified TEXT, notes TEXT, \
                 error_code TEXT, error TEXT)"
            ),
            "CREATE INDEX blocklist_imports_source ON blocklist_imports (source_id, id)".into(),
            "CREATE INDEX blocklist_imports_started ON blocklist_imports (started_at_ms)".into(),
            "CREATE UNIQUE INDEX blocklist_imports_running ON blocklist_imports (source_id) \
             WHERE finished_at_ms IS NULL"
                .into(),
            "CREATE TABLE blocklist_staged (import_id BIGINT NOT NULL, action TEXT NOT NULL, \
             entry TEXT NOT NULL, done BOOLEAN NOT NULL, PRIMARY KEY (import_id, action, entry))"
                .into(),
        ] {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for t in [
            "blocklist_staged",
            "blocklist_imports",
            "blocklist_entries",
            "blocklist_sources",
        ] {
            db.execute_unprepared(&format!("DROP TABLE {t}")).await?;
        }
        Ok(())
    }
}
