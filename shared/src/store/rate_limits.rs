//! Sign-in throttling (`rate_limits`), held in the database so it holds across every API
//! replica. Every attempt is *reserved* before the password is checked, in one atomic
//! statement per key, so parallel guesses cannot all slip through between a read of the
//! count and a later write of the failure.
//!
//! Three keys per attempt:
//! - `pair:<user>@<address>` (hard): 5 attempts in a minute, then the pair is blocked for a
//!   minute; every attempt while blocked is refused, counted, and doubles the block (up to
//!   an hour). After a block the count is remembered for an hour, so the first attempt
//!   after it is let through but a failure blocks again, twice as long.
//! - `ip:<address>` (hard): the same rule at 20 attempts, for one address guessing many
//!   usernames.
//! - `user:<user>` (soft): counted across every address but never blocks, so nobody can
//!   lock the only admin out from elsewhere; past 5 attempts in a minute each attempt is
//!   slowed down instead (see [`Reservation::slow_down_ms`]).
//!
//! A successful sign-in forgets the pair and the user key and gives the address its
//! attempt back.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use crate::store::fetch_optional;

/// How long a run of attempts is counted.
const WINDOW_MS: i64 = 60_000;
/// The first block; each attempt while blocked doubles it.
const BLOCK_MS: i64 = 60_000;
const MAX_BLOCK_MS: i64 = 3_600_000;
/// How long a key's count is remembered after its block ended.
const MEMORY_MS: i64 = MAX_BLOCK_MS;
const PAIR_ATTEMPTS: i64 = 5;
const ADDRESS_ATTEMPTS: i64 = 20;
const USER_ATTEMPTS: i64 = 5;
/// Slow-down per username attempt past [`USER_ATTEMPTS`], and its ceiling.
const USER_STEP_MS: i64 = 500;
const USER_MAX_DELAY_MS: i64 = 5_000;

/// Who is signing in, as the throttle keys it.
pub struct Attempt<'a> {
    /// The username as typed, lower-cased (known or not: unknown names are throttled alike).
    pub username: &'a str,
    /// The client address the API believes (see `BANGUI_TRUSTED_PROXIES`).
    pub address: &'a str,
}

impl Attempt<'_> {
    fn pair_key(&self) -> String {
        format!("pair:{}@{}", self.username, self.address)
    }
    fn address_key(&self) -> String {
        format!("ip:{}", self.address)
    }
    fn user_key(&self) -> String {
        format!("user:{}", self.username)
    }
}

/// The answer to [`reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The password may be checked, after waiting `slow_down_ms`.
    Granted { slow_down_ms: i64 },
    /// Refused without checking the password; the block lasts `retry_after_ms` more.
    Blocked { retry_after_ms: i64 },
}

impl Reservation {
    pub fn slow_down_ms(self) -> i64 {
        match self {
            Reservation::Granted { slow_down_ms } => slow_down_ms,
            Reservation::Blocked { .. } => 0,
        }
    }
}

/// Reserves one attempt on every key of `attempt` before its password is checked.
pub async fn reserve<C: ConnectionTrait>(
    db: &C,
    attempt: &Attempt<'_>,
) -> Result<Reservation, DbErr> {
    for (key, limit) in [
        (attempt.pair_key(), PAIR_ATTEMPTS),
        (attempt.address_key(), ADDRESS_ATTEMPTS),
    ] {
        if let Some(retry_after_ms) = reserve_hard(db, &key, limit).await? {
            return Ok(Reservation::Blocked { retry_after_ms });
        }
    }
    let attempts = count_soft(db, &attempt.user_key()).await?;
    let over = (attempts - USER_ATTEMPTS).max(0);
    Ok(Reservation::Granted {
        slow_down_ms: (over * USER_STEP_MS).min(USER_MAX_DELAY_MS),
    })
}

/// After a successful sign-in: forgets the pair and the username, and gives the address
/// its reserved attempt back.
pub async fn succeeded<C: ConnectionTrait>(db: &C, attempt: &Attempt<'_>) -> Result<(), DbErr> {
    crate::db::execute(
        db,
        "DELETE FROM rate_limits WHERE key IN ($1, $2)",
        [attempt.pair_key().into(), attempt.user_key().into()],
    )
    .await?;
    crate::db::execute(
        db,
        "UPDATE rate_limits SET failures = failures - 1 WHERE key = $1 AND failures > 0",
        [attempt.address_key().into()],
    )
    .await
    .map(|_| ())
}

#[derive(FromQueryResult)]
struct Count {
    failures: i32,
}

#[derive(FromQueryResult)]
struct Left {
    left_ms: i64,
}

/// A key's count starts over when its window has passed and it has not been blocked
/// for [`MEMORY_MS`].
fn starts_over() -> String {
    format!(
        "(rate_limits.window_start_ms < {{now_ms}} - {WINDOW_MS} \
         AND rate_limits.blocked_until_ms < {{now_ms}} - {MEMORY_MS})"
    )
}

/// The end of the block for a count of `n` attempts against `limit`: a minute at the
/// limit, doubled for every attempt past it, an hour from the sixth doubling on.
fn block_until(n: &str, limit: i64) -> String {
    format!(
        "{{now_ms}} + CASE {n} - {limit} WHEN 0 THEN {BLOCK_MS} WHEN 1 THEN {} \
           WHEN 2 THEN {} WHEN 3 THEN {} WHEN 4 THEN {} WHEN 5 THEN {} ELSE {MAX_BLOCK_MS} END",
        BLOCK_MS * 2,
        BLOCK_MS * 4,
        BLOCK_MS * 8,
        BLOCK_MS * 16,
        BLOCK_MS * 32,
    )
}

/// One attempt on a hard key. The upsert only counts the attempt when the key is not
/// blocked (its `WHERE`), and blocks the key in the same statement once the attempt
/// reaches the limit, so of any number of parallel attempts exactly the first `limit`
/// get through. A refused attempt is counted too and lengthens the block.
async fn reserve_hard<C: ConnectionTrait>(
    db: &C,
    key: &str,
    limit: i64,
) -> Result<Option<i64>, DbErr> {
    let over = starts_over();
    let next = format!("CASE WHEN {over} THEN 1 ELSE rate_limits.failures + 1 END");
    let granted = format!(
        "INSERT INTO rate_limits (key, window_start_ms, failures, blocked_until_ms) \
         VALUES ($1, {{now_ms}}, 1, CASE WHEN 1 >= {limit} THEN {first} ELSE 0 END) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = {next}, \
           window_start_ms = CASE WHEN {over} THEN {{now_ms}} ELSE rate_limits.window_start_ms END, \
           blocked_until_ms = CASE WHEN {next} >= {limit} THEN {until} \
                              ELSE rate_limits.blocked_until_ms END \
         WHERE rate_limits.blocked_until_ms <= {{now_ms}} \
         RETURNING failures",
        first = block_until("1", limit),
        until = block_until(&next, limit),
    );
    let refused = format!(
        "UPDATE rate_limits SET failures = failures + 1, blocked_until_ms = {until} \
         WHERE key = $1 AND blocked_until_ms > {{now_ms}} \
         RETURNING blocked_until_ms - {{now_ms}} AS left_ms",
        until = block_until("failures + 1", limit),
    );
    // The key may come unblocked between the two statements (its block just ended):
    // then the attempt is tried again as a granted one.
    for _ in 0..3 {
        let counted: Option<Count> = fetch_optional(db, &granted, [key.into()]).await?;
        if counted.is_some() {
            return Ok(None);
        }
        let left: Option<Left> = fetch_optional(db, &refused, [key.into()]).await?;
        if let Some(left) = left {
            return Ok(Some(left.left_ms.max(1)));
        }
    }
    Ok(Some(BLOCK_MS))
}

/// One attempt on a soft key: counted, never refused. Returns the attempts in the window.
async fn count_soft<C: ConnectionTrait>(db: &C, key: &str) -> Result<i64, DbErr> {
    let count: Option<Count> = fetch_optional(
        db,
        &format!(
            "INSERT INTO rate_limits (key, window_start_ms, failures, blocked_until_ms) \
             VALUES ($1, {{now_ms}}, 1, 0) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN rate_limits.window_start_ms < {{now_ms}} - {WINDOW_MS} \
                          THEN 1 ELSE rate_limits.failures + 1 END, \
               window_start_ms = CASE WHEN rate_limits.window_start_ms < {{now_ms}} - {WINDOW_MS} \
                          THEN {{now_ms}} ELSE rate_limits.window_start_ms END \
             RETURNING failures"
        ),
        [key.into()],
    )
    .await?;
    Ok(count.map_or(1, |c| i64::from(c.failures)))
}
