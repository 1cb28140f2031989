//! Account creation shared by the CLI, email signup, OAuth signup and admin-created users: one place
//! decides which default quotas a new user starts with.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jiff::Timestamp;
use tollgate_core::platform::AuthSource;
use tollgate_core::settings::Settings;
use tollgate_store::{NewUser, Role, Store, StoreError, User};

/// Shortest accepted password.
pub const MIN_PASSWORD_CHARS: usize = 8;

// argon2 takes tens of milliseconds of CPU on purpose: it runs on the blocking pool, never on a
// thread that serves other connections.

/// An argon2id hash in PHC string form.
pub async fn hash_password(password: &str) -> Result<String, StoreError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| StoreError::Other(format!("password hashing failed: {e}")))?
}

fn hash_now(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Other(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the stored hash (`None`: no account, or one without a password). A
/// missing or malformed hash never matches, and takes as long as a real one, so timing does not
/// reveal which emails have accounts.
pub async fn verify_password(password: &str, hash: Option<&str>) -> bool {
    let (password, hash) = (password.to_owned(), hash.map(str::to_owned));
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let matches = verify_now(&password, hash.as_deref().unwrap_or_else(|| dummy_hash()));
        known && matches
    })
    .await
    .unwrap_or(false)
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_now("tollgate-no-such-user").unwrap_or_default())
}

/// Creates a user and, when `apply_defaults`, its initial quota rows from the defaults in force for
/// its auth source (system layer patched by the source layer), in the same transaction.
pub async fn create_user(
    store: &dyn Store,
    settings: &Settings,
    new: &NewUser,
    apply_defaults: bool,
) -> Result<User, StoreError> {
    let initial = if apply_defaults { settings.defaults_for(new.auth_source).snapshot() } else { Vec::new() };
    store.create_user(new, &initial, Timestamp::now()).await
}

/// What `tollgate admin create` did.
#[derive(Debug)]
pub enum AdminCreated {
    /// A new admin account.
    Created(User),
    /// An existing account taken over (`--promote`).
    Promoted(tollgate_store::Promotion),
}

/// `tollgate admin create`: a new admin. An address that already has an account is refused unless
/// `promote`: then the account becomes an admin with this password, and everything that let its
/// previous holder in (sessions, OAuth identities, API keys) is ended in the same transaction.
pub async fn create_admin(store: &dyn Store, email: &str, password: &str) -> anyhow::Result<User> {
    match create_or_promote_admin(store, email, password, false).await? {
        AdminCreated::Created(u) => Ok(u),
        AdminCreated::Promoted(p) => Ok(p.user),
    }
}

/// See [`create_admin`]; `promote` allows taking over an existing account.
pub async fn create_or_promote_admin(
    store: &dyn Store,
    email: &str,
    password: &str,
    promote: bool,
) -> anyhow::Result<AdminCreated> {
    if !email.contains('@') {
        anyhow::bail!("--email must be an email address");
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        anyhow::bail!("--password must have at least {MIN_PASSWORD_CHARS} characters");
    }
    if let Some(existing) = store.find_user_by_email(email).await? {
        if !promote {
            anyhow::bail!(
                "--email: an account {} (id {}, role {}) already exists; nothing was changed. Pass --promote to make it \
                 an admin with this password (its sessions are ended, its OAuth identities unlinked and its API keys revoked)",
                existing.email,
                existing.id,
                existing.role.as_str()
            );
        }
        let hash = hash_password(password).await?;
        return Ok(AdminCreated::Promoted(store.promote_to_admin(existing.id, &hash, Timestamp::now()).await?));
    }
    let hash = hash_password(password).await?;
    let settings = Settings::from_stored(&store.load_settings().await?);
    let mut new = NewUser::new(email, AuthSource::Email);
    new.role = Role::Admin;
    new.password_hash = Some(hash);
    new.display_name = "Admin".to_owned();
    Ok(AdminCreated::Created(create_user(store, &settings, &new, true).await?))
}
