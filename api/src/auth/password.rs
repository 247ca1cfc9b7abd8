//! Passwords: Argon2id (argon2 0.6 defaults, m=19 MiB t=2 p=1) on a blocking thread, and
//! the policy: at least 12 characters, not the username, not one of the 10 000 most
//! common passwords (bundled, from zxcvbn's list).

use std::collections::HashSet;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};

use crate::error::{ApiError, ApiResult, ErrorCode};

const COMMON: &str = include_str!("common-passwords.txt");
pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 1024;

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

/// Checks the policy; the error says which rule failed.
pub fn check_policy(username: &str, password: &str) -> ApiResult<()> {
    let weak = |why: &str| ApiError::new(ErrorCode::WeakPassword, why.to_owned());
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        return Err(weak(
            "the password needs at least 12 characters (a passphrase of a few words is best)",
        ));
    }
    if password.len() > MAX_LENGTH {
        return Err(weak("the password is longer than 1024 bytes"));
    }
    if password.eq_ignore_ascii_case(username) {
        return Err(weak("the password must not be the username"));
    }
    if common().contains(password.to_lowercase().as_str()) {
        return Err(weak("this password is among the 10 000 most common ones"));
    }
    Ok(())
}

pub async fn hash(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Computes the stand-in hash used for unknown users now, so the first sign-in of an
/// unknown user is not slower (and so recognisable) than a wrong password.
pub async fn warm_up() {
    let _ = tokio::task::spawn_blocking(dummy_hash).await;
}

fn dummy_hash() -> String {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY
        .get_or_init(|| {
            Argon2::default()
                .hash_password(b"bangui-dummy-password")
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

/// Verifies; `None` for the hash still does the same work (against a fixed hash), so an
/// unknown user and a wrong password take the same time.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY
        .get_or_init(|| {
            Argon2::default()
                .hash_password(b"bangui-dummy-password")
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone();
    let known = stored.is_some();
    let phc = stored.unwrap_or(dummy);
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false);
    ok && known
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_common_and_username_passwords() {
        assert!(check_policy("alice", "short").is_err());
        assert!(check_policy("alice-the-admin", "alice-the-admin").is_err());
        assert!(check_policy("alice", "1qaz2wsx3edc").is_err(), "common");
        assert!(check_policy("alice", "correct horse battery staple").is_ok());
        assert!(common().len() >= 9_990);
    }
}
