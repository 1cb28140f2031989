//! User accounts.

use tollgate_core::money::Decimal9;
use tollgate_core::platform::AuthSource;

use super::RowExt;
use crate::StoreError;
use crate::models::{Role, User, UserPatch, UserStatus};

pub(crate) const COLUMNS: &str =
    "id, email, display_name, password_hash, role, status, auth_source, cost_multiplier_nanos, created_at_ms";

pub(crate) const INSERT: &str = "INSERT INTO users \
     (email, display_name, password_hash, role, status, auth_source, cost_multiplier_nanos, created_at_ms, updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id";

pub(crate) fn by_id() -> String {
    format!("SELECT {COLUMNS} FROM users WHERE id = $1")
}

pub(crate) fn by_email() -> String {
    format!("SELECT {COLUMNS} FROM users WHERE email = $1")
}

/// `$1` is a LIKE pattern with `\` as the escape character.
const MATCH: &str = "(LOWER(email) LIKE $1 ESCAPE '\\' OR LOWER(display_name) LIKE $1 ESCAPE '\\')";

pub(crate) fn page() -> String {
    format!("SELECT {COLUMNS} FROM users WHERE {MATCH} ORDER BY id LIMIT $2 OFFSET $3")
}

pub(crate) fn count_matching() -> String {
    format!("SELECT COUNT(*) AS n FROM users WHERE {MATCH}")
}

pub(crate) const COUNT: &str = "SELECT COUNT(*) AS n FROM users";

pub(crate) const UPDATE: &str = "UPDATE users SET display_name = $2, password_hash = $3, role = $4, status = $5, \
     cost_multiplier_nanos = $6, updated_at_ms = $7 WHERE id = $1";

/// Emails are compared trimmed and lower-cased.
pub(crate) fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A case-insensitive "contains" pattern with LIKE's wildcards escaped.
pub(crate) fn contains_pattern(query: &str) -> String {
    let mut p = String::from("%");
    for c in query.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub(crate) fn decode(r: &impl RowExt) -> Result<User, StoreError> {
    let bad = |what: &str, v: &str| StoreError::Invalid(format!("stored {what} {v:?} is not known"));
    let role = r.string("role")?;
    let status = r.string("status")?;
    let source = r.string("auth_source")?;
    Ok(User {
        id: r.i64("id")?,
        email: r.string("email")?,
        display_name: r.string("display_name")?,
        password_hash: r.opt_string("password_hash")?,
        role: Role::parse(&role).ok_or_else(|| bad("role", &role))?,
        status: UserStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
        auth_source: source.parse::<AuthSource>().map_err(|_| bad("auth source", &source))?,
        cost_multiplier: Decimal9::from_nanos(r.i64("cost_multiplier_nanos")?)
            .map_err(|_| StoreError::Invalid("negative cost multiplier".into()))?,
        created_at: r.time("created_at_ms")?,
    })
}

/// The user after `patch`.
pub(crate) fn patched(mut u: User, patch: &UserPatch) -> User {
    if let Some(v) = &patch.display_name {
        u.display_name = v.clone();
    }
    if let Some(v) = &patch.password_hash {
        u.password_hash = Some(v.clone());
    }
    if let Some(v) = patch.role {
        u.role = v;
    }
    if let Some(v) = patch.status {
        u.status = v;
    }
    if let Some(v) = patch.cost_multiplier {
        u.cost_multiplier = v;
    }
    u
}

macro_rules! impl_user_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::UserRepo for $store {
            async fn create_user(
                &self,
                user: &$crate::NewUser,
                initial_quotas: &[(tollgate_core::platform::Platform, tollgate_core::quota::WindowLimits)],
                now: jiff::Timestamp,
            ) -> Result<$crate::User, $crate::StoreError> {
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                let created = Self::insert_user(&mut tx, user, initial_quotas, now).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn get_user(&self, id: i64) -> Result<Option<$crate::User>, $crate::StoreError> {
                let row = sqlx::query(&$crate::sql::users::by_id()).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map($crate::sql::users::decode).transpose()
            }

            async fn find_user_by_email(&self, email: &str) -> Result<Option<$crate::User>, $crate::StoreError> {
                let row = sqlx::query(&$crate::sql::users::by_email())
                    .bind($crate::sql::users::normalize_email(email))
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map($crate::sql::users::decode).transpose()
            }

            async fn list_users(
                &self,
                query: &str,
                page: i64,
                per_page: i64,
            ) -> Result<$crate::UserPage, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let pattern = $crate::sql::users::contains_pattern(query);
                let per_page = per_page.clamp(1, 200);
                let offset = (page.max(1) - 1).saturating_mul(per_page);
                let rows = sqlx::query(&$crate::sql::users::page())
                    .bind(&pattern)
                    .bind(per_page)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await?;
                let total = sqlx::query(&$crate::sql::users::count_matching())
                    .bind(&pattern)
                    .fetch_one(&self.pool)
                    .await?
                    .i64("n")?;
                let users = rows.iter().map($crate::sql::users::decode).collect::<Result<_, _>>()?;
                Ok($crate::UserPage { users, total })
            }

            async fn update_user(
                &self,
                id: i64,
                patch: &$crate::UserPatch,
                now: jiff::Timestamp,
            ) -> Result<$crate::User, $crate::StoreError> {
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                let row = sqlx::query(&format!("{}{}", $crate::sql::users::by_id(), Self::LOCK_ROW))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                let user = $crate::sql::users::patched($crate::sql::users::decode(&row)?, patch);
                sqlx::query($crate::sql::users::UPDATE)
                    .bind(id)
                    .bind(&user.display_name)
                    .bind(&user.password_hash)
                    .bind(user.role.as_str())
                    .bind(user.status.as_str())
                    .bind(user.cost_multiplier.nanos())
                    .bind($crate::sql::ms(now))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(user)
            }

            async fn count_users(&self) -> Result<i64, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                sqlx::query($crate::sql::users::COUNT).fetch_one(&self.pool).await?.i64("n")
            }
        }
        impl $store {
            /// Inserts a user and its initial quota rows inside `tx`.
            pub(crate) async fn insert_user(
                tx: &mut sqlx::Transaction<'_, $db>,
                user: &$crate::NewUser,
                initial_quotas: &[(tollgate_core::platform::Platform, tollgate_core::quota::WindowLimits)],
                now: jiff::Timestamp,
            ) -> Result<$crate::User, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let email = $crate::sql::users::normalize_email(&user.email);
                let now_ms = $crate::sql::ms(now);
                let row = sqlx::query($crate::sql::users::INSERT)
                    .bind(&email)
                    .bind(&user.display_name)
                    .bind(&user.password_hash)
                    .bind(user.role.as_str())
                    .bind(user.status.as_str())
                    .bind(user.auth_source.as_str())
                    .bind(user.cost_multiplier.nanos())
                    .bind(now_ms)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(|e| match $crate::StoreError::from(e) {
                        $crate::StoreError::Conflict(_) => {
                            $crate::StoreError::Conflict(format!("a user with email {email} exists"))
                        }
                        other => other,
                    })?;
                let id = row.i64("id")?;
                for (platform, limits) in initial_quotas {
                    Self::insert_initial_quota(&mut **tx, id, *platform, limits, now_ms).await?;
                }
                let created = sqlx::query(&$crate::sql::users::by_id()).bind(id).fetch_one(&mut **tx).await?;
                $crate::sql::users::decode(&created)
            }
        }
    };
}
pub(crate) use impl_user_repo;
