"""Which output is better, on the real app and the command line: the compare view (every key, the blind order
stored and never on screen, ties, undo, stacking on a narrow terminal, the differences), the rank view, a
tournament against the test LLM server, ``compare-stats`` and ``tournament-stats``, and ``db-out --format
preference`` read back pair by pair."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Iterator

import pytest

import tuiannot
from tuiannot.components import Components
from tuiannot.controller import Controller
from tuiannot.data.compare import blind_sides, compare_judgements, winner_of
from tuiannot.llm import client as llm_client
from tuiannot.llm.tournament import tournament_report
from tuiannot.metrics.preference import compare_stats
from tuiannot.recipes import get_recipe

from .helpers import recipe_app, run, seed, stored, wait_done, wait_for_task, wait_until, warnings, write_jsonl
from .llm_server import LLMServer

pytestmark = pytest.mark.usefixtures("cli_env")

SECRET = "model-secret-7b"  # in each output record: kept beside the output (outputs.X.meta), never shown


def systems(tmp_path: Path, n: int = 6, long: bool = False) -> tuple[Path, Path]:
    """Two systems' outputs for ``n`` inputs, in files whose names must never reach the screen."""
    body = " ".join(f"line {k} of a long reply." for k in range(60)) if long else ""
    a = write_jsonl(tmp_path / "system_alpha.jsonl", [
        {"id": i, "input": {"text": f"Review {i}: the battery lasts two days."},
         "output": {"text": f"The battery is long-lasting, says review {i}. {body}"}, "model": SECRET}
        for i in range(n)])
    b = write_jsonl(tmp_path / "system_beta.jsonl", [
        {"id": i, "input": {"text": f"Review {i}: the battery lasts two days."},
         "output": {"text": f"A good battery, says review {i}. {body}"}, "model": SECRET} for i in range(n)])
    return a, b


def compare_app(db_path: Path, a: Path, b: Path, session: str = "ann") -> Any:
    """The real app over the compare recipe, as the command runs it (the session seeds the blind order)."""
    from tuiannot.screens.app import AnnotationApp

    components = Components.from_value(get_recipe("compare")("cmp", str(a), str(b), session=session), "compare")
    return AnnotationApp(Controller(components, tuiannot.connect(db_path), session).start())


def screen_lines(app: Any) -> list[str]:
    return ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]


def notes(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]  # noqa: SLF001


def review_is(i: int) -> Any:
    return lambda screen: screen.current_task["text"].startswith(f"Review {i}:")


def panes(app: Any) -> tuple[str, str]:
    return app.screen.query_one("#first").text, app.screen.query_one("#second").text


# -- the compare view -------------------------------------------------------------------------------------------
async def test_every_key_of_the_compare_view_stores_the_choice_and_what_it_means(tmp_path: Path,
                                                                                 db_path: Path) -> None:
    a, b = systems(tmp_path)
    app = compare_app(db_path, a, b)
    shown: dict[str, tuple[str, str]] = {}
    async with app.run_test(size=(120, 30)) as pilot:
        for i, keys in enumerate(["1", "2", "equals_sign", "x", "space"]):
            screen = await wait_for_task(pilot, predicate=review_is(i))
            shown[screen.current_task["text"]] = panes(app)
            if i == 0:  # a does nothing here (hidden from the keys), 3 has no output, i no model view
                await pilot.press("a", "3", "i")
                await pilot.pause()
                assert stored(db_path, "cmp") == [] and screen.current_task["text"].startswith("Review 0:")
                assert any("1: the first is better" in n for n in notes(app))
            await pilot.press(keys)
        await wait_for_task(pilot, predicate=review_is(5))
    rows = {r["text"]: r for r in stored(db_path, "cmp")}
    assert len(rows) == 5
    said = ["left", "right", "tie", "both-bad", None]
    for i, choice in enumerate(said):
        row = rows[f"Review {i}: the battery lasts two days."]
        assert row["_view_id"] == "compare" and sorted(row["_sides"]) == ["A", "B"]
        first, second = (row["outputs"][side]["text"] for side in row["_sides"])
        assert shown[row["text"]] == (first, second)  # the screen showed outputs[_sides[0]] first
        assert row["outputs"]["A"]["meta"] == {"model": SECRET}
        if choice is None:
            assert row["answer"] == "ignore" and "choice" not in row and "winner" not in row
        else:
            assert row["answer"] == ("reject" if choice == "both-bad" else "accept")
            assert row["choice"] == choice and row["winner"] == winner_of(choice, row["_sides"])
    assert {tuple(r["_sides"]) for r in rows.values()} == {("A", "B"), ("B", "A")}  # random per task


async def test_the_blind_order_is_never_on_screen(tmp_path: Path, db_path: Path) -> None:
    a, b = systems(tmp_path)
    app = compare_app(db_path, a, b)
    async with app.run_test(size=(120, 30)) as pilot:
        for i in range(4):
            await wait_for_task(pilot, predicate=review_is(i))
            for keys in ([], ["d"], ["question_mark"]):  # the differences marked, the help screen
                await pilot.press(*keys)
                await pilot.pause()
                text = "\n".join(screen_lines(app))
                for never in ("system_alpha", "system_beta", SECRET, "_sides", "_compare", "winner", "A:", "B:"):
                    assert never not in text, never
                if keys == ["question_mark"]:  # no accept, no model input and output: only what answers here
                    assert "the first output (left, or top) is better" in text and "=    " in text
                    assert "equals_sign" not in text and "prompt sent" not in text and "accept:" not in text
                    await pilot.press("escape")
                if keys == ["d"]:
                    await pilot.press("d")
            await pilot.press("1")


async def test_undo_shows_the_earlier_choice_and_answering_again_replaces_it(tmp_path: Path, db_path: Path) -> None:
    a, b = systems(tmp_path)
    app = compare_app(db_path, a, b)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_task(pilot, predicate=review_is(0))
        await pilot.press("equals_sign")
        await wait_for_task(pilot, predicate=review_is(1))
        await pilot.press("backspace")
        screen = await wait_for_task(pilot, predicate=review_is(0))
        assert "earlier answer: equally good" in "\n".join(screen_lines(app))
        await pilot.press("2")
        await wait_for_task(pilot, predicate=review_is(1))
        await pilot.press("space", "backspace")  # a skip after an undo keeps no choice
        await wait_for_task(pilot, predicate=review_is(1))
        assert "earlier answer: skipped" in "\n".join(screen_lines(app))
        await pilot.press("backspace")
        await wait_for_task(pilot, predicate=review_is(0))
        assert "earlier answer: the second is better" in "\n".join(screen_lines(app))
        assert screen.current_task["choice"] == "right"
    rows = stored(db_path, "cmp")
    assert len(rows) == 2  # replaced, not added
    first = next(r for r in rows if r["text"].startswith("Review 0:"))
    assert first["choice"] == "right" and first["winner"] == first["_sides"][1]
    second = next(r for r in rows if r["text"].startswith("Review 1:"))
    assert second["answer"] == "ignore" and "choice" not in second


@pytest.mark.parametrize(("size", "stacked"), [((120, 30), False), ((100, 30), False), ((99, 30), True),
                                               ((60, 24), True)])
async def test_the_outputs_are_side_by_side_or_stacked_on_a_narrow_terminal(tmp_path: Path, db_path: Path,
                                                                            size: tuple[int, int],
                                                                            stacked: bool) -> None:
    a, b = systems(tmp_path)
    app = compare_app(db_path, a, b)
    async with app.run_test(size=size) as pilot:
        await wait_for_task(pilot)
        first, second = app.screen.query_one("#first").region, app.screen.query_one("#second").region
        if stacked:
            assert first.x == second.x and first.bottom <= second.y and first.width == second.width
        else:
            assert first.y == second.y and first.right <= second.x
        assert first.height >= 3 and second.height >= 3  # room for text in each, even at 60x24
        lines = screen_lines(app)
        assert any(("first (top)" if stacked else "first (left)") in line for line in lines)
        assert any("Review 0:" in line for line in lines) and any("says review 0" in line for line in lines)


async def test_the_differences_toggle_and_each_side_scrolls(tmp_path: Path, db_path: Path) -> None:
    a, b = systems(tmp_path, long=True)
    app = compare_app(db_path, a, b)
    async with app.run_test(size=(100, 30), ) as pilot:
        screen = await wait_for_task(pilot)
        first, second = screen.query_one("#first"), screen.query_one("#second")
        assert first.marks == [] and second.marks == []
        await pilot.press("d")
        await pilot.pause()
        marked = {first.text: first.marked_words(), second.text: second.marked_words()}
        alpha, beta = first.text if first.text.startswith("The") else second.text, \
            second.text if first.text.startswith("The") else first.text
        assert marked[alpha] == ["The battery is long-lasting,"] and marked[beta] == ["A good battery,"]
        assert "differences marked" in "\n".join(screen_lines(app))
        await pilot.press("1")  # the marks stay on for the next task
        await wait_for_task(pilot, predicate=review_is(1))
        assert first.marks and second.marks
        await pilot.press("d")
        await pilot.pause()
        assert first.marks == [] and second.marks == []
        assert first.max_scroll_y > 0  # long outputs: j moves both, tab one at a time, then the input
        await pilot.press("j", "j")
        assert first.scroll_y == 2 and second.scroll_y == 2
        assert "2 lines above" in str(first.border_subtitle)
        await pilot.press("tab", "k")
        assert (first.scroll_y, second.scroll_y) == (1, 2) and first.has_class("-target")
        assert not second.has_class("-target")
        await pilot.press("tab", "pagedown")
        assert first.scroll_y == 1 and second.scroll_y > 2
        await pilot.press("tab")
        assert screen.query_one("#task").has_class("-target") and "scrolling the input" in \
            "\n".join(screen_lines(app))
        await pilot.press("tab")
        assert first.has_class("-target") and second.has_class("-target")


async def test_a_keymap_moves_the_compare_keys_and_the_hints_say_so(tmp_path: Path, db_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from tuiannot.screens.app import keymap_problem

    keymap = tmp_path / "keymap.json"
    keymap.write_text(json.dumps({"label_1": "f", "label_2": "g", "tie": "t", "differences": "v"}))
    monkeypatch.setenv("TUIANNOT_KEYMAP", str(keymap))
    assert "the key 'f' would do both 'flag' and 'label_1'" in str(keymap_problem(["compare"]))  # f flags, g guides
    keymap.write_text(json.dumps({"label_1": "f", "label_2": "g", "tie": "t", "differences": "v", "flag": "F",
                                  "guidelines": "G"}))
    assert keymap_problem(["compare"]) is None
    a, b = systems(tmp_path)
    app = compare_app(db_path, a, b)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, predicate=review_is(0))
        lines = "\n".join(screen_lines(app))
        assert " f  first (left)" in lines and " g  second (right)" in lines and "f first  g second  t equal" in lines
        await pilot.press("1", "f")
        await wait_for_task(pilot, predicate=review_is(1))
        await pilot.press("t")
        await wait_for_task(pilot, predicate=review_is(2))
        await pilot.press("q")
    assert app.return_code == 0
    assert [r["choice"] for r in stored(db_path, "cmp")] == ["left", "tie"]  # 1 no longer answers
    keymap.write_text(json.dumps({"differences": "x"}))
    assert "the key 'x' would do both" in str(keymap_problem(["compare"]))


def test_a_restart_goes_on_where_it_stopped_and_the_progress_is_the_pair_shown(tmp_path: Path,
                                                                                db_path: Path) -> None:
    a, b = systems(tmp_path)

    def session() -> Controller:
        components = Components.from_value(get_recipe("compare")("cmp", str(a), str(b), session="ann"), "compare")
        return Controller(components, tuiannot.connect(db_path), "ann").start()

    first = session()
    for _ in range(2):
        task = first.next_task(timeout=10)
        assert first.source_progress is not None  # the pair shown, not how far reading ahead has got
        first.answer("accept", fields={"choice": "left"})
    assert first.source_progress == pytest.approx(2 / 6)
    first.close()
    again = session()
    task = again.next_task(timeout=10)
    assert task is not None and task["text"].startswith("Review 2:") and again.source_progress == pytest.approx(3 / 6)
    assert task["_sides"] == blind_sides(task["_input_hash"], "ann")  # the same order as before: the session's seed
    again.close()


async def test_untrusted_outputs_are_shown_literally(tmp_path: Path, db_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [{"input": "x", "output": "[bold red]markup[/] \x1b[31mred"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"input": "x", "output": "plain"}])
    app = compare_app(db_path, a, b)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for_task(pilot)
        await pilot.press("d")
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert "[bold red]markup[/] ␛[31mred" in text and "\x1b" not in text


# -- the rank view ----------------------------------------------------------------------------------------------
RANKS = [{"prompt": "What is 2 + 2?", "responses": ["4", "22", {"id": "r2", "text": "four"}, "5"]},
         {"prompt": "Capital of France?", "responses": ["Paris", "Lyon"]},
         {"prompt": "no responses"},
         {"prompt": "Ten replies", "responses": [f"reply {k}" for k in range(10)]},
         {"prompt": "one reply", "responses": ["only"]},
         {"prompt": "Say hi", "responses": ["hi", "hello", "hey"]}]


def rank_app(tmp_path: Path, db_path: Path) -> Any:
    return recipe_app("rank", db_path, str(write_jsonl(tmp_path / "ranks.jsonl", RANKS)), session="ann")


def prompt_is(prompt: str) -> Any:
    return lambda screen: screen.current_task.get("prompt") == prompt


async def test_every_key_of_the_rank_view(tmp_path: Path, db_path: Path) -> None:
    app = rank_app(tmp_path, db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, predicate=prompt_is("What is 2 + 2?"))
        await pilot.press("a", "equals_sign")  # nothing ranked yet: refused; = needs one placed first
        await pilot.pause()
        assert any(n.startswith("Nothing ranked") for n in notes(app)) and any("place one first" in n
                                                                               for n in notes(app))
        await pilot.press("5")  # four responses
        assert any("has 4 responses" in n for n in notes(app))
        await pilot.press("3", "1", "equals_sign", "4")
        assert screen.tiers == [[2], [0, 3]]
        assert "ranking: 3 › 1 = 4 › …" in "\n".join(screen_lines(app))
        assert "2nd, tied" in "\n".join(screen_lines(app))
        await pilot.press("1")  # placed: it and those after it come out again
        assert screen.tiers == [[2]]
        await pilot.press("c", "2", "3", "1", "equals_sign", "equals_sign", "4")  # = twice: no tie
        assert screen.tiers == [[1], [2], [0], [3]]
        await pilot.press("c", "3", "1", "equals_sign", "4", "a")
        await wait_for_task(pilot, predicate=prompt_is("Capital of France?"))
        await pilot.press("1", "a")  # one key then a: the best
        screen = await wait_for_task(pilot, predicate=prompt_is("Ten replies"))
        await pilot.press("0", "9", "equals_sign", "1")
        assert screen.tiers == [[9], [8, 0]]
        await pilot.press("x")
        await wait_for_task(pilot, predicate=prompt_is("Say hi"))
        await pilot.press("space")
        await wait_done(pilot)
    rows = stored(db_path, "ranks")
    assert [(r["prompt"], r["answer"], r.get("ranking")) for r in rows] == [
        ("What is 2 + 2?", "accept", ["r2", [0, 3]]), ("Capital of France?", "accept", [0]),
        ("Ten replies", "reject", None), ("Say hi", "ignore", None)]
    assert {r["_view_id"] for r in rows} == {"rank"}
    summary = app.controller.close()
    source = tmp_path / "ranks.jsonl"
    assert summary.warnings == [f"{source}:3: no 'responses' list",
                                f"{source}:5: 'responses' has 1; a ranking takes 2 to 10 (the number keys 1-9, 0)"]


async def test_undo_in_the_rank_view_restores_the_ranking(tmp_path: Path, db_path: Path) -> None:
    app = rank_app(tmp_path, db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, predicate=prompt_is("What is 2 + 2?"))
        await pilot.press("4", "equals_sign", "2", "a")
        await wait_for_task(pilot, predicate=prompt_is("Capital of France?"))
        await pilot.press("backspace")
        await wait_for_task(pilot, predicate=prompt_is("What is 2 + 2?"))
        assert screen.tiers == [[3, 1]]
        await pilot.press("3", "a")
        await wait_for_task(pilot, predicate=prompt_is("Capital of France?"))
        await pilot.press("backspace")
        await wait_for_task(pilot, predicate=prompt_is("What is 2 + 2?"))
        await pilot.press("space")  # a skip keeps no ranking
        await wait_for_task(pilot, predicate=prompt_is("Capital of France?"))
    rows = stored(db_path, "ranks")
    assert len(rows) == 1 and rows[0]["answer"] == "ignore" and "ranking" not in rows[0]


# -- a tournament through the app ----------------------------------------------------------------------------------
STYLES = {"formal": "formally", "casual": "casually", "terse": "tersely"}
REPLIES = {"formally": "Dear reader, the product performs as described.", "casually": "yeah it's fine lol",
           "tersely": "Works."}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LLMServer]:
    monkeypatch.setattr(llm_client, "BACKOFF", 0.01)
    with LLMServer(REPLIES) as s:
        yield s


async def test_a_tournament_in_the_app_names_the_leader_and_never_the_candidates_of_a_duel(
        server: LLMServer, tmp_path: Path, db_path: Path) -> None:
    prompts = []
    for style, adverb in STYLES.items():
        path = tmp_path / f"{style}.toml"
        path.write_text(f'template = """Rewrite this review {adverb}:\n{{text}}"""\n', encoding="utf-8")
        prompts.append(str(path))
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": f"Review {i}: it works."} for i in range(14)])
    app = recipe_app("tournament", db_path, "tour", str(source), prompts=",".join(prompts), llm=server.url,
                     db=str(db_path), session="ann")
    rng = random.Random(1)
    names = [f"{style}.toml" for style in STYLES]
    async with app.run_test(size=(120, 30)) as pilot:
        for n in range(12):
            screen = await wait_for_task(pilot, predicate=lambda s, n=n: app.controller.session_answers == n)
            first, second = panes(app)
            lines = screen_lines(app)
            region = screen.query_one("#progress").region  # the status line: its rows (it wraps by item)
            status = " ".join(lines[region.y:region.bottom])
            # the ratings are updated off the key path: the status has this answer's, or the one before
            rated = [k for k in (n - 1, n) if k >= 0 and f"after {k} duel{'s' if k != 1 else ''}" in status]
            assert ("leader " in status and rated) or ("no duels yet" in status and n <= 1)
            rest = "\n".join(lines[:region.y] + lines[region.bottom:])
            assert not any(name in rest for name in names) and "test-model" not in rest
            await pilot.press("1" if first == REPLIES["formally"] else "2" if second == REPLIES["formally"]
                              else rng.choice(["1", "2", "equals_sign"]))
        await wait_until(pilot, lambda: app.controller.session_answers == 12, "12 duels")
        await wait_until(pilot, lambda: "leader formal.toml @ test-model" in "\n".join(screen_lines(app)),
                         "the formal style leading on the status line")
        assert screen.current_task is not None
    app.controller.close()
    report = tournament_report(stored(db_path, "tour"), "tour")
    assert report["duels"] == 12 and report["leaderboard"][0]["name"] == "formal.toml @ test-model"
    assert report["leaderboard"][0]["deviation"] < 350


def test_a_tournament_that_cannot_start_says_why_in_one_line_and_makes_no_dataset(
        capsys: pytest.CaptureFixture[str], server: LLMServer, tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": "Review: it works."}])
    good = tmp_path / "formal.toml"
    good.write_text('template = "Rewrite formally: {text}"\n', encoding="utf-8")
    for prompts, needle in ((f"{good},{tmp_path / 'missing.toml'}", "missing.toml: no such prompt file"),
                            (str(good), "a tournament needs at least two candidates")):
        code, out, err = run(capsys, "tournament", "tour", source, "--prompts", prompts, "--llm", server.url,
                             "--db", db_path)
        assert code == 1 and out == "" and err.count("\n") == 1 and needle in err, err
    code, _, err = run(capsys, "compare", "cmp", source, tmp_path / "nope.jsonl", "--db", db_path)
    assert code == 1 and err.count("\n") == 1 and "nope.jsonl" in err
    if db_path.exists():
        with tuiannot.connect(db_path) as db:
            assert not db.has_dataset("tour")


# -- compare-stats and tournament-stats -------------------------------------------------------------------------

def comparison(i: int, who: str, choice: str | None, sides: tuple[str, str] = ("A", "B")) -> dict[str, Any]:
    answer = {"text": f"input {i}", "outputs": {"A": {"text": f"a{i}"}, "B": {"text": f"b{i}"}},
              "_sides": list(sides), "_view_id": "compare", "_session_id": f"cmp-{who}",
              "_compare": {"A": {"source": "a.jsonl", "line": i + 1}, "B": {"source": "b.jsonl", "line": i + 1}},
              "answer": "ignore" if choice is None else "reject" if choice == "both-bad" else "accept"}
    if choice is not None:
        answer.update(choice=choice, winner=winner_of(choice, sides))
    return answer


def seed_comparisons(db_path: Path) -> list[dict[str, Any]]:
    rows = [comparison(i, "alice", "left" if i % 2 else "right", ("A", "B") if i % 2 else ("B", "A"))
            for i in range(9)]  # A wins 9
    rows += [comparison(9, "alice", "tie"), comparison(10, "alice", "both-bad"), comparison(11, "alice", None)]
    rows += [comparison(20 + i, "bob\x1b[31m", "left" if i < 2 else "right") for i in range(3)]  # A 2, B 1
    seed(db_path, "cmp", rows)
    return rows


def test_compare_stats_text_and_json(capsys: pytest.CaptureFixture[str], db_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    rows = seed_comparisons(db_path)
    code, out, err = run(capsys, "compare-stats", "cmp", "--json", "--db", db_path)
    assert code == 0 and err == ""
    report = json.loads(out)
    assert report["overall"] == compare_stats(compare_judgements(rows, "cmp")[0])["overall"]
    overall = report["overall"]
    assert (overall["wins_a"], overall["wins_b"], overall["ties"], overall["both_bad"]) == (11, 1, 1, 1)
    assert overall["preferred"] == "A" and overall["sign_test_p"] == pytest.approx(0.00634765625)
    assert report["by_annotator"]["alice"]["wins_a"] == 9 and report["left_out"] == {"skipped": 1}
    assert report["files"] == {"A": ["a.jsonl"], "B": ["b.jsonl"]} and report["comparisons"] == 14
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run(capsys, "compare-stats", "cmp", "--db", db_path)
    assert code == 0 and err == "" and "\x1b" not in out
    assert out.startswith("Dataset 'cmp': 14 comparisons by 2 annotators (A: a.jsonl; B: b.jsonl).\nLeft out: "
                          "1 skipped.\n")
    table = out.split("\n")[2:8]
    assert all(len(line) <= 80 for line in table)
    assert any(line.split()[:5] == ["(everyone)", "11", "1", "1", "1"] and "91.7%" in line and "0.006" in line
               for line in table)
    assert any(line.startswith("bob␛[31m") for line in table)
    assert "A is preferred: A won 11, B won 1, sign test p = 0.006 (below 0.05)." in out


def test_compare_stats_says_what_it_cannot_report(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    seed(db_path, "labels", [{"text": "x", "label": "POS", "answer": "accept", "_view_id": "classification"}])
    code, out, err = run(capsys, "compare-stats", "labels", "--db", db_path)
    assert code == 1 and out == "" and err == "error: dataset 'labels' has no compare answers (tuiannot compare " \
                                               "stores them)\n"
    code, _, err = run(capsys, "tournament-stats", "labels", "--db", db_path)
    assert code == 1 and "has no tournament duels" in err and err.count("\n") == 1
    code, _, err = run(capsys, "compare-stats", "missing", "--db", db_path)
    assert code == 1 and err.startswith("error: no dataset named 'missing'")


def duel(i: int, a: str, b: str, choice: str, names: dict[str, str]) -> dict[str, Any]:
    return {"text": f"t{i}", "_input_hash": i, "_session_id": "tour-ann", "_view_id": "compare",
            "answer": "reject" if choice == "both-bad" else "accept", "choice": choice, "_sides": ["A", "B"],
            "outputs": {"A": {"text": f"{a} says {i}"}, "B": {"text": f"{b} says {i}"}},
            "_duel": {"A": {"candidate": a, "name": names[a]}, "B": {"candidate": b, "name": names[b]}}}


def test_tournament_stats_text_and_json(capsys: pytest.CaptureFixture[str], db_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    names = {"k1": "formal.toml @ m", "k2": "casual\x1b[2J.toml @ m", "k3": "terse.toml @ m"}
    rows = [duel(i, "k1", "k2" if i % 2 else "k3", "left", names) for i in range(10)]
    rows += [duel(10, "k2", "k3", "tie", names), duel(11, "k3", "k2", "both-bad", names),
             duel(12, "k2", "k3", "right", names), {**duel(13, "k1", "k2", "left", names), "answer": "ignore"}]
    seed(db_path, "tour", rows)
    code, out, err = run(capsys, "tournament-stats", "tour", "--json", "--db", db_path)
    assert code == 0 and err == ""
    report = json.loads(out)
    assert report == {"dataset": "tour", **json.loads(json.dumps(tournament_report(rows, "tour")))}
    assert report["duels"] == 13 and report["left_out"] == {"skipped": 1, "not a duel": 0}
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run(capsys, "tournament-stats", "tour", "--db", db_path)
    assert code == 0 and err == "" and "\x1b" not in out and all(len(line) <= 80 for line in out.splitlines()[:12])
    lines = out.splitlines()
    assert lines[0] == "Dataset 'tour': 13 duels (11 decided, 1 tie, 1 both bad); left out: 1 skipped."
    board = [line.split() for line in lines if line.strip()[:2] in ("1 ", "2 ", "3 ")][:3]
    assert board[0][:2] == ["1", "formal.toml"] and board[0][-4:] == ["10", "10", "0", "0"]
    assert "casual␛[2J.toml" in out
    assert "formal.toml @ m > " in out and "The whole order: each step at least" in out


# -- db-out --format preference ---------------------------------------------------------------------------------
def test_the_preference_export_read_back_pair_by_pair(capsys: pytest.CaptureFixture[str], db_path: Path,
                                                      tmp_path: Path) -> None:
    names = {"k1": "formal.toml @ m", "k2": "casual.toml @ m"}
    rows = [
        {"prompt": "p1", "responses": ["r0", "r1", {"id": "x", "text": "r2"}], "ranking": ["x", [0, 1]],
         "answer": "accept", "_view_id": "rank"},  # x > 0, x > 1; 0 = 1 tied
        {"prompt": "p2", "responses": ["s0", "s1", "s2"], "ranking": [1], "answer": "accept", "_view_id": "rank"},
        {"prompt": "p3", "responses": ["t0", "t1"], "ranking": [0], "answer": "reject", "_view_id": "rank"},
        comparison(0, "alice", "right", ("B", "A")),  # A wins: a0 > b0, the prompt is the input
        comparison(1, "alice", "tie"), comparison(2, "alice", "both-bad"), comparison(3, "alice", None),
        duel(4, "k1", "k2", "right", names),  # B (casual) wins
        {"prompt": "p4", "responses": ["u0", "u1"], "ranking": [7], "answer": "accept", "_view_id": "rank"},
        {"prompt": "p5", "response": "v", "replies": ["w0", "w1", "w2"], "answers": {"best": [2, 0, 1]},
         "_questions": [{"name": "best", "type": "ranking", "field": "replies"}], "answer": "accept",
         "_view_id": "feedback"},
        {"text": "plain", "label": "POS", "answer": "accept", "_view_id": "classification"},
    ]
    seed(db_path, "pref", rows)
    out = tmp_path / "pairs.jsonl"
    code, _, err = run(capsys, "db-out", "pref", out, "--format", "preference", "--db", db_path)
    assert code == 0
    pairs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert pairs == [
        {"prompt": "p1", "chosen": "r2", "rejected": "r0"}, {"prompt": "p1", "chosen": "r2", "rejected": "r1"},
        {"prompt": "p2", "chosen": "s1", "rejected": "s0"}, {"prompt": "p2", "chosen": "s1", "rejected": "s2"},
        {"prompt": "input 0", "chosen": "a0", "rejected": "b0"},
        {"prompt": "t4", "chosen": "k2 says 4", "rejected": "k1 says 4"},
        {"prompt": "p5", "chosen": "w2", "rejected": "w0"}, {"prompt": "p5", "chosen": "w2", "rejected": "w1"},
        {"prompt": "p5", "chosen": "w0", "rejected": "w1"}]
    [warning] = warnings(err)  # naming the answer's line in the JSONL export
    assert warning.startswith("warning: pref answer 9 (input hash ") and warning.endswith(
        "): the ranking names 7, which is not among the responses' ids: no preference pair written")
    assert ("Preference pairs: 9 pairs (4 from rank, 1 from compare, 1 from tournament, 3 from feedback); left out: "
            "1 not ranked pair, 1 tied pair; answers giving no pair: 1 both bad, 1 malformed, 1 not a preference "
            "answer, 1 rejected, 1 skipped, 1 tie.") in err
    assert "Exported 9 records (preference)" in err and "1 answer not exported" in err
    code, _, err = run(capsys, "db-out", "pref", tmp_path / "x.jsonl", "--format", "doccano", "--db", db_path)
    assert code == 0 and any("a preference answer (which reply is better)" in w for w in warnings(err))


@pytest.mark.parametrize("command", [["iaa", "prefs"], ["aggregate", "prefs", "--output", "final"],
                                     ["progress", "prefs"]])
def test_team_reports_refuse_preference_answers_in_one_line(command: list[str], db_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    seed(db_path, "prefs", [{"text": "q", "input": {"text": "q"}, "outputs": {"A": {"text": "a"}, "B": {"text": "b"}},
                             "answer": "accept", "choice": "left", "winner": "A", "_view_id": "compare",
                             "_session_id": f"prefs-{who}"} for who in ("ann", "bob")])
    code, _, err = run(capsys, *command, "--db", db_path)
    assert code == 1 and "compare-stats and tournament-stats report them" in err and len(err.splitlines()) == 1


def test_review_refuses_preference_datasets_in_one_line(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(db_path, "prefs", [{"text": "q", "input": {"text": "q"}, "outputs": {"A": {"text": "a"}, "B": {"text": "b"}},
                             "answer": "accept", "choice": "left", "winner": "A", "_view_id": "compare",
                             "_session_id": f"prefs-{who}"} for who in ("ann", "bob")])
    code, _, err = run(capsys, "review", "prefs", "--output", "final", "--db", db_path)
    assert code == 1 and "compare-stats and tournament-stats report them" in err and len(err.splitlines()) == 1
