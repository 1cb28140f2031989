//! Secrets at rest: upstream API keys and OAuth client secrets are stored encrypted with
//! ChaCha20-Poly1305 under a key the operator supplies (docs/security.md, "Secrets at rest").
//!
//! Stored form: `enc:v1:` + base64(nonce ‖ ciphertext ‖ tag). A value without the prefix is a
//! plaintext row from an older database: it is still read, and re-encrypted at start.

pub mod key;
pub mod stored;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

/// The prefix of an encrypted value.
pub const PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 12;

/// Why a stored secret cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// The key in force is not the one that encrypted it (or the value was altered).
    #[error("cannot be decrypted with the secret key in force (wrong TOLLGATE_SECRET_KEY or --secret-key-file?)")]
    WrongKey,
    /// The value has the prefix but is not valid base64 of a nonce and ciphertext.
    #[error("is damaged: {0}")]
    Malformed(&'static str),
}

/// Encrypts and decrypts secrets under one 32-byte key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key redacted>)")
    }
}

impl SecretBox {
    /// A box under `key`.
    pub fn new(key: &[u8; 32]) -> Self {
        Self { cipher: ChaCha20Poly1305::new(Key::from_slice(key)) }
    }

    /// Whether `stored` is in the encrypted form.
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    /// The stored form of `plain`: a fresh random nonce each time.
    pub fn seal(&self, plain: &str) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encryption fails only for inputs past 256 GiB; a secret is never that long.
        let ciphertext = self.cipher.encrypt(&nonce, plain.as_bytes()).unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}", B64.encode(bytes))
    }

    /// The secret in `stored`: decrypted when sealed, as is when plaintext (an older row).
    pub fn open(&self, stored: &str) -> Result<String, SecretError> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else { return Ok(stored.to_owned()) };
        let bytes = B64.decode(encoded.trim()).map_err(|_| SecretError::Malformed("not base64"))?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(SecretError::Malformed("too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), ciphertext).map_err(|_| SecretError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SecretError::Malformed("not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_plaintext_rows() {
        let a = SecretBox::new(&[7; 32]);
        let sealed = a.seal("sk-live-123");
        assert!(sealed.starts_with("enc:v1:") && !sealed.contains("sk-live"));
        assert_ne!(sealed, a.seal("sk-live-123"), "a fresh nonce every time");
        assert_eq!(a.open(&sealed).unwrap(), "sk-live-123");
        assert_eq!(a.open("sk-plain").unwrap(), "sk-plain");
        assert_eq!(SecretBox::new(&[8; 32]).open(&sealed), Err(SecretError::WrongKey));
        assert!(matches!(a.open("enc:v1:!!"), Err(SecretError::Malformed(_))));
    }
}
