//! Answers of the archive's read endpoints (dashboard panels, history pages), computed
//! once per replica and shared by every tab asking the same question.
//!
//! Many open tabs ask the same few questions (the dashboard's default range, its panels,
//! polled), and each answer costs milliseconds of database work. An answer is reused
//! while the archive is unchanged: its version is the newest event id and the rollups'
//! mark and change time (`rollup_state`), which every writer of archived rows moves
//! (the archive import and ban sync insert events; the rollup job, retention and geo
//! correction commit through `lock_rollups`). A reused answer is also never older than
//! [`MAX_AGE`], so a range ending "now" slides with the clock. Concurrent requests for a
//! missing answer wait for one computation instead of each running the queries.
//!
//! The cache sits behind authentication (each handler checks the role first) and is
//! keyed by the request's path and query, which hold every input of the answer; the
//! answer does not depend on who asks.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbErr};
use shared::db;
use tokio::sync::OnceCell;

use crate::error::{ApiError, ApiResult};

/// The longest an answer is reused, even when the archive has not changed.
pub const MAX_AGE: Duration = Duration::from_secs(10);
/// Answers kept at most (a few dozen distinct questions are open at once in practice;
/// the largest answer, a 500-row page, is about 150 KB).
const MAX_ENTRIES: usize = 128;

type Shared = Arc<dyn Any + Send + Sync>;

/// The state of the archive an answer was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    newest_event: Option<i64>,
    rollup_mark: Option<i64>,
    rollup_changed_at: Option<i64>,
}

struct Entry {
    version: Version,
    born: Instant,
    answer: Arc<OnceCell<Shared>>,
}

/// One replica's shared answers.
pub struct Answers {
    entries: Mutex<HashMap<String, Entry>>,
    enabled: bool,
}

impl Answers {
    pub fn new(enabled: bool) -> Arc<Self> {
        Arc::new(Self {
            entries: Mutex::new(HashMap::new()),
            enabled,
        })
    }

    /// The answer to `key` under the archive as it is now: reused, or computed by
    /// `compute` (once, however many ask at the same time). Errors are not kept.
    pub async fn get<T, Fut>(
        &self,
        db: &impl ConnectionTrait,
        key: &str,
        compute: Fut,
    ) -> ApiResult<T>
    where
        T: Clone + Send + Sync + 'static,
        Fut: Future<Output = ApiResult<T>>,
    {
        if !self.enabled {
            return compute.await;
        }
        let version = current_version(db).await.map_err(ApiError::from)?;
        let cell = self.slot(key, version);
        let mut computed = false;
        let answer = cell
            .get_or_try_init(|| async {
                computed = true;
                compute.await.map(|t| Arc::new(t) as Shared)
            })
            .await?;
        metrics::counter!("api_answer_cache_total", "result" => if computed { "miss" } else { "hit" })
            .increment(1);
        // The key holds the endpoint's path, and each endpoint answers one type.
        answer.downcast_ref::<T>().cloned().ok_or_else(|| {
            ApiError::from(DbErr::Custom(format!("answer cache type clash on {key}")))
        })
    }

    /// The entry for `key` at `version`, a fresh one when there is none or it is stale.
    fn slot(&self, key: &str, version: Version) -> Arc<OnceCell<Shared>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let fresh = |e: &Entry| e.version == version && now.duration_since(e.born) < MAX_AGE;
        if let Some(e) = entries.get(key).filter(|e| fresh(e)) {
            return e.answer.clone();
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| fresh(e));
            if entries.len() >= MAX_ENTRIES
                && let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.born)
                    .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        let answer = Arc::new(OnceCell::new());
        entries.insert(
            key.to_owned(),
            Entry {
                version,
                born: now,
                answer: answer.clone(),
            },
        );
        answer
    }
}

async fn current_version(db: &impl ConnectionTrait) -> Result<Version, DbErr> {
    let row = db::query_one(
        db,
        "SELECT (SELECT MAX(id) FROM ban_events) AS newest_event, \
         (SELECT hwm_id FROM rollup_state WHERE name = 'ban_rollups') AS rollup_mark, \
         (SELECT updated_at_ms FROM rollup_state WHERE name = 'ban_rollups') AS rollup_changed_at",
        [],
    )
    .await?;
    Ok(match row {
        Some(r) => Version {
            newest_event: r.try_get("", "newest_event")?,
            rollup_mark: r.try_get("", "rollup_mark")?,
            rollup_changed_at: r.try_get("", "rollup_changed_at")?,
        },
        None => Version {
            newest_event: None,
            rollup_mark: None,
            rollup_changed_at: None,
        },
    })
}

/// The cache key of a request: its path and query, as sent.
pub fn key_of(req: &poem::Request) -> String {
    req.uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |pq| pq.as_str().to_owned())
}
