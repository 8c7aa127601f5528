"""acuevidence: does acupuncture work for back, hip and leg pain? Evidence from the trials."""

from __future__ import annotations

from .errors import (
    ConvergenceError,
    ConvergenceWarning,
    EvidenceError,
    EvidenceWarning,
    InputError,
)
from .mantel_haenszel import MHResult, mantel_haenszel, peto
from .meta import MetaAnalysis, meta_analysis
from .results import MetaResult

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "ConvergenceError",
    "ConvergenceWarning",
    "EvidenceError",
    "EvidenceWarning",
    "InputError",
    "MHResult",
    "MetaAnalysis",
    "MetaResult",
    "meta_analysis",
    "mantel_haenszel",
    "peto",
]
