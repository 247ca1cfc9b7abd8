//! Usernames are unique regardless of case: an index on `lower(username)`. Before it, a
//! check before the insert kept "Bob" and "bob" apart, but two creations at the same
//! moment could both pass it; the index decides in the database.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX users_username_lower ON users (lower(username))",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX users_username_lower")
            .await?;
        Ok(())
    }
}
