//! Rewriting stored secrets (encryption at rest, key rotation): every change in one transaction,
//! each conditional on the value it replaces, so a concurrent write makes the whole rewrite fail
//! (`Conflict`) instead of being overwritten.

pub(crate) const UPSTREAM: &str =
    "UPDATE upstreams SET api_key = $2, updated_at_ms = $4 WHERE id = $1 AND api_key = $3";

pub(crate) const SETTING: &str = "UPDATE settings SET value = $2, updated_at_ms = $4 WHERE key = $1 AND value = $3";

macro_rules! impl_secret_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::SecretRepo for $store {
            async fn rewrite_secrets(
                &self,
                rewrite: &$crate::SecretRewrite,
                now: jiff::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                let now_ms = $crate::sql::ms(now);
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                for (id, old, new) in &rewrite.upstream_keys {
                    let done = sqlx::query($crate::sql::secrets::UPSTREAM)
                        .bind(id)
                        .bind(new)
                        .bind(old)
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() != 1 {
                        return Err($crate::StoreError::Conflict(format!("upstream {id} changed during the rewrite")));
                    }
                }
                for (key, old, new) in &rewrite.settings {
                    let done = sqlx::query($crate::sql::secrets::SETTING)
                        .bind(key)
                        .bind(new)
                        .bind(old)
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() != 1 {
                        return Err($crate::StoreError::Conflict(format!("setting {key} changed during the rewrite")));
                    }
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_secret_repo;
