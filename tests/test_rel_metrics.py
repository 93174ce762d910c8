"""Agreement on relations (issue 20, :mod:`tuiannot.metrics.relations`): a case worked by hand, symmetry, the
degenerate cases, lenient matching one-to-one, and properties on random relations."""

from __future__ import annotations

from typing import Any, Hashable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuiannot.metrics.relations import NONE, relation_agreement
from tuiannot.metrics.spans import span_agreement

WF, LI = "WORKS_FOR", "LOCATED_IN"
# "Ann Lee works for Acme Corp in Berlin."
ANN, ACME, ACME_SHORT, BERLIN = (0, 7, "PERSON"), (18, 27, "ORG"), (18, 22, "ORG"), (31, 37, "LOC")
# "Bo Li joined Zeta." / "Cy Wu left Omni."
BO, ZETA = (0, 5, "PERSON"), (13, 17, "ORG")
CY, OMNI = (0, 5, "PERSON"), (11, 15, "ORG")

CASE: dict[tuple[str, str], list[Any]] = {
    ("t1", "alice"): [(ANN, ACME, WF), (ACME, BERLIN, LI)],
    ("t1", "bob"): [(ANN, ACME, WF), (ACME_SHORT, BERLIN, LI)],  # "Acme" for "Acme Corp": a lenient match only
    ("t2", "alice"): [(BO, ZETA, WF)],
    ("t2", "bob"): [(BO, ZETA, LI)],  # the same ends, another label
    ("t3", "alice"): [],  # annotated, no relation
    ("t3", "bob"): [(ANN, BERLIN, LI)],
    ("t4", "alice"): [(ANN, ACME, WF)],  # alice alone: not compared
    ("t5", "alice"): [(OMNI, CY, WF)],
    ("t5", "bob"): [(CY, OMNI, WF)],  # the other way round: another relation
}


def test_a_case_worked_by_hand() -> None:
    """Two annotators, A = alice (the reference: names sorted), B = bob, on t1, t2, t3, t5 (t4 is alice's alone).

    Relations compared: alice t1 WF, LI; t2 WF; t3 none; t5 WF -> |A| = 4 (WF 3, LI 1);
    bob t1 WF, LI; t2 LI; t3 LI; t5 WF -> |B| = 5 (WF 2, LI 3).

    Strict: only t1's Ann Lee -> Acme Corp WF is the same relation (bob's LI starts at "Acme", alice's at "Acme
    Corp"; t5's are reversed). tp = 1 (WF 1, LI 0):
      P = 1/5 = 0.2, R = 1/4 = 0.25, F = 2*1/(4+5) = 2/9;
      WF: P = 1/2, R = 1/3, F = 2/(3+2) = 0.4;   LI: P = 0/3 = 0, R = 0/1 = 0, F = 0/(1+3) = 0.
    Lenient: t1's LI matches too ("Acme" overlaps "Acme Corp", both ORG; Berlin the same). tp = 2 (WF 1, LI 1):
      P = 2/5 = 0.4, R = 2/4 = 0.5, F = 4/9;
      WF: as strict (P 1/2, R 1/3, F 0.4);   LI: P = 1/3, R = 1/1, F = 2/(1+3) = 0.5.
    One pair, so the means over the pairs are the pair's figures.

    Confusion, strict (rows alice, columns bob, labels sorted: LOCATED_IN, WORKS_FOR, (none)):
      t1 Ann->Acme Corp: WF/WF; Acme Corp->Berlin: LI/(none); Acme->Berlin: (none)/LI;
      t2 Bo->Zeta: WF/LI; t3 Ann->Berlin: (none)/LI; t5 Omni->Cy: WF/(none); Cy->Omni: (none)/WF.
      LI row: 0 0 1; WF row: 1 1 1; (none) row: 2 1 0. Row sums 1 and 3 (alice's 4), column sums 3 and 2 (bob's 5).
    Confusion, lenient: t1's LI pair matches (LI/LI); t2 WF/LI (ends overlap, labels differ); t3 (none)/LI;
      t5 WF/(none) and (none)/WF (a head PERSON against a head ORG: the ends do not match).
      LI row: 1 0 0; WF row: 1 1 1; (none) row: 1 1 0.
    """
    r = relation_agreement(CASE)
    assert (r["items"], r["items_compared"], r["items_single_annotator"]) == (5, 4, 1)
    assert r["annotators"] == ["alice", "bob"] and r["labels"] == [LI, WF]
    assert r["relations"] == 10 and r["pairs_compared"] == 1
    (pair,) = r["pairs"]
    assert (pair["a"], pair["b"], pair["items"], pair["a_relations"], pair["b_relations"]) == ("alice", "bob", 4, 4, 5)
    assert pair["strict"] == {"tp": 1, "precision": pytest.approx(0.2), "recall": pytest.approx(0.25),
                              "f": pytest.approx(2 / 9)}
    assert pair["lenient"] == {"tp": 2, "precision": pytest.approx(0.4), "recall": pytest.approx(0.5),
                               "f": pytest.approx(4 / 9)}
    assert pair["by_label"][WF] == {"a_relations": 3, "b_relations": 2,
                                    "strict": {"tp": 1, "precision": 0.5, "recall": pytest.approx(1 / 3), "f": 0.4},
                                    "lenient": {"tp": 1, "precision": 0.5, "recall": pytest.approx(1 / 3), "f": 0.4}}
    assert pair["by_label"][LI] == {"a_relations": 1, "b_relations": 3,
                                    "strict": {"tp": 0, "precision": 0.0, "recall": 0.0, "f": 0.0},
                                    "lenient": {"tp": 1, "precision": pytest.approx(1 / 3), "recall": 1.0, "f": 0.5}}
    for mode in ("strict", "lenient"):  # one pair: the means are its figures
        assert r[mode]["f"] == pytest.approx(pair[mode]["f"])
        assert r[mode]["precision"] == pytest.approx(pair[mode]["precision"])
        assert r[mode]["by_label"][LI]["f"] == pytest.approx(pair["by_label"][LI][mode]["f"])
    assert r["confusion"]["strict"] == {LI: {LI: 0, WF: 0, NONE: 1}, WF: {LI: 1, WF: 1, NONE: 1},
                                        NONE: {LI: 2, WF: 1, NONE: 0}}
    assert r["confusion"]["lenient"] == {LI: {LI: 1, WF: 0, NONE: 0}, WF: {LI: 1, WF: 1, NONE: 1},
                                         NONE: {LI: 1, WF: 1, NONE: 0}}
    assert pair["confusion"] == r["confusion"]


def test_three_annotators_are_averaged_over_their_pairs() -> None:
    """carol annotates t1 only: Ann Lee -> Acme Corp WF. Pairs on t1: alice (WF, LI) vs carol (WF): tp 1, P = 1/1,
    R = 1/2, F = 2/3 strict and lenient; bob vs carol the same. With alice-bob (strict F 2/9, lenient 4/9, P 1/5 and
    2/5, R 1/4 and 1/2):
      strict F = (2/9 + 2/3 + 2/3) / 3 = 14/27, P = (1/5 + 1 + 1) / 3 = 11/15, R = (1/4 + 1/2 + 1/2) / 3 = 5/12;
      lenient F = (4/9 + 2/3 + 2/3) / 3 = 16/27;
      WF strict F = (0.4 + 1 + 1) / 3 = 0.8; LI strict F = (0 + 0 + 0) / 3 = 0 (carol gave no LI: R 0, P none), LI
      strict P = 0 (alice-bob's; the others have none)."""
    r = relation_agreement({**CASE, ("t1", "carol"): [(ANN, ACME, WF)]})
    assert r["pairs_compared"] == 3 and r["items_compared"] == 4
    assert r["strict"]["f"] == pytest.approx(14 / 27)
    assert r["strict"]["precision"] == pytest.approx(11 / 15)
    assert r["strict"]["recall"] == pytest.approx(5 / 12)
    assert r["lenient"]["f"] == pytest.approx(16 / 27)
    assert r["strict"]["by_label"][WF]["f"] == pytest.approx(0.8)
    assert r["strict"]["by_label"][LI] == {"precision": 0.0, "recall": 0.0, "f": 0.0}
    carol = {(p["a"], p["b"]): p for p in r["pairs"]}
    assert carol[("alice", "carol")]["strict"]["f"] == pytest.approx(2 / 3)
    assert carol[("bob", "carol")]["by_label"][LI]["strict"] == {"tp": 0, "precision": None, "recall": 0.0, "f": 0.0}


def test_swapping_the_annotators_swaps_precision_and_recall_and_transposes_the_confusion() -> None:
    renamed = {(item, {"alice": "zed"}.get(who, who)): given for (item, who), given in CASE.items()}
    r, s = relation_agreement(CASE), relation_agreement(renamed)
    (p,), (q,) = r["pairs"], s["pairs"]
    assert (q["a"], q["b"]) == ("bob", "zed")
    for mode in ("strict", "lenient"):
        assert q[mode]["f"] == pytest.approx(p[mode]["f"])
        assert (q[mode]["precision"], q[mode]["recall"]) == (p[mode]["recall"], p[mode]["precision"])
        for label in (WF, LI):
            assert q["by_label"][label][mode]["f"] == pytest.approx(p["by_label"][label][mode]["f"])
        matrix, flipped = r["confusion"][mode], s["confusion"][mode]
        assert {row: {col: flipped[col][row] for col in flipped} for row in flipped} == matrix


def test_stored_relations_read_as_tuples_and_duplicates_count_once() -> None:
    """Prodigy's relation dicts (head_span/child_span with token indices besides) say what the tuples say."""

    def prodigy(head: tuple[int, int, str], child: tuple[int, int, str], label: str) -> dict[str, Any]:
        span = ("start", "end", "label")
        return {"head": 1, "child": 4, "label": label, "head_span": dict(zip(span, head, strict=True)),
                "child_span": {**dict(zip(span, child, strict=True)), "token_start": 3, "token_end": 4}}

    stored = {key: [prodigy(*relation) for relation in given] * 2 for key, given in CASE.items()}
    assert relation_agreement(stored) == relation_agreement(CASE)


def test_no_relations_at_all_and_one_annotator_only() -> None:
    empty = relation_agreement({("t1", "alice"): [], ("t1", "bob"): [], ("t2", "alice"): []})
    assert (empty["items_compared"], empty["pairs_compared"], empty["relations"], empty["labels"]) == (1, 1, 0, [])
    (pair,) = empty["pairs"]
    assert pair["strict"] == pair["lenient"] == {"tp": 0, "precision": None, "recall": None, "f": None}
    assert pair["by_label"] == {}
    assert empty["strict"] == empty["lenient"] == {"precision": None, "recall": None, "f": None, "by_label": {}}
    assert empty["confusion"] == {"strict": {NONE: {NONE: 0}}, "lenient": {NONE: {NONE: 0}}}

    alone = relation_agreement({("t1", "alice"): [(ANN, ACME, WF)], ("t2", "alice"): [(BO, ZETA, LI)]})
    assert (alone["items"], alone["items_compared"], alone["items_single_annotator"]) == (2, 0, 2)
    assert alone["pairs"] == [] and alone["pairs_compared"] == 0 and alone["relations"] == 2
    assert alone["strict"]["f"] is None and alone["lenient"]["by_label"][WF] == {"precision": None, "recall": None,
                                                                                   "f": None}
    assert alone["confusion"]["strict"][WF] == {LI: 0, WF: 0, NONE: 0}
    assert relation_agreement({})["annotators"] == []

    # one annotator marks relations, the other none: precision undefined, recall and F 0
    one_sided = relation_agreement({("t1", "alice"): [(ANN, ACME, WF)], ("t1", "bob"): []})
    assert one_sided["pairs"][0]["strict"] == {"tp": 0, "precision": None, "recall": 0.0, "f": 0.0}
    assert one_sided["confusion"]["lenient"][WF][NONE] == 1


def test_lenient_matching_is_one_to_one_and_needs_the_same_entity_labels() -> None:
    """alice: Ann Lee Smith -> Acme WF. bob splits the head: "Ann" -> Acme WF and "Lee Smith" -> Acme WF. Both
    overlap alice's head, but one relation of alice's counts once: tp 1, P = 1/2, R = 1/1, F = 2/3. A head of
    another entity label never matches."""
    head, acme = (0, 13, "PERSON"), (20, 24, "ORG")
    r = relation_agreement({("t", "alice"): [(head, acme, WF)],
                            ("t", "bob"): [((0, 3, "PERSON"), acme, WF), ((4, 13, "PERSON"), acme, WF)]})
    assert r["pairs"][0]["lenient"] == {"tp": 1, "precision": 0.5, "recall": 1.0, "f": pytest.approx(2 / 3)}
    assert r["pairs"][0]["strict"]["tp"] == 0
    other = relation_agreement({("t", "alice"): [(head, acme, WF)], ("t", "bob"): [((0, 13, "ORG"), acme, WF)]})
    assert other["pairs"][0]["lenient"]["tp"] == 0
    assert other["confusion"]["lenient"] == {WF: {WF: 0, NONE: 1}, NONE: {WF: 1, NONE: 0}}


SPANS = st.sampled_from([(0, 3, "A"), (0, 5, "A"), (2, 6, "A"), (4, 8, "B"), (6, 9, "B"), (10, 12, "A")])
RELATIONS = st.lists(st.tuples(SPANS, SPANS, st.sampled_from(["R", "S"])), max_size=5)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.tuples(st.sampled_from(["t1", "t2"]), st.sampled_from(["x", "y", "z"])), RELATIONS))
def test_properties(annotations: dict[tuple[str, str], list[Any]]) -> None:
    """Lenient tp is never below strict tp; swapping a pair swaps precision and recall and keeps F; the confusion's
    sums are each side's relations and its diagonal the matches; strict tp is what span_agreement's strict matching
    gives the same relations taken as labels."""
    r = relation_agreement(annotations)
    for pair in r["pairs"]:
        assert pair["lenient"]["tp"] >= pair["strict"]["tp"]
        for mode in ("strict", "lenient"):
            matrix = pair["confusion"][mode]
            assert sum(sum(row.values()) for label, row in matrix.items() if label != NONE) == pair["a_relations"]
            assert sum(row[col] for row in matrix.values() for col in row if col != NONE) == pair["b_relations"]
            assert sum(matrix[label][label] for label in r["labels"]) == pair[mode]["tp"]
        flipped = {(item, "~" + who if who == pair["a"] else who): given  # "~x" sorts after "y": b is first
                   for (item, who), given in annotations.items() if who in (pair["a"], pair["b"])}
        swapped = relation_agreement(flipped)["pairs"][0]
        for mode in ("strict", "lenient"):
            assert swapped[mode]["f"] == pair[mode]["f"]
            assert (swapped[mode]["precision"], swapped[mode]["recall"]) == (pair[mode]["recall"],
                                                                             pair[mode]["precision"])
        # strict relation matching is exact matching of (head, child, label) as one "span" of span_agreement
        as_spans: dict[tuple[Hashable, Hashable], list[Any]] = {
            key: [(0, 1, relation) for relation in set(map(tuple, given))] for key, given in annotations.items()
            if key[1] in (pair["a"], pair["b"])}
        assert span_agreement(as_spans)["pairs"][0]["strict"]["tp"] == pair["strict"]["tp"]
