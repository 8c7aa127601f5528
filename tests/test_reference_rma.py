"""acuevidence.meta_analysis against metafor's rma.uni / confint / predict / blup.

Reference values: validation/reference/rma.json, written by validation/r/rma.R (the exact R call
of every case is in the file). CI reads the JSON only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from reference import TOL_CLOSED_FORM, TOL_ITERATIVE, TOL_ROOT, assert_close, load_group

from acuevidence import meta_analysis
from acuevidence.meta import METHODS

META, CASES = load_group("rma")
ITERATIVE = {"ML", "REML", "EB", "PM", "PMM", "SJIT", "DLIT"}

SCALAR_FIELDS = ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "tau2",
                 "tau2_se", "i2", "h2", "q", "q_p_value", "s2w", "pi_lower", "pi_upper",
                 "loglik", "aic", "bic", "aicc")
CI_FIELDS = ("tau2_ci_lower", "tau2_ci_upper", "tau_ci_lower", "tau_ci_upper",
             "i2_ci_lower", "i2_ci_upper", "h2_ci_lower", "h2_ci_upper")
BLUP_FIELDS = ("blup", "blup_se", "blup_pi_lower", "blup_pi_upper")


def _fit(case):
    d, a = case["data"], dict(case["args"])
    w = d["weights"] if a.pop("use_weights", False) or a["method"] == "GENQ" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return meta_analysis(np.atleast_1d(np.array(d["yi"], float)), np.atleast_1d(np.array(d["vi"], float)), weights=w, **a)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_rma_case(case):
    res = _fit(case)
    exp = case["expected"]
    method = case["args"]["method"]
    tol = TOL_ITERATIVE if method in ITERATIVE else TOL_CLOSED_FORM
    assert res.k == exp["k"]
    for name in SCALAR_FIELDS:
        if exp.get(name) == []:
            continue  # metafor returns nothing here (e.g. no prediction interval for FE models)
        if name == "tau2_se" and "tau2" in case["args"]:
            assert res.tau2_se is None  # a fixed tau^2 has no SE (metafor reports a DL formula)
            continue
        if res.k == 1 and name in ("bic", "aicc"):
            continue  # metafor gives -Inf/NaN from log(k - p) = log(0); we return None (no value)
        if name in exp:
            assert_close(getattr(res, name), exp[name], tol, f"{case['id']}: {name}")
    for name in CI_FIELDS:
        if name in exp:
            assert_close(getattr(res, name), exp[name], max(tol, TOL_ROOT), f"{case['id']}: {name}")
    if "blup" in exp:
        frame = res.study_frame()
        for name in BLUP_FIELDS:
            for i, (a, e) in enumerate(zip(frame[name], exp[name], strict=True)):
                assert_close(a, e, tol, f"{case['id']}: {name}[{i}]")


def test_case_grid_is_complete():
    """Every estimator is checked with z and Knapp-Hartung tests, and every option appears."""
    ids = {c["id"] for c in CASES}
    for method in METHODS:
        for test in ("z", "knha"):
            assert any(i.startswith("rma/") and f"/{method}/{test}" in i for i in ids), (method, test)
    for marker in ("/t", "/adhoc", "/PL", "/pi-riley", "/pi-t", "/pi-simple", "/level90",
                   "/tau2fixed", "/weights"):
        assert any(marker in i for i in ids), marker
    assert len(CASES) >= 200
    assert META["metafor_version"] and META["r_version"]
