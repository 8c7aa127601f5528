"""Shared test configuration.

Some test modules skip (with a reason) when an optional dependency or system program is missing on a
developer's machine. CI installs all of them, so under CI a missing one is an error, never a silent
skip.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import matplotlib

matplotlib.use("Agg")  # plots in tests never need a display

CI_REQUIRED_MODULES = ("fastapi", "uvicorn", "playwright", "numba", "dask", "distributed",
                       "pyarrow", "psycopg", "schemathesis", "argon2", "emcee", "matplotlib")
CI_REQUIRED_PROGRAMS = ("chromium",)

if os.environ.get("CI"):
    missing = [m for m in CI_REQUIRED_MODULES if importlib.util.find_spec(m) is None]
    missing += [p for p in CI_REQUIRED_PROGRAMS if shutil.which(p) is None]
    if missing:
        raise RuntimeError(f"CI is missing test dependencies: {', '.join(missing)} "
                           "(pip install -e '.[test]'; apt-get install chromium)")
