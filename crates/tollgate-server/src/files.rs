//! Files only the operator may read: the SQLite database (and its `-wal` / `-shm`), the settlement
//! journal, the secret key. Created with mode 0600 whatever the umask; existing ones are narrowed
//! at start (docs/security.md).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Mode of every file Tollgate creates.
#[cfg(unix)]
pub const PRIVATE_MODE: u32 = 0o600;

/// Opens `path` for appending, creating it readable and writable by its owner only; an existing
/// file is narrowed to that mode too.
pub fn open_private_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true).read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE_MODE);
    let file = options.open(path)?;
    restrict_file(&file)?;
    Ok(file)
}

/// Creates `path` (which must not exist) with mode 0600 and writes `contents`.
pub fn create_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE_MODE);
    let mut file = options.open(path)?;
    restrict_file(&file)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Narrows an open file to mode 0600 (the umask only ever removes bits; an older file may be 0644).
fn restrict_file(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if file.metadata()?.permissions().mode() & 0o777 != PRIVATE_MODE {
            file.set_permissions(std::fs::Permissions::from_mode(PRIVATE_MODE))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Narrows a folder Tollgate owns (the journal's) to mode 0700.
pub fn restrict_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if std::fs::metadata(dir)?.permissions().mode() & 0o777 != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Narrows `path` to mode 0600 when it exists.
pub fn restrict(path: &Path) -> io::Result<()> {
    match File::open(path) {
        Ok(f) => restrict_file(&f),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The SQLite file of `url` (`sqlite://PATH[?…]`), or `None` for PostgreSQL and `:memory:`.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// Before SQLite opens `url`: creates its database file with mode 0600 when missing (SQLite would
/// create it 0644 minus the umask, and gives `-wal` / `-shm` the mode of the database file), and
/// narrows an existing file and its `-wal` / `-shm` to 0600.
pub fn prepare_sqlite(url: &str) -> io::Result<()> {
    let Some(path) = sqlite_file(url) else { return Ok(()) };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    if !path.exists() {
        // An empty file is an empty SQLite database.
        match create_private(&path, b"") {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    restrict_sqlite(&path)
}

/// Narrows a SQLite database file and its `-wal` / `-shm` / `-journal` to 0600.
pub fn restrict_sqlite(path: &Path) -> io::Result<()> {
    restrict(path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        restrict(Path::new(&p))?;
    }
    Ok(())
}

/// Opens the store at `url`, its SQLite files (if any) created or narrowed to 0600 first and after.
pub async fn connect_store(url: &str) -> anyhow::Result<std::sync::Arc<dyn tollgate_store::Store>> {
    prepare_sqlite(url).map_err(|e| anyhow::anyhow!("database file of {}: {e}", tollgate_store::redact_url(url)))?;
    let store = tollgate_store::connect(url).await?;
    if let Some(path) = sqlite_file(url) {
        restrict_sqlite(&path).map_err(|e| anyhow::anyhow!("database file {}: {e}", path.display()))?;
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_file("sqlite://data/t.db?mode=rwc"), Some(PathBuf::from("data/t.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/d"), None);
    }
}
