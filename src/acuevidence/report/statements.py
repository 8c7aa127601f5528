"""Plain-language statements in Cochrane style, generated from the numbers and the certainty.

The wording follows the GRADE/Cochrane guidance for informative statements: the verb carries the
certainty (high: "reduces"; moderate: "probably reduces"; low: "may reduce"; very low: "The
evidence is very uncertain ...") and the adverb the size of the effect relative to the minimal
important difference (MID): less than half the MID is "little or no difference", up to the MID
"slightly", up to twice the MID plain, beyond that "considerably".

References
----------
Santesso N, Glenton C, Dahm P et al. (2020). GRADE guidelines 26: informative statements to
    communicate the findings of systematic reviews of interventions. J Clin Epidemiol 119:126-135.
"""

from __future__ import annotations

import math

from .certainty import DEFAULT_MID, Certainty

__all__ = ["magnitude", "statement"]

_VERB = {
    "high": ("{i} reduces {o}{adv}", "{i} increases {o}{adv}", "{i} results in little or no "
             "difference in {o}"),
    "moderate": ("{i} probably reduces {o}{adv}", "{i} probably increases {o}{adv}",
                 "{i} probably results in little or no difference in {o}"),
    "low": ("{i} may reduce {o}{adv}", "{i} may increase {o}{adv}",
            "{i} may result in little or no difference in {o}"),
}
# For "higher is better" outcomes (responders, function scores oriented upwards) the verbs flip.
_VERB_UP = {
    "high": ("{i} increases {o}{adv}", "{i} reduces {o}{adv}", "{i} results in little or no "
             "difference in {o}"),
    "moderate": ("{i} probably increases {o}{adv}", "{i} probably reduces {o}{adv}",
                 "{i} probably results in little or no difference in {o}"),
    "low": ("{i} may increase {o}{adv}", "{i} may reduce {o}{adv}",
            "{i} may result in little or no difference in {o}"),
}


def magnitude(estimate: float, measure: str, mid: float | None = None) -> str:
    """'none', 'slight', 'moderate' or 'large' effect relative to the MID (analysis scale)."""
    mid = DEFAULT_MID.get(measure, 0.25) if mid is None else mid
    size = abs(estimate)
    if measure in ("RR", "OR"):
        # On the log scale the MID is log(1 + mid) (e.g. RR 1.25 or 0.80).
        ref = math.log(1 + mid)
    else:
        ref = mid
    if size < ref / 2:
        return "none"
    if size < ref:
        return "slight"
    if size < 2 * ref:
        return "moderate"
    return "large"


def statement(
    *,
    intervention: str,
    comparator: str,
    outcome: str,
    timeframe: str,
    estimate: float,
    measure: str,
    certainty: Certainty,
    mid: float | None = None,
    benefit_is_negative: bool = True,
) -> str:
    """One sentence such as "Acupuncture probably reduces pain slightly compared with sham
    acupuncture at the end of treatment."

    ``estimate`` is on the analysis scale (MD, SMD or log ratio); ``benefit_is_negative`` says
    whether negative values favour the intervention (pain, disability) or positive ones do
    (responders with RR > 1).
    """
    tail = f" compared with {comparator} {timeframe}".rstrip() + "."
    if certainty.level == "very_low":
        return (f"The evidence is very uncertain about the effect of {intervention.lower()} on "
                f"{outcome}{tail}")
    size = magnitude(estimate, measure, mid)
    favours = (estimate < 0) == benefit_is_negative
    table = _VERB if benefit_is_negative else _VERB_UP
    reduce_, increase, none = table[certainty.level]
    adverb = {"slight": " slightly", "moderate": "", "large": " considerably"}.get(size, "")
    if size == "none":
        tmpl = none
    elif favours:
        tmpl = reduce_
    else:
        tmpl = increase
    text = tmpl.format(i=intervention, o=outcome, adv=adverb)
    return text[0].upper() + text[1:] + tail
