"""Trial arms described in the curated study notes, for ``import_shared_evidence.py``.

The curated folder has no arm table: arms are implied by the outcome rows (``arm_label``), by the
contrast rows (``arm1_type``/``arm2_type``) and by the free-text ``notes`` of ``studies.csv``. This
module is the reading of those notes, written down once so the converter stays deterministic.

Each :class:`NoteArm` quotes the note text it comes from; the converter checks that every quote
(and the randomized ``n`` inside ``n_quote``) occurs verbatim in the study's notes, acupuncture
description or title, and stops if one does not, so a change in the curated notes cannot go
unnoticed. ``n`` is filled only where the notes give the number *randomized* per arm (not the
number analysed or completed); the reason is logged where a number was left out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoteArm:
    """One arm as the study notes describe it.

    Attributes
    ----------
    label : str
        Arm label. For an arm that also appears in the outcome rows this is that exact
        ``arm_label`` (then the entry only adds ``n`` and the description).
    arm_type : str
        Curated-style arm type (``acupuncture``, ``sham``, ...; ``other`` is split by the
        converter's arm-type rule like any curated ``other``).
    quote : str
        Verbatim fragment of the notes describing the arm; becomes ``description``.
    n : str
        Number randomized to the arm as printed, or ``""``.
    n_quote : str
        Verbatim fragment containing ``n`` when it is not inside ``quote``.
    """

    label: str
    arm_type: str
    quote: str
    n: str = ""
    n_quote: str = ""


A = NoteArm

# Numbers that are NOT randomized per-arm counts are left out on purpose: analysed or completed
# counts (weiss2013, sangdee2002, huang2019 completers), crossover sequence groups (itoh2006),
# planned sizes (comachio2020), and group sizes "as described" that do not add up to the
# randomized total (haslam2001: 16 + 12 of 32).
NOTE_ARMS: dict[str, tuple[NoteArm, ...]] = {
    # ---- main folder ----
    "haake2007": (
        A("Verum acupuncture", "acupuncture", "verum acupuncture (TCM, n=387)", "387"),
        A("Sham acupuncture", "sham",
          "sham acupuncture (superficial needling at non-acupoints, n=387)", "387"),
        A("Conventional therapy", "conventional",
          "guideline-based conventional therapy (drugs+physio+exercise, n=388)", "388"),
    ),
    "thomas2006": (
        A("Acupuncture", "acupuncture", "Individualised TCM acupuncture (n=160)", "160"),
        A("Usual care", "usual_care", "usual care only (n=81)", "81"),
    ),
    "cherkin2009": (
        A("Individualized acupuncture", "acupuncture", "individualized acupuncture (n=157)",
          "157"),
        A("Standardized acupuncture", "acupuncture", "standardized acupuncture (n=158)", "158"),
        A("Simulated acupuncture", "sham",
          "simulated acupuncture (toothpick, non-penetrating; n=162)", "162"),
        A("Usual care", "usual_care", "usual care (n=161)", "161"),
    ),
    "pach2013": (
        A("Standardized acupuncture", "acupuncture", "standardized (n=78)", "78"),
        A("Individualized acupuncture", "acupuncture", "individualized (n=72)", "72"),
    ),
    "brinkhaus2006": (
        A("Minimal acupuncture", "sham",
          "minimal acupuncture (superficial needling at non-acupoints)"),
    ),
    "witt2006": (
        A("Acupuncture group", "acupuncture", "Acupuncture + routine care (n=1549)", "1549"),
        A("Control group (routine care, no acupuncture)", "usual_care",
          "no-acupuncture control with routine care (n=1544)", "1544"),
    ),
    "cherkin2001": (
        A("TCM acupuncture", "acupuncture", "TCM acupuncture (n=94)", "94"),
        A("Therapeutic massage", "other", "therapeutic massage (n=78)", "78"),
        A("Self-care education", "other", "self-care education materials (n=90)", "90"),
    ),
    "kennedy2008": (
        A("Verum acupuncture", "acupuncture", "verum acupuncture"),
        A("Non-penetrating sham (Park sham)", "sham", "non-penetrating sham (Park sham)"),
    ),
    "hasegawa2014": (
        A("Yamamoto New Scalp Acupuncture (YNSA)", "acupuncture",
          "Yamamoto New Scalp Acupuncture (YNSA) (n=40)", "40"),
        A("Non-penetrating sham", "sham", "non-penetrating sham (n=40)", "40"),
    ),
    "shin2013": (
        A("Motion Style Acupuncture Treatment (MSAT)", "acupuncture",
          "Motion style acupuncture treatment (MSAT, n=29)", "29"),
        A("NSAID injection (diclofenac IM)", "nsaid", "single IM diclofenac injection (n=29)",
          "29"),
    ),
    "molsberger2002": (
        A("Real acupuncture + COT", "acupuncture",
          "Real acupuncture + conservative orthopaedic treatment (COT)"),
        A("Sham acupuncture + COT", "sham", "sham (unspecific needling) + COT"),
        A("COT only (nil + COT)", "conventional", "COT only"),
    ),
    "meng2003": (
        A("Acupuncture (electroacupuncture + usual care)", "acupuncture",
          "24 randomized to acupuncture and 23 to control", "24"),
        A("Control (usual care)", "usual_care",
          "24 randomized to acupuncture and 23 to control", "23"),
    ),
    "yeung2003": (
        A("Exercise", "exercise", "Exercise (n=26)", "26"),
        A("Exercise + electroacupuncture", "acupuncture", "exercise + electroacupuncture (n=26)",
          "26"),
    ),
    "kong2020": (
        A("Real electroacupuncture", "acupuncture", "real electroacupuncture (n=59)", "59"),
        A("Sham electroacupuncture", "sham", "sham electroacupuncture (n=62)", "62"),
    ),
    "tu2024": (
        A("Acupuncture", "acupuncture", "Acupuncture (n=110)", "110"),
        A("Sham acupuncture", "sham", "sham acupuncture (n=110)", "110"),
    ),
    "delavar2021": (
        A("Acupuncture", "acupuncture", "acupuncture (n=40)", "40"),
        A("Ibuprofen", "nsaid", "ibuprofen (n=40)", "40"),
    ),
    "carlsson2001": (
        # The abstract pools the manual and electroacupuncture arms; the pooled group is kept as
        # one arm (its n is the sum of the two randomized arms, as printed).
        A("Acupuncture groups (manual + electroacupuncture pooled)", "acupuncture",
          "Abstract pools the two acupuncture arms (n=34)", "34"),
        A("Placebo (mock TENS)", "sham", "active placebo (mock TENS)", "16",
          "vs placebo (n=16)"),
    ),
    "grant1999": (
        A("Acupuncture", "acupuncture", "Acupuncture (n=32)", "32"),
        A("TENS", "tens", "TENS (n=28)", "28"),
    ),
    "lehmann1986": (
        A("Electroacupuncture", "acupuncture", "electroacupuncture (n=17)", "17"),
        A("TENS", "tens", "TENS (n=18)", "18"),
        A("Dead-battery TENS placebo", "sham", "dead-battery TENS placebo (n=18)", "18"),
    ),
    "comachio2020": (
        A("Manual acupuncture", "acupuncture", "Head-to-head manual acupuncture"),
        A("Electroacupuncture", "acupuncture", "manual acupuncture vs electroacupuncture"),
    ),
    "inoue2006": (
        A("Single needling at most painful point", "acupuncture",
          "Single needling at most painful point (n=15)", "15"),
        A("Sham (guide tube without needle)", "sham", "sham (guide tube without needle, n=16)",
          "16"),
    ),
    "skonnord2020": (
        A("Acupuncture group (AG): one session + standard treatment", "acupuncture",
          "Single session of Western medical acupuncture + standard care (AG, randomized 90, "
          "analysed 81)", "90"),
        A("Control group (CG): standard treatment", "usual_care",
          "standard care per Norwegian guidelines (CG, randomized 95, analysed 86)", "95"),
    ),
    "kittang2001": (
        A("Acupuncture", "acupuncture", "standardised acupuncture for 2 weeks (n=30)", "30"),
        A("Naproxen 500 mg twice daily", "nsaid",
          "enteric-coated naproxen 500 mg bid for 10 days (n=30)", "30"),
    ),
    "hunter2012": (
        A("Exercise and auricular acupuncture (EAA)", "acupuncture",
          "exercise + auricular acupuncture (EAA, n=24; stud needles in first 6 weeks)", "24"),
        A("Exercise alone (E)", "exercise",
          "exercise alone (E, n=27; 6 weeks supervised + 6 weeks unsupervised)", "27"),
    ),
    "tsukayama2002": (
        A("Electroacupuncture (EA)", "acupuncture", "EA (n=10)", "10"),
        A("TENS", "tens", "TENS (n=10)", "10"),
    ),
    "itoh2006": (
        A("Trigger point acupuncture", "acupuncture", "trigger point acupuncture vs sham"),
        A("Sham", "sham", "trigger point acupuncture vs sham with 3-week washout"),
    ),
    "itoh2009jjsam": (
        A("Tender point acupuncture", "acupuncture", "tender point acupuncture (n=13)", "13"),
        A("Trigger point acupuncture", "acupuncture", "trigger point acupuncture (n=13)", "13"),
        A("Sham (mimicked needling without insertion)", "sham",
          "sham (mimicked needling without insertion, n=13)", "13"),
    ),
    "ceccherelli2002": (
        A("Superficial needling (2 mm)", "acupuncture", "Superficial (2 mm)", "21",
          "two equal groups (21/21"),
        A("Deep (intramuscular) needling", "acupuncture", "deep (intramuscular) needling", "21",
          "two equal groups (21/21"),
    ),
    "eamfe2017": (
        A("Electroacupuncture (EA)", "acupuncture", "EA (n=50)", "50"),
        A("Medium-frequency electrotherapy (MFE)", "other",
          "medium-frequency electrotherapy (MFE, n=50)", "50"),
    ),
    "vas2012": (
        A("Conventional treatment alone", "conventional", "conventional treatment alone"),
        A("Conventional + true acupuncture", "acupuncture", "conventional + true acupuncture"),
        A("Conventional + sham acupuncture (non-specific points)", "sham",
          "+ sham acupuncture (non-specific points)"),
        A("Conventional + placebo (non-penetrating) acupuncture", "sham",
          "+ placebo (non-penetrating) acupuncture"),
    ),
    "cho2013": (
        A("Individualized real acupuncture", "acupuncture", "Individualized real acupuncture"),
        A("Non-penetrating sham", "sham",
          "non-penetrating sham (semi-blunt needles at non-acupoints)"),
    ),
    "weiss2013": (
        A("Standard rehabilitation + acupuncture (group A)", "acupuncture",
          "standard rehab + acupuncture twice weekly (group A, analysed n=74)"),
        A("Standard rehabilitation alone (group B)", "conventional",
          "standard rehab alone (group B, analysed n=69)"),
    ),
    "yuan2009": (
        A("Low-frequency acupuncture (2/week for 5 weeks)", "acupuncture",
          "low frequency (2/week for 5 weeks, n=15)", "15"),
        A("High-frequency acupuncture (5/week for 2 weeks)", "acupuncture",
          "high frequency (5/week for 2 weeks, n=15)", "15"),
    ),
    "satorkatzenschlager2004": (
        A("Auricular electroacupuncture (EA)", "acupuncture",
          "Continuous low-frequency auricular electroacupuncture (EA, n=31)", "31"),
        A("Auricular acupuncture without electrical stimulation (CO, sham electro)", "sham",
          "auricular acupuncture without electrical stimulation (CO, sham electro, n=30)", "30"),
    ),
    "leibing2002": (
        A("Physiotherapy + traditional acupuncture", "acupuncture",
          "+ traditional acupuncture 20 sessions (n=40)", "40"),
        A("Physiotherapy + minimal (sham) acupuncture", "sham",
          "+ minimal (sham) acupuncture 20 sessions (n=45)", "45"),
        A("Physiotherapy only", "physiotherapy", "physiotherapy only (n=46)", "46"),
    ),
    "kerr2003": (
        A("Acupuncture", "acupuncture", "Acupuncture vs placebo TENS"),
        A("Placebo TENS", "sham", "placebo TENS"),
    ),
    "itoh2009": (
        A("Acupuncture", "acupuncture", "Four groups: acupuncture, TENS"),
        A("TENS", "tens", "Four groups: acupuncture, TENS"),
        A("Acupuncture + TENS", "other", "acupuncture + TENS"),
        A("Control (topical poultice when necessary)", "other",
          "control (topical poultice when necessary)"),
    ),
    "lin2016": (
        A("Acupuncture-movement at Yintang (AM)", "acupuncture",
          "acupuncture-movement at Yintang (AM)", "15", "four groups of 15"),
        A("Sham acupuncture-movement (SAM)", "sham", "sham acupuncture-movement (SAM)", "15",
          "four groups of 15"),
        A("Conventional acupuncture (CA)", "acupuncture", "conventional acupuncture (CA)", "15",
          "four groups of 15"),
        A("Physical therapy (PT)", "physiotherapy", "physical therapy (PT)", "15",
          "four groups of 15"),
    ),
    "giles2003": (
        A("Medication (NSAID/analgesic)", "other_medication", "Medication (NSAID/analgesic)"),
        A("Needle acupuncture", "acupuncture", "needle acupuncture"),
        A("Chiropractic spinal manipulation", "other", "chiropractic spinal manipulation"),
    ),
    "shin2015laser": (
        A("Laser acupuncture group", "acupuncture", "Laser acupuncture (non-penetrating", "28",
          "randomized 28/28"),
        A("Sham laser acupuncture group", "sham", "vs sham laser", "28", "randomized 28/28"),
    ),
    "li2022fireneedle": (
        A("Experimental group (core stability training + fire needle acupuncture)",
          "acupuncture", "Core stability training + fire needle acupuncture (experimental, n=38)",
          "38"),
        A("Control group (core stability training)", "exercise",
          "core stability training alone (control, n=37)", "37"),
    ),
    "coremuscle2024": (
        A("Observation group (core-muscle acupuncture + rehabilitation training)", "acupuncture",
          "Acupuncture at core muscle group + rehabilitation training (observation, n=48)", "48"),
        A("Control group (rehabilitation training)", "exercise",
          "rehabilitation training (control, n=48)", "48"),
    ),
    "jcmp2022": (
        A("Observation group (acupuncture and medicine + core stability training)",
          "acupuncture", "acupuncture AND medicine combined with core stability training (n=53)",
          "53"),
        A("Control group (core stability training)", "exercise",
          "core stability training alone (n=53)", "53"),
    ),
    "cheng2023": (
        A("Lumbar-pelvic training + electroacupuncture", "acupuncture", "LP training + EA", "30",
          "Four arms of 30"),
        A("Electroacupuncture alone", "acupuncture", "EA alone", "30", "Four arms of 30"),
        A("Lumbar-pelvic training alone", "exercise", "LP training alone", "30",
          "Four arms of 30"),
        A("No intervention", "no_treatment", "no intervention", "30", "Four arms of 30"),
    ),
    "buccal2024": (
        A("Buccal acupuncture group", "acupuncture", "buccal (cheek) acupuncture (n=57)", "57"),
        A("Conventional acupuncture group", "acupuncture", "conventional acupuncture (n=55)",
          "55"),
        A("Western medicine control group (celecoxib capsules)", "nsaid",
          "oral celecoxib (n=58)", "58"),
    ),
    "ldhhotcompress2024": (
        A("Observation group (conventional + acupuncture + Chinese medicine hot compress)",
          "acupuncture",
          "conventional intervention + acupuncture + Chinese-medicine hot compress (n=33)", "33"),
        A("Control group (conventional intervention)", "conventional",
          "vs conventional intervention (n=33)", "33"),
    ),
    "multineedle_bengbu": (
        A("Multi-needle sticking in rows acupuncture group", "acupuncture",
          "multi-needle sticking in rows", "30", "three acupuncture techniques (30 each)"),
        A("Conventional sticking acupuncture group", "acupuncture",
          "conventional sticking acupuncture", "30", "three acupuncture techniques (30 each)"),
        A("Multi-needling acupuncture group", "acupuncture", "multi-needling acupuncture", "30",
          "three acupuncture techniques (30 each)"),
    ),
    "tiaodu2024": (
        A("Observation group (Tiaodu Lijin acupuncture + thumb-tack needling)", "acupuncture",
          "Tiaodu Lijin acupuncture + thumb-tack needle embedding (observation, n=49)", "49"),
        A("Control group (Tiaodu Lijin acupuncture)", "acupuncture",
          "Tiaodu Lijin acupuncture alone (control, n=49)", "49"),
    ),
    "johnston2021": (
        A("Battlefield acupuncture (BFA)", "acupuncture",
          "Battlefield acupuncture (BFA, auricular protocol; n=26)", "26"),
        A("Standard pharmacologic treatment (clinician discretion)", "usual_care",
          "standard pharmacologic therapy at the treating clinician's discretion (n=26)", "26"),
    ),
    "kumar2018": (
        A("Electroacupuncture (group I)", "acupuncture",
          "group I (electroacupuncture at GB and UB points, 10 sessions)"),
        A("Valdecoxib + supervised physical therapy (group II)", "conventional",
          "group II (oral valdecoxib + supervised physical therapy)"),
    ),
    "tsui2004": (
        # n=14 is from a thesis record named in the notes, not from the abstract page.
        A("Electroacupuncture (EA)", "acupuncture", "electroacupuncture (EA; n=14 per the "
          "thesis record)", "14"),
        A("Electrical heat acupuncture (EH)", "acupuncture", "electrical heat acupuncture (EH)"),
        A("Control (home back exercise)", "exercise", "control; all taught home back exercise"),
    ),
    "macdonald1983": (
        A("Superficial acupuncture", "acupuncture", "superficial acupuncture (n=8)", "8"),
        A("Placebo (type not stated)", "sham", "placebo (n=9; type not stated)", "9"),
    ),
    "debar2025": (
        A("Standard acupuncture (SA) + UMC", "acupuncture",
          "standard acupuncture (SA, 8-15 sessions over 12 weeks + usual medical care)"),
        A("Enhanced acupuncture (EA: SA + maintenance) + UMC", "acupuncture",
          "enhanced acupuncture (EA, SA plus 4-6 maintenance sessions in weeks 13-24)"),
        A("Usual medical care (UMC) only", "usual_care", "usual medical care (UMC) alone"),
    ),
    # ---- leg/ folder ----
    "hinman2014": (
        A("no acupuncture (control)", "no_treatment", "control n=71", "71"),
        A("needle acupuncture", "acupuncture", "needle n=70", "70"),
        A("laser acupuncture", "other", "laser n=71", "71"),
        A("sham laser acupuncture", "sham", "sham laser n=70", "70"),
    ),
    "witt2005": (
        A("acupuncture", "acupuncture", "acupuncture n=150", "150"),
        A("minimal acupuncture", "sham", "minimal acupuncture n=76", "76"),
        A("waiting list", "waitlist", "waiting list n=74", "74"),
    ),
    "foster2007": (
        A("advice and exercise", "exercise", "advice and exercise n=116", "116"),
        A("advice and exercise + true acupuncture", "acupuncture", "+ true acupuncture n=117",
          "117"),
        A("advice and exercise + non-penetrating acupuncture", "sham",
          "+ non-penetrating acupuncture n=119", "119"),
    ),
    "berman2004": (
        A("True acupuncture", "acupuncture", "Three arms: true acupuncture"),
        A("Sham acupuncture", "sham", "sham (penetrating + non-penetrating)"),
        A("Education control (Arthritis Self-Management)", "self_care",
          "education control (6 two-hour sessions over 12 weeks)"),
    ),
    "scharf2006": (
        A("traditional Chinese acupuncture (TCA)", "acupuncture",
          "traditional Chinese acupuncture"),
        A("sham acupuncture", "sham", "sham (needling at defined non-acupuncture points)"),
        A("conservative therapy", "conventional", "conservative therapy"),
    ),
    "zhu2024": (
        A("acupuncture", "acupuncture", "manual acupuncture", "98", "98 per group"),
        A("sham acupuncture", "sham", "sham acupuncture (SA)", "98", "98 per group"),
    ),
    "qin2020": (
        A("noninsertive sham acupuncture", "sham", "noninsertive sham acupuncture"),
    ),
    "zhang2011_pf": (
        A("PC7 acupuncture", "acupuncture", "Treatment n=28", "28"),
        A("LI4 acupuncture (control)", "other", "control n=25", "25"),
    ),
    "vas2004": (
        A("acupuncture + diclofenac", "acupuncture", "Acupuncture+diclofenac n=48", "48"),
        A("placebo acupuncture + diclofenac", "sham", "placebo acupuncture+diclofenac n=49",
          "49"),
    ),
    "sangdee2002": (
        A("placebo (placebo EA + placebo tablets)", "sham",
          "placebo EA (patch electrodes, dummy mode)"),
    ),
    "huang2019": (
        A("Acupuncture", "acupuncture", "manual acupuncture", "23", "46 enrolled, 23 per arm"),
        A("Sham acupuncture", "sham", "sham acupuncture at the same traditional acupoints", "23",
          "46 enrolled, 23 per arm"),
    ),
    "witt2006_arc": (
        A("acupuncture + routine care", "acupuncture", "357 randomized to acupuncture", "357"),
        A("routine care (no acupuncture)", "usual_care", "355 to control", "355"),
    ),
    "plymouth_pilot_koa": (
        A("standard (advice/exercise booklet alone)", "exercise", "standard (booklet alone)",
          "20", "3 arms x 20 randomized"),
        A("group acupuncture + booklet", "acupuncture", "group acupuncture", "20",
          "3 arms x 20 randomized"),
        A("individual acupuncture + booklet", "acupuncture", "individual acupuncture", "20",
          "3 arms x 20 randomized"),
    ),
    "chen2013_koa_ept": (
        A("EPT + non-penetrating (Streitberger) acupuncture", "sham",
          "Streitberger non-penetrating needles"),
    ),
    "beijing_pilot_ea_koa": (
        A("electroacupuncture", "acupuncture", "electroacupuncture", "15", "15 per arm"),
        A("sham electroacupuncture", "sham", "sham electroacupuncture", "15", "15 per arm"),
    ),
    "haslam2001": (
        A("Acupuncture", "acupuncture", "acupuncture (6 sessions up to 25 min)"),
        A("Advice and exercises", "exercise", "advice and exercises over 6 weeks"),
    ),
    "stenervictorin2004": (
        A("Electroacupuncture + patient education", "acupuncture",
          "electroacupuncture + patient education", "15", "15 per arm"),
        A("Hydrotherapy + patient education", "physiotherapy", "hydrotherapy + patient education",
          "15", "15 per arm"),
        A("Patient education alone", "self_care", "patient education alone", "15",
          "15 per arm"),
    ),
    "mavrommatis2012": (
        A("Acupuncture + etoricoxib (group I)", "acupuncture",
          "group I acupuncture + etoricoxib"),
        A("Sham acupuncture + etoricoxib (group II)", "sham",
          "group II sham acupuncture + etoricoxib"),
        A("Etoricoxib alone (group III)", "nsaid", "group III etoricoxib alone"),
    ),
    "ldh_sciatica_sham_wuxi": (
        A("Acupuncture", "acupuncture", "Acupuncture n=37", "37"),
        A("Sham acupuncture", "sham", "sham n=36", "36"),
    ),
    "koa_pilot_bmcmsd_10_130": (
        A("Acupuncture + usual care", "acupuncture",
          "acupuncture (up to 10 sessions, usually weekly) plus usual care", "15", "15 per arm"),
        A("Usual care alone", "usual_care", "usual care alone", "15", "15 per arm"),
    ),
    "nct05014542_koa": (
        A("Acupuncture of both knees + analgesics", "acupuncture",
          "acupuncture of both knees as adjunct to analgesics", "32",
          "32 randomised to acupuncture"),
        A("Control group C (not described)", "other", "control group C"),
    ),
}
"""Study id -> arms read from its notes (see the module docstring)."""

COUNTS_NOT_USED: dict[str, str] = {
    "weiss2013": "74/69 are analysed counts, not randomized",
    "sangdee2002": "45/49/46/46 are completers (193 randomized)",
    "huang2019": "23/21 completed; the Round 2 abstract copy's '23 per arm' is used instead",
    "itoh2006": "13/13 are crossover sequence groups, not treatment arms",
    "comachio2020": "33 per arm is the protocol's planned size",
    "haslam2001": "16/12 'as described' do not add up to the 32 randomized",
    "kennedy2008": "24 per arm is only 'consistent with' the credibility percentages (not used "
                   "by the curators either)",
}
"""Study id -> why a per-arm number in its notes was not taken as ``n_randomized``."""

ARM_ALIASES: dict[tuple[str, str], str] = {
    # Brinkhaus 2006: the abstract rows and the AHRQ evidence-table rows name the same two arms
    # differently (AHRQ: "A" needle acupuncture, "B" sham = minimal acupuncture).
    ("brinkhaus2006", "Needle acupuncture to body acupoints"): "Acupuncture",
    ("brinkhaus2006", "Sham acupuncture (minimal acupuncture)"): "Minimal acupuncture",
}
"""(study id, curated arm label) -> the label of the same arm used elsewhere in that study."""
