"""Batch meta-analysis: many independent analyses in one call, with columnar results.

:func:`meta_analysis` fits one intercept-only random-effects (or common-effect) model per row of
a (B, k) array and returns a :class:`BatchResult` of 1-D arrays with the same names and the same
numbers as :func:`acuevidence.meta_analysis` gives row by row. :func:`iter_meta_analysis`
streams chunks (bounded memory for 10^8 analyses) and :class:`StatusSummary` adds up the row
statuses across chunks.

Row status codes (column ``status``, :class:`Status`):

====  ========================  ================================================================
code  name                      meaning (outputs)
====  ========================  ================================================================
0     ``ok``                    fitted (all outputs)
1     ``too_few_studies``       k = 1: the single engine's k = 1 answer (estimate = the study's
                                effect, tau^2 = 0, heterogeneity not assessed; t-type tests have
                                0 df, so no p-value or CI)
2     ``not_converged``         an iterative estimator or the arithmetic failed (values overflow);
                                outputs of the last iterate, ``converged`` is False
3     ``nan_in_row``            a missing or infinite y, v (or weight) inside the row's valid part
                                (NaN outputs)
4     ``nonpositive_variance``  a sampling variance <= 0 (NaN outputs)
5     ``empty_row``             no valid study (all masked or all padding; NaN outputs, k = 0)
6     ``nonpositive_weight``    a GENQ / custom weight <= 0 (NaN outputs)
====  ========================  ================================================================

Without ``mask``, a row's valid part ends at its last position where y or v is not NaN: rows of
different lengths are padded at the end with NaN in both arrays. With ``mask`` (True = use the
study), masked-out positions are ignored whatever they hold.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .._validate import positive_int
from ..meta import canonical_method, canonical_test
from ..printer import Report, fmt_number

__all__ = [
    "COLUMNS",
    "METHOD_CODES",
    "TEST_CODES",
    "BatchResult",
    "Status",
    "StatusSummary",
    "fit_many_tests",
    "iter_meta_analysis",
    "meta_analysis",
]

# metafor code -> kernel code (kernels.M_*); EE/FE/CE are one common-effect model.
METHOD_CODES: dict[str, int] = {
    "EE": 0, "FE": 0, "CE": 0, "DL": 1, "DLIT": 2, "HE": 3, "HS": 4, "HSk": 5, "SJ": 6,
    "SJIT": 7, "ML": 8, "REML": 9, "EB": 10, "PM": 11, "PMM": 12, "GENQ": 13,
}
TEST_CODES: dict[str, int] = {"z": 0, "t": 1, "knha": 2, "adhoc": 3}
# Rows per prange block: large enough to amortise the scratch arrays, small enough to balance;
# a multiple of the lane kernels' group of rows (kernels.LANES).
_MAX_BLOCK = 512
_DEFAULT_MAX_ITER = 200
# Outputs larger than this (about the size of an L2 cache) are written with streaming stores:
# they would not stay in the caches anyway, and skipping the read-for-ownership of every line
# saves a sixth of the time of a DL fit.
_STREAM_BYTES = 2 * 2**20

COLUMNS: tuple[str, ...] = (
    "k", "estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "tau2", "tau2_se",
    "i2", "h2", "q", "q_p_value", "pi_lower", "pi_upper", "converged", "iterations", "status",
)


class Status(enum.IntEnum):
    """Per-row status codes of a batch fit (see the module docstring)."""

    ok = 0
    too_few_studies = 1
    not_converged = 2
    nan_in_row = 3
    nonpositive_variance = 4
    empty_row = 5
    nonpositive_weight = 6


@dataclass(frozen=True)
class StatusSummary:
    """How many rows ended with each status; add summaries of chunks with ``+``."""

    counts: Mapping[str, int]

    @classmethod
    def from_codes(cls, status: np.ndarray) -> StatusSummary:
        binc = np.bincount(np.asarray(status, dtype=np.int64), minlength=len(Status))
        return cls({s.name: int(binc[s.value]) for s in Status})

    @property
    def total(self) -> int:
        return int(sum(self.counts.values()))

    @property
    def n_failed(self) -> int:
        """Rows without a usable fit (every status but ok and too_few_studies)."""
        return self.total - self.counts["ok"] - self.counts["too_few_studies"]

    def __add__(self, other: StatusSummary) -> StatusSummary:
        return StatusSummary({s.name: self.counts[s.name] + other.counts[s.name] for s in Status})

    def to_dict(self) -> dict[str, int]:
        return dict(self.counts)

    def __str__(self) -> str:
        parts = [f"{name}: {n}" for name, n in self.counts.items() if n]
        return f"{self.total} rows (" + (", ".join(parts) or "none") + ")"


@dataclass(frozen=True)
class BatchResult:
    """Columnar results of a batch fit: one entry per row of the input, in input order.

    Every array is 1-D of length B and read-only. Names and meanings are those of
    :class:`acuevidence.results.MetaResult`; missing values are NaN (not None). ``iterations``
    counts the kernel's own steps, which are not the single engine's (different algorithms
    reach the same root).
    """

    method: str
    test: str
    level: float
    k: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    tau2: np.ndarray
    tau2_se: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    q: np.ndarray
    q_p_value: np.ndarray
    pi_lower: np.ndarray
    pi_upper: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    status: np.ndarray
    status_summary: StatusSummary = field(compare=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        for name in COLUMNS:
            arr = getattr(self, name)
            if arr.flags.writeable:
                arr = arr.view()
                arr.setflags(write=False)
                object.__setattr__(self, name, arr)
        if self.status_summary is None:
            object.__setattr__(self, "status_summary", StatusSummary.from_codes(self.status))

    def __len__(self) -> int:
        return int(self.k.shape[0])

    @property
    def status_name(self) -> np.ndarray:
        """The status of each row as its name (``"ok"``, ``"nan_in_row"``, ...)."""
        names = np.array([s.name for s in Status], dtype=object)
        return names[self.status]

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with one row per analysis and the columns of :data:`COLUMNS`."""
        out = pd.DataFrame({name: getattr(self, name) for name in COLUMNS})
        out["status"] = pd.Categorical.from_codes(self.status.astype(np.int64),
                                                  [s.name for s in Status])
        return out

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table`` (zero-copy for the numeric columns; status as a dictionary)."""
        pa = _import_pyarrow()
        cols = {name: pa.array(getattr(self, name)) for name in COLUMNS if name != "status"}
        cols["status"] = pa.DictionaryArray.from_arrays(
            pa.array(self.status.astype(np.int8)), pa.array([s.name for s in Status]))
        meta = {"method": self.method, "test": self.test, "level": repr(self.level)}
        return pa.table(cols, metadata=meta)

    def to_dict(self) -> dict[str, Any]:
        """Columnar, JSON-safe dict (lists with None for NaN) plus the options and summary."""
        from ..results import json_safe

        out: dict[str, Any] = {"method": self.method, "test": self.test, "level": self.level}
        for name in COLUMNS:
            out[name] = json_safe(getattr(self, name))
        out["status"] = [s for s in self.status_name]
        out["status_summary"] = self.status_summary.to_dict()
        return out

    def summary(self, fmt: str = "text") -> str:
        """Options, the status counts and the distribution of the main outputs."""
        rep = Report(f"Batch meta-analysis: {len(self)} analyses ({self.method}, test "
                     f"{self.test}, level {fmt_number(self.level, 2)})")
        rep.add_section("Row status", [(k, str(v)) for k, v in self.status_summary.counts.items()])
        ok = self.status <= Status.too_few_studies
        rows = []
        for name in ("k", "estimate", "se", "tau2", "i2", "p_value"):
            x = np.asarray(getattr(self, name)[ok], dtype=float)
            x = x[np.isfinite(x)]
            if x.size:
                q = np.quantile(x, [0.0, 0.25, 0.5, 0.75, 1.0])
                rows.append({"column": name, "min": q[0], "q1": q[1], "median": q[2],
                             "q3": q[3], "max": q[4]})
        if rows:
            rep.add_table("Fitted rows", pd.DataFrame(rows))
        n_nc = int(np.sum(~self.converged[ok]))
        if n_nc:
            rep.notes.append(f"{n_nc} fitted rows did not converge.")
        return rep.render(fmt)

    @classmethod
    def concat(cls, parts: Iterable[BatchResult]) -> BatchResult:
        """Join results of consecutive chunks (same method, test and level) into one."""
        parts = list(parts)
        if not parts:
            raise InputError("concat needs at least one BatchResult.", column="parts")
        first = parts[0]
        for p in parts[1:]:
            if (p.method, p.test, p.level) != (first.method, first.test, first.level):
                raise InputError("Cannot concatenate batch results of different method, test "
                                 "or level.", column="parts")
        arrays = {name: np.concatenate([getattr(p, name) for p in parts]) for name in COLUMNS}
        return cls(method=first.method, test=first.test, level=first.level, **arrays)


def _import_pyarrow():
    try:
        import pyarrow as pa
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("to_arrow() needs pyarrow: pip install 'acuevidence[batch]'") from e
    return pa


def _kernels():
    try:
        from . import kernels
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("The batch engine needs numba: pip install 'acuevidence[batch]'") from e
    return kernels


# ------------------------------------------------------------------------------------------
# Boundary validation
# ------------------------------------------------------------------------------------------
def _as_2d(x: Any, name: str, dtype: Any = np.float64) -> np.ndarray:
    if dtype is np.bool_:
        arr = _as_mask(x, name)
    else:
        try:
            arr = np.asarray(x, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise InputError(f"'{name}' must be a numeric (B, k) array: {e}",
                             column=name) from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"'{name}' must be 2-D (B data sets x k studies); got shape "
                         f"{arr.shape}.", column=name)
    return np.ascontiguousarray(arr)


def _as_mask(x: Any, name: str) -> np.ndarray:
    """A boolean array from booleans or 0/1 numbers (anything else, e.g. strings, would
    silently count as True)."""
    raw = np.asarray(x)
    if raw.dtype.kind == "b":
        return raw
    if raw.dtype.kind in "iuf" and np.isin(raw, (0, 1)).all():
        return raw.astype(np.bool_)
    raise InputError(f"'{name}' must hold True/False (or 1/0) for each study; got values of "
                     f"type {raw.dtype}.", column=name)


def _check_level(level: float) -> float:
    from .._validate import check_level

    return check_level(level)


@dataclass(frozen=True)
class _Options:
    method: str
    code: int
    tests: tuple[str, ...]
    level: float
    max_iter: int


def _options(method: str, tests: Iterable[str], level: float, max_iter: int) -> _Options:
    m = canonical_method(method)
    ts = tuple(canonical_test(t) for t in tests)
    return _Options(m, METHOD_CODES[m], ts, _check_level(level),
                    positive_int(max_iter, "max_iter", what="iteration cap"))


def _inputs(y: Any, v: Any, mask: Any, weights: Any, opts: _Options):
    ya = _as_2d(y, "y")
    va = _as_2d(v, "v")
    if ya.shape != va.shape:
        raise InputError(f"'y' and 'v' must have the same shape; got {ya.shape} and "
                         f"{va.shape}.", column="v")
    if mask is not None:
        ma = _as_2d(mask, "mask", dtype=np.bool_)
        if ma.shape != ya.shape:
            raise InputError(f"'mask' must have the shape of 'y' {ya.shape}; got {ma.shape}.",
                             column="mask")
    else:
        ma = None
    if weights is not None:
        wa = _as_2d(weights, "weights")
        if wa.shape != ya.shape:
            raise InputError(f"'weights' must have the shape of 'y' {ya.shape}; got "
                             f"{wa.shape}.", column="weights")
    else:
        wa = None
        if opts.method == "GENQ":
            raise InputError("method='GENQ' needs 'weights' (a (B, k) array of the weights of "
                             "the generalized Q statistic, e.g. 1/v or sample sizes).",
                             column="weights")
    return ya, va, ma, wa


@functools.lru_cache(maxsize=64)
def _tables(kmax: int, level: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Critical values and PMM targets by df (cached: SciPy's quantiles cost more than fitting a
    small chunk; callers must not modify them)."""
    from scipy import stats

    alpha = 1.0 - level
    df = np.arange(kmax + 1, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        tcrit = np.where(df > 0, stats.t.isf(alpha / 2, np.maximum(df, 1)), np.nan)
        targets = np.where(df > 0, stats.chi2.ppf(0.5, np.maximum(df, 1)), np.nan)
    return float(stats.norm.isf(alpha / 2)), tcrit, targets


# ------------------------------------------------------------------------------------------
# Core call (several tests at once: tau^2 is fitted once per row)
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Raw:
    rowf: np.ndarray
    k: np.ndarray
    iterations: np.ndarray
    status: np.ndarray
    converged: np.ndarray
    testf: np.ndarray


def _fit(ya: np.ndarray, va: np.ndarray, ma: np.ndarray | None, wa: np.ndarray | None,
         opts: _Options, threads: int | None = None) -> _Raw:
    K = _kernels()
    nrows, kmax = ya.shape
    zcrit, tcrit, targets = _tables(kmax, opts.level)
    tests = np.array([TEST_CODES[t] for t in opts.tests], dtype=np.int64)
    rowf = np.empty((len(K.ROW_FIELDS), nrows))
    k_out = np.empty(nrows, dtype=np.int64)
    it_out = np.empty(nrows, dtype=np.int64)
    st_out = np.empty(nrows, dtype=np.int8)
    cv_out = np.empty(nrows, dtype=np.bool_)
    testf = np.empty((len(tests), len(K.TEST_FIELDS), nrows))
    mask = ma if ma is not None else np.ones((1, 1), dtype=np.bool_)
    a = wa if wa is not None else np.ones((1, 1))
    import numba

    old = numba.get_num_threads()
    n_threads = old if threads is None else min(
        positive_int(threads, "threads", what="Numba threads for this call"),
        numba.config.NUMBA_NUM_THREADS)
    block = int(max(1, min(_MAX_BLOCK, -(-nrows // (8 * n_threads)))))
    block = -(-block // K.LANES) * K.LANES
    # Change the thread count only when it differs: setting it (even to the same value) makes
    # the OpenMP layer rebuild its team, which costs a third of a 100,000-row DL batch.
    change = n_threads != old
    try:
        if change:
            numba.set_num_threads(n_threads)
        if nrows:
            K.fit_rows(ya, va, mask, a, ma is not None, wa is not None, opts.code, tests,
                       zcrit, tcrit, targets, opts.max_iter, block, rowf, k_out, it_out,
                       st_out, cv_out, testf, rowf.nbytes + testf.nbytes > _STREAM_BYTES)
    finally:
        if change:
            numba.set_num_threads(old)
    return _Raw(rowf, k_out, it_out, st_out, cv_out, testf)


def _result(raw: _Raw, opts: _Options, ti: int = 0) -> BatchResult:
    K = _kernels()
    cols: dict[str, np.ndarray] = {name: raw.rowf[i] for i, name in enumerate(K.ROW_FIELDS)}
    cols.update({name: raw.testf[ti, i] for i, name in enumerate(K.TEST_FIELDS)})
    return BatchResult(method=opts.method, test=opts.tests[ti], level=opts.level, k=raw.k,
                       converged=raw.converged, iterations=raw.iterations, status=raw.status,
                       **cols)


# ------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------
def meta_analysis(
    y: Any,
    v: Any,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    mask: Any = None,
    chunk_size: int | None = None,
    *,
    weights: Any = None,
    max_iter: int = _DEFAULT_MAX_ITER,
    threads: int | None = None,
) -> BatchResult:
    """Fit one meta-analysis per row of ``y``/``v`` (B data sets x k studies).

    Parameters
    ----------
    y, v : array_like, shape (B, k)
        Effect sizes and sampling variances; a 1-D array is one data set. Rows may be ragged:
        pad them at the end with NaN in both arrays, or pass ``mask``.
    method : str
        A tau^2 estimator as in :func:`acuevidence.meta_analysis`: ``"EE"``/``"FE"``/``"CE"``,
        ``"DL"``, ``"DLIT"``, ``"HE"``, ``"HS"``, ``"HSk"``, ``"SJ"``, ``"SJIT"``, ``"ML"``,
        ``"REML"`` (default), ``"EB"``, ``"PM"``, ``"PMM"``, ``"GENQ"`` (needs ``weights``), or
        a readable name (``"paule-mandel"``).
    test : str
        ``"z"``, ``"t"``, ``"knha"`` (Knapp-Hartung) or ``"adhoc"``.
    level : float
        Confidence level of the CI and the prediction interval.
    mask : array_like of bool, shape (B, k), optional
        True where a study belongs to the data set.
    chunk_size : int, optional
        Fit this many rows at a time (bounds the working memory of the input conversion;
        the result is the same).
    weights : array_like, shape (B, k), optional
        Custom weights for the pooled estimate and GENQ's weights, as ``weights`` of the single
        engine.
    max_iter : int
        Iteration cap of the iterative estimators (fallbacks follow; see ``status``).
    threads : int, optional
        Numba threads for this call (default: all cores).

    Returns
    -------
    BatchResult
        Columnar results; bad rows never raise but get a :class:`Status` code and NaN outputs,
        counted in ``result.status_summary``.

    Examples
    --------
    >>> import numpy as np
    >>> res = meta_analysis(np.array([[0.1, 0.3, 0.35, 0.6]]), np.array([[0.02, 0.03, 0.05,
    ...                     0.04]]))
    >>> round(float(res.estimate[0]), 4)
    0.3068
    """
    opts = _options(method, (test,), level, max_iter)
    ya, va, ma, wa = _inputs(y, v, mask, weights, opts)
    if chunk_size is None:
        return _result(_fit(ya, va, ma, wa, opts, threads), opts)
    chunk = _check_chunk(chunk_size)
    parts = []
    for start in range(0, ya.shape[0], chunk):
        sl = slice(start, start + chunk)
        parts.append(_result(_fit(ya[sl], va[sl], None if ma is None else ma[sl],
                                  None if wa is None else wa[sl], opts, threads), opts))
    if not parts:
        return _result(_fit(ya, va, ma, wa, opts, threads), opts)
    return BatchResult.concat(parts)


def _check_chunk(chunk_size: Any) -> int:
    if not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        raise InputError(f"The 'chunk_size' parameter must be a positive integer; got "
                         f"{chunk_size!r}.", column="chunk_size")
    return int(chunk_size)


def iter_meta_analysis(
    chunks: Iterable[tuple[Any, ...]],
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    *,
    max_iter: int = _DEFAULT_MAX_ITER,
    threads: int | None = None,
) -> Iterator[BatchResult]:
    """Stream batch fits: one :class:`BatchResult` per incoming chunk.

    ``chunks`` yields ``(y, v)``, ``(y, v, mask)`` or ``(y, v, mask, weights)`` tuples (e.g.
    read from disk or simulated on the fly). Only one chunk's inputs and results are alive at a
    time, so memory stays bounded however many analyses stream through; add the chunks'
    ``status_summary`` for the summary at the end.
    """
    opts = _options(method, (test,), level, max_iter)
    for item in chunks:
        if not isinstance(item, tuple) or not 2 <= len(item) <= 4:
            raise InputError("Each chunk must be a tuple (y, v), (y, v, mask) or "
                             "(y, v, mask, weights).", column="chunks")
        y, v, mask, weights = (tuple(item) + (None, None))[:4]
        ya, va, ma, wa = _inputs(y, v, mask, weights, opts)
        yield _result(_fit(ya, va, ma, wa, opts, threads), opts)


def fit_many_tests(y: Any, v: Any, method: str, tests: Iterable[str], level: float = 0.95,
                   mask: Any = None, weights: Any = None, max_iter: int = _DEFAULT_MAX_ITER,
                   threads: int | None = None) -> dict[str, BatchResult]:
    """Fit tau^2 once per row and return one :class:`BatchResult` per test (for simulations)."""
    opts = _options(method, tuple(tests), level, max_iter)
    ya, va, ma, wa = _inputs(y, v, mask, weights, opts)
    raw = _fit(ya, va, ma, wa, opts, threads)
    return {t: _result(raw, opts, i) for i, t in enumerate(opts.tests)}
