"""Numba kernels of the batch engine: one meta-analysis per row of a (B, k) array.

The kernels reproduce :func:`acuevidence.meta_analysis` (intercept-only ``rma.uni``) row by row:
the same estimators of tau^2 (see :mod:`acuevidence.tau2` for the formulas and references), the
same pooled estimate, tests, heterogeneity statistics and prediction interval. They differ only
in how the iterative estimators reach their answer, which is fast here and unique there:

* ML / REML: safeguarded Newton on the score with the exact (observed) Hessian, started at the
  DerSimonian-Laird estimate and kept inside a bracket [lo, hi] on which the score changes sign
  (a step leaving the bracket, or taken where the likelihood is not concave, becomes a
  bisection). The single engine then scans a grid for a higher maximum (the restricted
  likelihood can be bimodal). Scanning 122 points per row would cost more than the fit, so the
  kernel first tries to *prove* the maximum global, and scans only rows where the proof fails:
  the score is s(t) = (A(t) - B(t)) / 2 with A = y'P^2y and B = tr P (REML) or sum w (ML), both
  decreasing in t, so on [a, b] the score lies in [(A(b) - B(a))/2, (A(a) - B(b))/2]; the
  second derivative is C(t)/2 - D(t) with C = tr P^2 (REML) or sum w^2 (ML) and D = y'P^3y,
  again both decreasing. A concave interval around the root, a chain of intervals with a
  positive score to its left, a chain with a negative score to its right and an analytic bound
  for the tail (A <= SS/(v_min + t)^2, B >= k/(v_max + t) - 1/(v_min + t)) prove that no
  grid point can beat the root. Rows without a proof get the single engine's grid scan and
  bracketed search.
* PM, EB, SJIT (all roots of the generalised Q-statistic equation Q(t) = k - 1; EB and SJIT
  are fixed-point iterations with that fixed point) and PMM (Q(t) = median of chi^2_{k-1}):
  Newton on Q(t) - target, which is convex and decreasing, inside a bracket.
* DLIT: the fixed-point iteration of the single engine itself (its limit is what the single
  engine reports), with the same stopping rule and the same bracketing fallback.

Every row is independent; rows are processed in blocks by ``numba.prange`` with per-block
scratch arrays, so memory is the inputs plus the outputs. Two code paths give the same bits:

* the lane kernels (:mod:`._lanes`; no custom weights, the estimators above but DLIT, HE, SJ and
  GENQ): 32 rows side by side, so that the sums over studies, the per-row algebra and the tail
  probabilities run on SIMD vectors; the proof of a global maximum uses a fixed ladder of
  points (evaluated for the 32 rows at once) and falls back to the adaptive proof per row;
  outputs are collected per block and written with streaming stores when the batch is larger
  than the caches (:mod:`._stores`);
* the row kernels (:mod:`._rows`): one row at a time, for every method and input, and for the
  rows the lanes do not finish; their p-values of Q and the z tests are computed 32 rows at a
  time with the lanes' functions.

Where the time goes (DL, k = 20, one core): copying the rows study-major, two passes of sums
(one division per study each), the tail probabilities (one ``exp`` each) and writing 130 bytes
of outputs per row. ML/REML: about 15 passes of sums per row (Newton, the ladder, the pooled
estimate) and the adaptive proof for the few percent of rows the ladder does not settle.

Developer note: Numba's on-disk cache (``cache=True``) keys a function on its own source file
only, so :func:`fit_rows` compiled into ``__pycache__`` is not rebuilt when only a module it
calls (``_lanes``, ``_rows``, ``_likelihood``, ``_special``, ``_sums``, ``_stores``) changes:
after editing those, delete ``src/acuevidence/batch/__pycache__/*.nb[ic]``.

References
----------
See :mod:`acuevidence.tau2` (one reference per estimator) and :mod:`acuevidence.meta`.
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
    random-effects model. J Educ Behav Stat 30:261-293. (Fisher scoring / Newton for REML)
Moore RE (1966). Interval Analysis. Prentice-Hall. (bounds from monotone parts)
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._lanes import fit_lanes, lane_method
from ._likelihood import (  # noqa: F401  (re-exported for tests and tools)
    PROOF_MARGIN,
    TAU2_TOL,
    _certify,
    _left_chain,
    _likelihood,
    _neg_on,
    _newton_lik,
    _pos_on,
    _right_chain,
    _ss,
    _tail_ok,
)
from ._rows import (  # noqa: F401  (codes shared with api.py)
    M_COMMON,
    M_DL,
    M_DLIT,
    M_EB,
    M_GENQ,
    M_HE,
    M_HS,
    M_HSK,
    M_ML,
    M_PM,
    M_PMM,
    M_REML,
    M_SJ,
    M_SJIT,
    ROW_FIELDS,
    S_EMPTY,
    S_NAN,
    S_NONPOS_V,
    S_NONPOS_W,
    S_NOT_CONVERGED,
    S_OK,
    S_TOO_FEW,
    T_ADHOC,
    T_KNHA,
    T_T,
    T_Z,
    TEST_FIELDS,
    _fit_row,
    _pvalues_rows,
)
from ._sums import LANES, _abcd, _light, _loglik, _moments, _pquad  # noqa: F401


@njit(parallel=True, cache=True, error_model="numpy")
def fit_rows(y, v, mask, a, has_mask, has_w, method, tests, zcrit, tcrit, targets, max_iter,
             block, rowf, k_out, it_out, status_out, conv_out, testf, stream=False):
    """Fit every row of (y, v) (see :func:`acuevidence.batch.meta_analysis`) into the outputs.

    ``rowf`` (6, B): tau2, tau2_se, q, q_p_value, i2, h2; ``testf`` (n_tests, 8, B): estimate,
    se, statistic, p_value, ci_lower, ci_upper, pi_lower, pi_upper for each test code in
    ``tests``; ``tcrit[df]`` and ``targets[df]`` are the t critical values and PMM targets.
    ``stream``: write the outputs with streaming stores (a batch larger than the caches).
    """
    nrows = y.shape[0]
    kmax = y.shape[1]
    nblocks = (nrows + block - 1) // block
    if lane_method(method) and not has_w:
        # the common case: LANES rows side by side (blocks are multiples of LANES)
        for blk in prange(nblocks):
            start = blk * block
            fit_lanes(start, min(nrows, start + block), y, v, mask, a, has_mask, method, tests,
                      zcrit, tcrit, targets, max_iter, rowf, k_out, it_out, status_out,
                      conv_out, testf, stream)
        return
    for blk in prange(nblocks):
        ys = np.empty(kmax)
        vs = np.empty(kmax)
        ws = np.empty(kmax)
        W = np.empty((9, LANES))
        start = blk * block
        stop = min(nrows, start + block)
        # row by row, the tail probabilities LANES rows at a time (vectorised)
        for b0 in range(start, stop, LANES):
            nl = min(LANES, stop - b0)
            for b in range(b0, b0 + nl):
                _fit_row(b, y, v, mask, a, has_mask, has_w, method, tests, zcrit, tcrit,
                         targets, max_iter, ys, vs, ws, rowf, k_out, it_out, status_out,
                         conv_out, testf)
            _pvalues_rows(b0, nl, tests, rowf, k_out, status_out, testf, W)
