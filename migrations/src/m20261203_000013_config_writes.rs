//! Writing fail2ban's configuration (ADR 0008, issue #18): the text of every file the
//! scheduler read (`config_files.content`, so the API can show and diff a `.local`
//! without reading files), whether the scheduler can write the folders it may write
//! (`config_reads.writable`: BanGUI says "read-only" instead of failing writes one by
//! one), and one row per write (`config_revisions`: the content before and after, who,
//! which command, and how it ended). A revision is written before its file, so a leader
//! lost mid-write leaves the next one enough to finish or roll back.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn id_column(m: &SchemaManager) -> &'static str {
    match m.get_database_backend() {
        DatabaseBackend::Postgres => "id BIGSERIAL PRIMARY KEY",
        _ => "id INTEGER PRIMARY KEY AUTOINCREMENT",
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("ALTER TABLE config_files ADD COLUMN content TEXT")
            .await?;
        db.execute_unprepared(
            "ALTER TABLE config_reads ADD COLUMN writable BOOLEAN NOT NULL DEFAULT false",
        )
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TABLE config_revisions ({id}, \
             path TEXT NOT NULL, jail TEXT, reason TEXT NOT NULL, command_id BIGINT, \
             previous_content TEXT, content TEXT, \
             author TEXT, request_id TEXT, state TEXT NOT NULL, error TEXT, \
             created_at_ms BIGINT NOT NULL, finished_at_ms BIGINT)",
            id = id_column(m)
        ))
        .await?;
        db.execute_unprepared("CREATE INDEX config_revisions_path ON config_revisions (path, id)")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX config_revisions_command ON config_revisions (command_id)",
        )
        .await?;
        // One configuration write in flight at a time: a second is refused at once (409)
        // instead of queueing behind a change it has not seen.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX commands_one_config_write ON commands (kind) \
             WHERE kind = 'config_write' AND status IN ('pending', 'running')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX commands_one_config_write")
            .await?;
        db.execute_unprepared("DROP TABLE config_revisions").await?;
        db.execute_unprepared("ALTER TABLE config_reads DROP COLUMN writable")
            .await?;
        db.execute_unprepared("ALTER TABLE config_files DROP COLUMN content")
            .await?;
        Ok(())
    }
}
