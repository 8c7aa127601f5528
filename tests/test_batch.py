"""Batch engine: the same numbers as the single engine, row statuses, streaming, API contract."""

from __future__ import annotations

import json
import math
import tracemalloc
import warnings

import numpy as np
import pytest
from scipy import stats

from acuevidence import meta_analysis as single
from acuevidence.batch import BatchResult, Status, StatusSummary, iter_meta_analysis, meta_analysis
from acuevidence.errors import InputError

# The batch kernels and the single engine solve the same equations, each to ~1e-12 on tau^2
# (the single engine's TAU2_TOL, absolute below tau^2 = 1); outputs derived from tau^2 (I^2 is
# 100 tau^2 / (vt + tau^2), with vt ~ 0.05 here, multiplies its error by ~2000) stay within
# 1e-10 relative to max(1, |value|).
BATCH_TOL = 1e-10
# Tail probabilities against SciPy: both are accurate to a few ulp times the iteration count.
SPECIAL_TOL = 1e-12

METHODS = ("EE", "FE", "CE", "DL", "DLIT", "HE", "HS", "HSk", "SJ", "SJIT", "ML", "REML", "EB",
           "PM", "PMM", "GENQ")
TESTS = ("z", "t", "knha", "adhoc")
COMPARED = ("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "pi_lower",
            "pi_upper", "tau2", "tau2_se", "i2", "h2", "q", "q_p_value")


def _batch_data(seed: int, rows: int = 24, kmax: int = 14):
    """Ragged random data sets (NaN padded) with heterogeneity from none to large."""
    rng = np.random.default_rng(seed)
    y = np.full((rows, kmax), np.nan)
    v = np.full((rows, kmax), np.nan)
    w = np.full((rows, kmax), np.nan)
    for b in range(rows):
        k = int(rng.integers(2, kmax + 1))
        vi = rng.uniform(0.005, 0.6, k)
        tau2 = (0.0, 0.01, 0.1, 0.5)[b % 4]
        y[b, :k] = rng.normal(0.2, np.sqrt(vi + tau2))
        v[b, :k] = vi
        w[b, :k] = rng.uniform(5, 100, k)
    return y, v, w


def _row(a: np.ndarray) -> np.ndarray:
    return a[~np.isnan(a)]


def _close(got: float, ref: float | None) -> bool:
    if ref is None or (isinstance(ref, float) and math.isnan(ref)):
        return bool(np.isnan(got))
    return abs(got - ref) <= BATCH_TOL * max(1.0, abs(ref))


def _compare(res: BatchResult, y, v, w, method: str, test: str) -> None:
    for b in range(len(res)):
        yi, vi = _row(y[b]), _row(v[b])
        kw = {"weights": _row(w[b])} if w is not None else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = single(yi, vi, method=method, test=test, tau2_ci=None, **kw)
        assert res.k[b] == ref.k
        assert bool(res.converged[b]) == ref.converged
        for name in COMPARED:
            got, want = float(getattr(res, name)[b]), getattr(ref, name)
            assert _close(got, want), (method, test, b, name, got, want)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", TESTS)
def test_same_numbers_as_single_engine(method: str, test: str) -> None:
    y, v, w = _batch_data(100 + METHODS.index(method))
    weights = w if method == "GENQ" else None
    res = meta_analysis(y, v, method=method, test=test, weights=weights)
    assert set(np.unique(res.status)) <= {Status.ok}
    _compare(res, y, v, weights, method, test)


@pytest.mark.parametrize("method", ["REML", "DL", "PM"])
def test_custom_weights_match_single_engine(method: str) -> None:
    y, v, w = _batch_data(7)
    res = meta_analysis(y, v, method=method, test="knha", weights=w)
    _compare(res, y, v, w, method, "knha")


def _bimodal_rows():
    # Data sets of this design have a bimodal ML likelihood about once in 200: a local maximum
    # at tau^2 = 0 and another inside. These rows were picked from one seeded draw.
    rng = np.random.default_rng(2026)
    v = rng.uniform(0.01, 0.5, (20_000, 20))
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    rows = [48, 426, 548, 869, 896, 961, 1018, 1847]
    return y[rows], v[rows]


@pytest.mark.parametrize("method", ["ML", "REML"])
def test_global_maximum_on_bimodal_likelihoods(method: str) -> None:
    y, v = _bimodal_rows()
    res = meta_analysis(y, v, method=method)
    paths = []
    for b in range(len(y)):
        ref = single(y[b], v[b], method=method, tau2_ci=None)
        paths.append(ref.path)
        for name in ("tau2", "estimate", "se", "i2"):
            assert _close(float(getattr(res, name)[b]), getattr(ref, name)), (b, name)
    if method == "ML":
        # the single engine needed its global search on some of them: the case is exercised
        assert any("global-search" in p for p in paths)


def test_zero_non_convergence_on_a_large_batch() -> None:
    rng = np.random.default_rng(11)
    v = rng.uniform(0.01, 0.5, (20_000, 20))
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    for method in ("REML", "ML", "PM", "DLIT"):
        res = meta_analysis(y, v, method=method)
        assert res.status_summary.counts["ok"] == len(y)
        assert bool(np.all(res.converged))
        # spot-check a few rows against the single engine
        for b in (0, 4999, 19_999):
            ref = single(y[b], v[b], method=method, tau2_ci=None)
            assert _close(float(res.tau2[b]), ref.tau2)


# ------------------------------------------------------------------------------------------
# Bad rows: status codes, NaN outputs, a summary; never an exception
# ------------------------------------------------------------------------------------------
def test_bad_rows_get_status_codes() -> None:
    y = np.array([
        [0.1, 0.3, 0.2, 0.5],          # ok
        [0.1, np.nan, 0.2, 0.5],       # NaN inside the valid part
        [0.1, 0.3, 0.2, 0.5],          # negative variance
        [np.nan] * 4,                  # empty (all padding)
        [0.4, np.nan, np.nan, np.nan],  # k = 1
        [1e200, -1e200, 3e200, 0.0],   # overflow: numerical failure
        [0.1, 0.3, np.inf, 0.5],       # infinite value
    ])
    v = np.array([
        [0.02, 0.03, 0.05, 0.04],
        [0.02, 0.03, 0.05, 0.04],
        [0.02, -0.03, 0.05, 0.04],
        [np.nan] * 4,
        [0.04, np.nan, np.nan, np.nan],
        [1e-300, 1e-300, 1e-300, 1e-300],
        [0.02, 0.03, 0.05, 0.04],
    ])
    res = meta_analysis(y, v, method="REML")
    assert [Status(s).name for s in res.status] == [
        "ok", "nan_in_row", "nonpositive_variance", "empty_row", "too_few_studies",
        "not_converged", "nan_in_row"]
    for b in (1, 2, 3, 6):
        assert np.isnan(res.estimate[b]) and np.isnan(res.tau2[b]) and np.isnan(res.p_value[b])
        assert not res.converged[b]
    assert res.k.tolist()[:5] == [4, 4, 4, 0, 1]
    # k = 1: the single engine's answer (estimate = the study's effect, tau^2 = 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = single([0.4], [0.04])
    assert res.estimate[4] == pytest.approx(one.estimate) and res.tau2[4] == 0.0
    assert res.se[4] == pytest.approx(one.se) and res.p_value[4] == pytest.approx(one.p_value)
    assert not res.converged[5]
    summary = res.status_summary
    assert summary.counts["nan_in_row"] == 2 and summary.total == len(y)
    assert summary.n_failed == 5
    assert "nan_in_row: 2" in str(summary)
    assert "nan_in_row" in res.summary()


def test_mask_and_padding_agree_and_masked_values_are_ignored() -> None:
    y, v, _ = _batch_data(3)
    mask = ~np.isnan(y)
    y2 = np.where(mask, y, 123.0)  # garbage where masked out
    v2 = np.where(mask, v, -1.0)
    a = meta_analysis(y, v)
    b = meta_analysis(y2, v2, mask=mask)
    for name in ("estimate", "tau2", "pi_upper", "q_p_value", "k"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    empty = meta_analysis(y[:2], v[:2], mask=np.zeros_like(mask[:2]))
    assert list(empty.status_name) == ["empty_row", "empty_row"]


def test_nonpositive_weights_flagged() -> None:
    y, v, w = _batch_data(5, rows=3)
    w[1, 0] = 0.0
    res = meta_analysis(y, v, method="GENQ", weights=w)
    assert res.status_name.tolist() == ["ok", "nonpositive_weight", "ok"]


# ------------------------------------------------------------------------------------------
# Streaming and chunking: bounded memory, same numbers
# ------------------------------------------------------------------------------------------
def test_chunk_size_gives_the_same_result() -> None:
    y, v, _ = _batch_data(9, rows=50)
    whole = meta_analysis(y, v, method="REML", test="knha")
    parts = meta_analysis(y, v, method="REML", test="knha", chunk_size=7)
    for name in ("estimate", "se", "tau2", "status", "iterations", "ci_upper"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(parts, name))


def test_streaming_memory_stays_bounded() -> None:
    rows, k, chunk = 1_000_000, 10, 10_000
    meta_analysis(np.zeros((2, k)), np.ones((2, k)), method="DL")  # compile / load outside

    def chunks():
        rng = np.random.default_rng(0)
        for _ in range(rows // chunk):
            v = rng.uniform(0.01, 0.5, (chunk, k))
            yield rng.normal(0.2, np.sqrt(v + 0.05)), v

    total = StatusSummary.from_codes(np.empty(0, dtype=np.int8))
    est_sum = 0.0
    tracemalloc.start()
    try:
        for res in iter_meta_analysis(chunks(), method="DL"):
            total = total + res.status_summary
            est_sum += float(res.estimate.sum())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total.total == rows and total.counts["ok"] == rows
    assert math.isfinite(est_sum)
    # one chunk's inputs (2 x 0.8 MB) and outputs (~2.4 MB) at a time, not 10^6 rows (> 200 MB)
    assert peak < 16 * 2**20, peak


# ------------------------------------------------------------------------------------------
# Result object and input validation
# ------------------------------------------------------------------------------------------
def test_result_containers() -> None:
    y, v, _ = _batch_data(4, rows=5)
    y[2] = np.nan
    v[2] = np.nan
    res = meta_analysis(y, v, method="PM", test="t")
    frame = res.to_frame()
    assert list(frame.columns)[:3] == ["k", "estimate", "se"] and len(frame) == 5
    assert frame["status"].tolist()[2] == "empty_row"
    table = res.to_arrow()
    assert table.num_rows == 5 and table.schema.metadata[b"method"] == b"PM"
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["estimate"][2] is None and d["status"][2] == "empty_row"
    assert d["status_summary"]["empty_row"] == 1
    with pytest.raises(ValueError):
        res.estimate[0] = 1.0  # read-only
    both = BatchResult.concat([res, res])
    assert len(both) == 10 and both.status_summary.counts["empty_row"] == 2
    assert "Batch meta-analysis: 5 analyses (PM, test t" in res.summary()
    assert "<table>" in res.summary("html")


def test_inputs_not_mutated_and_one_row_input() -> None:
    y, v, _ = _batch_data(2, rows=4)
    y0, v0 = y.copy(), v.copy()
    meta_analysis(y, v)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(v, v0)
    one = meta_analysis([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.05, 0.04])
    ref = single([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.05, 0.04])
    assert len(one) == 1 and _close(float(one.estimate[0]), ref.estimate)


@pytest.mark.parametrize(("kwargs", "column"), [
    ({"y": np.zeros((2, 3)), "v": np.ones((2, 4))}, "v"),
    ({"y": np.zeros((2, 3)), "v": np.ones((2, 3)), "method": "GENQ"}, "weights"),
    ({"y": np.zeros((2, 3)), "v": np.ones((2, 3)), "method": "nope"}, "method"),
    ({"y": np.zeros((2, 3)), "v": np.ones((2, 3)), "test": "f"}, "test"),
    ({"y": np.zeros((2, 3)), "v": np.ones((2, 3)), "level": 150.0}, "level"),
    ({"y": np.zeros((2, 3)), "v": np.ones((2, 3)), "mask": np.ones((3, 3))}, "mask"),
    ({"y": np.zeros((2, 3)), "v": np.ones((2, 3)), "chunk_size": 0}, "chunk_size"),
    ({"y": np.zeros((2, 3, 1)), "v": np.ones((2, 3, 1))}, "y"),
    ({"y": [["a", "b"]], "v": [[1.0, 1.0]]}, "y"),
])
def test_bad_options_raise_input_error(kwargs, column) -> None:
    with pytest.raises(InputError) as info:
        meta_analysis(**kwargs)
    assert info.value.column == column


# ------------------------------------------------------------------------------------------
# The numeric pieces behind the kernels
# ------------------------------------------------------------------------------------------
def test_tail_probabilities_match_scipy() -> None:
    from acuevidence.batch._special import chi2_sf, norm_p2, t_p2

    for df in (1, 2, 3, 7, 19, 20, 99, 500):
        for x in (1e-8, 0.3, 1.0, df * 0.5, float(df), df + 3 * math.sqrt(2 * df), 5.0 * df + 40,
                  1500.0):
            want = stats.chi2.sf(x, df)
            assert chi2_sf(x, df) == pytest.approx(want, rel=SPECIAL_TOL, abs=1e-300), (df, x)
        for t in (0.0, 0.01, 0.7, 1.96, 4.0, 12.0, 80.0):
            want = 2 * stats.t.sf(t, df)
            assert t_p2(t, df) == pytest.approx(want, rel=SPECIAL_TOL, abs=1e-300), (df, t)
    for z in (0.0, 0.5, 1.96, 6.0, 30.0):
        assert norm_p2(z) == pytest.approx(2 * stats.norm.sf(z), rel=SPECIAL_TOL, abs=1e-300)


def test_global_maximum_proof_is_sound() -> None:
    """The interval bounds behind the proof never claim a sign the score does not have."""
    from acuevidence.batch import kernels as K

    rng = np.random.default_rng(5)
    for _ in range(200):
        k = int(rng.integers(3, 15))
        v = rng.uniform(0.001, 1.0, k) ** 2
        y = rng.normal(0.0, np.sqrt(v + rng.choice([0.0, 0.05, 0.5])))
        c = float(y.mean())
        grid = np.concatenate([[0.0], np.geomspace(1e-4, 1e3, 200)])
        for reml in (True, False):
            vals = np.array([K._abcd(y, v, k, t, c, reml) for t in grid])
            score = vals[:, 0] - vals[:, 1]
            for i in range(0, len(grid) - 5, 7):
                j = i + 5
                a, b = vals[i], vals[j]
                inside = score[i:j + 1]
                if K._neg_on(grid[i], a[0], a[1], a[2], grid[j], b[0], b[1], b[2]):
                    assert np.all(inside < 0)
                if K._pos_on(grid[i], a[0], a[1], a[3], grid[j], b[0], b[1], b[3]):
                    assert np.all(inside > 0)
                if K._tail_ok(grid[i], a[1], a[4], float(v.min())):
                    assert np.all(score[i:] < 0)


# ------------------------------------------------------------------------------------------
# The lane kernels (LANES rows side by side) against the row kernels, and their pieces
# ------------------------------------------------------------------------------------------
# scipy.special.erfcx is itself accurate to a few ulp: the Chebyshev series is within 6e-16 of
# a 40-digit reference, so the two agree to a few 1e-15.
ERFCX_TOL = 4e-15
LANE_METHODS = ("EE", "DL", "HS", "HSk", "ML", "REML", "PM", "EB", "SJIT", "PMM")


def _kernel_outputs(y, v, mask, method, lanes, max_iter=200):
    """All outputs of kernels.fit_rows (lanes=True: the lane kernels) or of the row kernel run
    row by row (lanes=False), for four tests at once."""
    from acuevidence.batch import _rows, api
    from acuevidence.batch import kernels as K

    opts = api._options(method, TESTS, 0.95, max_iter)
    nrows, kmax = y.shape
    zcrit, tcrit, targets = api._tables(kmax, 0.95)
    tests = np.array([api.TEST_CODES[t] for t in opts.tests], dtype=np.int64)
    out = {"rowf": np.full((6, nrows), -7.0), "k": np.full(nrows, -7),
           "it": np.full(nrows, -7), "status": np.full(nrows, 9, dtype=np.int8),
           "conv": np.zeros(nrows, dtype=np.bool_), "testf": np.full((4, 8, nrows), -7.0)}
    has_mask = mask is not None
    m = mask if has_mask else np.ones((1, 1), dtype=np.bool_)
    a = np.ones((1, 1))
    args = (zcrit, tcrit, targets, max_iter)
    outs = (out["rowf"], out["k"], out["it"], out["status"], out["conv"], out["testf"])
    if lanes:
        K.fit_rows(y, v, m, a, has_mask, False, opts.code, tests, *args, 64, *outs)
    else:
        scratch = np.empty(kmax), np.empty(kmax), np.empty(kmax)
        work = np.empty((9, 32))
        for b in range(nrows):
            _rows._fit_row(b, y, v, m, a, has_mask, False, opts.code, tests, *args, *scratch,
                           *outs)
            # the p-values of Q and the z tests, for this row alone
            _rows._pvalues_rows(b, 1, tests, out["rowf"], out["k"], out["status"],
                                out["testf"], work)
    return out


def _with_bad_rows(y, v):
    y, v = y.copy(), v.copy()
    y[3, 1] = np.nan  # NaN inside the valid part
    v[5, 0] = -0.1  # negative variance
    y[7], v[7] = np.nan, np.nan  # empty
    y[9, 1:], v[9, 1:] = np.nan, np.nan  # k = 1
    y[11, 2] = np.inf
    return y, v


@pytest.mark.parametrize("method", LANE_METHODS)
def test_lane_kernels_give_the_row_kernels_bits(method: str) -> None:
    y, v, _ = _batch_data(200 + LANE_METHODS.index(method), rows=70, kmax=15)
    y, v = _with_bad_rows(y, v)
    lanes = _kernel_outputs(y, v, None, method, True)
    rows = _kernel_outputs(y, v, None, method, False)
    for name in lanes:
        np.testing.assert_array_equal(lanes[name], rows[name], err_msg=name)
    # masked input: garbage where masked out, some studies dropped from the middle
    mask = ~np.isnan(y) | ~np.isnan(v)
    mask[::4, 1] = False
    ym = np.where(mask, y, 99.0)
    vm = np.where(mask, v, -1.0)
    lanes = _kernel_outputs(ym, vm, mask, method, True)
    rows = _kernel_outputs(ym, vm, mask, method, False)
    for name in lanes:
        np.testing.assert_array_equal(lanes[name], rows[name], err_msg=name)


@pytest.mark.parametrize("method", ["ML", "REML", "PM", "PMM"])
def test_lane_kernels_stop_where_the_row_kernels_stop(method: str) -> None:
    """With a small iteration cap, rows stop (and fall back) exactly as the row kernel's do."""
    y, v, _ = _batch_data(31, rows=40, kmax=15)
    for max_iter in (1, 3):
        lanes = _kernel_outputs(y, v, None, method, True, max_iter)
        rows = _kernel_outputs(y, v, None, method, False, max_iter)
        for name in lanes:
            np.testing.assert_array_equal(lanes[name], rows[name], err_msg=name)


def test_streaming_stores_give_the_same_outputs() -> None:
    from acuevidence.batch import _stores, api
    from acuevidence.batch import kernels as K

    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.5, (3000, 12))
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    opts = api._options("REML", ("z",), 0.95, 200)
    zcrit, tcrit, targets = api._tables(12, 0.95)
    tests = np.array([0], dtype=np.int64)
    got = []
    for stream in (False, True):
        outs = (np.empty((6, 3000)), np.empty(3000, np.int64), np.empty(3000, np.int64),
                np.empty(3000, np.int8), np.empty(3000, np.bool_), np.empty((1, 8, 3000)))
        K.fit_rows(y, v, np.ones((1, 1), np.bool_), np.ones((1, 1)), False, False, opts.code,
                   tests, zcrit, tcrit, targets, 200, 96, *outs, stream)
        got.append(outs)
    for a, b in zip(*got):
        np.testing.assert_array_equal(a, b)
    assert isinstance(_stores.STREAMING, bool)


def test_erfcx_matches_scipy() -> None:
    from scipy import special

    from acuevidence.batch._special import erfcx

    rng = np.random.default_rng(0)
    xs = np.concatenate([[0.0, 1e-300, 1e-12, 0.5, 1.0, 4.0, 26.0, 1e3, 1e8, 1e150],
                         rng.uniform(0.0, 12.0, 4000),
                         np.exp(rng.uniform(np.log(1e-10), np.log(1e7), 4000))])
    got = np.array([erfcx(x) for x in xs])
    np.testing.assert_allclose(got, special.erfcx(xs), rtol=ERFCX_TOL, atol=0.0)


def test_tail_probabilities_over_a_wide_range() -> None:
    from acuevidence.batch._special import chi2_sf, norm_p2

    rng = np.random.default_rng(1)
    for df in list(range(1, 41)) + [57, 99, 100, 250, 399, 400, 401, 1000]:
        xs = np.concatenate([rng.uniform(0.0, 3.0 * df + 60.0, 60),
                             np.exp(rng.uniform(np.log(1e-9), np.log(2500.0), 40))])
        want = stats.chi2.sf(xs, df)
        got = np.array([chi2_sf(x, df) for x in xs])
        np.testing.assert_allclose(got, want, rtol=SPECIAL_TOL, atol=1e-300, err_msg=str(df))
    zs = np.concatenate([rng.uniform(0.0, 37.0, 3000), np.exp(rng.uniform(-23.0, 3.6, 1000))])
    for z in (zs, -zs):
        got = np.array([norm_p2(x) for x in z])
        np.testing.assert_allclose(got, 2 * stats.norm.sf(np.abs(z)), rtol=SPECIAL_TOL,
                                   atol=1e-300)
    assert norm_p2(45.0) == 0.0 and math.isnan(norm_p2(math.nan))
    assert chi2_sf(0.0, 3) == 1.0 and math.isnan(chi2_sf(math.nan, 3))


def test_lane_tail_probabilities_give_the_scalar_bits() -> None:
    from acuevidence.batch._special import chi2_sf, lane_chi2_sf, lane_norm_p2, norm_p2
    from acuevidence.batch._sums import LANES

    rng = np.random.default_rng(2)
    special_x = np.array([0.0, -1.0, np.nan, np.inf, 1e4, 1399.9, 1400.1, 1e-300])
    for rep in range(200):
        W = np.zeros((10, LANES))
        W[0] = rng.exponential(30.0, LANES)
        pick = rng.random(LANES) < 0.2
        W[0, pick] = rng.choice(special_x, pick.sum())
        W[1] = rng.integers(1, 60, LANES) if rep % 2 else rng.integers(1, 500)
        lane_chi2_sf(W, 0, 1, 2, 3)
        want = np.array([chi2_sf(x, int(d)) for x, d in zip(W[0], W[1])])
        np.testing.assert_array_equal(W[2], want)
        W[7] = rng.normal(0.0, 8.0, LANES)
        W[7, pick] = rng.choice(np.array([np.nan, np.inf, -np.inf, 40.0, -39.9, 0.0]),
                                pick.sum())
        lane_norm_p2(W, 7, 8)
        np.testing.assert_array_equal(W[8], [norm_p2(z) for z in W[7]])


def test_ladder_proof_rejects_a_local_maximum() -> None:
    """On bimodal likelihoods the lower of two maxima is never certified as the global one."""
    from acuevidence.batch import _likelihood as L
    from acuevidence.batch._sums import LANES, _abcd, _moments

    y, v = _bimodal_rows()
    checked = 0
    for b in range(len(y)):
        ys, vs = y[b], v[b]
        c = float(ys[0])
        s0, _m0, q0, a0, d0, _trp0, _trp20, w20 = _moments(ys, vs, 20, 0.0, c)
        grid = np.concatenate([[0.0], np.geomspace(1e-6, 10.0, 4000)])
        ll = np.array([L._loglik(ys, vs, 20, t, c, False) for t in grid])
        peaks = [i for i in range(len(grid)) if (i == 0 or ll[i] >= ll[i - 1])
                 and (i == len(grid) - 1 or ll[i] > ll[i + 1])]
        if len(peaks) < 2:
            continue
        local = min(peaks, key=lambda i: ll[i])
        t = 0.0 if local == 0 else L._newton_lik(ys, vs, 20, c, False, grid[local],
                                                 grid[local - 1], grid[local + 1], 200,
                                                 float(vs.min()))[0]
        pts = np.empty((L.LADDER, LANES))
        qb = _abcd(ys, vs, 20, t, c, False)
        L._ladder_points(t, L._ladder_tail(float(np.var(ys, ddof=1)), qb[4] / qb[1],
                                           float(vs.min())), float(vs.min()), pts, 0)
        vals = np.zeros((L.LADDER, 6, LANES))
        for r in range(L.LADDER):
            vals[r, :5, 0] = _abcd(ys, vs, 20, pts[r, 0], c, False)
            vals[r, 5, 0] = pts[r, 0]
        assert not L._ladder_proof(vals, 0, t, a0, s0, w20, d0, q0, float(vs.min()))
        checked += 1
    assert checked >= 3  # the bimodal rows do have a lower maximum to reject
