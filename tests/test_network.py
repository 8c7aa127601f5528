"""Network meta-analysis: input checks, identities, ranking, plots and the applied networks.

Numbers against metafor are in test_reference_network.py; here are the errors, the invariances
(reference, row order, arm order, input form), identities of the methods (no loop: direct =
network; two-arm network under a common effect: node-split model = back-calculation; P-scores =
limit of SUCRA; Q decomposition), and the contracts of results and SVG output.
"""

from __future__ import annotations

import json
import math
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import load_group

from acuevidence import InputError
from acuevidence.errors import ZeroCellWarning
from acuevidence.network import (
    design_by_treatment,
    evidence_networks,
    forest_svg,
    league_table,
    network_graph_svg,
    network_meta_analysis,
    node_split,
    p_scores,
    rank_treatments,
)

_, _CASES = load_group("network")
_DATA = {c["args"]["dataset"]: c["data"] for c in _CASES if c["id"].endswith("/FE/model")}
SENN = pd.DataFrame(_DATA["senn2013"]["arms"])
HASS = pd.DataFrame(_DATA["hasselblad1998"]["arms"])


def senn(method="REML", **kw):
    return network_meta_analysis(SENN, study="study", treatment="treatment", n="n", mean="mean",
                                 sd="sd", measure="MD", method=method,
                                 **{"reference": "placebo", **kw})


def all_pairs(arms: pd.DataFrame) -> pd.DataFrame:
    """Every pair of arms of every study as contrasts (MD with variance sd^2/n summed)."""
    rows = []
    for s, g in arms.groupby("study", sort=False):
        g = g.reset_index(drop=True)
        for i in range(len(g)):
            for j in range(i + 1, len(g)):
                a, b = g.loc[i], g.loc[j]
                rows.append({"study": s, "treat1": a["treatment"], "treat2": b["treatment"],
                             "TE": a["mean"] - b["mean"],
                             "seTE": math.sqrt(a["sd"] ** 2 / a["n"] + b["sd"] ** 2 / b["n"]),
                             "n1": a["n"], "n2": b["n"]})
    return pd.DataFrame(rows)


def contrasts(rows):
    return pd.DataFrame(rows, columns=["study", "treat1", "treat2", "TE", "seTE"])


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
def test_disconnected_network_names_the_subnetworks():
    d = contrasts([("s1", "A", "B", 0.1, 0.2), ("s2", "B", "C", 0.2, 0.2),
                   ("s3", "D", "E", 0.3, 0.2)])
    with pytest.raises(InputError) as err:
        network_meta_analysis(d)
    msg = str(err.value)
    assert "disconnected" in msg
    assert "sub-network 1: treatments A, B, C (studies s1, s2)" in msg
    assert "sub-network 2: treatments D, E (studies s3)" in msg


def test_unknown_reference_lists_the_labels():
    d = contrasts([("s1", "A", "B", 0.1, 0.2), ("s2", "B", "C", 0.2, 0.2)])
    with pytest.raises(InputError, match=r"Unknown treatment 'placebo'.*'A', 'B', 'C'"):
        network_meta_analysis(d, reference="placebo")
    res = network_meta_analysis(d)
    with pytest.raises(InputError, match="Unknown treatment 'Z'"):
        res.compare("A", "Z")
    with pytest.raises(InputError, match="Unknown treatment 'Z'"):
        forest_svg(res, "Z")


def test_multiarm_contrasts_that_do_not_add_up():
    d = contrasts([("s1", "A", "B", 0.3, 0.2), ("s1", "B", "C", 0.2, 0.2),
                   ("s1", "A", "C", 0.9, 0.25), ("s2", "A", "B", 0.1, 0.3)])
    with pytest.raises(InputError, match=r"inconsistent: TE\(A vs B\) \+ TE\(B vs C\) = 0\.5.*"
                                         r"TE\(A vs C\) = 0\.9"):
        network_meta_analysis(d)
    # within the tolerance it is accepted
    d.loc[2, "TE"] = 0.5005
    assert network_meta_analysis(d).k == 2


def test_multiarm_covariance_not_positive_definite():
    # var(A-C) far above var(A-B) + var(B-C): no arm variances can produce these
    d = contrasts([("s1", "A", "B", 0.3, 0.1), ("s1", "B", "C", 0.2, 0.1),
                   ("s1", "A", "C", 0.5, 1.0), ("s2", "A", "B", 0.1, 0.3)])
    with pytest.raises(InputError, match="not positive definite"):
        network_meta_analysis(d)


def test_multiarm_study_with_missing_pairs():
    d = contrasts([("s1", "A", "B", 0.3, 0.2), ("s1", "A", "C", 0.5, 0.2)])
    with pytest.raises(InputError, match=r"gives 2 of its 3 pairs \(missing: B vs C\)"):
        network_meta_analysis(d)


def test_treatment_compared_with_itself():
    d = contrasts([("s1", "A", "B", 0.1, 0.2), ("s2", "B", "B", 0.2, 0.2)])
    with pytest.raises(InputError, match=r"Row\(s\) 2 compare a treatment with itself"):
        network_meta_analysis(d)


def test_fewer_than_two_treatments():
    with pytest.raises(InputError, match="at least 2 treatments"):
        network_meta_analysis(contrasts([]))
    arms = pd.DataFrame({"study": ["s1", "s1"], "treatment": ["A", "B"], "n": [10, 10],
                         "events": [0, 0]})
    with pytest.warns(ZeroCellWarning, match="left out"), \
            pytest.raises(InputError, match="at least 2 treatments"):
        network_meta_analysis(arms, treatment="treatment", n="n", events="events", measure="OR")


@pytest.mark.parametrize("rows, match", [
    ([("s1", "A", "B", 0.1, 0.2), ("s1", "B", "A", 0.2, 0.2)], "gives the comparison B vs A twice"),
    ([("s1", "A", "B", 0.1, -0.2)], "'se' must be positive"),
    ([("s1", "A", None, 0.1, 0.2)], r"'treat2' is missing in row\(s\) 1"),
])
def test_bad_contrast_rows(rows, match):
    with pytest.raises(InputError, match=match):
        network_meta_analysis(contrasts(rows))


def test_bad_arms_and_options():
    arms = pd.DataFrame({"study": ["s1", "s1", "s2"], "treatment": ["A", "A", "B"],
                         "n": [10, 10, 10], "mean": [1, 2, 3], "sd": [1, 1, 1]})
    kw = {"treatment": "treatment", "n": "n", "mean": "mean", "sd": "sd", "measure": "MD"}
    with pytest.raises(InputError, match="several arms of treatment 'A'"):
        network_meta_analysis(arms, **kw)
    arms.loc[1, "treatment"] = "B"
    with pytest.raises(InputError, match="Study 's2' has one arm"):
        network_meta_analysis(arms, **kw)
    ok = arms.iloc[:2]
    with pytest.raises(InputError, match="measure"):
        network_meta_analysis(ok, **{**kw, "measure": "ROM"})
    with pytest.raises(InputError, match="supports the methods"):
        network_meta_analysis(ok, **kw, method="PM")
    with pytest.raises(InputError, match="non-negative"):
        network_meta_analysis(ok, **kw, tau2=-1)
    with pytest.raises(InputError, match="'treatments' leaves out 'B'"):
        network_meta_analysis(ok, **kw, treatments=["A"])


def test_cov_must_be_block_diagonal_and_sized():
    d = contrasts([("s1", "A", "B", 0.1, None), ("s2", "B", "C", 0.2, None)]).drop(columns="seTE")
    with pytest.raises(InputError, match="must be a 2 x 2 matrix"):
        network_meta_analysis(d, cov=np.eye(3))
    with pytest.raises(InputError, match="block-diagonal by study"):
        network_meta_analysis(d, cov=[[0.04, 0.01], [0.01, 0.04]])
    res = network_meta_analysis(d, cov=np.diag([0.04, 0.04]))
    assert res.q_df == 0


# ---------------------------------------------------------------------------------------------
# Invariances and identities
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["common", "REML", "ML", "DL"])
def test_all_pairs_input_equals_arm_input(method):
    """A multi-arm study as all its pairs gives exactly the arm-level covariance."""
    a = senn(method)
    c = network_meta_analysis(all_pairs(SENN), n1="n1", n2="n2", method=method,
                              reference="placebo")
    np.testing.assert_allclose(c.estimate, a.estimate, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(c.se[1:], a.se[1:], rtol=1e-9)
    assert math.isclose(c.tau2, a.tau2, rel_tol=1e-8, abs_tol=1e-12)
    assert math.isclose(c.q, a.q, rel_tol=1e-10)
    np.testing.assert_allclose(c.network.participants(), a.network.participants())


def test_reference_and_order_invariance():
    base = senn()
    other = senn(reference="metformin")
    np.testing.assert_allclose(other.pairwise_estimate, base.pairwise_estimate, atol=1e-10)
    np.testing.assert_allclose(np.nan_to_num(other.pairwise_se), np.nan_to_num(base.pairwise_se),
                               atol=1e-10)
    assert math.isclose(other.tau2, base.tau2, rel_tol=1e-9)
    assert math.isclose(other.loglik, base.loglik, rel_tol=1e-10)
    shuffled = SENN.sample(frac=1.0, random_state=3).reset_index(drop=True)
    res = network_meta_analysis(shuffled, study="study", treatment="treatment", n="n",
                                mean="mean", sd="sd", measure="MD", reference="placebo")
    np.testing.assert_allclose(res.estimate, base.estimate, atol=1e-10)
    # contrast orientation: swapping treat1/treat2 and the sign of TE changes nothing
    pairs = all_pairs(SENN)
    flipped = pairs.rename(columns={"treat1": "treat2", "treat2": "treat1"}).assign(
        TE=-pairs["TE"])
    res = network_meta_analysis(flipped, reference="placebo")
    np.testing.assert_allclose(res.estimate, base.estimate, atol=1e-9)


def test_fit_twice_same_result_and_inputs_untouched():
    before = SENN.copy()
    a, b = senn(), senn()
    pd.testing.assert_frame_equal(SENN, before)
    assert a.to_dict() == b.to_dict()
    with pytest.raises(AttributeError):
        a.tau2 = 1.0
    with pytest.raises(ValueError):
        a.estimate[0] = 1.0


def test_user_order_of_treatments():
    order = ["placebo", "sulfonylurea", "acarbose", "benfluorex", "metformin", "miglitol",
             "pioglitazone", "rosiglitazone", "sitagliptin", "vildagliptin"]
    res = senn(treatments=order)
    assert res.treatments == tuple(order)
    base = senn()
    i, j = res.index("metformin"), base.index("metformin")
    assert math.isclose(res.estimate[i], base.estimate[j], rel_tol=1e-10)


def test_q_decomposition_and_design_table():
    res = senn("common")
    inc = design_by_treatment(res)
    assert math.isclose(inc.q_within + inc.q_between, res.q, rel_tol=1e-12)
    assert math.isclose(inc.q_between, res.q_between, rel_tol=1e-12)
    # design contributions add up to the between-design Q (Krahn 2013)
    assert math.isclose(float(np.sum(inc.design_q_contribution)), inc.q_between, rel_tol=1e-9)
    # within-design Q per design adds up to the within-design Q
    assert math.isclose(float(np.sum(inc.design_q_within)), inc.q_within, rel_tol=1e-9)
    # net heat: detaching a design removes its own contribution (the diagonal)
    heat = inc.heat
    ok = np.isfinite(np.diag(heat))
    np.testing.assert_allclose(np.diag(heat)[ok], inc.design_q_contribution[ok], rtol=1e-9)
    # a common-effect network: the Wald test of the interaction model is the between-design Q
    assert math.isclose(inc.statistic, inc.q_between, rel_tol=1e-9)
    frame = inc.to_frame()
    assert list(frame.columns)[:3] == ["design", "k", "q_within"]
    assert inc.heat_frame().shape == (len(inc.designs), len(inc.designs))
    text = inc.summary()
    assert "Between designs" in text and "where inconsistency comes from" in text
    json.dumps(inc.to_dict())


def test_no_loop_direct_equals_network():
    """A star network: nothing to split, and every direct estimate is the network estimate."""
    d = contrasts([("s1", "A", "B", -0.3, 0.20), ("s2", "A", "B", -0.1, 0.25),
                   ("s3", "A", "C", 0.2, 0.30), ("s4", "A", "D", 0.4, 0.20),
                   ("s5", "A", "D", 0.1, 0.35)])
    for method in ("common", "REML", "DL"):
        res = network_meta_analysis(d, method=method)
        for how in ("side", "back-calculation"):
            t = node_split(res, how).to_frame()
            assert not t["splittable"].any()
            np.testing.assert_allclose(t["direct"], t["network"], rtol=1e-9, atol=1e-12)
            assert t["indirect"].isna().all()
        inc = design_by_treatment(res)
        assert inc.q_between_df == 0 and inc.q_between_p_value is None
        assert "cannot be tested" in inc.notes[0]


def test_two_arm_common_effect_split_equals_back_calculation():
    """With two-arm studies only and no tau^2, separating the direct evidence by a parameter
    and back-calculating the indirect estimate are the same computation."""
    two = HASS[HASS.groupby("study")["study"].transform("size") == 2]
    res = network_meta_analysis(two, treatment="treatment", n="n", events="events",
                                measure="OR", method="common", add=0.5, to="all")
    side = node_split(res, "side").to_frame()
    back = node_split(res, "back-calculation").to_frame()
    assert side["splittable"].all()
    for col in ("direct", "direct_se", "indirect", "indirect_se", "difference", "difference_se",
                "p_value"):
        np.testing.assert_allclose(side[col], back[col], rtol=1e-8, err_msg=col)
    out = node_split(res).summary()
    assert "direct minus indirect" in out


def _netmeta_graph_dl(pairs: pd.DataFrame, trts: tuple[str, ...]):
    """netmeta's computation on all pairs (Rücker 2012), written out independently:
    reduced weights of multi-arm studies from the pseudo-inverse of -C R C / 2, the
    graph-theoretical fit through the Laplacian's pseudo-inverse, and
    tau^2 = (Q - df) / tr((I - H) (B B' * E / 2) W)."""
    idx = {t: i for i, t in enumerate(trts)}
    edges, w_all, y_all, study_of = [], [], [], []
    for s, g in pairs.groupby("study", sort=False):
        arms = sorted({*g["treat1"], *g["treat2"]}, key=idx.get)
        k = len(arms)
        pos = {t: i for i, t in enumerate(arms)}
        R = np.zeros((k, k))
        for r in g.itertuples():
            R[pos[r.treat1], pos[r.treat2]] = R[pos[r.treat2], pos[r.treat1]] = r.seTE ** 2
        C = np.eye(k) - 1.0 / k
        L = np.linalg.pinv(-0.5 * C @ R @ C)
        for r in g.itertuples():
            edges.append((idx[r.treat1], idx[r.treat2]))
            w_all.append(-L[pos[r.treat1], pos[r.treat2]])
            y_all.append(r.TE)
            study_of.append(s)
    m, n = len(edges), len(trts)
    B = np.zeros((m, n))
    for e, (a, b) in enumerate(edges):
        B[e, a], B[e, b] = 1.0, -1.0
    W = np.diag(w_all)
    y = np.array(y_all)
    Lp = np.linalg.pinv(B.T @ W @ B)
    H = B @ Lp @ B.T @ W
    res = y - H @ y
    q = float(res @ W @ res)
    df = sum(len({*g["treat1"], *g["treat2"]}) - 1 for _, g in pairs.groupby("study")) - (n - 1)
    E = np.array([[a == b for b in study_of] for a in study_of], dtype=float)
    tau2 = max(0.0, (q - df) / float(np.trace((np.eye(m) - H) @ (B @ B.T * E / 2) @ W)))
    return tau2, q, Lp


def _hass_pairs() -> pd.DataFrame:
    """dat.hasselblad1998 as all pairs of log odds (0.5 added to every cell, as the help page)."""
    a = HASS.assign(mean=np.log((HASS["events"] + 0.5) / (HASS["n"] - HASS["events"] + 0.5)),
                    var=1 / (HASS["events"] + 0.5) + 1 / (HASS["n"] - HASS["events"] + 0.5))
    return all_pairs(a.assign(sd=np.sqrt(a["var"] * a["n"])))


@pytest.mark.parametrize("name", ["senn2013", "hasselblad1998"])
def test_dl_tau2_is_netmetas_graph_theoretical_estimator(name):
    pairs = all_pairs(SENN) if name == "senn2013" else _hass_pairs()
    ref = "placebo" if name == "senn2013" else "no_contact"
    if name == "hasselblad1998":  # the same network from the arm-level path
        arm = network_meta_analysis(HASS, treatment="treatment", n="n", events="events",
                                    measure="OR", method="DL", add=0.5, to="all", reference=ref)
        net = network_meta_analysis(pairs, method="DL", reference=ref)
        assert math.isclose(arm.tau2, net.tau2, rel_tol=1e-9)
    res = network_meta_analysis(pairs, method="DL", reference=ref)
    tau2, q, Lp = _netmeta_graph_dl(pairs, res.treatments)
    assert math.isclose(res.tau2, tau2, rel_tol=1e-9)
    assert math.isclose(res.q, q, rel_tol=1e-9)
    # the common-effect network estimates are the graph model's: theta_i - theta_j from L+
    fe = network_meta_analysis(pairs, method="common", reference=ref)
    var = np.diag(Lp)[:, None] + np.diag(Lp)[None, :] - 2 * Lp
    np.testing.assert_allclose(np.nan_to_num(fe.pairwise_se ** 2), var - np.diag(np.diag(var)),
                               rtol=1e-8, atol=1e-12)


def test_fixed_tau2_and_not_estimable_tau2():
    res = senn(tau2=0.05)
    assert res.tau2 == 0.05 and res.tau2_fixed and res.path == "fixed"
    d = contrasts([("s1", "A", "B", -0.3, 0.2), ("s2", "A", "C", 0.2, 0.3)])
    res = network_meta_analysis(d, method="REML")
    assert res.tau2 == 0 and res.loglik is None
    assert any("cannot be estimated" in w for w in res.warnings)


def test_binary_arm_data_continuity_correction_is_per_study():
    arms = pd.DataFrame({"study": ["s1"] * 3 + ["s2"] * 2,
                         "treatment": ["A", "B", "C", "A", "B"],
                         "n": [20, 20, 20, 30, 30], "events": [0, 4, 6, 3, 5]})
    res = network_meta_analysis(arms, treatment="treatment", n="n", events="events",
                                measure="OR", method="common")
    # s1: 0.5 added to every arm, so the shared arm A has one value in both contrasts
    y = res.network.y[:2]
    assert math.isclose(y[0], math.log(4.5 / 16.5) - math.log(0.5 / 20.5), rel_tol=1e-12)
    assert math.isclose(res.network.V[0, 1], 1 / 0.5 + 1 / 20.5, rel_tol=1e-12)
    assert any("0.5 added to every cell of every arm of 1 study (s1" in w for w in res.warnings)


@pytest.mark.parametrize("measure", ["SMD", "MD", "RR", "OR", "RD"])
def test_two_arm_networks_reduce_to_escalc_and_pairwise(measure):
    """Two treatments, two-arm studies: the arm-level path is escalc's and rma.uni's model."""
    from acuevidence import effect_sizes, meta_analysis

    rng = np.random.default_rng(11)
    k = 6
    n1, n2 = rng.integers(20, 60, k), rng.integers(20, 60, k)
    rows = []
    for s in range(k):
        if measure in ("SMD", "MD"):
            a = {"mean": 1.0 + rng.normal(0, 0.3), "sd": 1.0 + rng.uniform(0, 0.5)}
            b = {"mean": 1.4 + rng.normal(0, 0.3), "sd": 1.0 + rng.uniform(0, 0.5)}
        else:
            a = {"events": int(rng.integers(3, 15))}
            b = {"events": int(rng.integers(3, 15))}
        rows.append({"study": f"s{s}", "treatment": "T", "n": int(n1[s]), **a})
        rows.append({"study": f"s{s}", "treatment": "C", "n": int(n2[s]), **b})
    arms = pd.DataFrame(rows)
    t, c = arms[arms.treatment == "T"], arms[arms.treatment == "C"]
    if measure in ("SMD", "MD"):
        es = effect_sizes(measure, m1i=t["mean"].to_numpy(), sd1i=t["sd"].to_numpy(),
                          n1i=t["n"].to_numpy(), m2i=c["mean"].to_numpy(),
                          sd2i=c["sd"].to_numpy(), n2i=c["n"].to_numpy())
        kw = {"mean": "mean", "sd": "sd"}
    else:
        es = effect_sizes(measure, ai=t["events"].to_numpy(), n1i=t["n"].to_numpy(),
                          ci=c["events"].to_numpy(), n2i=c["n"].to_numpy())
        kw = {"events": "events"}
    for method in ("common", "REML"):
        net = network_meta_analysis(arms, treatment="treatment", n="n", measure=measure,
                                    method=method, reference="C", **kw)
        pw = meta_analysis(es["yi"].to_numpy(), es["vi"].to_numpy(), method=method)
        i = net.index("T")
        assert math.isclose(net.estimate[i], pw.estimate, rel_tol=1e-7, abs_tol=1e-10)
        assert math.isclose(net.se[i], pw.se, rel_tol=1e-7)
        assert math.isclose(net.tau2, pw.tau2, rel_tol=1e-6, abs_tol=1e-10)


def test_smd_multiarm_covariance_is_gleser_olkin():
    arms = pd.DataFrame({"study": ["s1"] * 3 + ["s2"] * 2, "treatment": ["A", "B", "C", "A", "B"],
                         "n": [30, 25, 35, 40, 40], "mean": [5.0, 4.0, 3.5, 5.2, 4.4],
                         "sd": [2.0, 2.2, 1.8, 2.1, 2.0]})
    res = network_meta_analysis(arms, treatment="treatment", n="n", mean="mean", sd="sd",
                                measure="SMD", method="common")
    g = res.network.y[:2]
    assert math.isclose(res.network.V[0, 1], 1 / 30 + g[0] * g[1] / (2 * 90), rel_tol=1e-12)


# ---------------------------------------------------------------------------------------------
# Ranking and league table
# ---------------------------------------------------------------------------------------------
def test_p_scores_identities_and_sucra_limit():
    res = senn()
    ps = p_scores(res)
    T = res.n_treatments
    # P(i better than j) + P(j better than i) = 1, so the P-scores average 1/2
    assert math.isclose(float(np.mean(ps)), 0.5, rel_tol=1e-12)
    # P-scores are the expected SUCRA (Rücker & Schwarzer 2015): seeded draws converge to them
    r = rank_treatments(res, n_draws=100_000, seed=7)
    np.testing.assert_allclose(r.sucra, ps, atol=0.01)
    np.testing.assert_allclose(r.rank_probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(r.rank_probabilities.sum(axis=0), 1.0)
    assert r.mean_rank.sum() == pytest.approx(T * (T + 1) / 2)
    again = rank_treatments(res, n_draws=100_000, seed=7)
    np.testing.assert_array_equal(again.sucra, r.sucra)
    # the printed caution is always there
    assert "CAUTION: Rankings mislead" in r.summary()
    top = r.to_frame()
    assert top["p_score"].is_monotonic_decreasing
    json.dumps(r.to_dict())
    with pytest.raises(InputError, match="small_values"):
        p_scores(res, "low")


def test_ranking_flags_indistinguishable_top():
    d = contrasts([("s1", "A", "B", -0.05, 0.3), ("s2", "A", "C", 0.5, 0.1),
                   ("s3", "B", "C", 0.6, 0.3)])
    r = rank_treatments(network_meta_analysis(d, method="common"), "bad", n_draws=2000)
    assert not r.distinguishable
    assert any("not statistically distinguishable" in n for n in r.notes)


def test_league_table():
    res = senn()
    lt = league_table(res)
    np.testing.assert_allclose(lt.estimate, -lt.estimate.T)
    m = lt.matrix_frame()
    assert m.loc["metformin", "metformin"] == "metformin"
    i, j = res.index("rosiglitazone"), res.index("metformin")
    est = res.compare("rosiglitazone", "metformin")
    assert m.loc["rosiglitazone", "metformin"].startswith(f"{est['estimate']:.2f} (")
    assert math.isclose(lt.pi_lower[i, j], est["pi_lower"], rel_tol=1e-12)
    assert "Lower triangle" in lt.summary()
    assert len(lt.to_frame()) == res.n_treatments * (res.n_treatments - 1)
    # ratio measures are shown exponentiated
    h = network_meta_analysis(HASS, treatment="treatment", n="n", events="events", measure="OR",
                              add=0.5, to="all", reference="no_contact")
    cell = league_table(h).matrix_frame().loc["self_help", "no_contact"]
    assert cell.startswith(f"{math.exp(h.compare('self_help', 'no_contact')['estimate']):.2f}")


# ---------------------------------------------------------------------------------------------
# Result contracts and plots
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_summaries_render(fmt):
    res = senn()
    out = res.summary(fmt)
    assert "Between designs" in out and "metformin" in out
    for obj in (design_by_treatment(res), node_split(res), rank_treatments(res, n_draws=500),
                league_table(res)):
        assert obj.summary(fmt)


def test_to_dict_is_json_and_frames():
    res = senn()
    d = json.loads(json.dumps(res.to_dict()))
    assert d["reference"] == "placebo" and d["k"] == 26 and d["n_multiarm"] == 1
    assert len(d["estimates"]) == 9 and len(d["pairwise"]) == 45
    assert set(res.to_frame().columns) >= {"treatment", "estimate", "se", "ci_lower", "pi_upper"}
    assert len(res.study_frame()) == res.n_contrasts
    assert "acarbose:metformin:placebo" in set(res.design_frame()["design"])
    assert "NetworkResult(method='REML'" in repr(res)


def test_svg_is_deterministic_valid_and_escaped():
    res = senn()
    g1, g2 = network_graph_svg(res, title="Diabetes"), network_graph_svg(res, title="Diabetes")
    assert g1 == g2
    root = ET.fromstring(g1)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "metformin" in texts and "Node area: participants randomised." in texts
    f = forest_svg(res, "metformin", sort="estimate")
    assert f == forest_svg(res, "metformin", sort="estimate")
    ET.fromstring(f)
    assert "Treatment vs metformin" in f and "prediction interval" in f
    d = contrasts([("s1", "<A&>", "B", 0.1, 0.2), ("s2", "B", "C", 0.2, 0.2)])
    odd = network_meta_analysis(d)
    for svg in (network_graph_svg(odd), forest_svg(odd)):
        ET.fromstring(svg)
        assert "&lt;A&amp;&gt;" in svg
    with pytest.raises(InputError, match="'sort'"):
        forest_svg(res, sort="size")


# ---------------------------------------------------------------------------------------------
# Property: random networks
# ---------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_extra=st.integers(0, 5))
def test_random_networks_all_pairs_vs_arms_and_reference(seed, n_extra):
    rng = np.random.default_rng(seed)
    trts = ["A", "B", "C", "D"]
    rows = []
    designs = [("A", "B"), ("B", "C"), ("C", "D"), ("A", "B", "C")] + [
        tuple(rng.choice(trts, size=2, replace=False)) for _ in range(n_extra)]
    for s, design in enumerate(designs):
        for t in design:
            rows.append({"study": f"s{s}", "treatment": t, "n": int(rng.integers(10, 80)),
                         "mean": float(rng.normal(0, 1)), "sd": float(rng.uniform(0.5, 2))})
    arms = pd.DataFrame(rows)
    kw = {"treatment": "treatment", "n": "n", "mean": "mean", "sd": "sd", "measure": "MD"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = network_meta_analysis(arms, **kw)
        b = network_meta_analysis(all_pairs(arms), method="REML")
        c = network_meta_analysis(arms, **kw, reference="D")
    assert math.isclose(a.tau2, b.tau2, rel_tol=1e-6, abs_tol=1e-9)
    np.testing.assert_allclose(a.pairwise_estimate, b.pairwise_estimate, atol=1e-6)
    np.testing.assert_allclose(a.pairwise_estimate, c.pairwise_estimate, atol=1e-8)
    inc = design_by_treatment(a)
    assert inc.q_within + inc.q_between == pytest.approx(a.q, rel=1e-9, abs=1e-12)
    assert np.all(np.isfinite(p_scores(a)))


# ---------------------------------------------------------------------------------------------
# Applied networks from the evidence registry
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def registry_tables():
    from acuevidence.evidence.store import bundled_csv_dir, read_csv_dir

    return read_csv_dir(bundled_csv_dir())


def test_evidence_networks(registry_tables):
    nets = evidence_networks(registry_tables)
    assert set(nets) == {"chronic_low_back_pain", "knee_osteoarthritis"}
    from acuevidence.network.evidence import NODES

    for net in nets.values():
        assert net.contents and net.indirectness and net.inconsistency_text
        assert net.window == "short" and net.measure == "MD"
        json.dumps(net.to_dict())
        # both bundled networks are connected and fitted (a None here would skip the checks)
        assert net.result is not None, net.contents
        res = net.result
        assert res.reference == "acupuncture"
        assert set(res.treatments) <= set(NODES.values())
        # every row is on the 0-100 scale and each multi-arm study adds up
        three_arm = [g for _, g in net.contrasts.groupby("study") if len(g) == 3]
        assert three_arm  # each bundled network has a three-arm trial (haake2007, sangdee2002)
        for g in three_arm:  # pairs (x, y), (x, z), (y, z) of the sorted arms
            te = list(g["TE"])
            assert te[0] + te[2] == pytest.approx(te[1])
        assert f"{res.k} trial" in net.contents
        for svg in (net.graph_svg(), net.forest_svg()):
            ET.fromstring(svg)
        assert "Favours acupuncture" in net.forest_svg()
        assert "indirect" in net.indirectness or "direct comparison" in net.indirectness
        assert ("Consistency cannot be checked" in net.inconsistency_text
                or "Design-by-treatment" in net.inconsistency_text)
        assert net.summary()
    with pytest.raises(InputError, match="Registry or the dict"):
        evidence_networks(["not", "a", "registry"])


def test_evidence_networks_from_registry(tmp_path, registry_tables):
    from acuevidence.evidence.store import Registry

    reg = Registry.build(tmp_path / "r.sqlite")
    try:
        a = evidence_networks(reg)
    finally:
        reg.close()
    b = evidence_networks(registry_tables)
    assert set(a) == set(b) == {"chronic_low_back_pain", "knee_osteoarthritis"}
    for key in a:
        assert a[key].contents == b[key].contents
        assert a[key].evidence_version == b[key].evidence_version
