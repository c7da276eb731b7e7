//! Error responses shaped like the providers' own: OpenAI `{"error": {...}}` everywhere, Anthropic
//! `{"type": "error", "error": {...}}` on /v1/messages.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    OpenAi,
    Anthropic,
}

/// A refusal or failure the proxy answers itself.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Machine-readable reason: a pg_rbac reason code (`invalid_token`, `rate_limit_exceeded`, ...), a SQLSTATE
    /// for management errors, or one of the proxy's own (`invalid_json`, `missing_model`, ...).
    pub code: String,
    pub message: String,
    /// OpenAI's `param`: the refusing level (`limit_scope`) for quota refusals.
    pub param: Option<String>,
    pub headers: HeaderMap,
    pub shape: Shape,
}

impl ApiError {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: code.into(),
            message: message.into(),
            param: None,
            headers: HeaderMap::new(),
            shape: Shape::OpenAi,
        }
    }

    pub fn shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    pub fn header(mut self, name: &'static str, value: impl ToString) -> Self {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            self.headers.insert(HeaderName::from_static(name), v);
        }
        self
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    pub fn db_unavailable(detail: impl std::fmt::Display) -> Self {
        Self::new(
            503,
            "database_unavailable",
            format!("authorization database unavailable: {detail}"),
        )
    }
}

/// OpenAI error `type` for a status.
fn openai_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        409 => "conflict_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        501 => "not_implemented",
        502..=504 => "service_unavailable",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// Anthropic error `type` for a status (the set the Anthropic API uses).
fn anthropic_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.shape {
            Shape::OpenAi => json!({"error": {
                "message": self.message,
                "type": openai_type(self.status),
                "param": self.param,
                "code": self.code,
            }}),
            Shape::Anthropic => json!({"type": "error", "error": {
                "type": anthropic_type(self.status),
                "message": self.message,
            }}),
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        resp.headers_mut().extend(self.headers);
        if let Ok(v) = HeaderValue::from_str(&self.code) {
            resp.headers_mut()
                .insert(HeaderName::from_static("x-pg-rbac-reason"), v);
        }
        resp
    }
}

/// Maps a database error: SQLSTATE 42501 → 403, class 22 and 23 (but 23505) → 400, 23505 → 409, serialization
/// failure / deadlock → 409 (retry), anything without a SQLSTATE (connection lost, timeout) → 503.
pub fn from_db_error(e: &tokio_postgres::Error) -> ApiError {
    match e.as_db_error() {
        Some(db) => {
            let state = db.code().code();
            let status = match state {
                "42501" => 403,
                "23505" => 409,
                "40001" | "40P01" => 409,
                s if s.starts_with("22") || s.starts_with("23") => 400,
                "P0001" => 400,
                "57014" => 503, // statement timeout / cancel
                _ => 500,
            };
            let message = if status == 500 {
                tracing::error!(sqlstate = state, error = %db.message(), "database error");
                format!("database error (SQLSTATE {state})")
            } else {
                db.message().to_string()
            };
            ApiError::new(status, state, message)
        }
        None => ApiError::db_unavailable(e),
    }
}

pub fn from_pool_error(e: &deadpool_postgres::PoolError) -> ApiError {
    ApiError::db_unavailable(e)
}
