"""Effect sizes and their sampling variances, a port of metafor's ``escalc``.

:func:`effect_sizes` validates its input once, hands plain float arrays to the pure numeric
functions in ``_es_binary``, ``_es_continuous`` and ``_es_other``, and returns the input frame
with ``yi`` and ``vi`` appended. Every formula, default and zero-cell rule follows metafor 3.8;
``validation/r/escalc.R`` pins the agreement case by case.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._es_binary import ZeroReport
from ._es_common import finish
from ._es_input import (
    COUNT_FAMILIES,
    FAMILY,
    MEASURES,
    as_arrays,
    check_options,
    compute,
    map_arguments,
    resolve_measure,
)
from ._validate import format_rows, resolve_column
from .errors import EvidenceWarning, InputError, SmallSampleWarning, ZeroCellWarning

__all__ = ["effect_sizes", "MEASURES"]


def _warn(
    code: str,
    k: int,
    report: ZeroReport | None,
    yi: np.ndarray,
    vi: np.ndarray,
    add: float,
    to: str,
) -> None:
    """Say which rows were corrected, dropped or left without a value."""
    family = FAMILY[code]
    dropped = report.dropped if report is not None else np.zeros(k, dtype=bool)
    if report is not None:
        parts = []
        if dropped.any():
            what = (
                "no events in either group"
                if family == "two_rates"
                else "no events, or no non-events, in both groups"
            )
            parts.append(
                f"row(s) {format_rows(np.flatnonzero(dropped).tolist())} have {what}; "
                "drop00=True leaves their yi and vi missing (NaN)"
            )
        fixed = report.corrected & report.zero
        if fixed.any():
            zero_rows = format_rows(np.flatnonzero(fixed).tolist())
            cells = "each event count" if family in ("two_rates", "one_rate") else "each cell"
            if to == "only0":
                parts.append(
                    f"added {add:g} to {cells} of row(s) {zero_rows}, which have a "
                    "zero count (to='only0', metafor's default)"
                )
            else:
                parts.append(
                    f"added {add:g} to {cells} of all {int(report.corrected.sum())} "
                    f"studies (to='{to}'); row(s) {zero_rows} have a zero count"
                )
        if parts:
            msg = "; ".join(parts)
            warnings.warn(
                f"measure '{code}': {msg[0].upper()}{msg[1:]}.", ZeroCellWarning, stacklevel=3
            )
    lost = (np.isnan(yi) | np.isnan(vi)) & ~dropped
    if not lost.any():
        return
    rows = format_rows(np.flatnonzero(lost).tolist())
    which = "yi and vi" if np.all(np.isnan(yi[lost]) & np.isnan(vi[lost])) else "yi and/or vi"
    category: type[EvidenceWarning]
    if family in COUNT_FAMILIES:
        category = ZeroCellWarning
        why = (
            f"a zero count was left uncorrected (to='{to}', add={add:g}), or the measure is "
            "undefined for a proportion of 0 or 1"
        )
    elif family == "correlation":
        category = SmallSampleWarning
        why = (
            "the sampling variance needs ni > 3 (UCOR needs ni > 4 for yi), and r = +-1 has "
            "no finite Fisher z"
        )
    else:
        category = SmallSampleWarning
        why = (
            "the groups are too small: Hedges' correction needs n1i + n2i > 3 (ni > 2 for "
            "SMN), and a group of one has no variance estimate"
        )
    warnings.warn(
        f"measure '{code}': {which} could not be computed for row(s) {rows} ({why}); they are "
        "NaN, as metafor's NA. Meta-analyses leave such studies out.",
        category,
        stacklevel=3,
    )


def effect_sizes(
    measure: str,
    data: pd.DataFrame | None = None,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    m1i: Any = None,
    m2i: Any = None,
    sd1i: Any = None,
    sd2i: Any = None,
    x1i: Any = None,
    x2i: Any = None,
    t1i: Any = None,
    t2i: Any = None,
    ri: Any = None,
    ni: Any = None,
    xi: Any = None,
    mi: Any = None,
    sdi: Any = None,
    ti: Any = None,
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    vtype: str | Sequence[str] = "LS",
    slab: Any = None,
    var_names: tuple[str, str] = ("yi", "vi"),
    **aliases: Any,
) -> pd.DataFrame:
    """Compute effect sizes ``yi`` and sampling variances ``vi``, as metafor's ``escalc``.

    Parameters
    ----------
    measure : str
        metafor's code of the outcome measure (case-insensitive):

        * 2x2 tables (``ai, bi, ci, di`` or ``ai, n1i, ci, n2i``): ``"RR"`` log risk ratio,
          ``"OR"`` log odds ratio, ``"RD"`` risk difference, ``"AS"`` arcsine square root
          risk difference, ``"PETO"`` Peto's log odds ratio.
        * One proportion (``xi`` and ``mi`` or ``ni``): ``"PR"`` raw, ``"PLN"`` log, ``"PLO"``
          logit, ``"PAS"`` arcsine, ``"PFT"`` Freeman-Tukey double arcsine.
        * Two incidence rates (``x1i, x2i, t1i, t2i``): ``"IRR"`` log rate ratio, ``"IRD"``
          rate difference, ``"IRSD"`` square root rate difference.
        * One incidence rate (``xi, ti``): ``"IR"`` raw, ``"IRLN"`` log, ``"IRS"`` square root,
          ``"IRFT"`` Freeman-Tukey.
        * Two groups' means (``m1i, m2i, sd1i, sd2i, n1i, n2i``): ``"MD"`` mean difference,
          ``"SMD"`` Hedges' g (also from ``di`` = Cohen's d or ``ti`` = a t statistic with
          ``n1i, n2i``), ``"SMDH"`` SMD with heteroscedastic variances, ``"ROM"`` log ratio of
          means.
        * One group (``mi`` = mean, ``sdi``, ``ni``): ``"MN"`` mean, ``"MNLN"`` log mean,
          ``"CVLN"`` log coefficient of variation, ``"SDLN"`` log SD (no ``mi``), ``"SMN"``
          standardized mean.
        * Correlations (``ri, ni``): ``"COR"`` raw, ``"UCOR"`` unbiased, ``"ZCOR"`` Fisher's z.
    data : pandas.DataFrame, optional
        When given, string arguments name its columns and the result is a copy of ``data``
        (every column kept) with ``yi`` and ``vi`` appended (replaced if present).
    ai, bi, ci, di, n1i, n2i, m1i, m2i, sd1i, sd2i, x1i, x2i, t1i, t2i, ri, ni, xi, mi, sdi, ti
        The inputs, named as in metafor: arrays, Series, scalars (repeated for every study) or
        column names of ``data``. Missing values are an error (metafor would return ``NA``).
    add : float, optional
        Amount added to counts with zeros. Default 1/2, or 0 for AS, PAS, PFT, IRSD, IRS and
        IRFT (metafor's defaults). Ignored by measures that do not use counts.
    to : {"only0", "all", "if0all", "none"}
        Which studies get ``add``: only those with a zero count (default), all, all if any
        has a zero count, or none.
    drop00 : bool
        Leave ``yi``/``vi`` missing (NaN) for studies with no events, or no non-events, in both
        groups (2x2 and two-rate measures).
    vtype : str or sequence of str
        Variance type, metafor's names; one for all studies or one per study. ``"LS"`` (large
        sample, default) everywhere; also ``"UB"`` (unbiased), ``"HO"`` (homoscedastic, pooled
        SD) for MD; ``"LS2"``, ``"UB"``, ``"AV"`` (average effect) for SMD; ``"LS2"`` for
        SMDH; ``"HO"``, ``"AV"``, ``"AVHO"`` for ROM; ``"UB"``, ``"AV"`` for RD and PR;
        ``"AV"`` for PLN, PLO and COR; ``"UB"``, ``"AV"`` for UCOR.
    slab : str or array-like, optional
        Study labels (a column of ``data`` or one label per study), added as column ``slab``
        unless it already is a column of ``data``.
    var_names : tuple of str
        Names of the effect size and variance columns.
    **aliases
        Readable names for the inputs: ``events_1`` (ai; x1i for two rates), ``nonevents_1``
        (bi), ``events_2`` (ci; x2i for two rates), ``nonevents_2`` (di), ``n_1`` (n1i),
        ``n_2`` (n2i), ``mean_1``, ``mean_2``, ``sd_1``, ``sd_2``, ``time_1``, ``time_2``,
        ``r`` (ri), ``n`` (ni), ``events`` (xi), ``nonevents`` (mi, proportions),
        ``mean`` (mi, one group), ``sd`` (sdi), ``time`` (ti).

    Returns
    -------
    pandas.DataFrame
        ``data`` (or the given inputs) with columns ``yi`` and ``vi``. Values metafor returns
        as ``NA`` are ``NaN``. The input is never modified.

    Raises
    ------
    InputError
        Unknown measure or argument, missing inputs for the measure, inputs of different
        lengths, non-numeric or missing values, negative counts, events above the group size,
        sizes, SDs or person-times <= 0, correlations outside [-1, 1]; the message names the
        rows (1-based) and the argument or column.

    Warns
    -----
    ZeroCellWarning
        Zero counts were corrected with ``add``, studies were dropped (``drop00``), or a count
        measure could not be computed for some rows.
    SmallSampleWarning
        Too small samples leave ``yi`` or ``vi`` undefined for some rows.

    Notes
    -----
    Every formula is metafor's (``escalc`` in metafor 3.8). Hedges' g uses the exact
    correction ``c(m) = exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2))`` with
    ``m = n1i + n2i - 2`` (Hedges, 1981). As in metafor, ``+-Inf`` or an undefined value in
    ``yi`` or ``vi`` sets both to missing, a negative ``vi`` is set to missing, and for
    correlations ``vi`` is missing when ``ni <= 3``. Unlike metafor, an SD of 0 and a group
    size of 0 in a 2x2 table are errors, and missing inputs are errors instead of giving NA.

    References
    ----------
    .. [1] Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package.
       Journal of Statistical Software, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03
    .. [2] metafor reference manual, ``escalc``: Calculate effect sizes and outcome measures.
       https://wviechtb.github.io/metafor/reference/escalc.html
    .. [3] Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and
       related estimators. Journal of Educational Statistics, 6(2), 107-128.
    .. [4] Hedges, L. V. (1982). Estimation of effect size from a series of independent
       experiments. Psychological Bulletin, 92(2), 490-499.
    .. [5] Bonett, D. G. (2008). Confidence intervals for standardized linear contrasts of
       means. Psychological Methods, 13(2), 99-109 (SMDH).
    .. [6] Hedges, L. V., Gurevitch, J., & Curtis, P. S. (1999). The meta-analysis of response
       ratios in experimental ecology. Ecology, 80(4), 1150-1156 (ROM).
    .. [7] Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009).
       Introduction to Meta-Analysis. Wiley.
    .. [8] Yusuf, S., Peto, R., Lewis, J., Collins, R., & Sleight, P. (1985). Beta blockade
       during and after myocardial infarction. Progress in Cardiovascular Diseases, 27(5),
       335-371 (PETO).
    .. [9] Freeman, M. F., & Tukey, J. W. (1950). Transformations related to the angular and
       the square root. Annals of Mathematical Statistics, 21(4), 607-611 (PFT).
    .. [10] Olkin, I., & Pratt, J. W. (1958). Unbiased estimation of certain correlation
       coefficients. Annals of Mathematical Statistics, 29(1), 201-211 (UCOR).
    .. [11] Fisher, R. A. (1921). On the "probable error" of a coefficient of correlation
       deduced from a small sample. Metron, 1, 3-32 (ZCOR).

    Examples
    --------
    >>> import pandas as pd
    >>> trials = pd.DataFrame({"study": ["A", "B"], "e1": [4, 2], "n1": [50, 40],
    ...                        "e2": [10, 6], "n2": [50, 41]})
    >>> es = effect_sizes("RR", trials, events_1="e1", n_1="n1", events_2="e2", n_2="n2")
    >>> list(es.columns)
    ['study', 'e1', 'n1', 'e2', 'n2', 'yi', 'vi']
    >>> es["yi"].round(4).tolist(), es["vi"].round(4).tolist()
    ([-0.9163, -1.0739], [0.31, 0.6173])
    """
    if data is not None and not isinstance(data, pd.DataFrame):
        raise InputError(
            f"'data' must be a pandas DataFrame; got {type(data).__name__}.", column="data"
        )
    code = resolve_measure(measure)
    explicit = {
        "ai": ai,
        "bi": bi,
        "ci": ci,
        "di": di,
        "n1i": n1i,
        "n2i": n2i,
        "m1i": m1i,
        "m2i": m2i,
        "sd1i": sd1i,
        "sd2i": sd2i,
        "x1i": x1i,
        "x2i": x2i,
        "t1i": t1i,
        "t2i": t2i,
        "ri": ri,
        "ni": ni,
        "xi": xi,
        "mi": mi,
        "sdi": sdi,
        "ti": ti,
    }
    given = map_arguments(code, explicit, aliases)
    args, k = as_arrays(code, given, data)
    add_f, to_s, drop, vt, names = check_options(code, add, to, drop00, vtype, var_names, k)
    raw, report = compute(code, args, add_f, to_s, drop, vt)
    yi, vi = finish(raw)
    _warn(code, k, report, yi, vi, add_f, to_s)

    if data is not None:
        out = data.copy()
    else:
        out = pd.DataFrame({a.given_as: a.values for a in args.values()})
    if data is not None and isinstance(slab, str):
        resolve_column(slab, data, "slab")  # a column of data: already in the copy
    elif slab is not None:
        labels = np.atleast_1d(np.asarray(slab, dtype=object))
        if labels.shape[0] != k:
            raise InputError(
                f"'slab' has {labels.shape[0]} labels for {k} studies; give one per study.",
                column="slab",
            )
        if "slab" in out.columns:
            out["slab"] = labels
        else:
            out.insert(0, "slab", labels)
    out[names[0]] = yi
    out[names[1]] = vi
    return out
