"""Claim checker: test a health web page's claims against the evidence base.

``check_text(text, content_type="text/html" | "text/plain")`` is the single entry point; it returns
a frozen :class:`CheckReport` (``to_dict()``, ``to_frame()``, ``summary(fmt)``, ``to_html()``).
The checker runs offline and never fetches a URL. See :mod:`acuevidence.checker.verdicts` for what
each verdict means and :mod:`acuevidence.checker.extract` for how claims are read.
"""

from .check import CheckReport, check_file, check_text
from .claims import Citation, EfficacyClaim, NumericClaim, SafetyClaim, Topic
from .match import EvidenceBase, bundled_evidence
from .verdicts import VERDICTS, Verdict

__all__ = [
    "VERDICTS", "CheckReport", "Citation", "EfficacyClaim", "EvidenceBase", "NumericClaim",
    "SafetyClaim", "Topic", "Verdict", "bundled_evidence", "check_file", "check_text",
]
