"""The tournament of prompts and models (tuiannot.llm.tournament, tuiannot.llm.generation), headless: generation
prompt files, candidates, the choice of duels, and whole sessions through the real controller against the real
test LLM server (llm_server.py) into a real SQLite database: an annotator who always prefers one prompt's style
makes it the leader, the deviations shrink, a restart resumes the ratings from the stored duels, and no output is
asked for twice."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import tuiannot
from tuiannot.components import Components
from tuiannot.controller import Controller, Summary
from tuiannot.data.compare import choice_answer, duel_results
from tuiannot.errors import UserError
from tuiannot.llm.client import LLMClient, Parameters
from tuiannot.llm.generation import GenerationPrompt, generation_hash, load_generation_prompt, reply_key
from tuiannot.llm.prompts import default_prompt, prompt_hash
from tuiannot.llm.suggest import reply_cache
from tuiannot.llm.tournament import Tournament, make_candidates, tournament, tournament_report
from tuiannot.sources import Source
from tuiannot.stream import Stream
from tuiannot.team.routing import Routing

from .helpers import write_jsonl
from .llm_server import LLMServer, dead_url

STYLES = {"formal": "formally", "casual": "casually", "terse": "tersely"}
REPLIES = {"formally": "Dear reader, the product performs as described.", "casually": "yeah it's fine lol",
           "tersely": "Works."}

pytestmark = pytest.mark.usefixtures("quick_llm_retries")


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer(REPLIES) as s:
        yield s


def prompt_files(tmp_path: Path, styles: tuple[str, ...] = ("formal", "casual", "terse")) -> list[Path]:
    paths = []
    for style in styles:
        path = tmp_path / f"{style}.toml"
        path.write_text(f'template = """Rewrite this review {STYLES[style]}:\n{{text}}"""\n', encoding="utf-8")
        paths.append(path)
    return paths


def reviews(tmp_path: Path, n: int = 40) -> Path:
    return write_jsonl(tmp_path / "reviews.jsonl", [{"text": f"Review {i}: it does what it says."} for i in range(n)])


def prefers_formal(rng: random.Random) -> Callable[[dict[str, Any]], str]:
    """The simulated annotator: the formal output wherever it is shown; otherwise a coin (or a tie)."""
    def decide(task: dict[str, Any]) -> str:
        left, right = (task["outputs"][side]["text"] for side in task["_sides"])
        if left == REPLIES["formally"]:
            return "left"
        if right == REPLIES["formally"]:
            return "right"
        return rng.choice(["left", "right", "right", "left", "tie"])
    return decide


def session(url: str, tmp_path: Path, db_path: Path, decide: Callable[[dict[str, Any]], str | None], *,
            who: str = "ann", prompts: list[Path] | None = None, models: list[str] | None = None,
            source: Path | None = None, limit: int | None = None, routing: Routing | None = None
            ) -> tuple[Tournament, Summary, list[dict[str, Any]]]:
    """A tournament session as the recipe will run it: the step on a stream of the source, the ratings rebuilt
    from the dataset, the real controller; ``decide(task)`` gives the choice (None: skip). Returns the tournament,
    the summary and the duels as shown."""
    t = tournament(url, prompts or prompt_files(tmp_path), models=models, seed=who, dataset="tour",
                   cache=reply_cache(str(db_path), "tour"))
    stream = Stream(Source(source or reviews(tmp_path))).reorder(t, keeps_order=True)
    stream.stop_hooks.append(t.stop)
    db = tuiannot.connect(db_path)
    t.rebuild(db.answers("tour"))
    controller = Controller(Components(dataset="tour", stream=stream, view_id="compare", **t.components()), db,
                            session=who, routing=routing).start()
    shown = []
    try:
        while limit is None or len(shown) < limit:
            task = controller.next_task(timeout=20)
            if task is None:
                break
            shown.append(task)
            choice = decide(task)
            if choice is None:
                controller.answer("ignore")
            else:
                controller.answer(choice_answer(task, choice)[0], fields={"choice": choice})
        controller.sync_updates()
    finally:
        summary = controller.close()
        db.close()
    return t, summary, shown


def stored(db_path: Path) -> list[dict[str, Any]]:
    with tuiannot.connect(db_path) as db:
        return list(db.answers("tour"))


def ratings(rows: list[dict[str, Any]]) -> dict[str, tuple[float, float, int]]:
    return {row["name"]: (round(row["rating"], 6), round(row["deviation"], 6), row["duels"]) for row in rows}


# -- generation prompts ---------------------------------------------------------------------------------------
def test_a_generation_prompt_fills_the_text_and_any_task_field(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('name = "polite"\nsystem = "Be polite."\n'
                    'template = "Answer {user} about {text}; keep {braces} and {\\"json\\": 1}; n={n}"\n')
    prompt = load_generation_prompt(path)
    assert (prompt.name, prompt.system, prompt.fields) == ("polite", "Be polite.", ("text", "user", "braces", "n"))
    assert prompt.messages({"text": "the bill", "user": "Ann", "n": [1, 2]}) == [
        {"role": "system", "content": "Be polite."},
        {"role": "user", "content": 'Answer Ann about the bill; keep {braces} and {"json": 1}; n=[1, 2]'}]
    (tmp_path / "q.toml").write_text('template = "Summarise: {text}"\n')
    plain = load_generation_prompt(tmp_path / "q.toml")
    assert plain.name == "q.toml" and plain.system == "You are a helpful assistant."


@pytest.mark.parametrize(("content", "needle"), [
    ('template = "no field"', "template: has no {text} field"),
    ('system = "s"', "template: missing"),
    ('template = "{text}"\nlabels = ["A"]', "labels: unknown key (known: name, system, template)"),
    ('template = 3', "template: must be a string"),
    ('template = "{text}', "not valid TOML"),
])
def test_generation_prompt_mistakes_are_one_line_naming_file_and_key(tmp_path: Path, content: str,
                                                                     needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(UserError) as caught:
        load_generation_prompt(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path)) and needle in message
    with pytest.raises(UserError, match="no such prompt file"):
        load_generation_prompt(tmp_path / "missing.toml")


def test_the_hash_names_what_decides_a_reply_and_the_cache_key_is_the_suggestions_one() -> None:
    prompt = GenerationPrompt("p", "sys", "Do {text}")
    params = Parameters().as_dict()
    base = generation_hash(prompt, "m", params)
    assert base == generation_hash(GenerationPrompt("another name", "sys", "Do {text}", "elsewhere.toml"), "m", params)
    assert len({base, generation_hash(prompt, "m2", params), generation_hash(GenerationPrompt("p", "sys2", "Do {text}"),
                                                                            "m", params),
                generation_hash(prompt, "m", {**params, "max_tokens": 10})}) == 4
    label_prompt = default_prompt("textcat", ["A"])
    assert base != prompt_hash(label_prompt, "m", None, params)
    task = {"text": "x", "_input_hash": 42}
    expected = hashlib.sha256(json.dumps(["http://h/v1", base, 42, "x"], ensure_ascii=False).encode()).hexdigest()[:32]
    assert reply_key("http://h/v1", base, prompt, task) == expected  # the layout LLMSuggester.cache_key uses
    with_field = GenerationPrompt("p", "sys", "Do {text} for {user}")
    assert reply_key("http://h/v1", base, with_field, {**task, "user": "a"}) != \
        reply_key("http://h/v1", base, with_field, {**task, "user": "b"})


# -- candidates and the choice of duels ---------------------------------------------------------------------------
def offline_tournament(styles: tuple[str, ...] = ("formal", "casual", "terse"), models: tuple[str, ...] = ("m",),
                       seed: str = "s") -> Tournament:
    """A tournament whose clients are never asked (no request is made before a stream is read)."""
    prompts = [GenerationPrompt(f"{s}.toml", "sys", f"Rewrite {STYLES[s]}: {{text}}") for s in styles]
    return Tournament({m: LLMClient(dead_url(), model=m) for m in models}, prompts, seed=seed)


def test_candidates_are_every_prompt_with_every_model_and_never_twice() -> None:
    t = offline_tournament(("formal", "casual"), ("m1", "m2"))
    assert [c.name for c in t.candidates] == ["formal.toml @ m1", "formal.toml @ m2", "casual.toml @ m1",
                                              "casual.toml @ m2"]
    twin = GenerationPrompt("copy.toml", "sys", "Rewrite formally: {text}", "copy.toml")
    with pytest.raises(UserError, match="would give the same outputs"):
        make_candidates([t.candidates[0].prompt, twin], ["m1"], Parameters())
    with pytest.raises(UserError, match="at least two candidates"):
        offline_tournament(("formal",))


def test_the_choice_of_duels_prefers_close_uncertain_pairs_and_never_one_against_itself() -> None:
    t = offline_tournament()
    formal, casual, terse = (c.key for c in t.candidates)
    names = {c.key: c.name for c in t.candidates}

    def duel(i: int, a: str, b: str, choice: str) -> dict[str, Any]:
        return {"text": f"t{i}", "_input_hash": i, "_session_id": "tour-x", "answer": "accept", "choice": choice,
                "_sides": ["A", "B"], "_duel": {"A": {"candidate": a, "name": names[a]},
                                                 "B": {"candidate": b, "name": names[b]}}}

    # terse loses every duel (far below, sure); formal and casual draw (close): their duel teaches the most
    history = [duel(i, formal, terse, "left") for i in range(30)] + [duel(100 + i, casual, terse, "left")
                                                                      for i in range(30)] + \
        [duel(200 + i, formal, casual, "tie") for i in range(10)]
    assert t.rebuild(history) == 70
    chosen = Counter(frozenset((a.key, b.key)) for a, b in (t.choose(key) for key in range(3000)))
    assert all(len(pair) == 2 for pair in chosen)  # never a candidate against itself
    assert chosen[frozenset((formal, casual))] > 0.6 * 3000
    assert chosen[frozenset((formal, terse))] > 0 and chosen[frozenset((casual, terse))] > 0  # every pair can come
    assert [t.choose(key) for key in range(20)] == [t.choose(key) for key in range(20)]  # reproducible
    sides = Counter(t.choose(key)[0].key for key in range(3000) if {t.choose(key)[0].key, t.choose(key)[1].key}
                    == {formal, casual})
    assert min(sides.values()) > 0.4 * sum(sides.values())  # which one is A is a coin


# -- against the real test server ----------------------------------------------------------------------------
def test_the_preferred_style_leads_and_the_deviations_shrink(server: LLMServer, tmp_path: Path,
                                                              db_path: Path) -> None:
    t, summary, shown = session(server.url, tmp_path, db_path, prefers_formal(random.Random(3)))
    assert summary.error is None and summary.exhausted and len(shown) == 40
    board = t.leaderboard()
    assert board[0]["name"] == "formal.toml @ test-model" and board[0]["losses"] == 0
    assert board[0]["low"] > max(row["rating"] for row in board[1:])  # rating - 2 deviations above the others
    assert all(row["deviation"] < 0.5 * 350 for row in board) and all(row["duels"] >= 10 for row in board)
    assert "leader formal.toml @ test-model" in t.status() and "after 40 duels" in t.status()
    assert summary.note is not None and "Leader: formal.toml @ test-model" in summary.note
    # every duel is an answer with its provenance; the screen's fields say nothing of who wrote what
    answers = stored(db_path)
    assert len(answers) == 40 and {a["_view_id"] for a in answers} == {"compare"}
    with tuiannot.connect(db_path) as db:
        cached = db.cached_replies("tour", [a["_duel"][s]["cache_key"] for a in answers for s in "AB"])
    for answer in answers:
        duel = answer["_duel"]
        assert duel["A"]["candidate"] != duel["B"]["candidate"]
        assert {duel[s]["name"] for s in "AB"} <= {c.name for c in t.candidates}
        assert answer["outputs"]["A"]["text"] == cached[duel["A"]["cache_key"]]["text"]
        assert answer["outputs"]["B"]["text"] == cached[duel["B"]["cache_key"]]["text"]
        assert answer["winner"] in ("A", "B", "tie") and sorted(answer["_sides"]) == ["A", "B"]
        assert duel["url"] == server.url
    assert not any("response_format" in body for body in server.requests)  # free text: no schema sent
    assert len(server.requests) == 80  # two outputs a duel, each asked once
    report = tournament_report(answers, "tour")
    assert ratings(report["leaderboard"]) == ratings(board)
    assert report["duels"] == 40 and report["matrix"]["candidates"][0] == "formal.toml @ test-model"
    assert report["left_out"] == {"skipped": 0, "not a duel": 0}
    assert report["by_outcome"]["decided"] + report["by_outcome"]["tie"] == 40 and report["by_outcome"]["tie"] > 0
    assert [row[0] for row in report["matrix"]["wins"]] == [0, 0, 0]  # nobody beat the formal style
    assert report["confidence"]["pairs"][0]["probability"] > 0.95


def test_a_restart_resumes_the_ratings_and_never_asks_for_an_output_twice(server: LLMServer, tmp_path: Path,
                                                                          db_path: Path) -> None:
    decide = prefers_formal(random.Random(5))
    first, summary, shown = session(server.url, tmp_path, db_path, decide, limit=15)
    assert len(shown) == 15
    after_first = ratings(first.leaderboard())
    asked = len(server.requests)
    assert asked <= 2 * (15 + first.ahead + first.prefetch + 1)  # what was read ahead, not the whole source
    # a restart: the ratings are those of the stored duels before any new answer
    again = tournament(server.url, prompt_files(tmp_path), seed="ann", dataset="tour")
    assert again.rebuild(stored(db_path)) == 15
    assert ratings(again.leaderboard()) == after_first
    again.close()
    second, summary, shown_after = session(server.url, tmp_path, db_path, decide)
    assert summary.exhausted and len(shown_after) == 25  # the 15 inputs duelled are not asked again
    assert not {t["text"] for t in shown} & {t["text"] for t in shown_after}
    assert second.duels == 40
    assert ratings(second.leaderboard()) == ratings(tournament_report(stored(db_path), "tour")["leaderboard"])
    # outputs already generated (read ahead, not yet shown) came from the cache
    total = len(server.requests)
    assert total - asked + second.cached == 2 * 25
    # another annotator of this dataset (no overlap asked): each input has had its duel
    before = len(server.requests)
    other, _, shown_bob = session(server.url, tmp_path, db_path, decide, who="bob", limit=5)
    assert shown_bob == [] and len(server.requests) == before


def test_a_second_annotator_never_pays_for_an_output_again(server: LLMServer, tmp_path: Path,
                                                           db_path: Path) -> None:
    both = Routing(overlap="all")  # everyone duels every input
    source = reviews(tmp_path, 12)
    _, _, shown_ann = session(server.url, tmp_path, db_path, prefers_formal(random.Random(1)), source=source,
                              routing=both)
    assert len(shown_ann) == 12 and len(server.requests) == 24
    had = {duel["_duel"][side]["cache_key"] for duel in shown_ann for side in "AB"}
    _, _, shown_bob = session(server.url, tmp_path, db_path, prefers_formal(random.Random(2)), who="bob",
                              source=source, routing=both)
    assert len(shown_bob) == 12  # bob's own pairs (his seed), the same inputs
    outputs = [duel["_duel"][side] for duel in shown_bob for side in "AB"]
    assert all(output["cached"] == (output["cache_key"] in had) for output in outputs)
    new = {output["cache_key"] for output in outputs} - had
    assert 0 < len(new) < 24 and len(server.requests) == 24 + len(new)
    assert len(stored(db_path)) == 24


def test_an_answer_given_again_after_an_undo_replaces_its_duel(server: LLMServer, tmp_path: Path,
                                                               db_path: Path) -> None:
    t = tournament(server.url, prompt_files(tmp_path), seed="ann", dataset="tour",
                   cache=reply_cache(str(db_path), "tour"))
    stream = Stream(Source(reviews(tmp_path, 6))).reorder(t, keeps_order=True)
    stream.stop_hooks.append(t.stop)
    db = tuiannot.connect(db_path)
    controller = Controller(Components(dataset="tour", stream=stream, view_id="compare", **t.components()), db,
                            session="ann").start()
    try:
        for choice in ("left", "right", "tie"):
            task = controller.next_task(timeout=20)
            controller.answer(choice_answer(task, choice)[0], fields={"choice": choice})
        controller.sync_updates()
        controller.undo()  # the third duel again: now the left one is better
        controller.answer("accept", fields={"choice": "left"})
        controller.undo()
        controller.undo()  # the second one: skipped this time
        controller.answer("ignore")
        controller.sync_updates()
        controller.next_task(timeout=20)  # the third comes back: both bad after all
        controller.answer("reject", fields={"choice": "both-bad"})
        controller.sync_updates()
    finally:
        controller.close()
        db.close()
    answers = stored(db_path)
    assert [a.get("choice") for a in answers] == ["left", None, "both-bad"]
    assert t.duels == 2  # the skipped one is no duel
    rebuilt = tournament(server.url, prompt_files(tmp_path), seed="ann", dataset="tour")
    rebuilt.rebuild(answers)
    assert ratings(rebuilt.leaderboard()) == ratings(t.leaderboard())
    rebuilt.close()
    duels, left_out = duel_results(answers, "tour")
    assert len(duels) == 2 and left_out == Counter({"skipped": 1})


def test_identical_outputs_are_never_shown_and_are_counted(server: LLMServer, tmp_path: Path,
                                                           db_path: Path) -> None:
    server.models = ["model-a", "model-b"]  # the test server's reply depends on the prompt only
    t, summary, shown = session(server.url, tmp_path, db_path, prefers_formal(random.Random(1)),
                                prompts=prompt_files(tmp_path, ("formal",)), models=["model-a", "model-b"],
                                source=reviews(tmp_path, 8))
    assert [c.name for c in t.candidates] == ["formal.toml @ model-a", "formal.toml @ model-b"]
    assert shown == [] and summary.exhausted and t.problems == Counter({"identical outputs": 8})
    assert "left out: 8 identical outputs" in t.status()
    assert {body["model"] for body in server.requests} == {"model-a", "model-b"}


def test_a_server_that_stops_answering_ends_the_session_with_one_line(server: LLMServer, tmp_path: Path,
                                                                      db_path: Path) -> None:
    server.answer_limit = 6  # three duels, then the server drops every connection
    t, summary, shown = session(server.url, tmp_path, db_path, prefers_formal(random.Random(2)))
    assert 1 <= len(shown) <= 3
    assert summary.error is not None and "gave no outputs for 8 duels in a row" in summary.error
    assert "\n" not in summary.error and t.problems["server unavailable"] >= 8
    assert len(stored(db_path)) == len(shown)  # every answer given is kept


def test_the_server_and_the_prompts_are_checked_before_any_duel(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot reach"):
        tournament(dead_url(), prompt_files(tmp_path))
    with LLMServer(REPLIES) as s, pytest.raises(UserError, match="has no model 'nope'"):
        tournament(s.url, prompt_files(tmp_path), models=["nope"])
    with LLMServer(REPLIES) as s, pytest.raises(UserError, match="at least two candidates"):
        tournament(s.url, prompt_files(tmp_path, ("formal",)))
    with pytest.raises(UserError, match="--llm-concurrency"):
        tournament("http://127.0.0.1:1/v1", prompt_files(tmp_path), concurrency=0)
