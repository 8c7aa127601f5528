"""acuevidence: does acupuncture work for back, hip and leg pain? Evidence from the trials.

The public names below are imported lazily (PEP 562), so ``import acuevidence`` stays light: a
module (scipy, pandas, formulaic, ...) is loaded the first time one of its names is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    ConvergenceError,
    ConvergenceWarning,
    EvidenceError,
    EvidenceWarning,
    InputError,
)


# Functions named like their module are bound eagerly: once the submodule is imported (by
# anything), Python sets the package attribute to the *module*, and a lazy name would then
# resolve to it instead of the function. These modules need only numpy/scipy/pandas.
from .effect_sizes import effect_sizes
from .mantel_haenszel import MHResult, mantel_haenszel, peto

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "PermutationResult": "_metareg_perm",
    "LikelihoodRatioTest": "_metareg_result",
    "MetaRegressionResult": "_metareg_result",
    "WaldTest": "_metareg_result",
    "BayesMetaAnalysis": "bayes",
    "BayesResult": "bayes",
    "bayes_meta_analysis": "bayes",
    "TauPrior": "bayes_priors",
    "fixed_tau": "bayes_priors",
    "half_cauchy_prior": "bayes_priors",
    "half_normal_prior": "bayes_priors",
    "rhodes_prior": "bayes_priors",
    "turner_prior": "bayes_priors",
    "uniform_prior": "bayes_priors",
    "FailSafeNResult": "bias",
    "PetPeeseResult": "bias",
    "RankTestResult": "bias",
    "RegressionTestResult": "bias",
    "TrimFillResult": "bias",
    "fsn": "bias",
    "pet_peese": "bias",
    "ranktest": "bias",
    "regtest": "bias",
    "trimfill": "bias",
    "corr_from_sds": "conversions",
    "mean_sd_from_fivenum": "conversions",
    "mean_sd_from_median": "conversions",
    "mean_sd_from_quartiles": "conversions",
    "mean_sd_from_range": "conversions",
    "sd_change": "conversions",
    "sd_from_ci": "conversions",
    "sd_from_se": "conversions",
    "sd_from_se_difference": "conversions",
    "se_from_ci": "conversions",
    "se_from_p": "conversions",
    "se_from_t": "conversions",
    "se_from_z": "conversions",
    "BaujatResult": "influence",
    "CumulativeResult": "influence",
    "GoshResult": "influence",
    "InfluenceResult": "influence",
    "LeaveOneOutResult": "influence",
    "baujat": "influence",
    "cumulative": "influence",
    "gosh": "influence",
    "influence_diagnostics": "influence",
    "leave_one_out": "influence",
    "MetaAnalysis": "meta",
    "meta_analysis": "meta",
    "MetaRegression": "metareg",
    "meta_regression": "metareg",
    "NetworkResult": "network",
    "evidence_networks": "network",
    "network_meta_analysis": "network",
    "MetaResult": "results",
    "SelectionModelResult": "selection",
    "selection_model": "selection",
    "SubgroupResult": "subgroups",
    "subgroup_analysis": "subgroups",
    "check_text": "checker",
    "check_file": "checker",
    "CheckReport": "checker",
}

__all__ = [  # noqa: PLE0604 - names resolved by __getattr__
    "__version__", "ConvergenceError", "ConvergenceWarning", "EvidenceError", "EvidenceWarning",
    "InputError", "MHResult", "effect_sizes", "mantel_haenszel", "peto", *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'acuevidence' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # cache: the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ._metareg_perm import PermutationResult
    from ._metareg_result import LikelihoodRatioTest, MetaRegressionResult, WaldTest
    from .bayes import BayesMetaAnalysis, BayesResult, bayes_meta_analysis
    from .bayes_priors import (
        TauPrior,
        fixed_tau,
        half_cauchy_prior,
        half_normal_prior,
        rhodes_prior,
        turner_prior,
        uniform_prior,
    )
    from .bias import (
        FailSafeNResult,
        PetPeeseResult,
        RankTestResult,
        RegressionTestResult,
        TrimFillResult,
        fsn,
        pet_peese,
        ranktest,
        regtest,
        trimfill,
    )
    from .checker import CheckReport, check_file, check_text
    from .conversions import (
        corr_from_sds,
        mean_sd_from_fivenum,
        mean_sd_from_median,
        mean_sd_from_quartiles,
        mean_sd_from_range,
        sd_change,
        sd_from_ci,
        sd_from_se,
        sd_from_se_difference,
        se_from_ci,
        se_from_p,
        se_from_t,
        se_from_z,
    )
    from .effect_sizes import effect_sizes
    from .influence import (
        BaujatResult,
        CumulativeResult,
        GoshResult,
        InfluenceResult,
        LeaveOneOutResult,
        baujat,
        cumulative,
        gosh,
        influence_diagnostics,
        leave_one_out,
    )
    from .mantel_haenszel import MHResult, mantel_haenszel, peto
    from .meta import MetaAnalysis, meta_analysis
    from .metareg import MetaRegression, meta_regression
    from .network import NetworkResult, evidence_networks, network_meta_analysis
    from .results import MetaResult
    from .selection import SelectionModelResult, selection_model
    from .subgroups import SubgroupResult, subgroup_analysis
