"""Humans where models disagree: which inputs the model annotators of a dataset agree on.

Model annotators are the sessions whose answers carry a model's provenance (``_llm`` or ``_model``, as
``tuiannot model-annotate`` stores them). Two answers agree when they say the same thing: the same answer
(accept, reject, ignore) and, for a choice, the same labels; for a yes/no question, the same label; for spans,
the same spans (start, end, label). An input is *settled* when at least ``min_agree`` model annotators gave
one version of it and no other version has as many (by default all of the dataset's model annotators: a
unanimous answer; two versions given by two of four models each settle nothing); every other input (models
split, or fewer of them answered it) goes to a person.

``--ask-humans disagree --from DATASET`` on ``textcat``, ``ner`` and ``spans`` adds :meth:`Consensus.step` to the
stream: settled inputs are not asked, and the summary says how many were left to the models. The people's
answers go to a dataset of their own (the models' answers there would count as done); ``tuiannot aggregate
PEOPLE --from DATASET`` then takes both (:mod:`.final`), with a ``Consensus(..., keep=True)``: the same rule, so
the inputs the stream left to the models are the ones whose final answer is theirs.
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


def model_provenance(answer: dict[str, Any]) -> dict[str, Any]:
    """Which model gave a model annotator's answer: the LLM (its model, server and prompt hash) or the spaCy
    pipeline (its folder, name and version), as the final dataset's provenance names it."""
    llm, model = answer.get("_llm"), answer.get("_model")
    if isinstance(llm, dict):
        return {key: llm[key] for key in ("model", "url", "prompt") if llm.get(key) is not None}
    if isinstance(model, dict):
        return {key: model[key] for key in ("pipeline", "name", "version") if model.get(key) is not None}
    return {}


class Consensus:
    """The settled inputs of a dataset's model annotators, and a stream step that leaves them out.

    With ``keep`` it also keeps what :mod:`.final` writes from: per settled input, the sessions that gave the
    agreed version, those that gave another and the id of the newest agreeing answer (:attr:`agreed`); the
    inputs the models answered without settling (:attr:`unsettled`); and each session's model
    (:attr:`models`). ``option`` names the command line's option in the errors."""

    def __init__(self, db: Database, dataset: str, min_agree: int | None = None, *,
                 option: str = "--ask-humans disagree", keep: bool = False) -> None:
        from .reports import annotator  # the name people know a session by

        latest: dict[int, dict[str, Hashable]] = defaultdict(dict)  # input hash -> model session -> version
        ids: dict[int, dict[str, int]] = defaultdict(dict)  # with keep: input hash -> model session -> answer id
        self.models: dict[str, dict[str, Any]] = {}  # with keep: session -> its model (its newest answer's)
        sessions: set[str] = set()
        for answer in db.answers(dataset):
            if not is_model_answer(answer):
                continue
            who = annotator(dataset, answer)
            sessions.add(who)
            key = answer["_input_hash"]
            latest[key][who] = version(answer)  # in stored order: the newest wins
            if keep:
                ids[key][who] = answer["_answer_id"]
                self.models[who] = model_provenance(answer)
        if len(sessions) < 2:
            raise UserError(f"{option}: dataset {dataset!r} has {len(sessions)} model annotator"
                            f"{'s' if len(sessions) != 1 else ''}; it needs two or more (tuiannot model-annotate)")
        self.sessions = sorted(sessions)
        self.min_agree = len(sessions) if min_agree is None else min_agree
        if not 2 <= self.min_agree <= len(sessions):
            raise UserError(f"--min-agree must be between 2 and the {len(sessions)} model annotators of "
                            f"{dataset!r}, not {min_agree}")
        self.settled: set[int] = set()
        self.agreed: dict[int, tuple[tuple[str, ...], tuple[str, ...], int]] = {}
        self.unsettled: set[int] = set()
        names: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per distinct group of sessions
        for key, versions in latest.items():
            top = Counter(versions.values()).most_common(2)
            (said, count) = top[0]
            if count >= self.min_agree and (len(top) == 1 or top[1][1] < count):
                self.settled.add(key)
                if keep:
                    agreeing = tuple(sorted(who for who, v in versions.items() if v == said))
                    others = tuple(sorted(who for who, v in versions.items() if v != said))
                    self.agreed[key] = (names.setdefault(agreeing, agreeing), names.setdefault(others, others),
                                        max(ids[key][who] for who in agreeing))
            elif keep:
                self.unsettled.add(key)
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
