//! Where the secret key comes from: `TOLLGATE_SECRET_KEY` (base64 of 32 bytes), or a key file
//! (`--secret-key-file`), or — on a database that holds no encrypted secret yet — a key file that
//! `tollgate serve` generates on first start (`DATA_DIR/secret.key`, mode 0600).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore as _;

use super::SecretBox;

/// A new key, as the base64 text `TOLLGATE_SECRET_KEY` and key files hold.
pub fn generate() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    B64.encode(key)
}

/// Parses the base64 text of a key; `what` names where it came from in the error.
pub fn parse(text: &str, what: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = B64
        .decode(text.trim())
        .map_err(|_| anyhow::anyhow!("{what}: not base64 (generate a key with `tollgate secret-key generate`)"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| anyhow::anyhow!("{what}: must be 32 bytes in base64 (got {} bytes)", bytes.len()))
}

/// Reads a key file (narrowing it to 0600).
pub fn read_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("--secret-key-file {}: {e}", path.display()))?;
    crate::files::restrict(path).map_err(|e| anyhow::anyhow!("--secret-key-file {}: {e}", path.display()))?;
    parse(&text, &format!("--secret-key-file {}", path.display()))
}

/// How the key in force is found (see [`crate::config::GatewayConfig`]).
#[derive(Debug, Clone, Default)]
pub struct KeySource {
    /// `TOLLGATE_SECRET_KEY`.
    pub env: Option<tollgate_store::Secret>,
    /// `--secret-key-file`.
    pub file: Option<PathBuf>,
    /// `DATA_DIR/secret.key`: used when it exists, generated when it does not and the database
    /// holds no encrypted secret (a fresh install).
    pub generated_file: Option<PathBuf>,
}

/// What [`KeySource::resolve`] found.
pub enum Resolved {
    /// A key was given or found.
    Key(SecretBox),
    /// No key given, and a file to create one in.
    Generate(PathBuf),
}

impl KeySource {
    /// The key in force, or where to generate one.
    pub fn resolve(&self) -> anyhow::Result<Option<Resolved>> {
        if let Some(text) = &self.env {
            return Ok(Some(Resolved::Key(SecretBox::new(&parse(text.expose(), "TOLLGATE_SECRET_KEY")?))));
        }
        if let Some(path) = &self.file {
            return Ok(Some(Resolved::Key(SecretBox::new(&read_file(path)?))));
        }
        match &self.generated_file {
            Some(path) if path.exists() => Ok(Some(Resolved::Key(SecretBox::new(&read_file(path)?)))),
            Some(path) => Ok(Some(Resolved::Generate(path.clone()))),
            None => Ok(None),
        }
    }
}

/// Writes a new key to `path` (mode 0600; refuses to overwrite) and returns it.
pub fn generate_file(path: &Path) -> anyhow::Result<SecretBox> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    }
    let text = generate();
    crate::files::create_private(path, format!("{text}\n").as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot create the secret key file {}: {e}", path.display()))?;
    Ok(SecretBox::new(&parse(&text, "generated key")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_name_their_source() {
        let k = generate();
        assert_eq!(parse(&format!("{k}\n"), "x").unwrap().len(), 32);
        assert!(parse("abc", "TOLLGATE_SECRET_KEY").unwrap_err().to_string().contains("TOLLGATE_SECRET_KEY"));
        assert!(parse("AAAA", "f").unwrap_err().to_string().contains("32 bytes"));
    }
}
