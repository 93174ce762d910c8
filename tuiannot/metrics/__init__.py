"""Metrics: pure functions over answers and their aggregates (no I/O, no SQL, no Textual)."""

from __future__ import annotations

from .stats import dataset_report, overview_report

__all__ = ["dataset_report", "overview_report"]
