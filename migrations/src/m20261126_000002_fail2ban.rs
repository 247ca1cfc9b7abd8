//! fail2ban snapshots written by the scheduler (`f2b_status`, `f2b_jails`, `f2b_bans`),
//! the ban event archive (`ban_events`) and the archive import's high-water mark.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum F2bStatus {
    Table,
    Server,
    Reachable,
    Version,
    JailCount,
    CurrentlyBanned,
    TotalBanned,
    CurrentlyFailed,
    TotalFailed,
    Socket,
    DbFile,
    ConfigDir,
    CheckedAtMs,
    LastOkAtMs,
    Error,
    LeaseToken,
}

#[derive(DeriveIden)]
enum F2bJails {
    Table,
    Name,
    Running,
    Idle,
    CurrentlyFailed,
    TotalFailed,
    CurrentlyBanned,
    TotalBanned,
    Settings,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum F2bBans {
    Table,
    Jail,
    Ip,
    BannedAtMs,
    ExpiresAtMs,
    BantimeS,
    Bancount,
    Origin,
    Failures,
    SeenAtMs,
}

#[derive(DeriveIden)]
enum BanEvents {
    Table,
    Id,
    Kind,
    Jail,
    Ip,
    AtMs,
    BannedAtMs,
    BantimeS,
    Bancount,
    Origin,
    Failures,
    Matches,
    Source,
}

#[derive(DeriveIden)]
enum ArchiveState {
    Table,
    Name,
    HighWaterS,
    UpdatedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(F2bStatus::Table)
                .col(string(F2bStatus::Server).primary_key())
                .col(boolean(F2bStatus::Reachable))
                .col(string_null(F2bStatus::Version))
                .col(integer(F2bStatus::JailCount).default(0))
                .col(big_integer(F2bStatus::CurrentlyBanned).default(0))
                .col(big_integer(F2bStatus::TotalBanned).default(0))
                .col(big_integer(F2bStatus::CurrentlyFailed).default(0))
                .col(big_integer(F2bStatus::TotalFailed).default(0))
                .col(text(F2bStatus::Socket))
                .col(text_null(F2bStatus::DbFile))
                .col(text(F2bStatus::ConfigDir))
                .col(big_integer(F2bStatus::CheckedAtMs))
                .col(big_integer_null(F2bStatus::LastOkAtMs))
                .col(text_null(F2bStatus::Error))
                .col(big_integer(F2bStatus::LeaseToken))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(F2bJails::Table)
                .col(string(F2bJails::Name).primary_key())
                .col(boolean(F2bJails::Running))
                .col(boolean(F2bJails::Idle).default(false))
                .col(big_integer(F2bJails::CurrentlyFailed).default(0))
                .col(big_integer(F2bJails::TotalFailed).default(0))
                .col(big_integer(F2bJails::CurrentlyBanned).default(0))
                .col(big_integer(F2bJails::TotalBanned).default(0))
                .col(text(F2bJails::Settings))
                .col(big_integer(F2bJails::UpdatedAtMs))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(F2bBans::Table)
                .col(string(F2bBans::Jail))
                .col(string(F2bBans::Ip))
                .col(big_integer(F2bBans::BannedAtMs))
                .col(big_integer_null(F2bBans::ExpiresAtMs))
                .col(big_integer_null(F2bBans::BantimeS))
                .col(integer(F2bBans::Bancount).default(1))
                .col(string(F2bBans::Origin))
                .col(integer_null(F2bBans::Failures))
                .col(big_integer(F2bBans::SeenAtMs))
                .primary_key(Index::create().col(F2bBans::Jail).col(F2bBans::Ip))
                .to_owned(),
        )
        .await?;
        // Paging a jail's bans newest first, and searching IPs by prefix.
        m.create_index(
            Index::create()
                .name("f2b_bans_jail_banned_at")
                .table(F2bBans::Table)
                .col(F2bBans::Jail)
                .col(F2bBans::BannedAtMs)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("f2b_bans_ip")
                .table(F2bBans::Table)
                .col(F2bBans::Ip)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(BanEvents::Table)
                .col(big_pk_auto(BanEvents::Id))
                .col(string(BanEvents::Kind))
                .col(string(BanEvents::Jail))
                .col(string(BanEvents::Ip))
                .col(big_integer(BanEvents::AtMs))
                .col(big_integer(BanEvents::BannedAtMs))
                .col(big_integer_null(BanEvents::BantimeS))
                .col(integer(BanEvents::Bancount).default(1))
                .col(string(BanEvents::Origin))
                .col(integer_null(BanEvents::Failures))
                .col(text_null(BanEvents::Matches))
                .col(string(BanEvents::Source))
                .to_owned(),
        )
        .await?;
        // The natural key: one ban (or its end) of one IP in one jail at one time.
        m.create_index(
            Index::create()
                .name("ban_events_natural")
                .table(BanEvents::Table)
                // Time first: new events land at the end of the index instead of all
                // over it (IP order), which is what limits the archive's write rate.
                .col(BanEvents::BannedAtMs)
                .col(BanEvents::Jail)
                .col(BanEvents::Ip)
                .col(BanEvents::Kind)
                .unique()
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("ban_events_at", vec![BanEvents::AtMs]),
            ("ban_events_ip_at", vec![BanEvents::Ip, BanEvents::AtMs]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(BanEvents::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(ArchiveState::Table)
                .col(string(ArchiveState::Name).primary_key())
                .col(big_integer(ArchiveState::HighWaterS))
                .col(big_integer(ArchiveState::UpdatedAtMs))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ArchiveState::Table.into_iden(),
            BanEvents::Table.into_iden(),
            F2bBans::Table.into_iden(),
            F2bJails::Table.into_iden(),
            F2bStatus::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
