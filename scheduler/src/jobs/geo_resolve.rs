//! The geo job. New IPs are resolved as they are archived (see `ban_writer::insert_events`);
//! this job handles what that cannot:
//!
//! 1. rows archived before the history migration (no binary key, no geo yet);
//! 2. IPs nobody knew, due for a retry: the local data again (it may have been updated),
//!    then the HTTP fallback if enabled. An IP found this way gets its country/ASN on its
//!    archived bans too, and the rollups are corrected in the same transaction;
//! 3. cache rows older than `BANGUI_GEO_MAX_AGE` are looked up again (the cache then
//!    answers `GET /geo/{ip}` with current data; archived bans keep where the IP was
//!    when it was banned).

use shared::domain::JobName;
use std::net::IpAddr;
use std::time::Duration;

use shared::{archive, db};

use super::{Job, JobContext, JobError};
use crate::ban_writer::{self, GEO_RETRY_MS};
use crate::geo::GeoInfo;

const BACKFILL_BATCH: u64 = 2_000;
const RETRY_BATCH: u64 = 200;
const REFRESH_BATCH: u64 = 500;

pub fn job(every: Duration) -> Job {
    Job::new(
        JobName::GeoResolve,
        every,
        Duration::from_secs(120),
        |ctx| async move {
            backfill(&ctx).await?;
            retry_unknown(&ctx).await?;
            refresh_stale(&ctx).await
        },
    )
}

/// Fills `ip_bin`, country and ASN of rows written before the history migration.
pub async fn backfill(ctx: &JobContext) -> Result<(), JobError> {
    loop {
        ctx.ensure_leading()?;
        let rows = db::query_all(
            &ctx.db,
            &format!("SELECT id, ip FROM ban_events WHERE ip_bin IS NULL ORDER BY id LIMIT {BACKFILL_BATCH}"),
            [],
        )
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let txn = ctx.fenced_txn().await?;
        for r in &rows {
            let id: i64 = r.try_get("", "id")?;
            let ip: String = r.try_get("", "ip")?;
            let geo = ip
                .parse::<IpAddr>()
                .map(|a| ctx.geo.local.lookup(a))
                .unwrap_or_default();
            db::execute(
                &txn,
                "UPDATE ban_events SET ip_bin = $1, country = $2, asn = $3 WHERE id = $4",
                [
                    archive::ip_key_of_text(&ip).into(),
                    geo.country.into(),
                    geo.asn.into(),
                    id.into(),
                ],
            )
            .await?;
        }
        ctx.commit(txn).await?;
        if (rows.len() as u64) < BACKFILL_BATCH {
            return Ok(());
        }
    }
}

async fn due_ips(ctx: &JobContext, sql: &str) -> Result<Vec<String>, JobError> {
    let rows = db::query_all(&ctx.db, sql, []).await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<String>("", "ip"))
        .collect::<Result<_, _>>()?)
}

/// Looks up IPs that were unknown again, locally and then over HTTP.
pub async fn retry_unknown(ctx: &JobContext) -> Result<(), JobError> {
    let ips = due_ips(
        ctx,
        &format!(
            "SELECT ip FROM geo_cache WHERE retry_at_ms IS NOT NULL AND retry_at_ms <= {{now_ms}} \
             ORDER BY retry_at_ms LIMIT {RETRY_BATCH}"
        ),
    )
    .await?;
    for ip in ips {
        ctx.ensure_leading()?;
        let Ok(addr) = ip.parse::<IpAddr>() else {
            continue;
        };
        let mut found = ctx.geo.local.lookup(addr);
        let mut source = "local";
        if let (false, Some(http)) = (found.is_known(), &ctx.geo.http) {
            match http.lookup(addr).await {
                Ok(Some(g)) => {
                    found = g;
                    source = "http";
                }
                // The minute's budget is spent: the rest waits for the next run.
                Ok(None) => return Ok(()),
                Err(e) => {
                    metrics::counter!("scheduler_geo_http_failures_total").increment(1);
                    tracing::debug!(%ip, error = %e, "geo HTTP lookup failed");
                }
            }
        }
        record_answer(ctx, &ip, &found, source).await?;
    }
    Ok(())
}

/// Stores an answer for an IP that was unknown; a known answer is also written into the
/// IP's archived bans that had none, with the rollups corrected to match.
async fn record_answer(
    ctx: &JobContext,
    ip: &str,
    found: &GeoInfo,
    source: &str,
) -> Result<(), JobError> {
    let txn = ctx.fenced_txn().await?;
    if !found.is_known() {
        db::execute(
            &txn,
            "UPDATE geo_cache SET resolved_at_ms = {now_ms}, retry_at_ms = {now_ms} + $2 WHERE ip = $1",
            [ip.into(), (GEO_RETRY_MS * 6).into()],
        )
        .await?;
        return ctx.commit(txn).await;
    }
    let hwm = archive::lock_rollups(&txn).await?;
    // Ban rows, through the binary IP index (every week of the archive); an unban or
    // expiry keeps what was known when it happened (nothing reads a place from those).
    let weeks = archive::ip_weeks_condition(i64::MIN, i64::MAX, archive::ban_span(&txn).await?);
    let ids: Vec<i64> = db::query_all(
        &txn,
        &format!(
            "SELECT e.id FROM ban_events e WHERE e.kind = 'ban' AND {weeks} AND e.ip_bin = $2 \
             AND e.ip = $1 AND e.country IS NULL AND e.asn IS NULL"
        ),
        [ip.into(), archive::ip_key_of_text(ip).into()],
    )
    .await?
    .iter()
    .map(|r| r.try_get("", "id"))
    .collect::<Result<_, _>>()?;
    for chunk in ids.chunks(500) {
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        // Only rows already counted move between rollup keys; later ones are counted
        // by the rollup job with their new values.
        let counted = format!("id IN ({list}) AND id <= $1");
        for sql in archive::rollup_statements(&counted, -1) {
            db::execute(&txn, &sql, [hwm.into()]).await?;
        }
        db::execute(
            &txn,
            &format!("UPDATE ban_events SET country = $1, asn = $2 WHERE id IN ({list})"),
            [found.country.clone().into(), found.asn.into()],
        )
        .await?;
        for sql in archive::rollup_statements(&counted, 1) {
            db::execute(&txn, &sql, [hwm.into()]).await?;
        }
    }
    write_cache(&txn, ip, found, source).await?;
    if let (Some(asn), Some(org)) = (found.asn, found.asn_org.as_deref()) {
        ban_writer::remember_asn_names(&txn, &[(asn, org)]).await?;
    }
    ctx.commit(txn).await
}

async fn write_cache<C: sea_orm::ConnectionTrait>(
    db: &C,
    ip: &str,
    g: &GeoInfo,
    source: &str,
) -> Result<u64, sea_orm::DbErr> {
    db::execute(
        db,
        "UPDATE geo_cache SET country = $2, asn = $3, asn_org = $4, source = $5, \
         resolved_at_ms = {now_ms}, retry_at_ms = NULL WHERE ip = $1",
        [
            ip.into(),
            g.country.clone().into(),
            g.asn.into(),
            g.asn_org.clone().into(),
            source.into(),
        ],
    )
    .await
}

/// Looks up cache rows past their age again from the local data.
pub async fn refresh_stale(ctx: &JobContext) -> Result<(), JobError> {
    let max_age = i64::try_from(ctx.history.geo_max_age.as_millis()).unwrap_or(i64::MAX);
    let ips = due_ips(
        ctx,
        &format!(
            "SELECT ip FROM geo_cache WHERE retry_at_ms IS NULL AND resolved_at_ms < {{now_ms}} - {max_age} \
             ORDER BY resolved_at_ms LIMIT {REFRESH_BATCH}"
        ),
    )
    .await?;
    if ips.is_empty() {
        return Ok(());
    }
    let txn = ctx.fenced_txn().await?;
    for ip in ips {
        let Ok(addr) = ip.parse::<IpAddr>() else {
            continue;
        };
        let g = ctx.geo.local.lookup(addr);
        if g.is_known() {
            write_cache(&txn, &ip, &g, "local").await?;
        } else {
            // Keep what an earlier lookup (maybe HTTP) found; look again after another age.
            db::execute(
                &txn,
                "UPDATE geo_cache SET resolved_at_ms = {now_ms} WHERE ip = $1",
                [ip.into()],
            )
            .await?;
        }
    }
    ctx.commit(txn).await
}
