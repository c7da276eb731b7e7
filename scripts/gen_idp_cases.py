#!/usr/bin/env python3
"""Generates scenario cases with tokens in the real shape of five identity providers — Keycloak, Microsoft Entra
ID, Okta, Auth0, Google — signed by an independent implementation (PyJWT + cryptography) with fresh RSA keys on
every run: each IdP's JOSE header (kid, typ as it sends them), its JWKS as it publishes it (x5c certificates, keys
without alg, encryption keys next to signing keys, a second key for rotation) and its claim layout.

The issuer rows are not written here: they are the recipe blocks of docs/identity-providers.md (the ```sql blocks
holding a `-- recipe: NAME` line), copied verbatim, so the recipes the documentation shows are the ones tested.

Outputs (paths relative to the repository root):
  pg_test/cases/jwt_idp_shapes.sql  the scenario: the recipes, their JWKS, the tokens and the expected decisions
                                    (item by item of issue 11: admission, unverified e-mail, ID tokens, admins and
                                    groups that are no teams, tenants, overage, group paths, several role claims,
                                    rbac.jwt_inspect as a non-superuser, write-time checks); runs after
                                    pg_test/helpers.sql in the transaction of the case.
  pg_test/docs/idp_tokens.sql       fixture of the documentation tests (`fixture=idp_tokens`): the same tokens in a
                                    table public.idp_tokens and the JWKS loaded into the recipe rows that exist.

Usage:  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pyjwt cryptography
        /tmp/venv/bin/python scripts/gen_idp_cases.py
"""
import base64
import datetime
import hashlib
import json
import os
import re
import sys

import cryptography
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import get_default_algorithms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "identity-providers.md")
CASE_OUT = os.path.join(ROOT, "pg_test", "cases", "jwt_idp_shapes.sql")
FIXTURE_OUT = os.path.join(ROOT, "pg_test", "docs", "idp_tokens.sql")

IAT = 1_764_000_000
EXP = 4_102_444_800          # 2100-01-01: valid whenever the cases run
RS256 = get_default_algorithms()["RS256"]

KEYCLOAK = "https://sso.acme.example/realms/acme"
ENTRA_TEMPLATE = "https://login.microsoftonline.com/{tenantid}/v2.0"
TENANT_A = "c0ffee00-1234-4abc-8def-0123456789ab"
TENANT_B = "b5c3e2f1-7a44-4d5e-9c1b-2f0e8a6d4c3b"
TENANT_FOREIGN = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ENTRA_APP = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
ENTRA_CLIENT = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
GROUP_FINANCE = "a1f7c3d2-5b8e-4e61-9d0a-3c2b1e4f5a60"
GROUP_RESEARCH = "b2e8d4c3-6c9f-4f72-8e1b-4d3c2f5a6b71"
GROUP_OTHER = "c3f9e5d4-7d0a-4a83-9f2c-5e4d3a6b7c82"
OKTA = "https://acme.okta.com/oauth2/default"
OKTA_CLIENT = "0oa8gateway7xYz5d7"
AUTH0 = "https://acme.eu.auth0.com/"
AUTH0_CLIENT = "Xk3tGatewayClient01"
GOOGLE = "https://accounts.google.com"
GOOGLE_LEGACY = "accounts.google.com"
GOOGLE_CLIENT = "1234567890-gateway.apps.googleusercontent.com"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_b64u(n: int) -> str:
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def compact_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------------------------
# Keys and key sets as each IdP publishes them
# ---------------------------------------------------------------------------------------------------------------

class Key:
    """An RSA key pair with a self-signed certificate (for x5c / x5t, as the IdPs publish them)."""

    def __init__(self, common_name: str):
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.private.public_key().public_numbers()
        self.n, self.e = int_b64u(numbers.n), int_b64u(numbers.e)
        now = datetime.datetime(2025, 11, 1, tzinfo=datetime.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.private.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
                .sign(self.private, hashes.SHA256()))
        self.der = cert.public_bytes(serialization.Encoding.DER)
        self.x5c = base64.b64encode(self.der).decode()          # x5c: standard base64 (RFC 7517 §4.7)
        self.x5t = b64u(hashlib.sha1(self.der).digest())
        self.x5t256 = b64u(hashlib.sha256(self.der).digest())


def sign(key: Key, header: dict, payload: dict) -> str:
    """A compact JWS with exactly this header (member order included), RS256."""
    signing_input = b64u(compact_json(header)) + "." + b64u(compact_json(payload))
    signature = RS256.sign(signing_input.encode(), RS256.prepare_key(
        key.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())))
    return signing_input + "." + b64u(signature)


def random_kid(nbytes: int) -> str:
    return b64u(os.urandom(nbytes))


# ---------------------------------------------------------------------------------------------------------------
# Recipes from the documentation
# ---------------------------------------------------------------------------------------------------------------

def recipes() -> dict:
    """The ```sql blocks of docs/identity-providers.md that hold a `-- recipe: NAME` line, by name, in order."""
    with open(DOC) as f:
        text = f.read()
    found = {}
    for block in re.findall(r"^```sql\n(.*?)^```", text, flags=re.S | re.M):
        m = re.search(r"^-- recipe: (\S+)\s*$", block, flags=re.M)
        if m:
            found[m.group(1)] = block.rstrip() + "\n"
    for name in ("setup", "keycloak", "entra", "okta", "auth0", "google"):
        if name not in found:
            sys.exit(f"gen_idp_cases.py: docs/identity-providers.md has no block with '-- recipe: {name}'")
    return found


# ---------------------------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------------------------

def main() -> None:
    tokens = {}        # name -> token
    jwks = {}          # issuer -> key set

    # --- Keycloak 26: RS256 signing key and RSA-OAEP encryption key, both with certificates; kid = a 43-char id
    kc_sig, kc_enc, kc_stranger = Key("acme"), Key("acme"), Key("acme")
    kc_sig_kid, kc_enc_kid = random_kid(32), random_kid(32)
    jwks[KEYCLOAK] = {"keys": [
        {"kid": kc_enc_kid, "kty": "RSA", "alg": "RSA-OAEP", "use": "enc", "n": kc_enc.n, "e": kc_enc.e,
         "x5c": [kc_enc.x5c], "x5t": kc_enc.x5t, "x5t#S256": kc_enc.x5t256},
        {"kid": kc_sig_kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": kc_sig.n, "e": kc_sig.e,
         "x5c": [kc_sig.x5c], "x5t": kc_sig.x5t, "x5t#S256": kc_sig.x5t256},
    ]}
    kc_header = {"alg": "RS256", "typ": "JWT", "kid": kc_sig_kid}

    def keycloak(sub, username, realm_roles=(), client_roles=(), groups=None, typ="Bearer", **extra):
        claims = {
            "exp": EXP, "iat": IAT, "auth_time": IAT, "jti": "onrtac:" + random_kid(12), "iss": KEYCLOAK,
            "aud": ["litellm-proxy", "account"], "sub": sub, "typ": typ, "azp": "litellm-web",
            "sid": "2b1c9c3e-4f5a-4d6b-8c7d-9e0f1a2b3c4d", "acr": "1", "allowed-origins": ["https://chat.acme.example"],
            "realm_access": {"roles": ["offline_access", "uma_authorization", "default-roles-acme", *realm_roles]},
            "resource_access": {"litellm-proxy": {"roles": list(client_roles)},
                                "account": {"roles": ["manage-account", "view-profile"]}},
            "scope": "openid profile email", "email_verified": True, "name": username.title(),
            "preferred_username": username, "email": f"{username}@acme.example",
        }
        if groups is not None:
            claims["groups"] = groups
        claims.update(extra)
        return claims

    def kc_token(claims, key=kc_sig, header=kc_header):
        return sign(key, header, claims)

    ALICE = "8f6c2a1e-3b4d-4e5f-9a0b-1c2d3e4f5a6b"
    tokens["keycloak-alice"] = kc_token(keycloak(ALICE, "alice", ["llm-user"], groups=["/acme/research", "/acme/finance", "/staff"]))
    tokens["keycloak-admin"] = kc_token(keycloak("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "olaf", client_roles=["llm-admin"], groups=["/staff"]))
    tokens["keycloak-auditor"] = kc_token(keycloak("1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e", "ada", ["llm-auditor"]))
    tokens["keycloak-both"] = kc_token(keycloak("2c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f", "bert", ["llm-user"], ["llm-auditor"], groups=[]))
    tokens["keycloak-bob"] = kc_token(keycloak("3d4e5f6a-7b8c-4d9e-9f0a-2b3c4d5e6f7a", "bob", ["llm-user"], groups=["/acme/sales"]))
    tokens["keycloak-carol"] = kc_token(keycloak("4e5f6a7b-8c9d-4e0f-8a1b-3c4d5e6f7a8b", "carol", ["llm-user"], groups=["/guests", "/other/acme/finance"]))
    # the ID token of the same login: typ ID, a nonce, the client's audience, the same roles
    id_claims = keycloak("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "olaf", client_roles=["llm-admin"], groups=["/staff"], typ="ID",
                         nonce="n-0S6_WzA2Mj", at_hash="77QmUPtjPfzWtF2AnpK9RQ", aud="litellm-proxy", azp="litellm-proxy")
    tokens["keycloak-id-token"] = kc_token(id_claims)
    no_nonce = dict(id_claims)
    del no_nonce["nonce"]
    tokens["keycloak-id-token-no-nonce"] = kc_token(no_nonce)
    tokens["keycloak-other-realm"] = kc_token(keycloak(ALICE, "alice", ["llm-user"], iss="https://sso.acme.example/realms/other"))
    tokens["keycloak-stranger-key"] = kc_token(keycloak(ALICE, "alice", client_roles=["llm-admin"]), key=kc_stranger)
    tokens["keycloak-enc-key"] = kc_token(keycloak(ALICE, "alice", client_roles=["llm-admin"]), key=kc_enc,
                                          header={"alg": "RS256", "typ": "JWT", "kid": kc_enc_kid})

    # --- Entra ID v2.0: common keys for every tenant, x5c, no alg, kid = x5t; a second (next) key published
    en_sig, en_next = Key("login.microsoftonline.com"), Key("login.microsoftonline.com")
    jwks[ENTRA_TEMPLATE] = {"keys": [
        {"kty": "RSA", "use": "sig", "kid": k.x5t, "x5t": k.x5t, "n": k.n, "e": k.e, "x5c": [k.x5c],
         "cloud_instance_name": "microsoftonline.com", "issuer": ENTRA_TEMPLATE} for k in (en_sig, en_next)
    ]}
    en_header = {"typ": "JWT", "alg": "RS256", "kid": en_sig.x5t}

    def entra(tenant, oid, roles=None, groups=None, scp="access_as_user", iss_tenant=None, **extra):
        claims = {
            "aud": ENTRA_APP, "iss": f"https://login.microsoftonline.com/{iss_tenant or tenant}/v2.0",
            "iat": IAT, "nbf": IAT, "exp": EXP, "aio": "AVQAq/8ZAAAA" + random_kid(9), "azp": ENTRA_CLIENT,
            "azpacr": "0", "name": "Test User", "oid": oid, "preferred_username": f"user-{oid[:4]}@contoso.example",
            "rh": "0.AR8A" + random_kid(12) + ".", "sub": random_kid(32), "tid": tenant,
            "uti": random_kid(16), "ver": "2.0",
        }
        if scp is not None:
            claims["scp"] = scp
        if roles is not None:
            claims["roles"] = roles
        if groups is not None:
            claims["groups"] = groups
        claims.update(extra)
        return sign(en_sig, en_header, claims)

    tokens["entra-admin"] = entra(TENANT_A, "11111111-2222-4333-8444-555555555555", ["LiteLLM.Admin"], [GROUP_OTHER])
    tokens["entra-viewer"] = entra(TENANT_B, "22222222-3333-4444-8555-666666666666", ["LiteLLM.Viewer"], [GROUP_OTHER])
    tokens["entra-user"] = entra(TENANT_B, "33333333-4444-4555-8666-777777777777", ["LiteLLM.User"], [GROUP_FINANCE, GROUP_OTHER])
    tokens["entra-user-no-team"] = entra(TENANT_A, "44444444-5555-4666-8777-888888888888", ["LiteLLM.User"], [GROUP_OTHER])
    tokens["entra-overage"] = entra(TENANT_A, "55555555-6666-4777-8888-999999999999", ["LiteLLM.User"], None,
                                    _claim_names={"groups": "src1"},
                                    _claim_sources={"src1": {"endpoint": f"https://graph.windows.net/{TENANT_A}/users/55555555-6666-4777-8888-999999999999/getMemberObjects"}})
    tokens["entra-foreign-tenant"] = entra(TENANT_FOREIGN, "66666666-7777-4888-8999-000000000000", ["LiteLLM.Admin"], [GROUP_FINANCE])
    tokens["entra-tid-mismatch"] = entra(TENANT_FOREIGN, "66666666-7777-4888-8999-000000000000", ["LiteLLM.Admin"], iss_tenant=TENANT_A)
    # the ID token of the same app registration: app roles, no scp (require_scope refuses it)
    tokens["entra-id-token"] = entra(TENANT_A, "11111111-2222-4333-8444-555555555555", ["LiteLLM.Admin"], scp=None,
                                     email="admin@contoso.example")
    # preferred_username / email equal to a proxy admin's user id: the user id is oid, so that changes nothing
    tokens["entra-upn"] = entra(TENANT_A, "77777777-8888-4999-8aaa-bbbbbbbbbbbb", ["LiteLLM.User"],
                                preferred_username="boss@contoso.example", email="boss@contoso.example")

    # --- Okta custom authorization server: RS256 key with alg, no x5c; header {kid, alg}, no typ
    ok_key = Key("okta")
    ok_kid = random_kid(32)
    jwks[OKTA] = {"keys": [{"kty": "RSA", "alg": "RS256", "kid": ok_kid, "use": "sig", "e": ok_key.e, "n": ok_key.n}]}

    def okta(uid, login, groups, cid=OKTA_CLIENT, aud="api://litellm", **extra):
        claims = {"ver": 1, "jti": "AT." + random_kid(32), "iss": OKTA, "aud": aud, "iat": IAT, "exp": EXP,
                  "cid": cid, "uid": uid, "scp": ["openid", "email", "profile"], "auth_time": IAT, "sub": login,
                  "groups": groups}
        claims.update(extra)
        return sign(ok_key, {"kid": ok_kid, "alg": "RS256"}, claims)

    tokens["okta-viewer"] = okta("00u1viewer8dQ4", "vera@acme.example", ["Everyone", "LiteLLM-Viewers"])
    tokens["okta-admin"] = okta("00u1admin9xK2", "adam@acme.example", ["Everyone", "LiteLLM-Admins"])
    tokens["okta-research"] = okta("00u1rita3mP7", "rita@acme.example", ["Everyone", "llm-team-research"])
    tokens["okta-plain"] = okta("00u1paul5nQ8", "paul@acme.example", ["Everyone"])
    tokens["okta-other-client"] = okta("00u1paul5nQ8", "paul@acme.example", ["Everyone"], cid="0oaOtherApp1")
    tokens["okta-id-token"] = okta("00u1adam9xK2", "adam@acme.example", ["Everyone", "LiteLLM-Admins"], aud=OKTA_CLIENT,
                                   nonce="n-okta-1", amr=["pwd"], idp="00o1idp", at_hash="x1y2z3")

    # --- Auth0: RFC 9068 profile (typ at+jwt), keys with x5c, x5t and alg; a second key for rotation
    a0_key, a0_next = Key("acme.eu.auth0.com"), Key("acme.eu.auth0.com")
    a0_kids = [random_kid(16) for _ in range(2)]
    jwks[AUTH0] = {"keys": [
        {"kty": "RSA", "use": "sig", "n": k.n, "e": k.e, "kid": kid, "x5t": k.x5t, "x5c": [k.x5c], "alg": "RS256"}
        for k, kid in ((a0_key, a0_kids[0]), (a0_next, a0_kids[1]))
    ]}

    def auth0(sub, typ="at+jwt", azp=AUTH0_CLIENT, aud=None, **extra):
        claims = {"https://acme.example/email": f"{sub.split('|')[1]}@acme.example", "iss": AUTH0, "sub": sub,
                  "aud": aud or ["https://llm.acme.example", AUTH0 + "userinfo"], "iat": IAT, "exp": EXP,
                  "scope": "openid profile email", "jti": random_kid(16), "client_id": azp, "azp": azp,
                  "permissions": ["read:models"]}
        claims.update(extra)
        return sign(a0_key, {"alg": "RS256", "typ": typ, "kid": a0_kids[0]}, claims)

    tokens["auth0-admin"] = auth0("auth0|64f2a1admin", **{"https://acme.example/roles": ["gateway-admin"]})
    tokens["auth0-user"] = auth0("auth0|64f2b2user", **{"https://acme.example/team": "research"})
    tokens["auth0-typ-jwt"] = auth0("auth0|64f2b2user", typ="JWT", **{"https://acme.example/team": "research"})
    tokens["auth0-other-client"] = auth0("auth0|64f2b2user", azp="SomeOtherClient9", **{"https://acme.example/team": "research"})

    # --- Google: ID tokens only; two keys with alg, kid = 40 hex digits, no x5c
    g_key, g_next = Key("google"), Key("google")
    g_kids = [os.urandom(20).hex() for _ in range(2)]
    g_keys = [{"e": k.e, "kty": "RSA", "alg": "RS256", "n": k.n, "kid": kid, "use": "sig"}
              for k, kid in ((g_key, g_kids[0]), (g_next, g_kids[1]))]
    jwks[GOOGLE] = {"keys": g_keys}
    jwks[GOOGLE_LEGACY] = {"keys": g_keys}

    def google(sub, email, hd=None, verified=True, iss=GOOGLE, aud=GOOGLE_CLIENT):
        claims = {"iss": iss, "azp": aud, "aud": aud, "sub": sub}
        if hd is not None:
            claims["hd"] = hd
        claims.update({"email": email, "email_verified": verified, "nonce": "n-" + random_kid(9),
                       "at_hash": random_kid(16), "name": "Ann Example", "given_name": "Ann", "family_name": "Example",
                       "iat": IAT, "exp": EXP})
        return sign(g_key, {"alg": "RS256", "kid": g_kids[0], "typ": "JWT"}, claims)

    tokens["google-ann"] = google("110169484474386276334", "ann@acme.example", "acme.example")
    tokens["google-ann-legacy-iss"] = google("110169484474386276334", "ann@acme.example", "acme.example", iss=GOOGLE_LEGACY)
    tokens["google-foreign-hd"] = google("118273645509182736450", "ann@evil.example", "evil.example")
    tokens["google-consumer"] = google("104729384756102938475", "ann.example@gmail.com")
    tokens["google-unverified"] = google("110169484474386276335", "boss@acme.example", "acme.example", verified=False)
    tokens["google-other-client"] = google("110169484474386276334", "ann@acme.example", "acme.example",
                                           aud="999-other.apps.googleusercontent.com")

    # -----------------------------------------------------------------------------------------------------------
    # Expected decisions: (label, token, route, model, "allowed reason user=… team=… role=…")
    # -----------------------------------------------------------------------------------------------------------
    E = []

    def expect(label, token, route, model, outcome):
        assert token in tokens, token
        E.append((label, token, route, model, outcome))

    chat = "/chat/completions"
    # Keycloak: realm and client roles together, full-path groups under /acme/ name teams
    expect("keycloak: first team (by id) that may call the model", "keycloak-alice", chat, "gpt-4o-mini",
           f"true ok user={ALICE} team=finance role=internal_user")
    expect("keycloak: the other team for the other model", "keycloak-alice", chat, "gpt-4o",
           f"true ok user={ALICE} team=research role=internal_user")
    expect("keycloak: client role llm-admin, group /staff is no team: manages", "keycloak-admin", "/team/new", None,
           "true ok user=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d team=- role=proxy_admin")
    expect("keycloak: realm role llm-auditor reads global spend", "keycloak-auditor", "/global/spend/keys", None,
           "true ok user=1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e team=- role=proxy_admin_viewer")
    expect("keycloak: auditor cannot create teams", "keycloak-auditor", "/team/new", None,
           "false route_not_allowed user=1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e team=- role=proxy_admin_viewer")
    expect("keycloak: realm llm-user + client llm-auditor: the most privileged", "keycloak-both", "/global/spend/keys", None,
           "true ok user=2c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f team=- role=proxy_admin_viewer")
    expect("keycloak: a team group naming no team refuses an LLM call", "keycloak-bob", chat, "gpt-4o",
           "false no_team_for_model user=3d4e5f6a-7b8c-4d9e-9f0a-2b3c4d5e6f7a team=- role=internal_user")
    expect("keycloak: ... but not a route that needs no team", "keycloak-bob", "/key/generate", None,
           "true ok user=3d4e5f6a-7b8c-4d9e-9f0a-2b3c4d5e6f7a team=- role=internal_user")
    expect("keycloak: groups outside /acme/ are no teams: personal permissions", "keycloak-carol", chat, "gpt-4o",
           "true ok user=4e5f6a7b-8c9d-4e0f-8a1b-3c4d5e6f7a8b team=- role=internal_user")
    expect("keycloak: ID token (nonce) refused", "keycloak-id-token", "/team/new", None,
           "false invalid_token user=- team=- role=-")
    expect("keycloak: ID token without nonce: typ ID is not admitted", "keycloak-id-token-no-nonce", "/team/new", None,
           "false claims_not_allowed user=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d team=- role=proxy_admin")
    expect("keycloak: another realm is another issuer", "keycloak-other-realm", chat, "gpt-4o",
           "false untrusted_issuer user=- team=- role=-")
    expect("keycloak: right kid, foreign key", "keycloak-stranger-key", "/team/new", None,
           "false invalid_token user=- team=- role=-")
    expect("keycloak: the published encryption key never verifies", "keycloak-enc-key", "/team/new", None,
           "false invalid_token user=- team=- role=-")
    # Entra ID: one template row, two tenants, groups by object id, require_scope
    expect("entra: admin of tenant A manages; its group is no team", "entra-admin", "/team/new", None,
           "true ok user=11111111-2222-4333-8444-555555555555 team=- role=proxy_admin")
    expect("entra: the customer tenant B's own viewer role gives no administration", "entra-viewer", "/global/spend/keys", None,
           "false route_not_allowed user=22222222-3333-4444-8555-666666666666 team=- role=internal_user")
    expect("entra: group object id mapped to team finance", "entra-user", chat, "gpt-4o-mini",
           "true ok user=33333333-4444-4555-8666-777777777777 team=finance role=internal_user")
    expect("entra: finance may not call gpt-4o, unmapped groups do not count", "entra-user", chat, "gpt-4o",
           "false team_model_access_denied user=33333333-4444-4555-8666-777777777777 team=finance role=internal_user")
    expect("entra: no mapped group: personal permissions", "entra-user-no-team", chat, "gpt-4o",
           "true ok user=44444444-5555-4666-8777-888888888888 team=- role=internal_user")
    expect("entra: groups overage on an LLM call", "entra-overage", chat, "gpt-4o",
           "false groups_overage user=55555555-6666-4777-8888-999999999999 team=- role=internal_user")
    expect("entra: groups overage where no team is needed", "entra-overage", "/key/generate", None,
           "true ok user=55555555-6666-4777-8888-999999999999 team=- role=internal_user")
    expect("entra: a foreign tenant is untrusted", "entra-foreign-tenant", "/team/new", None,
           "false untrusted_issuer user=- team=- role=-")
    expect("entra: tid must be the tenant of iss", "entra-tid-mismatch", "/team/new", None,
           "false untrusted_issuer user=- team=- role=-")
    expect("entra: ID token (app role, no scp) refused", "entra-id-token", "/team/new", None,
           "false invalid_token user=- team=- role=-")
    expect("entra: preferred_username/email of an admin row change nothing (user id is oid)", "entra-upn", "/team/new", None,
           "false route_not_allowed user=77777777-8888-4999-8aaa-bbbbbbbbbbbb team=- role=internal_user")
    # Okta: groups give roles and (llm-team-*) teams
    expect("okta: viewer by group, no team group, reads global spend", "okta-viewer", "/global/spend/keys", None,
           "true ok user=00u1viewer8dQ4 team=- role=proxy_admin_viewer")
    expect("okta: admin by group manages", "okta-admin", "/team/new", None,
           "true ok user=00u1admin9xK2 team=- role=proxy_admin")
    expect("okta: llm-team-research is team research", "okta-research", chat, "gpt-4o",
           "true ok user=00u1rita3mP7 team=research role=internal_user")
    expect("okta: Everyone is no team: personal permissions", "okta-plain", chat, "gpt-4o",
           "true ok user=00u1paul5nQ8 team=- role=internal_user")
    expect("okta: another client application is not admitted", "okta-other-client", chat, "gpt-4o",
           "false claims_not_allowed user=00u1paul5nQ8 team=- role=internal_user")
    expect("okta: an ID token has the client's audience", "okta-id-token", "/team/new", None,
           "false audience_mismatch user=- team=- role=-")
    # Auth0: RFC 9068 access tokens only, namespaced claims
    expect("auth0: namespaced role claim", "auth0-admin", "/team/new", None,
           "true ok user=auth0|64f2a1admin team=- role=proxy_admin")
    expect("auth0: namespaced team claim", "auth0-user", chat, "gpt-4o",
           "true ok user=auth0|64f2b2user team=research role=internal_user")
    expect("auth0: typ JWT is not an RFC 9068 access token", "auth0-typ-jwt", chat, "gpt-4o",
           "false invalid_token user=- team=- role=-")
    expect("auth0: another client application is not admitted", "auth0-other-client", chat, "gpt-4o",
           "false claims_not_allowed user=auth0|64f2b2user team=- role=internal_user")
    # Google: ID tokens of verified accounts of one Workspace domain
    expect("google: the Workspace domain, verified", "google-ann", chat, "gpt-4o",
           "true ok user=110169484474386276334 team=- role=internal_user")
    expect("google: iss without https", "google-ann-legacy-iss", chat, "gpt-4o",
           "true ok user=110169484474386276334 team=- role=internal_user")
    expect("google: a foreign hd", "google-foreign-hd", chat, "gpt-4o",
           "false claims_not_allowed user=118273645509182736450 team=- role=internal_user")
    expect("google: a consumer account (no hd)", "google-consumer", chat, "gpt-4o",
           "false claims_not_allowed user=104729384756102938475 team=- role=internal_user")
    expect("google: an unverified e-mail of the domain", "google-unverified", chat, "gpt-4o",
           "false claims_not_allowed user=110169484474386276335 team=- role=internal_user")
    expect("google: another client's ID token", "google-other-client", chat, "gpt-4o",
           "false audience_mismatch user=- team=- role=-")

    write_outputs(recipes(), jwks, tokens, E)


def q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def write_outputs(recipe_sql: dict, jwks: dict, tokens: dict, expectations: list) -> None:
    generator = f"scripts/gen_idp_cases.py (PyJWT {jwt.__version__}, cryptography {cryptography.__version__})"
    jwks_updates = [f"UPDATE rbac.jwt_issuers SET jwks = {q(json.dumps(keys, separators=(',', ':')))}::jsonb WHERE issuer = {q(iss)};"
                    for iss, keys in jwks.items()]
    # --- documentation fixture
    fixture = [
        f"-- Generated by {generator}; do not edit by hand.",
        "-- Fixture of docs/identity-providers.md (`fixture=idp_tokens`): tokens in each IdP's shape in public.idp_tokens,",
        "-- and the JWKS that verifies them loaded into the recipe rows that exist so far. Run before each block that names it.",
        "CREATE TABLE IF NOT EXISTS public.idp_tokens (name text PRIMARY KEY, token text NOT NULL);",
        "GRANT SELECT ON public.idp_tokens TO PUBLIC;",
        "INSERT INTO public.idp_tokens (name, token) VALUES",
        ",\n".join(f"  ({q(name)}, {q(tok)})" for name, tok in tokens.items()),
        "ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token;",
        "SET client_min_messages = error;",
        *jwks_updates,
        "RESET client_min_messages;",
    ]
    with open(FIXTURE_OUT, "w") as f:
        f.write("\n".join(fixture) + "\n")

    # --- scenario case
    out = [
        f"-- Generated by {generator}; do not edit by hand.",
        "-- Identity providers in their real shape (issue 11): tokens signed like Keycloak, Microsoft Entra ID, Okta, Auth0",
        "-- and Google sign them (their headers, their JWKS as published, their claim layouts), against the recipes of",
        "-- docs/identity-providers.md copied verbatim. Covers admission (foreign hd, unverified e-mail, other client",
        "-- applications), ID tokens, admins and viewers whose groups name no team, groups that are not teams, full-path",
        "-- groups, several role claims, Entra tenants (template, allow-list, tid) and groups overage, rbac.jwt_inspect as",
        "-- a non-superuser, and the write-time checks of issuer rows. Runs after pg_test/helpers.sql, in the case's",
        "-- transaction.",
        "SET client_min_messages = error;   -- the recipes register issuers before loading their keys (a WARNING each)",
    ]
    for name in ("setup", "keycloak", "entra", "okta", "auth0", "google"):
        out.append(f"-- docs/identity-providers.md, recipe {name}:")
        out.append(recipe_sql[name].rstrip())
    out += jwks_updates
    out.append("RESET client_min_messages;")
    out.append("INSERT INTO rbac.users (user_id, user_role) VALUES ('boss@contoso.example', 'proxy_admin'), ('boss@acme.example', 'proxy_admin');")
    for name, tok in tokens.items():
        out.append(f"INSERT INTO pg_temp.tok VALUES ({q(name)}, {q(tok)});")
    out += [
        "CREATE FUNCTION pg_temp.idp(name text, route text, model text) RETURNS text LANGUAGE sql AS $$",
        "  SELECT format('%s %s user=%s team=%s role=%s', CASE WHEN d.allowed THEN 'true' ELSE 'false' END, d.reason,",
        "                coalesce(d.user_id, '-'), coalesce(d.team_id, '-'), coalesce(d.role, '-'))",
        "  FROM rbac.rbac_check(pg_temp.tokn(name), route, model) d",
        "$$;",
        "",
        "-- the decisions, as the proxy role",
        "SET LOCAL ROLE rbac_api;",
    ]
    for label, token, route, model, outcome in expectations:
        out.append(f"SELECT pg_temp.expect_eq({q(label)}, pg_temp.idp({q(token)}, {q(route)}, "
                   f"{q(model) if model else 'NULL'}), {q(outcome)});")
    out.append(INSPECT_AND_WRITE_CHECKS.format(
        kc_issuer=q(KEYCLOAK), entra_issuer=q(ENTRA_TEMPLATE), tenant_b=q(TENANT_B),
        kc_enc_only=q(json.dumps({"keys": [jwks[KEYCLOAK]["keys"][0]]}, separators=(",", ":"))),
        entra_kid=q(jwks[ENTRA_TEMPLATE]["keys"][0]["kid"]),
        entra_n=q(jwks[ENTRA_TEMPLATE]["keys"][0]["n"][:40])))
    with open(CASE_OUT, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"{len(tokens)} tokens, {len(expectations)} decisions -> {os.path.relpath(CASE_OUT, ROOT)} "
          f"({os.path.getsize(CASE_OUT)} bytes), {os.path.relpath(FIXTURE_OUT, ROOT)} ({os.path.getsize(FIXTURE_OUT)} bytes)")


# rbac.jwt_inspect as a non-superuser, then the write-time checks (str.format fields in braces; literal braces doubled)
INSPECT_AND_WRITE_CHECKS = """
-- rbac.jwt_inspect: proxy admins and viewers (as principals), rbac_admin; nobody else
SELECT pg_temp.expect_error('inspect: no principal', $$SELECT rbac.jwt_inspect(pg_temp.tokn('entra-user'))$$, '42501');
SELECT pg_temp.expect_eq('inspect: authenticate an internal user', (SELECT reason FROM rbac.authenticate(pg_temp.tokn('okta-plain'))), 'ok');
SELECT pg_temp.expect_error('inspect: an internal user may not', $$SELECT rbac.jwt_inspect(pg_temp.tokn('entra-user'))$$, '42501');
SELECT pg_temp.expect_eq('inspect: authenticate a viewer', (SELECT reason FROM rbac.authenticate(pg_temp.tokn('okta-viewer'))), 'ok');
CREATE TEMP TABLE inspected AS SELECT rbac.jwt_inspect(pg_temp.tokn('entra-user'), '/chat/completions', 'gpt-4o-mini') AS i;
SELECT pg_temp.expect_eq('inspect: tenant template and tenant',
  (SELECT (i -> 'issuer' ->> 'matched') || ' ' || (i -> 'issuer' ->> 'tenant') FROM inspected), 'tenant template ' || {tenant_b});
SELECT pg_temp.expect_eq('inspect: the key that verified', (SELECT i -> 'key' ->> 'kid' FROM inspected), {entra_kid});
SELECT pg_temp.expect_eq('inspect: every step passed',
  (SELECT string_agg((s ->> 'step') || '=' || (s ->> 'ok'), ' ') FROM inspected, jsonb_array_elements(i -> 'steps') s),
  'structure=true issuer=true signature=true tenant=true audience=true time=true token type=true');
SELECT pg_temp.expect_eq('inspect: groups and the teams they name',
  (SELECT string_agg(coalesce(g ->> 'team', '-'), ',') FROM inspected, jsonb_array_elements(i -> 'resolved' -> 'groups') g), 'finance,-');
SELECT pg_temp.expect_eq('inspect: the decision', (SELECT (i -> 'decision' ->> 'reason') || ' ' || (i -> 'decision' ->> 'team_id') FROM inspected), 'ok finance');
SELECT pg_temp.expect_eq('inspect: no key material, no signature',
  (SELECT position({entra_n} IN i::text) + position(split_part(pg_temp.tokn('entra-user'), '.', 3) IN i::text) FROM inspected), 0);
SELECT pg_temp.expect_eq('inspect: both role paths read (realm and client roles)',
  (SELECT string_agg((c ->> 'path') || ':' || (c ->> 'found'), ' ') FROM jsonb_array_elements(rbac.jwt_inspect(pg_temp.tokn('keycloak-both')) -> 'claims') c
   WHERE c ->> 'setting' = 'roles_claim'), 'realm_access.roles:yes resource_access.litellm-proxy.roles:yes');
SELECT pg_temp.expect_eq('inspect: overage explained',
  (SELECT (i -> 'decision' ->> 'reason') || ' ' || (i -> 'resolved' ->> 'teams_overage')
   FROM rbac.jwt_inspect(pg_temp.tokn('entra-overage'), '/chat/completions', 'gpt-4o') i), 'groups_overage true');
SELECT pg_temp.expect_eq('inspect: a foreign tenant fails at the issuer step',
  (SELECT (i -> 'refusal' ->> 'reason') || ' ' || (i -> 'steps' -> -1 ->> 'step') FROM rbac.jwt_inspect(pg_temp.tokn('entra-foreign-tenant')) i),
  'untrusted_issuer issuer');
SELECT pg_temp.expect_eq('inspect: an admin principal may too', (SELECT reason FROM rbac.authenticate(pg_temp.tokn('okta-admin'))), 'ok');
SELECT pg_temp.expect_eq('inspect: unverified e-mail warned',
  (SELECT count(*) FROM jsonb_array_elements_text(rbac.jwt_inspect(pg_temp.tokn('google-unverified')) -> 'warnings') w WHERE w LIKE 'email_verified is false%'), 1::bigint);
RESET ROLE;
SET LOCAL ROLE rbac_admin;
SELECT pg_temp.expect_eq('inspect: rbac_admin without a principal',
  (SELECT rbac.jwt_inspect(pg_temp.tokn('google-ann')) -> 'decision' ->> 'reason'), 'ok');
RESET ROLE;

-- issuer rows are checked when written (23514); an empty key set is a WARNING only
SELECT pg_temp.expect_error('only an encryption key', $$UPDATE rbac.jwt_issuers SET jwks = {kc_enc_only} WHERE issuer = {kc_issuer}$$, '23514');
SELECT pg_temp.expect_error('a private key member', $$UPDATE rbac.jwt_issuers SET jwks = jsonb_set(jwks, '{{keys,1,d}}', '"AQAB"') WHERE issuer = {kc_issuer}$$, '23514');
SELECT pg_temp.expect_error('a claim path with an empty segment', $$UPDATE rbac.jwt_issuers SET roles_claim = 'realm_access..roles' WHERE issuer = {kc_issuer}$$, '23514');
SELECT pg_temp.expect_error('a template without allowed_tenants', $$UPDATE rbac.jwt_issuers SET allowed_tenants = NULL WHERE issuer = {entra_issuer}$$, '23514');
SELECT pg_temp.expect_error('allowed_tenants on an ordinary row', $$UPDATE rbac.jwt_issuers SET allowed_tenants = ARRAY['t'] WHERE issuer = {kc_issuer}$$, '23514');
SELECT pg_temp.expect_error('{{tenantid}} in the host', $$INSERT INTO rbac.jwt_issuers (issuer, audiences, allowed_tenants) VALUES ('https://{{tenantid}}.example.test/', ARRAY['a'], ARRAY['*'])$$, '23514');
SELECT pg_temp.expect_error('group_mappings to no team', $$UPDATE rbac.jwt_issuers SET group_mappings = '{{"g": 1}}' WHERE issuer = {entra_issuer}$$, '23514');
SELECT pg_temp.expect_error('an empty team_prefix', $$UPDATE rbac.jwt_issuers SET team_prefix = '' WHERE issuer = {kc_issuer}$$, '23514');
SET LOCAL client_min_messages = error;
UPDATE rbac.jwt_issuers SET jwks = '{{"keys": []}}' WHERE issuer = {kc_issuer};
RESET client_min_messages;
SELECT pg_temp.expect_eq('an empty key set is accepted (and verifies nothing)', pg_temp.idp('keycloak-alice', '/chat/completions', 'gpt-4o'),
  'false invalid_token user=- team=- role=-');
"""


if __name__ == "__main__":
    sys.exit(main())
