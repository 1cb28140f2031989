//! Gateway API keys: how a secret looks, and how it is stored (SHA-256, never the secret itself).

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Every secret starts with this, so leaked keys are easy to recognise and scan for.
pub const SECRET_PREFIX: &str = "tg-";
/// Characters of the secret kept in clear (`prefix` column) so users can tell keys apart.
pub const SHOWN_PREFIX_LEN: usize = 10;

/// A new secret: `tg-` followed by 48 hex digits (192 random bits).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", hex::encode(bytes))
}

/// The stored form of a secret: lower-case hex SHA-256.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The part of a secret shown in lists.
pub fn shown_prefix(secret: &str) -> String {
    secret.chars().take(SHOWN_PREFIX_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hashed() {
        let a = generate_secret();
        assert!(a.starts_with("tg-") && a.len() == 51);
        assert_ne!(a, generate_secret());
        assert_eq!(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(shown_prefix(&a).len(), 10);
    }
}
