//! The history archive: every ban BanGUI has seen (fail2ban forgets after a day), an
//! IP's timeline, and what the scheduler found out about where an IP is.

use poem::Request;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::analytics::{self, BanRecordPage, GeoView, IpTimeline};
use crate::answers::{Answers, key_of};
use crate::auth::{Auth, Role};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::dashboard::{
    FilterArgs, OriginFilter, SortOrder, StateFilter, check_depth, parse_filters, parse_tz, sort_of,
};
use crate::routes::{ApiTags, default_page, default_page_size};
use crate::text::{CountryText, IpText, JailFilter, RangeText, TimeText, ZoneText};

pub struct HistoryApi {
    db: DatabaseConnection,
    auth: std::sync::Arc<Auth>,
    answers: std::sync::Arc<Answers>,
}

impl HistoryApi {
    pub fn new(
        db: DatabaseConnection,
        auth: std::sync::Arc<Auth>,
        answers: std::sync::Arc<Answers>,
    ) -> Self {
        Self { db, auth, answers }
    }
}

fn parse_ip(raw: &str) -> ApiResult<std::net::IpAddr> {
    raw.trim().parse().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidIp,
            format!(
                "{:?} is not an IPv4 or IPv6 address",
                raw.chars().take(64).collect::<String>()
            ),
        )
        .with_details(json!({ "field": "ip" }))
    })
}

fn default_timeline_limit() -> u32 {
    100
}

#[OpenApi(tag = "ApiTags::History")]
impl HistoryApi {
    /// Every ban in the archive under the dashboard's filters plus `ip` (an address, a
    /// CIDR network or the start of one: `10.1.`, `2001:db8:`) and `state`
    /// (banned|expired|unbanned); `range` also takes `all` (the default). Role: viewer.
    #[oai(path = "/history", method = "get", operation_id = "history")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        range: Query<Option<RangeText>>,
        from: Query<Option<TimeText>>,
        to: Query<Option<TimeText>>,
        origin: Query<Option<OriginFilter>>,
        jail: Query<Option<JailFilter>>,
        country: Query<Option<CountryText>>,
        asn: Query<Option<i64>>,
        ip: Query<Option<String>>,
        state: Query<Option<StateFilter>>,
        sort: Query<Option<SortOrder>>,
        tz: Query<Option<ZoneText>>,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "1000000"))
        )]
        page: Query<u32>,
        #[oai(
            default = "default_page_size",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        page_size: Query<u32>,
    ) -> ApiResult<Json<BanRecordPage>> {
        self.auth.require(req, Role::Viewer).await?;
        self.answers
            .get(&self.db, &key_of(req), async move {
                let (f, _) = parse_filters(
                    &self.db,
                    FilterArgs {
                        range: range.0.map(|t| t.0),
                        from: from.0.map(|t| t.0),
                        to: to.0.map(|t| t.0),
                        origin: origin.0,
                        jail: jail.0.map(|t| t.0),
                        country: country.0.map(|t| t.0),
                        asn: asn.0,
                        ip: ip.0,
                        state: state.0,
                    },
                    true,
                )
                .await?;
                let (sort, tz) = (sort_of(sort.0), parse_tz(tz.0.as_deref())?);
                check_depth(page.0, page_size.0)?;
                analytics::list(&self.db, &f, sort, page.0, page_size.0, tz)
                    .await
                    .map_err(ApiError::from)
            })
            .await
            .map(Json)
    }

    /// An IP's timeline: each ban (jail, start, duration, how it ended, failures, matched
    /// log lines; newest first, at most `limit`), totals, geo data and the jails holding it
    /// now. 404 `ip_not_seen` for an IP BanGUI never saw. Role: viewer.
    #[oai(path = "/history/:ip", method = "get", operation_id = "history_ip")]
    async fn timeline(
        &self,
        req: &Request,
        ip: Path<IpText>,
        tz: Query<Option<ZoneText>>,
        #[oai(
            default = "default_timeline_limit",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Json<IpTimeline>> {
        self.auth.require(req, Role::Viewer).await?;
        let addr = parse_ip(&ip.0)?;
        let tz = parse_tz(tz.0.as_deref())?;
        analytics::timeline(&self.db, addr, limit.0, tz)
            .await
            .map_err(ApiError::from)?
            .map(Json)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::IpNotSeen,
                    format!("BanGUI has never seen {addr} banned"),
                )
            })
    }

    /// Where an IP is: country, autonomous system and organisation, with the source of
    /// the answer and when it was found. Only IPs the scheduler has resolved (every IP
    /// it archived) are known; others are 404 `geo_not_resolved`. Role: viewer.
    #[oai(path = "/geo/:ip", method = "get", operation_id = "geo_ip")]
    async fn geo(&self, req: &Request, ip: Path<IpText>) -> ApiResult<Json<GeoView>> {
        self.auth.require(req, Role::Viewer).await?;
        let addr = parse_ip(&ip.0)?;
        analytics::geo_of(&self.db, &addr.to_string())
            .await
            .map_err(ApiError::from)?
            .map(Json)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::GeoNotResolved,
                    format!("the scheduler has not resolved {addr}"),
                )
            })
    }
}
