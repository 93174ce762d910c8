"""`tuiannot model-annotate`: a model answers every task as an annotator (issue 16), against a real HTTP server on
127.0.0.1 (tests/llm_server.py) or a spaCy pipeline made here; then iaa and progress compare it with people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tuiannot.llm import client as llm_client

from .helpers import assert_one_line_error, run, seed, stored, write_jsonl
from .llm_server import LLMServer, dead_url

pytestmark = pytest.mark.usefixtures("cli_env")

REVIEWS = {"great phone": {"labels": ["POS"]}, "awful screen": {"labels": ["NEG"]},
           "it is a phone": {"labels": ["NEU"]}, "battery died": {"labels": ["NEG"]}}


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_client, "BACKOFF", 0.01)


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
    assert code == 0 and "Stored 4 answers" in out


def test_a_spacy_pipeline_answers_too(tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", name="ner")  # rules that set entities, under the name a recogniser has
    ruler.add_patterns([{"label": "ORG", "pattern": "Acme Corp"}])  # type: ignore[attr-defined]
    nlp.meta["name"] = "rules"
    nlp.to_disk(tmp_path / "pipeline")
    source = write_jsonl(tmp_path / "ents.jsonl", [{"text": "Ann Lee joined Acme Corp today."}, {"text": "Nothing here."}])
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
