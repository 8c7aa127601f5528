"""Evidence base of acuevidence: curated trials, arms, outcomes, contrasts and published reviews.

The reviewable source of truth is the set of CSV files in ``acuevidence/evidence/data/`` (schema in
``docs/evidence-schema.md``); :mod:`acuevidence.evidence.vocabulary` holds the controlled
vocabularies their coded columns use.
"""

from __future__ import annotations
