"""`tuiannot model-annotate`: a model answers every task as an annotator (issue 16), against a real HTTP server on
127.0.0.1 (tests/llm_server.py) or a spaCy pipeline made here; then iaa and progress compare it with people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


from .helpers import assert_one_line_error, run, seed, stored, write_jsonl
from .llm_server import LLMServer, dead_url

pytestmark = pytest.mark.usefixtures("cli_env", "quick_llm_retries")

REVIEWS = {"great phone": {"labels": ["POS"]}, "awful screen": {"labels": ["NEG"]},
           "it is a phone": {"labels": ["NEU"]}, "battery died": {"labels": ["NEG"]}}


def reviews(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "reviews.jsonl", [{"text": t} for t in REVIEWS])


def test_an_llm_answers_every_task_as_its_own_session_and_a_rerun_asks_nothing(
        tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = reviews(tmp_path)
    # a person answered two of them already: the model still answers every task
    seed(db_path, "ds", [{"text": "great phone", "answer": "accept", "accept": ["POS"], "_session_id": "ds-alice",
                          "_view_id": "choice", "options": [{"id": "POS"}, {"id": "NEG"}, {"id": "NEU"}]}])
    with LLMServer(REVIEWS) as server:
        code, out, err = run(capsys, "model-annotate", "ds", source, "--task", "textcat", "--label", "POS,NEG,NEU",
                             "--exclusive", "--llm", server.url, "--db", db_path)
        assert code == 0, err
        assert "Stored 4 answers by llm-test-model in dataset 'ds' (accept 4)" in out
        asked = len(server.requests)
        assert asked == 4
        model = [a for a in stored(db_path, "ds") if a["_session_id"] == "ds-llm-test-model"]
        assert {a["text"]: a["accept"] for a in model} == {t: r["labels"] for t, r in REVIEWS.items()}
        assert all(a["_llm"]["model"] == "test-model" and a["_llm"]["prompt"] for a in model)
        assert {a["_view_id"] for a in model} == {"choice"}
        # resumable: a second run answers nothing again and stores nothing twice
        code, out, _ = run(capsys, "model-annotate", "ds", source, "--task", "textcat", "--label", "POS,NEG,NEU",
                           "--exclusive", "--llm", server.url, "--db", db_path, "--json")
        assert code == 0
        report = json.loads(out)
        assert report["answered"] == 0 and report["already_answered"] == 4 and report["session"] == "llm-test-model"
        assert len([a for a in stored(db_path, "ds") if a["_session_id"] == "ds-llm-test-model"]) == 4
    # people and the model are compared as any annotators
    code, out, _ = run(capsys, "progress", "ds", "--db", db_path, "--json")
    assert code == 0 and {row["annotator"] for row in json.loads(out)["annotators"]} >= {"alice", "llm-test-model"}


def test_a_yes_no_question_and_spans(tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = reviews(tmp_path)
    with LLMServer(REVIEWS) as server:
        code, _, err = run(capsys, "model-annotate", "neg", source, "--task", "textcat", "--label", "NEG",
                           "--llm", server.url, "--session", "qwen", "--db", db_path)
        assert code == 0, err
    answers = {a["text"]: a["answer"] for a in stored(db_path, "neg")}
    assert answers == {"great phone": "reject", "awful screen": "accept", "it is a phone": "reject",
                       "battery died": "accept"}
    assert {a["_session_id"] for a in stored(db_path, "neg")} == {"neg-qwen"}
    text = "Ann Lee joined Acme Corp today."
    spans_source = write_jsonl(tmp_path / "ents.jsonl", [{"text": text}])
    reply = {"spans": [{"text": "Ann Lee", "label": "PERSON"}, {"text": "Acme Corp", "label": "ORG"},
                       {"text": "Nobody", "label": "PERSON"}]}
    with LLMServer({text: reply}) as server:
        code, out, err = run(capsys, "model-annotate", "ents", spans_source, "--task", "ner", "--label",
                             "PERSON,ORG", "--llm", server.url, "--db", db_path)
        assert code == 0, err
    answer, = stored(db_path, "ents")
    assert [(s["start"], s["end"], s["label"]) for s in answer["spans"]] == [(0, 7, "PERSON"), (15, 24, "ORG")]
    assert not any("suggested" in s for s in answer["spans"]) and answer["_view_id"] == "ner_manual"
    assert answer["_llm"]["problems"] == {"mention not found": 1}


def test_tasks_without_a_usable_reply_stay_unanswered_for_the_next_run(tmp_path: Path, db_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    source = reviews(tmp_path)
    with LLMServer(REVIEWS, mode="malformed") as server:
        code, out, err = run(capsys, "model-annotate", "ds", source, "--task", "textcat", "--label", "POS,NEG",
                             "--llm", server.url, "--db", db_path)
    assert code == 0 and "Stored 0 answers" in out
    assert "4 tasks got no usable answer from the model" in err
    with LLMServer(REVIEWS) as server:
        code, out, _ = run(capsys, "model-annotate", "ds", source, "--task", "textcat", "--label", "POS,NEG",
                           "--llm", server.url, "--db", db_path)
    # "it is a phone" gets NEU, not among POS, NEG: nothing in that reply can be used, so it stays open too
    assert code == 0 and "Stored 3 answers" in out and "unknown label" in out


def test_a_spacy_pipeline_answers_too(tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", name="ner")  # rules that set entities, under the name a recogniser has
    ruler.add_patterns([{"label": "ORG", "pattern": "Acme Corp"}])  # type: ignore[attr-defined]
    nlp.meta["name"] = "rules"
    nlp.to_disk(tmp_path / "pipeline")
    source = write_jsonl(tmp_path / "ents.jsonl", [{"text": "Ann Lee joined Acme Corp today."},
                                                   {"text": "Nothing here."}])
    code, out, err = run(capsys, "model-annotate", "ents", source, "--task", "ner", "--label", "ORG",
                         "--model", tmp_path / "pipeline", "--db", db_path)
    assert code == 0, err
    answers = {a["text"]: a for a in stored(db_path, "ents")}
    assert [(s["start"], s["end"]) for s in answers["Ann Lee joined Acme Corp today."]["spans"]] == [(15, 24)]
    assert answers["Nothing here."]["spans"] == [] and answers["Nothing here."]["answer"] == "accept"
    assert {a["_session_id"] for a in answers.values()} == {"ents-model-pipeline"}
    assert answers["Nothing here."]["_model"]["name"] == "rules"


@pytest.mark.parametrize("args, said", [
    (["--llm", "URL", "--model", "x"], "one of the two"),
    ([], "one of the two"),
    (["--llm", "DEAD"], "LLM server"),
    (["--task", "parse"], "--task must be one of textcat, ner, spans"),
])
def test_usage_errors_are_one_line(tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str],
                                   args: list[Any], said: str) -> None:
    args = [dead_url() if a == "DEAD" else "http://127.0.0.1:9/v1" if a == "URL" else a for a in args]
    task = [] if "--task" in args else ["--task", "textcat"]
    code, out, err = run(capsys, "model-annotate", "ds", reviews(tmp_path), "--label", "POS,NEG", *task, *args,
                         "--db", db_path)
    assert code == 1 and out == ""
    assert_one_line_error(err, said)


# -- humans where models disagree ---------------------------------------------------------------------------------
def test_people_are_asked_only_where_the_model_annotators_disagree(tmp_path: Path, db_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from tuiannot.controller import answer_all

    from .helpers import recipe_controller

    source = reviews(tmp_path)
    other = {**REVIEWS, "it is a phone": {"labels": ["POS"]}, "battery died": {"labels": []}}
    for name, replies in (("small", REVIEWS), ("large", other)):
        with LLMServer(replies, models=(name,)) as server:
            code, _, err = run(capsys, "model-annotate", "models", source, "--task", "textcat", "--label",
                               "POS,NEG,NEU", "--llm", server.url, "--db", db_path)
            assert code == 0, err
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG,NEU", dataset="people",
                                   ask_humans="disagree", from_dataset="models", db=str(db_path))
    try:
        asked: list[str] = []
        answer_all(controller, lambda task: asked.append(task["text"]) or ("accept", ["NEU"]))
        summary = controller.close()
    finally:
        controller.db.close()
    assert asked == ["it is a phone", "battery died"]  # the two the models answered alike are left to them
    assert summary.note is not None and "2 inputs the model annotators agree on (llm-large, llm-small; at least 2 " \
        "alike) were left to them; 2 went to people." in summary.note
    assert len(stored(db_path, "people")) == 2


def test_min_agree_and_the_refusals(tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tuiannot.errors import UserError

    from .helpers import ignore_all, recipe_controller

    def model_vote(text: str, who: str, labels: list[str]) -> dict[str, Any]:
        return {"text": text, "answer": "accept", "accept": labels, "_session_id": f"models-{who}",
                "_view_id": "choice", "_llm": {"model": who}}

    texts = ["one", "two", "three"]
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts])
    votes = {"one": ["X", "X", "Y"], "two": ["X", "Y", "Z"], "three": ["Y", "Y", "Y"]}
    seed(db_path, "models", [*(model_vote(text, who, [label]) for text, labels in votes.items()
                               for who, label in zip("abc", labels, strict=True)),
                             # a person's answer in the models' dataset is not a model's: it changes nothing
                             {"text": "one", "answer": "accept", "accept": ["Z"], "_session_id": "models-alice",
                              "_view_id": "choice"}])

    def asked(**options: Any) -> list[str]:
        controller = recipe_controller("textcat", db_path, str(source), label="X,Y,Z", dataset="people",
                                       ask_humans="disagree", from_dataset="models", db=str(db_path), **options)
        try:
            return ignore_all(controller)
        finally:
            with tuiannot_connect(db_path) as db:
                db.drop_dataset("people")

    assert asked() == ["one", "two"]  # unanimous by default
    assert asked(min_agree=2) == ["two"]  # two of three alike settle "one"
    with pytest.raises(UserError, match="between 2 and the 3 model annotators"):
        asked(min_agree=4)
    code, _, err = run(capsys, "textcat", source, "--label", "X,Y", "--ask-humans", "disagree", "--from", "models",
                       "--dataset", "models", "--db", db_path)
    assert code == 1 and "annotate into another dataset than 'models'" in err
    code, _, err = run(capsys, "textcat", source, "--label", "X,Y", "--from", "models", "--db", db_path)
    assert code == 1 and "--from and --min-agree go with --ask-humans disagree" in err
    seed(db_path, "solo", [model_vote("one", "a", ["X"])])
    code, _, err = run(capsys, "textcat", source, "--label", "X,Y", "--ask-humans", "disagree", "--from", "solo",
                       "--db", db_path)
    assert code == 1 and "has 1 model annotator; it needs two or more" in err


def test_span_answers_agree_when_their_spans_do(tmp_path: Path, db_path: Path) -> None:
    from .helpers import recipe_controller

    def spans_vote(text: str, who: str, spans: list[tuple[int, int, str]]) -> dict[str, Any]:
        return {"text": text, "answer": "accept", "_session_id": f"models-{who}", "_view_id": "ner_manual",
                "spans": [{"start": s, "end": e, "label": label} for s, e, label in spans], "_model": {"name": who}}

    a, b = "Ann Lee joined Acme Corp today.", "Bob left."
    seed(db_path, "models", [spans_vote(a, "x", [(0, 7, "PERSON"), (15, 24, "ORG")]),
                             spans_vote(a, "y", [(15, 24, "ORG"), (0, 7, "PERSON")]),
                             spans_vote(b, "x", [(0, 3, "PERSON")]), spans_vote(b, "y", [])])
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": a}, {"text": b}])
    controller = recipe_controller("ner", db_path, str(source), label="PERSON,ORG", dataset="people",
                                   ask_humans="disagree", from_dataset="models", db=str(db_path))
    try:
        task = controller.next_task(timeout=10)
        assert task is not None and task["text"] == b
    finally:
        controller.close()
        controller.db.close()


def tuiannot_connect(path: Path) -> Any:
    import tuiannot

    return tuiannot.connect(path)


def test_replies_are_kept_in_the_database_so_the_same_run_never_asks_twice(
        tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = reviews(tmp_path)

    def annotate(session: str, *more: str) -> dict[str, Any]:
        code, out, err = run(capsys, "model-annotate", "ds", source, "--task", "textcat", "--label", "POS,NEG,NEU",
                             "--llm", server.url, "--session", session, "--db", db_path, "--json", *more)
        assert code == 0, err
        return json.loads(out)

    with LLMServer(REVIEWS) as server:
        assert annotate("first")["answered"] == 4 and len(server.requests) == 4
        second = annotate("second")  # the same model, prompt and inputs: every reply from the database
        assert second["answered"] == 4 and len(server.requests) == 4 and "4 of the replies from the cache" in \
            second["note"]
        assert all(a["_llm"].get("cached") for a in stored(db_path, "ds") if a["_session_id"] == "ds-second")
        assert annotate("third", "--no-cache")["answered"] == 4 and len(server.requests) == 8  # asked anew
        code, out, _ = run(capsys, "llm-cache", "ds", "--stats", "--db", db_path, "--json")
        assert code == 0 and json.loads(out)["replies"] == 4 and json.loads(out)["by_model"] == {"test-model": 4}
        code, out, _ = run(capsys, "llm-cache", "ds", "--stats", "--db", db_path)
        assert code == 0 and "4 cached replies" in out and "test-model" in out
        code, out, _ = run(capsys, "llm-cache", "ds", "--clear", "--db", db_path)
        assert code == 0 and "Forgot 4 cached replies of dataset 'ds'" in out
        assert annotate("fourth")["answered"] == 4 and len(server.requests) == 12
    code, out, _ = run(capsys, "drop", "ds", "--yes", "--db", db_path)
    assert code == 0
    with tuiannot_connect(db_path) as db:
        assert db.cache_stats("ds")["replies"] == 0  # dropping the dataset dropped its cache
    code, _, err = run(capsys, "llm-cache", "ds", "--db", db_path)
    assert code == 1 and "--stats or --clear" in err


def test_a_rerun_without_the_cache_asks_only_about_what_the_session_has_not_answered(
        tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = reviews(tmp_path)
    args = ["--task", "textcat", "--label", "POS,NEG,NEU", "--exclusive", "--db", db_path, "--no-cache"]
    with LLMServer({t: r for t, r in REVIEWS.items() if t != "battery died"}, default="not json") as server:
        code, out, err = run(capsys, "model-annotate", "ds", source, "--llm", server.url, *args)
        assert code == 0, err
        assert "Stored 3 answers" in out and "1 task got no usable answer from the model and stays unanswered" in err
        assert len(server.requests) == 4
        server.answers["battery died"] = {"labels": ["NEG"]}
        code, out, err = run(capsys, "model-annotate", "ds", source, "--llm", server.url, *args, "--json")
        assert code == 0, err
        report = json.loads(out)
        assert report["answered"] == 1 and report["already_answered"] == 3
        assert server.texts_asked[4:] == ["battery died"]  # the three answered ones were not sent again


def test_a_reply_nothing_of_which_can_be_used_leaves_the_task_unanswered(
        tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "Ann Lee joined Acme Corp today."
    source = write_jsonl(tmp_path / "ents.jsonl", [{"text": text}, {"text": "Nothing to see."}])
    replies = {text: {"spans": [{"text": "Bob", "label": "PERSON"}]},  # not in the text: unusable
               "Nothing to see.": {"spans": []}}  # "none" said plainly: an answer
    with LLMServer(replies) as server:
        code, out, err = run(capsys, "model-annotate", "ents", source, "--task", "ner", "--label", "PERSON,ORG",
                             "--llm", server.url, "--db", db_path)
        assert code == 0, err
    answer, = stored(db_path, "ents")
    assert answer["text"] == "Nothing to see." and answer["spans"] == []
    assert "1 task got no usable answer" in err
    assert "(first: mention not found:" in out  # the summary gives the reason behind the count
    one = write_jsonl(tmp_path / "r.jsonl", [{"text": "great phone"}])
    with LLMServer({"great phone": {"labels": ["GREAT"]}}) as server:  # every label unknown
        code, out, err = run(capsys, "model-annotate", "cats", one,
                             "--task", "textcat", "--label", "POS,NEG", "--llm", server.url, "--db", db_path)
        assert code == 0, err
    assert stored(db_path, "cats") == [] and "1 task got no usable answer" in err
