"""The RevMan 5 file format: a review in memory, writing it as XML, reading it back safely.

:mod:`acuevidence.evidence.rm5` maps between this and the registry. An ``.rm5`` file is XML; the
parts used here, with the element and attribute names RevMan 5.3 and 5.4 write::

    <COCHRANE_REVIEW REVMAN_VERSION="5" TYPE="INTERVENTION" ...>
      <COVER_SHEET><TITLE>...</TITLE></COVER_SHEET>
      <STUDIES_AND_REFERENCES><STUDIES><INCLUDED_STUDIES>
        <STUDY ID="STD-Smith_x002d_2010" NAME="Smith 2010" YEAR="2010" DATA_SOURCE="PUB">
      ...
      <ANALYSES_AND_DATA>
        <COMPARISON ID="CMP-001" NO="1"><NAME>Acupuncture versus sham</NAME>
          <DICH_OUTCOME ID="CMP-001.01" NO="1" EFFECT_MEASURE="RR" METHOD="MH" SUBGROUPS="YES">
            <NAME/><GROUP_LABEL_1/><GROUP_LABEL_2/><GRAPH_LABEL_1/><GRAPH_LABEL_2/>
            <DICH_SUBGROUP ID="CMP-001.01.01" NO="1"><NAME>8 weeks</NAME>
              <DICH_DATA STUDY_ID="..." EVENTS_1="" TOTAL_1="" EVENTS_2="" TOTAL_2=""/>
          <CONT_OUTCOME EFFECT_MEASURE="MD" UNITS=""> ... <CONT_DATA STUDY_ID="" MEAN_1=""
              SD_1="" TOTAL_1="" MEAN_2="" SD_2="" TOTAL_2=""/>
          <IV_OUTCOME LOG_DATA="YES"> ... <EFFECT_MEASURE>Risk Ratio</EFFECT_MEASURE>
              <IV_DATA STUDY_ID="" EFFECT_SIZE="" SE="" TOTAL_1="" TOTAL_2=""/>

Sources (RevMan publishes no schema): the RevMan 5 file ``inst/extdata/Fleiss1993.rm5`` and the
reader ``R/read.rm5-internal.R`` of the R package meta (github.com/guido-s/meta): element and
attribute names, ``*_SUBGROUP`` nesting, ``STD-`` study ids with ``_x002d_`` escapes, IV outcomes
naming their measure in an ``EFFECT_MEASURE`` element with the words "Mean Difference", "Std.
Mean Difference", "Risk Ratio", ...; meta's ``metacr`` (IV effects of ratio measures are on the
log scale) and the RevMan 5 User Guide ("Entered data are on log scale (generic inverse variance
only)": ratios are entered as ln(ratio) with the SE of the ln) for the ``LOG_DATA`` flag; the
Cochrane Handbook 5.1, section 9.4.3.2. Group 1 is the experimental arm, group 2 the control;
GRAPH_LABEL_1 is the left of the forest plot (mean difference below 0, ratio below 1). The
``REFERENCE`` children ``TI`` (title), ``SO`` (source) and ``YR`` follow RevMan's reference
fields; they were not checked against a file RevMan wrote.

Reading is hardened against hostile XML: entity declarations (billion laughs) and external
entities are refused before any expansion, through ``defusedxml`` when it is installed and the
same expat handlers otherwise; element trees are walked without recursion.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn
from xml.etree import ElementTree as ET

from ..errors import InputError

KINDS = ("DICH", "CONT", "IV")
REQUIRED_ATTRS: dict[str, tuple[str, ...]] = {
    "DICH": ("EVENTS_1", "TOTAL_1", "EVENTS_2", "TOTAL_2"),
    "CONT": ("MEAN_1", "SD_1", "TOTAL_1", "MEAN_2", "SD_2", "TOTAL_2"),
    "IV": ("EFFECT_SIZE", "SE"),
}
INTEGER_ATTRS = frozenset({"EVENTS_1", "EVENTS_2", "TOTAL_1", "TOTAL_2"})
IV_MEASURE_NAMES: dict[str, str] = {
    "MD": "Mean Difference", "SMD": "Std. Mean Difference", "RR": "Risk Ratio",
    "OR": "Odds Ratio", "RD": "Risk Difference", "HR": "Hazard Ratio",
}
"""Measure code -> the words RevMan writes in an IV outcome's EFFECT_MEASURE element."""
MEASURE_ALIASES: dict[str, str] = {
    **{v.lower(): k for k, v in IV_MEASURE_NAMES.items()},
    **{k.lower(): k for k in IV_MEASURE_NAMES},
    "standardized mean difference": "SMD", "standardised mean difference": "SMD",
    "peto odds ratio": "OR", "peto_or": "OR", "odds ratio (non-event)": "OR",
}
RATIO_MEASURES = ("RR", "OR", "HR")
NEUTRAL_GRAPH_LABELS = ("Lower values", "Higher values")  # direction unknown: say what is where
NO_TIMEPOINT = "Time point not stated"


def fmt_number(v: float) -> str:
    """A number as an attribute: floats in shortest round-trip form, so nothing is lost."""
    return str(v) if isinstance(v, int) else repr(float(v))


def _fmt_weeks(w: float) -> str:
    r = repr(float(w))
    return r.removesuffix(".0")


# RevMan ids are XML-name-like: characters other than letters, digits and "_" are escaped as
# _xHHHH_ (.NET XmlConvert style: "ISIS-2" -> "STD-ISIS_x002d_2").
def encode_study_id(study_id: str) -> str:
    """Registry study id -> RevMan STUDY ID (``smith-2010`` -> ``STD-smith_x002d_2010``)."""
    return "STD-" + "".join(ch if ch.isascii() and (ch.isalnum() or ch == "_")
                            else f"_x{ord(ch):04x}_" for ch in study_id)


def decode_study_id(rm5_id: str) -> str:
    """RevMan STUDY ID -> its text (``STD-ISIS_x002d_2`` -> ``ISIS-2``)."""
    s = rm5_id.removeprefix("STD-")
    return re.sub(r"_x([0-9a-fA-F]{4})_", lambda m: chr(int(m.group(1), 16)), s)


_WEEKS_SUFFIX = re.compile(r"^(.*?)\s*\(\s*(\d+(?:\.\d+)?)\s*weeks?\s*\)$", re.IGNORECASE)
# Whole names only ("8 weeks", "week 8", "3 months"): in "1 month after treatment" the number is
# not the time since randomisation, so it must not become timepoint_weeks.
_N_UNIT = re.compile(r"^(\d+(?:\.\d+)?)\s*-?\s*(weeks?|wks?|months?|days?)$", re.IGNORECASE)
_UNIT_N = re.compile(r"^(weeks?|wks?|months?|days?)\s*(\d+(?:\.\d+)?)$", re.IGNORECASE)
_UNIT_WEEKS = {"week": 1.0, "wk": 1.0, "month": 52 / 12, "day": 1 / 7}


def parse_timepoint(name: str) -> tuple[float | None, str | None]:
    """(weeks, label) of a subgroup name; a month counts 52/12 weeks (3 months = 13 weeks).

    ``"end of treatment (8 weeks)"`` -> (8.0, "end of treatment"); ``"week 8"`` -> (8.0,
    "week 8"); ``"3 months"`` -> (13.0, "3 months"); ``"end of treatment"`` -> (None, same).
    """
    name = " ".join(name.split())
    if not name or name == NO_TIMEPOINT:
        return None, None
    m = _WEEKS_SUFFIX.match(name)
    if m:
        return float(m.group(2)), (m.group(1) or None)
    m = _N_UNIT.match(name)
    if m:
        num, unit = m.group(1), m.group(2)
    else:
        m = _UNIT_N.match(name)
        if not m:
            return None, name
        num, unit = m.group(2), m.group(1)
    factor = next(f for u, f in _UNIT_WEEKS.items() if unit.lower().startswith(u))
    return float(num) * factor, name


def timepoint_name(weeks: float | None, label: str | None) -> str:
    """Subgroup name of a time point, which :func:`parse_timepoint` reads back to the weeks."""
    if label and weeks is not None:
        return label if parse_timepoint(label)[0] == weeks else \
            f"{label} ({_fmt_weeks(weeks)} weeks)"
    if weeks is not None:
        return f"{_fmt_weeks(weeks)} weeks"
    return label or NO_TIMEPOINT


def infer_direction(left: str, right: str, label1: str, label2: str) -> str | None:
    """lower_better when the left graph label (low values) favours group 1, and so on."""
    def norm_(s: str) -> str:
        s = " ".join(s.lower().replace("[", "").replace("]", "").split())
        return re.sub(r"^favou?rs\s+", "", s)

    lft, rgt, g1, g2 = norm_(left), norm_(right), norm_(label1), norm_(label2)
    if (lft and lft == g1) or (rgt and rgt == g2):
        return "lower_better"
    if (lft and lft == g2) or (rgt and rgt == g1):
        return "higher_better"
    control = ("control", "placebo", "sham", "comparator", "usual care")
    experimental = ("experimental", "intervention", "treatment", "acupuncture")
    for side, is_left in ((lft, True), (rgt, False)):
        if any(w in side for w in control):  # before experimental: "sham acupuncture"
            return "higher_better" if is_left else "lower_better"
        if any(w in side for w in experimental):
            return "lower_better" if is_left else "higher_better"
    return None


def number_attr(node: Node, attr: str, where: str) -> float | int:
    """A numeric attribute; whole and >= 0 for counts. Errors name element and attribute."""
    raw = node.attrib.get(attr)
    if raw is None or not raw.strip():
        raise InputError(f"{where}: attribute {attr} is missing or empty.", column=attr)
    try:
        v = float(raw)
    except ValueError:
        raise InputError(f"{where}: attribute {attr}={raw!r} is not a number.",
                         column=attr) from None
    if not math.isfinite(v):
        raise InputError(f"{where}: attribute {attr}={raw!r} is not a finite number.",
                         column=attr)
    if attr in INTEGER_ATTRS:
        if not v.is_integer() or v < 0:
            raise InputError(f"{where}: attribute {attr}={raw!r} must be a whole number >= 0.",
                             column=attr)
        return int(v)
    return v


# ---------------------------------------------------------------------------------------------
# A review in memory
# ---------------------------------------------------------------------------------------------
@dataclass
class Study:
    """A STUDY element."""

    study_id: str
    name: str
    year: int | None = None
    title: str | None = None
    journal: str | None = None


@dataclass
class Data:
    """A ``*_DATA`` element: the study and its numbers (attribute -> value)."""

    study_id: str
    values: dict[str, float | int]


@dataclass
class Outcome:
    """A ``*_OUTCOME`` element; ``subgroups`` maps subgroup name ("" = none) -> data."""

    kind: str  # DICH / CONT / IV
    name: str
    measure: str  # RR / OR / RD / MD / SMD / HR
    label1: str
    label2: str
    direction: str | None
    units: str | None = None
    subgroups: dict[str, list[Data]] = field(default_factory=dict)


@dataclass
class Comparison:
    """A COMPARISON element."""

    name: str
    outcomes: list[Outcome] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: Any) -> ET.Element:
    # RevMan writes attributes in alphabetical order.
    e = ET.SubElement(parent, tag, {k: str(attrs[k]) for k in sorted(attrs)})
    if text is not None:
        e.text = text
    return e


def review_xml(title: str, studies: list[Study], comparisons: list[Comparison], *,
               random_effects: bool = True) -> ET.Element:
    """The COCHRANE_REVIEW element of a review with these studies and analyses."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
    digest = hashlib.sha256((title + "".join(s.study_id for s in studies)).encode()).hexdigest()
    root = ET.Element("COCHRANE_REVIEW", {
        "DESCRIPTION": "Exported by acuevidence", "DOI": "", "GROUP_ID": "",
        "ID": str(int(digest[:15], 16)), "MERGED_FROM": "", "MODIFIED": now,
        "MODIFIED_BY": "acuevidence", "REVIEW_NO": "", "REVMAN_SUB_VERSION": "5.3.5",
        "REVMAN_VERSION": "5", "SPLIT_FROM": "", "STAGE": "R", "STATUS": "A",
        "TYPE": "INTERVENTION", "VERSION_NO": "0.1"})
    _el(_el(root, "COVER_SHEET"), "TITLE", title)
    refs = _el(root, "STUDIES_AND_REFERENCES")
    st = _el(refs, "STUDIES")
    inc = _el(st, "INCLUDED_STUDIES")
    for s in studies:
        year = "" if s.year is None else str(s.year)
        se = _el(inc, "STUDY", DATA_SOURCE="PUB", ID=encode_study_id(s.study_id), NAME=s.name,
                 YEAR=year)
        ref = _el(se, "REFERENCE", PRIMARY="YES", TYPE="JOURNAL_ARTICLE")
        _el(ref, "TI", s.title or "")
        _el(ref, "SO", s.journal or "")
        _el(ref, "YR", year)
        _el(ref, "IDENTIFIERS")
        _el(se, "IDENTIFIERS")
    for tag in ("EXCLUDED_STUDIES", "AWAITING_STUDIES", "ONGOING_STUDIES"):
        _el(st, tag)
    _el(refs, "OTHER_REFERENCES")
    # CALCULATED_DATA="NO": no pooled results are written; RevMan computes them on opening.
    data = _el(root, "ANALYSES_AND_DATA", CALCULATED_DATA="NO")
    for ci, cmp in enumerate(comparisons, start=1):
        cid = f"CMP-{ci:03d}"
        ce = _el(data, "COMPARISON", ID=cid, NO=ci)
        _el(ce, "NAME", cmp.name)
        for oi, out in enumerate(cmp.outcomes, start=1):
            _outcome_xml(ce, out, f"{cid}.{oi:02d}", oi, random_effects)
    ET.indent(root)
    return root


def _outcome_xml(parent: ET.Element, out: Outcome, oid: str, no: int,
                 random_effects: bool) -> None:
    named = [n for n in out.subgroups if n]
    all_data = [d for s in out.subgroups.values() for d in s]
    attrs: dict[str, Any] = {
        "CI_STUDY": "95", "CI_TOTAL": "95", "ESTIMABLE": "YES", "ID": oid, "NO": no,
        "RANDOM": "YES" if random_effects else "NO", "SORT_BY": "STUDY",
        "STUDIES": len({d.study_id for d in all_data}), "SUBGROUPS": "YES" if named else "NO",
        "SUBGROUP_TEST": "YES" if named else "NO", "TOTALS": "YES"}
    if out.kind == "DICH":
        attrs.update(EFFECT_MEASURE=out.measure, METHOD="MH", SWAP_EVENTS="NO")
    elif out.kind == "CONT":
        attrs.update(EFFECT_MEASURE=out.measure, UNITS=out.units or "")
    else:
        attrs.update(LOG_DATA="YES" if out.measure in RATIO_MEASURES else "NO", METHOD="IV")
    for k in ("TOTAL_1", "TOTAL_2", *(("EVENTS_1", "EVENTS_2") if out.kind == "DICH" else ())):
        if all(k in d.values for d in all_data):
            attrs[k] = sum(int(d.values[k]) for d in all_data)
    oe = _el(parent, f"{out.kind}_OUTCOME", **attrs)
    _el(oe, "NAME", out.name)
    _el(oe, "GROUP_LABEL_1", out.label1)
    _el(oe, "GROUP_LABEL_2", out.label2)
    left, right = (NEUTRAL_GRAPH_LABELS if out.direction is None else
                   (f"Favours {out.label1}", f"Favours {out.label2}"))
    if out.direction == "higher_better":
        left, right = right, left
    _el(oe, "GRAPH_LABEL_1", left)
    _el(oe, "GRAPH_LABEL_2", right)
    if out.kind == "IV":
        _el(oe, "EFFECT_MEASURE", IV_MEASURE_NAMES.get(out.measure, out.measure))
    order = 0
    for si, (sname, rows) in enumerate(out.subgroups.items(), start=1):
        target = oe
        if named:
            target = _el(oe, f"{out.kind}_SUBGROUP", ID=f"{oid}.{si:02d}", NO=si,
                         STUDIES=len(rows))
            _el(target, "NAME", sname)
        for d in rows:
            order += 1
            _el(target, f"{out.kind}_DATA", ESTIMABLE="YES", ORDER=order,
                STUDY_ID=encode_study_id(d.study_id),
                **{k: fmt_number(v) for k, v in d.values.items()})


# ---------------------------------------------------------------------------------------------
# Safe reading, with line numbers for the messages
# ---------------------------------------------------------------------------------------------
@dataclass
class Node:
    """An element: tag, attributes, the line it starts on, children and text."""

    tag: str
    attrib: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> Node | None:
        """First child with this tag."""
        return next((c for c in self.children if c.tag == tag), None)

    def child_text(self, tag: str) -> str:
        """Whitespace-normalised text of the first child with this tag ("" if none)."""
        c = self.find(tag)
        return " ".join(c.text.split()) if c is not None else ""

    def iter(self, tag: str) -> Iterator[Node]:
        """Descendants with this tag, in document order."""
        # Iterative: a hostile file nested 100,000 deep must not hit the recursion limit.
        stack = list(reversed(self.children))
        while stack:
            c = stack.pop()
            if c.tag == tag:
                yield c
            stack.extend(reversed(c.children))


class _Builder:
    """Parser target that builds :class:`Node` trees, noting each element's line."""

    def __init__(self) -> None:
        self.stack: list[Node] = []
        self.root: Node | None = None
        self.line: Callable[[], int] = lambda: 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        node = Node(tag, dict(attrib), self.line())
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1].text += text

    def close(self) -> Node | None:
        return self.root


class _Refused(ValueError):
    """A hostile XML construct, raised by the expat handlers of the fallback parser."""


_REFUSED = ("refused: the file declares XML entities or refers to external ones ({}); a RevMan "
            "file never does, and expanding them could exhaust memory or read local files.")


def parse_xml(raw: bytes, name: str, *, use_defusedxml: bool | None = None) -> Node:
    """Parse XML without entity declarations or external entities.

    Parameters
    ----------
    raw : bytes
        The document (its XML declaration names the encoding).
    name : str
        File name for the messages.
    use_defusedxml : bool, optional
        Force (True) or avoid (False) ``defusedxml``; default: use it when installed.

    Raises
    ------
    InputError
        Not well-formed (line and column named), or hostile.
    """
    builder = _Builder()
    if use_defusedxml is not False:
        try:
            from defusedxml import DefusedXmlException
            from defusedxml.ElementTree import DefusedXMLParser
        except ImportError:
            if use_defusedxml:
                raise
        else:
            parser = DefusedXMLParser(target=builder, forbid_dtd=False, forbid_entities=True,
                                      forbid_external=True)
            builder.line = lambda: parser.parser.CurrentLineNumber
            try:
                parser.feed(raw)
                parser.close()
            except DefusedXmlException as e:
                raise InputError(f"{name}: " + _REFUSED.format(type(e).__name__),
                                 column="DOCTYPE") from None
            except ET.ParseError as e:
                line, col = getattr(e, "position", (0, 0))
                raise InputError(f"{name} line {line}, column {col}: not well-formed XML ({e}). "
                                 "Is this a RevMan 5 (.rm5) file?", column="xml") from None
            return _root(builder, name)
    return _parse_with_expat(raw, name, builder)


def _parse_with_expat(raw: bytes, name: str, builder: _Builder) -> Node:
    from xml.parsers import expat

    p = expat.ParserCreate()

    def refuse(*_args: Any) -> NoReturn:
        raise _Refused("entity declaration or external entity")

    # The handlers defusedxml installs: no entity declarations, no external references.
    p.EntityDeclHandler = refuse
    p.UnparsedEntityDeclHandler = refuse
    p.ExternalEntityRefHandler = refuse
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.StartElementHandler = builder.start
    p.EndElementHandler = builder.end
    p.CharacterDataHandler = builder.data
    builder.line = lambda: p.CurrentLineNumber
    try:
        p.Parse(raw, True)
    except _Refused:
        raise InputError(f"{name}: " + _REFUSED.format("entity declaration"),
                         column="DOCTYPE") from None
    except expat.ExpatError as e:
        raise InputError(f"{name} line {e.lineno}, column {e.offset}: not well-formed XML "
                         f"({expat.ErrorString(e.code)}). Is this a RevMan 5 (.rm5) file?",
                         column="xml") from None
    return _root(builder, name)


def _root(builder: _Builder, name: str) -> Node:
    if builder.root is None:
        raise InputError(f"{name}: empty XML document.", column="xml")
    return builder.root
