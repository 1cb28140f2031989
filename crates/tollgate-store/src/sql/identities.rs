//! External identities (OAuth / OIDC subjects) linked to users.

pub(crate) fn user_by_identity() -> String {
    let cols = super::users::COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
    format!(
        "SELECT {cols} FROM user_identities i JOIN users u ON u.id = i.user_id WHERE i.source = $1 AND i.subject = $2"
    )
}

pub(crate) const INSERT: &str =
    "INSERT INTO user_identities (source, subject, user_id, created_at_ms) VALUES ($1, $2, $3, $4)";

pub(crate) const DELETE_USER: &str = "DELETE FROM user_identities WHERE user_id = $1";

pub(crate) const REVOKE_USER_KEYS: &str =
    "UPDATE api_keys SET revoked_at_ms = $2 WHERE user_id = $1 AND revoked_at_ms IS NULL";

pub(crate) const PROMOTE: &str =
    "UPDATE users SET password_hash = $2, role = 'admin', status = 'active', updated_at_ms = $3 WHERE id = $1";

macro_rules! impl_identity_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::IdentityRepo for $store {
            async fn find_user_by_identity(
                &self,
                source: tollgate_core::platform::AuthSource,
                subject: &str,
            ) -> Result<Option<$crate::User>, $crate::StoreError> {
                let row = sqlx::query(&$crate::sql::identities::user_by_identity())
                    .bind(source.as_str())
                    .bind(subject)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map($crate::sql::users::decode).transpose()
            }

            async fn create_user_with_identity(
                &self,
                user: &$crate::NewUser,
                source: tollgate_core::platform::AuthSource,
                subject: &str,
                initial_quotas: &[(tollgate_core::platform::Platform, tollgate_core::quota::WindowLimits)],
                now: jiff::Timestamp,
            ) -> Result<$crate::User, $crate::StoreError> {
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                let created = Self::insert_user(&mut tx, user, initial_quotas, now).await?;
                sqlx::query($crate::sql::identities::INSERT)
                    .bind(source.as_str())
                    .bind(subject)
                    .bind(created.id)
                    .bind($crate::sql::ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match $crate::StoreError::from(e) {
                        $crate::StoreError::Conflict(_) => {
                            $crate::StoreError::Conflict(format!("the {source} identity is already linked"))
                        }
                        other => other,
                    })?;
                tx.commit().await?;
                Ok(created)
            }

            async fn promote_to_admin(
                &self,
                user_id: i64,
                password_hash: &str,
                now: jiff::Timestamp,
            ) -> Result<$crate::Promotion, $crate::StoreError> {
                let now_ms = $crate::sql::ms(now);
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                let done = sqlx::query($crate::sql::identities::PROMOTE)
                    .bind(user_id)
                    .bind(password_hash)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                let sessions_ended = sqlx::query($crate::sql::sessions::DELETE_USER)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let identities_unlinked = sqlx::query($crate::sql::identities::DELETE_USER)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let keys_revoked = sqlx::query($crate::sql::identities::REVOKE_USER_KEYS)
                    .bind(user_id)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let row = sqlx::query(&$crate::sql::users::by_id()).bind(user_id).fetch_one(&mut *tx).await?;
                let user = $crate::sql::users::decode(&row)?;
                tx.commit().await?;
                Ok($crate::Promotion { user, sessions_ended, identities_unlinked, keys_revoked })
            }
        }
    };
}
pub(crate) use impl_identity_repo;
