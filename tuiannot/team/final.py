"""The final dataset of humans where models disagree: ``tuiannot aggregate PEOPLE --from MODELS --output FINAL``.

``--ask-humans disagree --from MODELS`` (:mod:`.consensus`) leaves the inputs the model annotators of MODELS
agree on to them and sends people the rest, into a dataset of their own (PEOPLE). :func:`aggregate_final`
writes one final answer per input of either dataset, deciding each input in this order:

1. **People first.** If people answered it, the final answer is theirs: one person's answer as it is; several
   people who gave the same version (as :func:`.consensus.version` compares answers), that version; several who
   differ, on a yes/no or single-choice question, the ``--method`` over all the people's ratings (majority vote
   or Dawid-Skene, as :func:`.reports.aggregate` does). Where they differ and nothing decides (spans, several
   labels per answer, a majority tie) the input is a *conflict*: never guessed, listed in the report and left
   to ``tuiannot review PEOPLE --output FINAL --only-conflicts`` (a review skips the inputs FINAL has).
   An ``ignore`` says nothing about an input, and gold questions are scored, not aggregated.
2. **Else the models**, when at least ``--min-agree`` of them gave one version and no other version as many
   (default: all of them): the :class:`.consensus.Consensus` the stream used, so an input the stream left to
   the models gets their answer. Only the model annotators' answers in MODELS count, as for the stream.
3. **Else it is still open**: the models disagree and nobody has answered it. Counted and listed.

Each final answer is the answer it comes from (text, tokens, options, meta) with what was decided, stored under
the session ``FINAL-models`` or ``FINAL-people`` with its provenance in ``_aggregate``: ``from`` (``models`` or
``people``), ``method``, the ``sessions`` it comes from, and for models those that said otherwise and each
agreeing session's model (LLM name, server and prompt hash, or the spaCy pipeline's name and version), for
people their ``votes`` (and Dawid-Skene's ``posterior``). The models' own ``_llm`` and ``_model`` are left out,
so the final answers are not taken for a model annotator's. They export as any answers do.

Inputs FINAL already has an answer for are kept as they are and counted: after more people answered, a second
run writes only what is new, and what a review wrote stays (drop FINAL to decide everything anew).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Hashable, Iterator

from ..errors import UserError
from ..metrics import dawid_skene, majority_vote
from ..storage import Database, UnknownDataset
from .consensus import Consensus, version
from .reports import _bulk, annotator, final_answer, label_of, question_kind

METHODS = ("majority", "dawid-skene")
PROVENANCE = ("_llm", "_model")  # the model annotators' own: in _aggregate instead


class _People:
    """Each person's last word on each input of the people's dataset (gold questions left out): the version it
    gives, the answer's id and the few fields that tell the question's kind and the person's vote."""

    def __init__(self, db: Database, dataset: str) -> None:
        self.latest: dict[int, dict[str, tuple[Hashable, int, dict[str, Any]]]] = defaultdict(dict)
        for answer in db.answers(dataset):  # an unknown dataset: UnknownDataset, naming the database
            if answer.get("_gold") is not None:
                continue
            light: dict[str, Any] = {k: answer[k] for k in ("answer", "_view_id", "accept") if k in answer}
            self.latest[answer["_input_hash"]][annotator(dataset, answer)] = (version(answer), answer["_answer_id"],
                                                                             light)
        self.kind = question_kind([light for said in self.latest.values() for _, _, light in said.values()]) \
            if self.latest else None

    def vote(self, light: dict[str, Any]) -> Any:
        """What one answer says, as JSON keeps it: the answer (spans), the rating (a list for several labels)."""
        if self.kind == "spans":
            return light.get("answer")
        rating = label_of(light, self.kind or "binary")
        return sorted(rating) if isinstance(rating, frozenset) else rating


def described(said: Any) -> dict[str, Any]:
    """A :func:`.consensus.version` as the report lists it (what a conflict's versions say)."""
    answer, label, accept, spans = said
    return {"answer": answer, **({"label": label} if label is not None else {}),
            **({"accept": list(accept)} if accept else {}), **({"spans": [list(s) for s in spans]} if spans else {})}


@_bulk
def aggregate_final(db: Database, people: str, models: str, output: str, method: str = "majority",
                    min_agree: int | None = None) -> dict[str, Any]:
    """Write ``output`` from the people's answers in ``people`` and the model annotators' in ``models``; the
    report (see the module's docstring) is what ``--json`` prints."""
    if method not in METHODS:
        raise UserError("--method must be majority or dawid-skene")
    if people == models:
        raise UserError(f"--from names the model annotators' dataset, and {people!r} is the people's: people answer "
                        "into a dataset of their own (--ask-humans disagree --from MODELS --dataset PEOPLE)")
    if output in (people, models):
        raise UserError(f"--output must be another dataset than {people!r} and {models!r}: the final answers go to "
                        "a dataset of their own")
    if not db.has_dataset(people):
        raise UnknownDataset(people, db.location)
    consensus = Consensus(db, models, min_agree, option="--from", keep=True)
    crowd = _People(db, people)
    kind = crowd.kind
    inputs = set(crowd.latest) | consensus.settled | consensus.unsettled
    done = db.answered([output], inputs, by="input")

    plan: dict[int, tuple[str, dict[str, Any], tuple[str, Any] | None]] = {}  # answer id -> session, provenance, said
    split: dict[int, dict[str, tuple[Hashable, int, dict[str, Any]]]] = {}  # input -> the people who differ
    answered: set[int] = set()  # the inputs people answered (an ignore says nothing)
    from_people = 0
    for key, said in crowd.latest.items():
        speaking = {who: s for who, s in said.items() if s[2].get("answer") != "ignore"}
        if not speaking:
            continue
        answered.add(key)
        if key in done:
            continue
        versions = {s[0] for s in speaking.values()}
        if len(versions) > 1:
            split[key] = speaking
            continue
        how = "one person" if len(speaking) == 1 else "unanimous"
        plan[max(s[1] for s in speaking.values())] = (f"{output}-people", {
            "from": "people", "method": how, "sessions": sorted(speaking),
            "votes": {who: crowd.vote(s[2]) for who, s in sorted(speaking.items())}}, None)
        from_people += 1

    conflicts: list[tuple[int, dict[str, tuple[Hashable, int, dict[str, Any]]]]] = []
    accuracy: dict[Any, float] = {}
    if split and kind in ("binary", "single"):  # a method decides where people differ
        assert kind is not None
        ratings = [(key, who, label_of(light, kind)) for key, said in crowd.latest.items()
                   for who, (_, _, light) in said.items()]
        ratings = [r for r in ratings if r[2] is not None]
        posteriors: dict[Any, dict[Any, float]] = {}
        if method == "majority":
            labels, ties = majority_vote([r for r in ratings if r[0] in split])
        else:
            labels, posteriors, accuracy, _ = dawid_skene(ratings)
            ties = {}
        for key, speaking in split.items():
            if key in ties or key not in labels:
                conflicts.append((key, speaking))
                continue
            label = labels[key]
            givers = [s[1] for s in speaking.values() if label_of(s[2], kind) == label] or \
                [s[1] for s in speaking.values()]
            plan[max(givers)] = (f"{output}-people", {
                "from": "people", "method": method, "sessions": sorted(speaking),
                "votes": {who: crowd.vote(s[2]) for who, s in sorted(speaking.items())},
                **({"posterior": {str(k): round(v, 6) for k, v in posteriors[key].items()}}
                   if key in posteriors else {})}, (kind, label))
            from_people += 1
    else:
        conflicts = list(split.items())

    from_models = 0
    shared: dict[tuple[tuple[str, ...], tuple[str, ...]], dict[str, Any]] = {}  # one provenance per group
    for key, (agreeing, others, answer_id) in consensus.agreed.items():
        if key in done or key in answered:
            continue
        provenance = shared.get((agreeing, others))
        if provenance is None:
            provenance = shared[(agreeing, others)] = {
                "from": "models", "method": "models agree", "min_agree": consensus.min_agree,
                "sessions": list(agreeing), "others": list(others),
                "models": {who: consensus.models.get(who, {}) for who in agreeing}}
        plan[answer_id] = (f"{output}-models", provenance, None)
        from_models += 1
    still_open = sorted(inputs - done - answered - consensus.settled)

    def tasks() -> Iterator[dict[str, Any]]:  # read a few hundred at a time between the import's transactions
        for given in db.answers_by_id(plan):
            session, provenance, said = plan[given["_answer_id"]]
            yield final_answer(given, session, provenance, said, drop=PROVENANCE)

    written = db.add_answers(output, tasks()) if plan else 0
    texts = {a["_input_hash"]: a.get("text") for a in db.answers_by_id(max(s[1] for s in speaking.values())
                                                                     for _, speaking in conflicts)}
    listed = []
    for key, speaking in sorted(conflicts, key=lambda conflict: conflict[0]):
        groups: dict[Hashable, list[str]] = defaultdict(list)
        for who, s in sorted(speaking.items()):
            groups[s[0]].append(who)
        listed.append({"input": str(key), "text": texts.get(key),
                       "versions": [{"sessions": whom, **described(said)}
                                    for said, whom in sorted(groups.items(), key=lambda g: (-len(g[1]), g[1]))]})
    return {"dataset": people, "from": models, "output": output, "method": method, "kind": kind,
            "model_annotators": consensus.sessions, "min_agree": consensus.min_agree,
            "inputs": len(inputs), "from_models": from_models, "from_people": from_people,
            "still_open": len(still_open), "conflicts": len(conflicts), "already_final": len(done),
            "written": written, "conflict_inputs": listed, "open_inputs": [str(key) for key in still_open],
            "annotator_accuracy": {k: round(v, 4) for k, v in sorted(accuracy.items())}}
