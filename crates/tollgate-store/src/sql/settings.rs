//! The settings table.

pub(crate) const LOAD: &str = "SELECT key, value FROM settings";
pub(crate) const UPSERT: &str = "INSERT INTO settings (key, value, updated_at_ms) VALUES ($1, $2, $3) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms";

macro_rules! impl_settings_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::SettingsRepo for $store {
            async fn load_settings(&self) -> Result<std::collections::BTreeMap<String, String>, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let rows = sqlx::query($crate::sql::settings::LOAD).fetch_all(&self.pool).await?;
                rows.iter().map(|r| Ok((r.string("key")?, r.string("value")?))).collect()
            }

            async fn save_settings_audited(
                &self,
                values: &[(String, String)],
                now: jiff::Timestamp,
                audit: Option<&$crate::NewAuditEntry>,
            ) -> Result<(), $crate::StoreError> {
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                for (key, value) in values {
                    sqlx::query($crate::sql::settings::UPSERT)
                        .bind(key)
                        .bind(value)
                        .bind($crate::sql::ms(now))
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(entry) = audit {
                    Self::insert_audit(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_settings_repo;
