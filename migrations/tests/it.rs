//! `bangui-migrate` as a real process, several at once, on every test backend.

use std::process::{Command, Output};

use migrations::MigratorTrait;
use shared::testing::{TestDb, backends};

const BIN: &str = env!("CARGO_BIN_EXE_bangui-migrate");

fn migrate(url: &str, args: &[&str]) -> std::process::Child {
    Command::new(BIN)
        .args(args)
        .env("BANGUI_DATABASE_URL", url)
        .env("BANGUI_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start bangui-migrate")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn concurrent_migrators_apply_each_migration_exactly_once() {
    for backend in backends() {
        let db = TestDb::create(backend).await;
        let all = migrations::Migrator::migrations().len();
        let children: Vec<_> = (0..4).map(|_| migrate(&db.url, &["up"])).collect();
        let outputs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().expect("wait"))
            .collect();
        for out in &outputs {
            assert!(out.status.success(), "{backend:?}: {}", text(out));
        }
        let applied_once = outputs
            .iter()
            .filter(|o| text(o).contains(&format!("applied {all} migration")))
            .count();
        let applied_none = outputs
            .iter()
            .filter(|o| text(o).contains("applied 0 migration"))
            .count();
        assert_eq!((applied_once, applied_none), (1, 3), "{backend:?}");

        let status = migrate(&db.url, &["status"])
            .wait_with_output()
            .expect("status");
        assert!(
            text(&status).contains("schema is current"),
            "{}",
            text(&status)
        );
        db.drop_db().await;
    }
}

#[tokio::test]
async fn down_then_up_round_trips_and_status_reports_pending() {
    for backend in backends() {
        let db = TestDb::create(backend).await;
        assert!(
            migrate(&db.url, &["up"])
                .wait_with_output()
                .expect("up")
                .status
                .success()
        );
        let down = migrate(&db.url, &["down", "3"])
            .wait_with_output()
            .expect("down");
        assert!(down.status.success(), "{}", text(&down));
        let status = migrate(&db.url, &["status"])
            .wait_with_output()
            .expect("status");
        for newest in [
            "m20261127_000005_ip_week_index",
            "m20261127_000006_pg_event_time_index",
            "m20261127_000007_asn_rollup_any_origin",
        ] {
            assert!(
                text(&status).contains(&format!("pending  {newest}")),
                "{}",
                text(&status)
            );
        }
        assert!(text(&status).contains("NOT current"));
        assert!(
            migrate(&db.url, &["up"])
                .wait_with_output()
                .expect("up")
                .status
                .success()
        );
        let bad = migrate(&db.url, &["sideways"])
            .wait_with_output()
            .expect("bad");
        assert!(!bad.status.success());
        assert!(
            text(&bad).contains("usage: bangui-migrate"),
            "{}",
            text(&bad)
        );
        db.drop_db().await;
    }
}
