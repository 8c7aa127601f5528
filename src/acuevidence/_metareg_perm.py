"""Permutation test for meta-regression (metafor's ``permutest``), on the batched kernel.

The rows of the design matrix are permuted against (yi, vi) and every permuted model is refitted
(tau^2 re-estimated); a coefficient's p-value is the share of permutations whose |statistic| is at
least the observed one, and likewise for QM. A model without moderators is tested by flipping the
signs of yi instead. When the number of distinct permutations (k! / prod(n_j!) for n_j studies
sharing the same moderator values; 2^k sign patterns) is at most ``n_perm`` the test enumerates
them all (exact test, as ``permutest(exact = TRUE)``); otherwise it draws ``n_perm - 1`` random
permutations plus the observed arrangement (seeded Monte Carlo, as metafor, which counts the
observed data among the permutations so that p >= 1/n_perm).

All permutations are fitted at once with :mod:`acuevidence._metareg_kernel` (arrays of shape
(B, k, p)), in chunks so that memory stays bounded.

References
----------
Higgins JPT, Thompson SG (2004). Controlling the risk of spurious findings from meta-regression.
    Stat Med 23:1663-1682.
Viechtbauer W, López-López JA, Sánchez-Meca J, Marín-Martínez F (2015). A comparison of
    procedures to test for moderators in mixed-effects meta-regression models. Psychol Methods
    20:360-374.
Good P (2005). Permutation, Parametric and Bootstrap Tests of Hypotheses. 3rd ed. Springer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._metareg_kernel import batch_coefficients, batch_tau2, tau2_basis
from .errors import InputError
from .printer import Report, fmt_number, fmt_p
from .results import json_safe

if TYPE_CHECKING:  # pragma: no cover
    from ._metareg_result import MetaRegressionResult

__all__ = ["EXACT_LIMIT", "PermutationResult", "count_permutations", "multiset_permutations",
           "permutation_test"]

# metafor's comparison tolerance (permutest's comptol = sqrt(machine eps)): a permuted statistic
# counts as "at least as extreme" when it is within this of the observed one, so that ties
# produced by rounding are counted.
COMPTOL = float(np.sqrt(np.finfo(float).eps))
# Exact enumeration beyond this many permutations is refused (hours of work, gigabytes of output).
EXACT_LIMIT = 1_000_000
# Permutations fitted per pass of the kernel: bounds memory at about CHUNK * k * p^2 doubles.
CHUNK = 8192


@dataclass(frozen=True, eq=False)
class PermutationResult:
    """Permutation p-values of a meta-regression (metafor's ``permutest``).

    ``p_value`` holds the permutation p-value of each coefficient (two-sided, |statistic|),
    ``qm_p_value`` that of the omnibus test; ``p_value_model`` / ``qm_p_value_model`` are the
    model-based (z / t / F) p-values for comparison. ``statistic_perm`` (n_perm, p) and
    ``qm_perm`` hold the permutation distribution (the observed arrangement included).
    """

    terms: tuple[str, ...]
    estimate: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    p_value_model: np.ndarray
    qm: float
    qm_p_value: float
    qm_p_value_model: float
    btt: tuple[int, ...]
    n_perm: int
    n_distinct: int | None
    exact: bool
    seed: int | None
    method: str
    test: str
    n_failed: int
    statistic_perm: np.ndarray
    qm_perm: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """term, estimate, statistic, p_value (permutation), p_value_model."""
        return pd.DataFrame({"term": list(self.terms), "estimate": self.estimate,
                             "statistic": self.statistic, "p_value": self.p_value,
                             "p_value_model": self.p_value_model})

    def to_dict(self, distribution: bool = False) -> dict[str, Any]:
        """JSON-safe dictionary; ``distribution=True`` adds the permutation distribution."""
        out: dict[str, Any] = {
            "coefficients": self.to_frame().to_dict(orient="records"),
            "qm": self.qm, "qm_p_value": self.qm_p_value,
            "qm_p_value_model": self.qm_p_value_model,
            "btt_terms": [self.terms[j] for j in self.btt],
            "n_perm": self.n_perm, "n_distinct": self.n_distinct, "exact": self.exact,
            "seed": self.seed, "method": self.method, "test": self.test,
            "n_failed": self.n_failed,
        }
        if distribution:
            out["statistic_perm"] = self.statistic_perm
            out["qm_perm"] = self.qm_perm
        return json_safe(out)

    def summary(self, fmt: str = "text") -> str:
        kind = "exact" if self.exact else f"Monte Carlo, seed {self.seed}"
        rep = Report(f"Permutation test ({self.n_perm} permutations, {kind}; method: "
                     f"{self.method}; test: {self.test})")
        rep.add_table("Coefficients", self.to_frame())
        rep.add_section("Test of moderators", [
            ("QM", (f"{fmt_number(self.qm)}, permutation p = {fmt_p(self.qm_p_value)} "
                    f"(model-based p = {fmt_p(self.qm_p_value_model)})")),
        ])
        if self.n_failed:
            rep.notes.append(f"{self.n_failed} permuted fits gave no statistic and were left out.")
        return rep.render(fmt)

    def __str__(self) -> str:
        return self.summary()


# ----------------------------------------------------------------------------------------
# Counting and enumerating permutations
# ----------------------------------------------------------------------------------------
def count_permutations(labels: np.ndarray) -> int:
    """Number of distinct arrangements of ``labels``: k! / prod(n_j!)."""
    _, counts = np.unique(labels, return_counts=True)
    out = math.factorial(len(labels))
    for c in counts:
        out //= math.factorial(int(c))
    return out


def multiset_permutations(labels: np.ndarray, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """All distinct arrangements of ``labels`` in lexicographic order, in chunks (n, k)."""
    a = sorted(int(x) for x in labels)
    k = len(a)
    buf: list[list[int]] = []
    while True:
        buf.append(a.copy())
        if len(buf) == chunk:
            yield np.array(buf, dtype=np.intp)
            buf = []
        i = k - 2
        while i >= 0 and a[i] >= a[i + 1]:
            i -= 1
        if i < 0:
            break
        j = k - 1
        while a[j] <= a[i]:
            j -= 1
        a[i], a[j] = a[j], a[i]
        a[i + 1:] = reversed(a[i + 1:])
    if buf:
        yield np.array(buf, dtype=np.intp)


def _sign_patterns(k: int, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    total = 1 << k
    bits = np.arange(k, dtype=np.int64)
    for start in range(0, total, chunk):
        n = np.arange(start, min(total, start + chunk), dtype=np.int64)
        yield np.where((n[:, None] >> bits[None, :]) & 1, -1.0, 1.0)


# ----------------------------------------------------------------------------------------
def _check_args(n_perm: Any, exact: Any, seed: Any) -> tuple[int, str]:
    if isinstance(n_perm, bool) or not isinstance(n_perm, int | np.integer) or n_perm < 2:
        raise InputError(f"'n_perm' must be an integer >= 2; got {n_perm!r}.", column="n_perm")
    if exact not in (True, False, "auto"):
        raise InputError(f"'exact' must be True, False or 'auto'; got {exact!r}.",
                         column="exact")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise InputError(f"'seed' must be an integer or None; got {seed!r}.", column="seed")
    return int(n_perm), "auto" if exact == "auto" else ("exact" if exact else "random")


def permutation_test(res: MetaRegressionResult, n_perm: int = 1000, seed: int | None = None,
                     exact: bool | str = "auto") -> PermutationResult:
    """Permutation test of every coefficient and of QM, refitting the model each time.

    Parameters
    ----------
    res : MetaRegressionResult
        The fitted model (its method, test, btt, weights and fixed tau^2 are reused).
    n_perm : int
        Number of permutations for the Monte Carlo test (metafor's ``iter``, default 1000), and
        the threshold below which the exact test is used when ``exact="auto"``.
    seed : int, optional
        Seed of numpy's random generator for the Monte Carlo test (reproducible p-values).
    exact : bool or "auto"
        ``"auto"``: enumerate all distinct permutations when there are at most ``n_perm`` of
        them (metafor's rule); True: always enumerate (refused above ``EXACT_LIMIT``); False:
        always Monte Carlo.
    """
    n_perm, mode = _check_args(n_perm, exact, seed)
    if seed is None:
        # Draw the seed here and report it, so that an unseeded run can still be repeated.
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    y, v, X = np.asarray(res.yi), np.asarray(res.vi), np.asarray(res.design.X)
    Q = tau2_basis(X)
    a = None if res.user_weights is None else np.asarray(res.user_weights)
    k, p = X.shape
    int_only = p == 1 and res.intercept
    if int_only:
        n_distinct = 1 << k
        types = U = None
    else:
        U, types = np.unique(X, axis=0, return_inverse=True)
        types = types.ravel()
        n_distinct = count_permutations(types)
    use_exact = mode == "exact" or (mode == "auto" and n_distinct <= n_perm)
    if use_exact and n_distinct > EXACT_LIMIT:
        raise InputError(f"An exact permutation test needs {n_distinct:,} permutations here "
                         f"(more than {EXACT_LIMIT:,}); use exact=False (Monte Carlo) with a "
                         "seed.", column="exact")

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        # (effect sizes, design, tau^2 basis) of each permuted model.
        if use_exact:
            if int_only:
                for s in _sign_patterns(k):
                    Xb = np.broadcast_to(X, (len(s), k, p))
                    yield s * y, Xb, Xb
            else:
                first = np.flatnonzero(np.r_[True, np.diff(np.sort(types)) != 0])
                rep = np.argsort(types, kind="stable")[first]  # one study per distinct row
                for lab in multiset_permutations(types):
                    # Rows of Q follow the rows of X: the study holding distinct row j of X
                    # holds row j of Q in every arrangement.
                    yield np.broadcast_to(y, lab.shape), U[lab], Q[rep][lab]
            return
        rng = np.random.default_rng(seed)
        done = 0
        while done < n_perm:
            n = min(CHUNK, n_perm - done)
            if int_only:
                s = rng.choice(np.array([-1.0, 1.0]), size=(n, k))
                if done == 0:
                    s[0] = 1.0  # the observed data count as one permutation, as in metafor
                Xb = np.broadcast_to(X, (n, k, p))
                yield s * y, Xb, Xb
            else:
                perm = rng.permuted(np.tile(np.arange(k), (n, 1)), axis=1)
                if done == 0:
                    perm[0] = np.arange(k)
                yield np.broadcast_to(y, (n, k)), X[perm], Q[perm]
            done += n

    btt = np.asarray(res.btt)
    stats_, qms = [], []
    for Yb, Xb, Qb in batches():
        if res.method in ("EE", "FE", "CE"):
            t = np.zeros(len(Yb))
        elif res.tau2_fixed:
            t = np.full(len(Yb), res.tau2)
        else:
            Yc = Yb - Yb.mean(axis=1, keepdims=True)
            t = batch_tau2(res.method, Yc, v, Qb, a)
        c = batch_coefficients(t, np.asarray(Yb), v, Xb, res.test, btt, a)
        stats_.append(c["statistic"])
        qms.append(c["qm"])
    zp = np.concatenate(stats_)
    qp = np.concatenate(qms)
    z_obs = np.asarray(res.statistic)
    finite = np.all(np.isfinite(zp), axis=1) & np.isfinite(qp)
    n_failed = int(np.sum(~finite))
    with np.errstate(invalid="ignore"):
        pv = np.mean(np.abs(zp[finite]) >= np.abs(z_obs)[None, :] - COMPTOL, axis=0)
        qm_p = float(np.mean(qp[finite] >= res.qm - COMPTOL))
    return PermutationResult(
        terms=res.terms, estimate=np.asarray(res.estimate).copy(), statistic=z_obs.copy(),
        p_value=np.minimum(pv, 1.0), p_value_model=np.asarray(res.p_value).copy(),
        qm=res.qm, qm_p_value=qm_p, qm_p_value_model=res.qm_p_value, btt=res.btt,
        n_perm=len(zp), n_distinct=int(n_distinct) if n_distinct < 2**63 else None,
        exact=use_exact, seed=None if use_exact else seed, method=res.method, test=res.test,
        n_failed=n_failed, statistic_perm=zp, qm_perm=qp,
    )
