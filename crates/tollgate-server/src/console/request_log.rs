//! The request log in the console (docs/request-log.md): `GET /admin/request-log` (every user) and
//! `GET /user/request-log` (the caller's own), each with a streamed `.csv` export of the same
//! filters.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use tollgate_core::money::Money;
use tollgate_store::{RequestLogEntry, RequestLogFilter, StatusFilter};

use crate::console::admin::audit::int_param;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::{Admin, Caller};
use crate::console::views::rfc3339;
use crate::state::AppState;

/// Rows per page of the CSV export's reads.
const CSV_PAGE: i64 = 1_000;
/// Most rows one export writes (about 200 MB of CSV): narrow the range for more.
const CSV_MAX_ROWS: usize = 1_000_000;

/// The query of the log routes, read as text so a bad value is a 400 naming its parameter.
#[derive(Debug, Deserialize, Default)]
pub struct LogQuery {
    pub user_id: Option<String>,
    pub key_id: Option<String>,
    pub platform: Option<String>,
    pub model: Option<String>,
    pub status: Option<String>,
    pub request_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for LogQuery {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<LogQuery>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .map_err(|e| ConsoleError::invalid("", format!("bad query string: {e}")))
    }
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `from`/`to`: an RFC 3339 time, or a date in the quota zone (`from` its first instant, `to` the
/// end of that day, so `from=to=2026-12-05` is that whole day).
fn time_param(name: &str, v: Option<&str>, zone: &TimeZone, end_of_day: bool) -> ConsoleResult<Option<Timestamp>> {
    let Some(v) = v else { return Ok(None) };
    if let Ok(t) = v.parse::<Timestamp>() {
        return Ok(Some(t));
    }
    let bad = || ConsoleError::invalid(name, "must be an RFC 3339 time or a date (YYYY-MM-DD)");
    let date: jiff::civil::Date = v.parse().map_err(|_| bad())?;
    let date = if end_of_day { date.tomorrow().map_err(|_| bad())? } else { date };
    Ok(Some(date.to_zoned(zone.clone()).map_err(|_| bad())?.timestamp()))
}

fn status_param(v: Option<&str>) -> ConsoleResult<Option<StatusFilter>> {
    let Some(v) = v else { return Ok(None) };
    let bad = || ConsoleError::invalid("status", "must be a status code (e.g. 429) or a class (2xx, 4xx, 5xx)");
    if let Some(class) = v.strip_suffix("xx") {
        return match class {
            "1" | "2" | "3" | "4" | "5" => Ok(Some(StatusFilter::Class(class.parse().map_err(|_| bad())?))),
            _ => Err(bad()),
        };
    }
    match v.parse::<u16>() {
        Ok(code) if (100..=599).contains(&code) => Ok(Some(StatusFilter::Exact(code))),
        _ => Err(bad()),
    }
}

/// The cursor of the row after which the next page starts: `<ms>_<request id>`.
fn cursor_of(e: &RequestLogEntry) -> String {
    format!("{}_{}", e.at.as_millisecond(), e.request_id)
}

fn cursor_param(v: Option<&str>) -> ConsoleResult<Option<(Timestamp, String)>> {
    let Some(v) = v else { return Ok(None) };
    let bad = || ConsoleError::invalid("cursor", "must be a next_cursor value of an earlier page");
    let (ms, id) = v.split_once('_').ok_or_else(bad)?;
    let at = ms.parse::<i64>().ok().and_then(|ms| Timestamp::from_millisecond(ms).ok()).ok_or_else(bad)?;
    Ok(Some((at, id.to_owned())))
}

fn id_param(name: &str, v: Option<&str>) -> ConsoleResult<Option<i64>> {
    v.map(|v| int_param(name, Some(v), 0, 1..=i64::MAX)).transpose()
}

fn text_param(name: &str, v: Option<&str>) -> ConsoleResult<Option<String>> {
    match v {
        Some(v) if v.len() > 200 => Err(ConsoleError::invalid(name, "must be at most 200 characters")),
        v => Ok(v.map(str::to_owned)),
    }
}

/// The filter of `q`; `own` narrows it to one user (the user's own log: `user_id` is not theirs
/// to choose).
fn filter_of(q: &LogQuery, zone: &TimeZone, own: Option<i64>) -> ConsoleResult<RequestLogFilter> {
    let user_id = match own {
        Some(id) => Some(id),
        None => id_param("user_id", present(&q.user_id))?,
    };
    let platform = text_param("platform", present(&q.platform))?;
    if let Some(p) = &platform
        && p.parse::<tollgate_core::platform::Platform>().is_err()
    {
        return Err(ConsoleError::invalid("platform", format!("unknown platform {p:?}")));
    }
    let filter = RequestLogFilter {
        user_id,
        api_key_id: id_param("key_id", present(&q.key_id))?,
        platform,
        model: text_param("model", present(&q.model))?,
        status: status_param(present(&q.status))?,
        request_id: text_param("request_id", present(&q.request_id))?,
        from: time_param("from", present(&q.from), zone, false)?,
        to: time_param("to", present(&q.to), zone, true)?,
        before: cursor_param(present(&q.cursor))?,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from >= to
    {
        return Err(ConsoleError::invalid("to", "must be after from"));
    }
    Ok(filter)
}

/// One row as the API shows it. `upstream_*` only in the admin's view.
#[derive(Debug, Serialize)]
pub struct EntryOut {
    pub request_id: String,
    pub client_request_id: Option<String>,
    pub at: String,
    pub user_id: Option<i64>,
    pub user_email: Option<String>,
    pub api_key_id: Option<i64>,
    pub key_name: Option<String>,
    pub platform: String,
    pub route: Option<String>,
    pub model: Option<String>,
    pub outcome: String,
    pub http_status: Option<i64>,
    pub charged: bool,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub cost_usd: Money,
    pub estimated: bool,
    pub latency_ms: i64,
    pub ttfb_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_name: Option<String>,
}

fn entry_out(e: RequestLogEntry, zone: &TimeZone, admin: bool) -> EntryOut {
    EntryOut {
        at: rfc3339(e.at, zone),
        request_id: e.request_id,
        client_request_id: e.client_request_id,
        user_id: e.user_id,
        user_email: e.user_email,
        api_key_id: e.api_key_id,
        key_name: e.key_name,
        platform: e.platform,
        route: e.route,
        model: e.model,
        outcome: e.outcome,
        http_status: e.http_status,
        charged: e.charged,
        input_tokens: e.input_tokens,
        output_tokens: e.output_tokens,
        cache_read_tokens: e.cache_read_tokens,
        cache_write_tokens: e.cache_write_tokens,
        cost_usd: e.cost,
        estimated: e.estimated,
        latency_ms: e.latency_ms,
        ttfb_ms: e.ttfb_ms,
        upstream_id: e.upstream_id.filter(|_| admin),
        upstream_name: e.upstream_name.filter(|_| admin),
    }
}

#[derive(Debug, Serialize)]
pub struct LogPage {
    pub entries: Vec<EntryOut>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

async fn page(state: &AppState, q: &LogQuery, own: Option<i64>) -> ConsoleResult<Json<LogPage>> {
    let zone = state.settings.clock().zone;
    let filter = filter_of(q, &zone, own)?;
    let limit = int_param("limit", present(&q.limit), 50, 1..=500)?;
    // Reads after an answer see its record (the journal's database write trails the answer).
    state.ledger.caught_up().await;
    // One row more than asked tells whether there is a next page.
    let mut rows = state.store.request_log(&filter, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(cursor_of) } else { None };
    let admin = own.is_none();
    Ok(Json(LogPage { entries: rows.into_iter().map(|e| entry_out(e, &zone, admin)).collect(), next_cursor }))
}

/// Every user's requests, newest first.
pub async fn admin_log(State(state): State<AppState>, _admin: Admin, q: LogQuery) -> ConsoleResult<Json<LogPage>> {
    page(&state, &q, None).await
}

/// The caller's own requests, newest first.
pub async fn my_log(State(state): State<AppState>, caller: Caller, q: LogQuery) -> ConsoleResult<Json<LogPage>> {
    page(&state, &q, Some(caller.user.id)).await
}

/// The CSV of every user's requests matching the filters.
pub async fn admin_csv(State(state): State<AppState>, _admin: Admin, q: LogQuery) -> ConsoleResult<Response> {
    csv(state, &q, None).await
}

/// The CSV of the caller's own requests matching the filters.
pub async fn my_csv(State(state): State<AppState>, caller: Caller, q: LogQuery) -> ConsoleResult<Response> {
    csv(state, &q, Some(caller.user.id)).await
}

const CSV_HEADER: &str = "time,request_id,client_request_id,user_id,user_email,api_key_id,key_name,platform,route,\
model,outcome,http_status,charged,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost_usd,estimated,\
latency_ms,ttfb_ms";
/// The admin's export adds the upstream account (the user's view has none, as in JSON).
const CSV_HEADER_ADMIN: &str = ",upstream_id,upstream_name";

/// Streams the rows page by page (keyset reads of [`CSV_PAGE`]), never the whole range in memory.
async fn csv(state: AppState, q: &LogQuery, own: Option<i64>) -> ConsoleResult<Response> {
    let zone = state.settings.clock().zone;
    let filter = filter_of(q, &zone, own)?;
    state.ledger.caught_up().await;
    let admin = own.is_none();
    struct Cursor {
        state: AppState,
        filter: RequestLogFilter,
        zone: TimeZone,
        written: usize,
        header: bool,
        done: bool,
    }
    let start = Cursor { state, filter, zone, written: 0, header: true, done: false };
    let stream = futures_util::stream::unfold(start, move |mut c| async move {
        if c.header {
            c.header = false;
            let header = if admin { format!("{CSV_HEADER}{CSV_HEADER_ADMIN}\n") } else { format!("{CSV_HEADER}\n") };
            return Some((Ok::<_, std::io::Error>(bytes::Bytes::from(header)), c));
        }
        if c.done || c.written >= CSV_MAX_ROWS {
            return None;
        }
        let rows = match c.state.store.request_log(&c.filter, CSV_PAGE).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "request log export failed");
                // Cutting the body shows the client the file is incomplete.
                return Some((Err(std::io::Error::other(e.to_string())), Cursor { done: true, ..c }));
            }
        };
        if rows.is_empty() {
            return None;
        }
        c.done = (rows.len() as i64) < CSV_PAGE;
        c.filter.before = rows.last().map(|e| (e.at, e.request_id.clone()));
        c.written += rows.len();
        let mut out = String::with_capacity(rows.len() * 200);
        for e in rows {
            csv_line(&mut out, &entry_out(e, &c.zone, admin), admin);
        }
        Some((Ok(bytes::Bytes::from(out)), c))
    });
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"request-log.csv\""));
    Ok(resp)
}

fn csv_line(out: &mut String, e: &EntryOut, admin: bool) {
    let num = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    let mut fields: Vec<String> = vec![
        e.at.clone(),
        cell(&e.request_id),
        cell(e.client_request_id.as_deref().unwrap_or("")),
        num(e.user_id),
        cell(e.user_email.as_deref().unwrap_or("")),
        num(e.api_key_id),
        cell(e.key_name.as_deref().unwrap_or("")),
        cell(&e.platform),
        cell(e.route.as_deref().unwrap_or("")),
        cell(e.model.as_deref().unwrap_or("")),
        cell(&e.outcome),
        num(e.http_status),
        e.charged.to_string(),
        e.input_tokens.to_string(),
        e.output_tokens.to_string(),
        e.cache_read_tokens.to_string(),
        e.cache_write_tokens.to_string(),
        e.cost_usd.to_string(),
        e.estimated.to_string(),
        e.latency_ms.to_string(),
        num(e.ttfb_ms),
    ];
    if admin {
        fields.push(num(e.upstream_id));
        fields.push(cell(e.upstream_name.as_deref().unwrap_or("")));
    }
    out.push_str(&fields.join(","));
    out.push('\n');
}

/// One text cell: quoted when it holds a separator, a quote or a line break; and a value a
/// spreadsheet would run as a formula (a client chooses its model name and request id) starts
/// with `'` so it stays text.
fn cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{v}") } else { v.to_owned() };
    if v.contains([',', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("claude-sonnet-4-5"), "claude-sonnet-4-5");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn status_and_cursor_params() {
        assert_eq!(status_param(Some("4xx")).unwrap(), Some(StatusFilter::Class(4)));
        assert_eq!(status_param(Some("429")).unwrap(), Some(StatusFilter::Exact(429)));
        assert!(status_param(Some("9xx")).is_err());
        assert!(status_param(Some("42")).is_err());
        let (at, id) = cursor_param(Some("1700000000000_0190-abc-late")).unwrap().unwrap();
        assert_eq!((at.as_millisecond(), id.as_str()), (1_700_000_000_000, "0190-abc-late"));
        assert!(cursor_param(Some("nope")).is_err());
    }

    #[test]
    fn a_date_range_is_whole_local_days() {
        let zone = TimeZone::get("Asia/Shanghai").unwrap();
        let from = time_param("from", Some("2026-12-05"), &zone, false).unwrap().unwrap();
        let to = time_param("to", Some("2026-12-05"), &zone, true).unwrap().unwrap();
        assert_eq!(from.to_string(), "2026-12-04T16:00:00Z");
        assert_eq!(to.to_string(), "2026-12-05T16:00:00Z");
        assert!(time_param("from", Some("yesterday"), &zone, false).is_err());
    }
}
