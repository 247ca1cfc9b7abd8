//! The dashboard: bans in a time range and their aggregates (trend, countries, jails,
//! ASNs, repeat offenders), all under the same filters. Counts come from the rollups
//! (`analytics::query`), so they stay fast at millions of events.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use sea_orm::DatabaseConnection;
use serde_json::json;
use shared::countries::{COUNTRIES, country_name};
use shared::db;
use shared::domain::{BanState, Origin};

use crate::analytics::query::{self, CountryFilter, Filters, Key};
use crate::analytics::range::{self, Range};
use crate::analytics::{self, BanRecordPage, MAX_OFFSET, OffenderList, Sort};
use crate::answers::{Answers, key_of};
use crate::auth::{Auth, Role};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::{ApiTags, default_page, default_page_size};
use crate::text::{CountryText, JailFilter, RangeText, TimeText, ZoneText};
use crate::time::from_epoch_ms;
use crate::validate;

/// The `origin` filter: one origin, or every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum OriginFilter {
    All,
    Auto,
    Manual,
    Blocklist,
}

impl OriginFilter {
    fn origin(self) -> Option<Origin> {
        match self {
            OriginFilter::All => None,
            OriginFilter::Auto => Some(Origin::Auto),
            OriginFilter::Manual => Some(Origin::Manual),
            OriginFilter::Blocklist => Some(Origin::Blocklist),
        }
    }
}

/// The `state` filter of the history: how the ban stands or ended, or every state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum StateFilter {
    All,
    Banned,
    Expired,
    Unbanned,
}

impl StateFilter {
    fn state(self) -> Option<BanState> {
        match self {
            StateFilter::All => None,
            StateFilter::Banned => Some(BanState::Banned),
            StateFilter::Expired => Some(BanState::Expired),
            StateFilter::Unbanned => Some(BanState::Unbanned),
        }
    }
}

/// The order of a ban list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SortOrder {
    /// Newest first (the default).
    #[oai(rename = "-at")]
    NewestFirst,
    /// Oldest first.
    #[oai(rename = "at")]
    OldestFirst,
}

/// Extra count lines of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Series {
    None,
    Origin,
    Jail,
}

/// The raw filter parameters every history endpoint shares.
#[derive(Default)]
pub struct FilterArgs {
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub origin: Option<OriginFilter>,
    pub jail: Option<String>,
    pub country: Option<String>,
    pub asn: Option<i64>,
    pub ip: Option<String>,
    pub state: Option<StateFilter>,
}

fn invalid(code: ErrorCode, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message).with_details(json!({ "field": field }))
}

/// Validates the filters; `all_time` allows `range=all` (the history).
pub async fn parse_filters(
    db: &DatabaseConnection,
    a: FilterArgs,
    all_time: bool,
) -> ApiResult<(Filters, Range)> {
    let now = db::db_now_ms(db).await.map_err(ApiError::from)?;
    let r = range::resolve(
        a.range.as_deref(),
        a.from.as_deref(),
        a.to.as_deref(),
        now,
        all_time,
    )
    .map_err(|e| invalid(ErrorCode::InvalidRange, "range", e.to_string()))?;
    let origin = a.origin.and_then(OriginFilter::origin);
    let jail = a
        .jail
        .as_deref()
        .filter(|j| !j.trim().is_empty())
        .map(validate::jail_name)
        .transpose()?
        .map(|j| j.as_str().to_owned());
    let country = match a.country.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) if c.eq_ignore_ascii_case("unknown") => Some(CountryFilter::Unknown),
        Some(c) if country_name(c).is_some() => Some(CountryFilter::Code(c.to_ascii_uppercase())),
        Some(_) => {
            return Err(invalid(
                ErrorCode::InvalidCountry,
                "country",
                "country must be an ISO 3166-1 alpha-2 code (e.g. DE) or unknown",
            ));
        }
    };
    if a.asn.is_some_and(|n| !(0..=4_294_967_295).contains(&n)) {
        return Err(invalid(
            ErrorCode::InvalidAsn,
            "asn",
            "asn must be between 0 (unknown) and 4294967295",
        ));
    }
    let ip =
        a.ip.as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(shared::archive::parse_ip_search)
            .transpose()
            .map_err(|e| invalid(ErrorCode::InvalidIpSearch, "ip", e.to_string()))?;
    let state = a.state.and_then(StateFilter::state);
    Ok((
        Filters {
            from_ms: r.from_ms,
            to_ms: r.to_ms,
            origin,
            jail,
            country,
            asn: a.asn,
            span: match ip {
                Some(_) => shared::archive::ban_span(db)
                    .await
                    .map_err(ApiError::from)?,
                None => None,
            },
            ip,
            state,
        },
        r,
    ))
}

pub fn parse_tz(raw: Option<&str>) -> ApiResult<Tz> {
    range::parse_tz(raw).map_err(|m| invalid(ErrorCode::InvalidTimezone, "tz", m))
}

pub fn sort_of(order: Option<SortOrder>) -> Sort {
    match order {
        None | Some(SortOrder::NewestFirst) => Sort::NewestFirst,
        Some(SortOrder::OldestFirst) => Sort::OldestFirst,
    }
}

pub fn check_depth(page: u32, page_size: u32) -> ApiResult<()> {
    let offset = u64::from(page - 1) * u64::from(page_size);
    if offset > MAX_OFFSET {
        return Err(ApiError::new(
            ErrorCode::PageTooDeep,
            format!(
                "pages start at most {MAX_OFFSET} rows deep; narrow the filters or reverse the sort"
            ),
        )
        .with_details(json!({ "field": "page", "max_offset": MAX_OFFSET })));
    }
    Ok(())
}

#[derive(Debug, Clone, Object)]
pub struct TrendBucket {
    pub start: DateTime<Utc>,
    pub start_local: String,
    pub end: DateTime<Utc>,
    pub total: i64,
    /// The bucket reaches past now (the current hour or day, still filling) or past the
    /// range's end: its count covers only part of it, so a chart should not read it as a
    /// drop.
    pub partial: bool,
}

#[derive(Debug, Clone, Object)]
pub struct TrendSeries {
    /// An origin or a jail; `other` gathers the jails beyond the top eight.
    pub name: String,
    /// One count per bucket, in bucket order.
    pub counts: Vec<i64>,
}

#[derive(Debug, Clone, Object)]
pub struct Trend {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bucket_seconds: i64,
    /// Every bucket of the range, empty ones included (zero).
    pub buckets: Vec<TrendBucket>,
    /// Present when `series` was asked for.
    pub series: Vec<TrendSeries>,
    /// `rollups` or `raw`: how the counts were computed.
    pub plan: String,
}

#[derive(Debug, Clone, Object)]
pub struct CountryCount {
    /// ISO 3166-1 alpha-2; null for IPs no source could place.
    pub country: Option<String>,
    pub name: String,
    /// ISO 3166-1 numeric (what world maps such as world-atlas key on).
    pub numeric: Option<u16>,
    pub bans: i64,
}

#[derive(Debug, Clone, Object)]
pub struct ByCountry {
    pub items: Vec<CountryCount>,
    pub total: i64,
    /// The companion list of bans, newest first, a page at a time (`page`, `page_size`):
    /// every country's, or with `country` that country's.
    pub bans: BanRecordPage,
    pub plan: String,
}

#[derive(Debug, Clone, Object)]
pub struct JailCount {
    pub jail: String,
    pub bans: i64,
}

#[derive(Debug, Clone, Object)]
pub struct ByJail {
    pub items: Vec<JailCount>,
    pub total: i64,
    pub plan: String,
}

#[derive(Debug, Clone, Object)]
pub struct AsnCount {
    /// Null for IPs in no known autonomous system.
    pub asn: Option<i64>,
    pub org: Option<String>,
    pub bans: i64,
}

#[derive(Debug, Clone, Object)]
pub struct ByAsn {
    pub items: Vec<AsnCount>,
    pub total: i64,
    pub plan: String,
}

/// The jails shown as their own trend series; the rest are summed as `other`.
const SERIES_JAILS: usize = 8;
pub struct DashboardApi {
    db: DatabaseConnection,
    auth: std::sync::Arc<Auth>,
    answers: std::sync::Arc<Answers>,
}

impl DashboardApi {
    pub fn new(
        db: DatabaseConnection,
        auth: std::sync::Arc<Auth>,
        answers: std::sync::Arc<Answers>,
    ) -> Self {
        Self { db, auth, answers }
    }

    async fn total(&self, f: &Filters) -> ApiResult<i64> {
        Ok(query::counts(&self.db, f, &[], None)
            .await
            .map_err(ApiError::from)?
            .0
            .first()
            .map_or(0, |c| c.n))
    }
}

fn args(
    range: Query<Option<RangeText>>,
    from: Query<Option<TimeText>>,
    to: Query<Option<TimeText>>,
    origin: Query<Option<OriginFilter>>,
    jail: Query<Option<JailFilter>>,
    country: Query<Option<CountryText>>,
    asn: Query<Option<i64>>,
) -> FilterArgs {
    FilterArgs {
        range: range.0.map(|t| t.0),
        from: from.0.map(|t| t.0),
        to: to.0.map(|t| t.0),
        origin: origin.0,
        jail: jail.0.map(|t| t.0),
        country: country.0.map(|t| t.0),
        asn: asn.0,
        ip: None,
        state: None,
    }
}

#[OpenApi(tag = "ApiTags::History")]
impl DashboardApi {
    /// Bans in a range, newest first (`sort=at`: oldest first). `range` is 24h, 7d, 30d or
    /// 365d (default 24h) or give `from` and `to` (RFC 3339); `origin` auto|manual|blocklist;
    /// `country` an ISO code or `unknown`; `asn` a number (0: unknown); `tz` an IANA zone
    /// for the `*_local` fields. Role: viewer.
    #[oai(
        path = "/dashboard/bans",
        method = "get",
        operation_id = "dashboard_bans"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn bans(
        &self,
        req: &Request,
        range: Query<Option<RangeText>>,
        from: Query<Option<TimeText>>,
        to: Query<Option<TimeText>>,
        origin: Query<Option<OriginFilter>>,
        jail: Query<Option<JailFilter>>,
        country: Query<Option<CountryText>>,
        asn: Query<Option<i64>>,
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
                    args(range, from, to, origin, jail, country, asn),
                    false,
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

    /// Bans per time bucket: 24h → 1 h × 24, 7d → 6 h × 28, 30d → 1 d × 30, 365d → 7 d × 53
    /// (custom ranges: buckets by span); empty buckets are zero. `series=origin|jail` adds
    /// one count line per origin or per jail (top eight, then `other`). Role: viewer.
    #[oai(
        path = "/dashboard/trend",
        method = "get",
        operation_id = "dashboard_trend"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn trend(
        &self,
        req: &Request,
        range: Query<Option<RangeText>>,
        from: Query<Option<TimeText>>,
        to: Query<Option<TimeText>>,
        origin: Query<Option<OriginFilter>>,
        jail: Query<Option<JailFilter>>,
        country: Query<Option<CountryText>>,
        asn: Query<Option<i64>>,
        series: Query<Option<Series>>,
        tz: Query<Option<ZoneText>>,
    ) -> ApiResult<Json<Trend>> {
        self.auth.require(req, Role::Viewer).await?;
        self.answers
            .get(&self.db, &key_of(req), async move {
                let (f, r) = parse_filters(
                    &self.db,
                    args(range, from, to, origin, jail, country, asn),
                    false,
                )
                .await?;
                let tz = parse_tz(tz.0.as_deref())?;
                let series_key = match series.0 {
                    None | Some(Series::None) => None,
                    Some(Series::Origin) => Some(Key::Origin),
                    Some(Series::Jail) => Some(Key::Jail),
                };
                let bucket = Key::Bucket {
                    start: r.bucket_start_ms,
                    size: r.bucket_ms,
                };
                let mut keys = vec![bucket];
                keys.extend(series_key);
                let (counts, plan) = query::counts(&self.db, &f, &keys, None)
                    .await
                    .map_err(ApiError::from)?;
                let n = usize::try_from(r.buckets).unwrap_or(0);
                let mut totals = vec![0i64; n];
                let mut by_series: std::collections::BTreeMap<String, Vec<i64>> =
                    Default::default();
                for c in &counts {
                    let Some(i) = usize::try_from(c.keys[0].int()).ok().filter(|i| *i < n) else {
                        continue;
                    };
                    totals[i] += c.n;
                    if let Some(name) = c.keys.get(1) {
                        by_series
                            .entry(name.text().to_owned())
                            .or_insert_with(|| vec![0; n])[i] += c.n;
                    }
                }
                let mut series: Vec<TrendSeries> = by_series
                    .into_iter()
                    .map(|(name, counts)| TrendSeries { name, counts })
                    .collect();
                if series_key == Some(Key::Jail) && series.len() > SERIES_JAILS {
                    series.sort_by_key(|s| std::cmp::Reverse(s.counts.iter().sum::<i64>()));
                    let rest = series.split_off(SERIES_JAILS);
                    let mut other = vec![0; n];
                    for s in rest {
                        for (o, c) in other.iter_mut().zip(s.counts) {
                            *o += c;
                        }
                    }
                    series.push(TrendSeries {
                        name: "other".into(),
                        counts: other,
                    });
                }
                // A bucket reaching past now (the current one) or past a custom range's end holds
                // only part of its span.
                let covered_to = r
                    .to_ms
                    .min(db::db_now_ms(&self.db).await.map_err(ApiError::from)?);
                let buckets = (0..r.buckets)
                    .zip(totals)
                    .map(|(i, total)| {
                        let start = r.bucket_start_ms + i * r.bucket_ms;
                        let end = start + r.bucket_ms;
                        TrendBucket {
                            start: from_epoch_ms(start),
                            start_local: range::local(start, tz),
                            end: from_epoch_ms(end),
                            total,
                            partial: end > covered_to,
                        }
                    })
                    .collect();
                Ok(Trend {
                    from: from_epoch_ms(r.from_ms),
                    to: from_epoch_ms(r.to_ms),
                    bucket_seconds: r.bucket_ms / 1000,
                    buckets,
                    series,
                    plan: plan.as_str().into(),
                })
            })
            .await
            .map(Json)
    }

    /// Bans per country (every country with bans, most first; bans no source could
    /// place are one entry with a null `country`) and the companion list of bans, newest
    /// first, a page at a time: every country's, or with `country` that country's
    /// (`unknown`: the unplaced). Role: viewer.
    #[oai(
        path = "/dashboard/by-country",
        method = "get",
        operation_id = "dashboard_by_country"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn by_country(
        &self,
        req: &Request,
        range: Query<Option<RangeText>>,
        from: Query<Option<TimeText>>,
        to: Query<Option<TimeText>>,
        origin: Query<Option<OriginFilter>>,
        jail: Query<Option<JailFilter>>,
        country: Query<Option<CountryText>>,
        asn: Query<Option<i64>>,
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
    ) -> ApiResult<Json<ByCountry>> {
        self.auth.require(req, Role::Viewer).await?;
        self.answers
            .get(&self.db, &key_of(req), async move {
                let (f, _) = parse_filters(
                    &self.db,
                    args(range, from, to, origin, jail, country, asn),
                    false,
                )
                .await?;
                let tz = parse_tz(tz.0.as_deref())?;
                // The map shades every country, so the counts ignore the selected country.
                let map_filters = Filters {
                    country: None,
                    ..f.clone()
                };
                let (counts, plan) = query::counts(&self.db, &map_filters, &[Key::Country], None)
                    .await
                    .map_err(ApiError::from)?;
                let total = counts.iter().map(|c| c.n).sum();
                let items = counts
                    .into_iter()
                    .map(|c| {
                        let code = c.keys[0].text().to_owned();
                        let known = COUNTRIES.iter().find(|(a, _, _)| *a == code);
                        CountryCount {
                            name: known.map_or("Unknown", |k| k.2).to_owned(),
                            numeric: known.map(|k| k.1),
                            country: known.map(|k| k.0.to_owned()),
                            bans: c.n,
                        }
                    })
                    .collect();
                check_depth(page.0, page_size.0)?;
                let bans =
                    analytics::list(&self.db, &f, Sort::NewestFirst, page.0, page_size.0, tz)
                        .await
                        .map_err(ApiError::from)?;
                Ok(ByCountry {
                    items,
                    total,
                    bans,
                    plan: plan.as_str().into(),
                })
            })
            .await
            .map(Json)
    }

    /// Bans per jail, most first. Role: viewer.
    #[oai(
        path = "/dashboard/by-jail",
        method = "get",
        operation_id = "dashboard_by_jail"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn by_jail(
        &self,
        req: &Request,
        range: Query<Option<RangeText>>,
        from: Query<Option<TimeText>>,
        to: Query<Option<TimeText>>,
        origin: Query<Option<OriginFilter>>,
        jail: Query<Option<JailFilter>>,
        country: Query<Option<CountryText>>,
        asn: Query<Option<i64>>,
    ) -> ApiResult<Json<ByJail>> {
        self.auth.require(req, Role::Viewer).await?;
        self.answers
            .get(&self.db, &key_of(req), async move {
                let (f, _) = parse_filters(
                    &self.db,
                    args(range, from, to, origin, jail, country, asn),
                    false,
                )
                .await?;
                let (counts, plan) = query::counts(&self.db, &f, &[Key::Jail], None)
                    .await
                    .map_err(ApiError::from)?;
                Ok(ByJail {
                    total: counts.iter().map(|c| c.n).sum(),
                    items: counts
                        .into_iter()
                        .map(|c| JailCount {
                            jail: c.keys[0].text().to_owned(),
                            bans: c.n,
                        })
                        .collect(),
                    plan: plan.as_str().into(),
                })
            })
            .await
            .map(Json)
    }

    /// The autonomous systems with the most bans (`limit`, default 20). Role: viewer.
    #[oai(
        path = "/dashboard/by-asn",
        method = "get",
        operation_id = "dashboard_by_asn"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn by_asn(
        &self,
        req: &Request,
        range: Query<Option<RangeText>>,
        from: Query<Option<TimeText>>,
        to: Query<Option<TimeText>>,
        origin: Query<Option<OriginFilter>>,
        jail: Query<Option<JailFilter>>,
        country: Query<Option<CountryText>>,
        asn: Query<Option<i64>>,
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Json<ByAsn>> {
        self.auth.require(req, Role::Viewer).await?;
        self.answers
            .get(&self.db, &key_of(req), async move {
                let (f, _) = parse_filters(
                    &self.db,
                    args(range, from, to, origin, jail, country, asn),
                    false,
                )
                .await?;
                let (counts, plan) = query::counts(&self.db, &f, &[Key::Asn], Some(limit.0))
                    .await
                    .map_err(ApiError::from)?;
                let asns: Vec<i64> = counts.iter().map(|c| c.keys[0].int()).collect();
                let orgs = analytics::asn_orgs(&self.db, &asns)
                    .await
                    .map_err(ApiError::from)?;
                Ok(ByAsn {
                    total: self.total(&f).await?,
                    items: counts
                        .into_iter()
                        .map(|c| {
                            let asn = c.keys[0].int();
                            AsnCount {
                                asn: (asn > 0).then_some(asn),
                                org: orgs.get(&asn).cloned(),
                                bans: c.n,
                            }
                        })
                        .collect(),
                    plan: plan.as_str().into(),
                })
            })
            .await
            .map(Json)
    }

    /// The IPs banned most often in the range (at least `min_bans` times, default 2; the
    /// top `limit`, default 20). Role: viewer.
    #[oai(
        path = "/dashboard/repeat-offenders",
        method = "get",
        operation_id = "dashboard_repeat_offenders"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn repeat_offenders(
        &self,
        req: &Request,
        range: Query<Option<RangeText>>,
        from: Query<Option<TimeText>>,
        to: Query<Option<TimeText>>,
        origin: Query<Option<OriginFilter>>,
        jail: Query<Option<JailFilter>>,
        country: Query<Option<CountryText>>,
        asn: Query<Option<i64>>,
        tz: Query<Option<ZoneText>>,
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<u32>,
        #[oai(
            default = "default_min_bans",
            validator(minimum(value = "2"), maximum(value = "1000000"))
        )]
        min_bans: Query<i64>,
    ) -> ApiResult<Json<OffenderList>> {
        self.auth.require(req, Role::Viewer).await?;
        self.answers
            .get(&self.db, &key_of(req), async move {
                let (f, _) = parse_filters(
                    &self.db,
                    args(range, from, to, origin, jail, country, asn),
                    false,
                )
                .await?;
                let tz = parse_tz(tz.0.as_deref())?;
                analytics::repeat_offenders(
                    &self.db,
                    &f,
                    min_bans.0,
                    limit.0,
                    tz,
                    analytics::OFFENDERS_RAW_LIMIT,
                )
                .await
                .map_err(ApiError::from)
            })
            .await
            .map(Json)
    }
}

fn default_limit() -> u32 {
    20
}

fn default_min_bans() -> i64 {
    2
}
