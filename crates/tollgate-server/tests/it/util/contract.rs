//! The console contract, checked on every call the tests make: each `/api/v1` answer must match
//! the response schema `openapi.json` gives for its route and status, and each accepted request
//! body the request schema. The document is hand-written (`scripts/gen-openapi.py`); this check is
//! what keeps it true to the server, and the web console's types are generated from it
//! (`web/scripts/gen-api-types.mjs`), so server, document and UI cannot drift apart silently.
//!
//! Objects with `properties` are closed here (a field the server sends but the document does not
//! name is a failure), which is stricter than OpenAPI's default on purpose.

use std::sync::OnceLock;

use serde_json::{Map, Value};

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(tollgate_server::console::openapi::DOCUMENT).expect("openapi.json is JSON"))
}

/// The operation of `method path` (path without `/api/v1`) and its template: literal segments
/// win over parameters, so `/admin/pricing/unpriced` is not `/admin/pricing/{model}`.
fn operation(method: &str, path: &str) -> Option<(String, &'static Value)> {
    let paths = document()["paths"].as_object()?;
    let segs: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, &String, &Value)> = None;
    for (template, item) in paths {
        let t: Vec<&str> = template.split('/').collect();
        if t.len() != segs.len() || !t.iter().zip(&segs).all(|(a, b)| a.starts_with('{') || a == b) {
            continue;
        }
        let literal = t.iter().filter(|s| !s.starts_with('{')).count();
        if best.is_none_or(|(n, _, _)| literal > n) {
            best = Some((literal, template, item));
        }
    }
    let (_, template, item) = best?;
    Some((template.clone(), item.get(method.to_lowercase())?))
}

/// Checks one exchange; returns what disagrees with the document (empty when all is well).
pub fn check(
    method: &str,
    uri: &str,
    request: &[u8],
    status: u16,
    content_type: Option<&str>,
    response: &[u8],
) -> Vec<String> {
    let Some(path) = uri.split('?').next().and_then(|p| p.strip_prefix("/api/v1")) else { return vec![] };
    let Some((template, op)) = operation(method, path) else {
        // Unknown routes and methods are the router's 404/405, checked by the access tests.
        return vec![];
    };
    let at = format!("{method} {template} -> {status}");
    let mut errors = Vec::new();
    let Some(resp) = op["responses"].get(status.to_string()) else {
        return vec![format!("{at}: status not documented; body {}", String::from_utf8_lossy(response))];
    };
    let json = content_type.is_some_and(|c| c.starts_with("application/json"));
    match resp.pointer("/content/application~1json/schema") {
        Some(schema) if json => match serde_json::from_slice::<Value>(response) {
            Ok(v) => validate(schema, &v, "response", &mut errors),
            Err(e) => errors.push(format!("response is not JSON: {e}")),
        },
        Some(_) => errors.push(format!("response is {content_type:?}, documented as JSON")),
        None if json && status != 204 => errors.push("a JSON answer, but no JSON schema documented for it".into()),
        None => {}
    }
    if (200..300).contains(&status)
        && !request.is_empty()
        && let Some(schema) = op.pointer("/requestBody/content/application~1json/schema")
    {
        match serde_json::from_slice::<Value>(request) {
            Ok(v) => validate(schema, &v, "request", &mut errors),
            Err(e) => errors.push(format!("accepted request body is not JSON: {e}")),
        }
    }
    errors.into_iter().map(|e| format!("{at}: {e}")).collect()
}

fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            let target = &document()["components"]["schemas"][name];
            assert!(!target.is_null(), "openapi.json: {r} does not exist");
            resolve(target)
        }
        None => schema,
    }
}

/// `allOf` folded into one schema (properties and required merged; `nullable` from any part).
fn flatten(schema: &Value) -> Value {
    let schema = resolve(schema);
    let Some(parts) = schema.get("allOf").and_then(Value::as_array) else { return schema.clone() };
    let mut out = Map::new();
    let (mut props, mut required) = (Map::new(), Vec::new());
    for part in parts.iter().map(flatten).chain([schema.clone()]) {
        for (k, v) in part.as_object().into_iter().flatten() {
            match k.as_str() {
                "allOf" => {}
                "properties" => props.extend(v.as_object().cloned().unwrap_or_default()),
                "required" => required.extend(v.as_array().cloned().unwrap_or_default()),
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    if !props.is_empty() {
        out.insert("properties".into(), Value::Object(props));
        out.insert("type".into(), "object".into());
    }
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    Value::Object(out)
}

fn validate(schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let s = flatten(schema);
    if v.is_null() {
        if !s.get("nullable").and_then(Value::as_bool).unwrap_or(false) && !s.as_object().is_some_and(Map::is_empty) {
            errors.push(format!("{at}: null, not nullable"));
        }
        return;
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        errors.push(format!("{at}: {v} not in {allowed:?}"));
    }
    let ty = s.get("type").and_then(Value::as_str);
    let ok = match ty {
        None => true,
        Some("object") => v.is_object(),
        Some("array") => v.is_array(),
        Some("string") => v.is_string(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        Some(other) => {
            errors.push(format!("{at}: unknown type {other} in the document"));
            true
        }
    };
    if !ok {
        errors.push(format!("{at}: {v} is not {}", ty.unwrap_or("?")));
        return;
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64())
        && n < min
    {
        errors.push(format!("{at}: {n} below the minimum {min}"));
    }
    if let Value::Array(items) = v
        && let Some(item) = s.get("items")
    {
        for (i, x) in items.iter().enumerate() {
            validate(item, x, &format!("{at}[{i}]"), errors);
        }
    }
    if let Value::Object(fields) = v {
        let props = s.get("properties").and_then(Value::as_object);
        for name in s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !fields.contains_key(name) {
                errors.push(format!("{at}: required field {name} is missing"));
            }
        }
        for (k, x) in fields {
            let path = format!("{at}.{k}");
            match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                (Some(p), _) => validate(p, x, &path, errors),
                (None, Some(Value::Bool(true))) => {}
                (None, Some(Value::Bool(false))) => errors.push(format!("{path}: not documented")),
                (None, Some(extra)) if extra.is_object() => validate(extra, x, &path, errors),
                (None, _) if props.is_some() => errors.push(format!("{path}: not documented")),
                (None, _) => {}
            }
        }
    }
}
