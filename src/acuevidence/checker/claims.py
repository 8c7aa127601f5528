"""What the checker finds in a page: claims and citations, each with its character span.

``start`` and ``end`` index the page's clean text (:attr:`CheckReport.text`), so a renderer can
highlight ``text[start:end]`` and a reader can see exactly what was read. Every record is frozen and
has ``to_dict()`` (JSON-safe).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "CLAIM_TYPES", "Citation", "Claim", "EfficacyClaim", "NumericClaim", "SafetyClaim", "Topic",
]

CLAIM_TYPES = ("efficacy", "numeric", "safety", "citation")


@dataclass(frozen=True)
class _Base:
    id: str
    text: str
    start: int
    end: int

    @property
    def type(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["type"] = self.type
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


@dataclass(frozen=True)
class EfficacyClaim(_Base):
    """A statement that acupuncture helps (or does not, or that the evidence is unclear).

    Each dimension is a tuple of *slots*; a slot is a tuple of alternative vocabulary terms
    (``("chronic_nonspecific_lbp",)``, or the low-back-pain family for "back pain"). ``*_named``
    says whether the page named it (every named slot must hold) or the checker filled in the
    candidates (the most favourable comparison with data is taken: benefit of the doubt).
    """

    intervention: str = "acupuncture"
    conditions: tuple[tuple[str, ...], ...] = ()
    condition_text: tuple[str, ...] = ()
    condition_source: str = "sentence"  # sentence | context | citation | page topic
    comparators: tuple[tuple[str, ...], ...] = ()
    comparator_text: tuple[str, ...] = ()
    comparators_named: bool = False
    outcomes: tuple[tuple[str, ...], ...] = ()
    outcome_text: tuple[str, ...] = ()
    outcomes_named: bool = False
    windows: tuple[tuple[str, ...], ...] = ()
    time_text: tuple[str, ...] = ()
    direction: str = "benefit"  # benefit | comparable | no_benefit | uncertain
    strength: str = "plain"  # strong | plain | hedged
    strength_words: tuple[str, ...] = ()
    hedges: tuple[str, ...] = ()
    design: str = "head_to_head"  # head_to_head | add_on | dose
    citation_id: str | None = None

    @property
    def type(self) -> str:
        return "efficacy"


@dataclass(frozen=True)
class NumericClaim(_Base):
    """A number about research (trials, participants, an effect in %) or about how common pain is."""

    value: float = 0.0
    value_text: str = ""
    unit: str = ""  # trials | studies | reviews | participants | percent
    kind: str = "research"  # research | prevalence
    year: int | None = None
    conditions: tuple[str, ...] = ()
    citation_id: str | None = None

    @property
    def type(self) -> str:
        return "numeric"


@dataclass(frozen=True)
class SafetyClaim(_Base):
    """A statement about harms or safety (safe, side effects, adverse reactions, dependency)."""

    conditions: tuple[tuple[str, ...], ...] = ()
    comparator_text: tuple[str, ...] = ()
    cue: str = ""
    citation_id: str | None = None

    @property
    def type(self) -> str:
        return "safety"


@dataclass(frozen=True)
class Citation(_Base):
    """A reference to a publication: title, journal, year, authors and any identifiers."""

    title: str | None = None
    journal: str | None = None
    journal_key: str | None = None
    year: int | None = None
    authors: tuple[str, ...] = ()
    first_author: str | None = None
    identifiers: tuple[str, ...] = ()  # "pmid:…", "doi:…", "article:…"
    style: str = "reference"  # reference | block | inline
    conditions: tuple[str, ...] = ()  # from the title (the registry's condition wins if matched)

    @property
    def type(self) -> str:
        return "citation"


Claim = EfficacyClaim | NumericClaim | SafetyClaim | Citation


@dataclass(frozen=True)
class Topic:
    """What the page is about: body regions (``"back"``, ``"knee"``) and why the checker thinks so."""

    families: tuple[str, ...]
    label: str
    reason: str
    conditions: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"families": list(self.families), "label": self.label, "reason": self.reason,
                "conditions": list(self.conditions)}
