"""Preference pairs for training (``{"prompt", "chosen", "rejected"}``, the JSONL TRL's DPO trainer reads), from
rankings (rank, and feedback ranking questions), blind comparisons and tournament duels alike.

Four kinds of stored answer say that one reply is better than another:

* **rank** (``tuiannot rank``, ``_view_id`` ``rank``): a task with a ``prompt`` and two or more ``responses``
  (strings, or objects with a ``text`` and perhaps an ``id``: the shape Argilla and Label Studio use), and the
  answer's ``ranking``, best first. Each element of the ranking is a response's id (its ``id``, else its index in
  the list, from 0) or a list of ids the annotator tied::

      {"prompt": "...", "responses": ["r0", "r1", "r2", "r3"], "answer": "accept", "ranking": [2, [0, 3]]}

  says response 2 is the best, 0 and 3 tie below it, and 1, which the ranking leaves out, is below them all
  (picking only the best with one key is ``"ranking": [2]``). Every pair the ranking orders is a preference pair
  (here 2>0, 2>3, 2>1, 0>1, 3>1); tied pairs are left out and counted (``tied``), and so are pairs of responses
  the ranking left out alike (``not ranked``, here none: 1 is alone).
* **compare** (``tuiannot compare``) and **tournament** duels: a task with ``outputs`` ``A`` and ``B`` whose
  answer names the better one (:func:`tuiannot.data.compare.compare_outcome`); the prompt is the task's
  ``prompt``, else its input ``text``. A tie (``tie``) and two bad outputs (``both bad``) give no pair.
* **feedback** (``tuiannot feedback``) answers to a ``ranking`` question: the question (in ``_questions``) orders
  a list field of the task, the replies to its ``prompt`` (else its ``text``), and its answer (in ``answers``) is
  the items from the best down, as a rank answer's ranking; a feedback answer with no ranking answered gives
  none (``no ranking given``).

The prompt is the input the replies answer, as the task has it (for a tournament: the input text, not the
prompt template a candidate wrapped it in). Skipped (``ignore``) and rejected answers give no pair (a rejected
ranking says the task itself is wrong; a rejected comparison is "both bad"); a pair whose two replies are the
same text is left out (``same text``). A ranking that names a response the task does not have, or one response
twice, is malformed: the whole answer is left out with its reason (:attr:`AnswerPairs.problem`, a warning for the
export). Every answer and pair left out is counted (:class:`PreferenceCounts`), never dropped silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from ..sanitize import one_line
from ..tasks import Task
from .compare import compare_outcome

RANK_VIEW = "rank"
KINDS = ("rank", "compare", "tournament", "feedback")
FEEDBACK_VIEW = "feedback"


@dataclass
class AnswerPairs:
    """What one stored answer gives: its kind (None: not a preference answer), its pairs, what was left out."""

    kind: str | None
    pairs: list[dict[str, str]] = field(default_factory=list)
    left_out_pairs: Counter[str] = field(default_factory=Counter)
    left_out: str | None = None
    """Why the whole answer gives no pair (``tie``, ``both bad``, ``skipped``, ``rejected``, ``malformed``, ...)."""
    problem: str | None = None
    """For a malformed answer: what is wrong with it (one line, for a warning)."""


def is_rank_answer(task: Task) -> bool:
    return task.get("_view_id") == RANK_VIEW or ("responses" in task and "ranking" in task)


def answer_pairs(task: Task) -> AnswerPairs:
    """The preference pairs of one stored answer (see the module's docstring)."""
    if is_rank_answer(task):
        return _rank_pairs(task)
    if "outputs" in task or "mapping" in task:
        return _compare_pairs(task)
    if task.get("_view_id") == FEEDBACK_VIEW and _ranking_questions(task):
        return _feedback_pairs(task)
    return AnswerPairs(None, left_out="not a preference answer")


def _skipped(task: Task, kind: str) -> AnswerPairs | None:
    said = task.get("answer")
    if said == "ignore":
        return AnswerPairs(kind, left_out="skipped")
    if said not in ("accept", "reject"):
        return AnswerPairs(kind, left_out="malformed", problem=f"'answer' is {one_line(str(said), 20)!r}")
    return None


def _compare_pairs(task: Task) -> AnswerPairs:
    kind = "tournament" if "_duel" in task else "compare"
    skipped = _skipped(task, kind)
    if skipped is not None:
        return skipped
    outcome = compare_outcome(task)
    if outcome is None:
        return AnswerPairs(kind, left_out="malformed", problem="says neither which output is better nor that "
                                                               "they tie (no choice and _sides, no winner)")
    if outcome in ("tie", "both-bad"):
        return AnswerPairs(kind, left_out="tie" if outcome == "tie" else "both bad")
    outputs = task.get("outputs") if isinstance(task.get("outputs"), dict) else None
    if outputs is None and "mapping" in task:  # a Prodigy compare answer: the outputs in its slots
        outputs = {system: task.get(slot) for system, slot in task["mapping"].items()}
    texts = {system: _text(outputs.get(system)) for system in ("A", "B")} if outputs else {}
    loser = "B" if outcome == "A" else "A"
    prompt = task.get("prompt") if isinstance(task.get("prompt"), str) else task.get("text")
    if not isinstance(prompt, str) or texts.get(outcome) is None or texts.get(loser) is None:
        return AnswerPairs(kind, left_out="malformed", problem="no input text or no output text for A and B")
    result = AnswerPairs(kind)
    _add(result, prompt, str(texts[outcome]), str(texts[loser]))
    return result


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return str(value["text"])
    return None


def _add(result: AnswerPairs, prompt: str, chosen: str, rejected: str) -> None:
    if chosen == rejected:
        result.left_out_pairs["same text"] += 1
    else:
        result.pairs.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})


def _rank_pairs(task: Task) -> AnswerPairs:
    skipped = _skipped(task, "rank")
    if skipped is not None:
        return skipped
    if task["answer"] == "reject":
        return AnswerPairs("rank", left_out="rejected")

    def malformed(problem: str) -> AnswerPairs:
        return AnswerPairs("rank", left_out="malformed", problem=problem)

    prompt, responses, ranking = task.get("prompt"), task.get("responses"), task.get("ranking")
    if not isinstance(prompt, str) or not prompt.strip():
        return malformed("no 'prompt'")
    if not isinstance(responses, list) or len(responses) < 2:
        return malformed("'responses' is not a list of two or more replies")
    if not isinstance(ranking, list) or not ranking:
        return malformed("no 'ranking' (the responses' ids, best first)")
    ids: list[Any] = []
    texts: list[str] = []
    for i, response in enumerate(responses):
        text = _text(response)
        if text is None:
            return malformed(f"response {i} has no text")
        ids.append(response["id"] if isinstance(response, dict) and "id" in response else i)
        texts.append(text)
    tiers: list[list[int]] = []
    placed: set[int] = set()
    for element in ranking:
        tier = []
        for rid in element if isinstance(element, list) else [element]:
            index = _index(ids, rid)
            if index is None:
                return malformed(f"the ranking names {one_line(repr(rid), 30)}, which is not among the responses' "
                                 "ids")
            if index in placed:
                return malformed(f"the ranking names {one_line(repr(rid), 30)} twice")
            placed.add(index)
            tier.append(index)
        if tier:
            tiers.append(tier)
    rest = [i for i in range(len(responses)) if i not in placed]
    result = AnswerPairs("rank")
    tied = sum(len(tier) * (len(tier) - 1) // 2 for tier in tiers)
    if tied:
        result.left_out_pairs["tied"] += tied
    if len(rest) > 1:
        result.left_out_pairs["not ranked"] += len(rest) * (len(rest) - 1) // 2
    ordered = tiers + ([rest] if rest else [])
    for i, better in enumerate(ordered):
        for worse in ordered[i + 1:]:
            for x in better:
                for y in worse:
                    _add(result, prompt, texts[x], texts[y])
    return result


def _ranking_questions(task: Task) -> list[tuple[str, str]]:
    """``(name, field)`` of each ranking question a feedback answer was given to (its ``_questions``)."""
    asked = task.get("_questions")
    return [(str(q["name"]), str(q["field"])) for q in asked if isinstance(q, dict) and q.get("type") == "ranking"
            and isinstance(q.get("name"), str) and isinstance(q.get("field"), str)] if isinstance(asked, list) else []


def _feedback_pairs(task: Task) -> AnswerPairs:
    """The pairs of a feedback answer's ranking questions: each orders the items of a list field of the task, the
    replies to its ``prompt`` (else its ``text``), stored by their ids where every item has one, else by index."""
    skipped = _skipped(task, "feedback")
    if skipped is not None:
        return skipped
    if task["answer"] == "reject":
        return AnswerPairs("feedback", left_out="rejected")
    answers = task.get("answers")
    given: dict[str, Any] = answers if isinstance(answers, dict) else {}
    prompt = task.get("prompt") if isinstance(task.get("prompt"), str) else task.get("text")
    result = AnswerPairs("feedback")
    answered = 0
    for name, field_name in _ranking_questions(task):
        order, items = given.get(name), task.get(field_name)
        if not isinstance(order, list) or not order:
            continue
        answered += 1
        if not isinstance(items, list):
            return AnswerPairs("feedback", left_out="malformed", problem=f"the ranking {one_line(name, 30)!r} orders "
                                                                         f"{one_line(field_name, 30)!r}, not a list")
        keyed = all(isinstance(i, dict) and isinstance(i.get("id"), (str, int)) and not isinstance(i.get("id"), bool)
                    for i in items)  # (as the feedback recipe stores a ranking: ids where every item has one)
        responses = items if keyed else [_text(i) if _text(i) is not None else i for i in items]
        one = _rank_pairs({"prompt": prompt, "responses": responses, "ranking": order, "answer": "accept"})
        if one.problem is not None:
            return AnswerPairs("feedback", left_out="malformed", problem=f"ranking {one_line(name, 30)!r}: "
                                                                         f"{one.problem}")
        result.pairs += one.pairs
        result.left_out_pairs.update(one.left_out_pairs)
    if not answered:
        result.left_out = "no ranking given"
    return result


def _index(ids: list[Any], rid: Any) -> int | None:
    for i, known in enumerate(ids):
        if known == rid and type(known) is type(rid):  # 1 and "1" are two ids, as True and 1 are
            return i
    return None


@dataclass
class PreferenceCounts:
    """What an export of preference pairs wrote and left out, by kind and by reason."""

    answers: int = 0
    pairs: Counter[str] = field(default_factory=Counter)
    """Pairs written, by kind of answer (``rank``, ``compare``, ``tournament``)."""
    left_out_answers: Counter[str] = field(default_factory=Counter)
    left_out_pairs: Counter[str] = field(default_factory=Counter)

    def add(self, result: AnswerPairs) -> None:
        self.answers += 1
        if result.kind is not None:
            self.pairs[result.kind] += len(result.pairs)
        if result.left_out is not None:
            self.left_out_answers[result.left_out] += 1
        self.left_out_pairs.update(result.left_out_pairs)

    def summary(self) -> str:
        """One line, e.g. ``12 pairs (8 from rank, 4 from compare); left out: 3 tied pairs; answers: 2 tie``."""
        total = sum(self.pairs.values())
        kinds = [f"{self.pairs[k]:,} from {k}" for k in KINDS if self.pairs[k]]
        line = f"{total:,} pair{'s' if total != 1 else ''}" + (f" ({', '.join(kinds)})" if kinds else "")
        pairs = [f"{n:,} {reason} pair{'s' if n != 1 else ''}" for reason, n in sorted(self.left_out_pairs.items())
                 if n]
        answers = [f"{n:,} {reason}" for reason, n in sorted(self.left_out_answers.items()) if n]
        if pairs:
            line += f"; left out: {', '.join(pairs)}"
        if answers:
            line += f"; answers giving no pair: {', '.join(answers)}"
        return line


def preference_pairs(answers: Iterable[Task], counts: PreferenceCounts | None = None,
                     on_problem: Callable[[int, Task, str], None] | None = None) -> Iterator[dict[str, str]]:
    """Every preference pair of ``answers``, in order; ``counts`` (if given) counts what was written and left
    out, ``on_problem(n, answer, problem)`` hears of each malformed answer (``n`` from 1, in ``answers``)."""
    for n, task in enumerate(answers, 1):
        result = answer_pairs(task)
        if counts is not None:
            counts.add(result)
        if result.problem is not None and on_problem is not None:
            on_problem(n, task, result.problem)
        yield from result.pairs
