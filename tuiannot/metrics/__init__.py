"""Metrics: pure functions over answers and their aggregates (no I/O, no SQL, no Textual)."""

from __future__ import annotations

from .stats import dataset_report, overview_report

__all__ = ["dataset_report", "overview_report"]

from .agreement import (  # noqa: E402
    cohens_kappa, document_agreement, fleiss_kappa, gwet_ac1, gwet_ac2, krippendorff_alpha,
    pairwise_agreement, percent_agreement, span_agreement,
)
from .aggregate import dawid_skene, majority_vote  # noqa: E402

__all__ += [
    "cohens_kappa", "dawid_skene", "document_agreement", "fleiss_kappa", "gwet_ac1", "gwet_ac2",
    "krippendorff_alpha", "majority_vote", "pairwise_agreement", "percent_agreement", "span_agreement",
]
