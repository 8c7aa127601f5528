"""Input handling of :func:`acuevidence.effect_sizes`: measures, arguments and aliases, checks.

Everything here runs once, at the boundary: it maps readable aliases to metafor's argument names,
resolves data columns, converts to float arrays, checks the values (naming the rows, 1-based,
and the argument or column) and hands plain arrays to the numeric modules.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import _es_binary, _es_continuous, _es_other
from ._es_common import Raw
from ._validate import as_float_array, format_rows, resolve_column
from .errors import InputError

__all__ = [
    "MEASURES",
    "FAMILY",
    "COUNT_FAMILIES",
    "resolve_measure",
    "map_arguments",
    "as_arrays",
    "check_options",
    "compute",
]

# measure -> family; the family fixes the inputs and the numeric function.
FAMILY: dict[str, str] = {
    **dict.fromkeys(("RR", "OR", "RD", "AS", "PETO"), "binary"),
    **dict.fromkeys(("PR", "PLN", "PLO", "PAS", "PFT"), "proportion"),
    **dict.fromkeys(("IRR", "IRD", "IRSD"), "two_rates"),
    **dict.fromkeys(("IR", "IRLN", "IRS", "IRFT"), "one_rate"),
    **dict.fromkeys(("MD", "SMD", "SMDH", "ROM"), "two_group"),
    **dict.fromkeys(("MN", "MNLN", "CVLN", "SDLN", "SMN"), "one_group"),
    **dict.fromkeys(("COR", "UCOR", "ZCOR"), "correlation"),
}

#: Supported measures (metafor's codes) and what they are.
MEASURES: dict[str, str] = {
    "RR": "log risk ratio",
    "OR": "log odds ratio",
    "RD": "risk difference",
    "AS": "arcsine square root transformed risk difference",
    "PETO": "log odds ratio, Peto's method",
    "PR": "raw proportion",
    "PLN": "log transformed proportion",
    "PLO": "logit transformed proportion",
    "PAS": "arcsine square root transformed proportion",
    "PFT": "Freeman-Tukey double arcsine transformed proportion",
    "IRR": "log incidence rate ratio",
    "IRD": "incidence rate difference",
    "IRSD": "square root transformed incidence rate difference",
    "IR": "raw incidence rate",
    "IRLN": "log transformed incidence rate",
    "IRS": "square root transformed incidence rate",
    "IRFT": "Freeman-Tukey transformed incidence rate",
    "MD": "raw mean difference",
    "SMD": "standardized mean difference (Hedges' g)",
    "SMDH": "standardized mean difference with heteroscedastic population variances",
    "ROM": "log transformed ratio of means",
    "MN": "raw mean",
    "MNLN": "log transformed mean",
    "CVLN": "log transformed coefficient of variation",
    "SDLN": "log transformed standard deviation",
    "SMN": "single-group standardized mean",
    "COR": "raw correlation coefficient",
    "UCOR": "unbiased estimate of the correlation coefficient",
    "ZCOR": "Fisher's r-to-z transformed correlation coefficient",
}

# metafor measures this port does not offer (named so the error can say so).
_METAFOR_ONLY = [
    "PHI",
    "YUQ",
    "YUY",
    "RTET",
    "PBIT",
    "OR2D",
    "OR2DN",
    "OR2DL",
    "MPRD",
    "MPRR",
    "MPOR",
    "MPORC",
    "MPPETO",
    "MPORM",
    "SMD1",
    "SMD1H",
    "RPB",
    "RBIS",
    "D2OR",
    "D2ORN",
    "D2ORL",
    "CVR",
    "VR",
    "PCOR",
    "ZPCOR",
    "SPCOR",
    "MC",
    "SMCC",
    "SMCR",
    "SMCRH",
    "ROMC",
    "CVRC",
    "VRC",
    "ARAW",
    "AHW",
    "ABT",
    "REH",
    "GEN",
]

# Variance types per measure (first = default "LS"); metafor's names.
_VTYPES: dict[str, tuple[str, ...]] = {
    "RD": ("LS", "UB", "AV"),
    "PR": ("LS", "UB", "AV"),
    "PLN": ("LS", "AV"),
    "PLO": ("LS", "AV"),
    "MD": ("LS", "UB", "HO"),
    "SMD": ("LS", "LS2", "UB", "AV"),
    "SMDH": ("LS", "LS2"),
    "ROM": ("LS", "HO", "AV", "AVHO"),
    "COR": ("LS", "AV"),
    "UCOR": ("LS", "UB", "AV"),
}

# metafor sets add = 0 for these unless add is given.
_ADD_ZERO = frozenset(("AS", "PAS", "PFT", "IRSD", "IRS", "IRFT"))
COUNT_FAMILIES = frozenset(("binary", "proportion", "two_rates", "one_rate"))
_TO = ("all", "only0", "if0all", "none")

_ARG_NAMES = [
    "ai",
    "bi",
    "ci",
    "di",
    "n1i",
    "n2i",
    "m1i",
    "m2i",
    "sd1i",
    "sd2i",
    "x1i",
    "x2i",
    "t1i",
    "t2i",
    "ri",
    "ni",
    "xi",
    "mi",
    "sdi",
    "ti",
]

# Readable aliases -> metafor argument; a family-specific target where the meaning differs.
_ALIASES: dict[str, dict[str, str]] = {
    "events_1": {"*": "ai", "two_rates": "x1i"},
    "nonevents_1": {"*": "bi"},
    "events_2": {"*": "ci", "two_rates": "x2i"},
    "nonevents_2": {"*": "di"},
    "n_1": {"*": "n1i"},
    "n_2": {"*": "n2i"},
    "mean_1": {"*": "m1i"},
    "mean_2": {"*": "m2i"},
    "sd_1": {"*": "sd1i"},
    "sd_2": {"*": "sd2i"},
    "time_1": {"*": "t1i"},
    "time_2": {"*": "t2i"},
    "r": {"*": "ri"},
    "n": {"*": "ni"},
    "events": {"*": "xi"},
    "nonevents": {"proportion": "mi"},
    "mean": {"one_group": "mi"},
    "sd": {"*": "sdi"},
    "time": {"*": "ti"},
}

_DESCRIPTION = {
    "ai": "events in group 1",
    "bi": "non-events in group 1",
    "ci": "events in group 2",
    "di": "non-events in group 2",
    "n1i": "size of group 1",
    "n2i": "size of group 2",
    "m1i": "mean of group 1",
    "m2i": "mean of group 2",
    "sd1i": "SD of group 1",
    "sd2i": "SD of group 2",
    "x1i": "events in group 1",
    "x2i": "events in group 2",
    "t1i": "person-time of group 1",
    "t2i": "person-time of group 2",
    "ri": "correlation",
    "ni": "sample size",
    "xi": "events",
    "mi": "non-events",
    "sdi": "SD",
    "ti": "person-time",
}


def _desc(name: str, code: str) -> str:
    """What an argument holds for this measure (``mi``, ``di``, ``ti`` mean different things)."""
    family = FAMILY[code]
    if name == "mi" and family == "one_group":
        return "mean"
    if name == "di" and code == "SMD":
        return "standardized mean difference d"
    if name == "ti" and code == "SMD":
        return "t statistic"
    return _DESCRIPTION[name]


@dataclass
class _Arg:
    """One numeric input after resolution: where it came from and its values."""

    name: str  # metafor's argument name
    given_as: str  # the keyword the caller used
    column: str | None  # the data column, when it came from ``data``
    values: np.ndarray
    scalar: bool
    desc: str = ""

    @property
    def label(self) -> str:
        if self.column is not None:
            return f"column '{self.column}' ({self.given_as})"
        return f"'{self.given_as}'"

    @property
    def key(self) -> str:
        return self.column if self.column is not None else self.given_as


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def resolve_measure(measure: Any) -> str:
    if not isinstance(measure, str):
        raise InputError(
            f"The 'measure' parameter must be a string such as 'OR' or 'SMD'; got {measure!r}.",
            column="measure",
        )
    code = measure.strip().upper()
    if code in FAMILY:
        return code
    if code in _METAFOR_ONLY:
        raise InputError(
            f"measure '{measure}' exists in metafor's escalc but is not supported here; "
            f"supported: {', '.join(MEASURES)}.",
            column="measure",
        )
    raise InputError(
        f"Unknown measure '{measure}'.{_suggest(code, list(MEASURES))} "
        f"Supported measures: {', '.join(MEASURES)}.",
        column="measure",
    )


def _required(code: str) -> list[tuple[str, ...]]:
    """Required inputs of a measure; a tuple lists alternatives (one of them is enough)."""
    family = FAMILY[code]
    if family == "binary":
        return [("ai",), ("bi", "n1i"), ("ci",), ("di", "n2i")]
    if family == "proportion":
        return [("xi",), ("mi", "ni")]
    if family == "two_rates":
        return [("x1i",), ("x2i",), ("t1i",), ("t2i",)]
    if family == "one_rate":
        return [("xi",), ("ti",)]
    if family == "two_group":
        return [("m1i",), ("m2i",), ("sd1i",), ("sd2i",), ("n1i",), ("n2i",)]
    if family == "one_group":
        return [("sdi",), ("ni",)] if code == "SDLN" else [("mi",), ("sdi",), ("ni",)]
    return [("ri",), ("ni",)]


def _allowed(code: str) -> set[str]:
    allowed = {name for group in _required(code) for name in group}
    if code == "SMD":
        allowed |= {"di", "ti"}  # SMD from a reported d or t statistic, as metafor
    return allowed


def map_arguments(
    code: str, explicit: dict[str, Any], aliases: dict[str, Any]
) -> dict[str, tuple[str, Any]]:
    """Merge metafor-named and alias arguments into {metafor name: (keyword used, value)}."""
    family = FAMILY[code]
    given: dict[str, tuple[str, Any]] = {k: (k, v) for k, v in explicit.items() if v is not None}
    options = ["measure", "data", "add", "to", "drop00", "vtype", "slab", "var_names"]
    for key, value in aliases.items():
        if key not in _ALIASES:
            raise InputError(
                f"effect_sizes() got an unknown argument '{key}'."
                f"{_suggest(key, list(_ALIASES) + list(_ARG_NAMES) + options)}",
                column=key,
            )
        targets = _ALIASES[key]
        target = targets.get(family, targets.get("*"))
        if target is None:
            uses = ", ".join(f"{a} (for {fam} measures)" for fam, a in targets.items())
            raise InputError(
                f"'{key}' means {uses}; measure '{code}' does not take it.", column=key
            )
        if value is None:
            continue
        if target in given:
            raise InputError(
                f"'{key}' and '{given[target][0]}' both give '{target}' "
                f"({_desc(target, code)}); pass only one of them.",
                column=key,
            )
        given[target] = (key, value)
    allowed = _allowed(code)
    extra = sorted(set(given) - allowed)
    if extra:
        raise InputError(
            f"measure '{code}' does not use {', '.join(repr(given[e][0]) for e in extra)}; "
            f"it takes {_describe_required(code)}.",
            column=given[extra[0]][0],
        )
    missing = [group for group in _required(code) if not any(g in given for g in group)]
    if code == "SMD" and ("di" in given or "ti" in given):
        missing = [g for g in missing if g[0] in ("n1i", "n2i")]
    if missing:
        names = ", ".join(" or ".join(group) for group in missing)
        raise InputError(
            f"measure '{code}' ({MEASURES[code]}) needs {names}, which "
            f"{'is' if len(missing) == 1 else 'are'} missing; it takes "
            f"{_describe_required(code)}.",
            column=missing[0][0],
        )
    return given


def _describe_required(code: str) -> str:
    parts = [" or ".join(group) for group in _required(code)]
    text = ", ".join(parts)
    if code == "SMD":
        text += " (or di = Cohen's d, or ti = t statistic, with n1i, n2i)"
    return text


def as_arrays(
    code: str, given: dict[str, tuple[str, Any]], data: pd.DataFrame | None
) -> tuple[dict[str, _Arg], int]:
    """Resolve column names, convert to float arrays and broadcast scalars."""
    args: dict[str, _Arg] = {}
    for name, (keyword, value) in given.items():
        column = value if (data is not None and isinstance(value, str)) else None
        resolved = resolve_column(value, data, keyword)
        if isinstance(resolved, pd.Series) and pd.api.types.is_numeric_dtype(resolved):
            # nullable dtypes (Int64, Float64) hold pd.NA, which is missing, not "non-numeric"
            resolved = resolved.to_numpy(dtype=np.float64, na_value=np.nan)
        scalar = np.ndim(resolved) == 0 and not isinstance(resolved, str)
        if isinstance(resolved, str):
            raise InputError(
                f"'{keyword}' is the string {resolved!r}; pass numbers, or a column name "
                "together with data=.",
                column=keyword,
            )
        arr = as_float_array(resolved, column if column is not None else keyword, allow_nan=True)
        args[name] = _Arg(name, keyword, column, arr, scalar, _desc(name, code))
    if data is not None:
        k = len(data)
    else:
        lengths = {a.given_as: a.values.shape[0] for a in args.values() if not a.scalar}
        k = max(lengths.values()) if lengths else 1
    wrong = [a.given_as for a in args.values() if not a.scalar and a.values.shape[0] != k]
    if wrong:
        desc = ", ".join(
            f"{a.given_as} has {a.values.shape[0]}" for a in args.values() if not a.scalar
        )
        rows = f"data has {k} rows; " if data is not None else ""
        raise InputError(
            f"Arguments have different lengths ({rows}{desc}). Give one value per study for "
            "each (or a single number to use for every study).",
            column=wrong[0],
        )
    if k == 0:
        raise InputError("There are no studies (0 rows) to compute effect sizes for.")
    for a in args.values():
        if a.scalar:
            a.values = np.full(k, a.values[0])
    return args, k


def _fail(arg: _Arg, mask: np.ndarray, what: str, fix: str) -> None:
    rows = np.flatnonzero(mask).tolist()
    if rows:
        vals = ", ".join(f"{arg.values[i]:g}" for i in rows[:3])
        raise InputError(
            f"{arg.label} ({arg.desc}) {what} in row(s) {format_rows(rows)} "
            f"(value(s) {vals}). {fix}",
            column=arg.key,
            rows=rows,
        )


def _no_missing(arg: _Arg, mask: np.ndarray | None = None, alt: str = "") -> None:
    miss = np.isnan(arg.values) if mask is None else mask
    rows = np.flatnonzero(miss).tolist()
    if rows:
        raise InputError(
            f"{arg.label} ({arg.desc}) is missing in row(s) {format_rows(rows)}"
            f"{alt}. Fill in the value or drop those rows before computing effect sizes.",
            column=arg.key,
            rows=rows,
        )


def _counts(args: dict[str, _Arg], events: str, rest: str, total: str) -> np.ndarray:
    """Validate events and the non-events/total alternative; return the non-events."""
    ev = args[events]
    _no_missing(ev)
    _fail(ev, ev.values < 0, "is negative", "Counts must be 0 or more.")
    other = args.get(rest)
    tot = args.get(total)
    if tot is not None:
        _fail(tot, tot.values <= 0, "is not positive", "A group needs at least one participant.")
        _fail(
            ev,
            ev.values > tot.values,
            f"exceeds {tot.label}",
            "Events cannot outnumber participants; check for swapped columns.",
        )
    if other is not None and tot is not None:
        both = ~np.isnan(other.values) & ~np.isnan(tot.values)
        _fail(
            tot,
            both & (tot.values != ev.values + other.values),
            f"is not {ev.label} + {other.label}",
            "Give consistent counts or only one of them.",
        )
    if other is None:
        assert tot is not None
        _no_missing(tot)
        return tot.values - ev.values
    values = other.values
    if tot is not None:
        values = np.where(np.isnan(values), tot.values - ev.values, values)
    alt = f" (and {tot.label} does not fill it in)" if tot is not None else ""
    _no_missing(other, np.isnan(values), alt)
    _fail(
        _Arg(other.name, other.given_as, other.column, values, False, other.desc),
        values < 0,
        "is negative",
        "Counts must be 0 or more.",
    )
    if tot is None:
        _fail(
            other,
            ev.values + values <= 0,
            f"is 0 together with {ev.label}",
            "A group needs at least one participant.",
        )
    return values


def check_options(
    code: str, add: Any, to: Any, drop00: Any, vtype: Any, var_names: Any, k: int
) -> tuple[float, str, bool, np.ndarray, tuple[str, str]]:
    """Check the options; return ``add`` (metafor's default when None), ``to``, ``drop00``,
    one variance type per study and the two output column names."""
    if add is None:
        add_f = 0.0 if code in _ADD_ZERO else 0.5
    else:
        try:
            add_f = float(add)
        except (TypeError, ValueError):
            raise InputError(
                f"The 'add' parameter must be a number; got {add!r}.", column="add"
            ) from None
        if not np.isfinite(add_f) or add_f < 0:
            raise InputError(
                f"The 'add' parameter must be a finite number >= 0; got {add!r}.", column="add"
            )
    to_s = to.lower() if isinstance(to, str) else to
    if to_s not in _TO:
        raise InputError(
            f"The 'to' parameter must be one of {', '.join(map(repr, _TO))}; got {to!r}."
            f"{_suggest(str(to), _TO)}",
            column="to",
        )
    if not isinstance(drop00, bool | np.bool_):
        raise InputError(
            f"The 'drop00' parameter must be True or False; got {drop00!r}.", column="drop00"
        )
    allowed = _VTYPES.get(code, ("LS",))
    raw = [vtype] if isinstance(vtype, str) else list(vtype)
    if len(raw) not in (1, k) or (code == "SMDH" and len(raw) != 1):
        per_study = "" if code == "SMDH" else " or one per study"
        raise InputError(
            f"The 'vtype' parameter must be one string{per_study}; got {len(raw)} values for "
            f"{k} studies.",
            column="vtype",
        )
    vt = []
    for i, v in enumerate(raw):
        v_s = v.upper() if isinstance(v, str) else v
        if v_s not in allowed:
            where = f" (row {i + 1})" if len(raw) > 1 else ""
            opts = ", ".join(map(repr, allowed))
            hint = (
                " (metafor offers no variance types for this measure)" if len(allowed) == 1 else ""
            )
            if code == "COR" and v_s == "UB":
                hint = " (the unbiased variance goes with measure='UCOR', as in metafor)"
            raise InputError(
                f"The 'vtype' parameter for measure '{code}' must be {opts}{hint}; "
                f"got {v!r}{where}.",
                column="vtype",
            )
        vt.append(v_s)
    vt_arr = np.array(vt * k if len(vt) == 1 else vt, dtype=object)
    if (
        not isinstance(var_names, Sequence)
        or isinstance(var_names, str)
        or len(var_names) != 2
        or not all(isinstance(v, str) for v in var_names)
        or var_names[0] == var_names[1]
    ):
        raise InputError(
            f"The 'var_names' parameter must be two different column names; got {var_names!r}.",
            column="var_names",
        )
    return add_f, to_s, bool(drop00), vt_arr, (var_names[0], var_names[1])


def compute(
    code: str, args: dict[str, _Arg], add: float, to: str, drop00: bool, vtype: np.ndarray
) -> tuple[Raw, _es_binary.ZeroReport | None]:
    """Validate the values of the inputs for ``code`` and compute the raw effect sizes."""
    family = FAMILY[code]
    v = {name: a.values for name, a in args.items()}
    if family == "binary":
        bi = _counts(args, "ai", "bi", "n1i")
        di = _counts(args, "ci", "di", "n2i")
        return _es_binary.two_by_two(
            code, v["ai"], bi, v["ci"], di, add=add, to=to, drop00=drop00, vtype=vtype
        )
    if family == "proportion":
        mi = _counts(args, "xi", "mi", "ni")
        return _es_binary.proportion(code, v["xi"], mi, add=add, to=to, vtype=vtype)
    if family in ("two_rates", "one_rate"):
        events = ("x1i", "x2i") if family == "two_rates" else ("xi",)
        times = ("t1i", "t2i") if family == "two_rates" else ("ti",)
        for name in events + times:
            _no_missing(args[name])
        for name in events:
            _fail(args[name], v[name] < 0, "is negative", "Counts must be 0 or more.")
        for name in times:
            _fail(
                args[name], v[name] <= 0, "is not positive", "Person-time must be greater than 0."
            )
        if family == "two_rates":
            return _es_other.two_rates(
                code, v["x1i"], v["x2i"], v["t1i"], v["t2i"], add=add, to=to, drop00=drop00
            )
        return _es_other.one_rate(code, v["xi"], v["ti"], add=add, to=to)
    if family == "correlation":
        for name in ("ri", "ni"):
            _no_missing(args[name])
        _fail(
            args["ri"],
            np.abs(v["ri"]) > 1,
            "is outside [-1, 1]",
            "A correlation lies between -1 and 1; check the sign and the scale.",
        )
        _fail(args["ni"], v["ni"] <= 0, "is not positive", "A sample size must be at least 1.")
        return _es_other.correlation(code, v["ri"], v["ni"], vtype=vtype), None
    if family == "one_group":
        for name in ("mi", "sdi", "ni"):
            if name in args:
                _no_missing(args[name])
        _fail(args["ni"], v["ni"] <= 0, "is not positive", "A sample size must be at least 1.")
        _fail(
            args["sdi"],
            v["sdi"] <= 0,
            "is not positive",
            "A standard deviation must be greater than 0; an SD of 0 gives no variance.",
        )
        mi = v.get("mi", np.full_like(v["ni"], np.nan))
        if code in ("MNLN", "CVLN"):
            _fail(
                args["mi"],
                mi <= 0,
                "is not positive",
                f"measure '{code}' takes the log of the mean, which must be greater than 0.",
            )
        return _es_continuous.one_group(code, mi, v["sdi"], v["ni"]), None
    return _two_group(code, args, vtype), None


def _two_group(code: str, args: dict[str, _Arg], vtype: np.ndarray) -> Raw:
    v = {name: a.values for name, a in args.items()}
    for name in ("n1i", "n2i"):
        _no_missing(args[name])
        _fail(
            args[name], v[name] <= 0, "is not positive", "A group needs at least one participant."
        )
    n1i, n2i = v["n1i"], v["n2i"]
    k = n1i.shape[0]
    d_rows = np.zeros(k, dtype=bool)
    d = np.full(k, np.nan)
    if code == "SMD" and ("di" in args or "ti" in args):
        # metafor: di <- replmiss(di, ti * sqrt(1/n1i + 1/n2i)); rows with a d use it.
        if "di" in args:
            d = v["di"].copy()
        if "ti" in args:
            d = np.where(np.isnan(d), v["ti"] * np.sqrt(1 / n1i + 1 / n2i), d)
        d_rows = ~np.isnan(d)
    names = ("m1i", "m2i", "sd1i", "sd2i")
    if not d_rows.all():
        for name in names:
            if name not in args:
                rows = np.flatnonzero(~d_rows).tolist()
                given = " or ".join(repr(args[n].given_as) for n in ("di", "ti") if n in args)
                raise InputError(
                    f"Row(s) {format_rows(rows)} have no {given}, so they need {name} "
                    f"({_desc(name, code)}) and the other means and SDs, which were not given.",
                    column=name,
                    rows=rows,
                )
    arr = {}
    for name in names:
        if name in args:
            a = args[name]
            _no_missing(
                a,
                np.isnan(a.values) & ~d_rows,
                " (and no d or t statistic was given for them)" if d_rows.any() else "",
            )
            if name.startswith("sd"):
                _fail(
                    a,
                    (a.values <= 0) & ~d_rows,
                    "is not positive",
                    "A standard deviation must be greater than 0; an SD of 0 gives no "
                    "variance (impute it from similar trials if it was not reported).",
                )
            arr[name] = a.values
        else:
            arr[name] = np.full(k, np.nan)
    if code == "ROM":
        _fail(
            args["m1i"],
            (arr["m1i"] * arr["m2i"] <= 0),
            f"and {args['m2i'].label} do not have the same sign (or one is 0)",
            "The ratio of means needs two means of the same sign; use MD or SMD instead.",
        )
    m1i = np.where(d_rows, d, arr["m1i"])
    m2i = np.where(d_rows, 0.0, arr["m2i"])
    sd1i = np.where(d_rows, 1.0, arr["sd1i"])
    sd2i = np.where(d_rows, 1.0, arr["sd2i"])
    return _es_continuous.two_group(code, m1i, m2i, sd1i, sd2i, n1i, n2i, vtype=vtype)
