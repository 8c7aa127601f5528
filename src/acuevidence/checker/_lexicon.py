"""Words and phrases the claim checker reads, mapped onto the evidence vocabulary.

Every pattern is a compiled, case-insensitive regular expression without nested quantifiers, so
matching is linear in the length of the text (no catastrophic backtracking on hostile input).
Pseudo-terms that are not in :mod:`acuevidence.evidence.vocabulary` start with ``"none:"``
(comparators and outcomes the evidence base cannot speak to: opioids, sleep, blood circulation);
a claim that needs one of them is *not assessable*, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ADD_ON",
    "CERTAINTY_BOASTS",
    "COMPARATOR_PATTERNS",
    "COMPARATOR_TRIGGER",
    "CONCESSIVE",
    "CONDITION_PATTERNS",
    "DOSE",
    "EFFECT_WORDS",
    "FAMILY_OF",
    "HEDGES",
    "INTERVENTION",
    "JOURNALS",
    "LBP_FAMILY",
    "MAGNITUDE_BOASTS",
    "MECHANISM",
    "NO_BENEFIT",
    "OUTCOME_PATTERNS",
    "PREVALENCE",
    "REPORTING",
    "SAFETY",
    "TITLE_BODY_PARTS",
    "UNCERTAINTY",
    "UNSPECIFIED_COMPARATORS",
    "UNSPECIFIED_OUTCOMES",
    "WINDOW_ORDER",
    "WINDOW_PATTERNS",
    "Term",
    "journal_key",
]


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@dataclass(frozen=True)
class Term:
    """A phrase pattern and what it means: vocabulary terms (a group is read as alternatives)."""

    pattern: re.Pattern[str]
    terms: tuple[str, ...]
    label: str


LBP_FAMILY = ("chronic_nonspecific_lbp", "subacute_nonspecific_lbp", "acute_nonspecific_lbp",
              "lbp_unspecified")

# Longest, most specific phrases first: a match masks its characters for the later patterns.
CONDITION_PATTERNS: tuple[Term, ...] = (
    Term(_rx(r"\bchronic (?:and recurrent |non-?specific |nonradicular )?(?:low(?:er)?[- ])?"
             r"back[- ]?(?:pain|ache)\b|\bCLBP\b|\bpersistent (?:non-?specific )?(?:low )?back "
             r"pain\b|\bchronic (?:low(?:er)?[- ])?back\b"),
         ("chronic_nonspecific_lbp",), "chronic low back pain"),
    Term(_rx(r"\b(?:acute|short-term|severe) (?:contracture |non-?specific )?(?:low(?:er)?[- ])?"
             r"back[- ]?pain\b|\bacute lumbago\b|\bacute lumbar sprain\b"),
         ("acute_nonspecific_lbp",), "acute low back pain"),
    Term(_rx(r"\bsub-?acute (?:low(?:er)? )?back pain\b"), ("subacute_nonspecific_lbp",),
         "subacute low back pain"),
    Term(_rx(r"\blumbar dis[ck] herniation\b|\bherniated dis[ck]s?\b|\bdis[ck] (?:prolapse|"
             r"herniation)\b|\bslipped dis[ck]\b|\bhernia-related\b|\bprotrusion of lumbar"),
         ("lumbar_disc_herniation",), "lumbar disc herniation"),
    Term(_rx(r"\bsciatica\b|\bleg pain\b|\bradicular pain\b"), ("sciatica",), "sciatica"),
    Term(_rx(r"\b(?:lumbar )?spinal stenosis\b"), ("spinal_stenosis",), "spinal stenosis"),
    Term(_rx(r"\b(?:low(?:er)?[- ]|sore )?back(?:s)?[- ]?(?:pain|ache|troubles?|issues?|"
             r"problems?)\b|\bbackaches?\b|\blumbago\b|\bLBP\b|\blow(?:er)? back\b|\bsore backs\b"),
         LBP_FAMILY, "low back pain"),
    Term(_rx(r"\bknee (?:osteoarthritis|OA|pain)\b|\bosteoarthritis of the knee\b|"
             r"\bchronic knee pain\b"), ("knee_oa",), "knee osteoarthritis"),
    Term(_rx(r"\bhip (?:osteoarthritis|OA|pain)\b|\bosteoarthritis of the hip\b"), ("hip_oa",),
         "hip osteoarthritis"),
    Term(_rx(r"\bosteoarthritis\b|\barthrosis\b"), ("knee_or_hip_oa",), "osteoarthritis"),
    Term(_rx(r"\bplantar fasciitis\b|\bheel pain\b"), ("plantar_fasciitis",), "plantar fasciitis"),
    Term(_rx(r"\bankle sprains?\b"), ("ankle_sprain",), "ankle sprain"),
    Term(_rx(r"\bcarp[ae]l tunnel\b"), ("carpal_tunnel_syndrome",), "carpal tunnel syndrome"),
    Term(_rx(r"\bmyofascial pain\b"), ("myofascial_pain",), "myofascial pain"),
    Term(_rx(r"\bneck pain\b"), ("none:neck pain",), "neck pain"),
    Term(_rx(r"\bshoulder pain\b"), ("none:shoulder pain",), "shoulder pain"),
    Term(_rx(r"\bpatellofemoral pain\b"), ("none:patellofemoral pain",), "patellofemoral pain"),
    Term(_rx(r"\bpiriformis\b"), ("none:piriformis syndrome",), "piriformis syndrome"),
    Term(_rx(r"\bbursitis\b"), ("none:bursitis",), "bursitis"),
    Term(_rx(r"\barthritis\b"), ("none:arthritis",), "arthritis"),
    Term(_rx(r"\bheadaches?\b|\bmigraines?\b"), ("none:headache",), "headache"),
    Term(_rx(r"\bextremities\b"), ("none:disorders of the extremities",), "disorders of the "
         "extremities"),
    Term(_rx(r"\bmusculoskeletal (?:pain|conditions?|disorders?)\b|\bchronic pain\b"),
         ("mixed_chronic_pain",), "chronic or musculoskeletal pain (mixed)"),
)

# Body region of each condition term: a citation is off-topic when its region is not the page's.
FAMILY_OF: dict[str, str] = {
    **{t: "back" for t in LBP_FAMILY},
    "sciatica": "back", "lumbar_disc_herniation": "back", "spinal_stenosis": "back",
    "myofascial_pain": "back", "mixed_spinal_pain": "back",
    "knee_oa": "knee", "hip_oa": "hip", "knee_or_hip_oa": "knee or hip",
    "plantar_fasciitis": "foot and ankle", "ankle_sprain": "foot and ankle",
    "carpal_tunnel_syndrome": "hand and wrist", "none:neck pain": "neck",
    "none:shoulder pain": "shoulder", "none:patellofemoral pain": "knee",
    "none:piriformis syndrome": "hip", "none:disorders of the extremities": "limbs",
    "none:headache": "head", "mixed_chronic_pain": "general", "other": "general",
    "none:arthritis": "general", "none:bursitis": "general",
}

# Body parts named in a page title; "leg" on a back-pain page is the leg pain that comes from the
# back (sciatica), which is how the curated evidence and the seed pages use it.
TITLE_BODY_PARTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_rx(r"\bback\b|\bspine\b|\bspinal\b|\blumbar\b|\bsciatica\b|\blumbago\b|\bLBP\b|\bleg\b"),
     "back"),
    (_rx(r"\bhip\b"), "hip"),
    (_rx(r"\bknee\b"), "knee"),
    (_rx(r"\bneck\b"), "neck"),
    (_rx(r"\bshoulder\b"), "shoulder"),
    (_rx(r"\bfoot\b|\bheel\b|\bankle\b|\bplantar\b"), "foot and ankle"),
)

# Comparators. A tuple of arm types is pooled in one analysis (medication = NSAID or other).
COMPARATOR_PATTERNS: tuple[Term, ...] = (
    Term(_rx(r"\bmorphine\b|\bopioids?\b|\bopiates?\b"), ("none:opioids",), "opioids"),
    Term(_rx(r"\bNSAIDs?\b|\bnon-?steroidal anti-?inflammatory\b|\bibuprofen\b|\bdiclofenac\b|"
             r"\bmeloxicam\b|\bcelecoxib\b"), ("nsaid",), "NSAIDs"),
    Term(_rx(r"\b(?:conventional )?western medicine\b|\bmedications?\b|\bdrugs?\b|\bdrug "
             r"(?:therapy|managements?)\b|\bmedical treatments?\b|\bpharmacologic\w*\b|"
             r"\banalgesics?\b|\bmuscle relaxants?\b|\bpainkillers?\b|\bmedicines?\b"),
         ("nsaid", "other_medication"), "medication"),
    Term(_rx(r"\bsham\b|\bplacebo\b|\bfake\b|\bsimulated acupuncture\b|\bminimal acupuncture\b"),
         ("sham",), "sham acupuncture"),
    Term(_rx(r"\bno[- ]treatment\b|\bno intervention\b|\bno[- ]acupuncture\b|\bwaiting[- ]list\b|"
             r"\bwait-?list\b|\buntreated\b|\bno additional treatment\b|\bthose who did not\b"),
         ("no_treatment", "waitlist"), "no treatment"),
    Term(_rx(r"\busual care\b|\broutine care\b|\bstandard care\b"), ("usual_care",), "usual care"),
    Term(_rx(r"\bconventional (?:treatment|therapy|care|standard treatments?)\b|"
             r"\bguideline-based\b"), ("conventional",), "conventional therapy"),
    Term(_rx(r"\bphysical therap(?:y|ies|ists?)\b|\bphysiotherap\w*\b|\btraction\b|\bspinal "
             r"manipulation\b|\bchiropractic\b"), ("physiotherapy",), "physiotherapy"),
    Term(_rx(r"\bexercises?\b"), ("exercise",), "exercise"),
    Term(_rx(r"\bTENS\b|\btranscutaneous electrical nerve stimulation\b"), ("tens",), "TENS"),
    Term(_rx(r"\bmassage\b"), ("massage",), "massage"),
    Term(_rx(r"\bself-care\b"), ("self_care",), "self-care education"),
)
# Comparison cues: a comparator only counts in the text that follows one of these (a drug named
# as an outcome, "less intake of NSAIDs", is not a comparator).
COMPARATOR_TRIGGER = _rx(r"\bthan\b|\bsuperior to\b|\binferior to\b|\bcompar(?:ed|ing|ison)\b|\bversus\b|\bvs\.?(?=\s)|\bover\b|"
                         r"\bagainst\b|\balternative to\b|\brelative to\b|\binstead of\b")
# A relative clause describing the comparator ("usual care, which consisted of massage ...")
# ends the comparator region.
COMPARATOR_CLAUSE_END = _rx(r",\s*which\b|\(which\b|,\s*(?:who|that)\s+(?:typically|usually)\b")
UNSPECIFIED_COMPARATORS: tuple[tuple[str, ...], ...] = (
    ("sham",), ("usual_care",), ("no_treatment", "waitlist"), ("nsaid", "other_medication"),
    ("physiotherapy",), ("exercise",), ("tens",), ("conventional",), ("massage",), ("self_care",),
)
ADD_ON = _rx(r"\badjuvant\b|\badjunct\w*\b|\badd(?:ing|ed)? acupuncture to\b|\bacupuncture "
             r"(?:plus|combined with|in addition to)\b|\bin conjunction with\b|\bco-treatment\b|"
             r"\bwhen combined with\b|\btreatments? alone\b|\bplus conventional\b")
DOSE = _rx(r"\b(?:\d+|one|two|three) (?:or (?:\d+|two|three) )?(?:acupuncture )?(?:sessions?|"
           r"treatments?)\b[^.]{0,40}\b(?:sufficient|enough|improvements?)\b|\blonger courses?\b|"
           r"\bmore sessions\b|\bfewer sessions\b")

OUTCOME_PATTERNS: tuple[Term, ...] = (
    Term(_rx(r"\bpain threshold\b"), ("other:pain threshold",), "pain threshold"),
    Term(_rx(r"\b(?:total )?effective rate\b|\boutcomes? effectiveness\b|\boverall recovery\b|"
             r"\brespond\w*\b"), ("response",), "responders"),
    Term(_rx(r"\bglobal (?:assessment|impression|symptoms)\b"), ("global_impression", "response"),
         "global assessment"),
    Term(_rx(r"\bquality of life\b"), ("quality_of_life",), "quality of life"),
    Term(_rx(r"\bfunction(?:ing|al improvement)?\b|\bdisabilit\w+\b|\bmobility\b|\bnormal "
             r"activit\w+\b"), ("function",), "function"),
    Term(_rx(r"\bintake of [\w -]{0,40}(?:drugs|NSAIDs|medications?)\b|\banalgesic "
             r"(?:use|consumption)\b|\bmedication use\b"), ("analgesic_use",), "analgesic use"),
    Term(_rx(r"\bblood circulation\b|\boxygen supply\b|\brecovery of nerves\b"),
         ("none:circulation and nerve recovery",), "circulation / nerve recovery"),
    Term(_rx(r"\banxiety\b|\bsleep\b|\bpsychological effects\b"), ("none:anxiety and sleep",),
         "anxiety / sleep"),
    Term(_rx(r"\brehabilitation\b"), ("none:speed of rehabilitation",), "speed of rehabilitation"),
    Term(_rx(r"\bcomplete regression\b|\bcure[sd]?\b"), ("none:complete recovery",),
         "complete recovery"),
    Term(_rx(r"\ballergic\b"), ("none:allergic reactions",), "allergic reactions"),
    Term(_rx(r"\bpain\b|\breliev\w+\b|\brelief\b|\bpalliation\b|\banalgesi[ac]\b"), ("pain",),
         "pain"),
)
UNSPECIFIED_OUTCOMES: tuple[str, ...] = ("pain", "function", "response")

WINDOW_PATTERNS: tuple[Term, ...] = (
    Term(_rx(r"\bimmediately\b|\bend of treatment\b|\bright after\b"), ("immediate",),
         "immediately after treatment"),
    Term(_rx(r"\bshort[- ]term\b|\bup to (?:3|three) months\b|\b(?:\d+|one|two|four|six|eight|"
             r"twelve) weeks? (?:after|following)\b|\bwithin (?:one|1|a) month\b|\btemporary\b"),
         ("short",), "short term"),
    Term(_rx(r"\blong[- ]term\b|\blong-lasting\b|\blasting (?:relief|benefits?|effects?|"
             r"results?)\b|\b(?:6|six|12|twelve) months? (?:after|following)\b"),
         ("intermediate", "long"), "long term"),
)
# No time frame named: the short term (the primary time point of Cochrane back reviews), else the
# nearest window with data.
WINDOW_ORDER: tuple[str, ...] = ("short", "immediate", "intermediate", "long")

INTERVENTION = _rx(r"\bacupunctur\w*\b|\belectroacupuncture\b|\bdry[- ]needling\b|"
                   r"\bthis (?:ancient )?(?:chinese )?(?:technique|therapy|treatment)\b|"
                   r"\bthe practice\b|\bthis treatment mode\b|^\s*it\b|,\s*it\b")
EFFECT_WORDS = _rx(
    r"\beffective\w*\b|\befficac\w+\b|\bworks? for\b|\buseful\b|\bvaluable\b|"
    r"\breduc\w+\b|\breliev\w+\b|\brelief\b|\bimprov\w+\b|\bbenefi\w+\b|\bsuperior\b|\bbetter\b|"
    r"\badvantages?\b|\bfavou?rable\b|\bpositive (?:results?|assessment|effects?)\b|"
    r"\bpromising\b|\bencouraging\b|\bsuccess\b|\brespond\w*\b|\bless (?:pain|adverse)\b|"
    r"\bgreater\b|\bspeed up\b|\benhance\b|\bregression\b|\bpsychological effects\b|"
    r"\bequal to\b|\bcomparable\b|\bviable option\b|\bpotential\b")
UNCERTAINTY = _rx(
    r"\binconclusive\b|\bunclear\b|\binsufficient evidence\b|\binconsistent evidence\b|"
    r"\bresults have been mixed\b|\bmixed results\b|\bhard to draw\b|\bdifficult to draw\b|"
    r"\bno definitive\b|\black of high-quality evidence\b|\buncertain\b|\bnot clear\b|\blousy methodolog\w+\b")
NO_BENEFIT = _rx(r"\bno (?:better|more effective) than\b|\bnot (?:more )?effective\b|\bdoes not "
                 r"work\b|\bineffective\b|\bno benefit\b|\bno (?:significant )?difference\b")
COMPARABLE = _rx(r"\bcomparable (?:with|to)\b|\bequal to or greater than\b|\bas effective as\b|"
                 r"\bnon-?inferior\b|\bequivalent to\b")
CONCESSIVE = _rx(r"^\W*(?:although|though|while|despite|even though|however)\b|"
                 r",?\s*(?:although|though)\b")
MAGNITUDE_BOASTS = _rx(
    r"\bhighly\b|\bhigh efficacy\b|\bextremely\b|\bvery effective\b|\bclinically (?:superior|"
    r"significant|relevant|meaningful)\b|\bconsistently\b|\bdramatic\w*\b|\bremarkabl\w+\b|"
    r"\bgreatly\b|\bsubstantial\w*\b|\bconsiderabl\w+\b|\bfar (?:better|more)\b|\bmost effective\b|"
    r"\bsignificant advantages\b|\bover \d+\s?% less\b")
CERTAINTY_BOASTS = _rx(
    r"\bha(?:s|ve) been (?:shown|proven|proved|demonstrated)\b|\b(?:is|are) proven\b|"
    r"\bproven to\b|\bit is evident\b|\bit is clear\b|\bdefinitely\b|\bundoubtedly\b|"
    r"\bwithout (?:a )?doubt\b|\bstrength of recommendation: ?A\b|\bscientifically proven\b")
HEDGES = _rx(r"\bmay\b|\bmight\b|\bcould\b|\bcan\b|\bpossibly\b|\bpotential(?:ly)?\b|"
             r"\bsuggests?\b|\bsuggested\b|\bappears?\b|\bseems?\b|\blikely\b|\bsome relief\b|"
             r"\bpromising\b|\bencouraging\b|\bat least\b")
MECHANISM = _rx(
    r"\bqi\b|\bmeridians?\b|\bendorphins?\b|\benkephalins?\b|\bserotonin\b|\brelease of central "
    r"opioids\b|\bblood (?:flow|circulation)\b|\bcirculation\b|\bhomeostasis\b|\bparasympathetic\b|"
    r"\bnerv(?:e|ous) system\b|\bhormones?\b|\binflammation\b|\bstagnation\b|\bkidney\b|"
    r"\bacupoints?\b|\bneurophysiolog\w+\b|\bmechanism\b|\bbrain regions?\b|\breleases? "
    r"chemicals\b|\bhappy hormone\b|\bmicro-circulation\b|\banalgesia\b")
REPORTING = _rx(r"\breported\b|\bshowed\b|\bfound\b|\bconcluded\b|\bindicate\b")
SAFETY = _rx(r"\bsafe(?:ty)?\b|\badverse (?:effects?|reactions?|events?)\b|\bside[- ]effects?\b|"
             r"\bpotential risks\b|\brisks? (?:of|involved)\b|\bdependency\b|\bharms?\b")
PREVALENCE = _rx(r"\bof (?:all )?(?:adults|people|the population|americans|patients)\b|"
                 r"\bprevalen\w+\b|\bat some point\b|\bat least once\b|\blifetime\b|"
                 r"\baccording to statistics\b|\bis estimated\b|\bsuffer\w*\b")

# Journal names and their abbreviations -> one key, for matching citations to the registry.
JOURNALS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ebcam", _rx(r"evidence[- ]based complementary (?:and|&) alternative medicine|evid based "
                  r"complement alternat med|\becam\b")),
    ("acupunct med", _rx(r"acupuncture in medicine|acupunct med\b")),
    ("bmc cam", _rx(r"bmc complementary (?:and alternative medicine|medicine and therapies)|"
                    r"bmc complement altern med")),
    ("cochrane", _rx(r"cochrane")),
    ("j acupunct tuina sci", _rx(r"journal of acupuncture and tuina science|j acupunct tuina sci")),
    ("bmj open", _rx(r"\bbmj open\b")),
    ("bmj", _rx(r"british medical journal|\bbmj\b")),
    ("ann intern med", _rx(r"annals of internal medicine|ann intern med")),
    ("arch intern med", _rx(r"archives of internal medicine|arch intern med")),
    ("jama intern med", _rx(r"jama intern(?:al)? med")),
    ("jama netw open", _rx(r"jama netw(?:ork)? open")),
    ("am j emerg med", _rx(r"american journal of emergency medicine|am j emerg med")),
    ("j emerg med", _rx(r"(?<!am )journal of emergency medicine|(?<!am )j emerg med")),
    ("front neurosci", _rx(r"frontiers in neuroscience|front neurosci")),
    ("can fam physician", _rx(r"canadian family physician|can fam physician")),
    ("sci rep", _rx(r"scientific reports|sci rep\b")),
    ("j pain", _rx(r"\bthe journal of pain\b|\bj pain\b")),
    ("clin j pain", _rx(r"clinical journal of pain|clin j pain")),
    ("j altern complement med", _rx(r"journal of alternative and complementary medicine|"
                                    r"j altern complement med")),
    ("complement ther med", _rx(r"complementary therapies in medicine|complement ther med")),
    ("j bone joint surg", _rx(r"journal of bone and joint surgery|j bone joint surg")),
    ("spine", _rx(r"\bspine\b")),
    ("lancet", _rx(r"\blancet\b")),
    ("rheumatology", _rx(r"\brheumatology\b")),
    ("arthritis rheum", _rx(r"arthritis (?:&|and) rheum\w*")),
    ("pain", _rx(r"^\s*pain\b")),
    ("medicine", _rx(r"^\s*medicine(?: \(baltimore\))?\s*$|\bmedicine \(baltimore\)")),
    ("who", _rx(r"world health organi[sz]ation")),
)


def journal_key(text: str | None) -> str | None:
    """The journal key named in ``text`` (None when no known journal is named)."""
    if not text:
        return None
    for key, pattern in JOURNALS:
        if pattern.search(text):
            return key
    return None
