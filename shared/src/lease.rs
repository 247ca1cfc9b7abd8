//! The scheduler's heartbeat lease: one row per lease name, a fencing token that rises on
//! every change of holder, and every timestamp taken from the database's clock.
//!
//! Two halves live here: [`LeaseStore`] (the SQL, one atomic statement per operation) and
//! [`Elector`] (the pure decision of whether this process may act as leader, driven by
//! the outcomes of its renew attempts and its own monotonic clock). The scheduler's loop
//! glues them together; tests drive the `Elector` with injected time.

use std::time::{Duration, Instant};

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr, QueryResult,
    Value,
};
use serde::Serialize;

use crate::db;
use crate::duration::format_duration;

/// The lease every scheduler competes for.
pub const SCHEDULER_LEASE: &str = "scheduler";

/// TTL, renew interval and renew deadline, checked so that a leader always gives up
/// (deadline) before anyone else may take over (ttl), with room for one retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    pub ttl: Duration,
    pub renew_interval: Duration,
    pub renew_deadline: Duration,
}

impl LeaseTiming {
    pub fn new(
        ttl: Duration,
        renew_interval: Duration,
        renew_deadline: Duration,
    ) -> Result<Self, String> {
        if ttl <= renew_deadline {
            return Err(format!(
                "lease ttl ({}) must be longer than the renew deadline ({})",
                format_duration(ttl),
                format_duration(renew_deadline)
            ));
        }
        if renew_deadline.as_secs_f64() <= 1.2 * renew_interval.as_secs_f64() {
            return Err(format!(
                "renew deadline ({}) must be longer than 1.2 x the renew interval ({})",
                format_duration(renew_deadline),
                format_duration(renew_interval)
            ));
        }
        Ok(Self {
            ttl,
            renew_interval,
            renew_deadline,
        })
    }

    pub fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX)
    }
}

/// A grant of the lease to this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub token: i64,
    pub expires_at_ms: i64,
}

/// Who this process is and what it holds: the pair every fenced write carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub lease: String,
    pub holder: String,
    pub token: i64,
}

impl Fence {
    /// The predicate "the lease is still mine, with this token, and not expired", as SQL
    /// using placeholders `$first` (holder), `$first+1` (token) and `$first+2` (lease).
    pub fn predicate(&self, first: usize) -> String {
        format!(
            "EXISTS (SELECT 1 FROM scheduler_lease WHERE name = ${l} AND holder = ${h} \
             AND token = ${t} AND expires_at_ms > {{now_ms}})",
            h = first,
            t = first + 1,
            l = first + 2
        )
    }

    fn values(&self) -> [Value; 3] {
        [
            self.holder.clone().into(),
            self.token.into(),
            self.lease.clone().into(),
        ]
    }
}

/// Runs a leadership-dependent write. The template names the fencing predicate
/// `{fence}`; it is checked in the same statement as the write, so a process that lost
/// the lease (paused, partitioned, slow) writes nothing. Returns the rows written, which
/// is 0 when the fence refused.
pub async fn fenced_execute<C: ConnectionTrait>(
    db: &C,
    fence: &Fence,
    template: &str,
    values: Vec<Value>,
) -> Result<u64, DbErr> {
    let (sql, values) = fenced_statement(fence, template, values);
    db::execute(db, &sql, values).await
}

/// Like [`fenced_execute`], for statements with `RETURNING`.
pub async fn fenced_query<C: ConnectionTrait>(
    db: &C,
    fence: &Fence,
    template: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    let (sql, values) = fenced_statement(fence, template, values);
    db::query_all(db, &sql, values).await
}

/// Opens a transaction for several leadership-dependent writes, or `None` when the
/// lease is no longer ours. Commit it with [`commit_fenced`], which checks the lease
/// again at the end.
///
/// SQLite: `BEGIN IMMEDIATE` holds the single write lock for the whole transaction, so
/// nobody can take the lease over while it runs. PostgreSQL: the lease row is *not*
/// locked for the whole transaction (that would make the leader's own renewals wait
/// behind its long jobs and lose the lease); instead [`commit_fenced`] locks it
/// `FOR SHARE` just before committing, so the writes commit only if the lease is still
/// ours at that moment, and a takeover waits for that commit.
pub async fn fenced_transaction(
    db: &DatabaseConnection,
    fence: &Fence,
) -> Result<Option<DatabaseTransaction>, DbErr> {
    let txn = crate::store::write_transaction(db).await?;
    if !lease_still_held(&txn, fence, "").await? {
        txn.rollback().await?;
        return Ok(None);
    }
    Ok(Some(txn))
}

/// Commits a [`fenced_transaction`] if the lease is still ours; otherwise rolls it back
/// and returns `false`.
pub async fn commit_fenced(txn: DatabaseTransaction, fence: &Fence) -> Result<bool, DbErr> {
    let lock = if txn.get_database_backend() == DatabaseBackend::Postgres {
        " FOR SHARE"
    } else {
        ""
    };
    if !lease_still_held(&txn, fence, lock).await? {
        txn.rollback().await?;
        return Ok(false);
    }
    txn.commit().await?;
    Ok(true)
}

async fn lease_still_held(
    txn: &DatabaseTransaction,
    fence: &Fence,
    lock: &str,
) -> Result<bool, DbErr> {
    let sql = format!(
        "SELECT 1 AS held FROM scheduler_lease WHERE name = $3 AND holder = $1 AND token = $2 \
         AND expires_at_ms > {{now_ms}}{lock}"
    );
    Ok(db::query_one(txn, &sql, fence.values()).await?.is_some())
}

fn fenced_statement(fence: &Fence, template: &str, mut values: Vec<Value>) -> (String, Vec<Value>) {
    let sql = template.replace("{fence}", &fence.predicate(values.len() + 1));
    values.extend(fence.values());
    (sql, values)
}

/// The lease row as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseView {
    pub name: String,
    pub holder: String,
    pub token: i64,
    pub acquired_at_ms: i64,
    pub renewed_at_ms: i64,
    pub expires_at_ms: i64,
    /// The database clock when the row was read; the lease is valid while
    /// `expires_at_ms > now_ms` and the holder is not empty.
    pub now_ms: i64,
}

impl LeaseView {
    pub fn is_valid(&self) -> bool {
        !self.holder.is_empty() && self.expires_at_ms > self.now_ms
    }
}

/// The SQL side of the lease for one named lease and one holder identity.
#[derive(Debug, Clone)]
pub struct LeaseStore {
    pub name: String,
    pub holder: String,
    pub ttl_ms: i64,
}

const ACQUIRE_OR_RENEW: &str = "\
INSERT INTO scheduler_lease (name, holder, token, acquired_at_ms, renewed_at_ms, expires_at_ms)
VALUES ($1, $2, 1, {now_ms}, {now_ms}, {now_ms} + $3)
ON CONFLICT (name) DO UPDATE SET
  token = CASE WHEN scheduler_lease.holder = excluded.holder
               THEN scheduler_lease.token ELSE scheduler_lease.token + 1 END,
  acquired_at_ms = CASE WHEN scheduler_lease.holder = excluded.holder
               THEN scheduler_lease.acquired_at_ms ELSE excluded.acquired_at_ms END,
  holder = excluded.holder,
  renewed_at_ms = excluded.renewed_at_ms,
  expires_at_ms = excluded.expires_at_ms
WHERE scheduler_lease.holder = excluded.holder
   OR scheduler_lease.expires_at_ms <= excluded.renewed_at_ms
RETURNING token, expires_at_ms";

impl LeaseStore {
    pub fn new(name: &str, holder: &str, timing: &LeaseTiming) -> Self {
        Self {
            name: name.to_owned(),
            holder: holder.to_owned(),
            ttl_ms: timing.ttl_ms(),
        }
    }

    /// Takes the lease if it is free or expired, or extends it if it is ours, in one
    /// statement. `None` means someone else holds it.
    pub async fn acquire_or_renew<C: ConnectionTrait>(
        &self,
        db: &C,
    ) -> Result<Option<Grant>, DbErr> {
        let row = db::query_one(
            db,
            ACQUIRE_OR_RENEW,
            [
                self.name.clone().into(),
                self.holder.clone().into(),
                self.ttl_ms.into(),
            ],
        )
        .await?;
        row.map(|r| {
            Ok(Grant {
                token: r.try_get("", "token")?,
                expires_at_ms: r.try_get("", "expires_at_ms")?,
            })
        })
        .transpose()
    }

    /// Gives the lease up at once (empty holder, expired now) while keeping the row so
    /// the token keeps rising. A holder that already lost the lease changes nothing.
    pub async fn release<C: ConnectionTrait>(&self, db: &C, token: i64) -> Result<bool, DbErr> {
        let n = db::execute(
            db,
            "UPDATE scheduler_lease SET holder = '', expires_at_ms = {now_ms} \
             WHERE name = $1 AND holder = $2 AND token = $3",
            [
                self.name.clone().into(),
                self.holder.clone().into(),
                token.into(),
            ],
        )
        .await?;
        Ok(n == 1)
    }

    pub fn fence(&self, token: i64) -> Fence {
        Fence {
            lease: self.name.clone(),
            holder: self.holder.clone(),
            token,
        }
    }
}

/// Reads a lease row together with the database clock.
pub async fn read_lease<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<LeaseView>, DbErr> {
    let row = db::query_one(
        db,
        "SELECT name, holder, token, acquired_at_ms, renewed_at_ms, expires_at_ms, \
         {now_ms} AS now_ms FROM scheduler_lease WHERE name = $1",
        [name.into()],
    )
    .await?;
    row.map(|r| {
        Ok(LeaseView {
            name: r.try_get("", "name")?,
            holder: r.try_get("", "holder")?,
            token: r.try_get("", "token")?,
            acquired_at_ms: r.try_get("", "acquired_at_ms")?,
            renewed_at_ms: r.try_get("", "renewed_at_ms")?,
            expires_at_ms: r.try_get("", "expires_at_ms")?,
            now_ms: r.try_get("", "now_ms")?,
        })
    })
    .transpose()
}

/// `POD_NAME` (or the host name), the pid and a random suffix: a restarted container
/// with the same pod name never inherits the previous process's lease by accident.
pub fn holder_identity(pod_name: Option<&str>) -> String {
    let base = pod_name
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.trim().to_owned())
        .unwrap_or_else(host_name);
    let suffix: u32 = rand::random();
    format!("{base}-{}-{suffix:08x}", std::process::id())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// What one acquire-or-renew attempt gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Granted(i64),
    HeldByOther,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepDownReason {
    /// The database says someone else holds the lease now.
    Lost,
    /// The token changed under us: someone held the lease in between.
    TokenChanged,
    /// No renew succeeded within the renew deadline (database slow or unreachable).
    DeadlineExceeded,
}

impl StepDownReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StepDownReason::Lost => "lost",
            StepDownReason::TokenChanged => "token_changed",
            StepDownReason::DeadlineExceeded => "renew_deadline_exceeded",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    BecameLeader(i64),
    SteppedDown(StepDownReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ElectorState {
    Follower,
    Leader { token: i64, last_ok_sent: Instant },
}

/// Decides, from this process's own observations only, whether it may act as leader.
///
/// Leadership is measured from the moment a successful renew was *sent*: the database
/// computed the expiry no earlier than that, so `sent + renew_deadline` is always before
/// the expiry the database holds (`renew_deadline < ttl`), whatever the database's clock
/// says. When that local deadline passes the elector steps down even if the database
/// never answers.
#[derive(Debug, Clone)]
pub struct Elector {
    timing: LeaseTiming,
    state: ElectorState,
}

impl Elector {
    pub fn new(timing: LeaseTiming) -> Self {
        Self {
            timing,
            state: ElectorState::Follower,
        }
    }

    pub fn token(&self) -> Option<i64> {
        match self.state {
            ElectorState::Leader { token, .. } => Some(token),
            ElectorState::Follower => None,
        }
    }

    /// The instant after which this process must no longer act as leader.
    pub fn leading_until(&self) -> Option<Instant> {
        match self.state {
            ElectorState::Leader { last_ok_sent, .. } => {
                Some(last_ok_sent + self.timing.renew_deadline)
            }
            ElectorState::Follower => None,
        }
    }

    /// Feeds the outcome of an attempt sent at `sent`, observed at `now`.
    pub fn on_attempt(
        &mut self,
        sent: Instant,
        now: Instant,
        attempt: Attempt,
    ) -> Option<Transition> {
        match (self.state, attempt) {
            (ElectorState::Follower, Attempt::Granted(token)) => {
                self.state = ElectorState::Leader {
                    token,
                    last_ok_sent: sent,
                };
                // A grant that only arrives after its own deadline is no grant at all.
                if now >= sent + self.timing.renew_deadline {
                    self.state = ElectorState::Follower;
                    return None;
                }
                Some(Transition::BecameLeader(token))
            }
            (ElectorState::Follower, _) => None,
            (ElectorState::Leader { token: held, .. }, Attempt::Granted(token))
                if token != held =>
            {
                self.state = ElectorState::Follower;
                Some(Transition::SteppedDown(StepDownReason::TokenChanged))
            }
            (ElectorState::Leader { token, .. }, Attempt::Granted(_)) => {
                self.state = ElectorState::Leader {
                    token,
                    last_ok_sent: sent,
                };
                self.on_tick(now)
            }
            (ElectorState::Leader { .. }, Attempt::HeldByOther) => {
                self.state = ElectorState::Follower;
                Some(Transition::SteppedDown(StepDownReason::Lost))
            }
            (ElectorState::Leader { .. }, Attempt::Failed) => self.on_tick(now),
        }
    }

    /// Steps down when the renew deadline has passed.
    pub fn on_tick(&mut self, now: Instant) -> Option<Transition> {
        match self.leading_until() {
            Some(until) if now >= until => {
                self.state = ElectorState::Follower;
                Some(Transition::SteppedDown(StepDownReason::DeadlineExceeded))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn timing() -> LeaseTiming {
        LeaseTiming::new(
            Duration::from_millis(15_000),
            Duration::from_millis(5_000),
            Duration::from_millis(10_000),
        )
        .expect("valid")
    }

    #[test]
    fn a_follower_becomes_leader_on_a_grant_and_keeps_it_on_renewals() {
        let t0 = Instant::now();
        let mut e = Elector::new(timing());
        assert_eq!(
            e.on_attempt(t0, t0, Attempt::Granted(7)),
            Some(Transition::BecameLeader(7))
        );
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(e.on_attempt(t1, t1, Attempt::Granted(7)), None);
        assert_eq!(e.leading_until(), Some(t1 + Duration::from_secs(10)));
    }

    #[test]
    fn failed_renewals_step_down_exactly_at_the_deadline() {
        let t0 = Instant::now();
        let mut e = Elector::new(timing());
        e.on_attempt(t0, t0, Attempt::Granted(1));
        let almost = t0 + Duration::from_millis(9_999);
        assert_eq!(e.on_attempt(almost, almost, Attempt::Failed), None);
        assert_eq!(
            e.on_tick(t0 + Duration::from_secs(10)),
            Some(Transition::SteppedDown(StepDownReason::DeadlineExceeded))
        );
        assert_eq!(e.token(), None);
    }

    #[test]
    fn a_renewal_answered_too_late_does_not_extend_leadership() {
        let t0 = Instant::now();
        let mut e = Elector::new(timing());
        e.on_attempt(t0, t0, Attempt::Granted(1));
        // Sent at t0 + 1 s but the answer arrives after the deadline that renewal carries.
        let sent = t0 + Duration::from_secs(1);
        let answered = sent + Duration::from_secs(11);
        assert_eq!(
            e.on_attempt(sent, answered, Attempt::Granted(1)),
            Some(Transition::SteppedDown(StepDownReason::DeadlineExceeded))
        );
    }

    #[test]
    fn losing_the_row_or_seeing_a_new_token_steps_down_at_once() {
        let t0 = Instant::now();
        let mut e = Elector::new(timing());
        e.on_attempt(t0, t0, Attempt::Granted(1));
        assert_eq!(
            e.on_attempt(t0, t0, Attempt::HeldByOther),
            Some(Transition::SteppedDown(StepDownReason::Lost))
        );
        e.on_attempt(t0, t0, Attempt::Granted(1));
        assert_eq!(
            e.on_attempt(t0, t0, Attempt::Granted(2)),
            Some(Transition::SteppedDown(StepDownReason::TokenChanged))
        );
    }

    #[test]
    fn inconsistent_timings_are_refused() {
        let s = Duration::from_secs;
        assert!(LeaseTiming::new(s(10), s(5), s(10)).is_err());
        assert!(LeaseTiming::new(s(15), s(5), s(6)).is_err());
        assert!(LeaseTiming::new(s(15), s(5), s(7)).is_ok());
    }

    #[test]
    fn identities_differ_between_processes_with_the_same_pod_name() {
        let a = holder_identity(Some("bangui-scheduler-0"));
        let b = holder_identity(Some("bangui-scheduler-0"));
        assert!(a.starts_with("bangui-scheduler-0-"));
        assert_ne!(a, b);
    }

    /// An in-memory model of the acquire-or-renew statement, driven by the database's
    /// clock (milliseconds since the start of the simulation).
    #[derive(Default)]
    struct ModelRow {
        holder: String,
        token: i64,
        expires_at: u64,
    }

    impl ModelRow {
        fn acquire_or_renew(&mut self, me: &str, now: u64, ttl: u64) -> Option<i64> {
            if self.token == 0 {
                *self = ModelRow {
                    holder: me.into(),
                    token: 1,
                    expires_at: now + ttl,
                };
                return Some(1);
            }
            if self.holder == me || self.expires_at <= now {
                if self.holder != me {
                    self.token += 1;
                }
                self.holder = me.into();
                self.expires_at = now + ttl;
                return Some(self.token);
            }
            None
        }
    }

    #[derive(Debug, Clone)]
    enum Step {
        /// Process `p` sends an attempt whose statement executes `exec_delay` ms later and
        /// whose answer arrives `answer_delay` ms after that; `lost` drops the answer.
        Attempt {
            p: usize,
            exec_delay: u64,
            answer_delay: u64,
            lost: bool,
        },
        Advance(u64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0usize..3, 0u64..12_000, 0u64..12_000, any::<bool>()).prop_map(
                |(p, exec_delay, answer_delay, lost)| Step::Attempt {
                    p,
                    exec_delay,
                    answer_delay,
                    lost
                }
            ),
            (1u64..8_000).prop_map(Step::Advance),
        ]
    }

    proptest! {
        /// Safety of the whole design: whatever the delays, pauses and lost answers, at
        /// every instant at most one process believes it leads, and whoever believes it
        /// leads holds the unexpired row with the token it believes in.
        #[test]
        fn at_most_one_process_believes_it_leads(steps in proptest::collection::vec(step(), 1..80)) {
            let timing = timing();
            let ttl = 15_000;
            let base = Instant::now();
            let at = |ms: u64| base + Duration::from_millis(ms);
            let names = ["a", "b", "c"];
            let mut electors: Vec<Elector> = (0..3).map(|_| Elector::new(timing)).collect();
            let mut row = ModelRow::default();
            let mut now: u64 = 0;
            for s in steps {
                match s {
                    Step::Advance(ms) => now += ms,
                    Step::Attempt { p, exec_delay, answer_delay, lost } => {
                        let sent = now;
                        // Other processes' views are checked at every instant we pass.
                        now += exec_delay;
                        let granted = row.acquire_or_renew(names[p], now, ttl);
                        now += answer_delay;
                        if !lost {
                            let attempt = granted.map_or(Attempt::HeldByOther, Attempt::Granted);
                            electors[p].on_attempt(at(sent), at(now), attempt);
                        } else {
                            electors[p].on_attempt(at(sent), at(now), Attempt::Failed);
                        }
                    }
                }
                for e in &mut electors {
                    e.on_tick(at(now));
                }
                let believers: Vec<usize> = (0..3).filter(|&i| electors[i].token().is_some()).collect();
                prop_assert!(believers.len() <= 1, "two leaders at {}: {:?}", now, believers);
                if let Some(&i) = believers.first() {
                    prop_assert_eq!(row.holder.as_str(), names[i]);
                    prop_assert_eq!(Some(row.token), electors[i].token());
                    prop_assert!(row.expires_at > now);
                }
            }
        }
    }
}
