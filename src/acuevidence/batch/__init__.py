"""Batch engine: millions of meta-analyses, on one machine or a Dask cluster.

``acuevidence.batch.meta_analysis(y, v, method="REML", test="z")`` fits one model per row of a
(B, k) array with the numbers of :func:`acuevidence.meta_analysis`; :mod:`.simulate` runs
simulation studies on top of it and :mod:`.distributed` spreads them over Dask workers.

Importing this package is light; Numba compiles (or loads from its cache) on the first fit.
Needs the ``batch`` extra: ``pip install 'acuevidence[batch]'``.
"""

from __future__ import annotations

from .api import (
    COLUMNS,
    BatchResult,
    Status,
    StatusSummary,
    fit_many_tests,
    iter_meta_analysis,
    meta_analysis,
)

__all__ = [
    "COLUMNS",
    "BatchResult",
    "Status",
    "StatusSummary",
    "fit_many_tests",
    "iter_meta_analysis",
    "meta_analysis",
]
