"""How the span views draw spans (Pilot): nesting and crossing, the current span that tab and d act on, and the
span list (issue 14, section 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tuiannot.screens.widgets.span_list import SpanList
from tuiannot.screens.widgets.span_text import SpanText

from .helpers import recipe_app, seed, span_answer, stored, wait_for_task, write_jsonl

TEXT = "Angela Merkel visited Berlin."
# tokens: 0 Angela 1 Merkel 2 visited 3 Berlin 4 .
GIVEN = [{"start": 0, "end": 13, "label": "PERSON"}, {"start": 0, "end": 6, "label": "ORG"},
         {"start": 22, "end": 28, "label": "LOC"}]


def spans_app(tmp_path: Path, db_path: Path, rows: list[dict[str, Any]], labels: str = "PERSON,ORG,LOC",
              recipe: str = "spans", **args: Any) -> Any:
    source = write_jsonl(tmp_path / "notes.jsonl", rows)
    return recipe_app(recipe, db_path, str(source), label=labels, dataset="sc", **args)


def underlined(widget: SpanText) -> str:
    """What the first line draws underlined: the current span (an attribute, so NO_COLOR keeps it)."""
    return "".join(seg.text for seg in widget.render_line(0) if seg.style and seg.style.underline)


def question(screen: Any) -> str:
    return str(screen.query_one("#question").render())


def spans_of(row: dict[str, Any]) -> list[tuple[str, str]]:
    return [(row["text"][s["start"]:s["end"]], s["label"]) for s in row["spans"]]


async def test_nested_spans_are_bracketed_and_tab_and_d_act_on_the_marked_one(tmp_path: Path, db_path: Path) -> None:
    app = spans_app(tmp_path, db_path, [{"text": TEXT, "spans": GIVEN}, {"text": "Next."}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        widget = screen.query_one("#text", SpanText)
        # the nesting reads like parentheses; a span that overlaps nothing keeps its badge
        assert widget.visible_text().startswith("[[Angela]ORG Merkel]PERSON visited Berlin▕LOC.")
        # the cursor is on Angela: the shortest span there is the current one
        assert underlined(widget) == "[Angela]ORG"
        assert "span 1/3  ORG  Angela  tokens 0–0  chars 0–6" in question(screen)
        await pilot.press("tab")  # the other span on the same token: it used to be unreachable
        assert screen.cursor == 0
        assert underlined(widget) == "[Angela Merkel]PERSON"
        assert "span 2/3  PERSON  Angela Merkel  tokens 0–1  chars 0–13" in question(screen)
        await pilot.press("tab")
        assert screen.cursor == 3 and underlined(widget) == "Berlin▕LOC"
        await pilot.press("tab")  # wraps around
        assert screen.cursor == 0 and underlined(widget) == "[Angela]ORG"
        await pilot.press("shift+tab", "shift+tab")  # back: Berlin, then Angela Merkel
        assert "span 2/3  PERSON" in question(screen)
        await pilot.press("d")  # the marked span goes, not the shortest under the cursor
        assert widget.visible_text().startswith("Angela▕ORG Merkel visited Berlin▕LOC.")
        assert underlined(widget) == "Angela▕ORG"  # the cursor stayed: the span left under it is current
        await pilot.press("right")  # Merkel: no span there any more
        assert underlined(widget) == "" and "no span here · tab goes to the next" in question(screen)
        await pilot.press("a")
        await wait_for_task(pilot, text="Next.")
    assert spans_of(stored(db_path, "sc")[0]) == [("Angela", "ORG"), ("Berlin", "LOC")]


async def test_crossing_spans_name_their_label_at_both_brackets(tmp_path: Path, db_path: Path) -> None:
    text = "Acme Corp hired Ann today."
    crossing = [{"start": 0, "end": 9, "label": "ORG"}, {"start": 5, "end": 15, "label": "PERSON"}]
    app = spans_app(tmp_path, db_path, [{"text": text, "spans": crossing}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        widget = screen.query_one("#text", SpanText)
        assert widget.visible_text().startswith("ORG[Acme PERSON[Corp]ORG hired]PERSON Ann")
        await pilot.press("right")  # Corp: under both; the shorter (ORG, 9 characters) is current
        assert underlined(widget) == "ORG[Acme Corp]ORG"
        await pilot.press("tab")
        assert underlined(widget) == "PERSON[Corp hired]PERSON"


async def test_the_span_list_shows_every_span_and_follows_the_current_one(tmp_path: Path, db_path: Path) -> None:
    app = spans_app(tmp_path, db_path, [{"text": TEXT, "spans": GIVEN}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        span_list = screen.query_one(SpanList)
        assert not span_list.display
        await pilot.press("s")
        await pilot.pause()
        assert span_list.display
        rows = span_list.row_texts()
        assert len(rows) == 3
        assert rows[0].startswith("▶ 1  ORG ") and "Angela " in rows[0] and rows[0].endswith("tokens 0–0  chars 0–6")
        assert rows[1].startswith("  2  PERSON ") and "Angela Merkel" in rows[1]
        assert rows[1].endswith("tokens 0–1  chars 0–13") and rows[2].startswith("  3  LOC ")
        assert "3 spans · s hides" in str(span_list.border_title)
        drawn = list(span_list.render_line(0))
        assert "".join(seg.text for seg in drawn).startswith("▶ 1")
        assert drawn[0].style is not None and drawn[0].style.reverse  # the current row stands out without colour
        await pilot.press("tab")
        rows = span_list.row_texts()
        assert rows[0].startswith("  1") and rows[1].startswith("▶ 2  PERSON")
        await pilot.press("d")
        rows = span_list.row_texts()
        assert [r[:16] for r in rows] == ["▶ 1  ORG  Angela", "  2  LOC  Berlin"]
        # at 80x24 the text keeps some lines above the list
        assert screen.query_one("#text", SpanText).scrollable_content_region.height >= 3
        await pilot.press("s")
        await pilot.pause()
        assert not span_list.display
        assert "d remove · tab next span · s list" in question(screen)


async def test_a_long_span_list_scrolls_to_the_current_span(tmp_path: Path, db_path: Path) -> None:
    words = [f"w{i:02d}" for i in range(40)]
    text = " ".join(words)
    given = [{"start": 4 * i, "end": 4 * i + 3, "label": "LOC"} for i in range(0, 40, 2)]
    app = spans_app(tmp_path, db_path, [{"text": text, "spans": given}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        await pilot.press("s", *["tab"] * 15)
        await pilot.pause()
        span_list = screen.query_one(SpanList)
        top = round(span_list.scroll_offset.y)
        shown = span_list.row_texts()[top:top + span_list.scrollable_content_region.height]
        assert any(r.startswith("▶ 16  LOC  w30") for r in shown), shown


async def test_span_list_key_is_in_the_help_and_the_keymap_moves_it(tmp_path: Path, db_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    keymap = tmp_path / "keymap.json"
    keymap.write_text(json.dumps({"span_list": "v", "next_span": "n"}))
    monkeypatch.setenv("TUIANNOT_KEYMAP", str(keymap))
    app = spans_app(tmp_path, db_path, [{"text": TEXT, "spans": GIVEN}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        await pilot.pause()
        help_rows = dict(screen.active_bindings_help())
        assert help_rows["v"].startswith("show or hide the list of this task's spans")
        assert "d remove · n next span · v list" in question(screen)
        await pilot.press("s")
        assert not screen.query_one(SpanList).display
        await pilot.press("v", "n")
        await pilot.pause()
        span_list = screen.query_one(SpanList)
        assert span_list.display and span_list.row_texts()[1].startswith("▶ 2  PERSON")
        assert "3 spans · v hides" in str(span_list.border_title)


async def test_untrusted_text_and_labels_in_the_span_list(tmp_path: Path, db_path: Path) -> None:
    text = "Evil \x1b[2J corp [b]x[/b] here"
    app = spans_app(tmp_path, db_path, [{"text": text}], labels="[red]ORG", recipe="ner")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        await pilot.press("shift+right", "shift+right", "1", "s")
        await pilot.pause()
        span_list = screen.query_one(SpanList)
        drawn = "".join(seg.text for seg in span_list.render_line(0))
        assert "\x1b" not in drawn and "[red]ORG" in drawn and "Evil ␛[2J" in drawn
        assert "\x1b" not in question(screen)


async def test_review_of_nested_spans_draws_the_brackets(db_path: Path) -> None:
    text = "Angela Merkel visited Berlin."
    spans = [(0, 13, "PERSON"), (0, 6, "ORG")]
    seed(db_path, "sc", [span_answer(text, spans, view="spans_manual", session=who) for who in ("alice", "bob")])
    app = recipe_app("review", db_path, "sc", output="final", db=str(db_path), session="lead")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        assert screen.query_one("#text", SpanText).visible_text().startswith("[[Angela]ORG Merkel]PERSON")
