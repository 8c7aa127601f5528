"""subgroup_analysis against metafor (validation/reference/subgroups.json, from validation/r/subgroups.R)."""

from __future__ import annotations

import warnings

import pytest
from reference import TOL_CLOSED_FORM, TOL_ITERATIVE, assert_close, load_group

from acuevidence import InputError, subgroup_analysis

META, CASES = load_group("subgroups")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_subgroup_case(case):
    d, a, exp = case["data"], case["args"], case["expected"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = subgroup_analysis(d["yi"], d["vi"], d["groups"], method=a["method"], test=a["test"],
                                tau2=a["tau2"])
    tol = TOL_ITERATIVE if a["method"] in ("REML", "PM") else TOL_CLOSED_FORM
    groups = exp["groups"] if isinstance(exp["groups"], list) else [exp["groups"]]
    assert list(res.groups) == groups
    for name in ("estimate", "se", "ci_lower", "ci_upper"):
        for i, value in enumerate(res.table[name]):
            assert_close(value, exp[name][i], tol, f"{case['id']}: {name}[{i}]")
    if a["tau2"] == "separate":
        for i, value in enumerate(res.table["tau2"]):
            assert_close(value, exp["tau2"][i], tol, f"{case['id']}: tau2[{i}]")
    else:
        assert_close(res.tau2, exp["tau2"], tol, f"{case['id']}: tau2")
    assert_close(res.q_between, exp["q_between"], tol, f"{case['id']}: q_between")
    assert_close(res.q_between_p_value, exp["q_between_p_value"], tol, f"{case['id']}: p")


def test_subgroup_errors_and_output():
    yi, vi = [0.1, 0.3, 0.2, 0.5], [0.02, 0.03, 0.02, 0.04]
    with pytest.raises(InputError, match="at least two subgroups"):
        subgroup_analysis(yi, vi, ["a"] * 4)
    with pytest.raises(InputError, match=r"'groups' is missing in row\(s\) 2"):
        subgroup_analysis(yi, vi, ["a", None, "b", "b"])
    with pytest.raises(InputError, match="separate' or 'common"):
        subgroup_analysis(yi, vi, list("aabb"), tau2="pooled")
    res = subgroup_analysis(yi, vi, list("aabb"), method="DL")
    frame = res.to_frame()
    assert list(frame["group"]) == ["a", "b", "overall"]
    assert "Test for subgroup differences" in res.summary()
    import json

    json.dumps(res.to_dict())
