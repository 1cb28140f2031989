//! Console sessions, joined with their user.

use super::RowExt;
use crate::StoreError;
use crate::models::Session;

pub(crate) const INSERT: &str = "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at_ms, expires_at_ms) \
     VALUES ($1, $2, $3, $4, $5)";

pub(crate) const PURGE_EXPIRED: &str = "DELETE FROM sessions WHERE expires_at_ms <= $1";

/// Only unexpired sessions of active users.
pub(crate) const FIND: &str = "SELECT u.id, u.email, u.display_name, u.password_hash, u.role, u.status, \
     u.auth_source, u.cost_multiplier_nanos, u.created_at_ms, s.csrf_token, s.expires_at_ms \
     FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.token_hash = $1 AND s.expires_at_ms > $2 AND u.status = 'active'";

pub(crate) const DELETE: &str = "DELETE FROM sessions WHERE token_hash = $1";

pub(crate) const DELETE_USER: &str = "DELETE FROM sessions WHERE user_id = $1";

pub(crate) fn decode(r: &impl RowExt) -> Result<Session, StoreError> {
    Ok(Session {
        user: super::users::decode(r)?,
        csrf_token: r.string("csrf_token")?,
        expires_at: r.time("expires_at_ms")?,
    })
}

macro_rules! impl_session_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::SessionRepo for $store {
            async fn create_session(
                &self,
                new: &$crate::NewSession,
                now: jiff::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                let now_ms = $crate::sql::ms(now);
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                sqlx::query($crate::sql::sessions::PURGE_EXPIRED).bind(now_ms).execute(&mut *tx).await?;
                sqlx::query($crate::sql::sessions::INSERT)
                    .bind(&new.token_hash)
                    .bind(new.user_id)
                    .bind(&new.csrf_token)
                    .bind(now_ms)
                    .bind($crate::sql::ms(new.expires_at))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn find_session(
                &self,
                token_hash: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<$crate::Session>, $crate::StoreError> {
                let row = sqlx::query($crate::sql::sessions::FIND)
                    .bind(token_hash)
                    .bind($crate::sql::ms(now))
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map($crate::sql::sessions::decode).transpose()
            }

            async fn delete_session(&self, token_hash: &str) -> Result<(), $crate::StoreError> {
                sqlx::query($crate::sql::sessions::DELETE)
                    .bind(token_hash)
                    .execute(&mut *self.write_conn().await?)
                    .await?;
                Ok(())
            }

            async fn delete_user_sessions(&self, user_id: i64) -> Result<(), $crate::StoreError> {
                sqlx::query($crate::sql::sessions::DELETE_USER)
                    .bind(user_id)
                    .execute(&mut *self.write_conn().await?)
                    .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_session_repo;
