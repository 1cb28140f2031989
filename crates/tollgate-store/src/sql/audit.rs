//! The audit log, newest first, with the actor's email joined.

use super::RowExt;
use crate::StoreError;
use crate::models::AuditEntry;

pub(crate) const INSERT: &str = "INSERT INTO audit_log \
     (at_ms, actor_id, action, target_user_id, platform, before_json, after_json) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// `$1` is the target user or NULL for all; `$2`/`$3` limit and offset. The `CAST` gives the NULL
/// parameter a type on PostgreSQL.
pub(crate) const PAGE: &str = "SELECT a.id, a.at_ms, a.actor_id, u.email AS actor_email, a.action, \
     a.target_user_id, a.platform, a.before_json, a.after_json \
     FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id \
     WHERE (CAST($1 AS BIGINT) IS NULL OR a.target_user_id = $1) ORDER BY a.id DESC LIMIT $2 OFFSET $3";

pub(crate) const COUNT: &str =
    "SELECT COUNT(*) AS n FROM audit_log WHERE (CAST($1 AS BIGINT) IS NULL OR target_user_id = $1)";

pub(crate) fn decode(r: &impl RowExt) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: r.i64("id")?,
        at: r.time("at_ms")?,
        actor_id: r.opt_i64("actor_id")?,
        actor_email: r.opt_string("actor_email")?,
        action: r.string("action")?,
        target_user_id: r.opt_i64("target_user_id")?,
        platform: r.opt_string("platform")?,
        before_json: r.opt_string("before_json")?,
        after_json: r.opt_string("after_json")?,
    })
}

macro_rules! impl_audit_repo {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Appends an entry on any executor, so a change and its audit entry share a transaction.
            pub(crate) async fn insert_audit<'e, E>(ex: E, e: &$crate::NewAuditEntry) -> Result<(), $crate::StoreError>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                sqlx::query($crate::sql::audit::INSERT)
                    .bind($crate::sql::ms(e.at))
                    .bind(e.actor_id)
                    .bind(&e.action)
                    .bind(e.target_user_id)
                    .bind(&e.platform)
                    .bind(&e.before_json)
                    .bind(&e.after_json)
                    .execute(ex)
                    .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::AuditRepo for $store {
            async fn append_audit(&self, e: &$crate::NewAuditEntry) -> Result<(), $crate::StoreError> {
                Self::insert_audit(&mut *self.write_conn().await?, e).await
            }

            async fn list_audit(
                &self,
                target_user_id: Option<i64>,
                page: i64,
                per_page: i64,
            ) -> Result<$crate::AuditPage, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let per_page = per_page.clamp(1, 200);
                let offset = (page.max(1) - 1).saturating_mul(per_page);
                let rows = sqlx::query($crate::sql::audit::PAGE)
                    .bind(target_user_id)
                    .bind(per_page)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await?;
                let total = sqlx::query($crate::sql::audit::COUNT)
                    .bind(target_user_id)
                    .fetch_one(&self.pool)
                    .await?
                    .i64("n")?;
                let entries = rows.iter().map($crate::sql::audit::decode).collect::<Result<_, _>>()?;
                Ok($crate::AuditPage { entries, total })
            }
        }
    };
}
pub(crate) use impl_audit_repo;
