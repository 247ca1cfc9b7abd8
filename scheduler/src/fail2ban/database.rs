//! Read-only access to fail2ban's own sqlite database (PROTOCOL.md §4): it adds ban
//! times, ban durations, ban counts, failures and matched lines to what the socket says.
//! Opened read-only with a short busy timeout; every query is one short statement,
//! because fail2ban (journal_mode MEMORY) cannot write while we hold a read lock.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement};

/// One row of fail2ban's `bans` (or `bips`) table.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedBan {
    pub jail: String,
    pub ip: String,
    pub time_of_ban_s: i64,
    /// -1 means permanent.
    pub bantime_s: i64,
    pub bancount: i64,
    pub failures: Option<i64>,
    /// Matched log lines, as JSON text (at most dbmaxmatches).
    pub matches: Option<String>,
}

impl ArchivedBan {
    /// fail2ban's own data shows no failures and no matches: a manual `banip`.
    pub fn looks_manual(&self) -> bool {
        self.failures == Some(0) && self.matches.as_deref().is_none_or(|m| m == "[]")
    }

    pub fn expires_at_s(&self) -> Option<i64> {
        (self.bantime_s >= 0).then(|| self.time_of_ban_s + self.bantime_s)
    }
}

#[derive(Clone)]
pub struct Fail2banDb {
    path: PathBuf,
    db: DatabaseConnection,
}

impl Fail2banDb {
    pub async fn open(path: &Path) -> Result<Self, DbErr> {
        if !path.exists() {
            return Err(DbErr::Custom(format!("{} does not exist", path.display())));
        }
        let mut options = ConnectOptions::new(format!("sqlite://{}?mode=ro", path.display()));
        options
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(3))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o: SqliteConnectOptions| {
                o.read_only(true)
                    .busy_timeout(Duration::from_secs(1))
                    .foreign_keys(false)
            });
        let db = Database::connect(options).await?;
        Ok(Self {
            path: path.to_path_buf(),
            db,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Ban events at or after `since_s`, oldest first, at most `limit`.
    pub async fn bans_since(&self, since_s: i64, limit: i64) -> Result<Vec<ArchivedBan>, DbErr> {
        self.query(
            "SELECT jail, ip, timeofban, bantime, bancount, CAST(data AS TEXT) AS data FROM bans \
             WHERE timeofban >= ? ORDER BY timeofban, rowid LIMIT ?",
            vec![since_s.into(), limit.into()],
        )
        .await
    }

    /// The latest ban of each current (ip, jail) pair, from `bips`, but for the jails in
    /// `except` (the ban sync did not read them from fail2ban this time).
    pub async fn current(&self, except: &[String]) -> Result<Vec<ArchivedBan>, DbErr> {
        let mut sql = String::from(
            "SELECT jail, ip, timeofban, bantime, bancount, CAST(data AS TEXT) AS data FROM bips",
        );
        if !except.is_empty() {
            sql.push_str(" WHERE jail NOT IN (");
            sql.push_str(&vec!["?"; except.len()].join(", "));
            sql.push(')');
        }
        self.query(&sql, except.iter().map(|j| j.clone().into()).collect())
            .await
    }

    async fn query(
        &self,
        sql: &str,
        values: Vec<sea_orm::Value>,
    ) -> Result<Vec<ArchivedBan>, DbErr> {
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                sql,
                values,
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let data: Option<String> = r.try_get("", "data").ok().flatten();
                let (failures, matches) = parse_data(data.as_deref());
                Ok(ArchivedBan {
                    jail: r.try_get("", "jail")?,
                    ip: r.try_get::<Option<String>>("", "ip")?.unwrap_or_default(),
                    time_of_ban_s: r.try_get("", "timeofban")?,
                    bantime_s: r.try_get("", "bantime")?,
                    bancount: r.try_get("", "bancount")?,
                    failures,
                    matches,
                })
            })
            .collect()
    }
}

/// The `data` column: `{"matches": [...], "failures": n, ...}`.
fn parse_data(data: Option<&str>) -> (Option<i64>, Option<String>) {
    let Some(v) = data.and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()) else {
        return (None, None);
    };
    let failures = v.get("failures").and_then(serde_json::Value::as_i64);
    let matches = v.get("matches").map(|m| {
        // Each match is a list of parts or a plain line; store whole lines.
        let lines: Vec<String> = m
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| match x {
                        serde_json::Value::Array(parts) => parts
                            .iter()
                            .filter_map(serde_json::Value::as_str)
                            .collect::<Vec<_>>()
                            .join(""),
                        other => other.as_str().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        serde_json::to_string(&lines).unwrap_or_else(|_| "[]".into())
    });
    (failures, matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_of_automatic_and_manual_bans() {
        let auto = r#"{"matches": [["", "Nov 26 10:00:01", " host sshd[1]: Failed password"], "plain line"], "failures": 3, "ip4": "203.0.113.9"}"#;
        let (f, m) = parse_data(Some(auto));
        assert_eq!(f, Some(3));
        assert_eq!(
            m.as_deref(),
            Some(r#"["Nov 26 10:00:01 host sshd[1]: Failed password","plain line"]"#)
        );
        let (f, m) = parse_data(Some(r#"{"matches": [], "failures": 0}"#));
        let ban = ArchivedBan {
            jail: "j".into(),
            ip: "x".into(),
            time_of_ban_s: 0,
            bantime_s: 60,
            bancount: 1,
            failures: f,
            matches: m,
        };
        assert!(ban.looks_manual());
        assert_eq!(parse_data(Some("not json")), (None, None));
        assert_eq!(parse_data(None), (None, None));
    }
}
