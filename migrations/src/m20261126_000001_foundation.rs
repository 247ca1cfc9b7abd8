//! The foundation: the scheduler lease, settings, the command queue, and the tables the
//! scheduler's fenced heartbeat job and job-run log write to.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SchedulerLease {
    Table,
    Name,
    Holder,
    Token,
    AcquiredAtMs,
    RenewedAtMs,
    ExpiresAtMs,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
    UpdatedAtMs,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum Commands {
    Table,
    Id,
    Kind,
    Payload,
    Status,
    RequestedBy,
    RequestId,
    CreatedAtMs,
    StartedAtMs,
    FinishedAtMs,
    Attempts,
    Result,
    ErrorCode,
    Error,
    LeaseToken,
}

#[derive(DeriveIden)]
enum SchedulerHeartbeats {
    Table,
    Id,
    Holder,
    Token,
    WrittenAtMs,
}

#[derive(DeriveIden)]
enum SchedulerJobRuns {
    Table,
    Id,
    Job,
    Holder,
    Token,
    StartedAtMs,
    FinishedAtMs,
    Ok,
    Error,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SchedulerLease::Table)
                    .col(string(SchedulerLease::Name).primary_key())
                    .col(string(SchedulerLease::Holder))
                    .col(big_integer(SchedulerLease::Token))
                    .col(big_integer(SchedulerLease::AcquiredAtMs))
                    .col(big_integer(SchedulerLease::RenewedAtMs))
                    .col(big_integer(SchedulerLease::ExpiresAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .col(string(Settings::Key).primary_key())
                    .col(text(Settings::Value))
                    .col(big_integer(Settings::UpdatedAtMs))
                    .col(string_null(Settings::UpdatedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Commands::Table)
                    .col(big_pk_auto(Commands::Id))
                    .col(string(Commands::Kind))
                    .col(text(Commands::Payload))
                    .col(string(Commands::Status))
                    .col(string_null(Commands::RequestedBy))
                    .col(string_null(Commands::RequestId))
                    .col(big_integer(Commands::CreatedAtMs))
                    .col(big_integer_null(Commands::StartedAtMs))
                    .col(big_integer_null(Commands::FinishedAtMs))
                    .col(integer(Commands::Attempts).default(0))
                    .col(text_null(Commands::Result))
                    .col(string_null(Commands::ErrorCode))
                    .col(text_null(Commands::Error))
                    .col(big_integer_null(Commands::LeaseToken))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("commands_status_id")
                    .table(Commands::Table)
                    .col(Commands::Status)
                    .col(Commands::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SchedulerHeartbeats::Table)
                    .col(big_pk_auto(SchedulerHeartbeats::Id))
                    .col(string(SchedulerHeartbeats::Holder))
                    .col(big_integer(SchedulerHeartbeats::Token))
                    .col(big_integer(SchedulerHeartbeats::WrittenAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("scheduler_heartbeats_written_at")
                    .table(SchedulerHeartbeats::Table)
                    .col(SchedulerHeartbeats::WrittenAtMs)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SchedulerJobRuns::Table)
                    .col(big_pk_auto(SchedulerJobRuns::Id))
                    .col(string(SchedulerJobRuns::Job))
                    .col(string(SchedulerJobRuns::Holder))
                    .col(big_integer(SchedulerJobRuns::Token))
                    .col(big_integer(SchedulerJobRuns::StartedAtMs))
                    .col(big_integer(SchedulerJobRuns::FinishedAtMs))
                    .col(boolean(SchedulerJobRuns::Ok))
                    .col(text_null(SchedulerJobRuns::Error))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("scheduler_job_runs_job_id")
                    .table(SchedulerJobRuns::Table)
                    .col(SchedulerJobRuns::Job)
                    .col(SchedulerJobRuns::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SchedulerJobRuns::Table.into_iden(),
            SchedulerHeartbeats::Table.into_iden(),
            Commands::Table.into_iden(),
            Settings::Table.into_iden(),
            SchedulerLease::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
