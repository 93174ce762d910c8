"""--llm: suggestions from a model behind an OpenAI-compatible server, against a real HTTP server (llm_server.py).

The recipes run through the controller and the real app; the server answers normally, out of order, with prose
around the JSON, malformed, truncated, empty, rejecting response_format, with a 500 first, refusing (401), not
at all, or dies mid-session. No test measures time: held replies wait on the server's own counters.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import tuiannot
from tuiannot.controller import Controller, answer_all
from tuiannot.errors import UserError
from tuiannot.llm import client as llm_client
from tuiannot.llm.client import LLMClient, Parameters, shown_url
from tuiannot.llm.parse import first_json_object, parse_labels, parse_spans
from tuiannot.llm.prompts import default_prompt, load_prompt, prompt_hash
from tuiannot.recipes import Components, get_recipe
from tuiannot.sources import Source
from tuiannot.stream import Stream

from .helpers import (assert_one_line_error, recipe_app, recipe_controller, run, stored, tokens, wait_for_task,
                      wait_until, write_jsonl)
from .llm_server import LLMServer, dead_url

TEXT = "Acme Corp hired Ann Lee in Berlin last week."
REVIEWS = {"great phone": {"labels": ["POS"]}, "awful screen": {"labels": ["NEG"]},
           "it is a phone": {"labels": ["NEU"]}, "battery died": {"labels": ["NEG"]}}

pytestmark = pytest.mark.usefixtures("quick_llm_retries")


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer(REVIEWS) as s:
        yield s


def reviews_source(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "reviews.jsonl", [{"text": t} for t in REVIEWS])


def served(controller: Controller, decide: Any = None) -> list[dict[str, Any]]:
    """Answer every task (accepting what is shown) and close; the tasks as they were shown."""
    shown: list[dict[str, Any]] = []

    def accept(task: dict[str, Any]) -> tuple[str, Any]:
        shown.append(task)
        return decide(task) if decide else ("accept", task.get("accept"))

    try:
        answer_all(controller, accept)
    finally:
        controller.close()
        controller.db.close()
    return shown


# -- replies to suggestions --------------------------------------------------------------------------------------
def test_the_first_json_object_is_used_whatever_is_around_it() -> None:
    assert first_json_object('{"labels": ["A"]}') == {"labels": ["A"]}
    assert first_json_object('Sure {not json}! ```json\n{"labels": ["A"]}\n``` {"labels": ["B"]}') == \
        {"labels": ["A"]}
    assert first_json_object('<think>maybe {"labels": ["B"]}</think>{"labels": ["A"]}') == {"labels": ["A"]}
    assert first_json_object("[1, 2]") is None and first_json_object("no json") is None


def test_labels_are_matched_and_every_problem_counted_never_raised() -> None:
    parsed = parse_labels('{"labels": ["neg", "POS", "MAYBE", 3, "POS"]}', "stop", ["POS", "NEG", "NEU"])
    assert parsed.labels == ["POS", "NEG"]  # --label order, case forgiven, duplicates dropped
    assert parsed.problems == {"unknown label": 2}
    one = parse_labels('{"labels": ["NEG", "POS"]}', "stop", ["POS", "NEG"], exclusive=True)
    assert one.labels == ["NEG"] and one.problems == {"several labels": 1}
    assert parse_labels('{"labels": ["SPAM"]}', "stop", ["SPAM"]).answer == "accept"
    assert parse_labels('{"labels": []}', "stop", ["SPAM"]).answer == "reject"
    for text, finish, kind in [("", "stop", "empty reply"), ('{"labels": ["PO', "length", "truncated reply"),
                               ("labels: POS", "stop", "malformed JSON"), ('{"label": 1}', "stop", "malformed JSON"),
                               ("\x00{{{[[[", None, "malformed JSON")]:
        parsed = parse_labels(text, finish, ["POS", "NEG"])
        assert parsed.labels is None and parsed.suggestion is None and parsed.problems == {kind: 1}, text


def test_mentions_are_found_snapped_to_tokens_and_problems_counted() -> None:
    toks = tokens(TEXT)
    reply = json.dumps({"spans": [
        {"text": "Acme  Corp", "label": "ORG"},  # whitespace may differ
        {"text": "Acme", "label": "ORG"},  # inside Acme Corp: no place where spans may not overlap
        {"text": "berlin", "label": "LOC"},  # case forgiven when not there as written
        {"text": "Lee", "label": "PERSON", "start": 99},  # a wrong start: the nearest occurrence
        {"text": "Paris", "label": "LOC"},  # not in the text
        {"text": "ired", "label": "ORG"},  # inside a word: not on token boundaries
        {"text": "Ann", "label": "ALIEN"},  # not a label asked for
        {"label": "LOC"}]})  # no text
    parsed = parse_spans(reply, "stop", TEXT, toks, ["PERSON", "ORG", "LOC"], overlapping=False)
    assert [(TEXT[s["start"]:s["end"]], s["label"], s["token_start"], s["token_end"]) for s in parsed.spans] == \
        [("Acme Corp", "ORG", 0, 1), ("Lee", "PERSON", 4, 4), ("Berlin", "LOC", 6, 6)]
    assert all(s["source"] == "llm" and s["suggested"] for s in parsed.spans)
    assert parsed.problems == {"overlapping span": 1, "mention not found": 1, "span not aligned": 1,
                               "unknown label": 1, "malformed JSON": 1}
    again = "Ann met Ann."
    every = parse_spans('{"spans": [{"text": "Ann", "label": "PERSON"}]}', "stop", again, tokens(again), ["PERSON"],
                        overlapping=True)
    assert [(s["start"], s["end"]) for s in every.spans] == [(0, 3), (8, 11)]  # every occurrence without start
    at = parse_spans('{"spans": [{"text": "Ann", "label": "PERSON", "start": 8}]}', "stop", again, tokens(again),
                     ["PERSON"], overlapping=True)
    assert [(s["start"], s["end"]) for s in at.spans] == [(8, 11)]


# -- prompts -----------------------------------------------------------------------------------------------------
def test_a_prompt_file_fills_its_fields_and_leaves_other_braces(tmp_path: Path) -> None:
    path = tmp_path / "prompt.toml"
    path.write_text('system = "Be brief."\n'
                    'template = "Labels {labels}\\n{descriptions}{examples}'
                    'Say {\\"labels\\": []} for: {text} {other}"\n'
                    '[labels.POS]\ndescription = "happy"\n'
                    '[[examples]]\ntext = "Love it"\nlabels = ["POS"]\n')
    prompt = load_prompt(path, "textcat", ["POS", "NEG"])
    system, user = prompt.messages("a {text} of braces")
    assert system == {"role": "system", "content": "Be brief."}
    assert user["content"] == ('Labels POS, NEG\nLabels:\n- POS: happy\n\nExamples:\n\nText:\n"""\nLove it\n"""\n'
                               'Answer: {"labels": ["POS"]}\n\nSay {"labels": []} for: a {text} of braces {other}')
    spans = load_prompt(None, "spans", ["ORG"]).messages("Acme")[1]["content"]
    assert "Acme" in spans and '"spans"' in spans and "ORG" in spans
    assert 'Does the label SPAM apply' in default_prompt("textcat", ["SPAM"]).messages("x")[1]["content"]


@pytest.mark.parametrize("content, needle", [
    ('sytem = "x"', "sytem: unknown key"),
    ("system = 3", "system: must be a string, not a number"),
    ('template = "no text field"', "template: has no {text} field"),
    ('[labels.MAYBE]\ndescription = "?"', "labels.MAYBE: not among --label (POS, NEG)"),
    ('[labels.POS]\ncolour = "red"', "labels.POS.colour: unknown key"),
    ('[[examples]]\ntext = "x"\nlabels = ["NOPE"]', "examples[0].labels[0]: 'NOPE' is not among --label"),
    ('[[examples]]\ntext = "x"', "examples[0]: has no labels"),
    ("examples = 3", "examples: must be an array of tables"),
    ("system = ", "not valid TOML"),
])
def test_prompt_file_mistakes_are_one_line_naming_file_and_key(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "prompt.toml"
    path.write_text(content + "\n")
    with pytest.raises(UserError) as info:
        load_prompt(path, "textcat", ["POS", "NEG"])
    message = str(info.value)
    assert message.startswith(str(path)) and needle in message and "\n" not in message
    path.write_text('[[examples]]\ntext = "Acme hired"\nspans = [{text = "Acme", label = "ORG", start = 3}]\n')
    with pytest.raises(UserError, match=r"examples\[0\].spans\[0\].text: 'Acme' is not in the example's text at 3"):
        load_prompt(path, "spans", ["ORG"])
    with pytest.raises(UserError, match="no such file"):
        load_prompt(tmp_path / "none.toml", "spans", ["ORG"])


def test_the_prompt_hash_is_stable_and_changes_with_what_decides_the_reply() -> None:
    prompt = default_prompt("textcat", ["POS", "NEG"])
    base = prompt_hash(prompt, "m", prompt.schema(), Parameters().as_dict())
    assert base == prompt_hash(default_prompt("textcat", ["POS", "NEG"]), "m", prompt.schema(),
                               Parameters().as_dict())
    assert len(base) == 16
    other = default_prompt("textcat", ["POS", "NEG"], exclusive=True)
    assert len({base, prompt_hash(prompt, "m2", prompt.schema(), Parameters().as_dict()),
                prompt_hash(prompt, "m", prompt.schema(), Parameters(seed=7).as_dict()),
                prompt_hash(other, "m", other.schema(), Parameters().as_dict())}) == 4


# -- the client and the wire contract ----------------------------------------------------------------------------
def test_the_check_picks_the_first_model_and_chat_sends_the_contract(server: LLMServer,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    server.models = ["first", "second"]
    server.key = "s3cret"
    monkeypatch.setenv("OPENAI_API_KEY", "s3cret")
    client = LLMClient(server.url)
    assert client.check() == "first"
    prompt = default_prompt("textcat", ["POS", "NEG"])
    reply = client.chat(prompt.messages("great phone"), prompt.schema(), Parameters())
    assert json.loads(reply.text) == {"labels": ["POS"]} and reply.finish_reason == "stop" and reply.structured
    body = server.requests[-1]
    assert body["model"] == "first" and body["temperature"] == 0 and body["seed"] == llm_client.SEED
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["properties"]["labels"]["items"]["enum"] == ["POS", "NEG"]
    assert set(server.auth) == {"Bearer s3cret"} and "s3cret" not in repr(client)
    client.close()
    with pytest.raises(UserError, match="has no model 'third'"):
        LLMClient(server.url, model="third").check()


def test_response_format_rejected_is_retried_without_it_and_remembered(server: LLMServer) -> None:
    server.mode = "reject_format"
    client = LLMClient(server.url)
    client.check()
    prompt = default_prompt("textcat", ["POS", "NEG"])
    for text in ("great phone", "awful screen"):
        reply = client.chat(prompt.messages(text), prompt.schema(), Parameters())
        assert first_json_object(reply.text) == REVIEWS[text] and not reply.structured
    assert ["response_format" in body for body in server.requests] == [True, False, False]
    client.close()


def test_a_500_is_retried_and_a_server_that_keeps_failing_is_an_error(server: LLMServer) -> None:
    client = LLMClient(server.url)
    client.check()
    prompt = default_prompt("textcat", ["POS", "NEG"])
    server.fail_first = 1
    assert client.chat(prompt.messages("great phone"), prompt.schema(), Parameters()).text
    assert len(server.requests) == 2
    server.fail_first = 10
    with pytest.raises(llm_client.LLMFailed, match="HTTP 500: model is loading"):
        client.chat(prompt.messages("great phone"), prompt.schema(), Parameters())
    assert len(server.requests) == 2 + 1 + llm_client.RETRIES
    client.close()


def test_a_reply_that_takes_too_long_is_not_asked_again(server: LLMServer,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_client, "CHAT_TIMEOUT", 0.3)
    server.wait_for = {"great phone": 99}  # held until the server stops
    client = LLMClient(server.url)
    client.check()
    prompt = default_prompt("textcat", ["POS", "NEG"])
    with pytest.raises(llm_client.LLMUnavailable, match="no answer within 0.3 s"):
        client.chat(prompt.messages("great phone"), prompt.schema(), Parameters())
    assert len(server.requests) == 1
    client.close()


@pytest.mark.parametrize("mode, needle", [
    ("unauthorized", "refused the request (HTTP 401): put the key in $OPENAI_API_KEY or name its variable"),
    ("not_api", "answered GET /models with HTTP 404: is this the API's base URL?"),
    ("hang_models", "did not answer GET /models within 0.3 s"),
    ("loading", "is not ready (HTTP 503: Loading model): wait until it has loaded its model, then start again"),
])
def test_a_server_refusing_slow_or_not_the_api_is_one_line(mode: str, needle: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_client, "CHECK_TIMEOUT", 0.3)
    with LLMServer(mode=mode) as server:
        url = server.url.replace("127.0.0.1", "user:pa55@127.0.0.1") + "?token=t0k"
        with pytest.raises(UserError) as info:
            LLMClient(url).check()
        server.release()
    message = str(info.value)
    assert needle in message and f"the LLM server at {server.url} " in message
    assert "pa55" not in message and "t0k" not in message and "\n" not in message
    assert shown_url(url) == server.url


def test_a_model_may_be_named_by_any_alias_the_server_lists(server: LLMServer) -> None:
    """llama-server --alias tiny-random,tiny lists one model, id "tiny", with both names under "aliases"."""
    server.models = ["tiny"]
    server.aliases = {"tiny": ["tiny", "tiny-random"]}
    client = LLMClient(server.url, model="tiny-random")
    assert client.check() == "tiny-random"
    prompt = default_prompt("textcat", ["POS", "NEG"])
    client.chat(prompt.messages("great phone"), prompt.schema(), Parameters())
    assert server.requests[-1]["model"] == "tiny-random"
    client.close()
    with pytest.raises(UserError, match=r"has no model 'tiny-rand' \(it lists: tiny\)"):
        LLMClient(server.url, model="tiny-rand").check()


def test_a_named_key_variable_must_be_set_and_is_never_shown(server: LLMServer,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="--llm-key-env MY_KEY: that environment variable is not set"):
        LLMClient(server.url, key_env="MY_KEY")
    monkeypatch.setenv("MY_KEY", "wrong-key")
    server.key = "right-key"
    with pytest.raises(UserError) as info:
        LLMClient(server.url, key_env="MY_KEY").check()
    assert "check the key in $MY_KEY" in str(info.value) and "wrong-key" not in str(info.value)


# -- the recipes through the controller ---------------------------------------------------------------------------
def test_choice_suggestions_are_preselected_and_stored_with_provenance(tmp_path: Path, db_path: Path,
                                                                       server: LLMServer) -> None:
    source = reviews_source(tmp_path)
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG,NEU", llm=server.url)
    shown = served(controller)
    assert [t["text"] for t in shown] == list(REVIEWS)  # in source order
    assert [t["accept"] for t in shown] == [["POS"], ["NEG"], ["NEU"], ["NEG"]]
    rows = stored(db_path, "reviews")
    assert [r["accept"] for r in rows] == [["POS"], ["NEG"], ["NEU"], ["NEG"]]
    llm = rows[0]["_llm"]
    assert llm["model"] == "test-model" and llm["url"] == server.url and len(llm["prompt"]) == 16
    assert llm["parameters"] == Parameters().as_dict() and llm["structured"] is True
    assert llm["suggestion"] == {"labels": ["POS"]} and llm["problems"] == {}
    assert len({r["_llm"]["prompt"] for r in rows}) == 1
    assert controller.model_status == "LLM 4 suggested"
    assert controller.finished_note == (f"The source has no more tasks. LLM test-model at {server.url}: 4 of 4 "
                                        "tasks suggested (each answer keeps its suggestion in _llm).")


def test_quitting_before_the_end_does_not_say_the_source_has_no_more_tasks(tmp_path: Path, db_path: Path,
                                                                            server: LLMServer) -> None:
    """The step reads the whole (short) source ahead of the screen: that is not the person reaching its end."""
    controller = recipe_controller("textcat", db_path, str(reviews_source(tmp_path)), label="POS,NEG,NEU",
                                   llm=server.url)
    try:
        assert answer_all(controller, lambda task: ("accept", task.get("accept")), limit=1) == 1
        deadline = time.monotonic() + 10
        while not (controller.finished_note or "").startswith("The source has no more tasks."):
            assert time.monotonic() < deadline, "the step never read the source to its end"
            time.sleep(0.01)
    finally:
        summary = controller.close()
        controller.db.close()
    assert not summary.exhausted and summary.note is not None
    assert summary.note.startswith(f"LLM test-model at {server.url}: ") and "no more tasks" not in summary.note


def test_a_person_overriding_the_suggestion_is_stored_beside_it(tmp_path: Path, db_path: Path,
                                                                server: LLMServer) -> None:
    source = reviews_source(tmp_path)
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG,NEU", llm=server.url)
    served(controller, lambda task: ("accept", ["NEU"]))
    rows = stored(db_path, "reviews")
    assert [(r["accept"], r["_llm"]["suggestion"]["labels"]) for r in rows][:2] == [(["NEU"], ["POS"]),
                                                                                   (["NEU"], ["NEG"])]


def test_a_yes_no_question_marks_the_suggested_answer(tmp_path: Path, db_path: Path, server: LLMServer) -> None:
    source = reviews_source(tmp_path)
    controller = recipe_controller("textcat", db_path, str(source), label="NEG", llm=server.url)
    shown = served(controller, lambda task: ("reject", None))
    assert [t["meta"]["llm"] for t in shown] == ["reject", "accept", "reject", "accept"]
    assert [t["_llm"]["suggestion"]["answer"] for t in shown] == ["reject", "accept", "reject", "accept"]
    assert "accept" not in shown[0]  # nothing preselected in a yes/no question
    body = server.requests[0]
    assert body["response_format"]["json_schema"]["schema"]["properties"]["labels"]["maxItems"] == 1
    assert stored(db_path, "reviews")[1]["_llm"]["suggestion"] == {"labels": ["NEG"], "answer": "accept"}


def test_replies_out_of_order_still_come_in_source_order(tmp_path: Path, db_path: Path, server: LLMServer) -> None:
    server.wait_for = {"great phone": 3}  # the first text's reply is sent after the three others
    source = reviews_source(tmp_path)
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG,NEU", llm=server.url)
    shown = served(controller)
    assert [t["text"] for t in shown] == list(REVIEWS)
    assert [t["accept"] for t in shown] == [["POS"], ["NEG"], ["NEU"], ["NEG"]]
    assert server.max_in_flight >= 2  # asked at once, not one by one


def test_concurrency_bounds_the_requests_in_flight(tmp_path: Path, db_path: Path, server: LLMServer) -> None:
    server.hold_until_in_flight = 3  # no reply before three requests are in flight at once
    source = reviews_source(tmp_path)
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG,NEU", llm=server.url,
                                   llm_concurrency=3)
    served(controller)
    assert server.max_in_flight == 3
    assert len(stored(db_path, "reviews")) == 4


def test_quitting_while_the_server_holds_every_reply_does_not_wait_for_it(tmp_path: Path, db_path: Path,
                                                                          server: LLMServer) -> None:
    import time

    server.hold_until_in_flight = 100  # never reached: every reply is held (up to the server's 20 s)
    controller = recipe_controller("textcat", db_path, str(reviews_source(tmp_path)), label="POS,NEG,NEU",
                                   llm=server.url)
    assert controller.next_task(timeout=0.3) is Controller.PENDING  # still waiting for the first reply
    started = time.monotonic()
    controller.close()
    controller.db.close()
    assert time.monotonic() - started < 5  # it waited for the reading thread's 30 s, or the server's 20 s


@pytest.mark.parametrize("mode, kind", [("malformed", "malformed JSON"), ("truncated", "truncated reply"),
                                        ("empty", "empty reply")])
def test_bad_replies_give_plain_tasks_and_counted_problems(tmp_path: Path, db_path: Path, server: LLMServer,
                                                           mode: str, kind: str) -> None:
    server.mode = mode
    source = reviews_source(tmp_path)
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG,NEU", llm=server.url)
    shown = served(controller, lambda task: ("ignore", None))
    assert len(shown) == 4 and not any(t.get("accept") for t in shown)
    assert all(t["_llm"]["suggestion"] is None and t["_llm"]["problems"] == {kind: 1} for t in shown)
    assert controller.model_status == f"LLM 0 suggested, 4 {kind}"
    assert f"0 of 4 tasks suggested; problems: 4 {kind}" in (controller.finished_note or "")


def test_prose_around_the_json_and_a_500_first_still_suggest(tmp_path: Path, db_path: Path,
                                                            server: LLMServer) -> None:
    server.mode, server.fail_first = "prose", 1
    source = reviews_source(tmp_path)
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG,NEU", llm=server.url)
    shown = served(controller)
    assert [t["accept"] for t in shown] == [["POS"], ["NEG"], ["NEU"], ["NEG"]]
    assert len(server.requests) == 5


def test_a_server_dying_mid_session_degrades_to_plain_tasks(tmp_path: Path, db_path: Path,
                                                            server: LLMServer) -> None:
    server.answer_limit = 2
    texts = [f"review {i} of a phone" for i in range(12)]
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": t} for t in texts])
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG", llm=server.url)
    shown = served(controller, lambda task: ("ignore", None))
    assert [t["text"] for t in shown] == texts  # every task, in order, none lost
    suggested = [t for t in shown if t["_llm"]["suggestion"] is not None]
    down = [t for t in shown if t["_llm"]["problems"] == {"server unavailable": 1}]
    assert len(suggested) == 2 and len(down) == 10
    status = controller.model_status or ""
    assert status.startswith("LLM 2 suggested, 10 server unavailable")
    assert len(stored(db_path, "reviews")) == 12


def test_span_suggestions_are_drawn_as_suggestions_and_stored_with_provenance(tmp_path: Path, db_path: Path,
                                                                              server: LLMServer) -> None:
    server.answers = {TEXT: {"spans": [{"text": "Acme Corp", "label": "ORG"}, {"text": "Berlin", "label": "LOC"},
                                       {"text": "Paris", "label": "LOC"}]}}
    server.default = {"spans": []}
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": TEXT}, {"text": "Nothing here."},
                                                    {"text": "Given.", "spans": [{"start": 0, "end": 5,
                                                                                  "label": "ORG"}]}])
    controller = recipe_controller("spans", db_path, str(source), label="PERSON,ORG,LOC", llm=server.url)
    shown = served(controller)
    assert [(s["label"], s["source"], s["suggested"]) for s in shown[0]["spans"]] == [("ORG", "llm", True),
                                                                                     ("LOC", "llm", True)]
    assert shown[0]["_llm"]["problems"] == {"mention not found": 1}
    assert shown[1]["spans"] == [] and shown[1]["_llm"]["suggestion"] == {"spans": []}
    assert "_llm" not in shown[2] and len(server.requests) == 2  # its own spans: not sent
    assert server.requests[0]["response_format"]["json_schema"]["schema"]["properties"]["spans"]
    row = stored(db_path, "notes")[0]
    assert row["_llm"]["suggestion"] == {"spans": [{"start": 0, "end": 9, "label": "ORG"},
                                                   {"start": 27, "end": 33, "label": "LOC"}]}


def test_a_resumed_session_does_not_ask_about_the_answered_part_again(tmp_path: Path, db_path: Path,
                                                                      server: LLMServer) -> None:
    texts = [f"review {i} of a phone" for i in range(30)]
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": t} for t in texts])
    components = Components.from_value(get_recipe("textcat")(str(source), label="POS,NEG", llm=server.url))
    assert isinstance(components.stream, Stream) and components.stream.resumable  # the order is kept
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG", llm=server.url)
    answer_all(controller, lambda task: ("accept", None), limit=25)
    controller.close()
    controller.db.close()
    asked_before = len(server.requests)
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG", llm=server.url, no_cache=True)
    shown = served(controller)
    assert [t["text"] for t in shown] == texts[25:]
    checkpoint = controller._checkpoint
    assert checkpoint is not None and checkpoint.resumed_at is not None and checkpoint.resumed_at > 20
    assert len(server.requests) - asked_before == 30 - checkpoint.resumed_at + 1  # from the checkpoint on only


def test_a_step_that_keeps_the_order_keeps_places_and_the_invalid_count(tmp_path: Path) -> None:
    lines = [json.dumps({"text": f"t{i}"}) for i in range(6)]
    lines[2] = "{broken"
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")

    def read_all_first(tasks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield from list(tasks)

    stream = Stream(Source(path)).reorder(read_all_first, keeps_order=True)
    assert stream.resumable
    seen = [(t["text"], stream.record[0] if stream.record else None, stream.invalid_before) for t in stream]
    assert seen == [("t0", 1, 0), ("t1", 2, 0), ("t3", 4, 1), ("t4", 5, 1), ("t5", 6, 1)]
    assert stream.invalid == 1
    assert not Stream(Source(path)).reorder(read_all_first).resumable


# -- the command line and the app --------------------------------------------------------------------------------
@pytest.mark.usefixtures("cli_env")
def test_a_dead_server_at_start_is_one_line_and_exit_1(tmp_path: Path, db_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    source = reviews_source(tmp_path)
    url = dead_url()
    code, out, err = run(capsys, "textcat", source, "--label", "POS,NEG", "--llm", url, "--db", db_path)
    assert code == 1 and out == ""
    assert_one_line_error(err, f"cannot reach the LLM server at {url}: connection refused")
    code, _, err = run(capsys, "ner", source, "--label", "ORG", "--llm", url, "--teach", "--db", db_path)
    assert code == 1
    assert_one_line_error(err, "--llm goes without --teach")
    code, _, err = run(capsys, "spans", source, "--label", "ORG", "--prompt", "p.toml", "--db", db_path)
    assert code == 1
    assert_one_line_error(err, "--prompt goes with --llm URL")
    with pytest.raises(UserError, match="--llm and --model both suggest"):
        get_recipe("textcat")(str(source), label="POS", llm=url, model="some_model")


async def test_the_app_shows_choice_suggestions_preselected(tmp_path: Path, db_path: Path,
                                                           server: LLMServer) -> None:
    source = reviews_source(tmp_path)
    app = recipe_app("textcat", db_path, str(source), label="POS,NEG,NEU", llm=server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="great phone")
        assert screen.selected == ["POS"]
        await pilot.press("a")
        screen = await wait_for_task(pilot, text="awful screen")
        assert screen.selected == ["NEG"]
        assert re.search(r"· {2}LLM [2-4] suggested$", str(screen.query_one("#progress").render()))  # read ahead
        await pilot.press("3", "a")  # NEU added to the suggestion
        await wait_for_task(pilot, text="it is a phone")
    rows = stored(db_path, "reviews")
    assert [r["accept"] for r in rows] == [["POS"], ["NEG", "NEU"]]
    assert [r["_llm"]["suggestion"]["labels"] for r in rows] == [["POS"], ["NEG"]]


async def test_the_app_draws_span_suggestions_until_accepted(tmp_path: Path, db_path: Path, server: LLMServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    server.key = "s3cret"
    monkeypatch.setenv("OPENAI_API_KEY", "s3cret")
    server.answers = {TEXT: {"spans": [{"text": "Acme Corp", "label": "ORG"}, {"text": "Ann Lee",
                                                                                 "label": "PERSON"}]}}
    server.default = {"spans": []}
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": TEXT}, {"text": "Nothing here."}])
    app = recipe_app("ner", db_path, str(source), label="PERSON,ORG,LOC", llm=server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        assert [(s["label"], s.get("suggested")) for s in screen.spans] == [("ORG", True), ("PERSON", True)]
        await pilot.press("a")
        await wait_for_task(pilot, text="Nothing here.")
    row = stored(db_path, "notes")[0]
    assert [(TEXT[s["start"]:s["end"]], s["label"]) for s in row["spans"]] == [("Acme Corp", "ORG"),
                                                                               ("Ann Lee", "PERSON")]
    assert all(s["source"] == "llm" and "suggested" not in s for s in row["spans"])
    assert row["_llm"]["model"] == "test-model" and row["_view_id"] == "ner_manual"
    with tuiannot.connect(db_path) as db:
        assert "s3cret" not in json.dumps(list(db.answers("notes")))


async def test_a_yes_no_suggestion_is_marked_and_i_shows_the_raw_prompt_and_reply(
        tmp_path: Path, db_path: Path, server: LLMServer) -> None:
    from tuiannot.screens.llm_io import LLMIOScreen

    server.answers = {**REVIEWS, "[red]great phone[/red]": {"labels": ["NEG"]}}
    source = write_jsonl(tmp_path / "r.jsonl", [{"text": "[red]great phone[/red]"}, {"text": "awful screen"}])
    app = recipe_app("textcat", db_path, str(source), label="NEG", llm=server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="[red]great phone[/red]")
        question = str(screen.query_one("#question").render())
        assert "model:  it applies  (a confirms)" in question, question
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, LLMIOScreen), "the llm-io view")
        shown = str(app.screen.query_one("#llm-io Static").render())
        assert "[red]great phone[/red]" in shown  # the data's markup shown literally, in the prompt sent
        assert '{"labels": ["NEG"]}' in shown and "system" in shown and "user" in shown and "reply" in shown
        await pilot.press("i")
        await wait_until(pilot, lambda: app.screen is screen, "back on the question")
        await pilot.press("x")  # the person disagrees with the model
        screen = await wait_for_task(pilot, text="awful screen")
        assert "model:  it applies  (a confirms)" in str(screen.query_one("#question").render())
    row, = stored(db_path, "r")
    assert row["answer"] == "reject" and row["_llm"]["suggestion"]["answer"] == "accept"
    assert "_llm_io" not in row  # shown, never stored


async def test_i_without_a_model_request_says_so(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "r.jsonl", [{"text": "plain"}])
    app = recipe_app("textcat", db_path, str(source), label="NEG")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, text="plain")
        await pilot.press("i")
        await wait_until(pilot, lambda: any("No model request" in str(n.message) for n in app._notifications),
                         "the note")


def test_tasks_already_answered_are_not_sent_to_the_model_again(tmp_path: Path, db_path: Path,
                                                                 server: LLMServer) -> None:
    source = reviews_source(tmp_path)
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG,NEU", llm=server.url,
                                   session="one")
    answer_all(controller, lambda task: ("accept", task.get("accept")), limit=3)
    controller.close()
    controller.db.close()
    asked = len(server.requests)
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG,NEU", llm=server.url,
                                   session="two", no_cache=True)  # (the cache would answer the open one too)
    try:
        assert [t["text"] for t in served(controller)] == ["battery died"]
    finally:
        controller.close()
    # the three answered were dropped before the model step: only the open one was asked about
    assert len(server.requests) - asked == 1, server.texts_asked()[asked:]


def test_llm_timeout_sets_how_long_a_reply_may_take(server: LLMServer, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    server.wait_for = {"great phone": 99}  # held until the server stops
    client = LLMClient(server.url, chat_timeout=0.4)
    client.check()
    prompt = default_prompt("textcat", ["POS", "NEG"])
    with pytest.raises(llm_client.LLMUnavailable, match=r"no answer within 0.4 s \(--llm-timeout\)"):
        client.chat(prompt.messages("great phone"), prompt.schema(), Parameters())
    client.close()
    assert LLMClient(server.url).chat_timeout == llm_client.CHAT_TIMEOUT
    source = write_jsonl(tmp_path / "t.jsonl", [{"text": "great phone"}])
    for command in (["textcat", source, "--label", "POS"], ["ner", source, "--label", "ORG"],
                    ["model-annotate", "ds", source, "--task", "textcat", "--label", "POS", "--model", "x"]):
        code, _, err = run(capsys, *command, "--llm-timeout", "300", "--db", tmp_path / "x.db")
        assert code != 0 and "--llm-timeout" in err and "--llm" in err, (command, err)
