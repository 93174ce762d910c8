"""Span annotation: tokens, alignment, suggestions, and every key of the span view (Pilot)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tuiannot.errors import UserError
from tuiannot.recipes import Components, get_recipe
from tuiannot.screens.widgets.span_text import SpanText
from tuiannot.nlp.spans import check_tokens, tokens_from_words

from .helpers import recipe_app, stored, wait_for_task, write_jsonl

TEXT = "Acme Corp hired Ann Lee in Berlin last week."
# tokens:  0 Acme 1 Corp 2 hired 3 Ann 4 Lee 5 in 6 Berlin 7 last 8 week 9 .


def ner_app(source: Path, db_path: Path, labels: str = "PERSON,ORG,LOC", recipe: str = "ner", **args):
    return recipe_app(recipe, db_path, str(source), label=labels, **args)


def spans_of(row: dict) -> list[tuple[str, str]]:
    return [(row["text"][s["start"]:s["end"]], s["label"]) for s in row["spans"]]


async def test_select_extend_label_and_accept(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": TEXT}, {"text": "Second one."}])
    app = ner_app(source, db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        assert screen.cursor == 0
        await pilot.press("shift+right", "2")  # Acme Corp -> ORG
        assert screen.cursor == 2  # on to the next word
        await pilot.press("right", "shift+right", "1")  # Ann Lee -> PERSON
        await pilot.press("l", "6")  # 6: no sixth label: nothing
        await pilot.press("3")  # Berlin (the token under the cursor) -> LOC
        await pilot.press("a")
        await wait_for_task(pilot, text="Second one.")
    row = stored(db_path, "notes")[0]
    assert spans_of(row) == [("Acme Corp", "ORG"), ("Ann Lee", "PERSON"), ("Berlin", "LOC")]
    assert [(s["token_start"], s["token_end"]) for s in row["spans"]] == [(0, 1), (3, 4), (6, 6)]
    assert row["_view_id"] == "ner_manual" and row["answer"] == "accept"
    assert [t["text"] for t in row["tokens"]][:3] == ["Acme", "Corp", "hired"]
    assert row["tokens"][0] == {"text": "Acme", "start": 0, "end": 4, "id": 0, "ws": True}


async def test_cursor_keys_home_end_h_l_and_extend_left(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": TEXT}])
    app = ner_app(source, db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        await pilot.press("end")
        assert screen.cursor == 9
        await pilot.press("left", "h")
        assert screen.cursor == 7
        await pilot.press("home")
        assert screen.cursor == 0
        await pilot.press("left")  # stays at the first token
        assert screen.cursor == 0
        await pilot.press("end", "left", "shift+left", "shift+left")  # week, last, Berlin
        assert (screen.anchor, screen.cursor) == (8, 6)
        await pilot.press("escape")
        assert screen.anchor is None
        await pilot.press("shift+left", "3")  # in..Berlin? no: selection from Berlin(6) to in(5)
        await pilot.press("a")
        await wait_for_task(pilot)
    assert spans_of(stored(db_path, "notes")[0]) == [("in Berlin", "LOC")]


async def test_up_and_down_move_by_wrapped_line(tmp_path: Path, db_path: Path) -> None:
    words = [f"w{i:02d}" for i in range(60)]
    text = " ".join(words)
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": text}])
    app = ner_app(source, db_path)
    async with app.run_test(size=(40, 30)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        widget = screen.query_one("#text", SpanText)
        line0, _ = widget.token_position(0)
        await pilot.press("down")
        line1, col1 = widget.token_position(screen.cursor)
        assert line1 == line0 + 1 and col1 == 0
        await pilot.press("right", "right", "down", "j")
        line3, col3 = widget.token_position(screen.cursor)
        assert line3 == line0 + 3 and col3 == widget.token_position(screen.cursor)[1]
        await pilot.press("up", "k")
        assert widget.token_position(screen.cursor)[0] == line0 + 1


async def test_remove_and_jump_between_spans(tmp_path: Path, db_path: Path) -> None:
    given = [{"start": 0, "end": 9, "label": "ORG"}, {"start": 16, "end": 23, "label": "PERSON"},
             {"start": 27, "end": 33, "label": "LOC"}]
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": TEXT, "spans": given}])
    app = ner_app(source, db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        await pilot.press("tab")
        assert screen.cursor == 3
        await pilot.press("tab")
        assert screen.cursor == 6
        await pilot.press("tab")  # wraps around
        assert screen.cursor == 0
        await pilot.press("shift+tab")
        assert screen.cursor == 6
        await pilot.press("d")  # Berlin goes
        await pilot.press("shift+tab", "d")  # Ann Lee goes
        await pilot.press("home", "right", "right", "d")  # 'hired': no span there: nothing
        await pilot.press("a")
        await wait_for_task(pilot)
    assert spans_of(stored(db_path, "notes")[0]) == [("Acme Corp", "ORG")]


async def test_ner_replaces_overlaps_spans_view_keeps_them(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": TEXT}])
    app = ner_app(source, db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, text=TEXT)
        await pilot.press("shift+right", "2", "home", "1", "a")  # Acme Corp ORG, then Acme PERSON replaces it
        await wait_for_task(pilot)
    assert spans_of(stored(db_path, "notes")[0]) == [("Acme", "PERSON")]

    app = ner_app(source, db_path, recipe="spans", dataset="sc")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, text=TEXT)
        await pilot.press("shift+right", "2", "home", "1", "a")
        await wait_for_task(pilot)
    row = stored(db_path, "sc")[0]
    assert spans_of(row) == [("Acme", "PERSON"), ("Acme Corp", "ORG")]
    assert row["_view_id"] == "spans_manual"


async def test_undo_restores_the_spans_and_replaces_the_answer(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": TEXT}, {"text": "Paris is nice."}])
    app = ner_app(source, db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        await pilot.press("shift+right", "2", "a")
        await wait_for_task(pilot, text="Paris is nice.")
        await pilot.press("backspace")
        screen = await wait_for_task(pilot, text=TEXT)
        assert [(s["start"], s["end"], s["label"]) for s in screen.spans] == [(0, 9, "ORG")]
        await pilot.press("d", "1", "a")  # ORG removed, Acme -> PERSON
        await wait_for_task(pilot, text="Paris is nice.")
    rows = stored(db_path, "notes")
    assert len(rows) == 1 and spans_of(rows[0]) == [("Acme", "PERSON")]


async def test_pattern_suggestions_look_different_until_accepted(tmp_path: Path, db_path: Path) -> None:
    patterns = write_jsonl(tmp_path / "patterns.jsonl", [
        {"label": "ORG", "pattern": "Acme Corp"}, {"label": "LOC", "pattern": [{"LOWER": "berlin"}]},
        {"label": "OTHER", "pattern": "hired"}])
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": TEXT}, {"text": "Nothing here."}])
    app = ner_app(source, db_path, patterns=str(patterns))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        assert [(s["label"], s.get("suggested")) for s in screen.spans] == [("ORG", True), ("LOC", True)]
        widget = screen.query_one("#text", SpanText)
        assert "Acme Corp▕ORG?" in widget.visible_text()  # the label beside it, marked as a suggestion
        style = widget._style_at(0, None, None)
        assert style.underline and style.italic and not style.bgcolor  # unlike an accepted span
        await pilot.press("a")
        await wait_for_task(pilot, text="Nothing here.")
    row = stored(db_path, "notes")[0]
    assert spans_of(row) == [("Acme Corp", "ORG"), ("Berlin", "LOC")]
    assert all(s["source"] == "pattern" and "suggested" not in s for s in row["spans"])


def test_bad_pattern_files_are_one_line_errors(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": TEXT}])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"label": "ORG", "pattern": "x"}\n{oops\n')
    with pytest.raises(UserError, match=r"bad.jsonl:2: invalid JSON"):
        get_recipe("ner")(str(source), label="ORG", patterns=str(bad))
    bad.write_text('{"pattern": "x"}\n')
    with pytest.raises(UserError, match=r"bad.jsonl:1: a pattern needs a 'label'"):
        get_recipe("ner")(str(source), label="ORG", patterns=str(bad))
    with pytest.raises(UserError, match="no such pattern file"):
        get_recipe("ner")(str(source), label="ORG", patterns=str(tmp_path / "none.jsonl"))
    with pytest.raises(UserError, match="--model .*no-model: no such directory, and no installed spaCy pipeline"):
        get_recipe("ner")(str(source), label="ORG", model=str(tmp_path / "no-model"))
    with pytest.raises(UserError, match="unknown language code"):
        get_recipe("ner")(str(source), label="ORG", lang="zz-nope")


@pytest.fixture(scope="module")
def tiny_ner_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small entity recogniser trained here (nothing is downloaded)."""
    import spacy
    from spacy.training import Example

    nlp = spacy.blank("en")
    ner = nlp.add_pipe("ner")
    ner.add_label("ORG")
    ner.add_label("LOC")
    data = []
    for org, loc in [("Acme Corp", "Berlin"), ("Globex", "Paris"), ("Initech", "Rome"), ("Umbrella", "Oslo")]:
        text = f"{org} opened an office in {loc} today."
        data.append((text, [(0, len(org), "ORG"), (text.index(loc), text.index(loc) + len(loc), "LOC")]))
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": e}) for t, e in data]
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(0)
    for _ in range(40):
        rng.shuffle(examples)
        nlp.update(examples, sgd=optimizer, drop=0.1)
    path = tmp_path_factory.mktemp("model") / "ner-model"
    nlp.to_disk(path)
    return path


def test_model_suggestions_and_its_tokenizer(tmp_path: Path, db_path: Path, tiny_ner_model: Path) -> None:
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": "Globex opened an office in Paris today."}])
    c = Components.from_value(get_recipe("ner")(str(source), label="ORG,LOC", model=str(tiny_ner_model)))
    task = next(iter(c.stream))
    found = [(task["text"][s["start"]:s["end"]], s["label"], s["source"]) for s in task["spans"]]
    assert ("Globex", "ORG", "model") in found and ("Paris", "LOC", "model") in found
    assert all(s["suggested"] for s in task["spans"])


def test_given_tokens_are_kept_and_misaligned_spans_reported(tmp_path: Path) -> None:
    rows = [
        {"text": "New York is big .", "tokens": ["New", "York", "is", "big", "."],
         "spans": [{"start": 0, "end": 8, "label": "LOC"}, {"start": 1, "end": 8, "label": "LOC"}]},
        {"text": "ab cd", "tokens": [{"text": "ab", "start": 0, "end": 2, "id": 0, "ws": True},
                                    {"text": "cd", "start": 3, "end": 5, "id": 1, "ws": False}],
         "spans": [{"start": 0, "end": 5, "label": "ORG"}, {"start": 3, "end": 5, "label": "NOPE"}]},
        {"text": "x y", "tokens": ["x", "z"]},
        {"text": "p q", "spans": "not a list"},
        {"text": "a b c", "spans": [{"start": 0, "end": 3, "label": "LOC"}, {"start": 2, "end": 5, "label": "LOC"}]},
    ]
    source = write_jsonl(tmp_path / "given.jsonl", rows)
    c = Components.from_value(get_recipe("ner")(str(source), label="LOC,ORG"))
    tasks = list(c.stream)
    assert [t["text"] for t in tasks] == ["New York is big .", "ab cd", "p q", "a b c"]
    assert tasks[0]["spans"] == [{"start": 0, "end": 8, "label": "LOC", "token_start": 0, "token_end": 1}]
    assert tasks[1]["tokens"][1] == {"text": "cd", "start": 3, "end": 5, "id": 1, "ws": False}
    assert [s["label"] for s in tasks[3]["spans"]] == ["LOC"]  # the overlapping one is left out
    warnings = list(c.stream.warnings)
    name = str(source)
    assert warnings == [
        f"{name}:1: span [1, 8) LOC does not align with the tokens; left out",
        f"{name}:2: span [3, 5) NOPE: the label is not among --label; left out",
        f"{name}:3: 'tokens' do not fit the text: token 1 ('z') is not where the text has it",
        f"{name}:4: 'spans' is not a list; ignored",
        f"{name}:5: span [2, 5) LOC overlaps another span (not allowed here); left out",
    ]
    assert c.stream.invalid == 1 and c.stream.problems == 4


def test_split_sentences_keeps_the_document_in_meta(tmp_path: Path) -> None:
    text = "Ann lives in Rome. Bob works at Acme. Short"
    spans = [{"start": 13, "end": 17, "label": "LOC"}, {"start": 32, "end": 36, "label": "ORG"},
             {"start": 15, "end": 22, "label": "LOC"}]
    source = write_jsonl(tmp_path / "docs.jsonl", [{"text": text, "spans": spans, "meta": {"id": 7}}])
    c = Components.from_value(get_recipe("ner")(str(source), label="LOC,ORG", split_sents=True))
    tasks = list(c.stream)
    assert [t["text"] for t in tasks] == ["Ann lives in Rome.", "Bob works at Acme.", "Short"]
    assert [t["meta"]["doc_offset"] for t in tasks] == [0, 19, 38]
    assert [t["meta"]["sent_index"] for t in tasks] == [0, 1, 2]
    assert len({t["meta"]["doc_hash"] for t in tasks}) == 1 and tasks[0]["meta"]["id"] == 7
    assert [(t["text"][s["start"]:s["end"]], s["label"]) for t in tasks for s in t["spans"]] == [
        ("Rome", "LOC"), ("Acme", "ORG")]
    assert any("crosses a sentence boundary" in w for w in c.stream.warnings)


def test_token_helpers() -> None:
    assert [(t["start"], t["end"], t["ws"]) for t in tokens_from_words("a  bb c", ["a", "bb", "c"])] == [
        (0, 1, True), (3, 5, True), (6, 7, False)]
    with pytest.raises(ValueError, match="bad offsets"):
        check_tokens("abc", [{"start": 0, "end": 9}])


async def test_long_text_scrolls_to_follow_the_cursor(tmp_path: Path, db_path: Path) -> None:
    text = " ".join(f"word{i}" for i in range(2000))
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": text}])
    app = ner_app(source, db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        widget = screen.query_one("#text", SpanText)
        await pilot.press("end")
        await pilot.pause()
        assert widget.scroll_offset.y > 100
        assert "word1999" in widget.visible_text()
        await pilot.press("home")
        await pilot.pause()
        assert widget.scroll_offset.y == 0


async def test_untrusted_text_in_the_span_view(tmp_path: Path, db_path: Path) -> None:
    text = "Evil \x1b[2J corp [b]x[/b] here"
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": text}])
    app = ner_app(source, db_path, labels="[red]ORG")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        await pilot.press("1")
        widget = screen.query_one("#text", SpanText)
        drawn = "".join(seg.text for seg in widget.render_line(0))
        assert "\x1b" not in drawn and "␛[2J" in drawn and "[b]x[/b]" in drawn and "▕[red]ORG" in drawn
