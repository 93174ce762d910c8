"""Questionnaires for ``tuiannot feedback``: QUESTIONS.toml read and checked, tasks checked against it, answers
made what is stored.

The file lists the questions asked about every task, in order, and optionally which task fields are drawn
above them::

    fields = ["prompt", "response"]   # optional; default: text, prompt, response, and each ranking's list

    [[question]]
    name = "quality"                  # the key of its answer in the stored ``answers``
    type = "rating"                   # rating | label | text | span | ranking
    scale = 5                         # rating: the values 1..scale (2 to 10), on the number keys
    required = true                   # `a` is refused until it is answered (default: false)
    title = "How good is the reply?"  # optional: shown instead of the name

Per type: ``label`` takes ``labels`` (1 to 9, on the number keys) and ``multiple`` (several may be chosen;
default false); ``text`` takes an optional ``field`` whose value prefills it; ``span`` takes ``labels`` (1 to
9), ``field`` (the text field its spans are over; default ``text``) and ``overlapping``; ``ranking`` takes
``field``, a list in each task (2 to 9 strings, or objects with ``text`` and an optional ``id``) to put in
order of preference. Anything else (an unknown type or key, a blank or repeated name, a scale out of range, a
missing list of labels) is one line naming the file and the question: ``questions.toml: question 2
("topic"): ...``.

A question's settings (:meth:`Question.settings`) are plain JSON: the screen is given them in ``config``, and
every answer keeps them in ``_questions`` so that what an answer holds can be read without the file. What is
stored for each question, in ``answers``: ``rating`` a whole number (None until rated), ``label`` a list of the
labels chosen (one at most unless ``multiple``), ``text`` a string, ``span`` a list of spans over its field
(Prodigy's ``start``, ``end``, ``label``, ``token_start``, ``token_end``), ``ranking`` the items from the most
preferred (their ``id``, else their index in the list, from 0). An answered question (:func:`is_answered`): a
rating given, a label chosen, text that is not blank, a span marked, every item ranked.

A task is known by its input (:func:`input_keys`: ``text``, ``prompt``, ``response`` and the fields the
questions name) and its question by the questionnaire: a restart with the same file skips what was answered,
a changed file asks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import UserError, read_toml
from ..sanitize import blank, one_line
from ..tasks import INPUT_KEYS

TYPES = ("rating", "label", "text", "span", "ranking")
COMMON_KEYS = ("name", "type", "required", "title")
TYPE_KEYS: dict[str, tuple[str, ...]] = {"rating": ("scale",), "label": ("labels", "multiple"), "text": ("field",),
                                         "span": ("labels", "field", "overlapping"), "ranking": ("field",)}
MAX_KEYED = 9
"""Labels of a question, items of a ranking: the number keys 1-9."""
MIN_SCALE, MAX_SCALE = 2, 10
"""A rating's scale: 2 to 10 (10 on the key 0)."""
TEXTS = ("text", "prompt", "response")
"""The fields a task shows by default (strings when present); one of them, or a field a question names, must be
there."""
DEFAULT_FIELDS = TEXTS


@dataclass(frozen=True)
class Question:
    name: str
    type: str
    required: bool = False
    title: str = ""
    scale: int = 0
    labels: tuple[str, ...] = ()
    multiple: bool = False
    field: str | None = None
    overlapping: bool = False

    def settings(self) -> dict[str, Any]:
        """The question as plain JSON: what the screen is given and every answer keeps (``_questions``)."""
        settings: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.required:
            settings["required"] = True
        if self.title:
            settings["title"] = self.title
        if self.type == "rating":
            settings["scale"] = self.scale
        if self.type in ("label", "span"):
            settings["labels"] = list(self.labels)
        if self.type == "label":
            settings["multiple"] = self.multiple
        if self.field is not None:
            settings["field"] = self.field
        if self.type == "span" and self.overlapping:
            settings["overlapping"] = True
        return settings


@dataclass(frozen=True)
class Questionnaire:
    questions: tuple[Question, ...]
    fields: tuple[str, ...] = DEFAULT_FIELDS
    source: str = "questions"
    text_questions: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text_questions", tuple(q.name for q in self.questions if q.type == "text"))

    def settings(self) -> list[dict[str, Any]]:
        return [q.settings() for q in self.questions]


# -- reading the file -------------------------------------------------------------------------------------------
def load_questions(path: str | Path) -> Questionnaire:
    """Read and check QUESTIONS.toml (one-line :class:`UserError` naming the file and the question)."""
    name = one_line(str(path), 200)
    data = read_toml(path, name)
    return parse_questions(data, name)


def parse_questions(data: dict[str, Any], name: str = "questions") -> Questionnaire:
    """The questionnaire in ``data`` (a parsed QUESTIONS.toml); ``name`` is the file, for errors."""
    unknown = sorted(set(data) - {"question", "fields"})
    if unknown:
        raise UserError(f"{name}: unknown key {one_line(unknown[0], 40)!r} (known: question, fields)")
    raw = data.get("question")
    if not raw:
        raise UserError(f"{name}: no questions: add at least one [[question]] with a name and a type")
    if not isinstance(raw, list) or not all(isinstance(q, dict) for q in raw):
        raise UserError(f"{name}: 'question' must be tables written [[question]]")
    questions: list[Question] = []
    for i, entry in enumerate(raw, 1):
        question = _question(entry, f"{name}: question {i}")
        if any(q.name == question.name for q in questions):
            raise UserError(f"{name}: question {i} ({_quoted(question.name)}): the name is already question "
                            f"{next(j for j, q in enumerate(questions, 1) if q.name == question.name)}'s; "
                            "each answer is stored under its question's name")
        questions.append(question)
    shown = data.get("fields")
    if shown is None:
        extra = [q.field for q in questions if q.type == "ranking" and q.field and q.field not in DEFAULT_FIELDS]
        fields = (*DEFAULT_FIELDS, *dict.fromkeys(f for f in extra if f))
    elif not isinstance(shown, list) or not shown or not all(isinstance(f, str) and not blank(f) for f in shown):
        raise UserError(f"{name}: 'fields' must be a list of task field names, e.g. fields = [\"prompt\", "
                        "\"response\"]")
    else:
        fields = tuple(dict.fromkeys(shown))
    return Questionnaire(tuple(questions), fields, name)


def _quoted(text: str) -> str:
    return '"' + one_line(text, 40) + '"'


def _question(entry: dict[str, Any], where: str) -> Question:
    qname = entry.get("name")
    if isinstance(qname, str) and not blank(qname):
        where = f"{where} ({_quoted(qname)})"

    def fail(reason: str) -> UserError:
        return UserError(f"{where}: {reason}")

    if not isinstance(qname, str) or blank(qname):
        raise fail("needs a name (name = \"...\"), the key its answer is stored under")
    if len(qname) > 60:
        raise fail("the name is longer than 60 characters")
    kind = entry.get("type")
    if kind not in TYPES:
        shown = f"unknown type {one_line(str(kind), 30)!r}" if kind is not None else "no type"
        raise fail(f"{shown} (types: {', '.join(TYPES)})")
    allowed = (*COMMON_KEYS, *TYPE_KEYS[kind])
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise fail(f"unknown key {one_line(unknown[0], 40)!r} for a {kind} question (known: {', '.join(allowed)})")
    required = _flag(entry, "required", fail)
    title = entry.get("title", "")
    if not isinstance(title, str):
        raise fail("title must be a string")
    if kind == "rating":
        scale = entry.get("scale")
        if not isinstance(scale, int) or isinstance(scale, bool) or not MIN_SCALE <= scale <= MAX_SCALE:
            raise fail(f"scale must be a whole number from {MIN_SCALE} to {MAX_SCALE} (the number keys; 0 is 10), "
                       f"not {one_line(repr(scale), 30) if 'scale' in entry else 'missing'}")
        return Question(qname, kind, required, title, scale=scale)
    if kind in ("label", "span"):
        labels = entry.get("labels")
        if not isinstance(labels, list) or not labels:
            raise fail("needs labels, e.g. labels = [\"billing\", \"technical\"]")
        if not all(isinstance(label, str) and not blank(label) for label in labels):
            raise fail("every label must be a string with something to see")
        if len(set(labels)) != len(labels):
            repeated = next(label for label in labels if labels.count(label) > 1)
            raise fail(f"the label {_quoted(repeated)} is given twice")
        if len(labels) > MAX_KEYED:
            raise fail(f"{len(labels)} labels; at most {MAX_KEYED} fit on the number keys 1-9")
        if kind == "label":
            return Question(qname, kind, required, title, labels=tuple(labels),
                            multiple=_flag(entry, "multiple", fail))
        return Question(qname, kind, required, title, labels=tuple(labels), field=_field(entry, fail, "text"),
                        overlapping=_flag(entry, "overlapping", fail))
    if kind == "ranking":
        if "field" not in entry:
            raise fail("needs field = \"...\": the task's list to put in order")
        return Question(qname, kind, required, title, field=_field(entry, fail, None))
    return Question(qname, kind, required, title, field=_field(entry, fail, None) if "field" in entry else None)


def _flag(entry: dict[str, Any], key: str, fail: Callable[[str], UserError]) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise fail(f"{key} must be true or false")
    return value


def _field(entry: dict[str, Any], fail: Callable[[str], UserError], default: str | None) -> str:
    value = entry.get("field", default)
    if not isinstance(value, str) or blank(value):
        raise fail("field must be the name of a task field, e.g. field = \"response\"")
    return value


# -- tasks --------------------------------------------------------------------------------------------------------
def input_keys(questionnaire: Questionnaire) -> tuple[str, ...]:
    """The keys a task's input hash is made of: Prodigy's input keys, ``prompt``, ``response``, then the fields
    the questions name. A task with only ``text`` hashes as in every other view."""
    named = [q.field for q in questionnaire.questions if q.field]
    return tuple(dict.fromkeys((*INPUT_KEYS, "prompt", "response", *(f for f in named if f))))


def task_problem(task: Any, questionnaire: Questionnaire) -> str | None:
    """Why ``task`` cannot be asked about (a source record), or None: something to show, the fields the
    questions need of the right kinds."""
    if not isinstance(task, dict):
        return "expected a JSON object"
    if "meta" in task and not isinstance(task["meta"], dict):
        return "'meta' must be an object"
    named = {q.field for q in questionnaire.questions if q.field}
    if not any(isinstance(task.get(k), (str, list)) and task.get(k) for k in (*TEXTS, *questionnaire.fields, *named)):
        return f"nothing to show: no {', '.join(repr(k) for k in dict.fromkeys((*TEXTS, *questionnaire.fields)))}"
    for key in TEXTS:
        if key in task and not isinstance(task[key], str):
            return f"{key!r} must be a string"
    for q in questionnaire.questions:
        if q.type == "text" and q.field and q.field in task and not isinstance(task[q.field], str):
            return f"{q.field!r} (which prefills {_quoted(q.name)}) must be a string"
        if q.type == "span":
            value = task.get(q.field)
            if not isinstance(value, str) or not value.strip():
                return f"no text in {q.field!r} for the span question {_quoted(q.name)}"
        if q.type == "ranking":
            problem = _ranking_problem(task.get(q.field), q)
            if problem:
                return problem
    return None


def _ranking_problem(items: Any, q: Question) -> str | None:
    where = f"{q.field!r} (ranked by {_quoted(q.name)})"
    if not isinstance(items, list):
        return f"{where} must be a list" if items is not None else f"no {q.field!r} list to rank for {_quoted(q.name)}"
    if not 2 <= len(items) <= MAX_KEYED:
        return f"{where} has {len(items)} items; a ranking takes 2 to {MAX_KEYED} (the number keys)"
    for i, item in enumerate(items):
        if not (isinstance(item, str) or isinstance(item, dict) and isinstance(item.get("text"), str)):
            return f"{where}: item {i} must be a string or an object with 'text'"
    ids = ranking_ids(items)
    if len(set(map(repr, ids))) != len(ids):
        return f"{where}: two items have the same id"
    return None


def ranking_ids(items: list[Any]) -> list[Any]:
    """What a ranking stores for each item: its ``id`` where every item has one, else its index in the list."""
    if all(isinstance(i, dict) and isinstance(i.get("id"), (str, int)) and not isinstance(i.get("id"), bool)
           for i in items):
        return [i["id"] for i in items]
    return list(range(len(items)))


# -- answers --------------------------------------------------------------------------------------------------------
def is_answered(question: Question, value: Any, task: dict[str, Any]) -> bool:
    """Whether ``value`` answers ``question`` about ``task``: a rating given, a label chosen, text not blank, a span
    marked, every item ranked (the screen has the same rule for the message it gives)."""
    if question.type == "rating":
        return isinstance(value, int) and not isinstance(value, bool)
    if question.type == "text":
        return isinstance(value, str) and not blank(value)
    if question.type == "ranking":
        items = task.get(question.field or "")
        return isinstance(value, list) and isinstance(items, list) and len(value) == len(items)
    return isinstance(value, list) and bool(value)


def unanswered(questionnaire: Questionnaire, task: dict[str, Any]) -> list[str]:
    """The names of the required questions the answer ``task`` leaves unanswered."""
    given = task.get("answers")
    answers: dict[str, Any] = given if isinstance(given, dict) else {}
    return [q.name for q in questionnaire.questions
            if q.required and not is_answered(q, answers.get(q.name), task)]


def given_answers(task: dict[str, Any], questionnaire: Questionnaire, note: Callable[[str], None]
                  ) -> dict[str, Any]:
    """The answers a source task brings (``answers``: a model's, an earlier round's) that fit the questions; the
    others are left out with a note. They start out filled in."""
    given = task.get("answers")
    if given is None:
        return {}
    if not isinstance(given, dict):
        note("'answers' is not an object: left out")
        return {}
    kept: dict[str, Any] = {}
    for q in questionnaire.questions:
        if q.name not in given:
            continue
        value = given[q.name]
        ok = (q.type == "rating" and isinstance(value, int) and not isinstance(value, bool) and
              1 <= value <= q.scale) or \
             (q.type == "label" and isinstance(value, list) and all(v in q.labels for v in value)
              and (q.multiple or len(value) <= 1)) or \
             (q.type == "text" and isinstance(value, str)) or \
             (q.type == "ranking" and isinstance(value, list)
              and set(map(repr, value)) <= set(map(repr, ranking_ids(task.get(q.field or "") or []))))
        if q.type == "span":  # (the recipe aligns them to the tokens, reporting those that do not fit)
            ok = isinstance(value, list) and all(isinstance(s, dict) and s.get("label") in q.labels
                                                 and isinstance(s.get("start"), int)
                                                 and isinstance(s.get("end"), int) for s in value)
        if ok:
            kept[q.name] = value
        else:
            note(f"answers[{_quoted(q.name)}] does not fit the {q.type} question: left out")
    return kept


def stored_answer(task: dict[str, Any], questionnaire: Questionnaire) -> dict[str, Any]:
    """An answer as stored: with exactly one text question, its text in Prodigy's ``user_input`` too."""
    answers = task.get("answers")
    if len(questionnaire.text_questions) == 1 and isinstance(answers, dict):
        text = answers.get(questionnaire.text_questions[0])
        if isinstance(text, str):
            task["user_input"] = text
    return task
