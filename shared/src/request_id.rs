//! The request id that follows one click from the browser through the API, the command
//! queue and the scheduler's fail2ban call.

use std::fmt;

/// At most 64 characters of `[A-Za-z0-9._:-]`; anything else is replaced by a fresh id
/// so a caller cannot inject text into our logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    pub const HEADER: &'static str = "x-request-id";

    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// The caller's id when it is well formed, else a new one.
    pub fn from_header(raw: Option<&str>) -> Self {
        raw.and_then(Self::parse).unwrap_or_else(Self::generate)
    }

    /// The W3C trace context header that carries a trace id.
    pub const TRACEPARENT: &'static str = "traceparent";

    /// The id of a request: its `X-Request-Id` when well formed, else the trace id of a
    /// valid W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), else a new one. A tracing
    /// client's requests so carry the id its own traces use.
    pub fn from_headers(request_id: Option<&str>, traceparent: Option<&str>) -> Self {
        request_id
            .and_then(Self::parse)
            .or_else(|| traceparent.and_then(Self::from_traceparent))
            .unwrap_or_else(Self::generate)
    }

    /// The trace id of a `traceparent` value; `None` unless the value is well formed
    /// (version 00 has exactly four fields; an all-zero trace or parent id is invalid).
    pub fn from_traceparent(raw: &str) -> Option<Self> {
        let parts: Vec<&str> = raw.trim().split('-').collect();
        let hex = |s: &str, n: usize| {
            s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let [version, trace, parent, flags, rest @ ..] = parts.as_slice() else {
            return None;
        };
        let shape = hex(version, 2)
            && *version != "ff"
            && hex(trace, 32)
            && hex(parent, 16)
            && hex(flags, 2)
            && (rest.is_empty() || *version != "00");
        let zero = |s: &str| s.bytes().all(|b| b == b'0');
        (shape && !zero(trace) && !zero(parent)).then(|| Self((*trace).to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_ids_are_kept_and_others_replaced() {
        assert_eq!(RequestId::from_header(Some("abc-123")).as_str(), "abc-123");
        for bad in ["", "with space", "new\nline", &"x".repeat(65), "<script>"] {
            let id = RequestId::from_header(Some(bad));
            assert_ne!(id.as_str(), bad);
            assert_eq!(id.as_str().len(), 32);
        }
    }

    #[test]
    fn a_traceparent_gives_its_trace_id_unless_an_id_was_sent() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            RequestId::from_headers(None, Some(tp)).as_str(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(
            RequestId::from_headers(Some("mine-1"), Some(tp)).as_str(),
            "mine-1"
        );
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "garbage",
        ] {
            assert_eq!(RequestId::from_traceparent(bad), None, "{bad}");
        }
        // A later version may add fields.
        assert!(
            RequestId::from_traceparent(
                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more"
            )
            .is_some()
        );
    }
}
