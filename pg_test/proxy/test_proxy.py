#!/usr/bin/env python3
"""End-to-end tests of pg-rbac-proxy with the official openai and anthropic clients as callers.

Run by pg_test/client/proxy_e2e.sh, which starts the cluster policy (policy.sql), the mock upstream and two
proxies. Arguments: PROXY_URL BAD_DB_PROXY_URL MOCK_URL. The database is read with psql (PG* variables of a
superuser). Prints one line per check and, last, `RESULT <passed> <failed>`.
"""
import hashlib
import json
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from decimal import Decimal

import anthropic
import httpx
import openai

PROXY, BAD_PROXY, MOCK = sys.argv[1], sys.argv[2], sys.argv[3]
MAIN = "sk-px-main-00000000001"
RPM = "sk-px-rpm-000000000001"
BUDGET = "sk-px-budget-000000001"
SPENT = "sk-px-spent-0000000001"
STREAM = "sk-px-stream-000000001"
ADMIN = "sk-px-admin-000000001"
PRICES = {"px-gpt": (Decimal("0.000001"), Decimal("0.000002")), "px-claude": (Decimal("0.000003"), Decimal("0.000015")),
          "px-embed": (Decimal("0.0000001"), Decimal("0"))}

passed = failed = 0


def sha(k):
    return hashlib.sha256(k.encode()).hexdigest()


def sql(q):
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", q], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("psql: " + r.stderr.strip())
    return r.stdout.strip()


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   %s" % name, flush=True)
    else:
        failed += 1
        print("FAIL %s %s" % (name, detail), flush=True)


def test(fn):
    """Runs a test function; an exception counts as one failure."""
    global failed
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        failed += 1
        print("FAIL %s raised %s: %s" % (fn.__name__, type(e).__name__, e), flush=True)
        traceback.print_exc(limit=3)
    return fn


def oa(key, base=PROXY):
    return openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0, timeout=30)


def an(key):
    return anthropic.Anthropic(base_url=PROXY, api_key=key, max_retries=0, timeout=30)


def http(method, path, body=None, key=None, base=PROXY, raw=None, headers=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("Authorization", "Bearer " + key)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        payload = e.read()
        try:
            return e.code, dict(e.headers), json.loads(payload)
        except ValueError:
            return e.code, dict(e.headers), payload.decode(errors="replace")


def err_code(e):
    try:
        return e.response.json()["error"].get("code")
    except Exception:  # noqa: BLE001
        return None


def spend_row(request_id):
    r = sql("SELECT prompt_tokens || ' ' || completion_tokens || ' ' || spend || ' ' || model FROM rbac.spend_log WHERE request_id = '%s'" % request_id)
    if not r:
        return None
    p, c, s, m = r.split()
    return int(p), int(c), Decimal(s), m


def priced(model, p, c):
    i, o = PRICES[model]
    return p * i + c * o


def mock_stats():
    with urllib.request.urlopen(MOCK + "/_stats", timeout=10) as r:
        return json.loads(r.read())


def open_reservations(key):
    return int(sql("SELECT count(*) FROM rbac.reservations WHERE state = 'open' AND key_hash = '%s'" % sha(key)))


def in_flight(key):
    return int(sql("SELECT in_flight FROM rbac.keys WHERE key_hash = '%s'" % sha(key)))


def wait_for(cond, seconds=8.0):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


# ------------------------------------------------------------------------------------------------------------
@test
def chat_allowed_and_settled():
    raw = oa(MAIN).chat.completions.with_raw_response.create(
        model="px-gpt", messages=[{"role": "user", "content": "hello proxy world"}])
    r = raw.parse()
    check("chat: allowed call returns the upstream answer", r.choices[0].message.content == "echo: hello proxy world", r.choices[0].message.content)
    rid = raw.headers.get("x-pg-rbac-request-id")
    row = spend_row(rid)
    check("chat: settled with the provider's usage", row is not None and row[:2] == (r.usage.prompt_tokens, r.usage.completion_tokens), row)
    check("chat: spend = usage x list prices, exactly", row is not None and row[2] == priced("px-gpt", r.usage.prompt_tokens, r.usage.completion_tokens), row)
    check("chat: x-litellm-response-cost is the settled spend", row is not None and Decimal(raw.headers.get("x-litellm-response-cost", "-1")) == row[2])
    last = mock_stats()["last"]
    check("upstream got the provider key from PG_RBAC_PROVIDER_KEY_MOCK, not the caller's key", last["authorization"] == "Bearer mock-provider-secret", last["authorization"])
    check("upstream got the upstream_model name", last["body"]["model"] == "mock-gpt-1", last["body"]["model"])
    check("no reservation left open", open_reservations(MAIN) == 0 and in_flight(MAIN) == 0)


@test
def wrong_key_401():
    try:
        oa("sk-px-no-such-key-000001").chat.completions.create(model="px-gpt", messages=[{"role": "user", "content": "x"}])
        check("wrong key: 401", False, "allowed")
    except openai.AuthenticationError as e:
        check("wrong key: 401 AuthenticationError, code invalid_token", e.status_code == 401 and err_code(e) == "invalid_token", err_code(e))
    st, _, b = http("POST", "/v1/chat/completions", {"model": "px-gpt", "messages": [{"role": "user", "content": "x"}]})
    check("missing key: 401 missing_token", st == 401 and b["error"]["code"] == "missing_token", (st, b))


@test
def model_outside_key_403():
    try:
        oa(MAIN).chat.completions.create(model="px-other", messages=[{"role": "user", "content": "x"}])
        check("model outside key: 403", False, "allowed")
    except openai.PermissionDeniedError as e:
        check("model outside key: 403 key_model_access_denied", e.status_code == 403 and err_code(e) == "key_model_access_denied", err_code(e))
    try:
        oa(MAIN).chat.completions.create(model="px-gpt", user="px-blocked-customer", messages=[{"role": "user", "content": "x"}])
        check("blocked end user: 403", False, "allowed")
    except openai.PermissionDeniedError as e:
        check("blocked end user (body user): 403 end_user_blocked", err_code(e) == "end_user_blocked", err_code(e))


@test
def rpm_exhausted_429():
    c = oa(RPM)
    remaining = []
    limits = []
    for _ in range(2):
        raw = c.chat.completions.with_raw_response.create(model="px-gpt", messages=[{"role": "user", "content": "hi"}])
        remaining.append(raw.headers.get("x-ratelimit-remaining-requests"))
        limits.append(raw.headers.get("x-ratelimit-limit-requests"))
    check("rpm: x-ratelimit-remaining-requests counts down", remaining == ["1", "0"], remaining)
    check("rpm: x-ratelimit-limit-requests is the key's rpm_limit", limits == ["2", "2"], limits)
    try:
        c.chat.completions.create(model="px-gpt", messages=[{"role": "user", "content": "hi"}])
        check("rpm exhausted: 429", False, "allowed")
    except openai.RateLimitError as e:
        ra = e.response.headers.get("retry-after")
        check("rpm exhausted: 429 rate_limit_exceeded with Retry-After", err_code(e) == "rate_limit_exceeded" and ra is not None and int(ra) >= 1, (err_code(e), ra))
        check("rpm refusal names the key scope (param)", e.response.json()["error"].get("param") == "key")


@test
def budget_exhausted_429():
    try:
        oa(SPENT).chat.completions.create(model="px-gpt", messages=[{"role": "user", "content": "x"}])
        check("spent budget: 429", False, "allowed")
    except openai.RateLimitError as e:
        check("spent budget: 429 budget_exceeded", err_code(e) == "budget_exceeded", err_code(e))
    ok = 0
    refused = None
    for _ in range(40):
        try:
            oa(BUDGET).chat.completions.create(model="px-gpt", max_tokens=5, messages=[{"role": "user", "content": "hello there"}])
            ok += 1
        except openai.RateLimitError as e:
            refused = e
            break
    check("budget used up by real calls, then 429 budget_exceeded", ok > 0 and refused is not None and err_code(refused) == "budget_exceeded", (ok, refused and err_code(refused)))
    s = Decimal(sql("SELECT spend + reserved FROM rbac.keys WHERE key_hash = '%s'" % sha(BUDGET)))
    check("budget: spend never passes max_budget", s <= Decimal("0.0002"), s)


@test
def streaming_settles():
    raw = oa(MAIN).chat.completions.with_raw_response.create(
        model="px-gpt", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "stream me please"}])
    rid = raw.headers.get("x-pg-rbac-request-id")
    text, usage, chunks = "", None, 0
    for ch in raw.parse():
        chunks += 1
        if ch.choices:
            text += ch.choices[0].delta.content or ""
        if ch.usage:
            usage = ch.usage
    check("stream: passed through chunk by chunk", chunks >= 4 and text.strip() == "echo: stream me please", (chunks, text))
    row = spend_row(rid)
    check("stream: settled when it ended (before [DONE] reached the client)", row is not None and usage is not None and row[:2] == (usage.prompt_tokens, usage.completion_tokens), (row, usage))
    check("stream: spend exact", row is not None and row[2] == priced("px-gpt", row[0], row[1]))
    # without include_usage: the proxy asks for it upstream but does not pass the usage chunk on
    raw = oa(MAIN).chat.completions.with_raw_response.create(
        model="px-gpt", stream=True, messages=[{"role": "user", "content": "no usage for me"}])
    rid = raw.headers.get("x-pg-rbac-request-id")
    empty = [ch for ch in raw.parse() if not ch.choices]
    last = mock_stats()["last"]
    row = spend_row(rid)
    check("stream without include_usage: usage chunk hidden from the client", not empty, len(empty))
    check("stream without include_usage: settled with the provider's usage", row is not None and list(row[:2]) == last["usage"], (row, last["usage"]))


@test
def anthropic_messages():
    raw = an(MAIN).messages.with_raw_response.create(
        model="px-claude", max_tokens=50, metadata={"user_id": "px-customer-1"},
        messages=[{"role": "user", "content": "bonjour claude"}])
    m = raw.parse()
    check("anthropic: allowed call returns the upstream answer", m.content[0].text == "echo: bonjour claude", m.content)
    row = spend_row(raw.headers.get("x-pg-rbac-request-id"))
    check("anthropic: settled with input/output tokens, exact spend",
          row is not None and row[:2] == (m.usage.input_tokens, m.usage.output_tokens) and row[2] == priced("px-claude", row[0], row[1]), row)
    last = mock_stats()["last"]
    check("anthropic: provider key sent as x-api-key", last["x-api-key"] == "mock-provider-secret" and last["authorization"] is None, last)
    eu = sql("SELECT end_user_id FROM rbac.spend_log WHERE request_id = '%s'" % raw.headers.get("x-pg-rbac-request-id"))
    check("anthropic: metadata.user_id is the end user", eu == "px-customer-1", eu)
    with an(MAIN).messages.stream(model="px-claude", max_tokens=50, messages=[{"role": "user", "content": "stream claude"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    check("anthropic stream: text passed through", text.strip() == "echo: stream claude", text)
    row = sql("SELECT prompt_tokens || ' ' || completion_tokens FROM rbac.spend_log WHERE model = 'px-claude' ORDER BY created_at DESC LIMIT 1")
    check("anthropic stream: settled with message_start/message_delta usage", row == "%d %d" % (final.usage.input_tokens, final.usage.output_tokens), (row, final.usage))
    try:
        an("sk-px-nope-0000000000001").messages.create(model="px-claude", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        check("anthropic wrong key: 401", False, "allowed")
    except anthropic.AuthenticationError as e:
        body = e.response.json()
        check("anthropic wrong key: 401 in Anthropic's error shape", body.get("type") == "error" and body["error"]["type"] == "authentication_error", body)


@test
def embeddings_and_completions():
    raw = oa(MAIN).embeddings.with_raw_response.create(model="px-embed", input=["one two", "three"])
    e = raw.parse()
    row = spend_row(raw.headers.get("x-pg-rbac-request-id"))
    check("embeddings: answer and exact spend", len(e.data) == 2 and row is not None and row[0] == e.usage.prompt_tokens and row[1] == 0
          and row[2] == priced("px-embed", row[0], 0), row)
    raw = oa(MAIN).completions.with_raw_response.create(model="px-gpt", prompt="complete this", max_tokens=20)
    c = raw.parse()
    row = spend_row(raw.headers.get("x-pg-rbac-request-id"))
    check("completions: answer and exact spend", c.choices[0].text == "echo: complete this" and row is not None
          and row[:2] == (c.usage.prompt_tokens, c.usage.completion_tokens), row)


@test
def models_list():
    ids = sorted(m.id for m in oa(MAIN).models.list())
    check("/v1/models lists exactly the key's allowed models",
          ids == ["px-broken", "px-claude", "px-embed", "px-evil", "px-gpt", "px-unrouted"], ids)
    ids = sorted(m.id for m in oa(RPM).models.list())
    check("/v1/models for a one-model key", ids == ["px-gpt"], ids)


@test
def disconnect_frees_parallel_slot():
    body = {"model": "px-gpt", "stream": True, "messages": [{"role": "user", "content": "SLOW please"}]}
    with httpx.Client(timeout=30) as h:
        with h.stream("POST", PROXY + "/v1/chat/completions", json=body, headers={"Authorization": "Bearer " + STREAM}) as r:
            check("slow stream admitted", r.status_code == 200, r.status_code)
            lines = r.iter_lines()  # kept open: leaving a for-loop over it would close the response
            got = 0
            while got < 3:
                if next(lines).startswith("data:"):
                    got += 1
            check("while streaming: the key's parallel slot is taken", in_flight(STREAM) == 1)
            try:
                oa(STREAM).chat.completions.create(model="px-gpt", messages=[{"role": "user", "content": "x"}])
                check("second parallel request: 429", False, "allowed")
            except openai.RateLimitError as e:
                check("second parallel request: 429 parallel_limit_exceeded, Retry-After 1",
                      err_code(e) == "parallel_limit_exceeded" and e.response.headers.get("retry-after") == "1", err_code(e))
        # leaving the with-block closes the connection mid-stream
    check("client disconnect mid-stream: in_flight back to 0", wait_for(lambda: in_flight(STREAM) == 0), in_flight(STREAM))
    check("client disconnect mid-stream: no open reservation", wait_for(lambda: open_reservations(STREAM) == 0))
    n = sql("SELECT count(*) FROM rbac.reservations WHERE key_hash = '%s' AND state = 'settled'" % sha(STREAM))
    check("client disconnect mid-stream: what was used is settled", n == "1", n)
    r = oa(STREAM).chat.completions.create(model="px-gpt", messages=[{"role": "user", "content": "again"}])
    check("slot free: next request of the key succeeds", r.choices[0].message.content == "echo: again")
    # same for an Anthropic stream cut before its end
    with httpx.Client(timeout=30) as h:
        with h.stream("POST", PROXY + "/v1/messages", headers={"x-api-key": STREAM, "anthropic-version": "2023-06-01"},
                      json={"model": "px-claude", "max_tokens": 100, "stream": True, "messages": [{"role": "user", "content": "SLOW"}]}) as r:
            lines = r.iter_lines()
            for _ in range(6):
                next(lines)
            check("anthropic slow stream: slot taken while it runs", in_flight(STREAM) == 1)
    check("anthropic stream cut: slot and reservation freed", wait_for(lambda: in_flight(STREAM) == 0 and open_reservations(STREAM) == 0))


@test
def upstream_failures():
    before = sql("SELECT count(*) FROM rbac.spend_log WHERE model = 'px-broken'")
    try:
        oa(MAIN).chat.completions.create(model="px-broken", messages=[{"role": "user", "content": "x"}])
        check("upstream 500 passed through", False, "allowed")
    except openai.InternalServerError as e:
        check("upstream 500 passed through (provider's body)", e.status_code == 500 and "mock provider failure" in e.response.text, e.response.text)
    check("upstream error: reservation released, nothing spent", open_reservations(MAIN) == 0 and in_flight(MAIN) == 0
          and sql("SELECT count(*) FROM rbac.spend_log WHERE model = 'px-broken'") == before)
    n = mock_stats()["requests"]
    try:
        oa(MAIN).chat.completions.create(model="px-evil", messages=[{"role": "user", "content": "x"}])
        check("api_key_env outside the prefix: refused", False, "allowed")
    except openai.APIStatusError as e:
        check("api_key_env outside the prefix: 503 upstream_not_configured", e.status_code == 503 and err_code(e) == "upstream_not_configured", (e.status_code, err_code(e)))
    check("api_key_env outside the prefix: nothing forwarded", mock_stats()["requests"] == n)
    try:
        oa(MAIN).chat.completions.create(model="px-unrouted", messages=[{"role": "user", "content": "x"}])
        check("no api_base: refused", False, "allowed")
    except openai.APIStatusError as e:
        check("model without api_base: 503 upstream_not_configured", e.status_code == 503 and err_code(e) == "upstream_not_configured", err_code(e))
    try:
        oa(ADMIN).chat.completions.create(model="px-not-in-catalogue", messages=[{"role": "user", "content": "x"}])
        check("unknown model: refused", False, "allowed")
    except openai.NotFoundError as e:
        check("model not in rbac.models (authorized caller): 404 model_not_found", err_code(e) == "model_not_found", err_code(e))
    check("configuration errors leave no reservation", open_reservations(MAIN) == 0 and open_reservations(ADMIN) == 0)


@test
def bad_input():
    before = sql("SELECT count(*) FROM rbac.reservations WHERE key_hash = '%s'" % sha(MAIN))
    st, _, b = http("POST", "/v1/chat/completions", raw=b"{not json", key=MAIN)
    check("malformed JSON: 400 invalid_json", st == 400 and b["error"]["code"] == "invalid_json", (st, b))
    st, _, b = http("POST", "/v1/chat/completions", body={"messages": []}, key=MAIN)
    check("missing model: 400 missing_model", st == 400 and b["error"]["code"] == "missing_model", (st, b))
    st, _, b = http("POST", "/v1/chat/completions", body={"model": "px-gpt", "messages": [{"role": "user", "content": "x" * 70000}]}, key=MAIN)
    check("oversized body: 413", st == 413 and b["error"]["code"] == "request_too_large", (st, b))
    st, _, b = http("POST", "/v1/messages", raw=b"[1,2]", key=MAIN)
    check("Anthropic route, not an object: 400 in Anthropic's shape", st == 400 and b.get("type") == "error", (st, b))
    st, _, b = http("POST", "/v1/nothing/here", body={}, key=MAIN)
    check("unknown route: 404", st == 404, st)
    st, _, b = http("GET", "/v1/chat/completions", key=MAIN)
    check("wrong method: 405", st == 405, st)
    after = sql("SELECT count(*) FROM rbac.reservations WHERE key_hash = '%s'" % sha(MAIN))
    check("bad input consumed nothing", before == after, (before, after))


@test
def management():
    st, _, b = http("POST", "/key/generate", {"models": ["px-gpt"], "key_alias": "px-generated", "max_budget": 1, "duration": "1h",
                                              "metadata": {"purpose": "e2e"}}, key=ADMIN)
    ok = st == 200 and b.get("key", "").startswith("sk-") and b.get("token") == sha(b.get("key", "")) and b.get("key_name", "").startswith("sk-...") and b.get("expires")
    check("/key/generate: LiteLLM response (key, key_name, expires, token = hash)", ok, (st, b))
    if not ok:
        return
    new = b["key"]
    r = oa(new).chat.completions.create(model="px-gpt", messages=[{"role": "user", "content": "generated key"}])
    check("generated key works through the proxy", r.choices[0].message.content == "echo: generated key")
    st, _, b = http("GET", "/key/info?key=" + new, key=ADMIN)
    check("/key/info", st == 200 and b["info"]["key_alias"] == "px-generated" and b["info"]["token"] == sha(new), (st, b))
    st, _, b = http("POST", "/key/block", {"key": new}, key=ADMIN)
    check("/key/block", st == 200 and b.get("blocked") is True, (st, b))
    try:
        oa(new).chat.completions.create(model="px-gpt", messages=[{"role": "user", "content": "x"}])
        check("blocked key refused", False, "allowed")
    except openai.AuthenticationError as e:
        check("blocked key: 401 key_blocked", err_code(e) == "key_blocked", err_code(e))
    st, _, b = http("POST", "/key/unblock", {"key": new}, key=ADMIN)
    check("/key/unblock", st == 200 and b.get("blocked") is False, (st, b))
    st, _, b = http("POST", "/key/%s/regenerate" % new, {}, key=ADMIN)
    check("/key/{key}/regenerate: new key", st == 200 and b.get("key", "").startswith("sk-") and b["key"] != new, (st, b))
    newer = b.get("key", "")
    try:
        oa(new).chat.completions.create(model="px-gpt", messages=[{"role": "user", "content": "x"}])
        check("old key after regenerate refused", False, "allowed")
    except openai.AuthenticationError:
        check("old key after regenerate: 401", True)
    r = oa(newer).chat.completions.create(model="px-gpt", messages=[{"role": "user", "content": "regenerated"}])
    check("regenerated key works", r.choices[0].message.content == "echo: regenerated")
    st, _, b = http("POST", "/key/delete", {"keys": [newer]}, key=ADMIN)
    check("/key/delete", st == 200 and b.get("deleted_keys") == [newer], (st, b))
    try:
        oa(newer).chat.completions.create(model="px-gpt", messages=[{"role": "user", "content": "x"}])
        check("deleted key refused", False, "allowed")
    except openai.AuthenticationError:
        check("deleted key: 401", True)
    # /key/update: a proxy admin changes anything; a key's owner may only narrow it
    st, _, b = http("POST", "/user/new", {"user_id": "px-updater"}, key=ADMIN)
    upd = b.get("key") if st == 200 else None
    check("/user/new with its key", st == 200 and upd, (st, b))
    st, _, b = http("POST", "/key/update", {"key": upd, "max_budget": 2, "key_alias": "px-updated"}, key=ADMIN)
    check("/key/update by a proxy admin", st == 200 and float(b.get("max_budget") or 0) == 2 and b.get("key_alias") == "px-updated", (st, b))
    st, _, b = http("POST", "/key/update", {"key": upd, "max_budget": 50}, key=upd)
    check("/key/update: the owner cannot raise its own budget (403)", st == 403 and "exceeds" in b["error"]["message"], (st, b))
    st, _, b = http("POST", "/key/update", {"key": upd, "max_budget": 1}, key=upd)
    check("/key/update: the owner may lower it", st == 200 and float(b.get("max_budget") or 0) == 1, (st, b))
    st, _, b = http("POST", "/key/update", {"key": upd, "clear": ["bogus"]}, key=ADMIN)
    check("/key/update with a bad clear entry: 400", st == 400, (st, b))
    st, _, b = http("POST", "/key/generate", {"models": ["px-gpt"]}, key="sk-px-bad-000000000001")
    check("management with a bad token: 401", st == 401 and b["error"]["code"] == "invalid_token", (st, b))
    st, _, b = http("POST", "/team/new", {"team_id": "px-team-mgmt"}, key=MAIN)
    check("management refused by the database: 403 (42501) with its message", st == 403 and b["error"]["code"] == "42501" and b["error"]["message"], (st, b))
    st, _, b = http("POST", "/team/new", {"team_id": "px-team-mgmt", "models": ["px-gpt"], "max_budget": 5}, key=ADMIN)
    check("/team/new", st == 200 and b.get("team_id") == "px-team-mgmt", (st, b))
    st, _, b = http("POST", "/team/new", {"team_id": "px-team-mgmt"}, key=ADMIN)
    check("/team/new twice: 409 (23505)", st == 409 and b["error"]["code"] == "23505", (st, b))
    st, _, b = http("POST", "/key/generate", {"team_id": "px-team-mgmt", "models": ["px-claude"]}, key=ADMIN)
    check("invalid values: 400 (23514)", st == 400 and b["error"]["code"] == "23514", (st, b))
    st, _, b = http("POST", "/key/generate", {"models": "px-gpt"}, key=ADMIN)
    check("wrong field type: 400", st == 400, (st, b))
    st, _, b = http("POST", "/user/new", {"user_id": "px-user-mgmt", "user_role": "internal_user"}, key=ADMIN)
    check("/user/new (with its key, as LiteLLM)", st == 200 and b.get("user_id") == "px-user-mgmt" and b.get("key", "").startswith("sk-"), (st, b))
    st, _, b = http("POST", "/team/member_add", {"team_id": "px-team-mgmt", "member": {"user_id": "px-user-mgmt", "role": "user"}}, key=ADMIN)
    check("/team/member_add", st == 200 and b["updated_team_memberships"][0]["user_id"] == "px-user-mgmt", (st, b))
    st, _, b = http("POST", "/access_group/new", {"access_group": "px-group", "model_names": ["px-gpt", "px-embed"]}, key=ADMIN)
    check("/access_group/new", st == 200 and b.get("model_names") == ["px-embed", "px-gpt"], (st, b))
    st, _, b = http("DELETE", "/access_group/px-group/delete", key=ADMIN)
    check("/access_group/{name}/delete", st == 200 and b.get("models_untagged") == 2, (st, b))
    st, _, b = http("POST", "/organization/new", {"organization_id": "px-org-mgmt", "max_budget": 10}, key=ADMIN)
    check("/organization/new", st == 200 and b.get("organization_id") == "px-org-mgmt", (st, b))
    sql("DELETE FROM rbac.organizations WHERE organization_id = 'px-org-mgmt'")


@test
def database_down_503():
    try:
        oa(MAIN, base=BAD_PROXY).chat.completions.create(model="px-gpt", messages=[{"role": "user", "content": "x"}])
        check("database down: refused", False, "allowed")
    except openai.APIStatusError as e:
        check("database down: 503 database_unavailable, never an allow", e.status_code == 503 and err_code(e) == "database_unavailable", (e.status_code, err_code(e)))
    st, _, b = http("POST", "/key/generate", {}, key=ADMIN, base=BAD_PROXY)
    check("database down: management 503", st == 503, st)
    st, _, _ = http("GET", "/health/readiness", base=BAD_PROXY)
    check("database down: readiness 503", st == 503, st)
    st, _, _ = http("GET", "/health/liveliness", base=BAD_PROXY)
    check("database down: liveliness still 200", st == 200, st)
    st, _, _ = http("GET", "/health/readiness")
    check("readiness 200", st == 200, st)


@test
def accounting_is_exact():
    keys = "'%s'" % "','".join(sha(k) for k in (MAIN, RPM, BUDGET, STREAM, ADMIN))
    bad = sql("""SELECT count(*) FROM rbac.spend_log l JOIN rbac.models m ON m.model_name = l.model
                 WHERE l.model LIKE 'px-%' AND l.spend <> l.prompt_tokens * m.input_cost_per_token + l.completion_tokens * m.output_cost_per_token""")
    total = sql("SELECT count(*) FROM rbac.spend_log WHERE model LIKE 'px-%'")
    check("every spend_log row = prompt x input price + completion x output price (%s rows)" % total, bad == "0" and int(total) > 10, (bad, total))
    bad = sql("""SELECT count(*) FROM rbac.keys k WHERE k.key_hash IN (%s)
                 AND k.spend <> (SELECT coalesce(sum(spend), 0) FROM rbac.spend_log l WHERE l.key_hash = k.key_hash)""" % keys)
    check("rbac.keys.spend = sum of its spend_log rows", bad == "0", bad)
    t = sql("SELECT spend = (SELECT sum(spend) FROM rbac.spend_log WHERE team_id = 'px-team') FROM rbac.teams WHERE team_id = 'px-team'")
    check("rbac.teams.spend = sum of the team's spend_log rows", t == "t", t)
    left = sql("""SELECT count(*) FROM rbac.reservations WHERE state = 'open' AND key_hash IN (%s)""" % keys)
    held = sql("""SELECT coalesce(sum(in_flight), 0) || ' ' || coalesce(sum(reserved), 0) FROM rbac.keys WHERE key_hash IN (%s)""" % keys)
    check("no open reservation, no parallel slot, nothing reserved at the end", left == "0" and held.split()[0] == "0" and Decimal(held.split()[1]) == 0, (left, held))


print("RESULT %d %d" % (passed, failed), flush=True)
sys.exit(1 if failed else 0)
