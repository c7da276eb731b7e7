//! Command-line flags (every flag has an environment variable; docs/proxy.md lists them all).

use std::net::SocketAddr;

use clap::Parser;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "pg-rbac-proxy",
    version,
    about = "Thin LiteLLM-compatible HTTP proxy whose every authorization decision comes from pg_rbac"
)]
pub struct Args {
    /// PostgreSQL connection string of a login role that holds rbac_api (URL or key=value form; a host that
    /// starts with / is a unix socket directory).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "PG_RBAC_PROXY_LISTEN", default_value = "127.0.0.1:4000")]
    pub listen: SocketAddr,

    /// Maximum number of database connections in the pool.
    #[arg(long, env = "PG_RBAC_PROXY_POOL_SIZE", default_value_t = 16)]
    pub pool_size: usize,

    /// How long to wait for a database connection (connect or pool checkout), in milliseconds; past it the
    /// request is answered 503.
    #[arg(long, env = "PG_RBAC_PROXY_DB_TIMEOUT_MS", default_value_t = 5000)]
    pub db_timeout_ms: u64,

    /// Only environment variables whose names start with this prefix may be named by rbac.models.api_key_env.
    /// Must not be empty.
    #[arg(
        long,
        env = "PG_RBAC_PROXY_PROVIDER_KEY_ENV_PREFIX",
        default_value = "PG_RBAC_PROVIDER_KEY_"
    )]
    pub provider_key_env_prefix: String,

    /// If given (repeatable, or comma-separated in the environment variable), rbac.models.api_base must lie under
    /// one of these URLs (same scheme, host and port; path at or below theirs), e.g. https://api.openai.com ;
    /// otherwise any http(s) api_base is used.
    #[arg(
        long = "allowed-api-base",
        env = "PG_RBAC_PROXY_ALLOWED_API_BASE",
        value_delimiter = ','
    )]
    pub allowed_api_base: Vec<String>,

    /// Largest request body accepted, in bytes (413 above).
    #[arg(long, env = "PG_RBAC_PROXY_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Largest non-streaming upstream response read, in bytes (502 above).
    #[arg(long, env = "PG_RBAC_PROXY_MAX_RESPONSE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_response_bytes: usize,

    /// Upstream connect timeout, in seconds.
    #[arg(
        long,
        env = "PG_RBAC_PROXY_UPSTREAM_CONNECT_TIMEOUT",
        default_value_t = 10
    )]
    pub upstream_connect_timeout: u64,

    /// Upstream total timeout (whole request, streams included), in seconds.
    #[arg(long, env = "PG_RBAC_PROXY_UPSTREAM_TIMEOUT", default_value_t = 600)]
    pub upstream_timeout: u64,

    /// Completion tokens assumed for the admission estimate when a request sets no max_tokens /
    /// max_completion_tokens.
    #[arg(long, env = "PG_RBAC_PROXY_DEFAULT_MAX_TOKENS", default_value_t = 4096)]
    pub default_max_tokens: i64,

    /// Prompt estimate: request body bytes per token (estimate = ceil(bytes / this)).
    #[arg(
        long,
        env = "PG_RBAC_PROXY_PROMPT_BYTES_PER_TOKEN",
        default_value_t = 4
    )]
    pub prompt_bytes_per_token: i64,

    /// Send upstream requests through this HTTP(S) proxy (default: direct; environment proxy variables are
    /// ignored).
    #[arg(long, env = "PG_RBAC_PROXY_UPSTREAM_HTTP_PROXY")]
    pub upstream_http_proxy: Option<String>,
}
