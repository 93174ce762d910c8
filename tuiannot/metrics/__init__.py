"""Metrics: pure functions over answers and their aggregates (no I/O, no SQL, no Textual).

- :mod:`.agreement`: document-level agreement (kappas, alpha, AC1/AC2; multi-choice questions).
- :mod:`.spans`: span-level agreement (strict and lenient F per pair of annotators).
- :mod:`.relations`: agreement on relations between spans (strict and lenient P/R/F on (head, child, label) per
  pair of annotators, their means, a confusion over relation labels).
- :mod:`.aggregate`: final labels from several annotators (majority vote, Dawid-Skene).
- :mod:`.feedback`: feedback answers (``tuiannot feedback``) per question: agreement by the question's type
  (ratings, labels, texts, spans, rankings) and the final answer to each question (median, majority, Borda).
- :mod:`.stats`: what ``tuiannot stats`` reports, from the running totals storage keeps.
- :mod:`.preference`: a blind A/B comparison's figures (wins, ties, win rate with its Wilson interval, sign test).
- :mod:`.glicko2`: Glicko-2 ratings of a tournament's candidates from their duels, and how sure the ranking is.

Each is checked in the tests against a reference library (scikit-learn, statsmodels, krippendorff, irrCAC, scipy).
"""

from __future__ import annotations

from .aggregate import dawid_skene, majority_vote
from .agreement import (cohens_kappa, document_agreement, fleiss_kappa, gwet_ac1, gwet_ac2, krippendorff_alpha,
                        pairwise_agreement, percent_agreement)
from .spans import span_agreement
from .stats import dataset_report, overview_report

__all__ = [
    "cohens_kappa", "dataset_report", "dawid_skene", "document_agreement", "fleiss_kappa", "gwet_ac1", "gwet_ac2",
    "krippendorff_alpha", "majority_vote", "overview_report", "pairwise_agreement", "percent_agreement",
    "span_agreement",
]
