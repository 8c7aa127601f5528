"""Means and SDs from medians, ranges and quartiles (metafor's ``conv.fivenum``).

Public functions are re-exported by :mod:`acuevidence.conversions`. :func:`estimate` is the
pure numeric core: arrays in (``NaN`` for what a study does not report), arrays out.

Notation: ``a`` minimum, ``q1``/``q3`` quartiles, ``m`` median, ``b`` maximum, ``n`` group size;
``xi(n) = 2 Phi^-1((n - 0.375) / (n + 0.25))`` and ``eta(n) = 2 Phi^-1((0.75 n - 0.125) /
(n + 0.25))`` are Wan et al.'s approximations of the expected range and interquartile range of
``n`` standard normal values.

References
----------
See :func:`mean_sd_from_median`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import integrate, stats

from ._convert_input import arrays, fail
from ._validate import as_float_array, format_rows, resolve_column
from .errors import EvidenceWarning, InputError

__all__ = [
    "mean_sd_from_median",
    "mean_sd_from_range",
    "mean_sd_from_quartiles",
    "mean_sd_from_fivenum",
    "estimate",
    "FivenumResult",
    "SCENARIOS",
    "COVERS",
]

# Scenario codes of the output column ``scenario`` (0: nothing to convert).
SCENARIOS = {0: "", 1: "range", 2: "quartiles", 3: "five-number"}

# Which scenarios each method covers, for the mean and for the SD.
COVERS: dict[str, dict[str, frozenset[int]]] = {
    "mean": {
        "luo-wan-shi": frozenset({1, 2, 3}), "luo2018": frozenset({1, 2, 3}),
        "wan2014": frozenset({1, 2, 3}), "hozo2005": frozenset({1}),
        "bland2015": frozenset({3}), "walter2007": frozenset({1}),
    },
    "sd": {
        "luo-wan-shi": frozenset({1, 2, 3}), "wan2014": frozenset({1, 2, 3}),
        "shi2020": frozenset({3}), "hozo2005": frozenset({1}),
        "bland2015": frozenset({3}), "walter2007": frozenset({1}),
    },
}

# metafor (and Shi et al. 2023) leave out groups smaller than this.
MIN_N = 5


@dataclass(frozen=True)
class FivenumResult:
    """Output of :func:`estimate`; ``notes`` are messages for warnings (one per problem)."""

    mean: np.ndarray
    sd: np.ndarray
    scenario: np.ndarray  # labels from SCENARIOS
    skew_stat: np.ndarray
    skew_crit: np.ndarray
    skewed: np.ndarray  # bool
    notes: tuple[str, ...]


def _xi(n: np.ndarray) -> np.ndarray:
    """Wan et al. (2014) eq. (9): approximate expected range of n standard normal values."""
    return 2.0 * stats.norm.ppf((n - 0.375) / (n + 0.25))


def _eta(n: np.ndarray) -> np.ndarray:
    """Wan et al. (2014) eq. (16): approximate expected interquartile range."""
    return 2.0 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))


@cache
def _expected_range(n: float) -> float:
    """Exact expected range of ``n`` standard normal values (Walter & Yao 2007).

    ``E[R] = integral of 1 - Phi(x)^n - (1 - Phi(x))^n over the real line``; the integrand is
    symmetric, so twice the integral over [0, inf).
    """
    def integrand(x: float) -> float:
        return float(1.0 - stats.norm.cdf(x) ** n - stats.norm.sf(x) ** n)

    value, _ = integrate.quad(integrand, 0.0, np.inf, epsabs=1e-14, epsrel=1e-13, limit=500)
    return 2.0 * value


def _skewness(a, q1, m, q3, b, n, s1, s2, s3):  # type: ignore[no-untyped-def]
    """Test statistics and critical values of Shi et al. (2023), per scenario.

    S1: ``|(a + b - 2m) / (b - a)|`` against ``1/ln(n + 9) + 2.5/(n + 1)``;
    S2: ``|(q1 + q3 - 2m) / (q3 - q1)|`` against ``2.65/sqrt(n) - 6/n^2``;
    S3: ``max(2.65 ln(0.6 n)/sqrt(n) * T1, T2)`` against ``3/sqrt(n) - 40/n^3``.
    """
    t1 = np.abs((a + b - 2.0 * m) / (b - a))
    t2 = np.abs((q1 + q3 - 2.0 * m) / (q3 - q1))
    t3 = np.maximum(2.65 * np.log(0.6 * n) / np.sqrt(n) * t1, t2)
    stat = np.select([s1, s2, s3], [t1, t2, t3], np.nan)
    crit = np.select(
        [s1, s2, s3],
        [1.0 / np.log(n + 9.0) + 2.5 / (n + 1.0), 2.65 / np.sqrt(n) - 6.0 / n**2,
         3.0 / np.sqrt(n) - 40.0 / n**3],
        np.nan,
    )
    return stat, crit


def _means(method, a, q1, m, q3, b, n, s1, s2, s3):  # type: ignore[no-untyped-def]
    if method in ("luo-wan-shi", "luo2018"):
        # Luo et al. (2018), equations (7), (11) and (15).
        w1 = 4.0 / (4.0 + n**0.75)
        w2 = 0.7 + 0.39 / n
        w31 = 2.2 / (2.2 + n**0.75)
        w32 = 0.7 - 0.72 / n**0.55
        return np.select([s1, s2, s3], [
            w1 * (a + b) / 2.0 + (1.0 - w1) * m,
            w2 * (q1 + q3) / 2.0 + (1.0 - w2) * m,
            w31 * (a + b) / 2.0 + w32 * (q1 + q3) / 2.0 + (1.0 - w31 - w32) * m,
        ], np.nan)
    five = (a + 2.0 * q1 + 2.0 * m + 2.0 * q3 + b) / 8.0
    if method == "wan2014":
        # Wan et al. (2014); the S3 formula is also Bland's (2015).
        return np.select([s1, s2, s3], [(a + 2.0 * m + b) / 4.0, (q1 + m + q3) / 3.0, five], np.nan)
    if method == "bland2015":
        return np.where(s3, five, np.nan)
    if method == "hozo2005":
        # Hozo et al. (2005): (a + 2m + b)/4 up to n = 25, the median above.
        return np.where(s1, np.where(n <= 25, (a + 2.0 * m + b) / 4.0, m), np.nan)
    if method == "walter2007":
        return np.where(s1, m, np.nan)
    raise AssertionError(method)  # pragma: no cover - methods are parsed before


def _sds(method, a, q1, m, q3, b, n, s1, s2, s3, z):  # type: ignore[no-untyped-def]
    """SDs; ``z`` holds the log-normal adjustments (z1, z2, z3), all 1 for normal rows."""
    z1, z2, z3 = z
    rng, iqr = b - a, q3 - q1
    xi, eta = _xi(n), _eta(n)
    if method in ("luo-wan-shi", "wan2014", "shi2020"):
        wan1 = rng / xi / np.sqrt(z1)  # Wan et al. (2014) eq. (9)
        wan2 = iqr / eta / np.sqrt(z2)  # Wan et al. (2014) eq. (16)
        w = 1.0 / (1.0 + 0.07 * n**0.6)
        shi3 = (w * rng / xi + (1.0 - w) * iqr / eta) / np.sqrt(z3)  # Shi et al. (2020) eq. (10)
        wan3 = (rng / xi + iqr / eta) / 2.0  # Wan et al. (2014), scenario C3
        if method == "luo-wan-shi":
            return np.select([s1, s2, s3], [wan1, wan2, shi3], np.nan)
        if method == "shi2020":
            return np.where(s3, shi3, np.nan)
        return np.select([s1, s2, s3], [wan1, wan2, wan3], np.nan)
    if method == "hozo2005":
        small = np.sqrt(((a - 2.0 * m + b) ** 2 / 4.0 + rng**2) / 12.0)
        return np.where(s1, np.where(n <= 15, small, np.where(n <= 70, rng / 4.0, rng / 6.0)),
                        np.nan)
    if method == "bland2015":
        var = ((a**2 + 2.0 * q1**2 + 2.0 * m**2 + 2.0 * q3**2 + b**2) / 16.0
               + (a * q1 + q1 * m + m * q3 + q3 * b) / 8.0
               - (a + 2.0 * q1 + 2.0 * m + 2.0 * q3 + b) ** 2 / 64.0)
        return np.where(s3, np.sqrt(var), np.nan)
    if method == "walter2007":
        er = np.array([_expected_range(float(v)) if np.isfinite(v) and v >= 2 else np.nan
                       for v in n])
        return np.where(s1, rng / er, np.nan)
    raise AssertionError(method)  # pragma: no cover


def _back_transform(mu, sigma, a, q1, q3, b, n, s1, s2, s3):  # type: ignore[no-untyped-def]
    """Bias-corrected mean and SD of the raw data from those of the logs (Shi, Tong et al. 2020).

    ``mean = exp(mu + sigma^2/2) / phi``,
    ``sd = sqrt(exp(2 mu + 2 sigma^2) / phi_a - exp(2 mu + sigma^2) / phi_b)`` with
    ``phi = 1 + c1 sigma^2/n + c2 s4/n`` (and likewise ``phi_a``, ``phi_b``) and ``s4`` an
    estimate of ``sigma^4``; the constants differ per scenario.
    """
    rng, iqr = b - a, q3 - q1
    xi, eta = _xi(n), _eta(n)
    w = 1.0 / (1.0 + 0.07 * n**0.6)
    s4 = np.select([s1, s2, s3], [
        (rng / xi) ** 4 / (1.0 + 2.23 / np.log(n) ** 2),
        (iqr / eta) ** 4 / (1.0 + 19.2 / n**1.2),
        (w * rng / xi + (1.0 - w) * iqr / eta) ** 4 / (1.0 + 3.93 / n),
    ], np.nan)
    # (c1, c2) for phi, phi_a, phi_b in scenarios 1, 2, 3
    consts = {
        "phi": ((0.565, 0.37), (0.57, 0.75), (0.405, 0.315)),
        "phi_a": ((2.26, 5.92), (2.28, 12.0), (1.62, 5.04)),
        "phi_b": ((2.26, 1.48), (2.28, 3.0), (1.62, 1.26)),
    }
    s2_ = sigma**2
    phi = {
        key: np.select([s1, s2, s3], [1.0 + c1 * s2_ / n + c2 * s4 / n for c1, c2 in cs], np.nan)
        for key, cs in consts.items()
    }
    mean = np.exp(mu + s2_ / 2.0) / phi["phi"]
    sd = np.sqrt(np.exp(2.0 * mu + 2.0 * s2_) / phi["phi_a"]
                 - np.exp(2.0 * mu + s2_) / phi["phi_b"])
    return mean, sd


def _note_rows(mask: np.ndarray, text: str) -> list[str]:
    rows = np.flatnonzero(mask).tolist()
    return [f"Row(s) {format_rows(rows)}: {text}"] if rows else []


def estimate(
    a: np.ndarray, q1: np.ndarray, m: np.ndarray, q3: np.ndarray, b: np.ndarray, n: np.ndarray,
    *, lognormal: np.ndarray, mean_method: str, sd_method: str, back_transform: bool,
    skew_test: bool,
) -> FivenumResult:
    """Means and SDs of the validated arrays (``NaN`` = not reported).

    Inputs must be ordered (``a <= q1 <= m <= q3 <= b`` where given), positive on log-normal
    rows, and ``n`` finite and >= 2 on rows with a scenario; :func:`mean_sd_from_median`
    checks all that.
    """
    k = n.shape[0]
    has_range = ~np.isnan(a) & ~np.isnan(b)
    has_iqr = ~np.isnan(q1) & ~np.isnan(q3)
    small = (has_range | has_iqr) & (n < MIN_N)
    s1 = has_range & ~has_iqr & ~small
    s2 = has_iqr & ~has_range & ~small
    s3 = has_range & has_iqr & ~small
    scenario = np.select([s1, s2, s3], [1, 2, 3], 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a, q1, m, q3, b = (np.where(lognormal, np.log(x), x) for x in (a, q1, m, q3, b))
        stat, crit = _skewness(a, q1, m, q3, b, n, s1, s2, s3)
        skewed = stat >= crit  # NaN (no median, zero spread) compares False, as in metafor
        ln2 = np.log(n) ** 2
        ones = np.ones(k)
        z = (np.where(lognormal, 1.01 + 0.25 / ln2, ones),
             np.where(lognormal, 1.0 + 1.58 / n, ones),
             np.where(lognormal, 1.0 + 0.28 / ln2, ones))
        mean = _means(mean_method, a, q1, m, q3, b, n, s1, s2, s3)
        sd = _sds(sd_method, a, q1, m, q3, b, n, s1, s2, s3, z)
        if back_transform and lognormal.any():
            bt_mean, bt_sd = _back_transform(mean, sd, a, q1, q3, b, n, s1, s2, s3)
            mean = np.where(lognormal, bt_mean, mean)
            sd = np.where(lognormal, bt_sd, sd)
    notes = _note_rows(small, f"n < {MIN_N}, too small to estimate a mean and SD from "
                              "quantiles (metafor's conv.fivenum leaves these out too); left NaN.")
    covered = np.isin(scenario, list(COVERS["mean"][mean_method])) & np.isin(
        scenario, list(COVERS["sd"][sd_method]))
    notes += _note_rows((scenario > 0) & ~covered, f"method ({mean_method!r}, {sd_method!r}) "
                        "does not cover the scenario of these rows; mean or SD left NaN.")
    zero = (s1 | s3) & (b == a) | (s2 | s3) & (q3 == q1)
    notes += _note_rows(zero, "zero range or interquartile range (ties or rounding); the SD "
                        "estimate is doubtful.")
    if skew_test:
        notes += _note_rows(skewed, "the test for skewness of Shi et al. (2023) is significant; "
                            "mean and SD left NaN. Consider distribution='log-normal' or "
                            "skew_test=False.")
        mean = np.where(skewed, np.nan, mean)
        sd = np.where(skewed, np.nan, sd)
    labels = np.array([SCENARIOS[int(s)] for s in scenario], dtype=object)
    return FivenumResult(mean, sd, labels, stat, crit, skewed, tuple(notes))


MethodArg = str | tuple[str, str]
Distribution = Literal["normal", "log-normal"]


def mean_sd_from_median(
    median: ArrayLike | str | None = None,
    n: ArrayLike | str | None = None,
    *,
    minimum: ArrayLike | str | None = None,
    q1: ArrayLike | str | None = None,
    q3: ArrayLike | str | None = None,
    maximum: ArrayLike | str | None = None,
    method: MethodArg = "luo-wan-shi",
    distribution: Distribution | Sequence[str] = "normal",
    back_transform: bool = True,
    skew_test: bool = True,
    data: pd.DataFrame | None = None,
    var_names: tuple[str, str] = ("mean", "sd"),
    replace: Literal["if-missing", "all"] = "if-missing",
    diagnostics: bool = False,
) -> pd.DataFrame:
    """Estimate means and SDs from medians with the range, the quartiles, or both.

    The scenario is chosen per row from what is given, as metafor's ``conv.fivenum`` does:

    * S1 ``"range"``: minimum, median, maximum;
    * S2 ``"quartiles"``: first quartile, median, third quartile;
    * S3 ``"five-number"``: all five values.

    Rows where none of median, minimum, q1, q3, maximum is given are left alone (``NaN``), so
    a table can mix studies reporting means and SDs with studies reporting medians. The SD
    methods of Wan and Shi do not use the median: a row giving a mean-less spread (say the
    range only) gets its SD and a ``NaN`` mean.

    Parameters
    ----------
    median, n, minimum, q1, q3, maximum : float, array-like or column name, optional
        The reported values and the group size. With ``data``, strings name its columns.
    method : str or (str, str), default "luo-wan-shi"
        The method, or a pair (method for the mean, method for the SD):

        * ``"luo-wan-shi"`` (metafor's ``"default"``): mean by Luo et al. (2018), SD by Wan
          et al. (2014) in S1 and S2, by Shi et al. (2020) in S3. The recommended choice.
        * ``"wan2014"``: Wan et al.'s mean and SD (S1-S3).
        * ``"hozo2005"``: Hozo et al. (S1 only).
        * ``"bland2015"``: Bland (S3 only).
        * ``"walter2007"``: Walter & Yao: mean = median, SD = range / expected range of ``n``
          standard normal values (S1 only).
        * ``"luo2018"`` (alias ``"luo2016"``, metafor's name): mean only.
        * ``"shi2020"``: SD only (S3).

        Rows whose scenario the method does not cover get ``NaN`` and an
        :class:`EvidenceWarning`.
    distribution : {"normal", "log-normal"} or sequence of them, default "normal"
        Assumed distribution, per row if a sequence. With ``"log-normal"`` (values must be
        positive; only ``method="luo-wan-shi"``) the methods of Shi, Tong et al. (2020) are
        applied to the logs.
    back_transform : bool, default True
        For log-normal rows, return the mean and SD of the raw data (bias-corrected back-
        transformation of Shi, Tong et al. 2020); ``False`` returns those of the logs.
    skew_test : bool, default True
        Apply the skewness tests of Shi et al. (2023) and leave rows that fail them ``NaN``
        (with an :class:`EvidenceWarning`), as metafor does by default. Log-normal rows are
        tested on the log scale.
    data : pandas.DataFrame, optional
        When given, a copy of it is returned with the estimates in the ``var_names`` columns.
    var_names : (str, str), default ("mean", "sd")
        Names of the output columns.
    replace : {"if-missing", "all"}, default "if-missing"
        With ``data`` whose ``var_names`` columns exist: fill only their missing values
        (metafor's ``replace="ifna"``), or overwrite wherever an estimate exists.
    diagnostics : bool, default False
        Add columns ``scenario``, ``skew_stat``, ``skew_crit`` and ``skewed``.

    Returns
    -------
    pandas.DataFrame
        ``mean`` and ``sd`` (or ``var_names``), one row per study; with ``data``, its columns
        too.

    Raises
    ------
    InputError
        A median without a spread, a minimum without a maximum (or q1 without q3), values out
        of order (``minimum <= q1 <= median <= q3 <= maximum``), missing or ``n < 2``,
        non-positive values with a log-normal distribution, an unknown method, mismatched
        lengths.

    Warns
    -----
    EvidenceWarning
        Rows left ``NaN``: ``n < 5`` (too small for these methods, as in metafor), a
        significant skewness test, a scenario the method does not cover; and rows with a zero
        range or interquartile range.

    Notes
    -----
    Validated against formulas written out in R from the papers, which agree with metafor's
    ``conv.fivenum`` (metafor >= 4.2; ``method="luo2016"`` there is ``"luo2018"`` here). The
    simulation-based methods of that function (``"qe"``, ``"bc"``, ``"mln"``, ``"blue"``) are
    not offered. Estimated means and SDs are less precise than reported ones; consider a
    sensitivity analysis without them.

    References
    ----------
    Hozo SP, Djulbegovic B, Hozo I (2005). Estimating the mean and variance from the median,
        range, and the size of a sample. BMC Med Res Methodol 5:13.
    Walter SD, Yao X (2007). Effect sizes can be calculated for studies reporting ranges for
        outcome variables in systematic reviews. J Clin Epidemiol 60:849-852.
    Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and standard deviation from
        the sample size, median, range and/or interquartile range. BMC Med Res Methodol 14:135.
    Bland M (2015). Estimating mean and standard deviation from the sample size, three
        quartiles, minimum, and maximum. Int J Stat Med Res 4:57-64.
    Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean from the sample
        size, median, mid-range, and/or mid-quartile range. Stat Methods Med Res 27:1785-1805.
    Shi J, Luo D, Weng H, et al. (2020). Optimally estimating the sample standard deviation
        from the five-number summary. Res Synth Methods 11:641-654.
    Shi J, Tong T, Wang Y, Genton MG (2020). Estimating the mean and variance from the
        five-number summary of a log-normal distribution. Stat Interface 13:519-531.
    Shi J, Luo D, Wan X, et al. (2023). Detecting the skewness of data from the five-number
        summary and its application in meta-analysis. Stat Methods Med Res 32:1338-1360.
    """
    if replace not in ("if-missing", "all"):
        raise InputError("The 'replace' parameter must be 'if-missing' or 'all'; got "
                         f"{replace!r}.", column="replace")
    if len(var_names) != 2:
        raise InputError("'var_names' must hold two names (for the mean and the SD).",
                         column="var_names")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise InputError("'data' must be a pandas DataFrame.", column="data")
    raw = {
        "minimum": minimum, "q1": q1, "median": median, "q3": q3, "maximum": maximum, "n": n,
    }
    raw = {name: resolve_column(v, data, name) for name, v in raw.items()}
    if all(raw[name] is None for name in ("minimum", "q1", "median", "q3", "maximum")):
        raise InputError("Give the median with the range (minimum, maximum), the quartiles "
                         "(q1, q3) or both.", column="median")
    if raw["n"] is None:
        raise InputError("'n' (the group size) is needed to estimate means and SDs from "
                         "medians.", column="n")
    arr, _ = arrays(raw, allow_nan=tuple(raw))
    k = next(iter(arr.values())).shape[0]
    if data is not None and k != len(data) and k != 1:
        raise InputError(f"The arguments have {k} values but 'data' has {len(data)} rows.",
                         column="data")
    if data is not None and k == 1 and len(data) != 1:
        arr = {name: np.full(len(data), a[0]) for name, a in arr.items()}
        k = len(data)
    full = {name: arr.get(name, np.full(k, np.nan)) for name in raw}
    lognormal = _parse_distribution(distribution, k)
    mean_m, sd_m = _parse_method(method)
    if lognormal.any() and (mean_m, sd_m) != ("luo-wan-shi", "luo-wan-shi"):
        raise InputError("A log-normal distribution needs method='luo-wan-shi' (the methods of "
                         "Shi, Tong et al. 2020); it is not defined for the other methods.",
                         column="method")
    _check_fivenum(full, lognormal)
    res = estimate(
        full["minimum"], full["q1"], full["median"], full["q3"], full["maximum"], full["n"],
        lognormal=lognormal, mean_method=mean_m, sd_method=sd_m,
        back_transform=back_transform, skew_test=skew_test,
    )
    for msg in res.notes:
        warnings.warn(msg, EvidenceWarning, stacklevel=2)
    out = pd.DataFrame({var_names[0]: res.mean, var_names[1]: res.sd})
    if diagnostics:
        out["scenario"] = res.scenario
        out["skew_stat"] = res.skew_stat
        out["skew_crit"] = res.skew_crit
        out["skewed"] = res.skewed
    if data is None:
        return out
    merged = data.copy()
    out.index = merged.index
    for col in out.columns:
        if col in merged.columns and col in var_names and replace == "if-missing":
            merged[col] = merged[col].astype(float).where(merged[col].notna(), out[col])
        elif col in merged.columns and col in var_names:
            merged[col] = out[col].where(out[col].notna(), merged[col].astype(float))
        else:
            merged[col] = out[col]
    return merged


# metafor's names ("default", "luo/wan/shi", "luo2016") map to ours.
_METHOD_ALIASES = {
    "default": "luo-wan-shi", "luo/wan/shi": "luo-wan-shi", "luo-wan-shi": "luo-wan-shi",
    "luo2016": "luo2018", "luo2018": "luo2018", "wan2014": "wan2014", "hozo2005": "hozo2005",
    "bland2015": "bland2015", "walter2007": "walter2007", "shi2020": "shi2020",
}


_ORDER = ("minimum", "q1", "median", "q3", "maximum")


def _check_fivenum(v: dict[str, np.ndarray], lognormal: np.ndarray) -> None:
    """Complete pairs, a spread for every median, n where needed, order, positivity."""
    isnan = {name: np.isnan(x) for name, x in v.items()}
    for one, other in (("minimum", "maximum"), ("maximum", "minimum"), ("q1", "q3"), ("q3", "q1")):
        fail(~isnan[one] & isnan[other], other, "is missing where '" + one + "' is given",
             f"Give both '{one}' and '{other}', or neither.")
    spread = ~isnan["minimum"] | ~isnan["q1"]
    fail(~isnan["median"] & ~spread, "median", "has neither the range nor the quartiles",
         "A median alone does not give an SD: add minimum/maximum or q1/q3.")
    fail(spread & isnan["n"], "n", "is missing", "Give the group size of every study to convert.")
    fail(spread & (v["n"] < 2), "n", "must be at least 2",
         "Give the number of participants in the group.", v["n"])
    for i, lo in enumerate(_ORDER):
        for hi in _ORDER[i + 1:]:
            bad = v[lo] > v[hi]  # False where either is NaN
            rows = np.flatnonzero(bad).tolist()
            if rows:
                pairs = ", ".join(f"{v[lo][r]:g} > {v[hi][r]:g}" for r in rows[:3])
                raise InputError(
                    f"'{lo}' is above '{hi}' in row(s) {format_rows(rows)} ({pairs}); the values "
                    "must satisfy minimum <= q1 <= median <= q3 <= maximum. Check for swapped "
                    "columns or typing errors.", column=lo, rows=rows)
    for name in _ORDER:
        fail(lognormal & ~(v[name] > 0) & ~isnan[name], name, "must be positive with a "
             "log-normal distribution", "Use distribution='normal' for these rows.", v[name])


def _parse_method(method: MethodArg) -> tuple[str, str]:
    pair = (method, method) if isinstance(method, str) else tuple(method)
    if len(pair) != 2 or not all(isinstance(m, str) for m in pair):
        raise InputError("'method' must be a method name or a pair (mean method, SD method).",
                         column="method")
    resolved: list[str] = []
    for given in pair:
        name = _METHOD_ALIASES.get(given.lower())
        if name is None:
            known = ", ".join(sorted(set(_METHOD_ALIASES.values())))
            raise InputError(f"Unknown method {given!r}; choose from {known}.", column="method")
        resolved.append(name)
    mean_m, sd_m = resolved
    if mean_m == "shi2020":
        raise InputError("'shi2020' estimates only the SD; give a pair such as "
                         "method=('luo2018', 'shi2020').", column="method")
    if sd_m == "luo2018":
        raise InputError("'luo2018' estimates only the mean; give a pair such as "
                         "method=('luo2018', 'wan2014').", column="method")
    return mean_m, sd_m


def _parse_distribution(distribution: str | Sequence[str], k: int) -> np.ndarray:
    names = {"normal": False, "norm": False, "log-normal": True, "lognormal": True, "lnorm": True}
    values = [distribution] * k if isinstance(distribution, str) else list(distribution)
    if len(values) != k:
        raise InputError(f"'distribution' has {len(values)} values for {k} studies; give one "
                         "name, or one per study.", column="distribution")
    bad = [i for i, v in enumerate(values) if not isinstance(v, str) or v.lower() not in names]
    if bad:
        raise InputError(f"'distribution' must be 'normal' or 'log-normal'; row(s) "
                         f"{format_rows(bad)} have {values[bad[0]]!r}.",
                         column="distribution", rows=bad)
    return np.array([names[v.lower()] for v in values], dtype=bool)


def _one_scenario(
    scenario: int, values: dict[str, ArrayLike], n: ArrayLike, method: MethodArg,
    distribution: Distribution | Sequence[str], back_transform: bool, skew_test: bool,
) -> pd.DataFrame:
    for name, v in {**values, "n": n}.items():
        as_float_array(v, name)  # required: no missing values here
    mean_m, sd_m = _parse_method(method)
    for which, m in (("mean", mean_m), ("sd", sd_m)):
        if scenario not in COVERS[which][m]:
            label = SCENARIOS[scenario]
            raise InputError(f"Method {m!r} gives no {which} from the {label} scenario; use "
                             "'luo-wan-shi' or see mean_sd_from_median.", column="method")
    return mean_sd_from_median(
        n=n, method=(mean_m, sd_m), distribution=distribution,
        back_transform=back_transform, skew_test=skew_test, **values,  # type: ignore[arg-type]
    )


def mean_sd_from_range(
    median: ArrayLike, minimum: ArrayLike, maximum: ArrayLike, n: ArrayLike, *,
    method: MethodArg = "luo-wan-shi", distribution: Distribution | Sequence[str] = "normal",
    back_transform: bool = True, skew_test: bool = True,
) -> pd.DataFrame:
    """Mean and SD from the median, minimum and maximum (scenario S1).

    Shortcut for :func:`mean_sd_from_median` where every value is required. Methods covering
    S1: ``"luo-wan-shi"`` (Luo mean, Wan SD), ``"wan2014"``, ``"hozo2005"``,
    ``"walter2007"``, and pairs with ``"luo2018"`` for the mean.

    Parameters
    ----------
    median, minimum, maximum : float or array-like
        The reported values.
    n : float or array-like
        Group size.
    method, distribution, back_transform, skew_test
        As in :func:`mean_sd_from_median`.

    Returns
    -------
    pandas.DataFrame
        Columns ``mean`` and ``sd``.

    Raises
    ------
    InputError
        Any missing value, a method that does not cover S1, and the errors of
        :func:`mean_sd_from_median`.

    References
    ----------
    Wan X, Wang W, Liu J, Tong T (2014). BMC Med Res Methodol 14:135, equation (9).
    Luo D, Wan X, Liu J, Tong T (2018). Stat Methods Med Res 27:1785-1805, equation (7).
    """
    return _one_scenario(1, {"median": median, "minimum": minimum, "maximum": maximum},
                         n, method, distribution, back_transform, skew_test)


def mean_sd_from_quartiles(
    median: ArrayLike, q1: ArrayLike, q3: ArrayLike, n: ArrayLike, *,
    method: MethodArg = "luo-wan-shi", distribution: Distribution | Sequence[str] = "normal",
    back_transform: bool = True, skew_test: bool = True,
) -> pd.DataFrame:
    """Mean and SD from the median and the first and third quartiles (scenario S2).

    Shortcut for :func:`mean_sd_from_median` where every value is required. Methods covering
    S2: ``"luo-wan-shi"`` (Luo mean, Wan SD) and ``"wan2014"``.

    Parameters
    ----------
    median, q1, q3 : float or array-like
        The reported values.
    n : float or array-like
        Group size.
    method, distribution, back_transform, skew_test
        As in :func:`mean_sd_from_median`.

    Returns
    -------
    pandas.DataFrame
        Columns ``mean`` and ``sd``.

    Raises
    ------
    InputError
        Any missing value, a method that does not cover S2, and the errors of
        :func:`mean_sd_from_median`.

    References
    ----------
    Wan X, Wang W, Liu J, Tong T (2014). BMC Med Res Methodol 14:135, equation (16).
    Luo D, Wan X, Liu J, Tong T (2018). Stat Methods Med Res 27:1785-1805, equation (11).
    """
    return _one_scenario(2, {"median": median, "q1": q1, "q3": q3},
                         n, method, distribution, back_transform, skew_test)


def mean_sd_from_fivenum(
    minimum: ArrayLike, q1: ArrayLike, median: ArrayLike, q3: ArrayLike, maximum: ArrayLike,
    n: ArrayLike, *, method: MethodArg = "luo-wan-shi",
    distribution: Distribution | Sequence[str] = "normal", back_transform: bool = True,
    skew_test: bool = True,
) -> pd.DataFrame:
    """Mean and SD from the five-number summary (scenario S3).

    Shortcut for :func:`mean_sd_from_median` where every value is required. Methods covering
    S3: ``"luo-wan-shi"`` (Luo mean, Shi SD), ``"wan2014"``, ``"bland2015"``, and
    ``"shi2020"`` for the SD.

    Parameters
    ----------
    minimum, q1, median, q3, maximum : float or array-like
        The reported values.
    n : float or array-like
        Group size.
    method, distribution, back_transform, skew_test
        As in :func:`mean_sd_from_median`.

    Returns
    -------
    pandas.DataFrame
        Columns ``mean`` and ``sd``.

    Raises
    ------
    InputError
        Any missing value, a method that does not cover S3, and the errors of
        :func:`mean_sd_from_median`.

    References
    ----------
    Luo D, Wan X, Liu J, Tong T (2018). Stat Methods Med Res 27:1785-1805, equation (15).
    Shi J, Luo D, Weng H, et al. (2020). Res Synth Methods 11:641-654, equation (10).
    """
    values = {"minimum": minimum, "q1": q1, "median": median, "q3": q3, "maximum": maximum}
    return _one_scenario(3, values, n, method, distribution,
                         back_transform, skew_test)
