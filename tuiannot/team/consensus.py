"""Humans where models disagree: which inputs the model annotators of a dataset agree on.

Model annotators are the sessions whose answers carry a model's provenance (``_llm`` or ``_model``, as
``tuiannot model-annotate`` stores them). Two answers agree when they say the same thing: the same answer
(accept, reject, ignore) and, for a choice, the same labels; for a yes/no question, the same label; for spans,
the same spans (start, end, label). An input is *settled* when at least ``min_agree`` model annotators gave
one version of it (by default all of the dataset's model annotators: a unanimous answer); every other input
(models split, or fewer of them answered it) goes to a person.

``--ask-humans disagree --from DATASET`` on ``textcat``, ``ner`` and ``spans`` adds :meth:`Consensus.step` to the
stream: settled inputs are not asked, and the summary says how many were left to the models. The people's
answers go to a dataset of their own (the models' answers there would count as done); ``tuiannot aggregate``
then takes both.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Hashable

from ..errors import UserError
from ..storage import Database
from ..tasks import Task


def is_model_answer(answer: dict[str, Any]) -> bool:
    return isinstance(answer.get("_llm"), dict) or isinstance(answer.get("_model"), dict)


def version(answer: dict[str, Any]) -> Hashable:
    """What an answer says, comparable across annotators (see the module's docstring)."""
    spans = answer.get("spans")
    return (answer.get("answer"), answer.get("label") if "options" not in answer else None,
            tuple(sorted(str(label) for label in answer.get("accept") or [])),
            tuple(sorted((s.get("start"), s.get("end"), s.get("label")) for s in spans if isinstance(s, dict)))
            if isinstance(spans, list) and answer.get("answer") == "accept" else ())


class Consensus:
    """The settled inputs of a dataset's model annotators, and a stream step that leaves them out."""

    def __init__(self, db: Database, dataset: str, min_agree: int | None = None) -> None:
        from .reports import annotator  # the name people know a session by

        latest: dict[int, dict[str, Hashable]] = defaultdict(dict)  # input hash -> model session -> version
        sessions: set[str] = set()
        for answer in db.answers(dataset):
            if not is_model_answer(answer):
                continue
            who = annotator(dataset, answer)
            sessions.add(who)
            latest[answer["_input_hash"]][who] = version(answer)  # in stored order: the newest wins
        if len(sessions) < 2:
            raise UserError(f"--ask-humans disagree: dataset {dataset!r} has {len(sessions)} model annotator"
                            f"{'s' if len(sessions) != 1 else ''}; it needs two or more (tuiannot model-annotate)")
        self.sessions = sorted(sessions)
        self.min_agree = len(sessions) if min_agree is None else min_agree
        if not 2 <= self.min_agree <= len(sessions):
            raise UserError(f"--min-agree must be between 2 and the {len(sessions)} model annotators of "
                            f"{dataset!r}, not {min_agree}")
        self.settled: set[int] = set()
        for key, versions in latest.items():
            (_, count), = Counter(versions.values()).most_common(1)
            if count >= self.min_agree:
                self.settled.add(key)
        self.inputs = len(latest)
        self.left_out = 0  # settled inputs the stream has passed over
        self.asked = 0

    def step(self, task: Task) -> Task | None:
        """A stream step: None (left out) for an input the models settled."""
        from ..tasks import input_hash

        key = task.get("_input_hash")
        if not isinstance(key, int):
            key = input_hash(task)
        if key in self.settled:
            self.left_out += 1
            return None
        self.asked += 1
        return task

    def note(self) -> str:
        return (f"{self.left_out:,} input{'s' if self.left_out != 1 else ''} the model annotators agree on "
                f"({', '.join(self.sessions)}; at least {self.min_agree} alike) were left to them; "
                f"{self.asked:,} went to people.")


def ask_humans(stream: Any, components: dict[str, Any], how: str | None = None, from_dataset: str | None = None,
               min_agree: int | None = None, db: str | None = None) -> None:
    """Wire ``--ask-humans disagree --from DATASET [--min-agree K]`` into a recipe's components (in place)."""
    if how is None:
        if from_dataset is not None or min_agree is not None:
            raise UserError("--from and --min-agree go with --ask-humans disagree")
        return
    if how != "disagree":
        raise UserError(f"--ask-humans must be 'disagree', not {how!r}")
    if not from_dataset:
        raise UserError("--ask-humans disagree needs --from DATASET: the dataset the model annotators answered "
                        "(tuiannot model-annotate)")
    if components.get("dataset") == from_dataset:
        raise UserError(f"--ask-humans: annotate into another dataset than {from_dataset!r} (--dataset NAME): "
                        "there, the models' answers would count as done")
    from ..storage import connect

    with connect(db) as database:
        consensus = Consensus(database, from_dataset, min_agree)
    stream.map(consensus.step)
    before = components.get("finished_note")

    def note() -> str:
        earlier = before() if callable(before) else before
        return " ".join(part for part in (earlier, consensus.note()) if part)

    components["finished_note"] = note
