//! `bangui-migrate up | down [N] | status`: the one-off migration tool (a Kubernetes Job,
//! or by hand before an upgrade). The scheduler runs the same guarded `up` at start.

use anyhow::Context;
use migrations::{SchemaStatus, down_guarded, status, up_guarded};
use shared::config::Config;
use shared::db::{Role, connect};

const USAGE: &str = "usage: bangui-migrate up | down [N] | status";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_process().context("invalid configuration")?;
    shared::telemetry::init(&config.log);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("");
    let db = connect(&config.database_url, Role::Migrate)
        .await
        .with_context(|| format!("cannot open {}", config.database_url.redacted()))?;
    match command {
        "up" => {
            let applied = up_guarded(&db).await.context("migration failed")?;
            println!(
                "applied {applied} migration(s); schema at {}",
                SchemaStatus::expected_version()
            );
        }
        "down" => {
            let steps = match args.get(1) {
                None => 1,
                Some(n) => n
                    .parse()
                    .with_context(|| format!("{n:?} is not a number\n{USAGE}"))?,
            };
            down_guarded(&db, steps).await.context("rollback failed")?;
            println!("rolled back {steps} migration(s)");
        }
        "status" => {
            let s = status(&db).await.context("cannot read the schema state")?;
            for name in &s.applied {
                println!("applied  {name}");
            }
            for name in &s.pending {
                println!("pending  {name}");
            }
            for name in &s.unknown {
                println!("unknown  {name} (recorded by a newer BanGUI)");
            }
            println!(
                "{}",
                if s.is_current() {
                    "schema is current"
                } else {
                    "schema is NOT current"
                }
            );
        }
        _ => anyhow::bail!("{USAGE}"),
    }
    Ok(())
}
