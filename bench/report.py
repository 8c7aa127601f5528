"""How long the full evidence report takes to build (target: under 30 s on this 2-core machine).

    python bench/report.py [--runs 3] [--no-pdf]

Times each stage: answering every question from the registry (analysis sets, pooling,
certainty, statements), rendering the HTML (plots included) and printing the PDF with Debian's
chromium, and the whole `acuevidence report` run. Prints the best and median of the runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings

from acuevidence.report.builder import build_report, find_chromium, render_html, write_report

TARGET_SECONDS = 30.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-pdf", action="store_true")
    args = ap.parse_args()
    pdf = not args.no_pdf and find_chromium() is not None
    stages: dict[str, list[float]] = {"analyses": [], "html": [], "pdf": [], "total": []}
    for _ in range(args.runs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            rep = build_report()
            t1 = time.perf_counter()
            render_html(rep)
            t2 = time.perf_counter()
            with tempfile.TemporaryDirectory() as out:
                write_report(rep, out, ("html", "pdf") if pdf else ("html",))
            t3 = time.perf_counter()
        stages["analyses"].append(t1 - t0)
        stages["html"].append(t2 - t1)
        stages["pdf"].append(t3 - t2)
        stages["total"].append(t3 - t0)
    n = sum(1 for f in rep.findings() if f.available)
    print(f"report: {n} pooled analyses, {len(rep.comparisons)} comparisons, "
          f"evidence {rep.evidence_version}; PDF {'on' if pdf else 'off'}")
    for name, xs in stages.items():
        print(f"  {name:9s} best {min(xs):6.2f} s   median {statistics.median(xs):6.2f} s")
    best = min(stages["total"])
    verdict = "meets" if best < TARGET_SECONDS else "misses"
    print(f"full report: {best:.1f} s ({verdict} the {TARGET_SECONDS:.0f} s target; "
          f"{TARGET_SECONDS / best:.1f}x headroom)")


if __name__ == "__main__":
    main()
