//! Accounts and access: users, sessions, API tokens, login rate limits held in the
//! database (so every API replica shares them), and the append-only audit log.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    PasswordHash,
    Role,
    Disabled,
    CreatedAtMs,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenHash,
    UserId,
    CreatedAtMs,
    LastSeenAtMs,
    ExpiresAtMs,
    ClientIp,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    Prefix,
    TokenHash,
    Role,
    CreatedAtMs,
    ExpiresAtMs,
    LastUsedAtMs,
    RevokedAtMs,
}

#[derive(DeriveIden)]
enum RateLimits {
    Table,
    Key,
    WindowStartMs,
    Failures,
    BlockedUntilMs,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    AtMs,
    Username,
    Role,
    ClientIp,
    RequestId,
    Action,
    Target,
    Result,
    Details,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(big_pk_auto(Users::Id))
                .col(string_uniq(Users::Username))
                .col(text(Users::PasswordHash))
                .col(string(Users::Role))
                .col(boolean(Users::Disabled).default(false))
                .col(big_integer(Users::CreatedAtMs))
                .col(big_integer(Users::UpdatedAtMs))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(string(Sessions::TokenHash).primary_key())
                .col(big_integer(Sessions::UserId))
                .col(big_integer(Sessions::CreatedAtMs))
                .col(big_integer(Sessions::LastSeenAtMs))
                .col(big_integer(Sessions::ExpiresAtMs))
                .col(string_null(Sessions::ClientIp))
                .foreign_key(
                    ForeignKey::create()
                        .from(Sessions::Table, Sessions::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("sessions_user")
                .table(Sessions::Table)
                .col(Sessions::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .col(big_pk_auto(ApiTokens::Id))
                .col(big_integer(ApiTokens::UserId))
                .col(string(ApiTokens::Name))
                .col(string(ApiTokens::Prefix))
                .col(string_uniq(ApiTokens::TokenHash))
                .col(string(ApiTokens::Role))
                .col(big_integer(ApiTokens::CreatedAtMs))
                .col(big_integer_null(ApiTokens::ExpiresAtMs))
                .col(big_integer_null(ApiTokens::LastUsedAtMs))
                .col(big_integer_null(ApiTokens::RevokedAtMs))
                .foreign_key(
                    ForeignKey::create()
                        .from(ApiTokens::Table, ApiTokens::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RateLimits::Table)
                .col(string(RateLimits::Key).primary_key())
                .col(big_integer(RateLimits::WindowStartMs))
                .col(integer(RateLimits::Failures).default(0))
                .col(big_integer(RateLimits::BlockedUntilMs).default(0))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(big_pk_auto(AuditLog::Id))
                .col(big_integer(AuditLog::AtMs))
                .col(string_null(AuditLog::Username))
                .col(string_null(AuditLog::Role))
                .col(string_null(AuditLog::ClientIp))
                .col(string_null(AuditLog::RequestId))
                .col(string(AuditLog::Action))
                .col(string_null(AuditLog::Target))
                .col(string(AuditLog::Result))
                .col(text_null(AuditLog::Details))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("audit_log_at")
                .table(AuditLog::Table)
                .col(AuditLog::AtMs)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            RateLimits::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
