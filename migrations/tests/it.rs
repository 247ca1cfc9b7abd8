//! `bangui-migrate` as a real process, several at once, on every test backend.

use std::process::{Command, Output};

use migrations::MigratorTrait;
use sea_orm_migration::sea_orm::{self, ConnectionTrait, DatabaseBackend, Statement};
use testkit::db::{TestDb, backends};

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
        let names: Vec<String> = migrations::Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        for newest in &names[names.len() - 3..] {
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

/// The schema as the database describes it, one line per column and index, sorted:
/// comparable across runs (no object ids, no dates).
async fn describe_schema(db: &sea_orm::DatabaseConnection) -> String {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || \
             CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END || \
             COALESCE(' default ' || column_default, '') AS line \
             FROM information_schema.columns WHERE table_schema = 'public' \
             UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' \
             ORDER BY 1"
        }
        _ => {
            "SELECT 'column ' || m.name || '.' || p.name || ' ' || lower(p.type) || \
             CASE WHEN p.\"notnull\" THEN ' not null' ELSE '' END || \
             COALESCE(' default ' || p.dflt_value, '') || CASE WHEN p.pk > 0 THEN ' pk' ELSE '' END AS line \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             UNION ALL SELECT 'index ' || COALESCE(sql, name || ' (automatic)') FROM sqlite_master \
             WHERE type = 'index' ORDER BY 1"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("describe schema");
    rows.iter()
        .map(|r| r.try_get::<String>("", "line").expect("line"))
        .filter(|l| !l.contains("seaql_migrations"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
        .collect()
}

/// Replays every migration on an empty database and compares the schema with the one
/// the code expects (`migrations/schema/<backend>.txt`). A change to a released migration,
/// or a migration that does not produce what the code reads, fails here. After a new
/// migration, regenerate the files with `BANGUI_BLESS_SCHEMA=1 cargo test -p migrations`
/// and review the diff.
#[tokio::test]
async fn replaying_every_migration_gives_the_schema_the_code_expects() {
    for backend in backends() {
        let test_db = TestDb::create(backend).await;
        let db = test_db.connect().await;
        migrations::up_guarded(&db).await.expect("migrate");
        let got = describe_schema(&db).await;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schema")
            .join(format!("{}.txt", backend.name()));
        if std::env::var_os("BANGUI_BLESS_SCHEMA").is_some() {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
            std::fs::write(&path, &got).expect("write schema");
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            got == want,
            "{backend:?}: the migrated schema differs from {}:\n--- expected\n{want}\n--- got\n{got}",
            path.display()
        );
        // The rollup sets the migrations record are the ones this build folds, or every
        // rollup writer would refuse to run.
        let sets: String = shared::db::query_one(
            &db,
            "SELECT sets FROM rollup_state WHERE name = 'ban_rollups'",
            [],
        )
        .await
        .expect("query")
        .expect("row")
        .try_get("", "sets")
        .expect("sets");
        assert_eq!(sets, shared::archive::rollup_layout(), "{backend:?}");
        db.close().await.ok();
        test_db.drop_db().await;
    }
}

/// Migration 23 on an archive that has data: every ban's matched lines come back
/// unchanged after packing (across more than one batch), the rollup rows keep their
/// counts under the new key, and `down` restores the text exactly.
#[tokio::test]
async fn packed_matches_keep_every_line_up_and_down() {
    const BANS: i64 = 2_500;
    let lines = |i: i64| -> Option<String> {
        (i % 5 != 0).then(|| {
            format!(
                r#"["2026-12-05 08:55:{:02} h sshd[{i}]: Failed password for \"u{i}\" from 192.0.2.{} port {}","ünï 🚫 ' ;"]"#,
                i % 60,
                i % 250,
                40_000 + i
            )
        })
    };
    for backend in backends() {
        let test_db = TestDb::create(backend).await;
        for args in [&["up"][..], &["down", "1"]] {
            let out = migrate(&test_db.url, args).wait_with_output().expect("run");
            assert!(out.status.success(), "{}", text(&out));
        }
        let db = test_db.connect().await;
        let sql_backend = db.get_database_backend();
        let run = |sql: String| {
            let db = &db;
            async move {
                db.execute_raw(Statement::from_string(sql_backend, sql))
                    .await
                    .expect("sql")
            }
        };
        for chunk in (0..BANS).collect::<Vec<_>>().chunks(500) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|i| {
                    let m = lines(*i).map_or("NULL".to_owned(), |m| {
                        format!("'{}'", m.replace('\'', "''"))
                    });
                    format!(
                        "('ban', 'sshd', '192.0.2.{}', {}, {}, 'auto', 'f2b', {m})",
                        i % 250,
                        1_700_000_000_000 + i,
                        1_700_000_000_000 + i
                    )
                })
                .collect();
            run(format!(
                "INSERT INTO ban_events (kind, jail, ip, at_ms, banned_at_ms, origin, source, matches) VALUES {}",
                rows.join(", ")
            ))
            .await;
        }
        run("INSERT INTO ban_rollups (dims, grain, bucket_ms, jail, origin, country, asn, bans) VALUES \
             ('j', 'h', 3600000, 'sshd', 'auto', '*', -1, 7), ('o', 'd', 0, '*', 'auto', '*', -1, 9)"
            .to_owned())
        .await;

        let out = migrate(&test_db.url, &["up"])
            .wait_with_output()
            .expect("up");
        assert!(out.status.success(), "{}", text(&out));
        let rows = db
            .query_all_raw(Statement::from_string(
                sql_backend,
                "SELECT id, matches_z FROM ban_events ORDER BY id",
            ))
            .await
            .expect("rows");
        assert_eq!(rows.len() as i64, BANS, "{backend:?}");
        for (i, r) in rows.iter().enumerate() {
            let packed: Option<Vec<u8>> = r.try_get("", "matches_z").expect("matches_z");
            assert_eq!(
                packed.and_then(|z| shared::archive::unpack_matches(&z)),
                lines(i as i64),
                "{backend:?} row {i}"
            );
        }
        let sum = db
            .query_one_raw(Statement::from_string(
                sql_backend,
                "SELECT CAST(SUM(bans) AS BIGINT) AS n FROM ban_rollups",
            ))
            .await
            .expect("sum")
            .expect("row");
        assert_eq!(sum.try_get::<i64>("", "n").expect("n"), 16, "{backend:?}");

        let out = migrate(&test_db.url, &["down", "1"])
            .wait_with_output()
            .expect("down");
        assert!(out.status.success(), "{}", text(&out));
        let rows = db
            .query_all_raw(Statement::from_string(
                sql_backend,
                "SELECT matches FROM ban_events ORDER BY id",
            ))
            .await
            .expect("rows");
        for (i, r) in rows.iter().enumerate() {
            let m: Option<String> = r.try_get("", "matches").expect("matches");
            assert_eq!(m, lines(i as i64), "{backend:?} row {i} after down");
        }
        drop(db);
        test_db.drop_db().await;
    }
}
