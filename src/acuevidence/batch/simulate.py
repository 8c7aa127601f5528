"""Simulation studies of meta-analysis methods: scenario grids, study-level data, performance.

A *scenario* fixes the number of studies k, the between-study variance tau^2, the per-arm sample
size (a number or a range), the true effect, the effect measure and the strength of small-study
bias. For each replicate the studies are generated at arm level -- sample means and SDs for
``MD``/``SMD``, event counts for ``OR``/``RR`` -- and turned into (yi, vi) by the very functions
of :func:`acuevidence.effect_sizes` (metafor's ``escalc`` formulas, default options: ``vtype``
``"LS"``, 0.5 added to every cell of a 2x2 table with a zero cell). Every chosen estimator and
test is applied with :func:`acuevidence.batch.meta_analysis` and reduced, chunk by chunk, to
sufficient statistics of the performance measures (Morris, White & Crowther 2019): bias, empirical
SE, RMSE, coverage and width of the CI, rejection rate (power, or type I error when the true
effect is 0), bias and RMSE of tau^2 and coverage of the prediction interval, each with its Monte
Carlo SE.

Reproducibility: the random stream of chunk j of a scenario is
``SeedSequence(seed, spawn_key=(scenario_id, j))``, with ``scenario_id`` a hash of the scenario's
settings, so the results depend on (seed, chunk size, the scenario) only: not on the number of
workers, the order chunks finish in, or the other scenarios in the grid.

Data generation
---------------
``MD``/``SMD``: arm sizes n1 = n2 = n (uniform integer over the range); study effect theta_i ~
N(effect, tau^2); arm means ~ N(mu_a, sd^2 / n) with mu_2 = 0 and mu_1 = theta_i (MD) or
theta_i * sd (SMD); arm SDs sd * sqrt(chi^2_{n-1} / (n - 1)) -- exactly the summary statistics of
normal individual data. ``OR``/``RR``: control risk ``baseline_risk``; treated risk
expit(logit p0 + theta_i) (OR) or min(p0 exp(theta_i), 0.999) (RR); events ~ Binomial.

Small-study bias (``small_study_bias`` = s in [0, 1]): a study stays unpublished with probability
s * size * r, where size = (n_max - n)/(n_max - n_min) (1 when n is fixed) and r depends on its
one-sided result z = yi / sqrt(vi): 0 when significantly positive (z >= 1.96), 1/2 when positive
but not significant, 1 when negative -- small studies with unwelcome results go missing. Up to
3k studies are then run per meta-analysis and the first k published ones are analysed (fewer if
fewer were published; the output reports the mean k analysed).

References
----------
Morris TP, White IR, Crowther MJ (2019). Using simulation studies to evaluate statistical
    methods. Stat Med 38:2074-2102.
Langan D, Higgins JPT, Jackson D, et al. (2019). A comparison of heterogeneity variance
    estimators in simulated random-effects meta-analyses. Res Synth Methods 10:83-98.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..meta import canonical_method, canonical_test
from .api import Status, fit_many_tests

__all__ = [
    "MEASURES",
    "STAT_COLUMNS",
    "Grid",
    "Scenario",
    "arm_effect_sizes",
    "chunk_statistics",
    "generate",
    "generate_arms",
    "performance",
    "plan_chunks",
    "reduce_statistics",
    "results_frame",
    "simulate_chunk",
]

MEASURES: tuple[str, ...] = ("MD", "SMD", "OR", "RR")
# Candidate studies run per meta-analysis under small-study bias (k published are analysed).
CANDIDATE_FACTOR = 3
# Treated-arm risk cap under the RR model (a risk must stay below 1).
RR_RISK_CAP = 0.999
# Significance threshold of the publication rule (two-sided 5%, positive direction).
Z_PUBLISH = 1.959963984540054

_SCENARIO_FIELDS = ("k", "tau2", "n", "effect", "measure", "small_study_bias", "baseline_risk",
                    "sd")


@dataclass(frozen=True)
class Scenario:
    """One cell of a simulation grid (see the module docstring for the data model)."""

    k: int
    tau2: float
    n: tuple[int, int]
    effect: float
    measure: str
    small_study_bias: float = 0.0
    baseline_risk: float = 0.2
    sd: float = 1.0

    def __post_init__(self) -> None:
        n = self.n
        if isinstance(n, int | np.integer | float):
            n = (int(n), int(n))
        n = tuple(int(x) for x in n)
        object.__setattr__(self, "n", n)
        if len(n) != 2 or n[0] < 2 or n[1] < n[0]:
            raise InputError(f"Scenario 'n' must be a per-arm size >= 2 or a range [min, max] "
                             f"with 2 <= min <= max; got {self.n!r}.", column="n")
        if int(self.k) < 1:
            raise InputError(f"Scenario 'k' must be >= 1; got {self.k!r}.", column="k")
        object.__setattr__(self, "k", int(self.k))
        for name in ("tau2", "effect", "small_study_bias", "baseline_risk", "sd"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if not math.isfinite(self.tau2) or self.tau2 < 0:
            raise InputError(f"Scenario 'tau2' must be >= 0; got {self.tau2!r}.", column="tau2")
        if self.measure not in MEASURES:
            raise InputError(f"Scenario 'measure' must be one of {', '.join(MEASURES)}; got "
                             f"{self.measure!r}.", column="measure")
        if not 0.0 <= self.small_study_bias <= 1.0:
            raise InputError("Scenario 'small_study_bias' is a probability in [0, 1]; got "
                             f"{self.small_study_bias!r}.", column="small_study_bias")
        if not 0.0 < self.baseline_risk < 1.0:
            raise InputError("Scenario 'baseline_risk' must be in (0, 1); got "
                             f"{self.baseline_risk!r}.", column="baseline_risk")
        if not self.sd > 0:
            raise InputError(f"Scenario 'sd' must be > 0; got {self.sd!r}.", column="sd")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["n"] = list(self.n)
        return d

    @property
    def key(self) -> str:
        """A stable 16-hex-digit id of the settings (seeds and chunk file names use it)."""
        canon = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:16]

    @property
    def seed_word(self) -> int:
        return int(self.key[:8], 16)


@dataclass(frozen=True)
class Grid:
    """Scenarios plus the estimators, tests and confidence level applied to each."""

    scenarios: tuple[Scenario, ...]
    methods: tuple[str, ...] = ("DL", "REML")
    tests: tuple[str, ...] = ("z",)
    level: float = 0.95
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Grid:
        """Build from a mapping: ``factors`` (lists, crossed), fixed scenario settings,
        ``scenarios`` (explicit list), ``methods``, ``tests``, ``level``."""
        if not isinstance(spec, Mapping):
            raise InputError("The grid must be a mapping (YAML dictionary).", column="grid")
        known = set(_SCENARIO_FIELDS) | {"factors", "scenarios", "methods", "tests", "level"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise InputError(f"Unknown grid key(s) {', '.join(unknown)}; allowed: "
                             f"{', '.join(sorted(known))}.", column="grid")
        factors = dict(spec.get("factors") or {})
        bad = sorted(set(factors) - set(_SCENARIO_FIELDS))
        if bad:
            raise InputError(f"Unknown factor(s) {', '.join(bad)}; factors are scenario "
                             f"settings: {', '.join(_SCENARIO_FIELDS)}.", column="factors")
        fixed = {k: spec[k] for k in _SCENARIO_FIELDS if k in spec}
        scenarios: list[Scenario] = []
        if factors:
            names = list(factors)
            values = [v if isinstance(v, list) else [v] for v in factors.values()]
            for combo in itertools.product(*values):
                scenarios.append(_scenario({**fixed, **dict(zip(names, combo, strict=True))}))
        for item in spec.get("scenarios") or []:
            scenarios.append(_scenario({**fixed, **dict(item)}))
        if not scenarios and fixed:
            scenarios.append(_scenario(fixed))
        if not scenarios:
            raise InputError("The grid defines no scenario: give 'factors' and/or "
                             "'scenarios'.", column="grid")
        keys = [s.key for s in scenarios]
        if len(set(keys)) != len(keys):
            raise InputError("The grid lists the same scenario twice.", column="grid")
        methods = tuple(canonical_method(m) for m in _as_list(spec.get("methods", ["DL",
                                                                                      "REML"])))
        if "GENQ" in methods:
            raise InputError("GENQ needs weights and is not available in simulations.",
                             column="methods")
        tests = tuple(canonical_test(t) for t in _as_list(spec.get("tests", ["z"])))
        from .._validate import check_level

        return cls(tuple(scenarios), tuple(dict.fromkeys(methods)), tuple(dict.fromkeys(tests)),
                   check_level(spec.get("level", 0.95)))

    @classmethod
    def from_yaml(cls, path: str | Path) -> Grid:
        try:
            import yaml
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("Reading a grid needs pyyaml: pip install 'acuevidence[batch]'") \
                from e
        p = Path(path)
        if not p.exists():
            raise InputError(f"Grid file not found: {p}", column="--grid")
        try:
            spec = yaml.safe_load(p.read_text())
        except yaml.YAMLError as e:
            raise InputError(f"Cannot read {p} as YAML: {e}", column="--grid") from None
        return cls.from_dict(spec or {})

    def config(self) -> dict[str, Any]:
        """What a chunk's content depends on besides its scenario (for resume checks)."""
        return {"methods": list(self.methods), "tests": list(self.tests), "level": self.level}


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, list | tuple) else [x]


def _scenario(d: Mapping[str, Any]) -> Scenario:
    missing = [k for k in ("k", "tau2", "n", "effect", "measure") if k not in d]
    if missing:
        raise InputError(f"A scenario lacks {', '.join(missing)} (give them as factors or "
                         "fixed settings).", column="grid")
    try:
        return Scenario(**{k: d[k] for k in _SCENARIO_FIELDS if k in d})
    except TypeError as e:
        raise InputError(f"Bad scenario {dict(d)!r}: {e}", column="grid") from None


# ------------------------------------------------------------------------------------------
# Data generation
# ------------------------------------------------------------------------------------------
def _rng(seed: int, scenario: Scenario, chunk: int) -> np.random.Generator:
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(scenario.seed_word, int(chunk)))
    return np.random.default_rng(ss)


def generate_arms(scenario: Scenario, reps: int, rng: np.random.Generator
                  ) -> dict[str, np.ndarray]:
    """Arm-level data of ``reps`` meta-analyses, each array of shape (reps, m).

    ``MD``/``SMD``: ``m1i, m2i, sd1i, sd2i, n1i, n2i``; ``OR``/``RR``: ``ai, bi, ci, di``
    (escalc's argument names), plus ``theta`` (the studies' true effects). m = k, or 3k
    candidate studies under small-study bias.
    """
    biased = scenario.small_study_bias > 0
    m = scenario.k * (CANDIDATE_FACTOR if biased else 1)
    lo, hi = scenario.n
    n = rng.integers(lo, hi + 1, size=(reps, m)).astype(np.float64)
    theta = scenario.effect + math.sqrt(scenario.tau2) * rng.standard_normal((reps, m))
    if scenario.measure in ("MD", "SMD"):
        sd = scenario.sd
        mu1 = theta * sd if scenario.measure == "SMD" else theta
        return {
            "m1i": rng.normal(mu1, sd / np.sqrt(n)), "m2i": rng.normal(0.0, sd / np.sqrt(n)),
            "sd1i": sd * np.sqrt(rng.chisquare(n - 1) / (n - 1)),
            "sd2i": sd * np.sqrt(rng.chisquare(n - 1) / (n - 1)),
            "n1i": n, "n2i": n.copy(), "theta": theta,
        }
    p0 = scenario.baseline_risk
    if scenario.measure == "OR":
        p1 = 1.0 / (1.0 + np.exp(-(math.log(p0 / (1 - p0)) + theta)))
    else:
        p1 = np.minimum(p0 * np.exp(theta), RR_RISK_CAP)
    a = rng.binomial(n.astype(np.int64), p1).astype(np.float64)
    c = rng.binomial(n.astype(np.int64), p0).astype(np.float64)
    return {"ai": a, "bi": n - a, "ci": c, "di": n - c, "theta": theta}


def arm_effect_sizes(measure: str, arms: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(yi, vi) from arm-level data with the functions behind :func:`acuevidence.effect_sizes`
    (its defaults: vtype "LS"; add 0.5 to every cell of a table with a zero cell)."""
    from .._es_binary import two_by_two
    from .._es_common import finish
    from .._es_continuous import two_group

    shape = arms["theta"].shape
    flat = int(np.prod(shape))
    vtype = np.full(flat, "LS")
    if measure in ("MD", "SMD"):
        raw = two_group(measure, *(arms[a].ravel() for a in ("m1i", "m2i", "sd1i", "sd2i",
                                                              "n1i", "n2i")), vtype=vtype)
    else:
        raw, _ = two_by_two(measure, *(arms[a].ravel() for a in ("ai", "bi", "ci", "di")),
                            add=0.5, to="only0", drop00=False, vtype=vtype)
    yi, vi = finish(raw)
    return yi.reshape(shape), vi.reshape(shape)


def generate(scenario: Scenario, reps: int, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Study-level data of ``reps`` meta-analyses: (yi, vi, mask); mask None without bias."""
    arms = generate_arms(scenario, reps, rng)
    yi, vi = arm_effect_sizes(scenario.measure, arms)
    if scenario.small_study_bias <= 0:
        return yi, vi, None
    lo, hi = scenario.n
    n = arms["n1i"] if "n1i" in arms else arms["ai"] + arms["bi"]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = yi / np.sqrt(vi)
    size = np.ones_like(n) if hi == lo else (hi - n) / (hi - lo)
    # one-sided selection by the sign and significance of the result (a step function of the
    # one-sided p-value): significant -> kept; non-significant positive -> half the rate;
    # negative -> the full rate
    rate = np.where(z >= Z_PUBLISH, 0.0, np.where(z >= 0.0, 0.5, 1.0))
    suppress = rng.random(yi.shape) < scenario.small_study_bias * size * rate
    published = ~suppress
    mask = published & (np.cumsum(published, axis=1) <= scenario.k)
    return yi, vi, mask


# ------------------------------------------------------------------------------------------
# Sufficient statistics per chunk, and the reduction to performance measures
# ------------------------------------------------------------------------------------------
STAT_COLUMNS: tuple[str, ...] = (
    "n_rep", "n_fit", "n_failed", "n_not_converged", "k_sum",
    "d_n", "d_mean", "d_m2", "d_s2", "d_s4",
    "n_ci", "cover", "w_sum", "w_s2", "n_p", "reject",
    "t_n", "t_mean", "t_m2", "t_s2",
    "pi_n", "pi_sum", "pi_s2",
)


def _moments(x: np.ndarray) -> tuple[int, float, float, float, float]:
    n = int(x.size)
    if n == 0:
        return 0, 0.0, 0.0, 0.0, 0.0
    mean = float(np.mean(x))
    return n, mean, float(np.sum((x - mean) ** 2)), float(np.sum(x * x)), float(np.sum(x ** 4))


def chunk_statistics(scenario: Scenario, res: Any, level: float) -> dict[str, float]:
    """Sufficient statistics of one chunk's fits (a BatchResult) for one method and test."""
    from scipy import special

    st = res.status
    fit = st <= Status.too_few_studies
    est = res.estimate[fit]
    theta = scenario.effect
    d = est[np.isfinite(est)] - theta
    dn, dmean, dm2, ds2, ds4 = _moments(d)
    lo, hi = res.ci_lower[fit], res.ci_upper[fit]
    ok_ci = np.isfinite(lo) & np.isfinite(hi)
    width = (hi - lo)[ok_ci]
    p = res.p_value[fit]
    ok_p = np.isfinite(p)
    tau = res.tau2[fit]
    tn, tmean, tm2, ts2, _ = _moments(tau[np.isfinite(tau)] - scenario.tau2)
    pl, pu = res.pi_lower[fit], res.pi_upper[fit]
    ok_pi = np.isfinite(pl) & np.isfinite(pu)
    if scenario.tau2 > 0:
        sd = math.sqrt(scenario.tau2)
        pic = (special.ndtr((pu[ok_pi] - theta) / sd) - special.ndtr((pl[ok_pi] - theta) / sd))
    else:
        pic = ((pl[ok_pi] <= theta) & (theta <= pu[ok_pi])).astype(float)
    return {
        "n_rep": float(len(res)), "n_fit": float(fit.sum()),
        "n_failed": float((~fit).sum()),
        "n_not_converged": float((st == Status.not_converged).sum()),
        "k_sum": float(res.k[fit].sum()),
        "d_n": dn, "d_mean": dmean, "d_m2": dm2, "d_s2": ds2, "d_s4": ds4,
        "n_ci": float(ok_ci.sum()),
        "cover": float(((lo[ok_ci] <= theta) & (theta <= hi[ok_ci])).sum()),
        "w_sum": float(width.sum()), "w_s2": float((width ** 2).sum()),
        "n_p": float(ok_p.sum()), "reject": float((p[ok_p] < 1.0 - level).sum()),
        "t_n": tn, "t_mean": tmean, "t_m2": tm2, "t_s2": ts2,
        "pi_n": float(pic.size), "pi_sum": float(pic.sum()), "pi_s2": float((pic ** 2).sum()),
    }


def simulate_chunk(scenario: Scenario, grid_config: Mapping[str, Any], seed: int, chunk: int,
                   reps: int, threads: int | None = None) -> pd.DataFrame:
    """Generate and analyse one chunk; one row of sufficient statistics per method x test."""
    rng = _rng(seed, scenario, chunk)
    yi, vi, mask = generate(scenario, reps, rng)
    rows = []
    for method in grid_config["methods"]:
        fits = fit_many_tests(yi, vi, method, grid_config["tests"], grid_config["level"],
                              mask=mask, threads=threads)
        for test, res in fits.items():
            rows.append({"scenario": scenario.key, "chunk": int(chunk), "method": method,
                         "test": test,
                         **chunk_statistics(scenario, res, grid_config["level"])})
    return pd.DataFrame(rows)


def _merge(a: dict[str, float], b: Mapping[str, float], pre: str) -> None:
    # Chan et al.'s pairwise update of (n, mean, M2).
    na, nb = a[pre + "_n"], b[pre + "_n"]
    if nb == 0:
        return
    if na == 0:
        a[pre + "_mean"], a[pre + "_m2"] = b[pre + "_mean"], b[pre + "_m2"]
    else:
        delta = b[pre + "_mean"] - a[pre + "_mean"]
        n = na + nb
        a[pre + "_mean"] += delta * nb / n
        a[pre + "_m2"] += b[pre + "_m2"] + delta * delta * na * nb / n
    a[pre + "_n"] = na + nb


def reduce_statistics(stats: pd.DataFrame) -> dict[tuple[str, str, str], dict[str, float]]:
    """Add up chunk statistics per (scenario, method, test), in chunk order (deterministic)."""
    out: dict[tuple[str, str, str], dict[str, float]] = {}
    stats = stats.sort_values(["scenario", "method", "test", "chunk"], kind="stable")
    additive = ("n_rep", "n_fit", "n_failed", "n_not_converged", "k_sum", "d_s2", "d_s4",
                "n_ci", "cover", "w_sum", "w_s2", "n_p", "reject", "t_s2", "pi_n", "pi_sum",
                "pi_s2")
    for rec in stats.to_dict("records"):
        key = (rec["scenario"], rec["method"], rec["test"])
        acc = out.get(key)
        if acc is None:
            out[key] = {c: float(rec[c]) for c in STAT_COLUMNS}
            continue
        for c in additive:
            acc[c] += float(rec[c])
        _merge(acc, rec, "d")
        _merge(acc, rec, "t")
    return out


def performance(scenario: Scenario, s: Mapping[str, float]) -> dict[str, float]:
    """Performance measures and Monte Carlo SEs from reduced sufficient statistics."""
    nan = math.nan

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else nan

    n = s["d_n"]
    bias = s["d_mean"] if n > 0 else nan
    var = s["d_m2"] / (n - 1) if n > 1 else nan
    empse = math.sqrt(var) if n > 1 else nan
    mse = ratio(s["d_s2"], n)
    mse_var = (s["d_s4"] - 2 * mse * s["d_s2"] + n * mse * mse) / (n * (n - 1)) if n > 1 else nan
    rmse = math.sqrt(mse) if n > 0 else nan
    rmse_mcse = math.sqrt(max(mse_var, 0.0)) / (2 * rmse) if n > 1 and rmse > 0 else nan
    cov = ratio(s["cover"], s["n_ci"])
    wmean = ratio(s["w_sum"], s["n_ci"])
    wvar = (s["w_s2"] - s["n_ci"] * wmean ** 2) / (s["n_ci"] - 1) if s["n_ci"] > 1 else nan
    rej = ratio(s["reject"], s["n_p"])
    tn = s["t_n"]
    pim = ratio(s["pi_sum"], s["pi_n"])
    pivar = (s["pi_s2"] - s["pi_n"] * pim ** 2) / (s["pi_n"] - 1) if s["pi_n"] > 1 else nan
    return {
        "n_rep": s["n_rep"], "n_fit": s["n_fit"], "n_failed": s["n_failed"],
        "n_not_converged": s["n_not_converged"], "mean_k": ratio(s["k_sum"], s["n_fit"]),
        "bias": bias, "bias_mcse": math.sqrt(var / n) if n > 1 else nan,
        "empse": empse, "empse_mcse": empse / math.sqrt(2 * (n - 1)) if n > 1 else nan,
        "rmse": rmse, "rmse_mcse": rmse_mcse,
        "coverage": cov,
        "coverage_mcse": math.sqrt(cov * (1 - cov) / s["n_ci"]) if s["n_ci"] > 0 else nan,
        "ci_width": wmean,
        "ci_width_mcse": math.sqrt(max(wvar, 0.0) / s["n_ci"]) if s["n_ci"] > 1 else nan,
        "rejection": rej,
        "rejection_mcse": math.sqrt(rej * (1 - rej) / s["n_p"]) if s["n_p"] > 0 else nan,
        "rejection_is": "type_i_error" if scenario.effect == 0 else "power",
        "tau2_bias": s["t_mean"] if tn > 0 else nan,
        "tau2_bias_mcse": math.sqrt(s["t_m2"] / (tn - 1) / tn) if tn > 1 else nan,
        "tau2_rmse": math.sqrt(s["t_s2"] / tn) if tn > 0 else nan,
        "pi_coverage": pim,
        "pi_coverage_mcse": math.sqrt(max(pivar, 0.0) / s["pi_n"]) if s["pi_n"] > 1 else nan,
    }


def results_frame(grid: Grid, reduced: Mapping[tuple[str, str, str], Mapping[str, float]]
                  ) -> pd.DataFrame:
    """One row per scenario x method x test: the scenario's settings and its performance."""
    rows = []
    for sc in grid.scenarios:
        for method in grid.methods:
            for test in grid.tests:
                s = reduced.get((sc.key, method, test))
                if s is None:
                    continue
                d = sc.to_dict()
                rows.append({"scenario": sc.key, "k": d["k"], "tau2": d["tau2"],
                             "n_min": sc.n[0], "n_max": sc.n[1], "effect": d["effect"],
                             "measure": d["measure"],
                             "small_study_bias": d["small_study_bias"],
                             "baseline_risk": d["baseline_risk"], "sd": d["sd"],
                             "method": method, "test": test, "level": grid.level,
                             **performance(sc, s)})
    return pd.DataFrame(rows)


def plan_chunks(grid: Grid, reps: int, chunk_size: int) -> list[tuple[Scenario, int, int]]:
    """(scenario, chunk index, replicates) for every chunk of the run."""
    out = []
    for sc in grid.scenarios:
        for j in range(-(-reps // chunk_size)):
            out.append((sc, j, min(chunk_size, reps - j * chunk_size)))
    return out
