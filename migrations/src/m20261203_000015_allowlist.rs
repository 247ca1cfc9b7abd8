//! The persistent allowlist (issue #18): addresses and networks fail2ban must never ban,
//! for every enabled jail or a list of jails, with a note, an author and an optional
//! expiry (`allowlist`); and what the scheduler has written into each jail's `.local`
//! for it (`allowlist_applied`), so it can tell its own `ignoreip` words from the
//! admin's when an entry goes.

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
        db.execute_unprepared(&format!(
            "CREATE TABLE allowlist ({id}, entry TEXT NOT NULL UNIQUE, jails TEXT, \
             note TEXT NOT NULL, author TEXT, created_at_ms BIGINT NOT NULL, \
             updated_at_ms BIGINT NOT NULL, expires_at_ms BIGINT)"
        ))
        .await?;
        db.execute_unprepared(
            "CREATE TABLE allowlist_applied (jail TEXT NOT NULL, entry TEXT NOT NULL, \
             PRIMARY KEY (jail, entry))",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP TABLE allowlist_applied")
            .await?;
        db.execute_unprepared("DROP TABLE allowlist").await?;
        Ok(())
    }
}
