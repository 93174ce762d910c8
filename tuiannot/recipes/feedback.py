"""``feedback``: several questions about each task, for feedback on model outputs.

Rate a reply, say what is wrong with it, correct it or write the reply the model should have given (data for
supervised fine-tuning), mark spans in it, rank several replies: any mix of the questions QUESTIONS.toml
lists (:mod:`.questions`), asked about every task of the source. A task is a JSON object with a ``prompt`` and
a ``response`` (or a ``text``, and whatever fields the questions name); a record without them, or without
what a question needs (the text a span question marks, the list a ranking orders), is skipped with a warning
naming file, line and reason. Answers a task brings in ``answers`` (a model's, an earlier round's) start out
filled in.

Each answer is stored as the task plus ``answers`` (question name -> answer), the questions themselves in
``_questions``, and, with exactly one text question, its text in Prodigy's ``user_input``; ``_view_id`` is
``feedback``. ``a`` is refused while a required question is unanswered (the screen says which; this recipe's
``validate_answer`` refuses it too, for scripts that answer through the controller). Span questions are
tokenised with ``spacy.blank(--lang)``; their tokens are kept per field in ``_tokens``.
``tuiannot db-out DATASET --format sft`` writes the corrected replies as chat data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..stream import Stream
from ..tasks import input_hash, is_hash, task_hash
from .options import DatasetOpt, ExcludeOpt, LoaderOpt, SourceArg, TokenizerLangOpt
from .questions import given_answers, input_keys, load_questions, stored_answer, task_problem, unanswered
from .registry import annotation_source, parse_labels, recipe

QuestionsOpt = Annotated[str, typer.Option(
    "--questions", help="TOML file of the questions asked about every task: [[question]] tables with name and "
                        "type (rating, label, text, span, ranking); see the README.", metavar="QUESTIONS.toml",
    show_default=False)]


@recipe("feedback", help="Feedback on model outputs: ratings, labels, free text, spans and rankings on each task.")
def feedback(
    source: SourceArg,
    questions: QuestionsOpt,
    dataset: DatasetOpt = None,
    loader: LoaderOpt = None,
    exclude: ExcludeOpt = None,
    lang: TokenizerLangOpt = "en",
) -> dict[str, Any]:
    questionnaire = load_questions(questions)
    tasks = annotation_source(source, loader)
    tasks.validate = lambda task: task_problem(task, questionnaire)
    stream = Stream(tasks)
    keys = input_keys(questionnaire)
    settings = questionnaire.settings()
    spans = [q for q in questionnaire.questions if q.type == "span"]
    nlp = None
    if spans:
        from ..nlp.load import blank

        nlp = blank(lang)

    def prepare(task: dict[str, Any]) -> dict[str, Any]:
        answers = given_answers(task, questionnaire, stream.note)
        if spans:
            from ..nlp.spans import align_spans, doc_tokens

            assert nlp is not None
            tokens = {q.field: doc_tokens(nlp.make_doc(task[q.field])) for q in spans if q.field}
            task["_tokens"] = tokens
            for q in spans:
                if q.name in answers and q.field:
                    answers[q.name] = align_spans(answers[q.name], tokens[q.field], overlapping=q.overlapping,
                                                  labels=list(q.labels), report=stream.note)
        if answers:
            task["answers"] = answers
        else:
            task.pop("answers", None)
        task["_questions"] = settings
        for key in ("_input_hash", "_task_hash"):
            if key in task and not is_hash(task[key]):
                stream.note(f"{key} {str(task[key])[:30]!r} is not a 64-bit hash: computed from the task instead")
                del task[key]
        if "_input_hash" not in task:
            task["_input_hash"] = input_hash(task, keys)
        if "_task_hash" not in task:  # the input and the questions: a changed questions file asks again
            task["_task_hash"] = task_hash(task, ("_questions",))
        return task

    def validate_answer(task: dict[str, Any]) -> None:
        if task.get("answer") == "accept":
            missing = unanswered(questionnaire, task)
            if missing:
                raise ValueError(f"not answered yet: {', '.join(missing)} (required)")

    return {
        "dataset": dataset or Path(source).stem,
        "stream": stream.map(prepare),
        "view_id": "feedback",
        "config": {"questions": settings, "fields": list(questionnaire.fields)},
        "exclude": parse_labels(exclude),
        "validate_answer": validate_answer,
        "before_db": lambda answered: [stored_answer(task, questionnaire) for task in answered],
    }
