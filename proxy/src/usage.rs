//! Reading the provider's usage: whole responses and server-sent-event streams (OpenAI and Anthropic).

use bytes::{Bytes, BytesMut};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// /v1/chat/completions and /v1/completions
    OpenAiChat,
    /// /v1/embeddings
    OpenAiEmbeddings,
    /// /v1/messages
    Anthropic,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt: i64,
    pub completion: i64,
}

fn int(v: &Value, k: &str) -> i64 {
    v.get(k).and_then(Value::as_i64).unwrap_or(0).max(0)
}

/// Anthropic counts cache writes and reads apart from `input_tokens`; all of them are prompt tokens here
/// (priced at the input price).
fn anthropic_input(u: &Value) -> i64 {
    int(u, "input_tokens")
        + int(u, "cache_creation_input_tokens")
        + int(u, "cache_read_input_tokens")
}

/// Usage of a complete (non-streaming) response body; None when it has none.
pub fn from_response(api: Api, body: &Value) -> Option<Usage> {
    let u = body.get("usage").filter(|u| u.is_object())?;
    Some(match api {
        Api::OpenAiChat => Usage {
            prompt: int(u, "prompt_tokens"),
            completion: int(u, "completion_tokens"),
        },
        Api::OpenAiEmbeddings => Usage {
            prompt: int(u, "prompt_tokens"),
            completion: 0,
        },
        Api::Anthropic => Usage {
            prompt: anthropic_input(u),
            completion: int(u, "output_tokens"),
        },
    })
}

/// What to do with one SSE event.
pub enum Verdict {
    Forward(Bytes),
    /// Sent only after settlement, at the very end (OpenAI `[DONE]`, Anthropic `message_stop`): a client that
    /// stops reading there and sends its next request finds the parallel slot already free.
    Hold(Bytes),
    Drop,
}

/// Splits an SSE byte stream into events and watches them for usage.
pub struct SseWatcher {
    api: Api,
    /// The client did not ask for OpenAI's usage chunk (the proxy asked for it upstream): do not pass it on.
    hide_usage_chunk: bool,
    buf: BytesMut,
    pub usage: Option<Usage>,
    /// Anthropic: input tokens from message_start, output tokens from the last message_delta.
    input_seen: Option<i64>,
    output_seen: Option<i64>,
    /// Bytes of generated text passed on (for an estimate when the stream is cut before its usage).
    pub text_bytes: i64,
    pub events: u64,
}

impl SseWatcher {
    pub fn new(api: Api, hide_usage_chunk: bool) -> Self {
        SseWatcher {
            api,
            hide_usage_chunk,
            buf: BytesMut::new(),
            usage: None,
            input_seen: None,
            output_seen: None,
            text_bytes: 0,
            events: 0,
        }
    }

    /// Feeds bytes; returns the complete events found, each with its verdict.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Verdict> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some((end, sep)) = find_event_end(&self.buf) {
            let raw = self.buf.split_to(end + sep).freeze();
            let event = raw.slice(..end);
            out.push(self.inspect(&event, raw));
        }
        out
    }

    /// Whatever is left when the upstream ends (an event without its blank line).
    pub fn finish(&mut self) -> Option<Verdict> {
        if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
            return None;
        }
        let rest = self.buf.split().freeze();
        let mut raw = BytesMut::from(&rest[..]);
        raw.extend_from_slice(b"\n\n");
        Some(self.inspect(&rest, raw.freeze()))
    }

    fn inspect(&mut self, event: &[u8], raw: Bytes) -> Verdict {
        self.events += 1;
        let text = String::from_utf8_lossy(event);
        let mut name = None;
        let mut data = String::new();
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        match self.api {
            Api::OpenAiChat | Api::OpenAiEmbeddings => {
                if data.trim() == "[DONE]" {
                    return Verdict::Hold(raw);
                }
                let Ok(v) = serde_json::from_str::<Value>(&data) else {
                    return Verdict::Forward(raw);
                };
                if let Some(choices) = v.get("choices").and_then(Value::as_array) {
                    for c in choices {
                        let t = c.pointer("/delta/content").or_else(|| c.get("text"));
                        if let Some(t) = t.and_then(Value::as_str) {
                            self.text_bytes += t.len() as i64;
                        }
                    }
                }
                if let Some(u) = from_response(self.api, &v) {
                    self.usage = Some(u);
                    let empty = v
                        .get("choices")
                        .and_then(Value::as_array)
                        .is_none_or(|c| c.is_empty());
                    if self.hide_usage_chunk && empty {
                        return Verdict::Drop;
                    }
                }
                Verdict::Forward(raw)
            }
            Api::Anthropic => {
                let Ok(v) = serde_json::from_str::<Value>(&data) else {
                    return Verdict::Forward(raw);
                };
                let kind = name
                    .or_else(|| v.get("type").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default();
                match kind.as_str() {
                    "message_start" => {
                        if let Some(u) = v.pointer("/message/usage") {
                            self.input_seen = Some(anthropic_input(u));
                            self.output_seen = Some(int(u, "output_tokens"));
                        }
                    }
                    "message_delta" => {
                        if let Some(u) = v.get("usage") {
                            if u.get("input_tokens").is_some() {
                                self.input_seen = Some(anthropic_input(u));
                            }
                            if u.get("output_tokens").is_some() {
                                self.output_seen = Some(int(u, "output_tokens"));
                            }
                            self.usage = Some(Usage {
                                prompt: self.input_seen.unwrap_or(0),
                                completion: self.output_seen.unwrap_or(0),
                            });
                        }
                    }
                    "content_block_delta" => {
                        let t = v
                            .pointer("/delta/text")
                            .or_else(|| v.pointer("/delta/partial_json"));
                        if let Some(t) = t.and_then(Value::as_str) {
                            self.text_bytes += t.len() as i64;
                        }
                    }
                    "message_stop" => return Verdict::Hold(raw),
                    _ => {}
                }
                Verdict::Forward(raw)
            }
        }
    }

    /// Usage for a stream that was cut (client gone, upstream error): the provider's own figures where it sent
    /// them, else the prompt estimate and the generated text seen (bytes / `bytes_per_token`).
    pub fn partial_usage(&self, prompt_estimate: i64, bytes_per_token: i64) -> Usage {
        if let Some(u) = self.usage {
            return u;
        }
        let per = bytes_per_token.max(1);
        Usage {
            prompt: self.input_seen.unwrap_or(prompt_estimate),
            completion: self
                .output_seen
                .unwrap_or(0)
                .max((self.text_bytes + per - 1) / per),
        }
    }
}

/// Position of the end of the first event and the length of its terminating blank line.
fn find_event_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some((i, 2));
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some((i, 3));
            }
        } else if buf[i] == b'\r' && buf.get(i + 1) == Some(&b'\r') {
            return Some((i, 2));
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_stream_usage_and_done_held() {
        let mut w = SseWatcher::new(Api::OpenAiChat, true);
        let s = b"data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\r\n\r\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n";
        // fed in awkward pieces
        let mut verdicts = Vec::new();
        for piece in s.chunks(5) {
            verdicts.extend(w.push(piece));
        }
        assert_eq!(verdicts.len(), 4);
        assert!(matches!(verdicts[0], Verdict::Forward(_)));
        assert!(matches!(verdicts[2], Verdict::Drop));
        assert!(matches!(verdicts[3], Verdict::Hold(_)));
        assert_eq!(
            w.usage,
            Some(Usage {
                prompt: 7,
                completion: 2
            })
        );
        assert_eq!(w.text_bytes, 5);
    }

    #[test]
    fn anthropic_stream_usage() {
        let mut w = SseWatcher::new(Api::Anthropic, false);
        let s = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"cache_read_input_tokens\":3,\"output_tokens\":1}}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"hi there\"}}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let v = w.push(s.as_bytes());
        assert_eq!(v.len(), 4);
        assert!(matches!(v[3], Verdict::Hold(_)));
        assert_eq!(
            w.usage,
            Some(Usage {
                prompt: 15,
                completion: 9
            })
        );
    }

    #[test]
    fn partial_usage_estimates() {
        let mut w = SseWatcher::new(Api::OpenAiChat, false);
        w.push(b"data: {\"choices\":[{\"delta\":{\"content\":\"abcdefghi\"}}]}\n\n");
        assert_eq!(
            w.partial_usage(100, 4),
            Usage {
                prompt: 100,
                completion: 3
            }
        );
    }

    #[test]
    fn response_usage() {
        let v: Value =
            serde_json::from_str(r#"{"usage":{"prompt_tokens":3,"total_tokens":3}}"#).unwrap();
        assert_eq!(
            from_response(Api::OpenAiEmbeddings, &v),
            Some(Usage {
                prompt: 3,
                completion: 0
            })
        );
        let v: Value =
            serde_json::from_str(r#"{"usage":{"input_tokens":3,"output_tokens":4}}"#).unwrap();
        assert_eq!(
            from_response(Api::Anthropic, &v),
            Some(Usage {
                prompt: 3,
                completion: 4
            })
        );
        assert_eq!(from_response(Api::Anthropic, &serde_json::json!({})), None);
    }
}
