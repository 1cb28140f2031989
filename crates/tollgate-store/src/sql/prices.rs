//! Admin price overrides: nano-USD per million tokens, plus the long-context tier as JSON text.

use tollgate_core::money::Money;
use tollgate_core::platform::Platform;
use tollgate_core::pricing::{LongContextPrice, Medium, Price, ToolFees};

use super::RowExt;
use crate::StoreError;

pub(crate) const ALL: &str = "SELECT model, platform, input_nanos, output_nanos, cache_read_nanos, \
     cache_write_5m_nanos, cache_write_1h_nanos, long_context, details FROM price_overrides ORDER BY model";

pub(crate) const UPSERT: &str = "INSERT INTO price_overrides (model, platform, input_nanos, output_nanos, \
     cache_read_nanos, cache_write_5m_nanos, cache_write_1h_nanos, long_context, details, updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, $9) ON CONFLICT (model) DO UPDATE SET \
     platform = excluded.platform, input_nanos = excluded.input_nanos, output_nanos = excluded.output_nanos, \
     cache_read_nanos = excluded.cache_read_nanos, cache_write_5m_nanos = excluded.cache_write_5m_nanos, \
     cache_write_1h_nanos = excluded.cache_write_1h_nanos, long_context = excluded.long_context, \
     details = excluded.details, updated_at_ms = excluded.updated_at_ms";

pub(crate) const NOTE_UNPRICED: &str = "INSERT INTO unpriced_models (model, platform, requests, first_seen_ms, \
     last_seen_ms) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (model, platform) DO UPDATE SET \
     requests = unpriced_models.requests + excluded.requests, last_seen_ms = excluded.last_seen_ms";

pub(crate) const UNPRICED: &str = "SELECT model, platform, requests, first_seen_ms, last_seen_ms FROM unpriced_models \
     ORDER BY last_seen_ms DESC, model LIMIT 500";

pub(crate) const DELETE: &str = "DELETE FROM price_overrides WHERE model = $1";

pub(crate) fn encode_long_context(p: &Price) -> Result<Option<String>, StoreError> {
    p.long_context
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Invalid(format!("long_context: {e}")))
}

/// What a price carries beside its rates, stored as one JSON object.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Details {
    #[serde(default, skip_serializing_if = "ToolFees::is_empty")]
    tool_fees: ToolFees,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    covers: Vec<Medium>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    as_of: Option<String>,
}

pub(crate) fn encode_details(p: &Price) -> Result<Option<String>, StoreError> {
    if p.tool_fees.is_empty() && p.covers.is_empty() && p.source_url.is_none() && p.as_of.is_none() {
        return Ok(None);
    }
    let d = Details {
        tool_fees: p.tool_fees,
        covers: p.covers.clone(),
        source_url: p.source_url.clone(),
        as_of: p.as_of.clone(),
    };
    serde_json::to_string(&d).map(Some).map_err(|e| StoreError::Invalid(format!("price details: {e}")))
}

/// Decodes a row; `Ok(None)` for a platform this build does not know (skipped).
pub(crate) fn decode(r: &impl RowExt) -> Result<Option<(String, Price)>, StoreError> {
    let name = r.string("platform")?;
    let Ok(platform) = name.parse::<Platform>() else {
        tracing::warn!(platform = %name, "skipping a price override of an unknown platform");
        return Ok(None);
    };
    let long_context = match r.opt_string("long_context")? {
        Some(text) => Some(
            serde_json::from_str::<LongContextPrice>(&text)
                .map_err(|e| StoreError::Invalid(format!("stored long_context: {e}")))?,
        ),
        None => None,
    };
    let details = match r.opt_string("details")? {
        Some(text) => serde_json::from_str::<Details>(&text)
            .map_err(|e| StoreError::Invalid(format!("stored price details: {e}")))?,
        None => Details::default(),
    };
    let price = Price {
        platform,
        input_per_mtok: r.money("input_nanos")?,
        output_per_mtok: r.money("output_nanos")?,
        cache_read_per_mtok: r.opt_money("cache_read_nanos")?,
        cache_write_5m_per_mtok: r.opt_money("cache_write_5m_nanos")?,
        cache_write_1h_per_mtok: r.opt_money("cache_write_1h_nanos")?,
        long_context,
        tool_fees: details.tool_fees,
        covers: details.covers,
        source_url: details.source_url,
        as_of: details.as_of,
    };
    Ok(Some((r.string("model")?, price)))
}

/// Decodes an unpriced-model row; `Ok(None)` for a platform this build does not know.
pub(crate) fn decode_unpriced(r: &impl RowExt) -> Result<Option<crate::UnpricedModel>, StoreError> {
    let Ok(platform) = r.string("platform")?.parse::<Platform>() else { return Ok(None) };
    Ok(Some(crate::UnpricedModel {
        model: r.string("model")?,
        platform,
        requests: r.i64("requests")?,
        first_seen: r.time("first_seen_ms")?,
        last_seen: r.time("last_seen_ms")?,
    }))
}

pub(crate) fn nanos(m: Option<Money>) -> Option<i64> {
    m.map(Money::nanos)
}

macro_rules! impl_price_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::PriceRepo for $store {
            async fn list_price_overrides(
                &self,
            ) -> Result<Vec<(String, tollgate_core::pricing::Price)>, $crate::StoreError> {
                let rows = sqlx::query($crate::sql::prices::ALL).fetch_all(&self.pool).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.extend($crate::sql::prices::decode(r)?);
                }
                Ok(out)
            }

            async fn upsert_price_overrides_audited(
                &self,
                prices: &[(String, tollgate_core::pricing::Price)],
                now: jiff::Timestamp,
                audit: Option<&$crate::NewAuditEntry>,
            ) -> Result<(), $crate::StoreError> {
                use $crate::sql::prices::nanos;
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                for (model, price) in prices {
                    sqlx::query($crate::sql::prices::UPSERT)
                        .bind(model)
                        .bind(price.platform.as_str())
                        .bind(price.input_per_mtok.nanos())
                        .bind(price.output_per_mtok.nanos())
                        .bind(nanos(price.cache_read_per_mtok))
                        .bind(nanos(price.cache_write_5m_per_mtok))
                        .bind(nanos(price.cache_write_1h_per_mtok))
                        .bind($crate::sql::prices::encode_long_context(price)?)
                        .bind($crate::sql::ms(now))
                        .bind($crate::sql::prices::encode_details(price)?)
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(entry) = audit {
                    Self::insert_audit(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn note_unpriced_model(
                &self,
                model: &str,
                platform: tollgate_core::platform::Platform,
                requests: i64,
                now: jiff::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query($crate::sql::prices::NOTE_UNPRICED)
                    .bind(model)
                    .bind(platform.as_str())
                    .bind(requests)
                    .bind($crate::sql::ms(now))
                    .execute(&mut *self.write_conn().await?)
                    .await?;
                Ok(())
            }

            async fn list_unpriced_models(&self) -> Result<Vec<$crate::UnpricedModel>, $crate::StoreError> {
                let rows = sqlx::query($crate::sql::prices::UNPRICED).fetch_all(&self.pool).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.extend($crate::sql::prices::decode_unpriced(r)?);
                }
                Ok(out)
            }

            async fn delete_price_override(&self, model: &str) -> Result<(), $crate::StoreError> {
                let done = sqlx::query($crate::sql::prices::DELETE)
                    .bind(model)
                    .execute(&mut *self.write_conn().await?)
                    .await?;
                if done.rows_affected() == 0 { Err($crate::StoreError::NotFound) } else { Ok(()) }
            }
        }
    };
}
pub(crate) use impl_price_repo;
