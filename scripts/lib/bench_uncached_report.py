#!/usr/bin/env python3
"""The section "Uncached path vs HAProxy jwt_verify" of docs/benchmarks.md, from scripts/lib/bench_uncached.sh's rows.

    bench_uncached_report.py RESULTS.jsonl META.env OUT.md

Rewrites the block between <!-- bench-uncached:begin --> and <!-- bench-uncached:end --> (appended if absent)
and prints it. Medians over the rounds; the ratios compare runs of the same rounds.
"""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from doc_section import write_section  # noqa: E402


def main() -> None:
    results_file, meta_file, out_file = sys.argv[1:4]
    rows = [json.loads(line) for line in open(results_file) if line.strip()]
    meta = {}
    for line in open(meta_file):
        k, _, v = line.rstrip("\n").partition("=")
        meta[k] = v

    def agg(scenario, server):
        rs = [r for r in rows if r["scenario"] == scenario and r["server"] == server]
        if not rs:
            return None
        rps = [r["requests"] / (r["duration_us"] / 1e6) for r in rs]
        cpu = [r["cpu_ticks"] / r["clk_tck"] / max(r["requests"], 1) * 1e6 for r in rs if "cpu_ticks" in r]
        return {
            "rps": statistics.median(rps), "p50": statistics.median(r["p50_us"] for r in rs) / 1000,
            "p99": statistics.median(r["p99_us"] for r in rs) / 1000, "cpu_us": statistics.median(cpu) if cpu else None,
            "non2xx": sum(r["status_err"] for r in rs), "n": len(rs),
            "errors": sum(r["connect_err"] + r["read_err"] + r["write_err"] + r["timeout_err"] for r in rs),
        }

    def fmt(v, d=0):
        return "–" if v is None else f"{v:,.{d}f}"

    def target(ok):
        return "" if ok is None else ("met" if ok else "**not met**")

    hap = agg("rs256-nocache", "haproxy")
    lines = []
    P = lines.append
    P("## Uncached path vs HAProxy jwt_verify")
    P("")
    P("Produced by `scripts/bench.sh%s` (scripts/lib/bench_uncached.sh) on %s (commit %s): oauthdemo-apid against HAProxy %s "
      "(Debian; bench/haproxy/jwt-verify.cfg: `jwt_verify` with the same public key, plus alg, iss, aud and exp rules; a "
      "small 200 JSON answer, 401 otherwise; %s threads; **HAProxy keeps no token cache and writes no access log**). "
      "Tokens from the benchmark key server (RS256 bench-0, ES256 P-256, EdDSA Ed25519; HAProxy 2.6 has no EdDSA). "
      "`wrk -t%s -c%s -d%s`, wrk and both servers on the same %s CPU(s); each figure is the median of %s interleaved round(s)."
      % (" --quick" if meta.get("QUICK") == "1" else "", meta.get("DATE_UNCACHED", "?"), meta.get("GIT", "?"), meta.get("HAPROXY", "?"),
         meta.get("HAPROXY_THREADS", "?"), meta.get("THREADS"), meta.get("CONNS"), meta.get("DURATION"), meta.get("NPROC"), meta.get("ROUNDS")))
    P("")
    P("Load average (1/5/15 min) at the start of the whole run: %s; at the end of this section: %s." %
      (meta.get("LOAD_START", "?"), meta.get("LOAD_END_UNCACHED", "?")))
    P("")
    P("| scenario | server | req/s | ratio to HAProxy RS256 | p50 (ms) | p99 (ms) | CPU µs/request | target |")
    P("|---|---|---:|---:|---:|---:|---:|---|")

    def row(label, sc, server, goal=None):
        a = agg(sc, server)
        if a is None:
            return None
        r = a["rps"] / hap["rps"] if hap else None
        ok = None
        if goal is not None and r is not None:
            ok = r >= goal and (goal < 1.25 or sc != "rs256-nocache" or a["p99"] <= hap["p99"])
        P("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, server, fmt(a["rps"]), fmt(r, 2) + "×" if r else "–", fmt(a["p50"], 3), fmt(a["p99"], 3), fmt(a["cpu_us"], 1),
            ("≥ %.2f× %s" % (goal, target(ok))) if goal else ""))
        return a

    row("RS256, every token verified", "rs256-nocache", "haproxy")
    row("RS256, token cache off (p99 no worse)", "rs256-nocache", "apid", 1.25)
    row("RS256, token cache off, access log off", "rs256-nocache-nolog", "apid", 1.25)
    row("RS256, default (cache on)", "rs256-cache", "apid", 1.8)
    row("RS256, cache on, access log off", "rs256-cache-nolog", "apid", 1.8)
    row("ES256, every token verified", "es256-nocache", "haproxy")
    row("ES256, token cache off", "es256-nocache", "apid")
    row("EdDSA, token cache off", "eddsa-nocache", "apid")
    many_h = row("%s distinct RS256 tokens round-robin" % meta.get("MANY_TOKENS", "?"), "many", "haproxy")
    many_a = agg("many", "apid")
    if many_a and many_h:
        r = many_a["rps"] / many_h["rps"]
        P("| %s distinct RS256 tokens round-robin, default config | apid | %s | %s× (to HAProxy, same tokens) | %s | %s | %s | ≥ 1.25× %s |" % (
            meta.get("MANY_TOKENS", "?"), fmt(many_a["rps"]), fmt(r, 2), fmt(many_a["p50"], 3), fmt(many_a["p99"], 3),
            fmt(many_a["cpu_us"], 1), target(r >= 1.25)))
    junk_v = agg("junk-valid", "apid")
    junk_f = agg("junk-flood", "apid")
    nocache = agg("rs256-nocache", "apid")
    if junk_v:
        share = junk_v["rps"] / nocache["rps"] if nocache else None
        P("| valid RS256 while a second wrk floods the same daemon (default config) with distinct bad signatures | apid | %s | %s | %s | %s | | ≥ 80 %% of the cache-off rate: %s %s |" % (
            fmt(junk_v["rps"]), fmt(junk_v["rps"] / hap["rps"], 2) + "×" if hap else "–", fmt(junk_v["p50"], 3), fmt(junk_v["p99"], 3),
            "–" if share is None else "%.0f %%" % (100 * share), target(None if share is None else share >= 0.8)))
    if junk_f:
        P("| the junk flood itself (all 401) | apid | %s | | %s | %s | | |" % (fmt(junk_f["rps"]), fmt(junk_f["p50"], 3), fmt(junk_f["p99"], 3)))
    P("")
    f0, f1 = meta.get("JUNK_FETCHES_BEFORE"), meta.get("JUNK_FETCHES_AFTER")
    if f0 is not None:
        P("JWKS fetches of the flooded daemon: %s before the rounds, %s after (%s)." % (f0, f1, "none during the flood" if f0 == f1 else "**refetched**"))
    hits, misses = meta.get("MANY_CACHE_HITS"), meta.get("MANY_CACHE_MISSES")
    if hits:
        P("Many-tokens daemon (token cache of 10,000 entries by default): %s cache hits, %s misses over warm-up and rounds." % (hits, misses))
    hwm = {k[len("HWM_U_"):].replace("_", "-"): int(v) / 1024 for k, v in meta.items() if k.startswith("HWM_U_") and v}
    if hwm:
        P("Peak RSS (VmHWM) after the rounds, MiB: " + ", ".join("%s %.1f" % kv for kv in hwm.items()) + ".")
    non2xx = sum(r["status_err"] for r in rows if r["scenario"] != "junk-flood")
    errs = sum(r["connect_err"] + r["read_err"] + r["write_err"] + r["timeout_err"] for r in rows)
    P("Errors over the measured valid-token runs: %d non-2xx, %d socket errors/timeouts (the junk flood's 401s excluded)." % (non2xx, errs))
    section = "\n".join(lines)
    write_section(out_file, "bench-uncached", section)
    print(section)


if __name__ == "__main__":
    main()
