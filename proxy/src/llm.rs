//! LLM routes: OpenAI /v1/chat/completions, /v1/completions, /v1/embeddings (also without /v1), GET
//! /v1/models, and Anthropic /v1/messages.
//!
//! Per request: one admission (authenticate + catalogue row, then rbac.consume_quota, committed), the upstream
//! call with no database lock held, then rbac.settle with the provider's usage (or rbac.release).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::db::{discard, Lookup, Quota};
use crate::errors::{ApiError, Shape};
use crate::reservation::Reservation;
use crate::upstream::Upstream;
use crate::usage::{self, Api, SseWatcher, Usage, Verdict};
use crate::App;

/// The caller's credential: `Authorization: Bearer …` or `x-api-key` (Anthropic clients); empty when absent
/// (the database answers `missing_token`).
pub fn token(headers: &HeaderMap) -> String {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        let t = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .unwrap_or(v)
            .trim();
        if !t.is_empty() {
            return t.to_string();
        }
    }
    for h in ["x-api-key", "api-key"] {
        if let Some(v) = headers.get(h).and_then(|v| v.to_str().ok()) {
            if !v.trim().is_empty() {
                return v.trim().to_string();
            }
        }
    }
    String::new()
}

pub async fn read_body(app: &App, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let max = app.args.max_body_bytes;
    let too_large = || {
        ApiError::new(
            413,
            "request_too_large",
            format!("request body larger than {max} bytes"),
        )
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > max as u64 {
            return Err(too_large());
        }
    }
    axum::body::to_bytes(body, max).await.map_err(|e| {
        if format!("{e:?}").contains("LengthLimit") || e.to_string().contains("length limit") {
            too_large()
        } else {
            ApiError::bad_request(
                "invalid_body",
                format!("could not read the request body: {e}"),
            )
        }
    })
}

pub async fn chat_completions(s: State<Arc<App>>, uri: Uri, h: HeaderMap, b: Body) -> Response {
    handle(s.0, Api::OpenAiChat, "/chat/completions", uri, h, b).await
}
pub async fn completions(s: State<Arc<App>>, uri: Uri, h: HeaderMap, b: Body) -> Response {
    handle(s.0, Api::OpenAiChat, "/completions", uri, h, b).await
}
pub async fn embeddings(s: State<Arc<App>>, uri: Uri, h: HeaderMap, b: Body) -> Response {
    handle(s.0, Api::OpenAiEmbeddings, "/embeddings", uri, h, b).await
}
pub async fn messages(s: State<Arc<App>>, uri: Uri, h: HeaderMap, b: Body) -> Response {
    handle(s.0, Api::Anthropic, "/messages", uri, h, b).await
}

async fn handle(
    app: Arc<App>,
    api: Api,
    suffix: &'static str,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let shape = if api == Api::Anthropic {
        Shape::Anthropic
    } else {
        Shape::OpenAi
    };
    match forward(app, api, suffix, uri.path().to_string(), headers, body).await {
        Ok(r) => r,
        Err(e) => e.shape(shape).into_response(),
    }
}

struct Admitted {
    reservation: Reservation,
    upstream: Upstream,
    headers: HeaderMap,
}

struct Request {
    token: String,
    route: String,
    model: String,
    end_user: Option<String>,
    prompt_estimate: i64,
    max_completion: i64,
}

/// Admission, run in a task of its own: a client that goes away cannot cut it between consume_quota and the
/// creation of the guard (a dropped result drops the guard, which releases the reservation).
async fn admit(app: Arc<App>, r: Request, suffix: &'static str) -> Result<Admitted, ApiError> {
    let c = app.db.conn().await?;
    let lookup = match app.db.lookup(&c, &r.token, &r.model).await {
        Ok(l) => l,
        Err(e) => {
            discard(c);
            return Err(e);
        }
    };
    let row = match lookup {
        Lookup::Refused(d) => return Err(d.refusal()),
        Lookup::Found(row) => row,
    };
    let resolved = match &row {
        None => Err(ApiError::new(
            404,
            "model_not_found",
            format!("model '{}' is not in this proxy's model catalogue (rbac.models); GET /v1/models lists yours", r.model),
        )),
        Some(m) => app
            .upstream
            .resolve(m, &r.model, suffix)
            .map_err(|e| ApiError::new(503, "upstream_not_configured", format!("upstream configuration error: {}", e.0))),
    };
    let upstream = match resolved {
        Ok(u) => u,
        Err(e) => {
            // The database's own refusal comes first; only an authorized caller learns about the catalogue.
            let d = app
                .db
                .check(&c, &r.token, &r.route, &r.model, r.end_user.as_deref())
                .await?;
            if !d.allowed {
                return Err(d.refusal());
            }
            if e.status.as_u16() == 503 {
                tracing::warn!(model = %r.model, "{}", e.message);
            }
            return Err(e);
        }
    };
    let m = row.expect("resolved implies a row");
    let q = app
        .db
        .consume(
            &c,
            &r.token,
            &r.route,
            &r.model,
            r.prompt_estimate,
            r.max_completion,
            &m,
            r.end_user.as_deref(),
        )
        .await?;
    drop(c);
    if !q.allowed() {
        return Err(quota_refusal(&q));
    }
    let id = q
        .reservation_id()
        .ok_or_else(|| ApiError::new(500, "internal_error", "admitted without a reservation id"))?;
    let mut headers = quota_headers(&q);
    insert(&mut headers, "x-pg-rbac-request-id", &id);
    let reservation =
        Reservation::new(app.clone(), id, m.input_cost.clone(), m.output_cost.clone());
    Ok(Admitted {
        reservation,
        upstream,
        headers,
    })
}

fn insert(h: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        h.insert(HeaderName::from_static(name), v);
    }
}

/// x-ratelimit-* headers of an admitted request, from the rbac.quota row.
fn quota_headers(q: &Quota) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(v) = q.int("limit_requests") {
        insert(&mut h, "x-ratelimit-limit-requests", v);
    }
    if let Some(v) = q.int("limit_tokens") {
        insert(&mut h, "x-ratelimit-limit-tokens", v);
    }
    let reset = q.reset_in_seconds.map(|s| format!("{}s", s.max(0)));
    if let Some(v) = q.int("remaining_requests") {
        insert(&mut h, "x-ratelimit-remaining-requests", v);
        if let Some(r) = &reset {
            insert(&mut h, "x-ratelimit-reset-requests", r);
        }
    }
    if let Some(v) = q.int("remaining_tokens") {
        insert(&mut h, "x-ratelimit-remaining-tokens", v);
        if let Some(r) = &reset {
            insert(&mut h, "x-ratelimit-reset-tokens", r);
        }
    }
    h
}

/// A refusal from consume_quota: its status, reason, message and limit_scope, with Retry-After.
fn quota_refusal(q: &Quota) -> ApiError {
    let status = q.int("http_status").unwrap_or(500) as u16;
    let mut e = ApiError::new(
        status,
        q.str("reason").unwrap_or("denied"),
        q.str("message").unwrap_or(""),
    );
    e.param = q.str("limit_scope").map(str::to_string);
    e.headers = quota_headers(q);
    if let Some(s) = q.str("limit_scope") {
        e = e.header("x-pg-rbac-limit-scope", s);
    }
    if let Some(s) = q.int("retry_after_seconds") {
        e = e.header("retry-after", s);
    }
    e
}

fn upstream_error(e: &reqwest::Error) -> ApiError {
    if e.is_timeout() {
        ApiError::new(
            504,
            "upstream_timeout",
            "the model provider did not answer in time",
        )
    } else {
        ApiError::new(
            502,
            "upstream_unreachable",
            format!("could not reach the model provider: {}", without_url(e)),
        )
    }
}

fn without_url(e: &reqwest::Error) -> String {
    // the URL may carry a path the caller should not see; the error kind is enough
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "<upstream>");
    }
    s
}

async fn forward(
    app: Arc<App>,
    api: Api,
    suffix: &'static str,
    route: String,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&app, &headers, body).await?;
    let mut json: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("request body is not valid JSON: {e}"),
        )
    })?;
    let obj = json.as_object_mut().ok_or_else(|| {
        ApiError::bad_request("invalid_request", "request body must be a JSON object")
    })?;
    let model = match obj.get("model") {
        Some(Value::String(m)) if !m.trim().is_empty() => m.clone(),
        _ => {
            return Err(ApiError::bad_request(
                "missing_model",
                "request body has no \"model\" (a non-empty string)",
            ))
        }
    };
    let end_user = match api {
        Api::Anthropic => obj.get("metadata").and_then(|m| m.get("user_id")),
        _ => obj.get("user"),
    };
    let end_user = match end_user {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) if u.is_empty() => None,
        Some(Value::String(u)) => Some(u.clone()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "the end-user id (\"user\" / metadata.user_id) must be a string",
            ))
        }
    };
    let stream =
        api != Api::OpenAiEmbeddings && obj.get("stream").and_then(Value::as_bool) == Some(true);
    let max_completion = match api {
        Api::OpenAiEmbeddings => 0,
        _ => ["max_completion_tokens", "max_tokens"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(Value::as_i64))
            .map(|n| n.max(0))
            .unwrap_or(app.args.default_max_tokens),
    };
    let per = app.args.prompt_bytes_per_token.max(1);
    let prompt_estimate = (bytes.len() as i64 + per - 1) / per;
    let req = Request {
        token: token(&headers),
        route,
        model: model.clone(),
        end_user,
        prompt_estimate,
        max_completion,
    };

    let admitted = tokio::spawn(admit(app.clone(), req, suffix))
        .await
        .map_err(|e| {
            ApiError::new(500, "internal_error", format!("admission task failed: {e}"))
        })??;
    let Admitted {
        mut reservation,
        upstream,
        headers: mut out_headers,
    } = admitted;

    // the provider's request: the caller's body with the upstream model name
    obj.insert("model".into(), Value::String(upstream.model.clone()));
    let mut hide_usage_chunk = false;
    if stream && api == Api::OpenAiChat {
        let so = obj.entry("stream_options").or_insert_with(|| json!({}));
        if !so.is_object() {
            *so = json!({});
        }
        let asked = so.get("include_usage").and_then(Value::as_bool) == Some(true);
        so["include_usage"] = Value::Bool(true);
        hide_usage_chunk = !asked;
    }
    let out_body = serde_json::to_vec(&json).expect("serializable");
    let mut rb = app
        .http
        .post(&upstream.url)
        .timeout(Duration::from_secs(app.args.upstream_timeout))
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            header::ACCEPT,
            if stream {
                "text/event-stream"
            } else {
                "application/json"
            },
        )
        .body(out_body);
    match api {
        Api::Anthropic => {
            if let Some(k) = &upstream.key {
                rb = rb.header("x-api-key", k);
            }
            let version = headers
                .get("anthropic-version")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("2023-06-01");
            rb = rb.header("anthropic-version", version);
            if let Some(b) = headers.get("anthropic-beta") {
                rb = rb.header("anthropic-beta", b.clone());
            }
        }
        _ => {
            if let Some(k) = &upstream.key {
                rb = rb.bearer_auth(k);
            }
        }
    }
    // From here the provider may bill the prompt even if our client goes away: an abandoned request settles the
    // prompt estimate instead of releasing (the handler is dropped while it waits; Reservation's Drop settles).
    reservation.fallback = Some(Usage {
        prompt: prompt_estimate,
        completion: 0,
    });
    let resp = match rb.send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(model = %model, error = %without_url(&e), "upstream request failed");
            reservation.release().await;
            return Err(upstream_error(&e));
        }
    };
    let status = resp.status();
    let content_type = resp.headers().get(header::CONTENT_TYPE).cloned();

    if !status.is_success() || !stream {
        let body = match read_limited(resp, app.args.max_response_bytes).await {
            Ok(b) => b,
            Err(e) => {
                reservation.release().await;
                return Err(e);
            }
        };
        if !status.is_success() {
            // the provider refused: nothing was used (its error body passes through unchanged)
            reservation.release().await;
        } else {
            let parsed: Option<Value> = serde_json::from_slice(&body).ok();
            let usage = parsed.as_ref().and_then(|v| usage::from_response(api, v)).unwrap_or_else(|| {
                tracing::warn!(model = %model, "provider response has no usage: settling the admission estimate");
                Usage { prompt: prompt_estimate, completion: max_completion }
            });
            if let Some(cost) = reservation.settle(usage).await {
                insert(&mut out_headers, "x-litellm-response-cost", cost);
            }
        }
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = status;
        if let Some(ct) = content_type {
            r.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
        r.headers_mut().extend(out_headers);
        return Ok(r);
    }

    // streaming: a task pumps the provider's events to the client and closes the reservation at the end
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(32);
    let per = app.args.prompt_bytes_per_token;
    reservation.fallback = None;
    tokio::spawn(pump(
        resp,
        tx,
        reservation,
        SseWatcher::new(api, hide_usage_chunk),
        api,
        prompt_estimate,
        per,
    ));
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        content_type.unwrap_or_else(|| HeaderValue::from_static("text/event-stream")),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r.headers_mut().extend(out_headers);
    Ok(r)
}

async fn read_limited(mut resp: reqwest::Response, max: usize) -> Result<Bytes, ApiError> {
    let mut buf = bytes::BytesMut::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if buf.len() + c.len() > max {
                    return Err(ApiError::new(
                        502,
                        "upstream_response_too_large",
                        format!("provider response larger than {max} bytes"),
                    ));
                }
                buf.extend_from_slice(&c);
            }
            Ok(None) => return Ok(buf.freeze()),
            Err(e) => return Err(upstream_error(&e)),
        }
    }
}

enum End {
    Complete,
    ClientGone,
    UpstreamFailed(String),
}

async fn pump(
    mut resp: reqwest::Response,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    mut reservation: Reservation,
    mut w: SseWatcher,
    api: Api,
    prompt_estimate: i64,
    bytes_per_token: i64,
) {
    let mut held: Vec<Bytes> = Vec::new();
    let end = 'outer: loop {
        tokio::select! {
            biased;
            _ = tx.closed() => break End::ClientGone,
            chunk = resp.chunk() => match chunk {
                Ok(Some(b)) => {
                    for v in w.push(&b) {
                        match v {
                            Verdict::Forward(ev) => {
                                if tx.send(Ok(ev)).await.is_err() {
                                    break 'outer End::ClientGone;
                                }
                            }
                            Verdict::Hold(ev) => held.push(ev),
                            Verdict::Drop => {}
                        }
                    }
                    // if this task is cut from here on, Drop settles what was used so far
                    reservation.fallback = Some(w.partial_usage(prompt_estimate, bytes_per_token));
                }
                Ok(None) => break End::Complete,
                Err(e) => break End::UpstreamFailed(without_url(&e)),
            }
        }
    };
    if let Some(v) = w.finish() {
        match v {
            Verdict::Forward(ev) | Verdict::Hold(ev) => held.insert(0, ev),
            Verdict::Drop => {}
        }
    }
    match end {
        End::Complete => {
            let u = w.usage.unwrap_or_else(|| {
                tracing::warn!("stream ended without usage: settling an estimate");
                w.partial_usage(prompt_estimate, bytes_per_token)
            });
            reservation.settle(u).await;
            for ev in held {
                if tx.send(Ok(ev)).await.is_err() {
                    break;
                }
            }
        }
        End::ClientGone | End::UpstreamFailed(_) => {
            if w.events > 0 {
                let u = w.partial_usage(prompt_estimate, bytes_per_token);
                tracing::info!(reservation = %reservation.id, ?u, "stream cut: settling the usage seen so far");
                reservation.settle(u).await;
            } else {
                reservation.release().await;
            }
            if let End::UpstreamFailed(msg) = end {
                tracing::warn!(error = %msg, "upstream stream failed");
                let ev = match api {
                    Api::Anthropic => format!(
                        "event: error\ndata: {}\n\n",
                        json!({"type": "error", "error": {"type": "api_error", "message": format!("upstream stream failed: {msg}")}})
                    ),
                    _ => format!(
                        "data: {}\n\n",
                        json!({"error": {"message": format!("upstream stream failed: {msg}"), "type": "service_unavailable", "param": null, "code": "upstream_stream_failed"}})
                    ),
                };
                let _ = tx.send(Ok(Bytes::from(ev))).await;
            }
        }
    }
}

/// GET /v1/models: the catalogue models the caller may call (OpenAI list shape; Anthropic's when the request
/// carries `anthropic-version`).
pub async fn list_models(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Response {
    let anthropic = headers.contains_key("anthropic-version");
    let shape = if anthropic {
        Shape::Anthropic
    } else {
        Shape::OpenAi
    };
    let tok = token(&headers);
    let route = uri.path().to_string();
    let res = tokio::spawn(async move { app.db.models_allowed(&tok, &route).await }).await;
    let rows = match res {
        Ok(Ok(Ok(rows))) => rows,
        Ok(Ok(Err(d))) => return d.refusal().shape(shape).into_response(),
        Ok(Err(e)) => return e.shape(shape).into_response(),
        Err(e) => {
            return ApiError::new(500, "internal_error", e.to_string())
                .shape(shape)
                .into_response()
        }
    };
    let body = if anthropic {
        let data: Vec<Value> = rows
            .iter()
            .map(|(m, _)| json!({"type": "model", "id": m, "display_name": m, "created_at": "1970-01-01T00:00:00Z"}))
            .collect();
        json!({"data": data, "has_more": false, "first_id": rows.first().map(|r| &r.0), "last_id": rows.last().map(|r| &r.0)})
    } else {
        let data: Vec<Value> = rows
            .iter()
            .map(|(m, p)| json!({"id": m, "object": "model", "created": 0, "owned_by": if p.is_empty() { "pg_rbac" } else { p.as_str() }}))
            .collect();
        json!({"object": "list", "data": data})
    };
    axum::Json(body).into_response()
}
