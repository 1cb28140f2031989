//! The request log (docs/request-log.md): the `request_log` view over the usage records and the
//! unbilled requests, filtered and paged by a keyset cursor; retention pruning; and the grouped
//! totals of the analytics charts.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::RowExt;
use crate::StoreError;
use crate::models::{RequestLogEntry, RequestLogFilter, StatusFilter, UsageTotals};

/// Rows per INSERT of unbilled requests (12 parameters each).
pub(crate) const UNBILLED_PER_INSERT: usize = 32;
/// Rows deleted per statement when pruning, so no statement holds the write lock for long.
pub(crate) const PRUNE_CHUNK: i64 = 5_000;

const UNBILLED_COLUMNS: usize = 12;

/// A bound value of a statement built here.
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

/// The insert of `n` unbilled requests; `numbered` placeholders (`$1`) for PostgreSQL, `?` for
/// SQLite (which binds `$N` by a linear name scan).
pub(crate) fn insert_unbilled_sql(n: usize, numbered: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO unbilled_requests (request_id, client_request_id, created_at_ms, user_id, api_key_id, \
         platform, route, model, outcome, http_status, latency_ms, upstream_id) VALUES ",
    );
    for row in 0..n {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..UNBILLED_COLUMNS {
            if col > 0 {
                sql.push_str(", ");
            }
            if numbered {
                sql.push_str(&format!("${}", row * UNBILLED_COLUMNS + col + 1));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    // A request id is drawn once per request: a repeat is the same row written again.
    sql.push_str(" ON CONFLICT (request_id) DO NOTHING");
    sql
}

const SELECT: &str = "SELECT l.request_id, l.client_request_id, l.created_at_ms, l.user_id, u.email AS user_email, \
     l.api_key_id, k.name AS key_name, l.platform, l.route, l.model, l.outcome, l.http_status, l.input_tokens, \
     l.output_tokens, l.cache_read_tokens, l.cache_write_tokens, l.cost_nanos, l.latency_ms, l.ttfb_ms, \
     l.upstream_id, up.name AS upstream_name, l.output_estimated, l.charged \
     FROM request_log l LEFT JOIN users u ON u.id = l.user_id LEFT JOIN api_keys k ON k.id = l.api_key_id \
     LEFT JOIN upstreams up ON up.id = l.upstream_id";

/// The page read of `filter`: SQL with `$N` placeholders and its arguments, newest first.
pub(crate) fn page_query(filter: &RequestLogFilter, limit: i64) -> (String, Vec<Arg>) {
    let mut w = Where::default();
    if let Some(id) = filter.user_id {
        w.cond("l.user_id = {}", [Arg::Int(id)]);
    }
    if let Some(id) = filter.api_key_id {
        w.cond("l.api_key_id = {}", [Arg::Int(id)]);
    }
    if let Some(p) = &filter.platform {
        w.cond("l.platform = {}", [Arg::Text(p.clone())]);
    }
    if let Some(m) = &filter.model {
        w.cond("l.model = {}", [Arg::Text(m.clone())]);
    }
    match filter.status {
        Some(StatusFilter::Exact(s)) => w.cond("l.http_status = {}", [Arg::Int(i64::from(s))]),
        Some(StatusFilter::Class(c)) => {
            let low = i64::from(c) * 100;
            w.cond("l.http_status >= {} AND l.http_status < {}", [Arg::Int(low), Arg::Int(low + 100)]);
        }
        None => {}
    }
    if let Some(id) = &filter.request_id {
        w.cond("(l.request_id = {} OR l.client_request_id = {})", [Arg::Text(id.clone()), Arg::Text(id.clone())]);
    }
    if let Some(t) = filter.from {
        w.cond("l.created_at_ms >= {}", [Arg::Int(super::ms(t))]);
    }
    if let Some(t) = filter.to {
        w.cond("l.created_at_ms < {}", [Arg::Int(super::ms(t))]);
    }
    if let Some((t, id)) = &filter.before {
        let at = super::ms(*t);
        w.cond(
            "(l.created_at_ms < {} OR (l.created_at_ms = {} AND l.request_id < {}))",
            [Arg::Int(at), Arg::Int(at), Arg::Text(id.clone())],
        );
    }
    let n = w.args.len() + 1;
    w.args.push(Arg::Int(limit));
    (format!("{SELECT}{} ORDER BY l.created_at_ms DESC, l.request_id DESC LIMIT ${n}", w.sql), w.args)
}

/// A WHERE clause built a condition at a time; `{}` in a condition is its next argument.
#[derive(Default)]
struct Where {
    sql: String,
    args: Vec<Arg>,
}

impl Where {
    fn cond<const N: usize>(&mut self, template: &str, args: [Arg; N]) {
        self.sql.push_str(if self.sql.is_empty() { " WHERE " } else { " AND " });
        let mut parts = template.split("{}");
        if let Some(first) = parts.next() {
            self.sql.push_str(first);
        }
        for (part, arg) in parts.zip(args) {
            self.args.push(arg);
            self.sql.push_str(&format!("${}", self.args.len()));
            self.sql.push_str(part);
        }
    }
}

pub(crate) fn decode_entry(r: &impl RowExt) -> Result<RequestLogEntry, StoreError> {
    Ok(RequestLogEntry {
        request_id: r.string("request_id")?,
        client_request_id: r.opt_string("client_request_id")?,
        at: r.time("created_at_ms")?,
        user_id: r.opt_i64("user_id")?,
        user_email: r.opt_string("user_email")?,
        api_key_id: r.opt_i64("api_key_id")?,
        key_name: r.opt_string("key_name")?,
        platform: r.string("platform")?,
        route: r.opt_string("route")?,
        model: r.opt_string("model")?,
        outcome: r.string("outcome")?,
        http_status: r.opt_i64("http_status")?,
        input_tokens: r.i64("input_tokens")?,
        output_tokens: r.i64("output_tokens")?,
        cache_read_tokens: r.i64("cache_read_tokens")?,
        cache_write_tokens: r.i64("cache_write_tokens")?,
        cost: r.money("cost_nanos")?,
        latency_ms: r.i64("latency_ms")?,
        ttfb_ms: r.opt_i64("ttfb_ms")?,
        upstream_id: r.opt_i64("upstream_id")?,
        upstream_name: r.opt_string("upstream_name")?,
        estimated: r.bool("output_estimated")?,
        charged: r.bool("charged")?,
    })
}

pub(crate) const PRUNE_UNBILLED: &str = "DELETE FROM unbilled_requests WHERE request_id IN \
     (SELECT request_id FROM unbilled_requests WHERE created_at_ms < $1 LIMIT $2)";
pub(crate) const PRUNE_USAGE: &str = "DELETE FROM usage_records WHERE request_id IN \
     (SELECT request_id FROM usage_records WHERE created_at_ms < $1 LIMIT $2)";

/// The totals columns of a grouped read of usage records (PostgreSQL sums BIGINT as NUMERIC: cast
/// back). A stream's follow-up record of late usage is not another request.
const TOTALS: &str = "CAST(SUM(cost_nanos) AS BIGINT) AS cost, \
     CAST(SUM(CASE WHEN status = 'late_usage' THEN 0 ELSE 1 END) AS BIGINT) AS n, \
     CAST(SUM(input_tokens) AS BIGINT) AS input, CAST(SUM(output_tokens) AS BIGINT) AS output, \
     CAST(SUM(cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens) AS BIGINT) AS cache";

/// Records of one user (`$1`) or of all (`$1` NULL) since `$2`.
const SCOPE: &str = "(CAST($1 AS BIGINT) IS NULL OR r.user_id = $1) AND r.created_at_ms >= $2";

/// Sums per 15-minute bucket (see `sql::usage`), grouped by local date in Rust.
pub(crate) fn by_bucket_sql() -> String {
    format!(
        "SELECT r.created_at_ms / 900000 AS bucket, {TOTALS} FROM usage_records r WHERE {SCOPE} \
         GROUP BY r.created_at_ms / 900000"
    )
}

pub(crate) fn by_model_sql() -> String {
    format!(
        "SELECT r.platform, r.model, {TOTALS} FROM usage_records r WHERE {SCOPE} GROUP BY r.platform, r.model \
         ORDER BY cost DESC, r.platform, r.model LIMIT $3"
    )
}

pub(crate) fn by_key_sql() -> String {
    format!(
        "SELECT g.api_key_id, k.name AS key_name, u.email AS user_email, g.cost, g.n, g.input, g.output, g.cache \
         FROM (SELECT r.api_key_id, MIN(r.user_id) AS user_id, {TOTALS} FROM usage_records r WHERE {SCOPE} \
         GROUP BY r.api_key_id) g LEFT JOIN api_keys k ON k.id = g.api_key_id \
         LEFT JOIN users u ON u.id = g.user_id ORDER BY g.cost DESC, g.api_key_id LIMIT $3"
    )
}

pub(crate) fn by_user_sql() -> String {
    format!(
        "SELECT g.user_id, u.email AS user_email, g.cost, g.n, g.input, g.output, g.cache \
         FROM (SELECT r.user_id, {TOTALS} FROM usage_records r WHERE {SCOPE} GROUP BY r.user_id) g \
         LEFT JOIN users u ON u.id = g.user_id ORDER BY g.cost DESC, g.user_id LIMIT $3"
    )
}

pub(crate) fn totals(r: &impl RowExt) -> Result<UsageTotals, StoreError> {
    Ok(UsageTotals {
        cost: r.money("cost")?,
        requests: r.i64("n")?,
        input_tokens: r.i64("input")?,
        output_tokens: r.i64("output")?,
        cache_tokens: r.i64("cache")?,
    })
}

impl UsageTotals {
    fn add(&mut self, o: &UsageTotals) -> Result<(), StoreError> {
        self.cost = self.cost.checked_add(o.cost).ok_or_else(|| StoreError::Invalid("usage total overflows".into()))?;
        self.requests = self.requests.saturating_add(o.requests);
        self.input_tokens = self.input_tokens.saturating_add(o.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(o.output_tokens);
        self.cache_tokens = self.cache_tokens.saturating_add(o.cache_tokens);
        Ok(())
    }
}

/// 15-minute buckets summed per local date in `zone`, oldest first.
pub(crate) fn by_day(
    rows: &[impl RowExt],
    zone: &TimeZone,
) -> Result<Vec<(jiff::civil::Date, UsageTotals)>, StoreError> {
    let mut days: BTreeMap<jiff::civil::Date, UsageTotals> = BTreeMap::new();
    for r in rows {
        let start = Timestamp::from_millisecond(r.i64("bucket")?.saturating_mul(super::usage::BUCKET_MS))
            .map_err(|e| StoreError::Invalid(format!("bad usage time: {e}")))?;
        days.entry(start.to_zoned(zone.clone()).date()).or_default().add(&totals(r)?)?;
    }
    Ok(days.into_iter().collect())
}

macro_rules! impl_request_log_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::RequestLogRepo for $store {
            async fn log_unbilled(&self, rows: &[$crate::UnbilledRequest]) -> Result<(), $crate::StoreError> {
                use $crate::sql::request_log as rl;
                let numbered = <$store>::NUMBERED_PLACEHOLDERS;
                let mut conn = self.write_conn().await?;
                for chunk in rows.chunks(rl::UNBILLED_PER_INSERT) {
                    let sql = rl::insert_unbilled_sql(chunk.len(), numbered);
                    let mut q = sqlx::query(&sql);
                    for r in chunk {
                        q = q
                            .bind(&r.request_id)
                            .bind(&r.client_request_id)
                            .bind($crate::sql::ms(r.at))
                            .bind(r.user_id)
                            .bind(r.api_key_id)
                            .bind(r.platform.as_str())
                            .bind(&r.route)
                            .bind(&r.model)
                            .bind(&r.outcome)
                            .bind(r.http_status)
                            .bind(r.latency_ms)
                            .bind(r.upstream_id);
                    }
                    q.execute(&mut *conn).await?;
                }
                Ok(())
            }

            async fn request_log(
                &self,
                filter: &$crate::RequestLogFilter,
                limit: i64,
            ) -> Result<Vec<$crate::RequestLogEntry>, $crate::StoreError> {
                use $crate::sql::request_log as rl;
                let (sql, args) = rl::page_query(filter, limit.clamp(1, 1_000));
                let mut q = sqlx::query(&sql);
                for a in args {
                    q = match a {
                        rl::Arg::Int(n) => q.bind(n),
                        rl::Arg::Text(s) => q.bind(s),
                    };
                }
                let rows = q.fetch_all(&self.pool).await?;
                rows.iter().map(rl::decode_entry).collect()
            }

            async fn prune_request_log(&self, before: jiff::Timestamp) -> Result<u64, $crate::StoreError> {
                use $crate::sql::request_log as rl;
                let mut deleted = 0u64;
                for sql in [rl::PRUNE_UNBILLED, rl::PRUNE_USAGE] {
                    loop {
                        let n = sqlx::query(sql)
                            .bind($crate::sql::ms(before))
                            .bind(rl::PRUNE_CHUNK)
                            .execute(&mut *self.write_conn().await?)
                            .await?
                            .rows_affected();
                        deleted = deleted.saturating_add(n);
                        if n < rl::PRUNE_CHUNK as u64 {
                            break;
                        }
                    }
                }
                Ok(deleted)
            }

            async fn usage_breakdown(
                &self,
                user_id: Option<i64>,
                since: jiff::Timestamp,
                zone: &jiff::tz::TimeZone,
                top: i64,
            ) -> Result<$crate::UsageBreakdown, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                use $crate::sql::request_log as rl;
                let since = $crate::sql::ms(since);
                let mut out = $crate::UsageBreakdown::default();
                let rows = sqlx::query(&rl::by_bucket_sql()).bind(user_id).bind(since).fetch_all(&self.pool).await?;
                out.by_day = rl::by_day(&rows, zone)?;
                let rows =
                    sqlx::query(&rl::by_model_sql()).bind(user_id).bind(since).bind(top).fetch_all(&self.pool).await?;
                for r in &rows {
                    out.by_model.push($crate::ModelUsage {
                        platform: r.string("platform")?,
                        model: r.string("model")?,
                        totals: rl::totals(r)?,
                    });
                }
                let rows =
                    sqlx::query(&rl::by_key_sql()).bind(user_id).bind(since).bind(top).fetch_all(&self.pool).await?;
                for r in &rows {
                    out.by_key.push($crate::KeyUsage {
                        api_key_id: r.opt_i64("api_key_id")?,
                        key_name: r.opt_string("key_name")?,
                        user_email: r.opt_string("user_email")?,
                        totals: rl::totals(r)?,
                    });
                }
                if user_id.is_none() {
                    let rows = sqlx::query(&rl::by_user_sql())
                        .bind(user_id)
                        .bind(since)
                        .bind(top)
                        .fetch_all(&self.pool)
                        .await?;
                    for r in &rows {
                        out.by_user.push($crate::UserUsage {
                            user_id: r.i64("user_id")?,
                            email: r.opt_string("user_email")?,
                            totals: rl::totals(r)?,
                        });
                    }
                }
                Ok(out)
            }
        }
    };
}
pub(crate) use impl_request_log_repo;
