"""Run a peer's R code for the benchmarks: the one place that writes the script and the data to
a temporary folder, calls Rscript and reads the JSON line the script prints last."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from typing import Any


def run_rscript(script: str, *args: str, data: Any = None) -> dict[str, Any] | str:
    """Run ``script`` (R source) with ``args``; ``data``, when given, is written as JSON and its
    path passed as the first argument. Returns the parsed last line of the script's output, or a
    one-line reason (no Rscript, or the run failed) for the caller to print."""
    if shutil.which("Rscript") is None:
        return "Rscript not found; install r-base-core r-cran-metafor to compare"
    with tempfile.TemporaryDirectory() as tmp:
        argv = list(args)
        if data is not None:
            path = os.path.join(tmp, "data.json")
            with open(path, "w") as fh:
                json.dump(data, fh)
            argv.insert(0, path)
        path = os.path.join(tmp, "bench.R")
        with open(path, "w") as fh:
            fh.write(script)
        run = subprocess.run(["Rscript", path, *argv], capture_output=True, text=True,
                             check=False)
    if run.returncode != 0:
        return "R run failed: " + run.stderr.strip()[-300:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def r_package_installed(package: str) -> bool:
    """Whether Rscript runs and ``package`` is installed there."""
    if shutil.which("Rscript") is None:
        return False
    probe = f"quit(status = !requireNamespace('{package}', quietly = TRUE))"
    return subprocess.run(["Rscript", "-e", probe], capture_output=True, check=False).returncode == 0
