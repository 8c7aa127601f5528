"""Access to the pinned metafor reference values (validation/reference/*.json).

The JSON files are written by ``Rscript validation/generate_reference.R``; CI only reads them.
Each case records the exact R call that produced it. Tolerances are named here, each with its
reason, and every comparison goes through :func:`assert_close`.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "validation" / "reference"

# Closed-form quantities (effect sizes, DL/HE/HS/SJ tau^2, FE estimates, Q, MH): the same formula
# in double precision; differences are rounding only.
TOL_CLOSED_FORM = 1e-9
# Iterative estimators (ML/REML/EB/PM/...): metafor was run with threshold=1e-12 and tight uniroot
# tolerances; ours converges to 1e-10 relative. Both errors are below this.
TOL_ITERATIVE = 1e-7
# Interval bounds found by root finding (Q-profile, profile likelihood): metafor's uniroot
# tolerance was set to sqrt(machine eps) ~ 1.5e-8 on the tau^2 scale, which bounds agreement.
TOL_ROOT = 1e-6
# Absolute floor for numbers that are (close to) zero, where a relative tolerance means nothing.
ABS_FLOOR = 1e-10


def load_group(group: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return (meta, cases) of one reference file."""
    return _load(group)


@cache
def _load(group: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    path = REFERENCE_DIR / f"{group}.json"
    doc = json.loads(path.read_text())
    return doc["meta"], doc["cases"]


def to_float(x: Any) -> float:
    # R's scalars come out of num() as one-element lists.
    if isinstance(x, list) and len(x) == 1:
        x = x[0]
    if x is None:
        return math.nan
    if isinstance(x, str):
        return {"Inf": math.inf, "-Inf": -math.inf}.get(x, math.nan)
    return float(x)


def assert_close(actual: Any, expected: Any, tol: float, what: str = "") -> None:
    """Assert |actual - expected| <= tol * max(1, |expected|) (NaN/None must match)."""
    a, e = to_float(actual), to_float(expected)
    if math.isnan(e):
        assert math.isnan(a), f"{what}: expected missing (NA in R), got {a!r}"
        return
    if math.isinf(e):
        assert a == e, f"{what}: expected {e}, got {a}"
        return
    assert math.isfinite(a), f"{what}: expected {e!r}, got {a!r}"
    scale = max(1.0, abs(e))
    assert abs(a - e) <= tol * scale + ABS_FLOOR, (
        f"{what}: {a!r} differs from metafor's {e!r} by {abs(a - e):.3g} (tolerance {tol:g} x {scale:g})"
    )
