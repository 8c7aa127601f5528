"""Forest/funnel SVG, GRADE certainty rules and plain-language statements."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from acuevidence import InputError, meta_analysis
from acuevidence.report.certainty import assess, optimal_information_size
from acuevidence.report.forest import ForestColumns, forest_svg, funnel_svg
from acuevidence.report.statements import magnitude, statement

SVG = "{http://www.w3.org/2000/svg}"


def _res(yi, vi, **kw):
    return meta_analysis(np.array(yi, float), np.array(vi, float), **kw)


def test_forest_svg_is_valid_deterministic_and_escaped():
    res = _res([-12, -8, -15, -3], [20, 30, 25, 40], labels=["A<script>", "B", "C", "D"])
    cols = ForestColumns(("Acupuncture", "Sham"), ("Mean", "SD", "Total"),
                         tuple(("1", "2", "3", "4", "5", "6") for _ in range(4)))
    a = forest_svg(res, title="Pain", measure="MD", columns=cols,
                   links=["https://example.org/a", None, None, None])
    assert a == forest_svg(res, title="Pain", measure="MD", columns=cols,
                           links=["https://example.org/a", None, None, None])
    root = ET.fromstring(a)  # well-formed XML
    assert "<script>" not in a and "A&lt;script&gt;" in a
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#1f4e79"]
    assert len(rects) == 4  # one square per study
    assert len([p for p in root.iter(f"{SVG}path") if p.get("d", "").endswith("Z")]) == 1  # diamond
    assert "Prediction interval" in a and "Heterogeneity: Tau" in a
    assert 'href="https://example.org/a"' in a


def test_forest_log_axis_labels_ratios():
    res = _res([np.log(0.7), np.log(0.9), np.log(0.5)], [0.04, 0.05, 0.09], measure="RR")
    svg = forest_svg(res)
    assert "RR, Random" in svg and "0.70 [" in svg
    ET.fromstring(funnel_svg(res, title="Funnel"))


def test_certainty_rules():
    # Precise, consistent, blinded: high.
    r = _res([-12, -11, -13, -12, -12.5], [4, 4, 4, 4, 4])
    c = assess(r, measure="MD", outcome="pain", comparator="sham", n_participants=2000)
    assert c.level == "high" and c.reasons == []
    # Unblinded comparator, self-rated pain, no RoB judgements: one level.
    c = assess(r, measure="MD", outcome="pain", comparator="usual_care", n_participants=2000)
    assert c.level == "moderate" and "knew which treatment" in c.reasons[0]
    # Imprecise: CI crosses the MID of 10 points.
    wide = _res([-12, -2], [30, 30])
    c = assess(wide, measure="MD", outcome="pain", comparator="sham", n_participants=60)
    imp = next(d for d in c.domains if d.domain == "imprecision")
    assert imp.levels >= 1
    # Inconsistent: large I2 with a prediction interval crossing zero.
    het = _res([-30, 5, -25, 10, -20], [4, 4, 4, 4, 4])
    inc = next(d for d in assess(het, measure="MD", outcome="pain", comparator="sham").domains
               if d.domain == "inconsistency")
    assert inc.levels >= 1 and "I\u00b2" in inc.reason
    # Publication bias only with k >= 10.
    pb = next(d for d in c.domains if d.domain == "publication bias")
    assert pb.levels == 0 and "Not assessable" in pb.reason
    # Override kept with its reason; the proposal is preserved.
    o = assess(r, measure="MD", outcome="pain", comparator="sham", n_participants=2000,
               override=("moderate", "sham needling may have been recognisable"))
    assert o.level == "moderate" and o.proposed == "high" and o.override_reason
    with pytest.raises(InputError):
        assess(r, measure="MD", outcome="pain", comparator="sham", override=("good", "x"))


def test_optimal_information_size():
    # 2 groups x 2 (1.96 + 0.84)^2 (22/10)^2 = 152 (rounded up)
    assert optimal_information_size("MD", 10.0) == 152


@pytest.mark.parametrize("est,level,expected", [
    (-7.0, "moderate", "Acupuncture probably reduces pain slightly compared with sham acupuncture "
                       "at the end of treatment."),
    (-1.0, "high", "Acupuncture results in little or no difference in pain compared with sham "
                   "acupuncture at the end of treatment."),
    (-25.0, "low", "Acupuncture may reduce pain considerably compared with sham acupuncture at the "
                   "end of treatment."),
    (-12.0, "very_low", "The evidence is very uncertain about the effect of acupuncture on pain "
                        "compared with sham acupuncture at the end of treatment."),
])
def test_statements(est, level, expected):
    from acuevidence.report.certainty import Certainty

    c = Certainty(level, level, ())
    assert statement(intervention="Acupuncture", comparator="sham acupuncture", outcome="pain",
                     timeframe="at the end of treatment", estimate=est, measure="MD",
                     certainty=c) == expected


def test_responder_statement_direction():
    from acuevidence.report.certainty import Certainty

    s = statement(intervention="Acupuncture", comparator="usual care",
                  outcome="the chance of a meaningful improvement", timeframe="at 6 months",
                  estimate=np.log(1.6), measure="RR", certainty=Certainty("moderate", "moderate", ()),
                  benefit_is_negative=False)
    assert s.startswith("Acupuncture probably increases the chance")
    assert magnitude(np.log(1.05), "RR") == "none"
