#!/usr/bin/env python3
"""Mock model provider for the pg-rbac-proxy tests and demo: OpenAI- and Anthropic-compatible, streaming and not,
with real-shaped `usage`. Standard library only.

    python3 mock_upstream.py --port 0 --port-file /tmp/port   # 0 = any free loopback port, written to the file

Routes (with or without /v1): POST /chat/completions, /completions, /embeddings, /messages.
Behaviour by request:
  * the reply text is "echo: <last user text>";
  * usage is deterministic: prompt tokens = 5 + number of words in the prompt, completion tokens = number of
    words in the reply (capped by max_tokens);
  * a prompt containing SLOW streams 60 chunks 0.1 s apart (for disconnect tests);
  * upstream model "mock-broken" answers 500 with a provider-shaped error.
Introspection: GET /_stats → {"requests": n, "last": {"path", "authorization", "x-api-key", "body", "usage"}}.
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"requests": 0, "last": None}
LOCK = threading.Lock()


def text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def prompt_text(path, body):
    if path.endswith("/chat/completions") or path.endswith("/messages"):
        msgs = body.get("messages") or []
        system = body.get("system")
        parts = [text_of(system)] if system else []
        parts += [text_of(m.get("content")) for m in msgs if isinstance(m, dict)]
        last_user = next((text_of(m.get("content")) for m in reversed(msgs) if isinstance(m, dict) and m.get("role") == "user"), "")
        return " ".join(parts), last_user
    if path.endswith("/completions"):
        p = body.get("prompt", "")
        p = p if isinstance(p, str) else " ".join(map(str, p))
        return p, p
    inp = body.get("input", "")
    inp = inp if isinstance(inp, str) else " ".join(map(str, inp))
    return inp, inp


def words(s):
    return len(s.split())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):  # quiet
        pass

    def send_json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip("/") == "/_stats":
            with LOCK:
                return self.send_json(200, STATE)
        self.send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self.send_json(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
        path = self.path.split("?")[0].rstrip("/")
        prompt, last_user = prompt_text(path, body)
        reply = "echo: " + last_user
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        out_words = reply.split()
        if isinstance(max_tokens, int) and max_tokens > 0:
            out_words = out_words[:max_tokens]
        reply = " ".join(out_words)
        usage_in, usage_out = 5 + words(prompt), len(out_words)
        slow = "SLOW" in prompt
        record = {
            "path": path,
            "authorization": self.headers.get("Authorization"),
            "x-api-key": self.headers.get("x-api-key"),
            "anthropic-version": self.headers.get("anthropic-version"),
            "body": body,
            "usage": [usage_in, usage_out],
        }
        with LOCK:
            STATE["requests"] += 1
            STATE["last"] = record
        model = body.get("model", "")
        if model == "mock-broken":
            if path.endswith("/messages"):
                return self.send_json(500, {"type": "error", "error": {"type": "api_error", "message": "mock provider failure"}})
            return self.send_json(500, {"error": {"message": "mock provider failure", "type": "server_error", "code": None}})
        stream = bool(body.get("stream"))
        if path.endswith("/messages"):
            return self.anthropic(body, model, reply, out_words, usage_in, usage_out, stream, slow)
        if path.endswith("/embeddings"):
            inputs = body.get("input")
            inputs = inputs if isinstance(inputs, list) else [inputs]
            data = [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(len(inputs))]
            return self.send_json(200, {"object": "list", "data": data, "model": model,
                                        "usage": {"prompt_tokens": usage_in, "total_tokens": usage_in}})
        chat = path.endswith("/chat/completions")
        usage = {"prompt_tokens": usage_in, "completion_tokens": usage_out, "total_tokens": usage_in + usage_out}
        if not stream:
            if chat:
                choice = {"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop", "logprobs": None}
                obj = "chat.completion"
            else:
                choice = {"index": 0, "text": reply, "finish_reason": "stop", "logprobs": None}
                obj = "text_completion"
            return self.send_json(200, {"id": "mock-1", "object": obj, "created": int(time.time()), "model": model,
                                        "choices": [choice], "usage": usage})
        # streaming
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        obj = "chat.completion.chunk" if chat else "text_completion"
        pieces = [w + " " for w in out_words]
        if slow:
            pieces = ["tick "] * 60

        def chunk(delta_or_text, finish=None):
            if chat:
                c = {"index": 0, "delta": delta_or_text, "finish_reason": finish, "logprobs": None}
            else:
                c = {"index": 0, "text": delta_or_text, "finish_reason": finish, "logprobs": None}
            return {"id": "mock-1", "object": obj, "created": int(time.time()), "model": model, "choices": [c]}

        try:
            if chat:
                self.event(chunk({"role": "assistant", "content": ""}))
            for p in pieces:
                self.event(chunk({"content": p} if chat else p))
                if slow:
                    time.sleep(0.1)
            self.event(chunk({} if chat else "", "stop"))
            if (body.get("stream_options") or {}).get("include_usage"):
                self.event({"id": "mock-1", "object": obj, "created": int(time.time()), "model": model, "choices": [], "usage": usage})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def event(self, obj, name=None):
        data = ("event: %s\n" % name if name else "") + "data: " + json.dumps(obj) + "\n\n"
        self.wfile.write(data.encode())
        self.wfile.flush()

    def anthropic(self, body, model, reply, out_words, usage_in, usage_out, stream, slow):
        msg = {"id": "msg_mock", "type": "message", "role": "assistant", "model": model,
               "content": [{"type": "text", "text": reply}], "stop_reason": "end_turn", "stop_sequence": None,
               "usage": {"input_tokens": usage_in, "output_tokens": usage_out}}
        if not stream:
            return self.send_json(200, msg)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        start = dict(msg, content=[], stop_reason=None, usage={"input_tokens": usage_in, "output_tokens": 1})
        pieces = ["tick "] * 60 if slow else [w + " " for w in out_words]
        try:
            self.event({"type": "message_start", "message": start}, "message_start")
            self.event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}, "content_block_start")
            for p in pieces:
                self.event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}, "content_block_delta")
                if slow:
                    time.sleep(0.1)
            self.event({"type": "content_block_stop", "index": 0}, "content_block_stop")
            self.event({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                        "usage": {"output_tokens": usage_out}}, "message_delta")
            self.event({"type": "message_stop"}, "message_stop")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    a = ap.parse_args()
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.replace(a.port_file + ".tmp", a.port_file)
    print("mock upstream on http://%s:%d" % (a.host, port), file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
