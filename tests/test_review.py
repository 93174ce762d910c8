"""The review screen: versions side by side, majority preselected, pick, edit, provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tuiannot
from tuiannot.controller import Controller, answer_all
from tuiannot.errors import UserError
from tuiannot.recipes import Components, get_recipe
from tuiannot.screens.choice import ChoiceScreen
from tuiannot.screens.review import ReviewScreen, VersionEditor
from tuiannot.screens.spans import SpanScreen
from tuiannot.screens.widgets.span_text import SpanText
from tuiannot.team.routing import Routing

from .helpers import recipe_app, seed, stored, tokens, vote, wait_done, wait_for_task, wait_until, write_jsonl

OPTIONS = [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"}]


def choice(text: str, who: str, accept: list[str], answer: str = "accept") -> dict:
    return {"text": text, "options": OPTIONS, "accept": accept, "answer": answer, "_view_id": "choice",
            "_session_id": f"votes-{who}", "_annotator_id": f"votes-{who}"}


def seed_choices(db_path: Path) -> None:
    seed(db_path, "votes", [
        choice("good film", "alice", ["POS"]), choice("good film", "bob", ["POS"]),
        choice("good film", "carol", ["NEG"]),
        choice("all agree", "alice", ["NEG"]), choice("all agree", "bob", ["NEG"]),
        choice("meh film", "alice", ["POS"]), choice("meh film", "bob", ["NEG"]),
        choice("meh film", "carol", [], "reject"),
    ])


def review_app(db_path: Path, datasets: str = "votes", **args):
    return recipe_app("review", db_path, datasets, output="final", db=str(db_path), session="lead", **args)


async def test_majority_preselected_pick_another_and_provenance(db_path: Path) -> None:
    seed_choices(db_path)
    app = review_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="good film")
        assert [v["sessions"] for v in screen.versions] == [["alice", "bob"], ["carol"]]
        assert screen.chosen == 0
        panel = str(screen.query_one("#question").render())
        assert "2× [alice, bob] ACCEPT: POS" in panel and "1× [carol] ACCEPT: NEG" in panel
        await pilot.press("a")  # keep the majority
        await wait_for_task(pilot, text="all agree")
        await pilot.press("a")
        screen = await wait_for_task(pilot, text="meh film")
        await pilot.press("2", "a")  # pick bob's NEG
        await wait_done(pilot)
    rows = {r["text"]: r for r in stored(db_path, "final")}
    assert rows["good film"]["accept"] == ["POS"] and rows["good film"]["answer"] == "accept"
    assert rows["good film"]["_review"]["chosen"] == 0 and rows["good film"]["_review"]["reviewer"] == "lead"
    assert rows["good film"]["_review"]["annotators"] == ["alice", "bob", "carol"]
    assert rows["good film"]["_view_id"] == "choice" and rows["good film"]["_session_id"] == "final-lead"
    assert rows["meh film"]["accept"] == ["NEG"] and rows["meh film"]["_review"]["chosen"] == 1
    assert len(rows) == 3


async def test_edit_a_version_in_the_normal_view(db_path: Path) -> None:
    seed_choices(db_path)
    app = review_app(db_path, only_conflicts=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, text="good film")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await wait_for_task(pilot, app.screen)
        assert app.screen.selected == ["POS"]  # the picked version, ready to edit
        await pilot.press("2", "a")  # POS and NEG
        screen = await wait_for_task(pilot, text="meh film")  # "all agree" is skipped with --only-conflicts
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("e", "backspace")  # leaving the editor changes nothing
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and screen.current_task["text"] == "meh film"
    rows = {r["text"]: r for r in stored(db_path, "final")}
    assert rows["good film"]["accept"] == ["POS", "NEG"] and rows["good film"]["_review"]["chosen"] == "edited"
    assert "all agree" not in rows


def span_answer(text: str, who: str, spans: list[tuple[int, int, str]]) -> dict:
    return {"text": text, "tokens": tokens(text), "answer": "accept", "_view_id": "ner_manual",
            "_session_id": f"ents-{who}", "spans": [{"start": s, "end": e, "label": label} for s, e, label in spans]}


async def test_span_versions_mark_the_differences(db_path: Path) -> None:
    text = "Acme Corp hired Ann Lee."
    seed(db_path, "ents", [span_answer(text, "alice", [(0, 9, "ORG"), (16, 23, "PERSON")]),
                           span_answer(text, "bob", [(0, 4, "ORG"), (16, 23, "PERSON")])])
    app = review_app(db_path, datasets="ents")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        panel = str(screen.query_one("#question").render())
        assert "≠Acme Corp▕ORG" in panel and "≠Acme▕ORG" in panel and "Ann Lee▕PERSON" in panel
        assert "≠Ann Lee" not in panel  # both versions have it
        widget = screen.query_one("#text", SpanText)
        assert "Acme Corp▕ORG" in widget.visible_text()
        await pilot.press("2")
        assert "Acme▕ORG Corp" in widget.visible_text()
        await pilot.press("e")
        await wait_for_task(pilot, SpanScreen)
        assert app.screen.labels == ["ORG", "PERSON"]
        await pilot.press("home", "d", "shift+right", "1", "a")  # fix it: Acme Corp is the ORG
        await wait_done(pilot)
    row = stored(db_path, "final")[0]
    assert [(text[s["start"]:s["end"]], s["label"]) for s in row["spans"]] == [
        ("Acme Corp", "ORG"), ("Ann Lee", "PERSON")]
    assert row["_view_id"] == "ner_manual" and row["_review"]["chosen"] == "edited"


def test_review_errors(db_path: Path) -> None:
    seed_choices(db_path)
    with pytest.raises(UserError, match="no dataset named 'nope'"):
        get_recipe("review")("nope", output="final", db=str(db_path))
    with pytest.raises(UserError, match="must be a new dataset"):
        get_recipe("review")("votes", output="votes", db=str(db_path))
    seed(db_path, "calm", [choice("x", "alice", ["POS"]), choice("x", "bob", ["POS"])])
    with pytest.raises(UserError, match="no conflicts"):
        get_recipe("review")("calm", output="final", db=str(db_path), only_conflicts=True)


def title_of(screen) -> str:
    return str(screen.query_one("#title").render())


async def test_edit_mode_says_whose_version_and_escape_goes_back_storing_nothing(db_path: Path) -> None:
    """Issue 14: nothing said the screen was an editor nor how to leave it (only backspace did, as 'Undo')."""
    seed_choices(db_path)
    app = review_app(db_path, only_conflicts=True)
    async with app.run_test(size=(100, 30)) as pilot:
        review = await wait_for_task(pilot, text="good film")
        assert "EDITING" not in title_of(review)
        await pilot.press("2", "e")  # carol's version
        editor = await wait_for_task(pilot, ChoiceScreen)
        assert isinstance(editor, VersionEditor) and editor.selected == ["NEG"]
        title = title_of(editor)
        assert "EDITING" in title and "carol's version" in title and "final answers into dataset final" in title
        assert " a  keeps it as the final answer" in title
        assert " esc  goes back to the versions, nothing stored" in title
        footer = {b.binding.id: k for k, b in app.active_bindings.items() if b.binding.show}
        assert footer.get("leave_editor") == "escape" and "undo" not in footer  # backspace leaves too, unlisted
        assert ("escape", "back to the versions, storing nothing") in editor.active_bindings_help()
        await pilot.press("1", "escape")  # a change, then leave
        await wait_until(pilot, lambda: app.screen is review, "back on the review screen")
        assert review.current_task["text"] == "good film" and review.chosen == 1
        assert "EDITING" not in title_of(review)
        await pilot.press("e")  # the editor opens again on the version as it was stored
        editor = await wait_for_task(pilot, ChoiceScreen)
        assert editor.selected == ["NEG"] and "carol's version" in title_of(editor)
        await pilot.press("backspace")
        await wait_until(pilot, lambda: app.screen is review, "back on the review screen")
        assert app.controller.session_answers == 0
    assert stored(db_path, "final") == []


async def test_submitting_in_edit_mode_stores_one_reviewed_answer(db_path: Path) -> None:
    seed_choices(db_path)
    app = review_app(db_path, only_conflicts=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, text="good film")
        await pilot.press("e")
        editor = await wait_for_task(pilot, ChoiceScreen)
        assert "the version of alice and bob" in title_of(editor)
        await pilot.press("2", "a")  # POS and NEG, kept as the final answer
        review = await wait_for_task(pilot, text="meh film")
        assert app.screen is review
    rows = stored(db_path, "final")
    assert len(rows) == 1
    row = rows[0]
    assert row["text"] == "good film" and row["answer"] == "accept" and row["accept"] == ["POS", "NEG"]
    assert row["_review"]["chosen"] == "edited" and row["_review"]["reviewer"] == "lead"
    assert row["_review"]["annotators"] == ["alice", "bob", "carol"] and row["_session_id"] == "final-lead"


async def test_the_edit_banner_names_the_keys_of_the_users_keymap(tmp_path: Path, db_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    keymap = tmp_path / "keymap.json"
    keymap.write_text(json.dumps({"accept": "y", "leave_editor": "ctrl+b"}))
    monkeypatch.setenv("TUIANNOT_KEYMAP", str(keymap))
    from tuiannot.screens.app import keymap_problem

    assert keymap_problem(["review", "choice"]) is None  # the editor's own binding id is known: no refusal
    keymap.write_text(json.dumps({"leave_editor": "a"}))  # the editor's accept key given to leaving it too
    assert "would do both" in (keymap_problem(["review"]) or "")
    keymap.write_text(json.dumps({"accept": "y", "leave_editor": "ctrl+b"}))
    seed_choices(db_path)
    app = review_app(db_path, only_conflicts=True)
    async with app.run_test(size=(100, 30)) as pilot:
        review = await wait_for_task(pilot, text="good film")
        assert "number = pick · y = keep it · e = edit it" in str(review.query_one("#question").render())
        await pilot.press("e")
        editor = await wait_for_task(pilot, ChoiceScreen)
        title = title_of(editor)
        assert " y  keeps it" in title and " ctrl+b  goes back to the versions" in title and " esc " not in title
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: app.screen is review, "back on the review screen")


async def test_s_lists_the_picked_versions_spans_in_a_span_review(db_path: Path) -> None:
    from tuiannot.screens.widgets.span_list import SpanList

    text = "Acme Corp hired Ann Lee."
    seed(db_path, "ents", [span_answer(text, "alice", [(0, 9, "ORG"), (16, 23, "PERSON")]),
                           span_answer(text, "bob", [(0, 4, "ORG")])])
    app = review_app(db_path, datasets="ents")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        span_list = screen.query_one(SpanList)
        assert not span_list.display
        await pilot.press("s")
        await pilot.pause()
        rows = span_list.row_texts()
        assert span_list.display and len(rows) == 2, rows
        assert "ORG" in rows[0] and "Acme Corp" in rows[0] and "PERSON" in rows[1] and "Ann Lee" in rows[1]
        await pilot.press("2")  # the other version: its one span
        await pilot.pause()
        rows = span_list.row_texts()
        assert len(rows) == 1 and "Acme" in rows[0] and "Acme Corp" not in rows[0], rows
        assert dict(screen.active_bindings_help())["s"].startswith("show or hide the list of the picked version")
        await pilot.press("s")
        assert not span_list.display
    seed_choices(db_path)
    app = review_app(db_path, datasets="votes")
    async with app.run_test(size=(100, 30)) as pilot:  # a review of choices: no span list, no s in the help
        screen = await wait_for_task(pilot, text="good film")
        await pilot.pause()
        assert "s" not in dict(screen.active_bindings_help())


async def test_escape_in_the_span_editor_clears_a_selection_first_then_leaves(db_path: Path) -> None:
    text = "Acme Corp hired Ann Lee."
    seed(db_path, "ents", [span_answer(text, "alice", [(0, 9, "ORG")]), span_answer(text, "bob", [(0, 4, "ORG")])])
    app = review_app(db_path, datasets="ents")
    async with app.run_test(size=(100, 30)) as pilot:
        review = await wait_for_task(pilot, text=text)
        await pilot.press("e")
        editor = await wait_for_task(pilot, SpanScreen)
        assert "alice's version" in title_of(editor) and " esc  goes back" in title_of(editor)
        await pilot.press("shift+right")
        assert editor.anchor is not None
        await pilot.press("escape")  # as in the span views: the selection goes, the editor stays
        assert app.screen is editor and editor.anchor is None
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is review, "back on the review screen")
        assert app.controller.session_answers == 0


async def test_review_names_annotators_as_they_typed_their_session(tmp_path: Path, db_path: Path) -> None:
    """Issue 14: review showed 'team-alice' (the stored session id) where progress and stats show 'alice'."""
    source = write_jsonl(tmp_path / "films.jsonl", [{"text": "good film"}, {"text": "bad film"}])
    for who, label in (("alice", "POS"), ("bob", "NEG")):  # tuiannot textcat ... --overlap all --session alice
        components = Components.from_value(get_recipe("textcat")(str(source), label="POS,NEG", dataset="team"))
        controller = Controller(components, tuiannot.connect(db_path), who, routing=Routing(overlap="all")).start()
        assert answer_all(controller, lambda task, label=label: ("accept", [label])) == 2
        controller.close()
    assert {r["_session_id"] for r in stored(db_path, "team")} == {"team-alice", "team-bob"}  # Prodigy's ids
    app = recipe_app("review", db_path, "team", output="final", db=str(db_path), session="lead")
    async with app.run_test(size=(100, 30)) as pilot:
        review = await wait_for_task(pilot, text="good film")
        panel = str(review.query_one("#question").render())
        assert "1× [alice] ACCEPT: POS" in panel and "1× [bob] ACCEPT: NEG" in panel and "team-" not in panel
        assert "2 versions from 2 annotators" in panel
        await pilot.press("e")
        editor = await wait_for_task(pilot, ChoiceScreen)
        assert "alice's version" in title_of(editor) and "team-" not in title_of(editor)
        await pilot.press("a")
        await wait_for_task(pilot, text="bad film")
    row = stored(db_path, "final")[0]
    assert row["_review"]["annotators"] == ["alice", "bob"] and row["_review"]["reviewer"] == "lead"
    assert [v["sessions"] for v in row["_review"]["versions"]] == [["alice"], ["bob"]]


# -- what a review reads (issue 15: the first item of a million answers took 43 s and 4 GB) -------------------------
class ReadsRecorded:
    """A database whose whole answers, read through it, are recorded by id (``answers``, ``answers_by_id``)."""

    def __init__(self, db, read: list[int]) -> None:
        self.db, self.read = db, read

    def __getattr__(self, name: str):
        return getattr(self.db, name)

    def __enter__(self) -> "ReadsRecorded":
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()

    def answers(self, *args, **kwargs):
        for answer in self.db.answers(*args, **kwargs):
            self.read.append(answer["_answer_id"])
            yield answer

    def answers_by_id(self, ids):
        for answer in self.db.answers_by_id(ids):
            self.read.append(answer["_answer_id"])
            yield answer


def test_the_first_item_is_made_before_the_other_inputs_answers_are_read(db_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The items are decided from compact rows; an input's whole answers are read when the stream reaches it."""
    import tuiannot.storage

    films = [f"film {i}" for i in range(60)]
    seed(db_path, "votes", [choice(film, who, [label]) for who, label in (("alice", "POS"), ("bob", "NEG"))
                            for film in films] + [choice("calm", "alice", ["POS"]), choice("calm", "bob", ["POS"])])
    ids = {film: [a["_answer_id"] for a in stored(db_path, "votes") if a["text"] == film] for film in films}
    read: list[int] = []
    real = tuiannot.storage.connect
    monkeypatch.setattr(tuiannot.storage, "connect", lambda location=None: ReadsRecorded(real(location), read))
    components = Components.from_value(get_recipe("review")("votes", output="final", only_conflicts=True,
                                                            db=str(db_path)), "review")
    assert read == []  # nothing decoded to decide the items
    items = iter(components.stream)
    first = next(items)
    assert first["text"] == "film 0" and [v["sessions"] for v in first["_review"]["versions"]] == [["alice"], ["bob"]]
    assert sorted(read) == ids["film 0"]  # its own answers, none of the 59 inputs after it
    assert [t["text"] for t in items] == films[1:]  # then every other conflict, in order; "calm" agrees
    assert sorted(read) == sorted(i for given in ids.values() for i in given)  # each read once


def test_the_stream_is_what_a_pass_over_every_answer_makes(db_path: Path) -> None:
    """The items, their order, versions, preselection and provenance, and the labels, as :func:`review_tasks`
    makes them from every answer: across two datasets, gold questions left out, an annotator's latest answer."""
    from tuiannot.recipes.review import review_tasks

    options = [*OPTIONS, {"id": "NEU", "text": "neutral"}]
    seed(db_path, "votes", [
        {**choice("good film", "alice", ["POS"]), "_timestamp": 1_700_000_000}, choice("good film", "bob", ["NEG"]),
        choice("tie", "alice", ["POS"]), choice("tie", "bob", ["NEG"]), choice("tie", "carol", [], "ignore"),
        choice("agreed", "alice", ["NEG"]), choice("agreed", "bob", ["NEG"]),
        {**choice("gold", "alice", ["POS"]), "_gold": {"accept": ["POS"]}}, choice("gold", "bob", ["NEG"]),
    ])
    seed(db_path, "more", [
        {**choice("good film", "alice", ["NEG"]), "_session_id": "more-alice", "_annotator_id": "more-alice",
         "_timestamp": 1_700_000_500, "options": options},  # the task's options: its last answer's
        {**choice("agreed", "carol", ["POS"]), "_session_id": "more-carol", "_annotator_id": "more-carol"},
    ])
    with tuiannot.connect(db_path) as db:
        every = [(name, answer) for name in ("votes", "more") for answer in db.answers(name)]
    for only_conflicts, texts in ((True, ["tie", "agreed"]), (False, ["good film", "tie", "agreed", "gold"])):
        components = get_recipe("review")("votes,more", output="final", only_conflicts=only_conflicts,
                                          db=str(db_path))
        items = list(components["stream"])
        assert items == list(review_tasks(every, only_conflicts))
        assert [t["text"] for t in items] == texts and len(components["stream"]) == len(texts)
        assert components["labels"] == (["POS", "NEG"] if only_conflicts else ["NEG", "POS", "NEU"])
    good = items[0]["_review"]  # alice changed her mind in "more": both now say NEG
    assert good["versions"] == [{"answer": "accept", "sessions": ["alice", "bob"], "accept": ["NEG"]}]
    assert [v["sessions"] for v in items[1]["_review"]["versions"]] == [["alice"], ["bob"], ["carol"]]


def test_what_cannot_be_reviewed_is_refused_before_the_first_item(db_path: Path) -> None:
    seed_choices(db_path)
    seed(db_path, "ds", [vote("another film", "alice", "accept")])
    review = get_recipe("review")
    with pytest.raises(UserError, match=r"the datasets mix views \(choice, classification\)"):
        review("votes,ds", output="final", db=str(db_path))
    seed(db_path, "mixed", [choice("x", "alice", ["POS"]), {**vote("x", "bob", "accept"), "_session_id": "mixed-bob"}])
    with pytest.raises(UserError, match=r"input -?\d+: answers from different views"):
        review("mixed", output="final", db=str(db_path))
    seed(db_path, "photos", [{"image": "cat.jpg", "label": "CAT", "answer": who_said, "_view_id": "classification",
                              "_session_id": f"photos-{who}"} for who, who_said in (("alice", "accept"),
                                                                                    ("bob", "reject"))])
    with pytest.raises(UserError, match="reviewing image datasets is not supported yet"):
        review("photos", output="final", db=str(db_path))
    seed(db_path, "fb", [{"text": "q", "answer": "accept", "_view_id": "feedback", "_session_id": f"fb-{who}",
                          "_questions": [{"name": "fix", "kind": "text", "text": asked}], "answers": {"fix": "ok"}}
                         for who, asked in (("alice", "What is wrong?"), ("bob", "What would you change?"))])
    with pytest.raises(UserError, match="fb: the feedback answers were given to different questions"):
        review("fb", output="final", db=str(db_path))
