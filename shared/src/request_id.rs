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
}
