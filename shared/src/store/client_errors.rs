//! The browser's error reports (`client_errors`), kept a week and read grouped by message
//! on the System page. The API's replicas share nothing but the database, so a report
//! taken by one replica is seen from every other.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use crate::store::fetch_all;

/// How long reports are kept.
pub const KEEP_MS: i64 = 7 * 86_400_000;

/// At most this many reports are kept per hour, whatever their source: the endpoint is
/// public (a page can fail before sign-in), so a flood from many addresses must not fill
/// the database. Reports over it are still logged and counted by the API.
pub const MAX_PER_HOUR: i64 = 200;

/// One report, already scrubbed of secrets and cut to size.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub kind: &'a str,
    pub message: &'a str,
    pub url: &'a str,
    pub request_id: Option<&'a str>,
    /// The signed-in user, when the report came with a session.
    pub username: Option<&'a str>,
}

/// Keeps a report unless [`MAX_PER_HOUR`] were kept in the last hour; returns whether
/// it was kept.
pub async fn insert<C: ConnectionTrait>(db: &C, report: &Report<'_>) -> Result<bool, DbErr> {
    crate::db::execute(
        db,
        &format!(
            "INSERT INTO client_errors (at_ms, kind, message, url, request_id, username) \
             SELECT {{now_ms}}, $1, $2, $3, $4, $5 WHERE (SELECT COUNT(*) FROM \
             (SELECT 1 FROM client_errors WHERE at_ms > {{now_ms}} - 3600000 LIMIT {MAX_PER_HOUR}) r) \
             < {MAX_PER_HOUR}"
        ),
        [
            report.kind.into(),
            report.message.into(),
            report.url.into(),
            report.request_id.map(str::to_owned).into(),
            report.username.map(str::to_owned).into(),
        ],
    )
    .await
    .map(|n| n > 0)
}

/// Reports of one kind with one message.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Group {
    pub kind: String,
    pub message: String,
    pub count: i64,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
    /// The page and the request id of the newest report in the group.
    pub last_url: String,
    pub last_request_id: Option<String>,
    pub users: i64,
}

/// Reports since `since_ms`, grouped by kind and message, the most recent group first.
pub async fn groups<C: ConnectionTrait>(
    db: &C,
    since_ms: i64,
    limit: u32,
) -> Result<Vec<Group>, DbErr> {
    fetch_all(
        db,
        "SELECT g.kind, g.message, g.count, g.first_at_ms, g.last_at_ms, g.users, \
         e.url AS last_url, e.request_id AS last_request_id FROM \
         (SELECT kind, message, COUNT(*) AS count, MIN(at_ms) AS first_at_ms, MAX(at_ms) AS last_at_ms, \
          MAX(id) AS last_id, COUNT(DISTINCT username) AS users FROM client_errors \
          WHERE at_ms >= $1 GROUP BY kind, message) g \
         JOIN client_errors e ON e.id = g.last_id ORDER BY g.last_at_ms DESC, g.kind, g.message LIMIT $2",
        [since_ms.into(), i64::from(limit).into()],
    )
    .await
}
