"""Frequentist network meta-analysis: every treatment against every other at once.

* :func:`network_meta_analysis` fits the contrast-based consistency model (metafor's ``rma.mv``
  with treatment contrasts; netmeta's graph-theoretical model), common or random effects, from
  contrasts or arm-level data, multi-arm studies with their covariance
  (:mod:`~acuevidence.network.model`).
* :func:`design_by_treatment` (global inconsistency test, Q decomposition, net heat table) and
  :func:`node_split` (direct vs indirect evidence) (:mod:`~acuevidence.network.consistency`).
* :func:`league_table`, :func:`p_scores`, :func:`rank_treatments` (P-scores, SUCRA)
  (:mod:`~acuevidence.network.ranking`).
* :func:`network_graph_svg`, :func:`forest_svg` (:mod:`~acuevidence.network.plots`).
* :func:`evidence_networks`: the networks for chronic low back pain and knee osteoarthritis from
  the evidence registry (:mod:`~acuevidence.network.evidence`).
"""

from __future__ import annotations

from .consistency import InconsistencyResult, NodeSplitResult, design_by_treatment, node_split
from .evidence import EvidenceNetwork, evidence_networks
from .model import NetworkResult, network_meta_analysis
from .plots import forest_svg, network_graph_svg
from .ranking import LeagueTable, RankingResult, league_table, p_scores, rank_treatments

__all__ = [
    "EvidenceNetwork",
    "InconsistencyResult",
    "LeagueTable",
    "NetworkResult",
    "NodeSplitResult",
    "RankingResult",
    "design_by_treatment",
    "evidence_networks",
    "forest_svg",
    "league_table",
    "network_graph_svg",
    "network_meta_analysis",
    "node_split",
    "p_scores",
    "rank_treatments",
]
