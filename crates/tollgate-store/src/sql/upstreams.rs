//! Upstream accounts.

use tollgate_core::platform::Platform;

use super::RowExt;
use crate::StoreError;
use crate::models::{Upstream, UpstreamPatch, UpstreamProtocol};

pub(crate) const COLUMNS: &str = "id, platform, name, base_url, api_key, enabled, priority, protocol";

pub(crate) const INSERT: &str = "INSERT INTO upstreams \
     (platform, name, base_url, api_key, enabled, priority, protocol, created_at_ms, updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id";

pub(crate) fn by_id() -> String {
    format!("SELECT {COLUMNS} FROM upstreams WHERE id = $1")
}

pub(crate) fn all() -> String {
    format!("SELECT {COLUMNS} FROM upstreams ORDER BY platform, priority, id")
}

pub(crate) const UPDATE: &str = "UPDATE upstreams SET platform = $2, name = $3, base_url = $4, api_key = $5, \
     enabled = $6, priority = $7, protocol = $8, updated_at_ms = $9 WHERE id = $1";

pub(crate) const DELETE: &str = "DELETE FROM upstreams WHERE id = $1";

/// Decodes a row; `Ok(None)` for a platform or protocol this build does not know (skipped).
pub(crate) fn decode(r: &impl RowExt) -> Result<Option<Upstream>, StoreError> {
    let platform = r.string("platform")?;
    let protocol = r.string("protocol")?;
    let (Ok(platform), Some(protocol)) = (platform.parse::<Platform>(), UpstreamProtocol::parse(&protocol)) else {
        tracing::warn!(%platform, %protocol, "skipping an upstream of an unknown platform or protocol");
        return Ok(None);
    };
    Ok(Some(Upstream {
        id: r.i64("id")?,
        platform,
        name: r.string("name")?,
        base_url: r.string("base_url")?,
        api_key: crate::models::Secret::new(r.string("api_key")?),
        enabled: r.bool("enabled")?,
        priority: r.i64("priority")?,
        protocol,
    }))
}

pub(crate) fn patched(mut u: Upstream, p: &UpstreamPatch) -> Upstream {
    if let Some(v) = p.platform {
        u.platform = v;
    }
    if let Some(v) = &p.name {
        u.name = v.clone();
    }
    if let Some(v) = &p.base_url {
        u.base_url = v.clone();
    }
    if let Some(v) = &p.api_key {
        u.api_key = v.clone();
    }
    if let Some(v) = p.enabled {
        u.enabled = v;
    }
    if let Some(v) = p.priority {
        u.priority = v;
    }
    if let Some(v) = p.protocol {
        u.protocol = v;
    }
    u
}

macro_rules! impl_upstream_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::UpstreamRepo for $store {
            async fn create_upstream(
                &self,
                new: &$crate::NewUpstream,
                now: jiff::Timestamp,
            ) -> Result<$crate::Upstream, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let id = sqlx::query($crate::sql::upstreams::INSERT)
                    .bind(new.platform.as_str())
                    .bind(&new.name)
                    .bind(&new.base_url)
                    .bind(new.api_key.expose())
                    .bind(new.enabled)
                    .bind(new.priority)
                    .bind(new.protocol.as_str())
                    .bind($crate::sql::ms(now))
                    .fetch_one(&mut *self.write_conn().await?)
                    .await?
                    .i64("id")?;
                Ok($crate::Upstream {
                    id,
                    platform: new.platform,
                    name: new.name.clone(),
                    base_url: new.base_url.clone(),
                    api_key: new.api_key.clone(),
                    enabled: new.enabled,
                    priority: new.priority,
                    protocol: new.protocol,
                })
            }

            async fn list_upstreams(&self) -> Result<Vec<$crate::Upstream>, $crate::StoreError> {
                let rows = sqlx::query(&$crate::sql::upstreams::all()).fetch_all(&self.pool).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.extend($crate::sql::upstreams::decode(r)?);
                }
                // Platforms in registry order (display order), not as SQL collates their names.
                out.sort_by_key(|u| (u.platform, u.priority, u.id));
                Ok(out)
            }

            async fn update_upstream(
                &self,
                id: i64,
                patch: &$crate::UpstreamPatch,
                now: jiff::Timestamp,
            ) -> Result<$crate::Upstream, $crate::StoreError> {
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                let row = sqlx::query(&format!("{}{}", $crate::sql::upstreams::by_id(), Self::LOCK_ROW))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                let current = $crate::sql::upstreams::decode(&row)?.ok_or($crate::StoreError::NotFound)?;
                let u = $crate::sql::upstreams::patched(current, patch);
                sqlx::query($crate::sql::upstreams::UPDATE)
                    .bind(id)
                    .bind(u.platform.as_str())
                    .bind(&u.name)
                    .bind(&u.base_url)
                    .bind(u.api_key.expose())
                    .bind(u.enabled)
                    .bind(u.priority)
                    .bind(u.protocol.as_str())
                    .bind($crate::sql::ms(now))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(u)
            }

            async fn delete_upstream(&self, id: i64) -> Result<(), $crate::StoreError> {
                let done = sqlx::query($crate::sql::upstreams::DELETE)
                    .bind(id)
                    .execute(&mut *self.write_conn().await?)
                    .await?;
                if done.rows_affected() == 0 { Err($crate::StoreError::NotFound) } else { Ok(()) }
            }
        }
    };
}
pub(crate) use impl_upstream_repo;
