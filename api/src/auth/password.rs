//! Passwords: Argon2id (argon2 0.6 defaults, m=19 MiB t=2 p=1) on a blocking thread, and
//! the policy: at least 12 characters, not the username, not one of the 10 000 most
//! common passwords (bundled, from zxcvbn's list), and a zxcvbn strength estimate of at
//! least 3 of 4.

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

/// The lowest zxcvbn score (0 to 4) a new password needs: 3 means about 10^10 guesses.
pub const MIN_SCORE: u8 = 3;

/// How a candidate password fares against the policy.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// zxcvbn's estimate, 0 (guessed at once) to 4 (more than 10^10 guesses).
    pub score: u8,
    /// The rule it breaks, as a sentence; `None` when it is accepted.
    pub problem: Option<String>,
    /// zxcvbn's warning ("This is a top-10 common password"), if any.
    pub warning: Option<String>,
    /// zxcvbn's suggestions.
    pub suggestions: Vec<String>,
}

/// Rates a candidate password: at least 12 characters and at most 1024, not the
/// username, not among the 10 000 most common passwords, and a zxcvbn score of at least
/// [`MIN_SCORE`] with the username and the product's own names counted as known words.
/// The setup page's meter shows this same assessment (`POST /api/v1/auth/password-strength`).
pub fn assess(username: &str, password: &str) -> Assessment {
    let estimate = zxcvbn::zxcvbn(password, &[username, "bangui", "fail2ban"]);
    let score = u8::from(estimate.score());
    let feedback = estimate.feedback();
    let warning = feedback.and_then(|f| f.warning()).map(|w| w.to_string());
    let suggestions = feedback
        .map(|f| f.suggestions().iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    let chars = password.chars().count();
    let problem = if chars < MIN_LENGTH {
        Some(
            "the password needs at least 12 characters (a passphrase of a few words is best)"
                .into(),
        )
    } else if chars > MAX_LENGTH {
        Some("the password is longer than 1024 characters".into())
    } else if password.eq_ignore_ascii_case(username) {
        Some("the password must not be the username".into())
    } else if common().contains(password.to_lowercase().as_str()) {
        Some("this password is among the 10 000 most common ones".into())
    } else if score < MIN_SCORE {
        let why = warning
            .as_deref()
            .map(|w| format!(": {}", w.trim_end_matches('.')))
            .unwrap_or_default();
        Some(format!(
            "this password is too easy to guess (strength {score} of 4, at least {MIN_SCORE} needed){why}; \
             add a few uncommon words"
        ))
    } else {
        None
    };
    Assessment {
        score,
        problem,
        warning,
        suggestions,
    }
}

/// Checks the policy; the error says which rule failed and carries the assessment.
pub fn check_policy(username: &str, password: &str) -> ApiResult<()> {
    let assessment = assess(username, password);
    match assessment.problem {
        None => Ok(()),
        Some(problem) => Err(
            ApiError::new(ErrorCode::WeakPassword, problem).with_details(serde_json::json!({
                "field": "password",
                "score": assessment.score,
                "min_score": MIN_SCORE,
                "warning": assessment.warning,
                "suggestions": assessment.suggestions,
            })),
        ),
    }
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

    #[test]
    fn guessable_passwords_are_refused_and_passphrases_accepted() {
        for weak in [
            "password1234",
            "Password1234!",
            "qwertyuiop123",
            "aaaaaaaaaaaaaaaa",
            "admin-admin-admin",
            "123456789012",
        ] {
            let a = assess("admin", weak);
            assert!(a.problem.is_some(), "{weak} passed with score {}", a.score);
        }
        for strong in [
            "correct horse battery staple",
            "a long enough passphrase",
            "another long passphrase here",
            "Tr4vel-mug-on-the-radiator",
            "a long passphrase of yours",
        ] {
            let a = assess("admin", strong);
            assert!(
                a.problem.is_none(),
                "{strong}: {:?} ({})",
                a.problem,
                a.score
            );
        }
        assert!(assess("admin", "admin").problem.is_some());
        assert!(assess("x", &"y".repeat(1025)).problem.is_some());
    }
}
