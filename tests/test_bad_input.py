"""Bad input raises InputError naming the parameter, never a raw error from numpy/scipy/Python.

One case per hole a review found: options given as strings where numbers are needed, a missing
required argument, non-data passed as data, effect sizes or variances too extreme for double
precision, and booleans passed as effect sizes or variances.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import acuevidence as ae
from acuevidence import InputError, batch
from acuevidence._validate import V_MAX, V_MIN, Y_MAX, finite_number, positive_int
from acuevidence.network import network_meta_analysis

Y3, V3 = [0.1, 0.2, 0.3], [0.1, 0.1, 0.1]
B_Y, B_V = np.array([[0.1, 0.2, 0.3]] * 2), np.full((2, 3), 0.1)


def _metareg():
    return ae.meta_regression([0.1, 0.2, 0.3, 0.4], [0.1] * 4, [1.0, 2.0, 3.0, 4.5])


def _bayes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ae.bayes_meta_analysis(Y3, V3)


CASES = {
    # options and arguments of the wrong type or value
    "meta tau2 string": (lambda: ae.meta_analysis(Y3, V3, tau2="a"), "tau2"),
    "meta tau2 nan": (lambda: ae.meta_analysis(Y3, V3, tau2=float("nan")), "tau2"),
    "metareg tau2 string": (lambda: ae.meta_regression(Y3, V3, [1.0, 2.0, 3.5], tau2="a"),
                            "tau2"),
    "se_from_ci lower None": (lambda: ae.se_from_ci(None, 1), "lower"),
    "se_from_ci upper None": (lambda: ae.se_from_ci(0, None), "upper"),
    "sd_from_se se None": (lambda: ae.sd_from_se(None, 10), "se"),
    "se_from_t t None": (lambda: ae.se_from_t(0.5, None), "'t'"),
    "predict string": (lambda: _metareg().predict(["a"]), "newmods"),
    "predict ragged": (lambda: _metareg().predict([[1, 2], [3]]), "newmods"),
    "bayes cdf string": (lambda: _bayes().cdf("a"), "'x'"),
    "bayes cdf nan": (lambda: _bayes().cdf(float("nan")), "'x'"),
    "bayes cdf tau string": (lambda: _bayes().cdf("a", "tau"), "'x'"),
    "bayes quantile string": (lambda: _bayes().quantile("a"), "'p'"),
    "bayes quantile None": (lambda: _bayes().quantile(None, "tau"), "'p'"),
    "bayes credible_interval level": (lambda: _bayes().credible_interval(level="a"), "level"),
    "bayes prob_benefit string": (lambda: _bayes().prob_benefit("a"), "delta"),
    "bayes prob_benefit bool": (lambda: _bayes().prob_benefit(True), "delta"),
    "bayes prob_below string": (lambda: _bayes().prob_below("a"), "threshold"),
    "bayes prob_above list": (lambda: _bayes().prob_above([1]), "threshold"),
    "fsn target string": (lambda: ae.fsn(Y3, type="orwin", target="x"), "target"),
    "fsn alpha string": (lambda: ae.fsn(Y3, V3, alpha="x"), "alpha"),
    "pet_peese alpha None": (lambda: ae.pet_peese([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.1],
                                                  alpha=None), "alpha"),
    "selection steps string": (lambda: ae.selection_model(
        [0.1, 0.5, 0.9, -0.2, 0.3], [0.01, 0.04, 0.05, 0.02, 0.03], steps=["a"]), "steps"),
    "gosh subsets string": (lambda: ae.gosh(Y3, [0.1, 0.2, 0.3], subsets="x"), "subsets"),
    "gosh subsets fraction": (lambda: ae.gosh(Y3, [0.1, 0.2, 0.3], subsets=2.5), "subsets"),
    "gosh seed string": (lambda: ae.gosh(Y3, [0.1, 0.2, 0.3], subsets=3, seed="x"), "seed"),
    "network data list": (lambda: network_meta_analysis([1, 2, 3]), "data"),
    "network tau2 string": (lambda: network_meta_analysis(
        None, study=[1, 1, 2], treat1=["a", "a", "b"], treat2=["b", "c", "c"],
        estimate=[0.1, 0.2, 0.3], se=[0.1, 0.1, 0.1], tau2="x"), "tau2"),
    # magnitudes beyond double precision
    "yi 1e200": (lambda: ae.meta_analysis([1e200, -1e200, 0.3], V3), "yi"),
    "yi 1e100": (lambda: ae.meta_analysis([1e100, -1e100, 0.3], V3), "yi"),
    "vi 1e200": (lambda: ae.meta_analysis(Y3, [1e200] * 3), "vi"),
    "vi 1e-320": (lambda: ae.meta_analysis(Y3, [1e-320, 0.1, 0.1]), "vi"),
    "vi spread": (lambda: ae.meta_analysis(Y3, [1e-10, 0.1, 1e10]), "vi"),
    "sei 1e100": (lambda: ae.meta_analysis(Y3, sei=[1e100] * 3), "sei"),
    "metareg yi 1e200": (lambda: ae.meta_regression([1e200, -1e200, 0.3, 0.1], [0.1] * 4,
                                                    [1.0, 2.0, 3.0, 4.5]), "yi"),
    "bayes yi 1e200": (lambda: ae.bayes_meta_analysis([1e200, -1e200], [0.1, 0.1]), "yi"),
    "fsn orwin yi 1e200": (lambda: ae.fsn([1e200, 0.2, 0.3], type="orwin"), "yi"),
    # booleans are not effect sizes or variances
    "vi bool": (lambda: ae.meta_analysis(Y3, vi=[True, True, True]), "vi"),
    "yi bool": (lambda: ae.meta_analysis([True, False, True], V3), "yi"),
    "sei bool": (lambda: ae.meta_analysis(Y3, sei=[True, True, True]), "sei"),
    # degenerate data the method cannot handle (metafor itself stops with an R error here)
    "trimfill side with equal variances": (
        lambda: ae.trimfill(ae.meta_analysis([0.1, 0.2, 0.3, -0.1, 0.4], [1.0] * 5)), "side"),
    "pet_peese exact fit": (lambda: ae.pet_peese([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4]), "yi"),
    # the batch engine's options (strings in a mask would otherwise all count as True)
    "batch threads string": (lambda: batch.meta_analysis(B_Y, B_V, threads="a"), "threads"),
    "batch max_iter 0": (lambda: batch.meta_analysis(B_Y, B_V, max_iter=0), "max_iter"),
    "batch mask strings": (lambda: batch.meta_analysis(B_Y, B_V, mask=[["1", "a", "0"]] * 2),
                           "mask"),
    "batch mask counts": (lambda: batch.meta_analysis(B_Y, B_V, mask=[[1, 2, 0]] * 2), "mask"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_raises_input_error_naming_the_parameter(name):
    call, param = CASES[name]
    with pytest.raises(InputError) as err:
        call()
    assert param in str(err.value), str(err.value)
    assert err.value.column is not None and err.value.column.strip("'") in param


def test_extreme_values_name_the_rows_and_the_fix():
    with pytest.raises(InputError, match=r"'yi' is too large.*row\(s\) 1, 2.*Rescale") as err:
        ae.meta_analysis([1e200, -1e200, 0.3], V3)
    assert err.value.rows == [0, 1]
    with pytest.raises(InputError, match=r"'vi' is too small.*row\(s\) 1.*Rescale"):
        ae.meta_analysis(Y3, [1e-320, 0.1, 0.1])


def test_values_at_the_limits_are_accepted():
    # the bounds themselves are inside the accepted range and give finite results
    res = ae.meta_analysis([Y_MAX, -Y_MAX, 0.0], [V_MAX, V_MAX, V_MAX], method="DL")
    assert res.tau2 >= 0 and abs(res.estimate) < float("inf")
    res = ae.meta_analysis([1e-38, 2e-38, 3e-38], [V_MIN, 2 * V_MIN, 3 * V_MIN])
    assert 1e-38 <= res.estimate <= 3e-38 and res.tau2 >= 0
    res = ae.meta_analysis([0.1, 0.2, 0.3], [1e-15, 0.1, 0.1], method="DL")
    assert abs(res.estimate - 0.1) < 1e-12


def test_variances_too_far_apart():
    with pytest.raises(InputError, match=r"'vi' are too far apart.*row 1.*row 3") as err:
        ae.meta_analysis(Y3, [1e-10, 0.1, 1e10])
    assert err.value.rows == [0, 2] and err.value.column == "vi"
    with pytest.raises(InputError, match=r"'sei' are too far apart") as err:
        ae.meta_analysis(Y3, sei=[1e-5, 0.1, 1e5])
    assert err.value.column == "sei"


def test_negative_and_zero_variances_keep_their_own_message():
    with pytest.raises(InputError, match="'vi' must be positive"):
        ae.meta_analysis(Y3, [0.0, 0.1, 0.1])
    with pytest.raises(InputError, match="'sei' must be positive"):
        ae.meta_analysis(Y3, sei=[-1.0, 0.1, 0.1])


def test_whole_numbers_still_accepted():
    assert positive_int(3.0, "n") == 3
    assert positive_int(1e4, "n") == 10000
    assert finite_number("0.5", "x") == 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ae.gosh(Y3, [0.1, 0.2, 0.3], subsets=3.0, seed=1).table.shape[0] == 3


def test_helpers_reject_bools_and_non_numbers():
    for bad in (True, None, "x", float("inf"), float("nan")):
        with pytest.raises(InputError, match="'x'"):
            finite_number(bad, "x")
    for bad in (True, None, "x", 2.5, 0, float("inf")):
        with pytest.raises(InputError, match="'n'"):
            positive_int(bad, "n")


def test_trimfill_with_equal_variances_runs_with_a_given_side():
    # metafor 3.8.1: trimfill(rma(yi, rep(1, 5)), side = "left" / "right") both give k0 = 0
    # (its side = NULL stops with an R error on these data)
    fit = ae.meta_analysis([0.1, 0.2, 0.3, -0.1, 0.4], [1.0] * 5)
    for side in ("left", "right"):
        res = ae.trimfill(fit, side=side)
        assert res.side == side and res.k0 == 0


def test_batch_mask_of_ones_and_zeros_is_accepted():
    res = batch.meta_analysis(B_Y, B_V, mask=[[1, 0, 1], [1, 1, 0]], threads=1)
    assert res.k.tolist() == [2, 2]
