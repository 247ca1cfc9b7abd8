//! Random bearer secrets (session tokens, API tokens): 256 bits, of which only the
//! SHA-256 is stored, so a database leak reveals no usable credential.

use sha2::{Digest, Sha256};

/// A new secret as 64 hex characters, with a readable prefix for API tokens.
pub fn new_secret(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}{}", hex(&bytes))
}

pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hashes_stable() {
        let a = new_secret("bgt_");
        assert!(a.starts_with("bgt_") && a.len() == 68);
        assert_ne!(a, new_secret("bgt_"));
        assert_eq!(hash_token("x"), hash_token("x"));
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
