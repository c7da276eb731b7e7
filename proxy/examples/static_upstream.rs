//! A fast static OpenAI-compatible responder for bench/proxy/run.sh: every POST to */chat/completions answers the
//! same chat completion with a real-shaped `usage`, so the benchmark measures the proxies, not the mock.
//!     cargo run --release --example static_upstream -- 127.0.0.1:PORT

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;

const BODY: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"mock-gpt-1","choices":[{"index":0,"message":{"role":"assistant","content":"echo: hello"},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#;

async fn chat(_body: axum::body::Bytes) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], BODY)
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4010".into());
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/chat/completions", post(chat));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    eprintln!("static upstream on {addr}");
    axum::serve(listener, app).await.expect("serve");
}
