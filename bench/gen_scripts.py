#!/usr/bin/env python3
"""Writes the JWT pieces of the benchmark into OUT_DIR, from src/auth/jwt_test_vectors.json
(scripts/gen_jwt_cases.py: one issuer with a key per algorithm, valid tokens expiring in 2100).

  OUT_DIR/jwt_issuer.sql    the issuer row (https://algs.example.test, audience pg-rbac-tests) and an
                            rbac.users row (internal_user) for the subject of every benchmark token
  OUT_DIR/jwt_<ALG>.sql     a one-statement pgbench script: rbac_check with that algorithm's valid token
  OUT_DIR/jwt_preflight.sql one row per algorithm (alg, allowed, reason) to assert before timing anything

pgbench's \\set only takes numbers, so each token is written into its script file.

Usage: gen_scripts.py VECTORS_JSON OUT_DIR ALG [ALG ...]
"""
import json
import os
import sys

ROUTE = "/chat/completions"
MODEL = "gpt-4o"


def q(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    vectors, out, algs = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(vectors) as f:
        d = json.load(f)
    issuer = d["issuers"][0]
    valid = {}
    for c in d["cases"]:
        # "<ALG>_valid": signed with the issuer's key for ALG, kid set, aud/exp fine
        if c["name"] == "%s_valid" % c["alg"] and c["expect"] == "Ok":
            valid[c["alg"]] = c
    missing = [a for a in algs if a not in valid]
    if missing:
        print("gen_scripts: no valid token for %s in %s (have %s)" % (missing, vectors, sorted(valid)),
              file=sys.stderr)
        return 1
    for c in [valid[a] for a in algs]:
        if c["token"].count(".") != 2:
            print("gen_scripts: %s token is not a compact JWS" % c["name"], file=sys.stderr)
            return 1

    os.makedirs(out, exist_ok=True)
    cols = [k for k in issuer.keys()]
    with open(os.path.join(out, "jwt_issuer.sql"), "w") as f:
        f.write("-- benchmark JWT issuer, from %s (%s)\n" % (os.path.basename(vectors), d.get("generated_by", "")))
        f.write("INSERT INTO rbac.jwt_issuers (%s)\nSELECT %s FROM jsonb_populate_record(NULL::rbac.jwt_issuers, %s::jsonb);\n"
                % (", ".join(cols), ", ".join(cols), q(json.dumps(issuer))))
        users = sorted({valid[a]["user_id"] for a in algs if valid[a].get("user_id")})
        if users:
            f.write("INSERT INTO rbac.users (user_id, user_role) VALUES %s;\n"
                    % ", ".join("(%s, 'internal_user')" % q(u) for u in users))
    for a in algs:
        with open(os.path.join(out, "jwt_%s.sql" % a), "w") as f:
            f.write("SELECT * FROM rbac.rbac_check(%s, %s, %s);\n" % (q(valid[a]["token"]), q(ROUTE), q(MODEL)))
    with open(os.path.join(out, "jwt_preflight.sql"), "w") as f:
        f.write("\n UNION ALL\n".join(
            "SELECT %s AS alg, allowed, reason, role, user_id FROM rbac.rbac_check(%s, %s, %s)"
            % (q(a), q(valid[a]["token"]), q(ROUTE), q(MODEL)) for a in algs) + ";\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
