"""acuevidence.conversions against the pinned R references (validation/reference/conversions.json).

Two kinds of case (``args["source"]``): ``"metafor"`` cases feed metafor 3.8-1 output (CIs,
p-values, test statistics, sampling variances) into a conversion and expect the metafor quantity
back; ``"formula"`` cases cover what metafor 3.8-1 lacks (``conv.fivenum``, t-based SDs, change
scores) with the published formula computed in R and quoted in the case's ``call``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from reference import TOL_CLOSED_FORM, assert_close, load_group

from acuevidence import conversions
from acuevidence.errors import EvidenceWarning

META, CASES = load_group("conversions")

# Walter & Yao's SD divides by the expected range of n normal values, an integral: R's
# integrate() (rel.tol 1e-12) and scipy's quad (epsrel 1e-13) agree to about 1e-12, well inside
# this bound; it is kept apart from TOL_CLOSED_FORM because the number is not closed-form.
TOL_QUADRATURE = 1e-9

SINGLE_OUTPUT = {"se", "sd", "corr"}
MEDIAN_OUTPUTS = ("mean", "sd", "skew_stat", "skew_crit", "skewed")


def _vector(values: list[Any]) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def _call(case: dict[str, Any]) -> Any:
    args = dict(case["args"])
    fn = getattr(conversions, args.pop("fn"))
    args.pop("source")
    if isinstance(args.get("method"), list):
        args["method"] = tuple(args["method"])
    data = {name: _vector(values) for name, values in case["data"].items()}
    if fn is conversions.mean_sd_from_median:
        args["diagnostics"] = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EvidenceWarning)  # skewed / uncovered rows: expected
            return fn(**data, **args)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EvidenceWarning)  # no Wald case should look asymmetric
        return fn(**data, **args)


def test_header() -> None:
    assert META["group"] == "conversions"
    assert META["n_cases"] == len(CASES) >= 40
    assert META["metafor_version"]
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))


def test_grid_is_complete() -> None:
    """Every public conversion and every median method/scenario has at least one case."""
    fns = {c["args"]["fn"] for c in CASES}
    assert fns == set(conversions.__all__) - {
        "mean_sd_from_range", "mean_sd_from_quartiles", "mean_sd_from_fivenum",
    }  # the three shortcuts are checked against mean_sd_from_median in test_conversions.py
    methods: set[str] = set()
    scenarios: set[int] = set()
    for c in CASES:
        if c["args"]["fn"] != "mean_sd_from_median":
            continue
        m = c["args"]["method"]
        methods.update([m] if isinstance(m, str) else m)
        d = c["data"]
        for i in range(len(d["n"])):
            rng = d["minimum"][i] is not None
            iqr = d["q1"][i] is not None
            scenarios.add(1 * (rng and not iqr) + 2 * (iqr and not rng) + 3 * (rng and iqr))
    assert methods == {"luo-wan-shi", "luo2018", "wan2014", "hozo2005", "bland2015",
                       "walter2007", "shi2020"}
    assert scenarios >= {1, 2, 3}
    assert any(c["args"]["source"] == "metafor" for c in CASES)
    assert any("log-normal" in c["args"].get("distribution", []) for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_reference_case(case: dict[str, Any]) -> None:
    result = _call(case)
    expected = case["expected"]
    if set(expected) <= SINGLE_OUTPUT:
        (key, values), = expected.items()
        got = np.atleast_1d(result)
        assert got.shape == (len(values),)
        for i, (a, e) in enumerate(zip(got, values, strict=True)):
            assert_close(a, e, TOL_CLOSED_FORM, f"{case['id']} {key}[{i + 1}]")
        return
    tol = TOL_QUADRATURE if "walter2007" in str(case["args"]["method"]) else TOL_CLOSED_FORM
    assert len(result) == len(case["data"]["n"])
    for key in MEDIAN_OUTPUTS:
        for i, e in enumerate(expected[key]):
            a = result[key].iloc[i]
            what = f"{case['id']} {key}[{i + 1}]"
            if key == "skewed":
                assert bool(a) == bool(e), what  # R's NA (no test) is False here
            else:
                assert_close(a, e, tol, what)
