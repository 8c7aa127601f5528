"""Ranking and presentation of a network: league table, P-scores and SUCRA.

* :func:`league_table` — every treatment against every other, with confidence and prediction
  intervals.
* :func:`p_scores` — Rücker & Schwarzer's (2015) P-score of treatment i: the mean over the
  other treatments j of the one-sided probability Phi((theta_j - theta_i) / se_ij) that i is
  better than j (smaller is better with ``small_values="good"``, the default for pain).
* :func:`rank_treatments` — P-scores plus SUCRA, mean ranks and rank probabilities from draws of
  the estimates' joint normal distribution (seeded). SUCRA converges to the P-score as the
  number of draws grows (Rücker & Schwarzer 2015), which the tests check.

Rankings mislead when the differences between treatments are small or uncertain: a treatment
can rank first with a P-score of 0.7 while its confidence interval against the second overlaps
zero widely. Every ranking result carries that caution and says whether the top ranks are
distinguishable at all.

References
----------
Rücker G, Schwarzer G (2015). Ranking treatments in frequentist network meta-analysis works
    without resampling methods. BMC Med Res Methodol 15:58.
Salanti G, Ades AE, Ioannidis JPA (2011). Graphical methods and numerical summaries for
    presenting results from multiple-treatment meta-analysis: an overview and tutorial. J Clin
    Epidemiol 64:163-171. (SUCRA)
Chaimani A, Porcher R, Sbidian É, Mavridis D (2021). Placing network meta-analysis rankings in
    context. Evid Based Ment Health 24:e1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..printer import Report, fmt_number
from ..results import json_safe
from .model import LOG_MEASURES, NetworkResult

__all__ = [
    "RANKING_CAUTION",
    "LeagueTable",
    "RankingResult",
    "league_table",
    "p_scores",
    "rank_treatments",
]

SMALL_VALUES = ("good", "bad")
DEFAULT_DRAWS = 10_000
DEFAULT_SEED = 20_150_058  # fixed: the same result every run (Rücker & Schwarzer, 15:58)

RANKING_CAUTION = (
    "Rankings mislead when differences between treatments are small or uncertain: P-scores "
    "and SUCRA order treatments but say nothing about how large the differences are, a "
    "treatment can rank first although its effect is no different from the next ones, and "
    "imprecise treatments drift to the middle. Read them with the league table and the "
    "confidence and prediction intervals, never alone.")


def _check_small(small_values: str) -> str:
    if small_values not in SMALL_VALUES:
        raise InputError(f"The 'small_values' parameter must be 'good' (smaller effects are "
                         f"better, e.g. pain) or 'bad'. Got {small_values!r} instead.",
                         column="small_values")
    return small_values


def p_scores(result: NetworkResult, small_values: str = "good") -> np.ndarray:
    """P-score of every treatment (in ``result.treatments`` order).

    P_i = mean over j != i of Phi((theta_j - theta_i) / se_ij) when small values are good
    (Phi((theta_i - theta_j) / se_ij) when they are bad).

    References
    ----------
    .. [1] Rücker G, Schwarzer G (2015). Ranking treatments in frequentist network
       meta-analysis works without resampling methods. BMC Med Res Methodol 15:58.
    """
    sign = -1.0 if _check_small(small_values) == "good" else 1.0
    T = result.n_treatments
    est, se = result.pairwise_estimate, result.pairwise_se
    out = np.empty(T)
    for i in range(T):
        j = np.array([k for k in range(T) if k != i])
        out[i] = float(np.mean(stats.norm.cdf(sign * est[i, j] / se[i, j])))
    return out


@dataclass(frozen=True, eq=False)
class RankingResult:
    """P-scores, SUCRA, mean ranks and rank probabilities of the treatments of a network.

    ``rank_probabilities[i, r]`` is the share of draws in which treatment i had rank r + 1
    (rank 1 = best). ``caution`` is the standing warning about rankings; ``distinguishable``
    says whether the best-ranked treatment differs from the second at the result's level.
    """

    treatments: tuple[str, ...]
    small_values: str
    p_score: np.ndarray
    sucra: np.ndarray
    mean_rank: np.ndarray
    rank_probabilities: np.ndarray
    n_draws: int
    seed: int
    distinguishable: bool
    caution: str
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """One row per treatment, best P-score first."""
        frame = pd.DataFrame({"treatment": list(self.treatments), "p_score": self.p_score,
                              "sucra": self.sucra, "mean_rank": self.mean_rank,
                              "prob_best": self.rank_probabilities[:, 0]})
        return frame.sort_values("p_score", ascending=False, kind="mergesort").reset_index(
            drop=True)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"small_values": self.small_values, "n_draws": self.n_draws,
                          "seed": self.seed, "distinguishable": self.distinguishable,
                          "caution": self.caution, "notes": list(self.notes),
                          "treatments": self.to_frame().to_dict(orient="records"),
                          "rank_probabilities": {t: self.rank_probabilities[i]
                                                 for i, t in enumerate(self.treatments)}})

    def summary(self, fmt: str = "text") -> str:
        rep = Report("Treatment ranking (P-scores; SUCRA from "
                     f"{self.n_draws} seeded draws)")
        rep.add_table("", self.to_frame())
        rep.notes.append("CAUTION: " + self.caution)
        rep.notes.extend(self.notes)
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()


def rank_treatments(result: NetworkResult, small_values: str = "good", *,
                    n_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED) -> RankingResult:
    """Rank the treatments: P-scores (analytic) and SUCRA by resampling (seeded).

    Parameters
    ----------
    result : NetworkResult
    small_values : {"good", "bad"}
        Whether smaller effects are better (pain scores, events of harm) or worse.
    n_draws : int
        Draws from the joint normal distribution of the estimates for SUCRA.
    seed : int
        Seed of the random generator (numpy's default_rng): the same ranking every run.

    References
    ----------
    .. [1] Rücker G, Schwarzer G (2015). BMC Med Res Methodol 15:58.
    .. [2] Salanti G, Ades AE, Ioannidis JPA (2011). J Clin Epidemiol 64:163-171.
    """
    _check_small(small_values)
    if not isinstance(n_draws, int | np.integer) or n_draws < 100:
        raise InputError(f"The 'n_draws' parameter must be an integer >= 100. Got {n_draws!r} "
                         "instead.", column="n_draws")
    T = result.n_treatments
    ps = p_scores(result, small_values)
    ref = result.index(result.reference)
    cols = [t for t in range(T) if t != ref]
    rng = np.random.default_rng(seed)
    # Draws via the eigen-decomposition: robust when vcov is nearly singular.
    w, Q = np.linalg.eigh(result.vcov)
    L = Q * np.sqrt(np.clip(w, 0.0, None))
    draws = np.zeros((n_draws, T))
    draws[:, cols] = result.estimate[cols] + rng.standard_normal((n_draws, len(cols))) @ L.T
    key = draws if small_values == "good" else -draws
    ranks = np.argsort(np.argsort(key, axis=1, kind="stable"), axis=1) + 1
    mean_rank = ranks.mean(axis=0)
    probs = np.stack([(ranks == r).mean(axis=0) for r in range(1, T + 1)], axis=1)
    sucra = (T - mean_rank) / (T - 1)
    order = np.argsort(-ps, kind="stable")
    best, second = int(order[0]), int(order[1])
    est, se = result.pairwise_estimate[best, second], result.pairwise_se[best, second]
    distinguishable = bool(abs(est) > result.crit * se)
    notes = []
    if not distinguishable:
        notes.append(
            f"{result.treatments[best]} ranks first, but its difference from "
            f"{result.treatments[second]} ({fmt_number(est, 3)}, {100 * result.level:g}% CI "
            f"{fmt_number(est - result.crit * se, 3)} to {fmt_number(est + result.crit * se, 3)})"
            " is not statistically distinguishable: the order of the top ranks is uncertain.")
    return RankingResult(treatments=result.treatments, small_values=small_values, p_score=ps,
                         sucra=sucra, mean_rank=mean_rank, rank_probabilities=probs,
                         n_draws=int(n_draws), seed=int(seed), distinguishable=distinguishable,
                         caution=RANKING_CAUTION, notes=tuple(notes))


# ---------------------------------------------------------------------------------------------
# League table
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LeagueTable:
    """All pairwise network estimates: ``estimate[i, j]`` is treatment i minus treatment j.

    ``ci_lower``/``ci_upper`` and ``pi_lower``/``pi_upper`` (NaN for a common-effect model) are
    matrices of the same shape. :meth:`matrix_frame` lays them out as the square table of
    reviews; :meth:`to_frame` is the tidy long form.
    """

    treatments: tuple[str, ...]
    measure: str | None
    level: float
    estimate: np.ndarray
    se: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    pi_lower: np.ndarray
    pi_upper: np.ndarray
    p_value: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Every ordered pair (i != j): treat1 minus treat2 with CI, PI and p-value."""
        T = len(self.treatments)
        rows = [{"treat1": self.treatments[i], "treat2": self.treatments[j],
                 "estimate": self.estimate[i, j], "se": self.se[i, j],
                 "ci_lower": self.ci_lower[i, j], "ci_upper": self.ci_upper[i, j],
                 "pi_lower": self.pi_lower[i, j], "pi_upper": self.pi_upper[i, j],
                 "p_value": self.p_value[i, j]}
                for i in range(T) for j in range(T) if i != j]
        return pd.DataFrame(rows)

    def matrix_frame(self, digits: int = 2) -> pd.DataFrame:
        """Square table of texts; every cell reads *row treatment minus column treatment*.

        Diagonal: the treatment. Lower triangle: estimate with its confidence interval; upper
        triangle: estimate with its prediction interval (random effects) or again the
        confidence interval (common effect). Ratio measures are shown exponentiated.
        """
        T = len(self.treatments)
        log = (self.measure or "").upper() in LOG_MEASURES
        tr = math.exp if log else (lambda v: v)

        def cell(e: float, lo: float, hi: float) -> str:
            if not math.isfinite(lo):
                return f"{tr(e):.{digits}f}"
            return f"{tr(e):.{digits}f} ({tr(lo):.{digits}f} to {tr(hi):.{digits}f})"

        out = [[""] * T for _ in range(T)]
        for i in range(T):
            for j in range(T):
                if i == j:
                    out[i][j] = self.treatments[i]
                elif i > j:
                    out[i][j] = cell(self.estimate[i, j], self.ci_lower[i, j], self.ci_upper[i, j])
                else:
                    has_pi = bool(np.isfinite(self.pi_lower[i, j]))
                    lo = self.pi_lower[i, j] if has_pi else self.ci_lower[i, j]
                    hi = self.pi_upper[i, j] if has_pi else self.ci_upper[i, j]
                    out[i][j] = cell(self.estimate[i, j], lo, hi)
        return pd.DataFrame(out, index=list(self.treatments), columns=list(self.treatments))

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"treatments": list(self.treatments), "measure": self.measure,
                          "level": self.level,
                          "pairs": self.to_frame().to_dict(orient="records")})

    def summary(self, fmt: str = "text", digits: int = 2) -> str:
        rep = Report("League table (row treatment minus column treatment)")
        m = self.matrix_frame(digits)
        m.insert(0, "", list(self.treatments))
        rep.add_table("", m)
        lv = f"{100 * self.level:g}%"
        rep.notes.append(f"Lower triangle: estimate ({lv} CI); upper triangle: estimate ({lv} "
                         "prediction interval) where the model has random effects.")
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()


def league_table(result: NetworkResult) -> LeagueTable:
    """League table of all pairwise estimates with confidence and prediction intervals."""
    z = result.crit
    est, se = result.pairwise_estimate, result.pairwise_se
    with np.errstate(invalid="ignore"):
        lo, hi = est - z * se, est + z * se
        if result.is_random:
            half = z * np.sqrt(se ** 2 + result.tau2)
            pi_lo, pi_hi = est - half, est + half
        else:
            pi_lo = pi_hi = np.full_like(est, np.nan)
        pv = 2 * stats.norm.sf(np.abs(est / se))
    return LeagueTable(treatments=result.treatments, measure=result.measure,
                       level=result.level, estimate=est, se=se, ci_lower=lo, ci_upper=hi,
                       pi_lower=pi_lo, pi_upper=pi_hi, p_value=pv)
