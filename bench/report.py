#!/usr/bin/env python3
"""Results bookkeeping and the Markdown report of the pg_rbac benchmark suite (bench/run.sh).

Every fact goes into one JSON-lines file (one object per line, field "type"):
  record  one pgbench run: section, key, label, clients, TPS, mean latency (pgbench's summary), p99 latency
          (computed here from pgbench -l per-transaction logs: 3rd column, microseconds), transaction count
  check   an exactness assertion made by run.sh (expected vs actual)
  meta    a key/value fact about the machine, build or settings

Subcommands:
  report.py record --results F --section S --key K --label L --clients N --stdout OUT --logs DIR --rc RC
  report.py check  --results F --section S --name TEXT --expected X --actual Y
  report.py meta   --results F KEY VALUE
  report.py p99    DIR                      print the p99 latency (ms) of the pgbench logs in DIR
  report.py render --results F --out report.md
"""
import argparse
import glob
import json
import math
import os
import re
import sys

# Sections, in report order, with the text shown above each table.
SECTIONS = [
    ("main", "Authorization and quota workloads",
     "One statement per transaction. Ratio = workload TPS / `SELECT 1` TPS at the same client count in this "
     "section (1.00 would mean pg_rbac adds nothing over a round trip)."),
    ("jwt", "JWT verification cost per algorithm",
     "`rbac_check` with a JWT of each algorithm. *cached*: the backend's verified-token cache holds the token "
     "after its first use; *uncached*: `rbac.jwt_cache_size = 0`, every call parses the JWKS key and verifies "
     "the signature."),
    ("policy", "Policy size",
     "`rbac_check` with a random key out of all keys (`\\set k random(1, N)`), every key in a team, organization "
     "and with a user and team membership. The cost of a check should not grow with the number of keys."),
]

# PASS/MISS goals: (description, section, key, clients, minimum ratio to SELECT 1)
GOALS = [
    ("rbac_check, virtual key", "main", "vk", 8, 0.7),
    ("rbac_check, RS256 JWT seen before (cached)", "main", "jwt_rs256_cached", 8, 0.7),
    ("rbac_check, HS256 JWT seen before (cached)", "main", "jwt_hs256_cached", 8, 0.7),
    ("rbac_check, fresh RS256 JWT (signature verified every call)", "main", "jwt_rs256_fresh", 8, 0.3),
    ("consume_quota, one hot key", "main", "cq_hot", 16, 0.3),
]
POLICY_FLATNESS = 0.8   # largest-policy ratio / smallest-policy ratio must stay >= this (noise margin)
LITELLM_AUTH_MS = 3.0
BUSY_WARN = 15          # % CPU used by other processes (idle samples) above which the report warns   # LiteLLM's published auth overhead per request (~3 ms)


def append(path, obj):
    with open(path, "a") as f:
        f.write(json.dumps(obj) + "\n")


def load(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    return out


def log_latencies_us(log_dir):
    """Per-transaction latencies (microseconds) from every pgbench -l file in log_dir."""
    lat = []
    for path in glob.glob(os.path.join(log_dir, "*")):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    try:
                        lat.append(int(parts[2]))
                    except ValueError:
                        pass
    return lat


def percentile(values, q):
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(s)))
    return s[rank - 1]


def parse_pgbench(text):
    def grab(pattern, conv=float):
        m = re.search(pattern, text, re.M)
        return conv(m.group(1)) if m else None
    return {
        "tps": grab(r"^tps = ([0-9.]+) \(without initial connection time\)"),
        "mean_ms": grab(r"^latency average = ([0-9.]+) ms"),
        "txns": grab(r"^number of transactions actually processed: (\d+)", int),
        "failed": grab(r"^number of failed transactions: (\d+)", int),
    }


def cmd_record(a):
    with open(a.stdout, errors="replace") as f:
        text = f.read()
    rec = {"type": "record", "section": a.section, "key": a.key, "label": a.label, "clients": a.clients,
           "rc": a.rc}
    rec.update(parse_pgbench(text))
    lat = log_latencies_us(a.logs) if a.logs else []
    rec["logged"] = len(lat)
    rec["p99_ms"] = percentile(lat, 99) / 1000.0 if lat else None
    errors = [l.strip() for l in text.splitlines()
              if re.search(r"ERROR|FATAL|aborted|error:|PANIC", l)]
    if a.rc != 0 or rec["tps"] is None or (rec["failed"] or 0) > 0:
        rec["error"] = (errors[:3] or text.strip().splitlines()[-3:] or ["pgbench exit code %d" % a.rc])
    append(a.results, rec)
    tps = "%.0f" % rec["tps"] if rec["tps"] is not None else "-"
    p99 = "%.3f" % rec["p99_ms"] if rec["p99_ms"] is not None else "-"
    mean = "%.3f" % rec["mean_ms"] if rec["mean_ms"] is not None else "-"
    status = "" if "error" not in rec else "  FAILED: " + " | ".join(rec["error"])
    print("  %-7s %-44s c=%-3d tps=%-9s mean=%-8s p99=%-8s ms%s" % (a.section, a.label, a.clients, tps, mean, p99,
                                                                     status), flush=True)
    return 0


def cmd_check(a):
    ok = str(a.expected).strip() == str(a.actual).strip()
    append(a.results, {"type": "check", "section": a.section, "name": a.name, "expected": a.expected.strip(),
                       "actual": a.actual.strip(), "ok": ok})
    print("  check %-4s %s: expected %s, got %s" % ("ok" if ok else "FAIL", a.name, a.expected.strip(),
                                                  a.actual.strip()), flush=True)
    return 0


def cmd_meta(a):
    append(a.results, {"type": "meta", "key": a.key, "value": a.value})
    return 0


def cmd_p99(a):
    lat = log_latencies_us(a.dir)
    if not lat:
        print("no transactions logged", file=sys.stderr)
        return 1
    print("%.3f" % (percentile(lat, 99) / 1000.0))
    return 0


# ---------------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------------

def fmt(v, spec):
    return "-" if v is None else spec % v


def baseline(records, section, clients):
    for r in records:
        if r["section"] == section and r["key"] == "select1" and r["clients"] == clients and r.get("tps"):
            return r
    return None


def ratio(records, r):
    b = baseline(records, r["section"], r["clients"])
    if b is None or not r.get("tps") or "error" in r:
        return None
    return r["tps"] / b["tps"]


def find(records, section, key, clients=None):
    for r in records:
        if r["section"] == section and r["key"] == key and (clients is None or r["clients"] == clients):
            return r
    return None


def result_table(records, section):
    rows = [r for r in records if r["section"] == section]
    if not rows:
        return ["_(not run)_", ""]
    out = ["| workload | clients | TPS | mean ms | p99 ms | ratio to SELECT 1 |",
           "|---|---:|---:|---:|---:|---:|"]
    # group by client count (runs are made client count by client count), workloads in run order
    for clients in sorted({r["clients"] for r in rows}):
        for r in rows:
            if r["clients"] != clients:
                continue
            if "error" in r:
                out.append("| %s | %d | **FAILED** | | | %s |" % (r["label"], clients,
                                                                  " / ".join(r["error"]).replace("|", "\\|")))
                continue
            rt = ratio(records, r)
            out.append("| %s | %d | %s | %s | %s | %s |" % (
                r["label"], clients, fmt(r["tps"], "%.0f"), fmt(r["mean_ms"], "%.3f"), fmt(r["p99_ms"], "%.3f"),
                fmt(rt, "%.2f")))
    out.append("")
    return out


def jwt_table(records):
    rows = [r for r in records if r["section"] == "jwt" and r["key"] != "select1"]
    if not rows:
        return ["_(not run)_", ""]
    algs = []
    for r in rows:
        alg = r["key"].split("_")[1]
        if alg not in algs:
            algs.append(alg)
    clients = rows[0]["clients"]
    b = baseline(records, "jwt", clients)
    out = ["`SELECT 1` at %d clients: %s TPS, mean %s ms, p99 %s ms." % (
        clients, fmt(b and b["tps"], "%.0f"), fmt(b and b["mean_ms"], "%.3f"), fmt(b and b["p99_ms"], "%.3f")), "",
           "| algorithm | clients | cached TPS | cached mean ms | cached p99 ms | cached ratio "
           "| uncached TPS | uncached mean ms | uncached p99 ms | uncached ratio | verify cost ms (uncached - cached mean) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for alg in algs:
        c = find(records, "jwt", "jwt_%s_cached" % alg, clients)
        u = find(records, "jwt", "jwt_%s_uncached" % alg, clients)
        cells = [alg, str(clients)]
        for r in (c, u):
            if r is None or "error" in r:
                cells += ["FAILED" if r else "-", "", "", ""]
            else:
                cells += [fmt(r["tps"], "%.0f"), fmt(r["mean_ms"], "%.3f"), fmt(r["p99_ms"], "%.3f"),
                          fmt(ratio(records, r), "%.2f")]
        diff = None
        if c and u and c.get("mean_ms") is not None and u.get("mean_ms") is not None:
            diff = u["mean_ms"] - c["mean_ms"]
        cells.append(fmt(diff, "%.3f"))
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return out


def policy_table(records):
    rows = [r for r in records if r["section"] == "policy" and r["key"] != "select1"]
    if not rows:
        return ["_(not run)_", ""], None
    b = baseline(records, "policy", rows[0]["clients"])
    out = ["`SELECT 1` at %d clients: %s TPS, mean %s ms, p99 %s ms." % (
        rows[0]["clients"], fmt(b and b["tps"], "%.0f"), fmt(b and b["mean_ms"], "%.3f"),
        fmt(b and b["p99_ms"], "%.3f")), ""]
    header = "| | " + " | ".join(r["label"] for r in rows) + " |"
    out += [header, "|---|" + "---:|" * len(rows)]
    out.append("| clients | " + " | ".join(str(r["clients"]) for r in rows) + " |")
    out.append("| TPS | " + " | ".join("FAILED" if "error" in r else fmt(r["tps"], "%.0f") for r in rows) + " |")
    out.append("| mean ms | " + " | ".join(fmt(r.get("mean_ms"), "%.3f") for r in rows) + " |")
    out.append("| p99 ms | " + " | ".join(fmt(r.get("p99_ms"), "%.3f") for r in rows) + " |")
    ratios = [ratio(records, r) for r in rows]
    out.append("| **ratio to SELECT 1** | " + " | ".join("**%s**" % fmt(x, "%.2f") for x in ratios) + " |")
    out.append("")
    flat = None
    if len(ratios) >= 2 and ratios[0] and ratios[-1]:
        flat = ratios[-1] / ratios[0]
        out.append("Largest / smallest policy ratio: %.2f (1.00 = no growth)." % flat)
        out.append("")
    errs = [r for r in rows if "error" in r]
    for r in errs:
        out.append("- %s failed: %s" % (r["label"], " / ".join(r["error"])))
    return out, (flat, rows[0]["label"], rows[-1]["label"])


def render(a):
    data = load(a.results)
    records = [d for d in data if d["type"] == "record"]
    checks = [d for d in data if d["type"] == "check"]
    meta = {}
    for d in data:
        if d["type"] == "meta":
            meta[d["key"]] = d["value"]
    m = lambda k, default="-": meta.get(k, default)

    L = ["# pg_rbac benchmark, %s" % m("date"), ""]
    L.append("Generated by `%s` (bench/run.sh). All figures are from one run on one machine; absolute numbers on "
             "shared machines drift, so goals are ratios to `SELECT 1` measured in the same run at the same client "
             "count. See bench/README.md for what each workload measures." % m("command"))
    L.append("")
    if m("quick", "0") == "1":
        L += ["> **Quick mode (BENCH_QUICK=1)**: %s-second runs and a smaller largest policy; a smoke test, not a "
              "measurement." % m("seconds"), ""]
    if "debug" in m("build"):
        L += ["> **Debug build**: the installed pg_rbac.so is a debug (unoptimized) build; pg_rbac's figures are "
              "far below a release build's. Run without BENCH_SKIP_BUILD for release numbers.", ""]

    busy = [int(x) for x in re.findall(r"(\d+)%", m("bg_cpu", ""))]
    if busy and max(busy) >= BUSY_WARN:
        L += ["> **The machine was busy with other work** (CPU used by other processes while the benchmark was "
              "idle: %s). Runs that overlapped it are slower than they should be, and ratios to a `SELECT 1` "
              "measured at a quieter moment are distorted; re-run on an idle machine to judge the goals."
              % m("bg_cpu"), ""]
    L += ["## Machine and settings", "", "| | |", "|---|---|"]
    for k, label in [("nproc", "CPUs (nproc)"), ("cpu", "CPU model"), ("mem", "memory"), ("kernel", "kernel"),
                     ("loadavg_start", "load average at start"), ("loadavg_end", "load average at end"),
                     ("bg_cpu", "CPU used by other processes (1 s samples, benchmark idle)"),
                     ("pg_version", "PostgreSQL"), ("pgbench_version", "pgbench"), ("commit", "pg_rbac commit"),
                     ("extversion", "pg_rbac extension version"), ("build", "pg_rbac build"),
                     ("server_settings", "server settings"), ("pgbench_args", "pgbench"),
                     ("seconds", "seconds per run"), ("clients", "client counts (main section)"),
                     ("policy_sizes", "policy sizes (keys)"), ("duration", "total wall time of this run")]:
        if k in meta:
            L.append("| %s | %s |" % (label, str(meta[k]).replace("|", "\\|")))
    L.append("")
    L.append("`synchronous_commit = off`: `consume_quota` writes a logged reservation row per call (and `settle` "
             "updates spend and appends to `spend_log`), so with synchronous commit every transaction would wait "
             "for a WAL flush. The benchmark measures pg_rbac's CPU cost, not the disk's fsync latency; `fsync` "
             "stays on (no data-loss risk beyond the last few hundred milliseconds of commits on a crash).")
    L.append("")

    for sec, title, text in SECTIONS:
        L += ["## %s" % title, "", text, ""]
        if sec == "main":
            L += result_table(records, "main")
        elif sec == "jwt":
            L += jwt_table(records)
        elif sec == "policy":
            t, _ = policy_table(records)
            L += t

    # goals
    L += ["## Goals", "", "| goal | clients | ratio to SELECT 1 | required | result |", "|---|---:|---:|---:|---|"]
    n_miss = 0
    for desc, sec, key, clients, need in GOALS:
        r = find(records, sec, key, clients)
        if r is None:
            L.append("| %s | %d | - | >= %.1f | not measured (client count not run) |" % (desc, clients, need))
            continue
        rt = ratio(records, r)
        res = "PASS" if rt is not None and rt >= need else "**MISS**"
        n_miss += res != "PASS"
        L.append("| %s | %d | %s | >= %.1f | %s |" % (desc, clients, fmt(rt, "%.2f"), need, res))
    _, pol = policy_table(records)
    if pol and pol[0] is not None:
        res = "PASS" if pol[0] >= POLICY_FLATNESS else "**MISS**"
        n_miss += res != "PASS"
        L.append("| rbac_check cost flat in policy size (ratio at %s / ratio at %s) | %d | %.2f | >= %.1f | %s |" % (
            pol[2], pol[1], [r for r in records if r["section"] == "policy" and r["key"] != "select1"][0]["clients"],
            pol[0], POLICY_FLATNESS, res))
    hot = [c for c in checks if c["section"] == "cq_hot"]
    if hot:
        ok = all(c["ok"] for c in hot)
        n_miss += not ok
        L.append("| consume_quota hot key stays exact (window counter = reservations = pgbench transactions, "
                 "every run) | all | | exact | %s |" % ("PASS" if ok else "**MISS**"))
    L.append("")

    # exactness checks
    L += ["## Exactness checks", "",
          "After each quota run: every call is admitted (limits are huge), so the reservations, the rate-window "
          "counters and (for settle) the settled reservations and `spend_log` rows must all equal pgbench's "
          "transaction count.", ""]
    if checks:
        L += ["| workload | check | expected | actual | result |", "|---|---|---:|---:|---|"]
        for c in checks:
            L.append("| %s | %s | %s | %s | %s |" % (c["section"], c["name"], c["expected"], c["actual"],
                                                     "ok" if c["ok"] else "**FAIL**"))
    else:
        L.append("_(no quota runs)_")
    L.append("")

    # LiteLLM comparison
    L += ["## Compared with LiteLLM's ~3 ms auth overhead", ""]
    L.append("LiteLLM documents roughly %.0f ms of proxy overhead for authentication per request (key lookup with "
             "its in-memory/Redis cache, JWT handling, budget and rate-limit checks in Python). pg_rbac's mean "
             "latency below is the whole round trip from pgbench to the server and back over a Unix socket, so it "
             "includes what `SELECT 1` costs; the pg_rbac part alone is the difference." % LITELLM_AUTH_MS)
    L.append("")
    main_rows = [r for r in records if r["section"] == "main"]
    if main_rows:
        c1 = min(r["clients"] for r in main_rows)
        b = baseline(records, "main", c1)
        bm = b["mean_ms"] if b else None
        L += ["Per-request latency at %d client%s (no queueing for a CPU):" % (c1, "" if c1 == 1 else "s"), "",
              "| workload | mean ms | p99 ms | pg_rbac part of the mean ms (minus SELECT 1's %s ms) | vs LiteLLM's 3 ms |"
              % fmt(bm, "%.3f"),
              "|---|---:|---:|---:|---:|"]
        for key in ("vk", "jwt_rs256_cached", "jwt_hs256_cached", "jwt_rs256_fresh", "cq_hot", "cq_spread",
                    "cq_settle"):
            r = find(records, "main", key, c1)
            if r is None or "error" in r or r.get("mean_ms") is None:
                continue
            share = r["mean_ms"] - bm if bm is not None else None
            L.append("| %s | %.3f | %s | %s | %s |" % (
                r["label"], r["mean_ms"], fmt(r.get("p99_ms"), "%.3f"), fmt(share, "%.3f"),
                fmt(share / LITELLM_AUTH_MS * 100 if share is not None else None, "%.0f%% of it")))
        L.append("")
        L.append("At more clients than CPUs the mean latency mostly measures queueing for a CPU (pgbench runs on the "
                 "same machine): see the TPS ratios above for throughput.")
        L.append("")

    failed = [r for r in records if "error" in r]
    bad_checks = [c for c in checks if not c["ok"]]
    L += ["## Summary", ""]
    L.append("- %d pgbench runs, %d failed; %d exactness checks, %d failed; %d goal(s) missed." % (
        len(records), len(failed), len(checks), len(bad_checks), n_miss))
    for r in failed:
        L.append("- FAILED %s (%s, %d clients): %s" % (r["label"], r["section"], r["clients"],
                                                       " / ".join(r["error"])))
    for c in bad_checks:
        L.append("- CHECK FAILED %s: %s: expected %s, got %s" % (c["section"], c["name"], c["expected"],
                                                                  c["actual"]))
    L.append("")
    with open(a.out, "w") as f:
        f.write("\n".join(L))
    print("report written to %s" % a.out)
    return 1 if failed or bad_checks else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--results", required=True)
    r.add_argument("--section", required=True)
    r.add_argument("--key", required=True)
    r.add_argument("--label", required=True)
    r.add_argument("--clients", type=int, required=True)
    r.add_argument("--stdout", required=True)
    r.add_argument("--logs")
    r.add_argument("--rc", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("--results", required=True)
    c.add_argument("--section", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--expected", required=True)
    c.add_argument("--actual", required=True)
    mt = sub.add_parser("meta")
    mt.add_argument("--results", required=True)
    mt.add_argument("key")
    mt.add_argument("value")
    q = sub.add_parser("p99")
    q.add_argument("dir")
    rd = sub.add_parser("render")
    rd.add_argument("--results", required=True)
    rd.add_argument("--out", required=True)
    a = p.parse_args()
    return {"record": cmd_record, "check": cmd_check, "meta": cmd_meta, "p99": cmd_p99, "render": render}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
