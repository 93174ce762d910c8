"""--llm against a real llama.cpp ``llama-server`` (opt-in): the README's example, checked end to end.

Runs only when two environment variables name what to run, and is skipped otherwise (nothing is downloaded)::

    TUIANNOT_LLAMA_SERVER=/path/to/llama-server TUIANNOT_LLAMA_MODEL=/path/to/model.gguf \\
        python -m pytest -q -p no:cacheprovider tests/test_llm_llama_server.py

``TUIANNOT_LLAMA_ARGS`` adds flags to the server's command line (e.g. ``-ngl 99``), ``TUIANNOT_LLAMA_WAIT`` the
seconds its model may take to load (300 by default). Any instruction-tuned GGUF with a chat template will do; a
tiny model with random weights too, since llama-server turns the ``json_schema`` of ``response_format`` into a
grammar and the reply is valid JSON of the schema whatever the weights: this checks the wire contract (the
server accepts what tuiannot sends and tuiannot reads what it answers), not the model's judgement.

One server for the module, started as the README says (``llama-server -m MODEL --host 127.0.0.1 --port P`` with
an ``--alias``, a bounded context and as many slots as ``--llm-concurrency``), on a free port, waited for on
``/health``; its log is shown when it fails to start. The tests run ``tuiannot model-annotate`` (textcat and ner)
and the textcat app headless, and check what the database holds.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from .helpers import recipe_app, run, stored, wait_for_task, wait_until, write_jsonl

SERVER = os.environ.get("TUIANNOT_LLAMA_SERVER", "")
MODEL = os.environ.get("TUIANNOT_LLAMA_MODEL", "")
ALIAS = "tuiannot-check"  # the name the server lists (--alias): the model's session is llm-tuiannot-check
SLOTS = 4  # llama-server --parallel, the same as tuiannot's --llm-concurrency default
REPLY_WAIT = 300.0  # seconds the tests wait for the app's first suggestion (a big model on a CPU is slow)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (SERVER and MODEL), reason="opt-in: set TUIANNOT_LLAMA_SERVER (a llama-server binary) "
                                                      "and TUIANNOT_LLAMA_MODEL (a .gguf file) to run tuiannot "
                                                      "against a real llama.cpp server"),
    pytest.mark.usefixtures("cli_env"),
]

REVIEWS = ["The screen cracked the first week and the support line never answered.",
           "Great phone: the battery lasts two days and the camera is sharp.",
           "It is a phone. It makes calls.",
           "Arrived late, but the seller refunded the shipping without a fuss."]
NOTES = ["Ann Lee joined Acme Corp in Berlin last week as the head of sales.",
         "The mayor of Paris met the board of Globex on Monday.",
         "Nothing much happened in the office today."]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def llama_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A llama-server on 127.0.0.1 serving TUIANNOT_LLAMA_MODEL; its base URL (``.../v1``)."""
    import httpx

    for what, path in (("TUIANNOT_LLAMA_SERVER", SERVER), ("TUIANNOT_LLAMA_MODEL", MODEL)):
        if not Path(path).is_file():
            pytest.fail(f"{what}={path!r}: no such file")
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "llama-server.log"
    argv = [SERVER, "-m", MODEL, "--host", "127.0.0.1", "--port", str(port), "--alias", ALIAS, "-c", "8192",
            "--parallel", str(SLOTS), *shlex.split(os.environ.get("TUIANNOT_LLAMA_ARGS", ""))]
    wait = float(os.environ.get("TUIANNOT_LLAMA_WAIT", "300"))
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def tail() -> str:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])

    try:
        deadline = time.monotonic() + wait
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama-server exited with {process.returncode} before it was ready:\n{tail()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2.0).status_code == 200:
                    break  # 503 while it loads the model
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                pytest.fail(f"llama-server was not ready within {wait:g} s (TUIANNOT_LLAMA_WAIT):\n{tail()}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def model_answers(db_path: Path, dataset: str, session: str = f"llm-{ALIAS}") -> list[dict[str, Any]]:
    return [a for a in stored(db_path, dataset) if a["_session_id"] == f"{dataset}-{session}"]


def check_provenance(answer: dict[str, Any]) -> dict[str, Any]:
    """What every answer stored from llama-server's reply carries; its ``_llm``."""
    llm = answer["_llm"]
    assert llm["model"] == ALIAS and llm["url"].startswith("http://127.0.0.1:") and len(llm["prompt"]) == 16
    assert llm["structured"] is True, llm  # llama-server took response_format {"type": "json_schema"}
    assert llm["parameters"]["temperature"] == 0 and "seed" in llm["parameters"]
    # the grammar made from the schema leaves no room for broken JSON (a reply cut by max_tokens aside)
    assert not set(llm["problems"]) & {"malformed JSON", "empty reply", "server error", "server unavailable"}, llm
    return dict(llm)


def test_model_annotate_textcat_stores_labels_of_the_label_set_and_a_rerun_is_served_from_the_cache(
        llama_url: str, tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": t} for t in REVIEWS])
    argv = ["model-annotate", "ds", source, "--task", "textcat", "--label", "POS,NEG", "--llm", llama_url,
            "--db", db_path, "--json"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    report = json.loads(out)
    assert report["session"] == f"llm-{ALIAS}" and report["answered"] == len(REVIEWS), report
    answers = model_answers(db_path, "ds")
    assert sorted(a["text"] for a in answers) == sorted(REVIEWS)
    for answer in answers:
        llm = check_provenance(answer)
        assert set(llm["suggestion"]["labels"]) <= {"POS", "NEG"}
        assert answer["_view_id"] == "choice" and answer["answer"] == "accept"
        assert answer["accept"] == llm["suggestion"]["labels"]
    # the same run as another session: every reply from the database's cache, none asked of the server
    code, out, err = run(capsys, *argv, "--session", "again")
    assert code == 0, err
    assert f"{len(REVIEWS)} of the replies from the cache" in json.loads(out)["note"]
    assert [a["accept"] for a in model_answers(db_path, "ds", "again")] == [a["accept"] for a in answers]
    code, out, err = run(capsys, "llm-cache", "ds", "--stats", "--json", "--db", db_path)
    assert code == 0, err
    stats = json.loads(out)
    assert stats["replies"] == len(REVIEWS) and stats["by_model"] == {ALIAS: len(REVIEWS)}


def test_model_annotate_ner_stores_spans_on_tokens_with_labels_of_the_label_set(
        llama_url: str, tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": t} for t in NOTES])
    code, out, err = run(capsys, "model-annotate", "ents", source, "--task", "ner", "--label", "PERSON,ORG,LOC",
                         "--llm", llama_url, "--db", db_path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["answered"] + report["without_answer"] == len(NOTES), report
    for answer in model_answers(db_path, "ents"):
        llm = check_provenance(answer)
        assert answer["_view_id"] == "ner_manual"
        starts = {t["start"] for t in answer["tokens"]}
        ends = {t["end"] for t in answer["tokens"]}
        for span in answer["spans"]:
            assert span["label"] in {"PERSON", "ORG", "LOC"} and span["source"] == "llm"
            assert span["start"] in starts and span["end"] in ends  # snapped to tokens, never moved
        assert len(answer["spans"]) == len(llm["suggestion"]["spans"])


async def test_the_app_preselects_the_suggestion_and_i_shows_the_reply(llama_url: str, tmp_path: Path,
                                                                        db_path: Path) -> None:
    from tuiannot.screens.llm_io import LLMIOScreen

    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": t} for t in REVIEWS[:2]])
    app = recipe_app("textcat", db_path, str(source), label="POS,NEG", llm=llama_url)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text=REVIEWS[0], timeout=REPLY_WAIT)
        assert screen.current_task is not None
        assert screen.selected == screen.current_task["_llm"]["suggestion"]["labels"]
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, LLMIOScreen), "the llm-io view")
        shown = str(app.screen.query_one("#llm-io Static").render())
        assert REVIEWS[0] in shown and "reply" in shown and '"labels"' in shown, shown
        await pilot.press("i")
        await wait_until(pilot, lambda: app.screen is screen, "back on the task")
        await pilot.press("a")
        await wait_for_task(pilot, text=REVIEWS[1], timeout=REPLY_WAIT)
    row, = stored(db_path, "reviews")
    assert row["answer"] == "accept" and row["accept"] == row["_llm"]["suggestion"]["labels"]
    check_provenance(row)
