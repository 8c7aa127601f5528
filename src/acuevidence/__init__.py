"""acuevidence: does acupuncture work for back, hip and leg pain? Evidence from the trials."""

from __future__ import annotations

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
from .effect_sizes import effect_sizes
from .errors import (
    ConvergenceError,
    ConvergenceWarning,
    EvidenceError,
    EvidenceWarning,
    InputError,
)
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
from ._metareg_perm import PermutationResult
from ._metareg_result import LikelihoodRatioTest, MetaRegressionResult, WaldTest
from .metareg import MetaRegression, meta_regression
from .network import NetworkResult, evidence_networks, network_meta_analysis
from .selection import SelectionModelResult, selection_model
from .subgroups import SubgroupResult, subgroup_analysis
from .results import MetaResult

__version__ = "0.1.0"

__all__ = [
    "NetworkResult",
    "evidence_networks",
    "network_meta_analysis",
    "MetaRegression",
    "MetaRegressionResult",
    "LikelihoodRatioTest",
    "PermutationResult",
    "WaldTest",
    "meta_regression",
    "FailSafeNResult",
    "PetPeeseResult",
    "RankTestResult",
    "RegressionTestResult",
    "TrimFillResult",
    "fsn",
    "pet_peese",
    "ranktest",
    "regtest",
    "trimfill",
    "BaujatResult",
    "CumulativeResult",
    "GoshResult",
    "InfluenceResult",
    "LeaveOneOutResult",
    "baujat",
    "cumulative",
    "gosh",
    "influence_diagnostics",
    "leave_one_out",
    "SelectionModelResult",
    "selection_model",
    "BayesMetaAnalysis",
    "BayesResult",
    "bayes_meta_analysis",
    "TauPrior",
    "fixed_tau",
    "half_cauchy_prior",
    "half_normal_prior",
    "rhodes_prior",
    "turner_prior",
    "uniform_prior",
    "__version__",
    "corr_from_sds",
    "mean_sd_from_fivenum",
    "mean_sd_from_median",
    "mean_sd_from_quartiles",
    "mean_sd_from_range",
    "sd_change",
    "sd_from_ci",
    "sd_from_se",
    "sd_from_se_difference",
    "se_from_ci",
    "se_from_p",
    "se_from_t",
    "se_from_z",
    "ConvergenceError",
    "ConvergenceWarning",
    "EvidenceError",
    "EvidenceWarning",
    "effect_sizes",
    "InputError",
    "MHResult",
    "MetaAnalysis",
    "MetaResult",
    "meta_analysis",
    "subgroup_analysis",
    "SubgroupResult",
    "mantel_haenszel",
    "peto",
]
