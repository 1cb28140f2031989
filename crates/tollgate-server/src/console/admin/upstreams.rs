//! `GET/POST /admin/upstreams`, `PATCH/DELETE /admin/upstreams/{id}`. The credential is write-only:
//! reads show `api_key_masked` (`sk-…abcd`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Serialize;
use tollgate_core::platform::Platform;
use tollgate_store::{NewUpstream, StoreError, Upstream, UpstreamPatch, UpstreamProtocol};

use super::users::parse_id;
use crate::console::admin::audit_log;
use crate::console::body::{JsonObject, Obj};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::Admin;
use crate::secrets::SecretBox;
use crate::state::AppState;

/// An upstream as read: no credential, only its masked form.
#[derive(Serialize)]
pub struct UpstreamOut {
    pub id: i64,
    pub platform: Platform,
    pub name: String,
    pub base_url: String,
    pub api_key_masked: String,
    pub enabled: bool,
    pub priority: i64,
    pub protocol: UpstreamProtocol,
}

#[derive(Serialize)]
pub struct UpstreamList {
    pub upstreams: Vec<UpstreamOut>,
}

/// `sk-…abcd`: the first 3 and last 4 characters of a key of 12 or more; short keys show nothing.
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return "…".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

impl From<&Upstream> for UpstreamOut {
    fn from(u: &Upstream) -> Self {
        Self {
            id: u.id,
            platform: u.platform,
            name: u.name.clone(),
            base_url: u.base_url.clone(),
            api_key_masked: mask(u.api_key.expose()),
            enabled: u.enabled,
            priority: u.priority,
            protocol: u.protocol,
        }
    }
}

fn base_url(o: &Obj) -> ConsoleResult<Option<String>> {
    let Some(url) = o.opt_text("base_url", 2000)? else { return Ok(None) };
    let invalid = |m: String| ConsoleError::invalid(o.field("base_url"), m);
    let parsed = reqwest::Url::parse(&url).map_err(|e| invalid(format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid("must be an http(s) URL with a host".into()));
    }
    // The client's path is appended to it: keep one slash between them.
    Ok(Some(url.trim_end_matches('/').to_owned()))
}

fn protocol(o: &Obj) -> ConsoleResult<Option<UpstreamProtocol>> {
    o.opt_string("protocol")?
        .map(|s| {
            UpstreamProtocol::parse(&s).ok_or_else(|| {
                ConsoleError::invalid(
                    o.field("protocol"),
                    format!("unknown protocol {s:?}; expected native or v1internal"),
                )
            })
        })
        .transpose()
}

/// `v1internal` is the Cloud Code envelope, spoken only by antigravity upstreams.
fn check_protocol(o: &Obj, platform: Platform, protocol: UpstreamProtocol) -> ConsoleResult<()> {
    if protocol == UpstreamProtocol::V1Internal && platform != Platform::Antigravity {
        return Err(ConsoleError::invalid(o.field("protocol"), "v1internal is only for antigravity upstreams"));
    }
    Ok(())
}

/// A new upstream from its fields (`api_key` in clear; sealed here). Writes nothing.
pub(crate) fn new_upstream(o: &Obj, secrets: &SecretBox) -> ConsoleResult<NewUpstream> {
    let new = NewUpstream {
        platform: o.name("platform")?,
        name: o.text("name", 100)?,
        base_url: base_url(o)?.ok_or_else(|| ConsoleError::invalid(o.field("base_url"), "is required"))?,
        api_key: tollgate_store::Secret::new(secrets.seal(&o.text("api_key", 4096)?)),
        enabled: o.opt_bool("enabled")?.unwrap_or(true),
        priority: o.opt_i64("priority", PRIORITY)?.unwrap_or(0),
        protocol: protocol(o)?.unwrap_or_default(),
    };
    check_protocol(o, new.platform, new.protocol)?;
    Ok(new)
}

/// The change of `current` that the given fields make (absent ones, `api_key` included, stay).
pub(crate) fn upstream_patch(o: &Obj, secrets: &SecretBox, current: &Upstream) -> ConsoleResult<UpstreamPatch> {
    let patch = UpstreamPatch {
        platform: o.opt_name("platform")?,
        name: o.opt_text("name", 100)?,
        base_url: base_url(o)?,
        api_key: o.opt_text("api_key", 4096)?.map(|k| tollgate_store::Secret::new(secrets.seal(&k))),
        enabled: o.opt_bool("enabled")?,
        priority: o.opt_i64("priority", PRIORITY)?,
        protocol: protocol(o)?,
    };
    check_protocol(o, patch.platform.unwrap_or(current.platform), patch.protocol.unwrap_or(current.protocol))?;
    Ok(patch)
}

/// Every upstream with its credential in clear.
pub(crate) async fn all_upstreams(state: &AppState) -> ConsoleResult<Vec<Upstream>> {
    Ok(crate::secrets::stored::open_upstreams(&state.secrets, state.store.list_upstreams().await?)?)
}

/// Creates an upstream, audited; the cache of upstreams is dropped.
pub(crate) async fn write_new_upstream(
    state: &AppState,
    new: &NewUpstream,
    actor: Option<i64>,
) -> ConsoleResult<UpstreamOut> {
    let mut created = state.store.create_upstream(new, Timestamp::now()).await?;
    created.api_key =
        state.secrets.open(created.api_key.expose()).map_err(|e| ConsoleError::Internal(e.to_string()))?.into();
    let out = UpstreamOut::from(&created);
    state.upstreams.invalidate();
    audit_log::record(state, actor, "upstream.create", None, None::<&UpstreamOut>, Some(&out)).await;
    Ok(out)
}

/// Applies a patch to `current`, audited; the cache of upstreams is dropped.
pub(crate) async fn write_upstream_patch(
    state: &AppState,
    current: &Upstream,
    patch: &UpstreamPatch,
    actor: Option<i64>,
) -> ConsoleResult<UpstreamOut> {
    let id = current.id;
    let mut updated = state.store.update_upstream(id, patch, Timestamp::now()).await.map_err(|e| match e {
        StoreError::NotFound => ConsoleError::not_found(format!("no upstream with id {id}")),
        other => other.into(),
    })?;
    updated.api_key =
        state.secrets.open(updated.api_key.expose()).map_err(|e| ConsoleError::Internal(e.to_string()))?.into();
    let out = UpstreamOut::from(&updated);
    state.upstreams.invalidate();
    let before = UpstreamOut::from(current);
    audit_log::record(state, actor, "upstream.update", None, Some(&before), Some(&out)).await;
    Ok(out)
}

const PRIORITY: std::ops::RangeInclusive<i64> = -1_000_000..=1_000_000;

/// Every upstream, by platform then priority (lowest first: tried first).
pub async fn list_upstreams(State(state): State<AppState>, _admin: Admin) -> ConsoleResult<Json<UpstreamList>> {
    let all = all_upstreams(&state).await?;
    Ok(Json(UpstreamList { upstreams: all.iter().map(UpstreamOut::from).collect() }))
}

/// Adds an upstream. 201.
pub async fn create_upstream(
    State(state): State<AppState>,
    Admin(admin): Admin,
    body: JsonObject,
) -> ConsoleResult<(StatusCode, Json<UpstreamOut>)> {
    let new = new_upstream(&body.obj, &state.secrets)?;
    let out = write_new_upstream(&state, &new, Some(admin.user.id)).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Changes the given fields; an absent `api_key` keeps the stored credential.
pub async fn update_upstream(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    body: JsonObject,
) -> ConsoleResult<Json<UpstreamOut>> {
    let id = parse_id(&id)?;
    let all = all_upstreams(&state).await?;
    let current = all
        .into_iter()
        .find(|u| u.id == id)
        .ok_or_else(|| ConsoleError::not_found(format!("no upstream with id {id}")))?;
    let patch = upstream_patch(&body.obj, &state.secrets, &current)?;
    Ok(Json(write_upstream_patch(&state, &current, &patch, Some(admin.user.id)).await?))
}

/// Removes an upstream. 204.
pub async fn delete_upstream(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> ConsoleResult<StatusCode> {
    let id = parse_id(&id)?;
    let all = all_upstreams(&state).await?;
    let before = all.iter().find(|u| u.id == id).map(UpstreamOut::from);
    state.store.delete_upstream(id).await.map_err(|e| match e {
        StoreError::NotFound => ConsoleError::not_found(format!("no upstream with id {id}")),
        other => other.into(),
    })?;
    state.upstreams.invalidate();
    audit_log::record(&state, Some(admin.user.id), "upstream.delete", None, before.as_ref(), None::<&UpstreamOut>)
        .await;
    Ok(StatusCode::NO_CONTENT)
}
