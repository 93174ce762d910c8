"""Inter-annotator agreement: published worked examples, the reference packages (krippendorff,
statsmodels, scikit-learn, irrCAC) on random data with missing values, degenerate cases, multi-label
answers, spans, and the Snow et al. (2008) RTE crowd data."""

from __future__ import annotations

import csv
import json
import math
import random
from collections import Counter
from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from irrCAC import datasets as irr_datasets
from irrCAC.raw import CAC
from irrCAC.table import CAC as TableCAC
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from tuiannot.metrics import agreement as ag
from tuiannot.metrics.agreement import (
    cohens_kappa, document_agreement, fleiss_kappa, gwet_ac1, gwet_ac2, krippendorff_alpha,
    masi_distance, pairwise_agreement, percent_agreement,
)
from tuiannot.metrics.spans import MISSING, span_agreement

from .helpers import SHARED, growth

TOL = 1e-6
EXACT = 1e-9  # against a reference computed here (irrCAC, krippendorff, statsmodels, scikit-learn)
SNOW = SHARED / "agreement" / "snow2008_rte"


def close(a, b, tol=TOL) -> bool:
    return a is not None and b is not None and abs(float(a) - float(b)) <= tol


# -- helpers: our ratings <-> the reference packages' tables -------------------------------------------

def from_matrix(rows: list[list]) -> list[tuple]:
    """Coders x units (Krippendorff's layout), None for missing -> (unit, coder, value) triples."""
    return [(u, c, v) for c, row in enumerate(rows) for u, v in enumerate(row) if v is not None]


def wide(ratings, compared_only: bool = False) -> pd.DataFrame:
    """Items x annotators with NaN, as irrCAC wants: every rated item (single-rated ones count in the chance
    term of Fleiss' kappa and AC1/AC2), or with ``compared_only`` only the items with 2+ annotators."""
    df = pd.DataFrame(ratings, columns=["item", "annotator", "label"]).pivot(
        index="item", columns="annotator", values="label").astype(float)
    if compared_only:
        df = df[df.notna().sum(axis=1) >= 2]
    return df


def coders_by_units(ratings) -> np.ndarray:
    return wide(ratings).T.values


def irr(ratings, method: str, weights: str = "identity", categories=None) -> dict:
    cac = CAC(wide(ratings), weights=weights, categories=categories, digits=12)
    return getattr(cac, method)()["est"]


def from_frame(df: pd.DataFrame) -> list[tuple]:
    """irrCAC's layout (units x raters, NaN or None for missing) -> (unit, rater, value) triples."""
    return [(unit, rater, value) for rater in df.columns for unit, value in df[rater].items() if not pd.isna(value)]


def single_rated(ratings) -> int:
    return sum(1 for n in Counter(item for item, _, _ in ratings).values() if n == 1)


def random_ratings(seed: int, items: int = 80, annotators: int = 5, categories: int = 4,
                   missing: float = 0.35, start: int = 1) -> list[tuple]:
    """Ratings with missing values and correlated annotators (a latent truth plus noise)."""
    rng = random.Random(seed)
    out = []
    for i in range(items):
        truth = rng.randrange(categories)
        for a in range(annotators):
            if rng.random() < missing:
                continue
            label = truth if rng.random() < 0.6 else rng.randrange(categories)
            out.append((f"item{i}", f"ann{a}", label + start))
    rng.shuffle(out)
    return out


# -- published worked examples -------------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 coders x 12 units, missing data.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def test_krippendorff_2011_published_alphas() -> None:
    ratings = from_matrix(KRIPPENDORFF_2011)
    assert round(krippendorff_alpha(ratings), 3) == 0.743
    assert round(krippendorff_alpha(ratings, "ordinal"), 3) == 0.815
    assert round(krippendorff_alpha(ratings, "interval"), 3) == 0.849
    assert round(krippendorff_alpha(ratings, "ratio"), 3) == 0.797
    data = np.array([[np.nan if v is None else v for v in row] for row in KRIPPENDORFF_2011], dtype=float)
    for level in ("nominal", "ordinal", "interval", "ratio"):
        assert close(krippendorff_alpha(ratings, level), krippendorff.alpha(data, level_of_measurement=level))
    # unit 12 has a single coder: counted and left out
    report = document_agreement(ratings)
    assert report["items"] == 12 and report["items_compared"] == 11 and report["items_single_annotator"] == 1
    assert close(report["krippendorff_alpha"], 0.743421052631579)


def test_krippendorff_2011_with_named_ordinal_categories() -> None:
    names = {1: "very low", 2: "low", 3: "mid", 4: "high", 5: "very high"}
    ratings = [(u, c, names[v]) for u, c, v in from_matrix(KRIPPENDORFF_2011)]
    order = list(names.values())
    assert round(krippendorff_alpha(ratings, "ordinal", categories=order), 3) == 0.815
    assert round(krippendorff_alpha(ratings), 3) == 0.743
    with pytest.raises(ValueError, match="categories"):
        krippendorff_alpha(ratings, "ordinal")
    with pytest.raises(ValueError, match="numbers"):
        krippendorff_alpha(ratings, "interval")


# Fleiss (1971), the Wikipedia "Fleiss' kappa" worked example: 10 subjects, 14 raters, 5 categories.
FLEISS_1971 = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def from_counts(table: list[list[int]]) -> list[tuple]:
    ratings = []
    for item, row in enumerate(table):
        rater = 0
        for category, n in enumerate(row, start=1):
            for _ in range(n):
                ratings.append((item, f"r{rater}", category))
                rater += 1
    return ratings


def test_fleiss_1971_wikipedia_example() -> None:
    ratings = from_counts(FLEISS_1971)
    kappa = fleiss_kappa(ratings)
    assert round(kappa, 3) == 0.210
    assert round(percent_agreement(ratings), 3) == 0.378  # P-bar
    assert close(kappa, sm_fleiss_kappa(np.array(FLEISS_1971), method="fleiss"))
    assert close(kappa, irr(ratings, "fleiss")["coefficient_value"])


def test_cohen_wikipedia_yes_no_example() -> None:
    # A and B both yes: 20; A yes, B no: 5; A no, B yes: 10; both no: 15
    cells = [("yes", "yes", 20), ("yes", "no", 5), ("no", "yes", 10), ("no", "no", 15)]
    ratings, y1, y2 = [], [], []
    i = 0
    for a, b, n in cells:
        for _ in range(n):
            ratings += [(i, "A", a), (i, "B", b)]
            y1.append(a)
            y2.append(b)
            i += 1
    assert abs(cohens_kappa(ratings) - 0.4) < 1e-12
    assert abs(percent_agreement(ratings) - 0.7) < 1e-12
    assert close(cohens_kappa(ratings), cohen_kappa_score(y1, y2))
    report = document_agreement(ratings)
    assert close(report["cohens_kappa"], 0.4)
    assert report["pairs"] == [{"a": "A", "b": "B", "items": 50, "percent_agreement": 0.7,
                                "cohens_kappa": report["cohens_kappa"]}]


def test_gwet_irrcac_documented_example_counts_the_single_rating_in_the_chance_term() -> None:
    # irrCAC's own example (the same 4 x 12 data, its raw_4raters) gives AC1 0.77544 and Fleiss' kappa 0.76117
    # with unit 12's lone rating in the chance term (docstring of irrCAC/raw.py, irrCAC 0.4.4). Gwet's
    # definition: observed agreement on units 1-11, category prevalence over all 12 units.
    ratings = from_matrix(KRIPPENDORFF_2011)
    assert single_rated(ratings) == 1
    assert round(gwet_ac1(ratings), 5) == 0.77544 and round(fleiss_kappa(ratings), 5) == 0.76117
    assert round(gwet_ac2(ratings, "bipolar"), 5) == 0.90037
    assert close(gwet_ac1(ratings), irr(ratings, "gwet")["coefficient_value"], EXACT)
    assert close(fleiss_kappa(ratings), irr(ratings, "fleiss")["coefficient_value"], EXACT)
    # not the figures of the table restricted to units 1-11 (what this module computed before issue 13)
    restricted = CAC(wide(ratings, compared_only=True), digits=12)
    assert round(restricted.gwet()["est"]["coefficient_value"], 6) == 0.775152
    assert round(restricted.fleiss()["est"]["coefficient_value"], 6) == 0.762483
    assert not close(gwet_ac1(ratings), restricted.gwet()["est"]["coefficient_value"])
    # percent agreement and alpha are over units 1-11 either way
    assert close(percent_agreement(ratings), restricted.gwet()["est"]["pa"], EXACT)
    assert close(krippendorff_alpha(ratings), restricted.krippendorff()["est"]["coefficient_value"], EXACT)


def test_single_rated_items_count_in_the_chance_term_only() -> None:
    # item 1: x x x, item 2: x y, item 3: y alone, item 4: z alone: q = 3 categories, n = 4 rated, n' = 2 compared
    ratings = [(1, "a", "x"), (1, "b", "x"), (1, "c", "x"), (2, "a", "x"), (2, "b", "y"), (3, "c", "y"),
               (4, "a", "z")]
    compared = [r for r in ratings if r[0] in (1, 2)]
    assert percent_agreement(ratings) == 0.5 == percent_agreement(compared)  # (1 + 0) / 2
    # pi = (1 + 1/2 + 0 + 0) / 4, (0 + 1/2 + 1 + 0) / 4, (0 + 0 + 0 + 1) / 4 = 3/8, 3/8, 1/4
    # Fleiss: p_e = 9/64 + 9/64 + 4/64 = 22/64, kappa = (32 - 22) / (64 - 22) = 5/21
    assert abs(fleiss_kappa(ratings) - 5 / 21) < 1e-12
    # AC1: p_e = (15/64 + 15/64 + 12/64) / 2 = 21/64, AC1 = (32 - 21) / (64 - 21) = 11/43
    assert abs(gwet_ac1(ratings) - 11 / 43) < 1e-12
    # without items 3 and 4: pi = 3/4, 1/4 and q = 2, so kappa (8 - 10) / (16 - 10) = -1/3 and AC1 (8 - 6) / (16 - 6)
    assert abs(fleiss_kappa(compared) + 1 / 3) < 1e-12 and abs(gwet_ac1(compared) - 1 / 5) < 1e-12
    assert krippendorff_alpha(ratings) == krippendorff_alpha(compared)
    assert cohens_kappa([r for r in ratings if r[1] != "c"]) == cohens_kappa([r for r in compared if r[1] != "c"])
    numeric = [(i, a, "xyz".index(v) + 1.0) for i, a, v in ratings]
    assert close(fleiss_kappa(ratings), irr(numeric, "fleiss")["coefficient_value"], EXACT)
    assert close(gwet_ac1(ratings), irr(numeric, "gwet")["coefficient_value"], EXACT)
    report = document_agreement(ratings)
    assert report["items_single_annotator"] == 2 and report["items_compared"] == 2
    assert report["fleiss_kappa"] == fleiss_kappa(ratings) and report["gwet_ac1"] == gwet_ac1(ratings)
    assert any("chance term" in n for n in report["notes"])


def test_one_category_compared_another_only_on_single_rated_items() -> None:
    ratings = [(i, a, "POS") for i in range(4) for a in ("ann", "bob")] + [(9, "ann", "NEG")]
    assert percent_agreement(ratings) == 1.0
    assert krippendorff_alpha(ratings) is None and cohens_kappa(ratings) is None  # 0/0 on the compared items
    assert close(fleiss_kappa(ratings), 1.0, EXACT) and close(gwet_ac1(ratings), 1.0, EXACT)
    numeric = [(i, a, 1.0 if v == "POS" else 0.0) for i, a, v in ratings]
    assert close(fleiss_kappa(ratings), irr(numeric, "fleiss")["coefficient_value"], EXACT)
    assert close(gwet_ac1(ratings), irr(numeric, "gwet")["coefficient_value"], EXACT)
    report = document_agreement(ratings)
    assert any("single category on the items compared" in n for n in report["notes"])
    # a label set given: categories= must hold the single-rated items' labels too
    with pytest.raises(ValueError, match="not in categories"):
        gwet_ac1(ratings, categories=["POS"])


# irrCAC's own tests (github.com/afergadis/irrCAC, test/unit/irrCAC/raw/test_fleiss.py, test_gwet.py and
# test_krippendorff.py, irrCAC 0.4.4) on its datasets (irrCAC.datasets, from Gwet 2014): the coefficients,
# published to 3 places (digits=3). raw_4raters is Krippendorff's 2011 example (unit 12 rated once), raw_g1g2
# and raw_ben_gerry also have a single-rated unit, raw_5observers and raw_gender have none.
IRRCAC_DATASETS = ("raw_4raters", "raw_5observers", "raw_g1g2", "raw_gender", "raw_ben_gerry")
IRRCAC_PUBLISHED = {
    # dataset: (Fleiss' kappa, AC1, Krippendorff's alpha, percent agreement (pa))
    "raw_4raters": (0.761, 0.775, 0.743, 0.818),
    "raw_5observers": (0.458, 0.497, 0.481, 0.616),
    "raw_g1g2": (0.657, 0.685, 0.632, 0.744),
    "raw_gender": (0.129, 0.208, 0.143, 0.456),
    "raw_ben_gerry": (0.649, 0.661, 0.665, 0.727),
}
IRRCAC_PUBLISHED_AC2 = {  # test_gwet.py, raw_4raters with weights
    "bipolar": 0.900, "circular": 0.830, "linear": 0.859, "ordinal": 0.899, "quadratic": 0.914, "radical": 0.820,
    "ratio": 0.857, "custom": 0.783,
}
# The same coefficients to 6 places: irrCAC 0.4.4's CAC(data, digits=6) (its tests round them to 3).
IRRCAC_6 = {
    "raw_4raters": (0.761169, 0.775444, 0.743421, 0.818182),
    "raw_5observers": (0.457622, 0.496622, 0.480530, 0.615556),
    "raw_g1g2": (0.657245, 0.684604, 0.631806, 0.743590),
    "raw_gender": (0.128889, 0.208081, 0.143407, 0.455556),
    "raw_ben_gerry": (0.649351, 0.661442, 0.664894, 0.727273),
}
IRRCAC_6_AC2 = {
    "bipolar": 0.900373, "circular": 0.830195, "linear": 0.858739, "ordinal": 0.898940, "quadratic": 0.914001,
    "radical": 0.819812, "ratio": 0.857368, "custom": 0.783218,
}
# test_gwet.py's custom weights (not symmetric)
IRRCAC_CUSTOM_WEIGHTS = [
    [1.00, 0.75, 0.50, 0.25, 0.00],
    [0.00, 1.00, 0.75, 0.50, 0.25],
    [0.25, 0.00, 1.00, 0.75, 0.50],
    [0.50, 0.25, 0.00, 1.00, 0.75],
    [0.75, 0.50, 0.25, 0.00, 1.00],
]


@pytest.mark.parametrize("name", IRRCAC_DATASETS)
def test_irrcac_test_examples(name: str) -> None:
    data = getattr(irr_datasets, name)()
    ratings = from_frame(data)
    assert single_rated(ratings) == (0 if name in ("raw_5observers", "raw_gender") else 1)
    ours = (fleiss_kappa(ratings), gwet_ac1(ratings), krippendorff_alpha(ratings), percent_agreement(ratings))
    assert tuple(round(v, 3) for v in ours) == IRRCAC_PUBLISHED[name]
    for value, published in zip(ours, IRRCAC_6[name], strict=True):
        assert close(value, published, TOL)
    cac = CAC(data, digits=12)
    assert close(ours[0], cac.fleiss()["est"]["coefficient_value"], EXACT)
    assert close(ours[1], cac.gwet()["est"]["coefficient_value"], EXACT)
    assert close(ours[2], cac.krippendorff()["est"]["coefficient_value"], EXACT)
    assert close(ours[3], cac.gwet()["est"]["pa"], EXACT)


@pytest.mark.parametrize("weights", list(IRRCAC_PUBLISHED_AC2))
def test_irrcac_test_examples_ac2(weights: str) -> None:
    data = irr_datasets.raw_4raters()
    ratings = from_frame(data)
    w = IRRCAC_CUSTOM_WEIGHTS if weights == "custom" else weights
    ac2 = gwet_ac2(ratings, w)
    assert round(ac2, 3) == IRRCAC_PUBLISHED_AC2[weights]
    assert close(ac2, IRRCAC_6_AC2[weights], TOL)
    reference = CAC(data, weights=np.array(w) if weights == "custom" else w, digits=12).gwet()["est"]
    assert close(ac2, reference["coefficient_value"], EXACT)


# -- the reference packages on random data with missing values ----------------------------------------

SEEDS = [0, 1, 2, 3, 4, 5]
WEIGHT_NAMES = ("identity", "linear", "quadratic", "ordinal", "radical", "ratio", "circular", "bipolar")


@pytest.mark.parametrize("seed", SEEDS)
def test_random_data_equals_reference_packages(seed: int) -> None:
    ratings = random_ratings(seed)
    assert single_rated(ratings) > 0
    est = irr(ratings, "fleiss")
    assert close(fleiss_kappa(ratings), est["coefficient_value"], EXACT)
    assert close(percent_agreement(ratings), est["pa"], EXACT)
    assert close(gwet_ac1(ratings), irr(ratings, "gwet")["coefficient_value"], EXACT)
    for weights in ("identity", "linear", "quadratic", "ordinal", "radical", "ratio", "circular", "bipolar"):
        assert close(gwet_ac2(ratings, weights), irr(ratings, "gwet", weights)["coefficient_value"], EXACT), weights
    data = coders_by_units(ratings)
    for level in ("nominal", "ordinal", "interval", "ratio"):
        expected = krippendorff.alpha(data, level_of_measurement=level)
        assert close(krippendorff_alpha(ratings, level), expected, EXACT), level
    assert close(krippendorff_alpha(ratings), irr(ratings, "krippendorff")["coefficient_value"], EXACT)


@pytest.mark.parametrize("seed", SEEDS)
def test_many_single_rated_items_every_coefficient_equals_irrcac(seed: int) -> None:
    # a third of the rated items have a single annotator: they move Fleiss' kappa and AC1/AC2, not alpha or p_a
    ratings = random_ratings(seed, items=60, annotators=4, categories=5, missing=0.55)
    assert single_rated(ratings) >= 15
    est = irr(ratings, "fleiss")
    assert close(fleiss_kappa(ratings), est["coefficient_value"], EXACT)
    assert close(percent_agreement(ratings), est["pa"], EXACT)
    restricted = CAC(wide(ratings, compared_only=True), digits=12)
    assert not close(fleiss_kappa(ratings), restricted.fleiss()["est"]["coefficient_value"])
    assert close(percent_agreement(ratings), restricted.fleiss()["est"]["pa"], EXACT)
    for weights in WEIGHT_NAMES:
        reference = irr(ratings, "gwet", weights)["coefficient_value"]
        assert close(gwet_ac2(ratings, weights), reference, EXACT), weights
    assert close(gwet_ac1(ratings), irr(ratings, "gwet")["coefficient_value"], EXACT)
    cats = [1, 2, 3, 4, 5, 6, 7]  # two categories nobody used
    assert close(gwet_ac1(ratings, categories=cats), irr(ratings, "gwet", categories=cats)["coefficient_value"], EXACT)
    assert close(gwet_ac2(ratings, "quadratic", categories=cats),
                 irr(ratings, "gwet", "quadratic", categories=cats)["coefficient_value"], EXACT)
    # named labels, in order
    names = {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}
    named = [(i, a, names[v]) for i, a, v in ratings]
    assert close(fleiss_kappa(named), fleiss_kappa(ratings), EXACT)
    assert close(gwet_ac2(named, "linear", categories=list(names.values())), gwet_ac2(ratings, "linear"), EXACT)
    # alpha: unpairable values left out (Krippendorff), as both references compute it
    assert close(krippendorff_alpha(ratings), irr(ratings, "krippendorff")["coefficient_value"], EXACT)
    data = coders_by_units(ratings)
    for level in ("nominal", "ordinal", "interval", "ratio"):
        expected = krippendorff.alpha(data, level_of_measurement=level)
        assert close(krippendorff_alpha(ratings, level), expected, EXACT), level
    # Cohen's kappa per pair: the items both rated (irrCAC's two-rater table and scikit-learn)
    for p in pairwise_agreement(ratings):
        two = [r for r in ratings if r[1] in (p["a"], p["b"])]
        by_item: dict = {}
        for item, annotator, label in two:
            by_item.setdefault(item, {})[annotator] = label
        common = [(v[p["a"]], v[p["b"]]) for v in by_item.values() if len(v) == 2]
        y1, y2 = [x for x, _ in common], [y for _, y in common]
        if len(set(y1) | set(y2)) < 2:
            continue
        assert close(cohens_kappa(two), cohen_kappa_score(y1, y2), EXACT)
        labels = sorted(set(y1) | set(y2))
        crosstab = pd.DataFrame([[sum(1 for x, y in common if (x, y) == (k, el)) for el in labels] for k in labels],
                                index=labels, columns=labels)
        assert close(cohens_kappa(two), TableCAC(crosstab, digits=12).cohen()["est"]["coefficient_value"], EXACT)


@pytest.mark.parametrize("seed", SEEDS)
def test_pairwise_cohen_equals_sklearn(seed: int) -> None:
    ratings = random_ratings(seed, items=120, categories=5, start=0)
    by_item: dict = {}
    for item, annotator, label in ratings:
        by_item.setdefault(item, {})[annotator] = label
    pairs = pairwise_agreement(ratings)
    assert [(p["a"], p["b"]) for p in pairs] == list(combinations([f"ann{a}" for a in range(5)], 2))
    for p in pairs:
        common = [(v[p["a"]], v[p["b"]]) for v in by_item.values() if p["a"] in v and p["b"] in v]
        y1, y2 = [x for x, _ in common], [y for _, y in common]
        assert p["items"] == len(common)
        assert close(p["percent_agreement"], sum(x == y for x, y in common) / len(common))
        assert close(p["cohens_kappa"], cohen_kappa_score(y1, y2))
        two = [r for r in ratings if r[1] in (p["a"], p["b"])]
        assert close(cohens_kappa(two), cohen_kappa_score(y1, y2))
        if set(y1) | set(y2) == set(range(5)):  # sklearn weighs by label index: the same when all are used
            for weights in ("linear", "quadratic"):
                assert close(cohens_kappa(two, weights=weights), cohen_kappa_score(y1, y2, weights=weights))


@pytest.mark.parametrize("seed", SEEDS)
def test_constant_raters_fleiss_equals_statsmodels(seed: int) -> None:
    ratings = random_ratings(seed, items=50, annotators=6, categories=3, missing=0.0)
    counts = Counter((item, label) for item, _, label in ratings)
    items = sorted({item for item, _, _ in ratings})
    table = np.array([[counts[(item, k)] for k in (1, 2, 3)] for item in items])
    assert close(fleiss_kappa(ratings), sm_fleiss_kappa(table, method="fleiss"))


def test_unused_categories_change_ac1_as_in_irrcac() -> None:
    ratings = random_ratings(7, categories=3)
    cats = [1, 2, 3, 4, 5]
    assert close(gwet_ac1(ratings, categories=cats), irr(ratings, "gwet", categories=cats)["coefficient_value"])
    assert close(gwet_ac2(ratings, "quadratic", categories=cats),
                 irr(ratings, "gwet", "quadratic", categories=cats)["coefficient_value"])
    assert not close(gwet_ac1(ratings, categories=cats), gwet_ac1(ratings))
    # Fleiss and Krippendorff do not depend on unused categories
    assert close(krippendorff_alpha(ratings, categories=cats), krippendorff_alpha(ratings))


def test_weighted_figures_need_the_order_of_named_labels() -> None:
    names = {1: "low", 2: "mid", 3: "high", 4: "top"}
    numeric = random_ratings(3)
    named = [(i, a, names[v]) for i, a, v in numeric]
    with pytest.raises(ValueError, match="categories"):
        gwet_ac2(named, "linear")
    assert close(gwet_ac2(named, "linear", categories=list(names.values())), gwet_ac2(numeric, "linear"))
    assert close(gwet_ac2(named, "identity"), gwet_ac1(numeric))
    with pytest.raises(ValueError, match="not in categories"):
        gwet_ac2(named, "linear", categories=["low", "mid"])
    with pytest.raises(ValueError, match="weights"):
        gwet_ac2(numeric, "cubic")


def test_custom_weight_matrix_and_distance() -> None:
    ratings = random_ratings(4, categories=3)
    identity = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert close(gwet_ac2(ratings, identity), gwet_ac1(ratings))
    assert close(krippendorff_alpha(ratings, lambda a, b: float(a != b)), krippendorff_alpha(ratings))
    assert close(krippendorff_alpha(ratings, lambda a, b: (a - b) ** 2), krippendorff_alpha(ratings, "interval"))
    with pytest.raises(ValueError):
        gwet_ac2(ratings, [[1, 0], [0, 1]])


# -- degenerate cases -----------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")  # the references' 0/0
def test_single_category_only() -> None:
    ratings = [(i, a, "POS") for i in range(5) for a in ("ann", "bob", "cat")]
    assert percent_agreement(ratings) == 1.0
    assert fleiss_kappa(ratings) is None
    assert krippendorff_alpha(ratings) is None
    assert gwet_ac1(ratings) == 1.0 and gwet_ac2(ratings, "quadratic") == 1.0
    two = [r for r in ratings if r[1] != "cat"]
    assert cohens_kappa(two) is None
    # what the references say: NaN (0/0) for kappa, an error for alpha, 1.0 for AC1
    with pytest.warns(RuntimeWarning):
        assert math.isnan(sm_fleiss_kappa(np.array([[3, 0]] * 5), method="fleiss"))
    assert math.isnan(cohen_kappa_score(["POS"] * 5, ["POS"] * 5))
    with pytest.raises(ValueError):
        krippendorff.alpha(np.ones((3, 5)), level_of_measurement="nominal")
    numeric = [(i, a, 1.0) for i, a, _ in ratings]
    assert CAC(wide(numeric), digits=12).gwet()["est"]["coefficient_value"] == 1.0
    report = document_agreement(ratings)
    assert report["items_unanimous"] == 5 and report["categories"] == {"POS": 15}
    assert any("single category" in n for n in report["notes"])
    assert json.loads(json.dumps(report))["fleiss_kappa"] is None
    # with the label set known, AC1 is still 1.0; the other answer never given
    assert gwet_ac1(ratings, categories=["POS", "NEG"]) == 1.0


@pytest.mark.parametrize("ratings", [
    [],
    [(i, "ann", i % 2) for i in range(6)],  # a single annotator
    [(i, "ann" if i % 2 else "bob", i % 3) for i in range(6)],  # two annotators who never overlap
    [(0, "ann", None), (0, "bob", None), (1, "ann", float("nan"))],  # only missing labels
], ids=["empty", "one-annotator", "no-overlap", "all-missing"])
def test_no_item_with_two_annotators(ratings) -> None:
    for f in (percent_agreement, fleiss_kappa, krippendorff_alpha, gwet_ac1, cohens_kappa):
        assert f(ratings) is None, f.__name__
    assert gwet_ac2(ratings, "linear") is None
    assert krippendorff_alpha(ratings, "interval") is None
    report = document_agreement(ratings)
    assert report["items_compared"] == 0 and report["pairs"] == []
    assert report["items_single_annotator"] == report["items"]
    for name in ("percent_agreement", "cohens_kappa", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1"):
        assert report[name] is None
    assert report["notes"]
    json.dumps(report)


def test_two_annotators_each_with_one_category() -> None:
    ratings = [(i, "a", "x") for i in range(4)] + [(i, "b", "y") for i in range(4)]
    assert cohens_kappa(ratings) == 0.0 == cohen_kappa_score(["x"] * 4, ["y"] * 4)
    assert percent_agreement(ratings) == 0.0
    assert close(fleiss_kappa(ratings), -1.0)


def test_cohen_needs_two_annotators() -> None:
    ratings = random_ratings(1, annotators=3)
    with pytest.raises(ValueError, match="two annotators"):
        cohens_kappa(ratings)
    assert cohens_kappa(ratings, ("ann0", "ann2")) is not None
    assert document_agreement(ratings)["cohens_kappa"] is None


def test_missing_labels_duplicates_and_single_items_are_counted() -> None:
    ratings = [
        (1, "a", "x"), (1, "b", "x"),
        (2, "a", "x"), (2, "b", "y"), (2, "b", "x"),  # b changed its answer: the last one counts
        (3, "a", "y"), (3, "b", None),  # b did not answer
        (4, "a", "y"), (4, "b", "y"),
    ]
    report = document_agreement(ratings)
    assert report["duplicates"] == 1 and report["ratings"] == 7
    assert report["items"] == 4 and report["items_compared"] == 3 and report["items_single_annotator"] == 1
    assert report["percent_agreement"] == 1.0 and report["items_unanimous"] == 3
    with pytest.raises(ValueError, match="rating is"):
        percent_agreement([(1, "a")])


# -- multi-label answers --------------------------------------------------------------------------------

def brute_alpha(ratings, distance) -> float:
    """Krippendorff's alpha from its pair definition (an independent implementation)."""
    by_item: dict = {}
    for item, _annotator, value in ratings:
        by_item.setdefault(item, []).append(value)
    units = [v for v in by_item.values() if len(v) >= 2]
    values = [x for v in units for x in v]
    n = len(values)
    d_o = sum(sum(distance(x, y) for i, x in enumerate(v) for j, y in enumerate(v) if i != j) / (len(v) - 1)
              for v in units) / n
    d_e = sum(distance(x, y) for i, x in enumerate(values) for j, y in enumerate(values) if i != j) / (n * (n - 1))
    return 1 - d_o / d_e


def test_multi_label_answers() -> None:
    rng = random.Random(11)
    labels = ["A", "B", "C", "D"]
    ratings = []
    for i in range(40):
        truth = {x for x in labels if rng.random() < 0.4}
        for a in ("ann", "bob", "cat"):
            if rng.random() < 0.2:
                continue
            answer = {x for x in labels if (x in truth) != (rng.random() < 0.15)}
            ratings.append((i, a, sorted(answer)))
    report = document_agreement(ratings)
    assert report["multi_label"] is True and report["labels"] == labels
    # per label: the binary question "does the answer include the label?"
    for label in labels:
        binary = [(i, a, label in ans) for i, a, ans in ratings]
        figures = report["per_label"][label]
        assert close(figures["fleiss_kappa"], fleiss_kappa(binary))
        assert close(figures["krippendorff_alpha"], krippendorff_alpha(binary))
        assert close(figures["gwet_ac1"], gwet_ac1(binary))
        assert close(figures["percent_agreement"], percent_agreement(binary))
        numeric = [(i, a, float(v)) for i, a, v in binary]
        assert close(figures["fleiss_kappa"], irr(numeric, "fleiss")["coefficient_value"])
    assert close(report["fleiss_kappa"], sum(report["per_label"][x]["fleiss_kappa"] for x in labels) / 4)
    sets = [(i, a, frozenset(ans)) for i, a, ans in ratings]
    assert close(report["exact"]["percent_agreement"], percent_agreement(sets))
    assert close(report["krippendorff_alpha_masi"], brute_alpha(sets, masi_distance))
    assert close(report["krippendorff_alpha_masi"], krippendorff_alpha(sets, "masi"))
    assert close(krippendorff_alpha(sets, "jaccard"), brute_alpha(sets, ag.jaccard_distance))
    assert report["exact"]["percent_agreement"] <= report["masi"] <= report["jaccard"] <= 1
    json.dumps(report)


def test_masi_and_jaccard_distances() -> None:
    assert masi_distance({"a"}, {"a"}) == 0.0 and masi_distance(set(), set()) == 0.0
    assert masi_distance({"a"}, {"b"}) == 1.0
    assert close(masi_distance({1, 2}, {1, 2, 3, 4}), 1 - 2 / 4 * 2 / 3)
    assert close(masi_distance({1, 2}, {2, 3}), 1 - 1 / 3 * 1 / 3)
    assert close(ag.jaccard_distance({1, 2}, {2, 3}), 2 / 3) and ag.jaccard_distance([], []) == 0.0


def test_multi_label_empty_answers_and_explicit_flag() -> None:
    ratings = [(1, "a", []), (1, "b", []), (2, "a", ["X"]), (2, "b", ["X", "Y"])]
    report = document_agreement(ratings)
    assert report["exact"]["percent_agreement"] == 0.5
    assert close(report["jaccard"], (1 + 0.5) / 2)
    assert report["per_label"]["X"]["percent_agreement"] == 1.0
    assert report["per_label"]["Y"]["percent_agreement"] == 0.5
    # single labels read as one-label sets with multi_label=True
    flagged = document_agreement([(1, "a", "X"), (1, "b", ("X", "Y"))], multi_label=True)
    assert flagged["labels"] == ["X", "Y"] and flagged["exact"]["percent_agreement"] == 0.0


# -- spans ----------------------------------------------------------------------------------------------

def test_span_strict_and_lenient_example() -> None:
    annotations = {
        ("doc", "ann"): [(0, 5, "PER"), (10, 15, "ORG"), (20, 25, "LOC")],
        ("doc", "bob"): [(0, 5, "PER"), (10, 14, "ORG"), (20, 25, "PER"), (30, 35, "LOC")],
    }
    report = span_agreement(annotations)
    (pair,) = report["pairs"]
    assert (pair["a"], pair["b"], pair["items"], pair["a_spans"], pair["b_spans"]) == ("ann", "bob", 1, 3, 4)
    assert pair["strict"] == {"tp": 1, "precision": 1 / 4, "recall": 1 / 3, "f": 2 / 7}
    assert pair["lenient"] == {"tp": 2, "precision": 2 / 4, "recall": 2 / 3, "f": 4 / 7}
    assert pair["by_label"]["PER"]["strict"] == {"tp": 1, "precision": 0.5, "recall": 1.0, "f": 2 / 3}
    assert pair["by_label"]["ORG"]["lenient"]["f"] == 1.0 and pair["by_label"]["ORG"]["strict"]["f"] == 0.0
    assert report["strict"]["f"] == 2 / 7 and report["lenient"]["by_label"]["LOC"]["f"] == 0.0
    strict, lenient = report["confusion"]["strict"], report["confusion"]["lenient"]
    assert strict["PER"]["PER"] == 1 and strict["LOC"]["PER"] == 1
    assert strict["ORG"][MISSING] == 1 and strict[MISSING]["ORG"] == 1 and strict[MISSING]["LOC"] == 1
    assert lenient["ORG"]["ORG"] == 1 and lenient["LOC"]["PER"] == 1 and lenient[MISSING]["LOC"] == 1
    assert lenient[MISSING]["ORG"] == 0 and lenient["ORG"][MISSING] == 0
    assert sum(strict[MISSING].values()) == 2 and sum(lenient[MISSING].values()) == 1
    # F is symmetric: swap the annotators
    swapped = span_agreement({("doc", "zed" if a == "ann" else a): s for (_, a), s in annotations.items()})
    assert swapped["pairs"][0]["strict"]["f"] == pair["strict"]["f"]
    assert swapped["pairs"][0]["lenient"]["precision"] == pair["lenient"]["recall"]
    json.dumps(report)


def test_lenient_matching_is_one_to_one_and_maximal() -> None:
    split = span_agreement({(1, "a"): [(0, 10, "X")], (1, "b"): [(0, 5, "X"), (5, 10, "X")]})
    assert split["pairs"][0]["lenient"]["tp"] == 1 and split["lenient"]["f"] == 2 / 3
    # a greedy largest-overlap-first matching would find 1 pair here; the maximum is 2
    tricky = span_agreement({(1, "a"): [(0, 10, "X"), (8, 12, "X")], (1, "b"): [(5, 11, "X"), (0, 4, "X")]})
    assert tricky["pairs"][0]["lenient"]["tp"] == 2 and tricky["lenient"]["f"] == 1.0
    # touching spans do not overlap; dict spans are read too
    touching = span_agreement({(1, "a"): [{"start": 0, "end": 5, "label": "X"}], (1, "b"): [(5, 9, "X")]})
    assert touching["lenient"]["tp"] == 0


def test_span_degenerate_cases() -> None:
    empty = span_agreement({})
    assert empty["pairs"] == [] and empty["strict"]["f"] is None and empty["items_compared"] == 0
    single = span_agreement({(1, "a"): [(0, 1, "X")], (2, "a"): []})
    assert single["items_single_annotator"] == 2 and single["pairs"] == [] and single["lenient"]["f"] is None
    none = span_agreement({(1, "a"): [], (1, "b"): [], (2, "b"): [(0, 3, "X")]})
    (pair,) = none["pairs"]
    assert pair["items"] == 1 and pair["strict"] == {"tp": 0, "precision": None, "recall": None, "f": None}
    assert none["items_single_annotator"] == 1
    one_sided = span_agreement({(1, "a"): [(0, 2, "X")], (1, "b"): []})
    assert one_sided["pairs"][0]["strict"] == {"tp": 0, "precision": None, "recall": 0.0, "f": 0.0}
    assert one_sided["confusion"]["lenient"]["X"][MISSING] == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_span_random_invariants(seed: int) -> None:
    rng = random.Random(seed)
    labels = ["PER", "ORG", "LOC"]
    annotations = {}
    for item in range(30):
        base = []
        for _ in range(rng.randrange(0, 6)):
            start = rng.randrange(0, 100)
            base.append((start, start + rng.randrange(1, 8), rng.choice(labels)))
        for annotator in ("a", "b", "c"):
            if rng.random() < 0.2:
                continue
            spans = []
            for s, e, lab in base:
                if rng.random() < 0.15:
                    continue
                if rng.random() < 0.2:
                    s, e = s + rng.choice([-1, 0, 1]), e + rng.choice([-1, 0, 1])
                if rng.random() < 0.1:
                    lab = rng.choice(labels)
                spans.append((s, max(e, s + 1), lab))
            annotations[(item, annotator)] = spans
    report = span_agreement(annotations)
    by_item: dict = {}
    for (item, annotator), spans in annotations.items():
        by_item.setdefault(item, {})[annotator] = spans
    for pair in report["pairs"]:
        a, b = pair["a"], pair["b"]
        common = [v for v in by_item.values() if a in v and b in v]
        tp = sum(sum((Counter(v[a]) & Counter(v[b])).values()) for v in common)
        assert pair["strict"]["tp"] == tp and pair["items"] == len(common)
        assert pair["lenient"]["tp"] >= tp
        for mode in ("strict", "lenient"):
            matrix = pair["confusion"][mode]
            for label in labels:
                assert sum(matrix[label].values()) == sum(s[2] == label for v in common for s in v[a])
                assert sum(row[label] for row in matrix.values()) == sum(s[2] == label for v in common for s in v[b])
            assert sum(matrix[x][x] for x in labels) == pair[mode]["tp"]
    tally = sum(p["strict"]["tp"] for p in report["pairs"])
    spans = sum(p["a_spans"] + p["b_spans"] for p in report["pairs"])
    assert report["strict"]["tp"] == tally and close(report["strict"]["f"], 2 * tally / spans)


# -- the Snow et al. (2008) RTE crowd data, as `tuiannot iaa --from` reads it -------------------------

def snow_ratings() -> list[tuple]:
    path = SNOW / "annotations.csv"
    if not path.exists():
        pytest.skip(f"shared data missing: {path} (../shared is not beside the repository)")
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["item"], row["annotator"], row["label"]) for row in csv.DictReader(f)]


def test_snow2008_rte_document_agreement_equals_references() -> None:
    ratings = snow_ratings()
    report = document_agreement(ratings)
    assert report["ratings"] == 8000 and report["items"] == 800 and report["items_compared"] == 800
    assert len(report["annotators"]) == 164 and report["items_single_annotator"] == 0
    numeric = [(i, a, 1.0 if label == "entailment" else 0.0) for i, a, label in ratings]
    est = irr(numeric, "fleiss")
    assert close(report["percent_agreement"], est["pa"])
    assert close(report["fleiss_kappa"], est["coefficient_value"])
    assert close(report["gwet_ac1"], irr(numeric, "gwet")["coefficient_value"])
    alpha = krippendorff.alpha(coders_by_units(numeric), level_of_measurement="nominal")
    assert close(report["krippendorff_alpha"], alpha)
    table = pd.crosstab(pd.Series([r[0] for r in ratings]), pd.Series([r[2] for r in ratings])).values
    assert close(report["fleiss_kappa"], sm_fleiss_kappa(table, method="fleiss"))  # 10 raters on every item
    assert round(report["percent_agreement"], 4) == 0.6287
    assert round(report["fleiss_kappa"], 4) == 0.2414
    assert round(report["krippendorff_alpha"], 4) == 0.2415
    assert round(report["gwet_ac1"], 4) == 0.2727
    assert report["cohens_kappa"] is None
    by_item: dict = {}
    for item, annotator, label in ratings:
        by_item.setdefault(item, {})[annotator] = label
    pairs = report["pairs"]
    assert sum(p["items"] for p in pairs) == 800 * 45
    for p in pairs[:: max(1, len(pairs) // 40)]:
        common = [(v[p["a"]], v[p["b"]]) for v in by_item.values() if p["a"] in v and p["b"] in v]
        expected = cohen_kappa_score(*zip(*common, strict=True)) if len(set(sum(common, ()))) > 1 else None
        if expected is None:
            assert p["cohens_kappa"] is None
        else:
            assert close(p["cohens_kappa"], expected)
    json.dumps(report)


def test_agreement_grows_linearly_with_the_ratings() -> None:
    """8,000 ratings (1,600 items, 8 annotators) cost about eight times 1,000 (200 items), not more: every
    coefficient is computed from per-item counts and the annotator pairs' tables. (The time itself is a bench's:
    bench/cost_curves.py, `iaa`; a bound in seconds here failed on a slow day.)"""
    large = random_ratings(0, items=1600, annotators=8, categories=4, missing=0.375)
    small = random_ratings(0, items=200, annotators=8, categories=4, missing=0.375)
    assert 7000 < len(large) < 9000 and 800 < len(small) < 1200
    report = document_agreement(large, weights="quadratic", level="ordinal")
    assert report["gwet_ac2"] is not None and report["krippendorff_alpha_ordinal"] is not None
    ratio = growth(lambda: document_agreement(small, weights="quadratic", level="ordinal"),
                   lambda: document_agreement(large, weights="quadratic", level="ordinal"))
    assert ratio < 20, ratio  # linear: ~8; quadratic in the items: ~64
