"""Property tests (Hypothesis) for invariants every estimator must satisfy."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acuevidence import meta_analysis
from acuevidence.meta import METHODS

# Estimators that must satisfy the invariants (GENQ needs weights and is covered separately).
ESTIMATORS = [m for m in METHODS if m != "GENQ"]
# Relative agreement required between mathematically equal results computed in a different
# order or on a rescaled axis: iterative solvers stop at 1e-12 on tau^2, so 1e-7 is ample.
REL_TOL = 1e-7

finite = st.floats(min_value=-5, max_value=5, allow_nan=False, allow_infinity=False)
variance = st.floats(min_value=1e-3, max_value=4, allow_nan=False, allow_infinity=False)


@st.composite
def datasets(draw, min_k=2, max_k=15):
    k = draw(st.integers(min_value=min_k, max_value=max_k))
    yi = np.array(draw(st.lists(finite, min_size=k, max_size=k)))
    vi = np.array(draw(st.lists(variance, min_size=k, max_size=k)))
    return yi, vi


def fit(yi, vi, method, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return meta_analysis(yi, vi, method=method, **kw)


def close(a, b, scale=1.0):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=REL_TOL * scale)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("method", ESTIMATORS)
@SETTINGS
@given(data=datasets(), seed=st.integers(0, 2**32 - 1))
def test_study_order_does_not_matter(method, data, seed):
    yi, vi = data
    perm = np.random.default_rng(seed).permutation(len(yi))
    a, b = fit(yi, vi, method), fit(yi[perm], vi[perm], method)
    for name in ("estimate", "se", "tau2", "q", "i2", "ci_lower", "ci_upper", "pi_lower"):
        assert close(getattr(a, name), getattr(b, name), 1 + abs(a.estimate)), name


@pytest.mark.parametrize("method", ESTIMATORS)
@SETTINGS
@given(data=datasets(), shift=finite, scale=st.floats(0.1, 10))
def test_location_scale_equivariance(method, data, shift, scale):
    yi, vi = data
    a = fit(yi, vi, method)
    b = fit(shift + scale * yi, scale**2 * vi, method)
    s = 1 + abs(a.estimate)
    assert close(b.estimate, shift + scale * a.estimate, scale * s + abs(shift))
    assert close(b.se, scale * a.se, scale * s)
    assert close(b.tau2, scale**2 * a.tau2, scale**2 * (1 + a.tau2))
    assert close(b.q, a.q, 1 + a.q)
    assert close(b.i2, a.i2, 100)
    # The test statistic is invariant to rescaling (not to shifting).
    c = fit(scale * yi, scale**2 * vi, method)
    assert close(c.p_value, a.p_value, 1)


@SETTINGS
@given(data=datasets())
def test_dl_is_zero_when_q_below_df(data):
    yi, vi = data
    res = fit(yi, vi, "DL")
    # DerSimonian-Laird by hand: Q about the common-effect mean, truncated moment estimator
    w = 1 / vi
    q = float(np.sum(w * (yi - np.sum(w * yi) / np.sum(w)) ** 2))
    df = len(yi) - 1
    tau2 = max(0.0, (q - df) / (np.sum(w) - np.sum(w * w) / np.sum(w)))
    assert math.isclose(res.q, q, rel_tol=1e-9, abs_tol=1e-12)
    if q < df:
        assert res.tau2 == 0.0
    else:
        assert math.isclose(res.tau2, tau2, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("method", ESTIMATORS)
@SETTINGS
@given(data=datasets(min_k=1))
def test_fit_twice_identical_and_inputs_not_mutated(method, data):
    yi, vi = data
    y0, v0 = yi.copy(), vi.copy()
    a, b = fit(yi, vi, method), fit(yi, vi, method)
    assert a.to_dict() == b.to_dict()
    assert np.array_equal(yi, y0) and np.array_equal(vi, v0)


@pytest.mark.parametrize("method", ESTIMATORS)
@SETTINGS
@given(yi=st.lists(finite, min_size=1, max_size=1), vi=st.lists(variance, min_size=1, max_size=1))
def test_k1_returns_the_study(method, yi, vi):
    res = fit(np.array(yi), np.array(vi), method)
    assert math.isclose(res.estimate, yi[0], rel_tol=1e-14, abs_tol=1e-300)
    assert res.tau2 == 0.0 and res.i2 == 0.0


@pytest.mark.parametrize("method", ESTIMATORS)
@SETTINGS
@given(value=finite, vi=st.lists(variance, min_size=2, max_size=10))
def test_identical_effects_mean_no_heterogeneity(method, value, vi):
    vi = np.array(vi)
    res = fit(np.full(len(vi), value), vi, method)
    assert math.isclose(res.estimate, value, rel_tol=1e-12, abs_tol=1e-12)
    assert res.q < 1e-20 and res.tau2 < 1e-10 and res.i2 < 1e-6


def test_ten_thousand_random_data_sets_are_finite():
    """10^4 ordinary random data sets (k = 2..40): every number finite, every fit converged."""
    rng = np.random.default_rng(2026)
    fields = ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "tau2", "tau",
              "i2", "h2", "q", "q_p_value", "pi_lower", "pi_upper", "tau2_ci_lower",
              "tau2_ci_upper")
    methods = ESTIMATORS
    for i in range(10_000):
        k = int(rng.integers(2, 41))
        vi = rng.uniform(0.005, 1.0, k) ** 2 * 10 ** rng.uniform(-2, 2)
        yi = rng.normal(rng.normal(0, 1), np.sqrt(vi + rng.choice([0.0, 0.01, 0.1, 1.0])))
        method = methods[i % len(methods)]
        res = fit(yi, vi, method, test="knha" if i % 2 else "z")
        assert res.converged, (i, method)
        for name in fields:
            value = getattr(res, name)
            if value is None and name.startswith("tau2_ci") and method in ("EE", "FE", "CE"):
                continue
            assert value is not None and np.isfinite(value), (i, method, name, value)
