#!/usr/bin/env python3
"""Real client calls through pg-rbac-proxy for the demo (scripts/demo.sh): the official openai and anthropic
clients, with the demo policy's keys, against a mock provider. Prints one line per call: who, what, HTTP status,
the pg_rbac reason and the spend settled in rbac.spend_log.

    python demo/proxy_calls.py http://127.0.0.1:PORT      (PG* variables: the demo cluster, as a superuser)
"""
import json
import subprocess
import sys
import urllib.error
import urllib.request

import anthropic
import openai

PROXY = sys.argv[1]


def sql(q):
    return subprocess.run(["psql", "-X", "-At", "-c", q], capture_output=True, text=True, check=True).stdout.strip()


def settled(request_id):
    if not request_id:
        return "-"
    s = sql("SELECT spend || ' USD (' || prompt_tokens || '+' || completion_tokens || ' tokens)' FROM rbac.spend_log "
            "WHERE request_id = '%s'" % request_id)
    return s or "-"


rows = []
START = sql("SELECT clock_timestamp()")


def record(who, what, call):
    try:
        status, reason, rid, note = call()
    except openai.APIStatusError as e:
        status, reason, rid, note = e.status_code, e.response.headers.get("x-pg-rbac-reason", "?"), None, ""
    except anthropic.APIStatusError as e:
        status, reason, rid, note = e.status_code, e.response.headers.get("x-pg-rbac-reason", "?"), None, ""
    rows.append((who, what, str(status), reason, settled(rid), note))


def oa(key):
    return openai.OpenAI(base_url=PROXY + "/v1", api_key=key, max_retries=0, timeout=30)


def chat(key, model, text, **kw):
    def call():
        raw = oa(key).chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": text}], **kw)
        r = raw.parse()
        return raw.status_code, "ok", raw.headers.get("x-pg-rbac-request-id"), repr(r.choices[0].message.content)
    return call


def chat_stream(key, model, text):
    def call():
        raw = oa(key).chat.completions.with_raw_response.create(model=model, stream=True, messages=[{"role": "user", "content": text}])
        out = "".join((c.choices[0].delta.content or "") for c in raw.parse() if c.choices)
        return raw.status_code, "ok", raw.headers.get("x-pg-rbac-request-id"), "streamed " + repr(out.strip())
    return call


def messages(key, model, text, stream=False):
    def call():
        c = anthropic.Anthropic(base_url=PROXY, api_key=key, max_retries=0, timeout=30)
        if stream:
            raw = c.messages.with_raw_response.create(model=model, max_tokens=64, stream=True, messages=[{"role": "user", "content": text}])
            out = "".join(e.delta.text for e in raw.parse() if e.type == "content_block_delta")
            return raw.status_code, "ok", raw.headers.get("x-pg-rbac-request-id"), "streamed " + repr(out.strip())
        raw = c.messages.with_raw_response.create(model=model, max_tokens=64, messages=[{"role": "user", "content": text}])
        return raw.status_code, "ok", raw.headers.get("x-pg-rbac-request-id"), repr(raw.parse().content[0].text)
    return call


def embed(key, model, text):
    def call():
        raw = oa(key).embeddings.with_raw_response.create(model=model, input=text)
        return raw.status_code, "ok", raw.headers.get("x-pg-rbac-request-id"), "%d vector(s)" % len(raw.parse().data)
    return call


def models(key):
    def call():
        ids = [m.id for m in oa(key).models.list()]
        return 200, "ok", None, ", ".join(ids)
    return call


generated = {}


def key_generate(admin_key, body):
    def call():
        req = urllib.request.Request(PROXY + "/key/generate", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": "Bearer " + admin_key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                b = json.loads(r.read())
                generated["key"] = b["key"]
                return r.status, "ok", None, "new key %s, expires %s" % (b["key_name"], b["expires"])
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("x-pg-rbac-reason", "?"), None, ""
    return call


ALICE, CAROL, ADA = "sk-acme-alice-research-0008", "sk-acme-carol-support-0010", "sk-acme-ada-admin-0001"
record("alice (research)", "chat gpt-4o", chat(ALICE, "gpt-4o", "Summarise our Q3 research plan"))
record("alice (research)", "chat gpt-4o, streamed", chat_stream(ALICE, "gpt-4o", "Name three transformer variants"))
record("alice (research)", "anthropic messages claude-3-5-sonnet", messages(ALICE, "claude-3-5-sonnet", "Hello Claude"))
record("alice (research)", "anthropic stream claude-3-5-sonnet", messages(ALICE, "claude-3-5-sonnet", "Stream a haiku", stream=True))
record("support-bot", "embeddings text-embedding-3-small", embed("sk-acme-support-bot-0013", "text-embedding-3-small", "refund policy"))
record("carol (support)", "chat gpt-4o-mini (member budget spent)", chat(CAROL, "gpt-4o-mini", "hi"))
record("carol (support)", "chat gpt-4o (not a cheap model)", chat(CAROL, "gpt-4o", "hi"))
record("hackathon key", "chat gpt-4o (key budget spent)", chat("sk-acme-hackathon-0015", "gpt-4o", "hi"))
record("leaked key", "chat gpt-4o-mini (key blocked)", chat("sk-acme-leaked-0018", "gpt-4o-mini", "hi"))
record("unknown key", "chat gpt-4o-mini", chat("sk-not-a-real-key-000000", "gpt-4o-mini", "hi"))
record("carol (support)", "GET /v1/models", models(CAROL))
record("ada (proxy admin)", "POST /key/generate", key_generate(ADA, {"team_id": "team-support", "models": ["gpt-4o-mini"],
                                                                   "key_alias": "demo-proxy-key", "duration": "1h", "max_budget": 5}))
if "key" in generated:
    record("the new key", "chat gpt-4o-mini", chat(generated["key"], "gpt-4o-mini", "First call with my new key"))

w = [max(len(r[i]) for r in rows + [("caller", "call", "status", "reason", "settled spend", "")]) for i in range(5)]
fmt = "  %%-%ds  %%-%ds  %%-%ds  %%-%ds  %%-%ds  %%s" % tuple(w)
print(fmt % ("caller", "call", "status", "reason", "settled spend", "answer"))
for r in rows:
    note = r[5] if len(r[5]) <= 60 else r[5][:57] + "..."
    print(fmt % (r[0], r[1], r[2], r[3], r[4], note))
ok = sum(1 for r in rows if r[2] == "200")
print("proxy calls: %d made, %d answered 200, %d refused by pg_rbac; spend settled through the proxy: %s USD" % (
    len(rows), ok, len(rows) - ok, sql("SELECT coalesce(sum(spend), 0) FROM rbac.spend_log WHERE created_at >= '%s'" % START)))
