"""acuevidence.meta_regression against metafor's rma.uni (mods), anova, predict, confint, permutest.

Reference values: validation/reference/metareg.json, written by validation/r/metareg.R (the exact
R call of every case is in the file). CI reads the JSON only. The moderator formula of each case
is passed to Python verbatim (acuevidence reads R's factor(x) as C(x)); coefficients are compared
in metafor's order, which formulaic reproduces (treatment coding, levels sorted).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from reference import TOL_CLOSED_FORM, TOL_ITERATIVE, TOL_ROOT, assert_close, load_group, to_float

from acuevidence.metareg import meta_regression

META, CASES = load_group("metareg")
ITERATIVE = {"ML", "REML", "EB", "PM", "PMM", "SJIT", "DLIT"}
# A Monte Carlo permutation p-value is a binomial proportion: it may differ from the exact (or
# metafor's own Monte Carlo) value by sampling error only. 4.5 standard errors of the difference
# of two proportions (about 1 in 150,000 false alarms per check), plus 1/n for the observed
# arrangement both count, bounds that error; equality is never asserted.
MC_SIGMAS = 4.5

SCALARS = ("tau2", "tau2_se", "i2", "h2", "r2", "q", "q_p_value", "qm", "qm_p_value", "s2w",
           "loglik", "deviance", "aic", "bic", "aicc")
COEFS = ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper")


def _by(prefix):
    sel = [c for c in CASES if c["id"].startswith(prefix)]
    return pytest.mark.parametrize("case", sel, ids=[c["id"] for c in sel])


def _frame(data):
    return pd.DataFrame({k: [math.nan if x is None else x for x in v] if isinstance(v, list)
                         else v for k, v in data.items()})


def _fit(case, args=None, **extra):
    a = dict(case["args"] if args is None else args)
    df = _frame(case["data"])
    kw = {"mods": a["mods"], "method": a["method"], "test": a.get("test", "z")}
    for name in ("level", "tau2", "tau2_ci"):
        if name in a:
            kw[name] = a[name]
    if "btt" in a:
        kw["btt"] = [int(b) for b in np.atleast_1d(a["btt"])]
    if a.get("use_weights") or a["method"] == "GENQ":
        kw["weights"] = "weights"
    kw.update(extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. Knapp-Hartung with a fixed-effects model
        return meta_regression("yi", "vi", data=df, **kw)


def _tol(method):
    return TOL_ITERATIVE if method in ITERATIVE else TOL_CLOSED_FORM


def _vec(x):
    return [to_float(v) for v in np.atleast_1d(np.asarray(x, dtype=object))]


@_by("fit/")
def test_fit(case):
    res = _fit(case)
    exp = case["expected"]
    tol = _tol(case["args"]["method"])
    cid = case["id"]
    assert (res.k, res.p, res.parms) == (exp["k"], exp["p"], exp["parms"]), cid
    assert res.q_df == exp["q_df"] and res.qm_df == exp["qm_df"]
    assert res.btt == tuple(int(b) for b in np.atleast_1d(exp["btt"]))
    assert res.qm_df2 == (None if to_float(exp["qm_df2"]) != to_float(exp["qm_df2"])
                          else int(to_float(exp["qm_df2"])))
    for name in COEFS:
        want = _vec(exp[name])
        got = getattr(res, name)
        assert len(got) == len(want), f"{cid}: {name} length"
        for j, (g, e) in enumerate(zip(got, want, strict=True)):
            assert_close(g, e, tol, f"{cid}: {name}[{res.terms[j]}]")
    for g, e in zip(np.asarray(res.vcov).ravel(), _vec(exp["vcov"]), strict=True):
        assert_close(g, e, tol, f"{cid}: vcov")
    for name in SCALARS:
        if name == "tau2_se" and ("tau2" in case["args"] or res.method in ("FE", "EE", "CE")):
            assert res.tau2_se is None  # no SE for a fixed or absent tau^2 (metafor: NA / DL formula)
            continue
        if name == "r2" and exp.get("r2") is None:
            assert res.r2 is None, f"{cid}: metafor has no R^2 here"
            continue
        assert_close(getattr(res, name), exp[name], tol, f"{cid}: {name}")
    for name in ("tau2_ci_lower", "tau2_ci_upper"):
        if name in exp:
            assert_close(getattr(res, name), exp[name], max(tol, TOL_ROOT), f"{cid}: {name}")


@_by("predict/")
def test_predict(case):
    res = _fit(case)
    a = case["args"]
    new = pd.DataFrame({k: [x for x in v] for k, v in a["newdata"].items()})
    out = res.predict(new, pi_type=a["pi_type"])
    exp = case["expected"]
    tol = _tol(a["method"])
    for name in ("pred", "se", "ci_lower", "ci_upper", "pi_lower", "pi_upper"):
        if exp.get(name) is None:  # metafor gives no prediction interval for FE models
            assert out[name].isna().all()
            continue
        for g, e in zip(out[name], _vec(exp[name]), strict=True):
            assert_close(g, e, tol, f"{case['id']}: {name}")


@_by("wald/")
def test_wald(case):
    a = case["args"]
    res = _fit(case, {k: v for k, v in a.items() if k not in ("btt", "L")})
    exp = case["expected"]
    tol = _tol(a["method"])
    if "btt" in a:
        w = res.wald([int(b) for b in np.atleast_1d(a["btt"])])
    else:
        w = res.wald(L=[[to_float(x) for x in row] for row in a["L"]])
        for name in ("estimate", "se", "statistic", "p_value"):
            for g, e in zip(w.table[name], _vec(exp[name]), strict=True):
                assert_close(g, e, tol, f"{case['id']}: {name}")
    assert_close(w.statistic, exp["qm"], tol, f"{case['id']}: qm")
    assert_close(w.p_value, exp["qm_p_value"], tol, f"{case['id']}: qm_p_value")
    if exp["qm_df"] is None:  # L not of full row rank: no omnibus test (metafor: NA)
        assert w.statistic is None and w.p_value is None
        return
    assert w.df == exp["qm_df"]
    df2 = to_float(exp["qm_df2"])
    assert w.df2 == (None if math.isnan(df2) else int(df2))


@_by("lrt/")
def test_lrt(case):
    a = case["args"]
    full = _fit(case, a["full"])
    red = _fit(case, a["reduced"])
    out = full.anova(red)
    assert red.anova(full).statistic == out.statistic  # order does not matter
    exp = case["expected"]
    tol = TOL_ITERATIVE
    cid = case["id"]
    assert out.df == exp["df"]
    for name in ("statistic", "p_value", "r2"):
        assert_close(getattr(out, name), exp[name], tol, f"{cid}: {name}")
    fit = out.fit.set_index("model")
    for model in ("full", "reduced"):
        for name, e in exp[model].items():
            assert_close(fit.loc[model, name], e, tol, f"{cid}: {model} {name}")
        assert_close(fit.loc[model, "tau2"], exp[f"tau2_{model}"], tol, f"{cid}: tau2 {model}")
        assert_close(fit.loc[model, "q"], exp[f"q_{model}"], tol, f"{cid}: q {model}")


@_by("perm/")
def test_permutation(case):
    a = case["args"]
    exp = case["expected"]
    res = _fit(case, {k: v for k, v in a.items() if k not in ("exact", "n_perm")})
    for g, e in zip(res.statistic, _vec(exp["statistic"]), strict=True):
        assert_close(g, e, _tol(a["method"]), f"{case['id']}: observed statistic")
    if exp["exact"]:
        pt = res.permutation_test(exact=True)
        assert pt.exact and pt.n_perm == exp["n_perm"]
        for g, e in zip(pt.p_value, _vec(exp["p_value"]), strict=True):
            assert_close(g, e, TOL_CLOSED_FORM, f"{case['id']}: p_value")
        assert_close(pt.qm_p_value, exp["qm_p_value"], TOL_CLOSED_FORM, f"{case['id']}: qm_p")
        return
    n_r = int(exp["n_perm"])
    n_ours = 5000
    pt = res.permutation_test(n_perm=n_ours, seed=11, exact=False)
    assert not pt.exact and pt.n_perm == n_ours
    for g, e in zip(list(pt.p_value) + [pt.qm_p_value],
                    _vec(exp["p_value"]) + _vec(exp["qm_p_value"]), strict=True):
        p = min(max(e, 1.0 / n_r), 1 - 1.0 / n_r)
        allowed = MC_SIGMAS * math.sqrt(p * (1 - p) * (1 / n_r + 1 / n_ours)) + 1 / n_r
        assert abs(g - e) <= allowed, f"{case['id']}: {g} vs metafor's {e} (allowed {allowed:.4f})"


def test_monte_carlo_agrees_with_exact():
    """Our Monte Carlo p-values lie within sampling error of metafor's exact ones (same data)."""
    exact = next(c for c in CASES if c["id"] == "perm/bcg/~ablat/REML/z/exact7")
    res = _fit(exact, {k: v for k, v in exact["args"].items() if k not in ("exact", "n_perm")})
    n = 4000
    pt = res.permutation_test(n_perm=n, seed=5, exact=False)
    for g, e in zip(list(pt.p_value) + [pt.qm_p_value],
                    _vec(exact["expected"]["p_value"]) + _vec(exact["expected"]["qm_p_value"]),
                    strict=True):
        allowed = MC_SIGMAS * math.sqrt(max(e * (1 - e), 1 / n) / n) + 1 / n
        assert abs(g - e) <= allowed


def test_case_grid_is_complete():
    """Every estimator x z/knha on every model, the other tests, options, and each method."""
    ids = {c["id"] for c in CASES}
    models = {c["id"].split("/")[1] + "/" + c["id"].split("/")[2] for c in CASES
              if c["id"].startswith("fit/")}
    assert len(models) >= 11
    for model in models:
        for method in ("REML", "ML", "DL", "PM", "HE", "SJ", "EB", "FE"):
            for test in ("z", "knha"):
                assert f"fit/{model}/{method}/{test}" in ids, (model, method, test)
    for marker in ("/t", "/adhoc", "/weights", "/tau2fixed", "/level90", "/PL", "/btt",
                   "/HS/", "/HSk/", "/SJIT/", "/PMM/", "/GENQ/", "-1/"):
        assert any(marker in i for i in ids), marker
    for kind, least in (("predict/", 10), ("wald/", 6), ("lrt/", 6), ("perm/", 6)):
        assert sum(i.startswith(kind) for i in ids) >= least, kind
    assert any("exact" in i for i in ids) and any("/mc" in i for i in ids)
    for data in ("bcg", "raudenbush1985", "bangertdrowns2004", "hackshaw1998"):
        assert any(f"fit/{data}/" in i for i in ids), data
    assert len(CASES) >= 60
    assert META["metafor_version"] and META["r_version"]
