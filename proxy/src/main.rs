//! pg-rbac-proxy: the reference thin HTTP proxy of pg_rbac (docs/proxy.md).
//!
//! LiteLLM-compatible routes in front of OpenAI- and Anthropic-compatible providers. The proxy holds no
//! business rule: who may call what, rate limits, parallel slots and budgets are decided by pg_rbac
//! (rbac.authenticate, rbac.consume_quota, rbac.settle / rbac.release, the management functions); the proxy
//! forwards, meters the provider's usage and prices it with rbac.models' list prices.

#![allow(clippy::result_large_err)]

mod config;
mod db;
mod errors;
mod llm;
mod management;
mod reservation;
mod upstream;
mod usage;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use clap::Parser;
use serde_json::json;

pub struct App {
    pub args: config::Args,
    pub db: db::Db,
    pub http: reqwest::Client,
    pub upstream: upstream::UpstreamPolicy,
}

async fn liveliness() -> Response {
    axum::Json(json!("I'm alive!")).into_response()
}

async fn readiness(State(app): State<Arc<App>>) -> Response {
    let ping =
        tokio::time::timeout(Duration::from_millis(app.args.db_timeout_ms), app.db.ping()).await;
    match ping {
        Ok(Ok(())) => axum::Json(json!({"status": "healthy", "db": "connected"})).into_response(),
        Ok(Err(e)) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unhealthy", "db": "Not connected", "error": e.message})),
        )
            .into_response(),
        Err(_) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unhealthy", "db": "Not connected", "error": "timeout"})),
        )
            .into_response(),
    }
}

async fn method_not_allowed() -> Response {
    errors::ApiError::new(
        405,
        "method_not_allowed",
        "method not allowed on this route",
    )
    .into_response()
}

pub fn router(app: Arc<App>) -> Router {
    use management as m;
    Router::new()
        .route("/health/liveliness", get(liveliness))
        .route("/health/liveness", get(liveliness))
        .route("/health/readiness", get(readiness))
        // LLM routes (OpenAI and Anthropic)
        .route("/v1/chat/completions", post(llm::chat_completions))
        .route("/chat/completions", post(llm::chat_completions))
        .route("/v1/completions", post(llm::completions))
        .route("/completions", post(llm::completions))
        .route("/v1/embeddings", post(llm::embeddings))
        .route("/embeddings", post(llm::embeddings))
        .route("/v1/messages", post(llm::messages))
        .route("/v1/models", get(llm::list_models))
        .route("/models", get(llm::list_models))
        // management (LiteLLM field names, one transaction each)
        .route("/key/generate", post(m::key_generate))
        .route("/key/regenerate", post(m::key_regenerate))
        .route("/key/{key}/regenerate", post(m::key_regenerate_path))
        .route("/key/delete", post(m::key_delete).delete(m::key_delete))
        .route("/key/update", post(m::key_update))
        .route("/key/block", post(m::key_block))
        .route("/key/unblock", post(m::key_unblock))
        .route("/key/info", get(m::key_info))
        .route("/team/new", post(m::team_new))
        .route("/team/member_add", post(m::team_member_add))
        .route("/team/member_delete", post(m::team_member_delete))
        .route("/user/new", post(m::user_new))
        .route("/organization/new", post(m::organization_new))
        .route("/organization/member_add", post(m::organization_member_add))
        .route(
            "/organization/member_delete",
            post(m::organization_member_delete).delete(m::organization_member_delete),
        )
        .route("/access_group/new", post(m::access_group_new))
        .route(
            "/access_group/update",
            post(m::access_group_update).put(m::access_group_update),
        )
        .route(
            "/access_group/{name}/update",
            put(m::access_group_update_path).post(m::access_group_update_path),
        )
        .route(
            "/access_group/delete",
            post(m::access_group_delete).delete(m::access_group_delete),
        )
        .route(
            "/access_group/{name}/delete",
            delete(m::access_group_delete_path).post(m::access_group_delete_path),
        )
        .fallback(m::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        // bodies are read by the handlers with --max-body-bytes (413 in the provider's error shape)
        .layer(DefaultBodyLimit::disable())
        .with_state(app)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = config::Args::parse();
    if args.provider_key_env_prefix.is_empty() {
        eprintln!("pg-rbac-proxy: --provider-key-env-prefix must not be empty (it keeps rbac.models from naming any variable of this host)");
        std::process::exit(2);
    }
    let db = match db::build_pool(
        &args.database_url,
        args.pool_size,
        Duration::from_millis(args.db_timeout_ms),
    ) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("pg-rbac-proxy: {e}");
            std::process::exit(2);
        }
    };
    let mut hb = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(args.upstream_connect_timeout))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .no_proxy();
    if let Some(p) = &args.upstream_http_proxy {
        match reqwest::Proxy::all(p) {
            Ok(p) => hb = hb.proxy(p),
            Err(e) => {
                eprintln!("pg-rbac-proxy: bad --upstream-http-proxy: {e}");
                std::process::exit(2);
            }
        }
    }
    let http = hb.build().expect("HTTP client");
    let upstream = upstream::UpstreamPolicy {
        key_env_prefix: args.provider_key_env_prefix.clone(),
        allowed_api_base: args.allowed_api_base.clone(),
    };
    let listen = args.listen;
    let app = Arc::new(App {
        args,
        db,
        http,
        upstream,
    });
    match app.db.ping().await {
        Ok(()) => tracing::info!("database reachable"),
        Err(e) => {
            tracing::warn!(error = %e.message, "database not reachable yet: requests answer 503 until it is")
        }
    }
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("pg-rbac-proxy: cannot listen on {listen}: {e}");
            std::process::exit(2);
        }
    };
    tracing::info!(%listen, "pg-rbac-proxy listening");
    if let Err(e) = axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
    {
        eprintln!("pg-rbac-proxy: server error: {e}");
        std::process::exit(1);
    }
}
