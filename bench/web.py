"""Load test of the web app on loopback: requests/s and p99 latency, with Debian's wrk.

Starts ``acuevidence serve`` (uvicorn, one process) on 127.0.0.1 with a temporary SQLite registry
built from the bundled CSV files, then measures:

1. the pooled-analysis JSON endpoint (``/api/analysis``), cached: wrk for ``--duration`` seconds
   with ``--connections`` connections -> requests/s and p99 latency
   (target: >= 500 requests/s, p99 <= 50 ms);
2. the decision-aid page: the server's own time (the ``Server-Timing`` header) for cached
   renders (target: <= 200 ms; ``acuevidence serve`` precomputes every decision aid at startup
   and after each edit) and for on-demand computation (first request; the benchmark's server
   runs with ``--no-warm`` to measure it), and its throughput under wrk.

Bounded in time (two wrk runs of ``--duration`` seconds plus startup) and loopback only.

    apt-get install wrk
    python bench/web.py [--duration 10] [--connections 16] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ANALYSIS = "/api/analysis?condition=knee_oa&comparator=sham&outcome=pain&window=immediate"
AID = "/decision-aid?site=knee_oa&duration=chronic&comparator=sham"
# Situations whose decision aid is computed on demand (the server runs with --no-warm).
COLD_AIDS = ("site=low_back&duration=chronic&comparator=sham",
             "site=low_back&duration=chronic&comparator=usual_care",
             "site=low_back&duration=acute&comparator=nsaid%2Bother_medication",
             "site=sciatica&duration=chronic&comparator=sham",
             "site=knee_oa&duration=chronic&comparator=nsaid%2Bother_medication")
TARGET_RPS, TARGET_P99_MS, TARGET_PAGE_MS = 500.0, 50.0, 200.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[float, float, bytes]:
    """(client seconds, server milliseconds from Server-Timing, body)."""
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        body = r.read()
        timing = r.headers.get("Server-Timing", "")
    m = re.search(r"dur=([\d.]+)", timing)
    return time.perf_counter() - t0, float(m.group(1)) if m else float("nan"), body


def wrk(url: str, duration: int, connections: int, threads: int) -> dict[str, float]:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s",
                          "--latency", url], capture_output=True, text=True, check=True,
                         timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", out, flags=re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_err = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": _ms(lat["50"]), "p99_ms": _ms(lat["99"]),
            "non_2xx": float(errors.group(1)) if errors else 0.0,
            "socket_errors": socket_err.group(1) if socket_err else "none"}


def _ms(text: str) -> float:
    num, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(num) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    ap.add_argument("--connections", type=int, default=16, help="open connections (16)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    ap.add_argument("--renders", type=int, default=50, help="timed page renders (50)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        print("bench/web.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "evidence.sqlite"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "acuevidence.cli_web", "--host",
                                 "127.0.0.1", "--port", str(port), "--database", str(db),
                                 "--no-warm", "--log-level", "warning"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    get(base + "/api/version")
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        print(proc.stderr.read().decode(), file=sys.stderr)
                        return 1
                    time.sleep(0.2)
            _, cold_server, _ = get(base + ANALYSIS)
            print(f"server: uvicorn, 1 process, {os.cpu_count()} CPU(s) shared with wrk; "
                  f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s")
            print(f"\n1. pooled analysis {ANALYSIS}")
            print(f"   first (uncached) request: {cold_server:.1f} ms server time")
            r = wrk(base + ANALYSIS, args.duration, args.connections, args.threads)
            print(f"   cached: {r['rps']:.0f} requests/s (target >= {TARGET_RPS:.0f}: "
                  f"{r['rps'] / TARGET_RPS:.2f}x), p50 {r['p50_ms']:.2f} ms, p99 "
                  f"{r['p99_ms']:.2f} ms (target <= {TARGET_P99_MS:.0f} ms: "
                  f"{'ok' if r['p99_ms'] <= TARGET_P99_MS else 'MISSED'}); non-2xx "
                  f"{r['non_2xx']:.0f}; socket errors {r['socket_errors']}")
            ok = r["rps"] >= TARGET_RPS and r["p99_ms"] <= TARGET_P99_MS and not r["non_2xx"]

            print(f"\n2. decision-aid page {AID}")
            cold = []
            for q in COLD_AIDS:
                _, ms, body = get(base + "/decision-aid?" + q)
                assert b"Is acupuncture worth trying" in body
                cold.append(ms)
            _, first, body = get(base + AID)
            assert b"iconarray" in body
            cold.append(first)
            times = sorted(get(base + AID)[1] for _ in range(args.renders))
            p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
            print(f"   served from the cache (the server precomputes every decision aid at "
                  f"startup): {args.renders} renders, median {statistics.median(times):.2f} "
                  f"ms, p99 {p99:.2f} ms server time (target <= {TARGET_PAGE_MS:.0f} ms: "
                  f"{'ok' if p99 <= TARGET_PAGE_MS else 'MISSED'})")
            print(f"   computed on demand (first request, --no-warm), {len(cold)} situations: "
                  f"median {statistics.median(cold):.0f} ms, max {max(cold):.0f} ms server time")
            t0 = time.perf_counter()
            get(base + "/api/questions")  # builds the evidence report (the home page)
            built = time.perf_counter() - t0
            reuse = [get(base + "/decision-aid?" + q + "&window=short")[1] for q in COLD_AIDS]
            print(f"   computed on demand once the report is built ({built:.0f} s, done at "
                  f"startup by the warmer): median {statistics.median(reuse):.0f} ms, max "
                  f"{max(reuse):.0f} ms server time")
            w = wrk(base + AID, max(3, args.duration // 2), args.connections, args.threads)
            print(f"   under load: {w['rps']:.0f} pages/s, p99 {w['p99_ms']:.2f} ms")
            ok = ok and p99 <= TARGET_PAGE_MS
            print(f"\ntargets {'met' if ok else 'NOT met'}")
            return 0 if ok else 1
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
