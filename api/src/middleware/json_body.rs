//! What the API takes as a JSON body, checked before any handler reads it: the content
//! type is `application/json` (a `charset` other than UTF-8, or a look-alike such as
//! `application/json-patch+json`, is refused with 415), and no object has the same key
//! twice (`{"jail":"../x","jail":"sshd"}` would otherwise mean whatever the last one says,
//! while a proxy or log that reads the first sees another request).

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::json;

use crate::error::{ApiError, ErrorCode};

/// Whether a `Content-Type` value is JSON the API reads: `application/json`, optionally
/// with `charset=utf-8`, in any case.
pub fn is_json_content_type(value: &str) -> bool {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|p| {
        let p = p.trim();
        p.is_empty()
            || p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("charset")
                    && v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            })
    })
}

/// Checks a request body the API is about to read.
pub fn check(content_type: Option<&str>, body: &[u8]) -> Result<(), ApiError> {
    if body.is_empty() {
        return Ok(());
    }
    if !content_type.is_some_and(is_json_content_type) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "send the body as Content-Type: application/json (UTF-8){}",
                content_type.map_or(String::new(), |c| format!(", not {c:?}"))
            ),
        ));
    }
    REPEATED.with(|r| r.borrow_mut().take());
    match serde_json::from_slice::<NoDuplicateKeys>(body) {
        // Syntax errors are the handler's to report, in its own words.
        Ok(_) => Ok(()),
        Err(e) if !e.is_data() => Ok(()),
        Err(_) => {
            let key = REPEATED.with(|r| r.borrow_mut().take()).unwrap_or_default();
            Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("the body has the key {key:?} more than once in one object"),
            )
            .with_details(json!({ "field": key })))
        }
    }
}

thread_local! {
    /// The repeated key the last check found (the deserializer runs on this thread).
    static REPEATED: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Deserializes any JSON and fails (a data error) on the first object with a repeated key.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyValue)
    }
}

struct AnyValue;

impl<'de> Visitor<'de> for AnyValue {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                let message = format!("duplicate key {key:?}");
                REPEATED.with(|r| *r.borrow_mut() = Some(key));
                return Err(de::Error::custom(message));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_utf8_json_is_json() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=UTF-8",
            "application/json; charset=\"utf-8\"",
        ] {
            assert!(is_json_content_type(ok), "{ok}");
        }
        for bad in [
            "application/json-patch+json",
            "application/json; charset=latin1",
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonx",
            "",
        ] {
            assert!(!is_json_content_type(bad), "{bad}");
        }
    }

    #[test]
    fn a_repeated_key_anywhere_is_refused_and_named() {
        let ct = Some("application/json");
        assert!(check(ct, br#"{"jail":"sshd","ips":["192.0.2.1"]}"#).is_ok());
        let e = check(ct, br#"{"jail":"../x","jail":"sshd"}"#).expect_err("dup");
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(e.message.contains("\"jail\""), "{}", e.message);
        assert!(check(ct, br#"{"a":[{"x":1,"x":2}]}"#).is_err(), "nested");
        // Not JSON at all: the handler says so in its own words.
        assert!(check(ct, b"{nonsense").is_ok());
        assert!(check(None, b"").is_ok(), "no body, no rule");
        let e = check(Some("text/plain"), b"{}").expect_err("415");
        assert_eq!(e.code, ErrorCode::UnsupportedMediaType);
        assert!(check(None, b"{}").is_err());
    }
}
