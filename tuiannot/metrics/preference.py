"""Which system is preferred: the figures of a blind A/B comparison (pure functions, plain tuples).

Each judgement is ``(annotator, outcome)`` with ``outcome`` one of :data:`OUTCOMES`: ``A`` or ``B`` (that system's
output was better), ``tie`` (equally good) or ``both-bad`` (neither is acceptable). A skipped comparison is no
judgement and is not given here. :func:`compare_stats` reports, over everyone and per annotator:

* the counts: wins of A, wins of B, ties, both bad; ``decided`` = wins of A + wins of B;
* the **win rate of A** over the decided comparisons, ``wins_a / decided`` (ties and both-bad say nothing about
  which is better, so they are left out of it, as in a sign test), with its 95% **Wilson score interval**,
  ``(p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``, which stays inside [0, 1] and is honest for
  small n (equal to statsmodels' ``proportion_confint(method="wilson")``);
* the **sign test**: the exact two-sided binomial test of ``wins_a`` out of ``decided`` against 1/2, the chance
  of a split at least as uneven as the one seen if neither system were better (equal to
  ``scipy.stats.binomtest(wins_a, decided, 0.5).pvalue``), and ``preferred``: the system with more wins when
  that chance is below ``alpha`` (0.05), else None.

With no decided comparison the rate, interval and test are None (JSON null), never a division by zero.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterable

OUTCOMES = ("A", "B", "tie", "both-bad")
Z95 = 1.959963984540054  # the standard normal's 97.5% quantile: a two-sided 95% interval


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of ``successes / n`` (95% by default); None when ``n`` is 0."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be from 0 to n ({n}), not {successes}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _log_pmf(k: int, n: int) -> float:
    """log of the Binomial(n, 1/2) probability of k."""
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2.0)


def sign_test(wins: int, n: int) -> float | None:
    """The exact two-sided sign test: the chance, if both sides were equally likely to win, of a split of ``n``
    at least as uneven as ``wins`` to ``n - wins``; None when ``n`` is 0."""
    if n <= 0:
        return None
    if not 0 <= wins <= n:
        raise ValueError(f"wins must be from 0 to n ({n}), not {wins}")
    low = min(wins, n - wins)
    if 2 * low == n:
        return 1.0
    # one tail, from its largest term down (the rest are negligible once they fall below 1e-17 of the sum)
    terms: list[float] = []
    for k in range(low, -1, -1):
        term = math.exp(_log_pmf(k, n))
        terms.append(term)
        if term < 1e-17 * terms[0]:
            break
    return min(1.0, 2.0 * math.fsum(terms))


def _figures(counts: Counter[str], alpha: float = 0.05) -> dict[str, Any]:
    a, b = counts["A"], counts["B"]
    decided = a + b
    interval = wilson_interval(a, decided)
    p_value = sign_test(a, decided)
    preferred = None
    if p_value is not None and p_value < alpha and a != b:
        preferred = "A" if a > b else "B"
    return {
        "judgements": sum(counts.values()), "wins_a": a, "wins_b": b, "ties": counts["tie"],
        "both_bad": counts["both-bad"], "decided": decided,
        "win_rate_a": a / decided if decided else None,
        "interval_a": list(interval) if interval is not None else None,
        "sign_test_p": p_value, "preferred": preferred,
    }


def compare_stats(judgements: Iterable[tuple[str, str]], alpha: float = 0.05) -> dict[str, Any]:
    """Everyone's figures and each annotator's, from ``(annotator, outcome)`` pairs; ``alpha`` decides
    ``preferred``. JSON-ready: ``{"overall": {...}, "by_annotator": {name: {...}}, "alpha": 0.05}``."""
    overall: Counter[str] = Counter()
    by_annotator: dict[str, Counter[str]] = {}
    for annotator, outcome in judgements:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r} (known: {', '.join(OUTCOMES)})")
        overall[outcome] += 1
        by_annotator.setdefault(str(annotator), Counter())[outcome] += 1
    return {"overall": _figures(overall, alpha), "alpha": alpha,
            "by_annotator": {name: _figures(c, alpha) for name, c in sorted(by_annotator.items())}}
