#!/usr/bin/env python3
"""Generates JWT test vectors for every JWS algorithm pg_rbac supports, signed by an independent implementation
(PyJWT + cryptography), with fresh keys on every run.

Outputs (paths relative to the repository root):
  src/auth/jwt_test_vectors.json   issuer rows (as to_jsonb(rbac.jwt_issuers row) would give them) and tokens
                                   with the expected outcome; read by the unit tests of src/auth/jwt.rs
                                   through include_str!.
  pg_test/cases/jwt_algorithms.sql a scenario in the style of the shared cases (05_jwt.sql): it runs in a
                                   transaction after pg_test/helpers.sql and pg_test/fixtures/jwt_fixtures.sql and uses
                                   pg_temp.tok / pg_temp.expect_check / pg_temp.expect_eq.

Usage:  pip install pyjwt cryptography && python3 scripts/gen_jwt_cases.py
Supported algorithms: RS256/384/512, PS256/384/512, ES256/384, EdDSA, HS256/384/512. ES512 (P-521) is generated
only as a token that must be refused (jsonwebtoken has no P-521).
"""
import base64
import hashlib
import hmac
import json
import os
import sys

import cryptography
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JSON_OUT = os.path.join(ROOT, "src", "auth", "jwt_test_vectors.json")
SQL_OUT = os.path.join(ROOT, "pg_test", "cases", "jwt_algorithms.sql")

NOW = 1_800_000_000          # "now" of the Rust unit tests (2027-01-15); the SQL runs at the real clock
IAT = 1_764_000_000
EXP = 4_102_444_800          # 2100-01-01: valid for both clocks
EXPIRED = 1_577_836_800      # 2020-01-01: expired for both clocks
NBF_FUTURE = 4_102_444_790   # not yet valid for both clocks
AUD = "pg-rbac-tests"

ALGS_ISS = "https://algs.example.test"
NOALG_ISS = "https://algs-noalg.example.test"
LEEWAY_ISS = "https://algs-leeway.example.test"
EVIL_ISS = "https://evil.example.test"

RSA_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
ALL_ALGS = RSA_ALGS + ["ES256", "ES384", "EdDSA", "HS256", "HS384", "HS512"]
PYJWT_ALGS = get_default_algorithms()


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_b64u(n: int) -> str:
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def compact_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------------------------

def new_private_key(alg: str):
    if alg.startswith(("RS", "PS")):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    if alg == "ES512":
        return ec.generate_private_key(ec.SECP521R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg.startswith("HS"):
        return os.urandom({"HS256": 32, "HS384": 48, "HS512": 64}[alg])
    raise ValueError(alg)


def public_jwk(key, kid=None, alg=None, use="sig") -> dict:
    """The public JWK (RFC 7517/7518/8037) of a private key, built from the key's numbers."""
    if isinstance(key, bytes):
        jwk = {"kty": "oct", "k": b64u(key)}
    elif isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        jwk = {"kty": "RSA", "n": int_b64u(numbers.n), "e": int_b64u(numbers.e)}
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = key.public_key().public_numbers()
        crv, size = {"secp256r1": ("P-256", 32), "secp384r1": ("P-384", 48), "secp521r1": ("P-521", 66)}[key.curve.name]
        jwk = {"kty": "EC", "crv": crv, "x": b64u(numbers.x.to_bytes(size, "big")), "y": b64u(numbers.y.to_bytes(size, "big"))}
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}
    else:
        raise TypeError(type(key))
    if kid is not None:
        jwk["kid"] = kid
    if alg is not None:
        jwk["alg"] = alg
    if use is not None:
        jwk["use"] = use
    return jwk


def claims(iss=ALGS_ISS, sub="user", **extra) -> dict:
    c = {"iss": iss, "aud": AUD, "iat": IAT, "exp": EXP, "sub": sub}
    for k, v in list(extra.items()) + [("iss", iss)]:
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def sign(alg: str, key, payload: dict, kid=None) -> str:
    """A token signed by PyJWT's encode (the normal path)."""
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def sign_raw(alg: str, key, header: dict, payload) -> str:
    """A token with exactly this header/payload (for odd shapes PyJWT's encode would refuse), signed by PyJWT's
    algorithm object for `alg`."""
    signing_input = b64u(compact_json(header)).encode() + b"." + b64u(
        payload if isinstance(payload, bytes) else compact_json(payload)).encode()
    algorithm = PYJWT_ALGS[alg]
    sig = algorithm.sign(signing_input, algorithm.prepare_key(key))
    return signing_input.decode() + "." + b64u(sig)


def hs256_with_secret(secret: bytes, header: dict, payload: dict) -> str:
    """HMAC-SHA256 with an arbitrary secret, e.g. an RSA public key's PEM (PyJWT refuses PEM secrets, which is
    the point of the algorithm-confusion attack this builds)."""
    signing_input = b64u(compact_json(header)) + "." + b64u(compact_json(payload))
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64u(mac)


def tamper(token: str, **changes) -> str:
    """Replaces claims of the payload and keeps the original signature."""
    h, p, s = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    payload.update(changes)
    return h + "." + b64u(compact_json(payload)) + "." + s


def issuer_row(issuer: str, keys: list, leeway: int = 0) -> dict:
    """What to_jsonb(row) gives for a row inserted with (issuer, jwks, audiences, leeway_seconds, user_id_claim)
    and every other column at its default (sql/001_schema.sql)."""
    return {
        "issuer": issuer,
        "jwks": {"keys": keys},
        "audiences": [AUD],
        "leeway_seconds": leeway,
        "user_id_claim": "sub",
        "user_email_claim": "email",
        "team_id_claim": None,
        "team_ids_claim": None,
        "org_id_claim": None,
        "end_user_id_claim": None,
        "roles_claim": None,
        "scope_claim": "scope",
        "role_mappings": [],
        "admin_scope": None,
        "enforce_rbac": False,
        "admin_allowed_routes": ["management_routes", "spend_tracking_routes", "global_spend_tracking_routes", "info_routes"],
    }


# ---------------------------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------------------------

REASON = {"Ok": "ok", "Malformed": "invalid_token", "BadSignature": "invalid_token", "UntrustedIssuer": "untrusted_issuer",
          "AudienceMismatch": "audience_mismatch", "Expired": "token_expired", "NotYetValid": "token_not_yet_valid"}


def main() -> None:
    cases = []

    def case(name, alg, token, expect, desc, user_id=None, sql=True):
        assert expect in REASON, expect
        c = {"name": name, "alg": alg, "description": desc, "token": token, "expect": expect, "reason": REASON[expect], "sql": sql}
        if user_id is not None:
            c["user_id"] = user_id
        cases.append(c)

    # Issuer 1: one key per algorithm, each JWK with its `alg` (so the key alone decides the algorithm).
    keys = {alg: new_private_key(alg) for alg in ALL_ALGS}
    algs_jwks = [public_jwk(keys[alg], kid=alg.lower(), alg=alg) for alg in ALL_ALGS]
    # Keys that must never verify: an encryption key, an HS256 secret shorter than RFC 7518 §3.2 allows, and a
    # P-521 key (ES512 is unsupported).
    enc_key = new_private_key("RS256")
    short_secret = os.urandom(16)
    es512_key = new_private_key("ES512")
    algs_jwks.append(public_jwk(enc_key, kid="rs-enc", alg="RSA-OAEP", use="enc"))
    algs_jwks.append(public_jwk(short_secret, kid="hs-short", alg="HS256"))
    algs_jwks.append(public_jwk(es512_key, kid="es512", alg="ES512"))

    # Issuer 2: JWKs without `alg`: the algorithm family comes from kty/crv.
    noalg = {"rsa": new_private_key("RS256"), "p256": new_private_key("ES256"), "p384": new_private_key("ES384"),
             "ed": new_private_key("EdDSA"), "oct": new_private_key("HS512")}
    noalg_jwks = [public_jwk(k, kid=kid) for kid, k in noalg.items()]

    # Issuer 3: 60 s leeway (cases relative to the unit tests' NOW only).
    leeway_key = new_private_key("ES256")
    leeway_jwks = [public_jwk(leeway_key, kid="es256", alg="ES256")]

    issuers = [issuer_row(ALGS_ISS, algs_jwks), issuer_row(NOALG_ISS, noalg_jwks), issuer_row(LEEWAY_ISS, leeway_jwks, leeway=60)]

    # Every algorithm: valid, tampered payload, expired.
    for alg in ALL_ALGS:
        kid = alg.lower()
        user = f"user-{kid}"
        valid = sign(alg, keys[alg], claims(sub=user), kid=kid)
        case(f"{alg}_valid", alg, valid, "Ok", f"{alg} token signed with its key", user_id=user)
        case(f"{alg}_tampered", alg, tamper(valid, sub="admin-1", scope="litellm_proxy_admin"), "BadSignature",
             f"{alg} token whose payload was changed after signing")
        # (in the SQL only for some algorithms, to keep the file small: expiry is checked after the signature)
        case(f"{alg}_expired", alg, sign(alg, keys[alg], claims(sub=user, exp=EXPIRED), kid=kid), "Expired",
             f"{alg} token with exp in 2020", sql=alg in ("RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256", "HS512"))

    rs = keys["RS256"]
    # Time claims and audience.
    case("RS256_nbf_future", "RS256", sign("RS256", rs, claims(sub="user-nbf", nbf=NBF_FUTURE), kid="rs256"), "NotYetValid", "nbf in 2099")
    case("ES256_nbf_future", "ES256", sign("ES256", keys["ES256"], claims(sub="user-nbf", nbf=NBF_FUTURE), kid="es256"), "NotYetValid", "nbf in 2099")
    case("EdDSA_nbf_past", "EdDSA", sign("EdDSA", keys["EdDSA"], claims(sub="user-nbf-past", nbf=IAT), kid="eddsa"), "Ok", "nbf in the past", user_id="user-nbf-past")
    case("RS384_wrong_aud", "RS384", sign("RS384", keys["RS384"], claims(aud="some-other-app"), kid="rs384"), "AudienceMismatch", "aud names another application")
    case("HS256_wrong_aud", "HS256", sign("HS256", keys["HS256"], claims(aud="some-other-app"), kid="hs256"), "AudienceMismatch", "aud names another application")
    case("PS384_aud_list", "PS384", sign("PS384", keys["PS384"], claims(sub="user-aud-list", aud=["account", AUD]), kid="ps384"), "Ok", "aud list containing ours", user_id="user-aud-list")
    case("ES256_no_aud", "ES256", sign("ES256", keys["ES256"], claims(aud=None), kid="es256"), "AudienceMismatch", "no aud claim")
    case("ES384_aud_number", "ES384", sign_raw("ES384", keys["ES384"], {"alg": "ES384", "kid": "es384"}, claims(aud=42)), "AudienceMismatch", "aud is a number")
    case("RS256_missing_exp", "RS256", sign("RS256", rs, claims(exp=None), kid="rs256"), "Malformed", "no exp claim")
    case("RS256_exp_string", "RS256", sign_raw("RS256", rs, {"alg": "RS256", "kid": "rs256"}, claims(exp=str(EXP))), "Malformed", "exp is a string")
    case("ES256_exp_float", "ES256", sign_raw("ES256", keys["ES256"], {"alg": "ES256", "kid": "es256"}, claims(sub="user-exp-float", exp=EXP + 0.5)), "Ok", "exp is a fractional NumericDate", user_id="user-exp-float")

    # Key selection: no kid, unknown kid, kid of a key of another algorithm.
    for alg in ["RS512", "PS256", "ES384", "EdDSA", "HS384"]:
        user = f"user-{alg.lower()}-nokid"
        case(f"{alg}_no_kid", alg, sign(alg, keys[alg], claims(sub=user)), "Ok", f"{alg} token without kid: the key whose alg matches", user_id=user)
    case("RS256_unknown_kid", "RS256", sign("RS256", rs, claims(), kid="nope"), "BadSignature", "kid not in the JWKS")
    case("RS256_kid_not_string", "RS256", sign_raw("RS256", rs, {"alg": "RS256", "kid": 7}, claims()), "Malformed", "kid is a number")
    case("PS256_with_RS256_key", "PS256", sign("PS256", rs, claims(), kid="rs256"), "BadSignature", "the JWK says RS256: PS256 with the same RSA key is refused")
    case("ES256_kid_of_ES384_key", "ES256", sign("ES256", keys["ES256"], claims(), kid="es384"), "BadSignature", "header alg differs from the named key's alg")
    case("RS256_signed_by_stranger", "RS256", sign("RS256", new_private_key("RS256"), claims(sub="admin-1"), kid="rs256"), "BadSignature", "right kid, foreign key")
    case("RS256_key_of_other_issuer", "RS256", sign("RS256", noalg["rsa"], claims(), kid="rsa"), "BadSignature", "kid and key of another trusted issuer")
    case("RSA_OAEP_key", "RS256", sign("RS256", enc_key, claims(), kid="rs-enc"), "BadSignature", "signed with a key published for encryption (use=enc)")
    case("HS256_short_secret", "HS256", sign_raw("HS256", short_secret, {"alg": "HS256", "kid": "hs-short"}, claims()), "BadSignature", "HS256 secret shorter than 32 bytes is not a usable key")
    case("ES512_unsupported", "ES512", sign("ES512", es512_key, claims(), kid="es512"), "BadSignature", "ES512 (P-521) is not supported")

    # Attacks on the header.
    payload = claims(sub="admin-1", scope="litellm_proxy_admin")
    case("alg_none", "none", b64u(compact_json({"alg": "none", "typ": "JWT"})) + "." + b64u(compact_json(payload)) + ".", "Malformed", "unsecured JWS")
    case("alg_None_with_signature", "none", b64u(compact_json({"alg": "None", "kid": "rs256"})) + "." + b64u(compact_json(payload)) + ".AAAA", "Malformed", "alg None (any case) with a signature part")
    rs_pem = rs.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    case("alg_confusion_kid", "HS256", hs256_with_secret(rs_pem, {"alg": "HS256", "typ": "JWT", "kid": "rs256"}, payload), "BadSignature", "HS256 keyed with the RS256 public key PEM, kid of the RSA key")
    case("alg_confusion_no_kid", "HS256", hs256_with_secret(rs_pem, {"alg": "HS256", "typ": "JWT"}, payload), "BadSignature", "HS256 keyed with the RS256 public key PEM, no kid")
    es_pem = keys["ES256"].public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    case("alg_confusion_ec_pem", "HS256", hs256_with_secret(es_pem, {"alg": "HS256", "kid": "es256"}, payload), "BadSignature", "HS256 keyed with the ES256 public key PEM")
    case("crit_header", "RS256", sign_raw("RS256", rs, {"alg": "RS256", "kid": "rs256", "crit": ["exp"], "exp": EXP}, claims()), "Malformed", "unsupported critical header")

    # Issuers.
    case("untrusted_issuer", "RS256", sign("RS256", rs, claims(iss=EVIL_ISS, sub="admin-1", scope="litellm_proxy_admin"), kid="rs256"), "UntrustedIssuer", "iss not in rbac.jwt_issuers")
    case("no_issuer", "RS256", sign("RS256", rs, claims(iss=None), kid="rs256"), "UntrustedIssuer", "no iss claim")

    # Keys without `alg`: family from kty/crv.
    case("noalg_RS384", "RS384", sign("RS384", noalg["rsa"], claims(iss=NOALG_ISS, sub="user-noalg-rs384"), kid="rsa"), "Ok", "RSA JWK without alg allows RS384", user_id="user-noalg-rs384")
    case("noalg_PS512_no_kid", "PS512", sign("PS512", noalg["rsa"], claims(iss=NOALG_ISS, sub="user-noalg-ps512")), "Ok", "RSA JWK without alg allows PS512, no kid", user_id="user-noalg-ps512")
    case("noalg_ES256", "ES256", sign("ES256", noalg["p256"], claims(iss=NOALG_ISS, sub="user-noalg-es256"), kid="p256"), "Ok", "P-256 JWK without alg: ES256", user_id="user-noalg-es256")
    case("noalg_ES384_no_kid", "ES384", sign("ES384", noalg["p384"], claims(iss=NOALG_ISS, sub="user-noalg-es384")), "Ok", "P-384 JWK without alg: ES384, no kid", user_id="user-noalg-es384")
    case("noalg_EdDSA", "EdDSA", sign("EdDSA", noalg["ed"], claims(iss=NOALG_ISS, sub="user-noalg-eddsa"), kid="ed"), "Ok", "Ed25519 JWK without alg: EdDSA", user_id="user-noalg-eddsa")
    case("noalg_HS384", "HS384", sign("HS384", noalg["oct"], claims(iss=NOALG_ISS, sub="user-noalg-hs384"), kid="oct"), "Ok", "oct JWK (64 bytes) without alg allows HS384", user_id="user-noalg-hs384")
    case("noalg_HS512_no_kid", "HS512", sign("HS512", noalg["oct"], claims(iss=NOALG_ISS, sub="user-noalg-hs512")), "Ok", "oct JWK without alg allows HS512, no kid", user_id="user-noalg-hs512")
    case("noalg_ES256_kid_of_P384", "ES256", sign("ES256", noalg["p256"], claims(iss=NOALG_ISS), kid="p384"), "BadSignature", "ES256 naming the P-384 key")
    case("noalg_HS256_with_RSA_kid", "HS256", hs256_with_secret(
        noalg["rsa"].public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        {"alg": "HS256", "kid": "rsa"}, claims(iss=NOALG_ISS)), "BadSignature", "RSA JWK without alg never allows HS*")

    # Leeway (relative to the unit tests' clock; not in the SQL, which runs at the real clock).
    def lw(name, expect, desc, **c):
        case(name, "ES256", sign("ES256", leeway_key, claims(iss=LEEWAY_ISS, sub=f"user-{name}", **c), kid="es256"), expect, desc,
             user_id=f"user-{name}" if expect == "Ok" else None, sql=False)
    lw("leeway_exp_59s_ago", "Ok", "exp 59 s before now, leeway 60", exp=NOW - 59)
    lw("leeway_exp_60s_ago", "Expired", "exp 60 s before now, leeway 60: now >= exp + leeway", exp=NOW - 60)
    lw("leeway_nbf_in_60s", "Ok", "nbf 60 s after now, leeway 60", nbf=NOW + 60)
    lw("leeway_nbf_in_61s", "NotYetValid", "nbf 61 s after now, leeway 60", nbf=NOW + 61)

    ok_algs = {c["alg"] for c in cases if c["expect"] == "Ok"}
    assert ok_algs >= set(ALL_ALGS), set(ALL_ALGS) - ok_algs

    generator = f"scripts/gen_jwt_cases.py (PyJWT {jwt.__version__}, cryptography {cryptography.__version__})"
    doc = {
        "generated_by": generator,
        "now": NOW,
        "audience": AUD,
        "supported_algorithms": ALL_ALGS,
        "issuers": issuers,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(JSON_OUT), exist_ok=True)
    with open(JSON_OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")

    def q(s: str) -> str:
        return "'" + s.replace("'", "''") + "'"

    lines = [
        f"-- Generated by {generator}; do not edit by hand.",
        "-- JWT: every supported JWS algorithm (RS/PS 256-512, ES256/384, EdDSA, HS256-512) signed by an independent",
        "-- implementation with fresh keys, and the attacks that must fail (tampering, alg none, RS->HS confusion,",
        "-- foreign keys, key/alg mismatch, encryption keys, short HMAC secrets, ES512), time claims and audience.",
        "-- Runs after pg_test/helpers.sql and pg_test/fixtures/jwt_fixtures.sql, in the transaction of the case.",
        "INSERT INTO rbac.models(model_name, provider) VALUES ('gpt-4o', 'openai') ON CONFLICT (model_name) DO NOTHING;",
    ]
    for row in issuers:
        lines.append("INSERT INTO rbac.jwt_issuers(issuer, jwks, audiences, leeway_seconds, user_id_claim)")
        lines.append(f"VALUES ({q(row['issuer'])}, {q(json.dumps(row['jwks'], separators=(',', ':')))}::jsonb, "
                     f"ARRAY[{q(AUD)}], {row['leeway_seconds']}, 'sub');")
    sql_cases = [c for c in cases if c["sql"]]
    for c in sql_cases:
        lines.append(f"INSERT INTO pg_temp.tok VALUES ({q('alg_' + c['name'])}, {q(c['token'])});")
    lines.append("")
    for c in sql_cases:
        allowed = "true" if c["expect"] == "Ok" else "false"
        label = f"{c['name']}: {c['description']}"
        lines.append(f"SELECT pg_temp.expect_check({q(label)}, pg_temp.tokn({q('alg_' + c['name'])}), "
                     f"'/chat/completions', 'gpt-4o', {allowed}, {q(c['reason'])});")
        if c["expect"] == "Ok" and "user_id" in c:
            lines.append(f"SELECT pg_temp.expect_eq({q(c['name'] + ' user id')}, (SELECT user_id FROM rbac.rbac_check("
                         f"pg_temp.tokn({q('alg_' + c['name'])}), '/chat/completions', 'gpt-4o')), {q(c['user_id'])});")
    os.makedirs(os.path.dirname(SQL_OUT), exist_ok=True)
    with open(SQL_OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(cases)} cases ({len(sql_cases)} in SQL) -> {os.path.relpath(JSON_OUT, ROOT)} "
          f"({os.path.getsize(JSON_OUT)} bytes), {os.path.relpath(SQL_OUT, ROOT)} ({os.path.getsize(SQL_OUT)} bytes)")


if __name__ == "__main__":
    sys.exit(main())
