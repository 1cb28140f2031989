//! Gateway API keys. `platforms` is JSON text (`["anthropic",…]`), NULL for every platform.

use tollgate_core::platform::Platform;

use super::RowExt;
use crate::StoreError;
use crate::models::ApiKey;

pub(crate) const COLUMNS: &str =
    "id, user_id, name, prefix, platforms, created_at_ms, last_used_at_ms, lifetime_limit_nanos, lifetime_usage_nanos";

pub(crate) const INSERT: &str = "INSERT INTO api_keys (user_id, name, prefix, key_hash, platforms, created_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

pub(crate) fn by_id() -> String {
    format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1")
}

pub(crate) fn by_user() -> String {
    format!("SELECT {COLUMNS} FROM api_keys WHERE user_id = $1 AND revoked_at_ms IS NULL ORDER BY id")
}

pub(crate) fn by_hash() -> String {
    format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at_ms IS NULL")
}

pub(crate) const REVOKE: &str =
    "UPDATE api_keys SET revoked_at_ms = $3 WHERE id = $2 AND user_id = $1 AND revoked_at_ms IS NULL";

pub(crate) const TOUCH: &str = "UPDATE api_keys SET last_used_at_ms = $2 WHERE id = $1";

/// The stored form of a platform restriction.
pub(crate) fn encode_platforms(p: &Option<Vec<Platform>>) -> Option<String> {
    p.as_ref()
        .map(|list| serde_json::to_string(&list.iter().map(|p| p.as_str()).collect::<Vec<_>>()).unwrap_or_default())
}

/// Unknown platform names (written by a newer build) are dropped, never an error.
fn decode_platforms(text: Option<String>) -> Option<Vec<Platform>> {
    let names: Vec<String> = serde_json::from_str(&text?).unwrap_or_default();
    Some(names.iter().filter_map(|n| n.parse().ok()).collect())
}

pub(crate) fn decode(r: &impl RowExt) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: r.i64("id")?,
        user_id: r.i64("user_id")?,
        name: r.string("name")?,
        prefix: r.string("prefix")?,
        platforms: decode_platforms(r.opt_string("platforms")?),
        created_at: r.time("created_at_ms")?,
        last_used_at: r.opt_time("last_used_at_ms")?,
        lifetime_limit: r.opt_money("lifetime_limit_nanos")?,
        lifetime_usage: r.money("lifetime_usage_nanos")?,
    })
}

macro_rules! impl_api_key_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::ApiKeyRepo for $store {
            async fn create_api_key(
                &self,
                new: &$crate::NewApiKey,
                now: jiff::Timestamp,
            ) -> Result<$crate::ApiKey, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                let id = sqlx::query($crate::sql::api_keys::INSERT)
                    .bind(new.user_id)
                    .bind(&new.name)
                    .bind(&new.prefix)
                    .bind(&new.key_hash)
                    .bind($crate::sql::api_keys::encode_platforms(&new.platforms))
                    .bind($crate::sql::ms(now))
                    .fetch_one(&mut *tx)
                    .await?
                    .i64("id")?;
                if !new.limits.is_empty() || new.lifetime_limit.is_some() {
                    $crate::sql::quotas::check_unique(&new.limits)?;
                    let now = $crate::sql::ms(now);
                    Self::write_key_limits(&mut *tx, new.user_id, id, &new.limits, new.lifetime_limit, now).await?;
                }
                let row = sqlx::query(&$crate::sql::api_keys::by_id()).bind(id).fetch_one(&mut *tx).await?;
                let key = $crate::sql::api_keys::decode(&row)?;
                tx.commit().await?;
                Ok(key)
            }

            async fn list_api_keys(&self, user_id: i64) -> Result<Vec<$crate::ApiKey>, $crate::StoreError> {
                let rows = sqlx::query(&$crate::sql::api_keys::by_user()).bind(user_id).fetch_all(&self.pool).await?;
                rows.iter().map($crate::sql::api_keys::decode).collect()
            }

            async fn revoke_api_key(
                &self,
                user_id: i64,
                id: i64,
                now: jiff::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                let done = sqlx::query($crate::sql::api_keys::REVOKE)
                    .bind(user_id)
                    .bind(id)
                    .bind($crate::sql::ms(now))
                    .execute(&mut *self.write_conn().await?)
                    .await?;
                if done.rows_affected() == 0 { Err($crate::StoreError::NotFound) } else { Ok(()) }
            }

            async fn find_api_key_by_hash(&self, key_hash: &str) -> Result<Option<$crate::ApiKey>, $crate::StoreError> {
                let row =
                    sqlx::query(&$crate::sql::api_keys::by_hash()).bind(key_hash).fetch_optional(&self.pool).await?;
                row.as_ref().map($crate::sql::api_keys::decode).transpose()
            }

            async fn touch_api_key(&self, id: i64, now: jiff::Timestamp) -> Result<(), $crate::StoreError> {
                sqlx::query($crate::sql::api_keys::TOUCH)
                    .bind(id)
                    .bind($crate::sql::ms(now))
                    .execute(&mut *self.write_conn().await?)
                    .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_api_key_repo;
