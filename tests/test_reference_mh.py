"""Mantel-Haenszel and Peto pooling against metafor's rma.mh / rma.peto.

Reference values: validation/reference/mh.json, written by validation/r/mh.R. Every quantity is a
closed-form sum over the tables, so the comparison uses TOL_CLOSED_FORM.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from reference import TOL_CLOSED_FORM, assert_close, load_group

from acuevidence.mantel_haenszel import mantel_haenszel, peto

META, CASES = load_group("mh")

# acuevidence name -> the same name in the reference file (they were written in our vocabulary).
COMPARED = (
    "estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "q", "q_p_value", "i2",
    "h2", "cmh_statistic", "cmh_p_value", "cochran_statistic", "cochran_p_value",
    "breslow_day_statistic", "breslow_day_p_value", "tarone_statistic", "tarone_p_value",
)
COUNTS = ("k", "k_yi", "k_total")

FUNCS = {"mantel_haenszel": mantel_haenszel, "peto": peto}


def fit_case(case):
    args = dict(case["args"])
    fun = FUNCS[args.pop("fun")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-cell warnings are tested elsewhere
        return fun(data=pd.DataFrame(case["data"]), **args)


def test_reference_header():
    assert META["group"] == "mh"
    assert META["n_cases"] == len(CASES) >= 40
    assert META["metafor_version"]


def test_case_grid_is_complete():
    """Every measure, both methods and both CMH corrections are covered, with zero cells."""
    seen = {(c["args"]["fun"], c["args"].get("measure", "PETO")) for c in CASES}
    for m in ("OR", "RR", "RD", "IRR", "IRD"):
        assert ("mantel_haenszel", m) in seen
    assert ("peto", "PETO") in seen
    assert any(c["args"].get("correct") is False for c in CASES)
    assert any(c["expected"]["k_yi"] < c["expected"]["k_total"] for c in CASES)  # double zeros
    assert any(c["expected"]["k"] < c["expected"]["k_total"] for c in CASES)  # drop00 tables


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_against_metafor(case):
    res = fit_case(case)
    exp = case["expected"]
    for name in COMPARED:
        assert_close(getattr(res, name), exp[name], TOL_CLOSED_FORM, f"{case['id']}: {name}")
    for name in COUNTS:
        assert getattr(res, name) == exp[name], f"{case['id']}: {name}"
