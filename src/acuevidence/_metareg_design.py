"""Design matrices for meta-regression: formulas, matrices and column names, checked once.

``build_design`` turns the ``mods`` argument of :func:`acuevidence.meta_regression` into a
validated float matrix ``X`` (k, p) with term names, and keeps what :meth:`predict` needs to
build rows for new moderator values through the same coding (formulaic's model spec for
formulas, the column list otherwise). Every problem is reported as :class:`InputError` naming
the rows and the column: missing values, non-numeric continuous moderators, unknown variables,
collinear terms, too few studies.

Collinear moderators are refused (metafor drops the redundant columns with a warning,
"Redundant predictors dropped from the model"): silently dropping a term changes the meaning of
the remaining coefficients, so the user is asked to drop or recode it instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._validate import as_float_array, format_rows
from .errors import InputError

__all__ = ["Design", "build_design", "intercept_only", "new_rows"]

# Relative singular-value threshold below which a column counts as a linear combination of the
# columns before it (columns are scaled to unit length first, so this is scale-free).
COLLINEAR_TOL = 1e-9
INTERCEPT = "intercept"


@dataclass(frozen=True, eq=False)
class Design:
    """A checked design matrix and how it was built (for predictions at new values)."""

    X: np.ndarray
    terms: tuple[str, ...]
    intercept: bool  # the design contains a column of ones (metafor's int.incl)
    kind: str  # "formula", "matrix", "columns" or "none" (intercept only)
    formula: str | None = None
    spec: Any = field(default=None, repr=False)  # formulaic ModelSpec (kind == "formula")
    variables: tuple[str, ...] = ()  # data variables the moderators are built from
    frame: pd.DataFrame | None = field(default=None, repr=False)  # those variables, per study
    columns: tuple[str, ...] = ()  # matrix / column-name input: names of the given columns

    @property
    def p(self) -> int:
        return self.X.shape[1]


def intercept_only(k: int) -> Design:
    """The design of a model without moderators."""
    return Design(np.ones((k, 1)), (INTERCEPT,), True, "none")


def build_design(mods: Any, data: pd.DataFrame | None, intercept: bool, k: int) -> Design:
    """Build and check the design matrix for ``k`` studies (see :func:`meta_regression`)."""
    if mods is None:
        return intercept_only(k)
    if isinstance(mods, str) and data is not None and mods in data.columns:
        mods = [mods]
    if isinstance(mods, str):
        design = _from_formula(mods, data, intercept, k)
    elif isinstance(mods, Sequence) and len(mods) > 0 and all(isinstance(m, str) for m in mods):
        design = _from_columns(list(mods), data, intercept, k)
    else:
        design = _from_matrix(mods, intercept, k)
    _check_rank(design.X, design.terms)
    return design


# ----------------------------------------------------------------------------------------
# Formula input
# ----------------------------------------------------------------------------------------
def _import_formulaic():
    try:
        import formulaic
    except ImportError as exc:  # pragma: no cover - formulaic is a core dependency
        raise ImportError("Formula moderators need the 'formulaic' package: "
                          "pip install formulaic") from exc
    return formulaic


def _formula_errors(formulaic) -> tuple[type[BaseException], ...]:
    # formulaic's own errors, and the built-ins a transform such as np.log(x) can raise.
    return (formulaic.errors.FormulaicError, ValueError, TypeError, KeyError, NameError)


def _normalise_formula(text: str, intercept: bool) -> str:
    f = text.strip()
    if "~" in f:
        lhs, _, rhs = f.partition("~")
        if lhs.strip():
            raise InputError(
                f"'mods' must be a one-sided formula of moderators such as '~ x1 + x2'; got "
                f"{text!r}. The effect sizes are given by 'yi'.", column="mods")
        f = rhs.strip()
    if not f:
        raise InputError("'mods' is an empty formula; give moderators such as 'x1 + C(group)' or "
                         "leave 'mods' out for a model without moderators.", column="mods")
    # R users write factor(x); formulaic's categorical coding is C(x) (same treatment contrasts).
    f = re.sub(r"\bfactor\(", "C(", f)
    if not intercept:
        f = f + " - 1"
    return f


def _from_formula(text: str, data: pd.DataFrame | None, intercept: bool, k: int) -> Design:
    if data is None:
        raise InputError(f"A formula for 'mods' ({text!r}) needs 'data': the DataFrame that holds "
                         "its variables.", column="mods")
    formulaic = _import_formulaic()
    rhs = _normalise_formula(text, intercept)
    try:
        formula = formulaic.Formula(rhs)
        needed = sorted(str(v) for v in formula.required_variables)
    except _formula_errors(formulaic) as exc:
        raise InputError(f"Cannot read the moderator formula {text!r}: {exc}", column="mods") \
            from None
    # Stateful transforms (center(x), scale(x), poly(x, 2), bs(x)) hide their variables from
    # required_variables: add every data column the formula text names.
    named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", rhs)) | set(re.findall(r"`([^`]+)`", rhs))
    variables = [str(c) for c in data.columns if str(c) in set(needed) | named]
    unknown = [v for v in needed if v not in data.columns and not _is_namespace(v)]
    if unknown:
        raise InputError(
            f"The moderator formula {text!r} uses {', '.join(repr(u) for u in unknown)}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not a column of the data; available "
            f"columns: {', '.join(map(str, data.columns))}.", column=unknown[0])
    if len(data) != k:
        raise InputError(f"'data' has {len(data)} rows but there are {k} studies.", column="data")
    frame = data[variables].reset_index(drop=True)
    for v in variables:
        _check_formula_column(frame[v], v, rhs)
    try:
        mm = formulaic.model_matrix(rhs, frame, na_action="raise")
    except _formula_errors(formulaic) as exc:
        raise InputError(f"Cannot build the moderators from the formula {text!r}: {exc}",
                         column="mods") from None
    X = np.asarray(mm, dtype=float)
    terms = [INTERCEPT if c == "Intercept" else str(c) for c in mm.columns]
    if X.shape[1] == 0:
        raise InputError(f"The formula {text!r} gives no model terms; add moderators or an "
                         "intercept.", column="mods")
    X, terms, has_int = _move_intercept(X, terms)
    return Design(X, tuple(terms), has_int, "formula", formula=rhs, spec=mm.model_spec,
                  variables=tuple(variables), frame=frame)


def _is_namespace(name: str) -> bool:
    # formulaic lists module names used in transforms (np.log(x)) among required variables.
    return name in {"np", "numpy", "math", "pd"}


def _check_formula_column(col: pd.Series, name: str, formula: str) -> None:
    missing = [i for i, x in enumerate(col.tolist()) if _is_missing(x)]
    if missing:
        raise InputError(
            f"Moderator '{name}' is missing in row(s) {format_rows(missing)}. Fill in the values "
            "or drop those studies before the meta-regression.", column=name, rows=missing)
    if col.dtype.kind in "OSU" and not re.search(rf"C\(\s*{re.escape(name)}\b", formula):
        # A text column enters a formula as categorical. When most values are numbers, the
        # column is a continuous moderator with stray text (e.g. "12 wk"): refuse, name rows.
        vals = col.tolist()
        numeric = [_as_number(x) is not None for x in vals]
        if sum(numeric) >= max(1, len(vals) // 2) and not all(numeric):
            bad = [i for i, ok in enumerate(numeric) if not ok]
            examples = ", ".join(repr(vals[i]) for i in bad[:3])
            raise InputError(
                f"Moderator '{name}' looks continuous but row(s) {format_rows(bad)} hold "
                f"non-numeric values ({examples}). Fix those values, or write C({name}) in the "
                "formula if it is meant to be categorical.", column=name, rows=bad)


def _is_missing(x: Any) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(isinstance(x, float | np.floating) and math.isnan(x))
    except TypeError:
        return False


def _as_number(x: Any) -> float | None:
    if isinstance(x, bool | np.bool_):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


# ----------------------------------------------------------------------------------------
# Column names and matrices
# ----------------------------------------------------------------------------------------
def _from_columns(names: list[str], data: pd.DataFrame | None, intercept: bool, k: int) -> Design:
    if data is None:
        raise InputError(f"'mods' names columns ({', '.join(names)}) but no 'data' was given.",
                         column="mods")
    unknown = [n for n in names if n not in data.columns]
    if unknown:
        raise InputError(
            f"Moderator column(s) {', '.join(repr(u) for u in unknown)} not in the data; "
            f"available columns: {', '.join(map(str, data.columns))}.", column=unknown[0])
    if len(data) != k:
        raise InputError(f"'data' has {len(data)} rows but there are {k} studies.", column="data")
    cols = [_numeric_column(data[n].reset_index(drop=True), n) for n in names]
    X = np.column_stack(cols)
    frame = data[names].reset_index(drop=True).astype(float)
    return _finish_matrix(X, list(names), intercept, "columns", frame)


def _numeric_column(col: Any, name: str) -> np.ndarray:
    if isinstance(col, pd.Series) and isinstance(col.dtype, pd.CategoricalDtype):
        raise InputError(
            f"Moderator '{name}' is categorical; give 'mods' as a formula such as 'C({name})' so "
            "that it is coded as indicator variables.", column=name)
    try:
        return as_float_array(col, name)
    except InputError as exc:
        msg = str(exc)
        if "non-numeric" in msg:
            msg += (f" If '{name}' is categorical, give 'mods' as a formula with C({name}) so "
                    "that it is coded as indicator variables.")
        raise InputError(msg, column=name, rows=exc.rows) from None


def _from_matrix(mods: Any, intercept: bool, k: int) -> Design:
    if isinstance(mods, pd.DataFrame):
        names = [str(c) for c in mods.columns]
        cols = [_numeric_column(mods.iloc[:, j].reset_index(drop=True), names[j])
                for j in range(mods.shape[1])]
        if not cols:
            raise InputError("'mods' has no columns.", column="mods")
        X = np.column_stack(cols)
        frame = pd.DataFrame(X, columns=names)
    else:
        if isinstance(mods, pd.Series):
            names = [str(mods.name) if mods.name is not None else "mod1"]
            arr = _numeric_column(mods.reset_index(drop=True), names[0])[:, None]
        else:
            raw = np.asarray(mods, dtype=object)
            if raw.ndim == 1:
                raw = raw[:, None]
            if raw.ndim != 2:
                raise InputError(f"'mods' must be a vector or a matrix; got shape {raw.shape}.",
                                 column="mods")
            names = [f"mod{j + 1}" for j in range(raw.shape[1])]
            arr = np.column_stack([_numeric_column(raw[:, j], names[j])
                                   for j in range(raw.shape[1])]) if raw.shape[1] else raw
        X = np.asarray(arr, dtype=float)
        if X.shape[1] == 0:
            raise InputError("'mods' has no columns.", column="mods")
        frame = pd.DataFrame(X, columns=names)
    if X.shape[0] != k:
        raise InputError(f"'mods' has {X.shape[0]} rows but there are {k} studies; give one row "
                         "of moderator values per study.", column="mods")
    return _finish_matrix(X, names, intercept, "matrix", frame)


def _finish_matrix(X: np.ndarray, names: list[str], intercept: bool, kind: str,
                   frame: pd.DataFrame) -> Design:
    if intercept:
        X = np.column_stack([np.ones(X.shape[0]), X])
        terms = [INTERCEPT] + names
    else:
        terms = list(names)
    X, terms, has_int = _move_intercept(X, terms)
    return Design(X, tuple(terms), has_int, kind, variables=tuple(names), frame=frame,
                  columns=tuple(names))


def _move_intercept(X: np.ndarray, terms: list[str]) -> tuple[np.ndarray, list[str], bool]:
    """Put a column of ones first and call it ``intercept`` (metafor's int.incl)."""
    ones = [j for j in range(X.shape[1]) if np.all(X[:, j] == 1.0)]
    if not ones:
        return X, terms, False
    j = ones[0]
    order = [j] + [i for i in range(X.shape[1]) if i != j]
    terms = [terms[i] for i in order]
    if terms[0] != INTERCEPT and X.shape[1] > 1:
        terms[0] = INTERCEPT if INTERCEPT not in terms else terms[0]
    return X[:, order], terms, True


def _check_rank(X: np.ndarray, terms: Sequence[str]) -> None:
    """Raise when a term is (numerically) a linear combination of the terms before it."""
    norms = np.sqrt(np.sum(X * X, axis=0))
    zero = [terms[j] for j in range(X.shape[1]) if norms[j] == 0]
    if zero:
        raise InputError(f"Moderator term(s) {', '.join(repr(z) for z in zero)} are zero in every "
                         "study and carry no information; remove them.", column=zero[0])
    Xs = X / norms
    redundant: list[tuple[str, list[str]]] = []
    kept: list[int] = []
    for j in range(X.shape[1]):
        cand = kept + [j]
        s = np.linalg.svd(Xs[:, cand], compute_uv=False)
        if s[-1] <= COLLINEAR_TOL * s[0]:
            # Which kept terms does it depend on? Least squares coefficients that matter.
            coef, *_ = np.linalg.lstsq(Xs[:, kept], Xs[:, j], rcond=None) if kept else (
                np.zeros(0),)
            uses = [terms[kept[i]] for i in range(len(kept)) if abs(coef[i]) > 1e-8]
            redundant.append((terms[j], uses))
        else:
            kept.append(j)
    if redundant:
        parts = []
        for name, uses in redundant:
            if uses == [INTERCEPT]:
                parts.append(f"'{name}' is constant across studies (collinear with the intercept)")
            elif uses:
                parts.append(f"'{name}' is a linear combination of "
                             f"{', '.join(repr(u) for u in uses)}")
            else:
                parts.append(f"'{name}' is redundant")
        raise InputError(
            "The moderators are collinear: " + "; ".join(parts) + ". Remove or recode the "
            "redundant term(s) (metafor would drop them with 'Redundant predictors dropped from "
            "the model'); check for empty factor-level combinations in interactions.",
            column=redundant[0][0])


# ----------------------------------------------------------------------------------------
# New rows (predict, bubble plot)
# ----------------------------------------------------------------------------------------
def new_rows(design: Design, newmods: Any) -> np.ndarray:
    """Design rows for new moderator values, coded exactly as the fitted design."""
    p = design.p
    if design.kind == "none":
        if newmods is not None:
            raise InputError("The model has no moderators; call predict() without 'newmods'.",
                             column="newmods")
        return np.ones((1, 1))
    if newmods is None:
        return design.X.copy()
    if isinstance(newmods, dict):
        newmods = pd.DataFrame({k: np.atleast_1d(v) for k, v in newmods.items()})
    if isinstance(newmods, pd.DataFrame) and design.kind == "formula":
        missing = [v for v in design.variables if v not in newmods.columns]
        if missing:
            raise InputError(f"'newmods' lacks the moderator(s) {', '.join(map(repr, missing))} "
                             "used in the formula.", column=missing[0])
        for v in design.variables:
            _check_formula_column(newmods[v].reset_index(drop=True), v, design.formula or "")
        try:
            mm = design.spec.get_model_matrix(newmods.reset_index(drop=True), na_action="raise")
        except _formula_errors(_import_formulaic()) as exc:
            raise InputError(f"Cannot code 'newmods' with the model formula: {exc}",
                             column="newmods") from None
        Xn = np.asarray(mm, dtype=float)
        names = [INTERCEPT if c == "Intercept" else str(c) for c in mm.columns]
        order = [names.index(t) for t in design.terms]
        return Xn[:, order]
    if isinstance(newmods, pd.DataFrame):
        missing = [c for c in design.columns if c not in newmods.columns]
        if missing:
            raise InputError(f"'newmods' lacks the moderator column(s) "
                             f"{', '.join(map(repr, missing))}.", column=missing[0])
        arr = np.column_stack([_numeric_column(newmods[c].reset_index(drop=True), c)
                               for c in design.columns])
    else:
        try:
            arr = np.asarray(newmods, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"'newmods' must be numeric moderator values (a number, a list, a "
                             f"matrix with one row per prediction, a dict or a DataFrame); got "
                             f"{newmods!r}.", column="newmods") from None
        if arr.ndim > 2:
            raise InputError(f"'newmods' must be a vector or a matrix; got shape {arr.shape}.",
                             column="newmods")
        if arr.ndim == 0:
            arr = arr.reshape(1, 1)
        elif arr.ndim == 1:
            n_mod = p - 1 if design.intercept else p
            arr = arr[:, None] if n_mod == 1 else arr[None, :]
        if not np.all(np.isfinite(arr)):
            bad = np.flatnonzero(~np.all(np.isfinite(arr), axis=1)).tolist()
            raise InputError(f"'newmods' is missing or not finite in row(s) {format_rows(bad)}.",
                             column="newmods", rows=bad)
    if design.intercept and arr.shape[1] == p - 1:
        return np.column_stack([np.ones(arr.shape[0]), arr])
    if arr.shape[1] != p:
        want = f"{p - 1} (or {p} with the intercept column)" if design.intercept else str(p)
        raise InputError(f"'newmods' has {arr.shape[1]} column(s); the model needs {want}: "
                         f"{', '.join(t for t in design.terms if t != INTERCEPT)}.",
                         column="newmods")
    return arr
