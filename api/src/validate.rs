//! Turning raw input into the types that carry validity, with clear errors and stable
//! codes. Nothing reaches the command queue (and so fail2ban) without passing here.

use sea_orm::DatabaseConnection;
use serde_json::json;
use shared::domain::{IpOrNet, JailName};

use crate::error::{ApiError, ApiResult, ErrorCode};

/// The most IPs one call may carry.
pub const MAX_IPS: usize = 20_000;
/// How many bad entries an error lists.
const MAX_REPORTED: usize = 20;

pub fn jail_name(raw: &str) -> ApiResult<JailName> {
    JailName::parse(raw).map_err(|e| {
        ApiError::new(ErrorCode::InvalidJailName, e.to_string())
            .with_details(json!({ "field": "jail" }))
    })
}

/// A jail name that fail2ban knows (running or stopped), per the latest jail snapshot.
pub async fn known_jail(db: &DatabaseConnection, raw: &str) -> ApiResult<JailName> {
    let jail = jail_name(raw)?;
    let found = shared::store::snapshots::jail_exists(db, &jail).await?;
    if !found {
        return Err(ApiError::new(
            ErrorCode::UnknownJail,
            format!("fail2ban has no jail {jail}"),
        )
        .with_details(json!({ "jail": jail.as_str() })));
    }
    Ok(jail)
}

pub fn ip(raw: &str, field: &str) -> ApiResult<IpOrNet> {
    IpOrNet::parse(raw)
        .map_err(|e| ApiError::new(e.code(), e.to_string()).with_details(json!({ "field": field })))
}

/// A non-empty list of at most [`MAX_IPS`] valid IPs or networks, duplicates removed.
/// Every bad entry is reported (up to 20), with its index.
pub fn ip_list<S: AsRef<str>>(raw: &[S]) -> ApiResult<Vec<IpOrNet>> {
    if raw.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidIp, "ips must not be empty")
            .with_details(json!({ "field": "ips" })));
    }
    if raw.len() > MAX_IPS {
        return Err(ApiError::new(
            ErrorCode::TooManyIps,
            format!("{} IPs in one call; at most {MAX_IPS}", raw.len()),
        )
        .with_details(json!({ "field": "ips", "max": MAX_IPS, "given": raw.len() })));
    }
    let mut ips = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    // The sentence names the first refused entries and why, so a person sees which one
    // without reading `details`.
    let mut named = Vec::new();
    let mut first_code = None;
    for (i, text) in raw.iter().enumerate() {
        let text = text.as_ref();
        match IpOrNet::parse(text) {
            Ok(ip) => ips.push(ip),
            Err(e) => {
                first_code.get_or_insert(e.code());
                let shown: String = text.chars().take(80).collect();
                if named.len() < 3 {
                    // The reason quotes the entry; a long one is cut.
                    let reason = e.to_string();
                    named.push(if reason.chars().count() > 160 {
                        format!("{}…", reason.chars().take(160).collect::<String>())
                    } else {
                        reason
                    });
                }
                if errors.len() < MAX_REPORTED {
                    errors.push(json!({ "index": i, "value": shown, "error": e.to_string() }));
                }
            }
        }
    }
    if let Some(code) = first_code {
        let count = raw.len() - ips.len();
        let more = count - named.len();
        let message = match (count, more) {
            (1, _) => named[0].clone(),
            (_, 0) => format!("{count} of the IPs are not accepted: {}", named.join("; ")),
            _ => format!(
                "{count} of the IPs are not accepted: {}; and {more} more",
                named.join("; ")
            ),
        };
        return Err(ApiError::new(code, message)
            .with_details(json!({ "field": "ips", "invalid": errors, "invalid_count": count })));
    }
    ips.sort();
    ips.dedup();
    Ok(ips)
}
