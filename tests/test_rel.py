"""``tuiannot rel``: relations between spans by keyboard (issue 20): every key of the relation view (Pilot), relations
across wrapped lines and in long scrolled texts, spans deleted with their relations, ``--from DATASET``, relations
given in the input, the stored form, and the round trips through the exports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tuiannot.errors import UserError
from tuiannot.recipes import get_recipe
from tuiannot.screens.widgets.relation_list import RelationList
from tuiannot.screens.widgets.relation_text import RelationText

from .helpers import (recipe_app, run, seed, span_answer, stored, wait_done, wait_for_task, wait_until, warnings,
                      write_jsonl)

TEXT = "Ann Lee works for Acme Corp in Berlin."
# tokens: 0 Ann 1 Lee 2 works 3 for 4 Acme 5 Corp 6 in 7 Berlin 8 .
SPANS = [{"start": 0, "end": 7, "label": "PERSON"}, {"start": 18, "end": 27, "label": "ORG"},
         {"start": 31, "end": 37, "label": "LOC"}]
ANN, ACME, BERLIN = ({**s, "token_start": ts, "token_end": te} for s, (ts, te) in zip(SPANS, [(0, 1), (4, 5), (7, 7)],
                                                                                        strict=True))


def rel_app(tmp_path: Path, db_path: Path, rows: list[dict[str, Any]], **args: Any) -> Any:
    source = write_jsonl(tmp_path / "news.jsonl", rows)
    return recipe_app("rel", db_path, str(source), label="PERSON,ORG,LOC", relation="WORKS_FOR,LOCATED_IN",
                      dataset="rel", **args)


def prodigy(head: dict[str, Any], child: dict[str, Any], label: str) -> dict[str, Any]:
    """A relation as Prodigy's rel.manual stores it: head and child are the spans' last tokens."""
    keys = ("start", "end", "token_start", "token_end", "label")
    return {"head": head["token_end"], "child": child["token_end"], "head_span": {k: head[k] for k in keys},
            "child_span": {k: child[k] for k in keys}, "label": label}


def relation_answer(text: str, spans: list[tuple[int, int, str]], relations: list[tuple[int, int, str]],
                    **extra: Any) -> dict[str, Any]:
    """A stored relation answer: ``relations`` are (head, child, label) with head and child indices in ``spans``."""
    answer = span_answer(text, spans, view="relations", **extra)
    answer["relations"] = [prodigy(answer["spans"][h], answer["spans"][c], label) for h, c, label in relations]
    return answer


def question(screen: Any) -> str:
    return str(screen.query_one("#question").render())


def notices(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]  # noqa: SLF001


def relation_rows(screen: Any) -> list[str]:
    return screen.query_one(RelationList).row_texts()


def drawn(widget: Any, row: int = 0) -> list[tuple[str, Any]]:
    return [(seg.text, seg.style) for seg in widget.render_line(row)]


def coloured(segment: Any) -> bool:
    """A segment with a colour of its own (the terminal's default colours are none)."""
    style = segment.style
    return style is not None and any(c is not None and not c.is_default for c in (style.color, style.bgcolor))


def styled(widget: Any, attribute: str, row: int = 0) -> str:
    """The characters of a row of the widget drawn with ``attribute`` (reverse, underline, ...) set."""
    return "".join(text for text, style in drawn(widget, row) if style is not None and getattr(style, attribute))


async def test_r_tab_and_a_number_key_make_a_relation_and_it_is_stored_as_prodigy_stores_it(
        tmp_path: Path, db_path: Path) -> None:
    app = rel_app(tmp_path, db_path, [{"text": TEXT, "spans": SPANS}, {"text": "Next one."}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        widget = screen.query_one("#text", RelationText)
        assert "r relation:  1 WORKS_FOR  2 LOCATED_IN" in question(screen)
        assert relation_rows(screen) == ["no relations yet: r on a span starts one"]
        await pilot.press("r")  # from Ann Lee, the span under the cursor
        assert screen.has_class("-relating") and screen.head is screen.spans[0]
        assert " RELATION  Ann Lee → ?" in question(screen) and "esc cancels" in question(screen)
        assert styled(widget, "reverse").startswith("Ann Lee▕PERSON")  # the head is highlighted
        await pilot.press("1")  # the cursor is still on the head: a relation to itself is refused
        assert any("A relation from a span to itself is refused" in n for n in notices(app))
        assert screen.relations == [] and screen.has_class("-relating")
        await pilot.press("tab")
        assert " RELATION  Ann Lee → Acme Corp" in question(screen)
        await pilot.press("1")  # WORKS_FOR: made, and the mode ends
        assert not screen.has_class("-relating") and screen.head is None
        assert widget.visible_text() == "Ann Lee▕PERSON(1→) works for Acme Corp▕ORG(→1) in Berlin▕LOC."
        assert relation_rows(screen) == ["▶ 1  Ann Lee  PERSON  → WORKS_FOR → Acme Corp  ORG"]
        await pilot.press("tab", "r", "shift+tab", "escape")  # escape cancels: nothing made
        assert not screen.has_class("-relating") and len(screen.relations) == 1
        await pilot.press("tab", "r", "left", "left")  # from Berlin; arrows move to the child too: Acme Corp
        assert " RELATION  Berlin → Acme Corp" in question(screen)
        await pilot.press("2")  # LOCATED_IN, from Berlin to Acme Corp
        await pilot.press("home", "r", "end", "left", "2", "r", "tab", "3")  # 3: no third relation label: nothing
        assert screen.has_class("-relating")
        await pilot.press("escape")
        assert widget.visible_text() == \
            "Ann Lee▕PERSON(1→,3→) works for Acme Corp▕ORG(→1,→2) in Berlin▕LOC(2→,→3)."
        await pilot.press("a")
        await wait_for_task(pilot, text="Next one.")
    row = stored(db_path, "rel")[0]
    assert row["_view_id"] == "relations" and row["answer"] == "accept"
    assert [(s["start"], s["end"], s["label"]) for s in row["spans"]] == [(0, 7, "PERSON"), (18, 27, "ORG"),
                                                                           (31, 37, "LOC")]
    assert row["relations"] == [prodigy(ANN, ACME, "WORKS_FOR"), prodigy(BERLIN, ACME, "LOCATED_IN"),
                                prodigy(ANN, BERLIN, "LOCATED_IN")]


async def test_the_relation_list_selects_with_brackets_highlights_both_spans_and_d_deletes(
        tmp_path: Path, db_path: Path) -> None:
    given = [prodigy(ANN, ACME, "WORKS_FOR"), prodigy(ACME, BERLIN, "LOCATED_IN")]
    app = rel_app(tmp_path, db_path, [{"text": TEXT, "spans": SPANS, "relations": given}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        widget = screen.query_one("#text", RelationText)
        assert widget.visible_text() == "Ann Lee▕PERSON(1→) works for Acme Corp▕ORG(→1,2→) in Berlin▕LOC(→2)."
        assert styled(widget, "reverse") == "Ann▕PERSON▕ORG▕LOC"  # the cursor and the badges only
        await pilot.press("left_square_bracket")  # [ from nothing selected: the last one
        assert screen.selected == 1 and relation_rows(screen)[1].startswith("▶ 2  Acme Corp  ORG  → LOCATED_IN")
        reverse = styled(widget, "reverse")
        assert "Acme Corp▕ORG" in reverse and "Berlin▕LOC" in reverse and "Ann Lee" not in reverse
        assert "2→" in reverse and "→1" not in reverse  # the selected relation's markers, not the other's
        assert screen.cursor == 4  # on the head, Acme
        await pilot.press("right_square_bracket")  # ] wraps around to the first
        assert screen.selected == 0 and relation_rows(screen)[0].startswith("▶ 1")
        assert "relation 2" not in question(screen)
        assert "2 relations · ]/[ select · d deletes it" in str(screen.query_one(RelationList).border_title)
        await pilot.press("d")  # the selected relation goes, not the span under the cursor
        assert len(screen.spans) == 3 and [r["label"] for r in screen.relations] == ["LOCATED_IN"]
        assert screen.selected == 0 and relation_rows(screen) == ["▶ 1  Acme Corp  ORG  → LOCATED_IN → Berlin  LOC"]
        await pilot.press("escape")  # ends the selection
        assert screen.selected is None and not relation_rows(screen)[0].startswith("▶")
        await pilot.press("right_square_bracket", "right")  # moving the cursor ends it too
        assert screen.selected is None
        await pilot.press("a")
        await wait_for_task(pilot)
    assert stored(db_path, "rel")[0]["relations"] == [prodigy(ACME, BERLIN, "LOCATED_IN")]


async def test_deleting_a_span_deletes_its_relations_with_a_notice_and_relabelling_keeps_them(
        tmp_path: Path, db_path: Path) -> None:
    given = [prodigy(ANN, ACME, "WORKS_FOR"), prodigy(ACME, BERLIN, "LOCATED_IN"), prodigy(ANN, BERLIN, "LOCATED_IN")]
    app = rel_app(tmp_path, db_path, [{"text": TEXT, "spans": SPANS, "relations": given}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        await pilot.press("shift+right", "3")  # Ann Lee relabelled LOC: the same span, its relations stay
        assert [r["head_span"]["label"] for r in screen.relations] == ["LOC", "ORG", "LOC"]
        assert len(screen.relations) == 3 and notices(app) == []
        await pilot.press("tab", "d")  # Acme Corp goes, and the two relations it is in
        assert [(r["head_span"]["start"], r["child_span"]["start"]) for r in screen.relations] == [(0, 31)]
        assert notices(app) == ["2 relations removed with the span: Ann Lee → WORKS_FOR → Acme Corp; "
                                "Acme Corp → LOCATED_IN → Berlin"]
        assert screen.query_one("#text", RelationText).visible_text() == \
            "Ann Lee▕LOC(1→) works for Acme Corp in Berlin▕LOC(→1)."
        await pilot.press("end", "left", "shift+left", "1")  # "in Berlin" PERSON replaces Berlin
        assert screen.relations == [] and notices(app)[-1] == \
            "1 relation removed with the span: Ann Lee → LOCATED_IN → Berlin"
        await pilot.press("a")
        await wait_for_task(pilot)
    assert stored(db_path, "rel")[0]["relations"] == []


async def test_keys_that_would_lose_the_relation_being_made_are_refused(tmp_path: Path, db_path: Path) -> None:
    app = rel_app(tmp_path, db_path, [{"text": TEXT, "spans": SPANS}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        await pilot.press("r", "tab")
        for key in ("a", "x", "space", "d", "shift+right", "right_square_bracket"):
            await pilot.press(key)
            assert screen.has_class("-relating") and screen.anchor is None and len(screen.spans) == 3, key
        assert sum("Making a relation: move to the child span, then 1-2 gives its label; esc cancels." == n
                   for n in notices(app)) == 6
        assert stored(db_path, "rel") == []
        await pilot.press("2", "a")
        await wait_for_task(pilot)
    assert stored(db_path, "rel")[0]["relations"] == [prodigy(ANN, ACME, "LOCATED_IN")]


async def test_undo_brings_the_relations_back_and_answering_again_replaces_them(tmp_path: Path,
                                                                                 db_path: Path) -> None:
    app = rel_app(tmp_path, db_path, [{"text": TEXT, "spans": SPANS}, {"text": "Next one."}])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_task(pilot, text=TEXT)
        await pilot.press("r", "tab", "1", "a")
        await wait_for_task(pilot, text="Next one.")
        await pilot.press("backspace")
        screen = await wait_for_task(pilot, text=TEXT)
        assert screen.relations == [prodigy(ANN, ACME, "WORKS_FOR")]
        assert relation_rows(screen) == ["  1  Ann Lee  PERSON  → WORKS_FOR → Acme Corp  ORG"]
        await pilot.press("right_square_bracket", "d", "x")  # the relation deleted; rejected this time
        await wait_for_task(pilot, text="Next one.")
    rows = stored(db_path, "rel")
    assert len(rows) == 1 and rows[0]["answer"] == "reject" and rows[0]["relations"] == []


async def test_r_where_there_is_no_span_and_brackets_with_no_relations_say_what_to_do(
        tmp_path: Path, db_path: Path) -> None:
    app = rel_app(tmp_path, db_path, [{"text": TEXT}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        await pilot.press("r", "right_square_bracket")
        assert not screen.has_class("-relating")
        assert notices(app) == ["No span under the cursor: a relation goes from a span (tab goes to the next).",
                                "No relations yet: r on a span starts one."]
        await pilot.press("shift+right", "1", "right", "right", "shift+right", "2", "shift+tab", "shift+tab", "r",
                          "tab", "1", "a")  # spans made here relate as given ones do
        await wait_for_task(pilot)
    row = stored(db_path, "rel")[0]
    assert row["relations"] == [prodigy(ANN, ACME, "WORKS_FOR")]


async def test_relations_across_wrapped_lines(tmp_path: Path, db_path: Path) -> None:
    text = "Ann Lee, the new head of research and of the design team, has joined Acme Corp, a maker of tools."
    spans = [{"start": 0, "end": 7, "label": "PERSON"}, {"start": 69, "end": 78, "label": "ORG"}]
    app = rel_app(tmp_path, db_path, [{"text": text, "spans": spans}])
    async with app.run_test(size=(40, 34)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        widget = screen.query_one("#text", RelationText)
        child_line = widget.token_position(screen.spans[1]["token_start"])[0]
        assert child_line >= 2  # the child is wrapped lines below its head
        await pilot.press("r", *["down"] * child_line)  # down a line at a time, to the child's line
        while screen.current_span() is None:
            await pilot.press("right")
        assert screen.current_span() is screen.spans[1]
        await pilot.press("1")
        lines = [widget.shown[start:end] for start, end in widget._lines]  # every wrapped line, shown or not
        assert lines[0].startswith("Ann Lee▕PERSON(1→),")
        acme = next(i for i, line in enumerate(lines) if "▕ORG" in line)  # the span itself may wrap, its end ...
        assert acme >= child_line and "Corp▕ORG(→1)," in lines[acme]  # ... keeps its badge and marker glued
        await pilot.press("home", "right_square_bracket")
        assert screen.selected == 0
        assert round(widget.scroll_offset.y) == 0
        assert "Corp▕ORG→1" in styled(widget, "reverse", acme) and "Ann Lee" in styled(widget, "reverse", 0)
        await pilot.press("a")
        await wait_for_task(pilot)
    assert stored(db_path, "rel")[0]["relations"][0]["label"] == "WORKS_FOR"


async def test_relations_in_a_long_scrolled_text(tmp_path: Path, db_path: Path) -> None:
    words = [f"w{i:03d}" for i in range(400)]
    text = " ".join(words)
    spans = [{"start": 0, "end": 4, "label": "PERSON"}, {"start": 5 * 390, "end": 5 * 390 + 4, "label": "ORG"}]
    app = rel_app(tmp_path, db_path, [{"text": text, "spans": spans}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        widget = screen.query_one("#text", RelationText)
        await pilot.press("r", "shift+tab")  # the previous span from the first: the last one, far down
        assert round(widget.scroll_offset.y) > 10 and "w390▕ORG" in widget.visible_text()
        assert " RELATION  w000 → w390" in question(screen)
        await pilot.press("1")
        assert "w390▕ORG(→1)" in widget.visible_text()
        await pilot.press("right_square_bracket")  # the cursor goes to the head: back to the top
        assert round(widget.scroll_offset.y) == 0 and widget.visible_text().startswith("w000▕PERSON(1→)")
        await pilot.press("a")
        await wait_for_task(pilot)
    relation = stored(db_path, "rel")[0]["relations"][0]
    assert (relation["head"], relation["child"], relation["label"]) == (0, 390, "WORKS_FOR")


async def test_no_color_keeps_relations_readable(tmp_path: Path, db_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    given = [prodigy(ANN, ACME, "WORKS_FOR")]
    app = rel_app(tmp_path, db_path, [{"text": TEXT, "spans": SPANS, "relations": given}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        widget = screen.query_one("#text", RelationText)
        await pilot.press("right_square_bracket")

        def filtered(line: Any) -> list[Any]:  # what the terminal gets: the app's NO_COLOR filter applied
            for line_filter in app.get_line_filters():
                line = line.apply_filter(line_filter, screen.styles.background)
            return list(line)

        segments = filtered(widget.render_line(0))
        assert [s for s in segments if coloured(s)] == []
        assert "".join(s.text for s in segments).startswith("Ann Lee▕PERSON(1→) works for Acme Corp▕ORG(→1)")
        lit = "".join(s.text for s in segments if s.style is not None and s.style.reverse)
        assert lit.startswith("Ann Lee▕PERSON1→") and "Acme Corp▕ORG→1" in lit  # both spans and the markers
        row = filtered(screen.query_one(RelationList).render_line(0))
        assert [s for s in row if coloured(s)] == [] and row[0].style.reverse
        await pilot.press("escape", "r")
        assert screen.query_one("#task").styles.border_top[0] == "double"  # relation mode: a double border
        assert " RELATION " in question(screen)


async def test_at_80x24_the_text_the_list_and_the_keys_fit(tmp_path: Path, db_path: Path) -> None:
    given = [prodigy(ANN, ACME, "WORKS_FOR"), prodigy(ACME, BERLIN, "LOCATED_IN"), prodigy(ANN, BERLIN, "LOCATED_IN")]
    app = rel_app(tmp_path, db_path, [{"text": TEXT, "spans": SPANS, "relations": given}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        await pilot.pause()
        relation_list = screen.query_one(RelationList)
        assert screen.query_one("#text", RelationText).scrollable_content_region.height >= 5
        assert relation_list.scrollable_content_region.height >= 2
        assert relation_list.region.bottom <= screen.query_one("#question").region.y
        assert all(line.strip() and len(line) <= 78 for line in question(screen).splitlines())  # none wraps
        keys = " ".join(f"{key} {what}" for key, _, what in screen.query_one("KeyBar").keys())
        assert "r Relation" in keys and "d Remove span" in keys
        await pilot.press("left_square_bracket")  # the last relation: the list scrolls to it
        top = round(relation_list.scroll_offset.y)
        shown = relation_list.row_texts()[top:top + relation_list.scrollable_content_region.height]
        assert any(r.startswith("▶ 3  Ann Lee") for r in shown), shown
        await pilot.press("s")  # the span list too: the text keeps some rows
        await pilot.pause()
        assert screen.query_one("#text", RelationText).scrollable_content_region.height >= 3


async def test_a_key_repaints_only_the_rows_that_change(tmp_path: Path, db_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    words = [f"w{i:03d}" for i in range(300)]
    text = " ".join(words)
    spans = [{"start": 5 * i, "end": 5 * i + 4, "label": "ORG"} for i in (0, 2, 4, 6)]
    relations = [{"head_span": spans[0], "child_span": spans[1], "label": "WORKS_FOR"},
                 {"head_span": spans[2], "child_span": spans[3], "label": "WORKS_FOR"}]
    app = rel_app(tmp_path, db_path, [{"text": text, "spans": spans, "relations": relations}])
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_task(pilot, text=text)
        await pilot.press("right_square_bracket")
        await pilot.pause(0.1)
        painted = {"text": 0, "list": 0}
        for cls, key in ((RelationText, "text"), (RelationList, "list")):
            def spy(self: Any, y: int, _original: Any = cls.render_line, _key: str = key) -> Any:
                painted[_key] += 1
                return _original(self, y)

            monkeypatch.setattr(cls, "render_line", spy)
        await pilot.press("right_square_bracket")  # the other relation: both on the first row of text
        await pilot.pause(0.1)
        assert painted == {"text": 1, "list": 2}, painted  # that row; the list's old and new selected rows
        painted.update(text=0, list=0)
        await pilot.press("end")  # the cursor to the last row: the row it left and the row it reached
        await pilot.pause(0.1)
        assert painted == {"text": 2, "list": 1}, painted  # (the selection ends: its row in the list)


async def test_help_lists_the_relation_keys_and_a_keymap_moves_them(tmp_path: Path, db_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    keymap = tmp_path / "keymap.json"
    keymap.write_text(json.dumps({"relation": "t", "next_relation": "n", "previous_relation": "p"}))
    monkeypatch.setenv("TUIANNOT_KEYMAP", str(keymap))
    from tuiannot.screens.app import keymap_problem

    assert keymap_problem(["relations"]) is None
    given = [prodigy(ANN, ACME, "WORKS_FOR")]
    app = rel_app(tmp_path, db_path, [{"text": TEXT, "spans": SPANS, "relations": given}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        await pilot.pause()
        rows = dict(screen.active_bindings_help())
        assert rows["t"].startswith("start a relation from the current span")
        assert rows["n"].startswith("select the next relation") and rows["p"].startswith("select the previous")
        assert rows["1"] == "label the selection (or the token) PERSON; in relation mode: the relation WORKS_FOR"
        assert rows["3"] == "label the selection (or the token) LOC"
        assert "t relation:" in question(screen)
        assert "1 relation · n/p select · d deletes it" in str(screen.query_one(RelationList).border_title)
        await pilot.press("r")
        assert not screen.has_class("-relating")
        await pilot.press("n")
        assert screen.selected == 0
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"


async def test_untrusted_text_in_the_relation_list_and_the_notices(tmp_path: Path, db_path: Path) -> None:
    text = "Evil \x1b[2J corp [b]x[/b] hires Joe."
    spans = [{"start": 0, "end": 9, "label": "ORG"}, {"start": 30, "end": 33, "label": "PERSON"}]
    app = rel_app(tmp_path, db_path, [{"text": text, "spans": spans}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        await pilot.press("tab", "r", "tab", "1")
        drawn_row = "".join(seg.text for seg in screen.query_one(RelationList).render_line(0))
        assert "\x1b" not in drawn_row and "Joe  PERSON  → WORKS_FOR → Evil ␛[2J  ORG" in drawn_row
        await pilot.press("home", "d")
        assert "\x1b" not in notices(app)[-1] and "Joe → WORKS_FOR → Evil ␛[2J" in notices(app)[-1]


# -- the recipe: input relations, --from -----------------------------------------------------------------------
def stream_of(tmp_path: Path, rows: list[dict[str, Any]], **args: Any) -> tuple[list[dict[str, Any]], list[str]]:
    source = write_jsonl(tmp_path / "news.jsonl", rows)
    components = get_recipe("rel")(str(source), label="PERSON,ORG,LOC", relation="WORKS_FOR,LOCATED_IN", **args)
    tasks = list(components["stream"])
    return tasks, list(components["stream"].warnings)


def test_relations_in_the_input_are_kept_and_misaligned_ones_reported(tmp_path: Path) -> None:
    rows = [
        {"text": TEXT, "spans": SPANS, "relations": [
            {"head_span": {"start": 0, "end": 7}, "child_span": {"start": 18, "end": 27}, "label": "WORKS_FOR",
             "head": 0, "child": 4, "color": "#ffd882"},  # Prodigy's color kept; head/child from the spans' tokens
            {"head": 7, "child": 5, "label": "LOCATED_IN"},  # by token only: Berlin's last token, Acme's last token
            {"head_span": {"start": 0, "end": 3}, "child_span": {"start": 18, "end": 27}, "label": "WORKS_FOR"},
            {"head_span": {"start": 0, "end": 7}, "child_span": {"start": 18, "end": 27}, "label": "OWNS"},
            {"head_span": {"start": 0, "end": 7}, "child_span": {"start": 0, "end": 7}, "label": "WORKS_FOR"},
            {"head": 1, "child": 3, "label": "WORKS_FOR"},  # token 3 ("for") ends no span
            "not an object",
        ]},
        {"text": TEXT, "relations": {"not": "a list"}},
    ]
    tasks, found = stream_of(tmp_path, rows)
    assert tasks[0]["relations"] == [{"color": "#ffd882", **prodigy(ANN, ACME, "WORKS_FOR")},
                                     prodigy(BERLIN, ACME, "LOCATED_IN")]
    assert tasks[1]["relations"] == []
    name = tmp_path / "news.jsonl"
    assert found == [
        f"{name}:1: relation WORKS_FOR: its head span [0, 3) is not one of the task's spans; left out",
        f"{name}:1: relation OWNS: the label is not among --relation; left out",
        f"{name}:1: relation WORKS_FOR: from a span to itself ([0, 7)); left out",
        f"{name}:1: relation WORKS_FOR: its child span at token 3 is not one of the task's spans; left out",
        f"{name}:1: relation \"not an object\" is malformed (needs a str label, head_span and child_span); left out",
        f"{name}:2: 'relations' is not a list; ignored",
    ]


def test_a_relation_to_a_span_that_does_not_align_is_reported_not_moved(tmp_path: Path) -> None:
    misaligned = {"start": 19, "end": 27, "label": "ORG"}  # "cme Corp": not on a token boundary
    rows = [{"text": TEXT, "spans": [SPANS[0], misaligned],
             "relations": [{"head_span": SPANS[0], "child_span": misaligned, "label": "WORKS_FOR"}]}]
    tasks, found = stream_of(tmp_path, rows)
    assert tasks[0]["relations"] == [] and len(tasks[0]["spans"]) == 1
    name = tmp_path / "news.jsonl"
    assert found == [f"{name}:1: span [19, 27) ORG does not align with the tokens; left out",
                     f"{name}:1: relation WORKS_FOR: its child span [19, 27) is not one of the task's spans; "
                     "left out"]


def test_relation_labels_are_checked(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "news.jsonl", [{"text": TEXT}])
    with pytest.raises(UserError, match="--relation needs at least one relation label"):
        get_recipe("rel")(str(source), label="PERSON", relation=" , ")
    with pytest.raises(UserError, match="--relation has 11 labels; at most 10"):
        get_recipe("rel")(str(source), label="PERSON", relation=",".join(f"R{i}" for i in range(11)))


async def test_from_a_ner_dataset_its_spans_come_in_and_are_corrected(tmp_path: Path, db_path: Path) -> None:
    other = "Tom Berg runs Globex."
    seed(db_path, "people", [
        span_answer(TEXT, [(0, 7, "PERSON")], timestamp=1), span_answer(TEXT, [(0, 7, "PERSON"), (18, 27, "ORG")],
                                                                         timestamp=2),  # the latest counts
        span_answer(other, [(0, 8, "PERSON")], answer="reject"),  # not accepted: not taken
        relation_answer("Own spans win.", [(0, 3, "ORG")], [])])
    rows = [{"text": TEXT}, {"text": other}, {"text": "Own spans win.", "spans": [{"start": 4, "end": 9,
                                                                                   "label": "LOC"}]}]
    app = rel_app(tmp_path, db_path, rows, from_dataset="people", db=str(db_path))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        assert [(s["start"], s["label"]) for s in screen.spans] == [(0, "PERSON"), (18, "ORG")]
        await pilot.press("r", "tab", "1", "end", "left", "3", "a")  # a relation, and Berlin added
        screen = await wait_for_task(pilot, text=other)
        assert screen.spans == []
        await pilot.press("a")
        screen = await wait_for_task(pilot, text="Own spans win.")
        assert [(s["start"], s["label"]) for s in screen.spans] == [(4, "LOC")]
        await pilot.press("a")
        await wait_for_task(pilot)
    first = stored(db_path, "rel")[0]
    assert [s["label"] for s in first["spans"]] == ["PERSON", "ORG", "LOC"]
    assert first["relations"] == [prodigy(ANN, ACME, "WORKS_FOR")]


def test_from_a_relation_dataset_its_relations_come_too_and_an_unknown_one_is_one_line(
        tmp_path: Path, db_path: Path) -> None:
    seed(db_path, "earlier", [relation_answer(TEXT, [(0, 7, "PERSON"), (18, 27, "ORG")], [(0, 1, "WORKS_FOR")])])
    tasks, found = stream_of(tmp_path, [{"text": TEXT}], from_dataset="earlier", db=str(db_path))
    assert tasks[0]["relations"] == [prodigy(ANN, ACME, "WORKS_FOR")] and found == []
    with pytest.raises(UserError, match="no dataset named 'nope'"):
        stream_of(tmp_path, [{"text": TEXT}], from_dataset="nope", db=str(db_path))
    seed(db_path, "votes", [{"text": TEXT, "label": "POS", "answer": "accept", "_view_id": "classification"}])
    with pytest.raises(UserError, match="--from votes: no accepted span answers in the dataset"):
        stream_of(tmp_path, [{"text": TEXT}], from_dataset="votes", db=str(db_path))


# -- exports -------------------------------------------------------------------------------------------------------
@pytest.fixture
def rel_db(db_path: Path) -> Path:
    seed(db_path, "rel", [
        relation_answer(TEXT, [(0, 7, "PERSON"), (18, 27, "ORG"), (31, 37, "LOC")],
                        [(0, 1, "WORKS_FOR"), (1, 2, "LOCATED_IN")]),
        relation_answer("Joe is here.", [(0, 3, "PERSON")], []),
        span_answer("Ann again.", [(0, 3, "PERSON")]),  # a ner answer in the same dataset: no relations
    ])
    return db_path


def meaning(text: str, spans: dict[Any, tuple[int, int, str]], relations: list[tuple[Any, Any, str]]
            ) -> list[tuple[str, str, str]]:
    """Relations as (head text, label, child text), from spans by id: what every format must say alike."""
    return [(text[spans[h][0]:spans[h][1]], label, text[spans[c][0]:spans[c][1]]) for h, c, label in relations]


EXPECTED = [("Ann Lee", "WORKS_FOR", "Acme Corp"), ("Acme Corp", "LOCATED_IN", "Berlin")]


def test_jsonl_writes_relations_as_stored(capsys: pytest.CaptureFixture[str], rel_db: Path) -> None:
    code, out, _ = run(capsys, "db-out", "rel", "--db", rel_db)
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and records[0]["relations"] == [prodigy(ANN, ACME, "WORKS_FOR"), prodigy(ACME, BERLIN,
                                                                                             "LOCATED_IN")]
    first = records[0]
    spans = {r["head"]: (r["head_span"]["start"], r["head_span"]["end"], "") for r in first["relations"]}
    spans |= {r["child"]: (r["child_span"]["start"], r["child_span"]["end"], "") for r in first["relations"]}
    assert meaning(TEXT, spans, [(r["head"], r["child"], r["label"]) for r in first["relations"]]) == EXPECTED


def test_doccano_writes_its_relation_export(capsys: pytest.CaptureFixture[str], rel_db: Path, tmp_path: Path) -> None:
    code, out, err = run(capsys, "db-out", "rel", "--format", "doccano", "--db", rel_db)
    assert code == 0 and warnings(err) == []
    records = [json.loads(line) for line in out.splitlines()]
    first = records[0]
    # doccano's relation extraction example (backend/data_import/pipeline/examples/relation_extraction): these keys
    assert set(first) == {"text", "entities", "relations"}
    assert all(set(e) == {"id", "start_offset", "end_offset", "label"} for e in first["entities"])
    assert all({"from_id", "to_id", "type"} <= set(r) for r in first["relations"])
    spans = {e["id"]: (e["start_offset"], e["end_offset"], e["label"]) for e in first["entities"]}
    assert sorted(spans.values()) == [(0, 7, "PERSON"), (18, 27, "ORG"), (31, 37, "LOC")]
    assert meaning(TEXT, spans, [(r["from_id"], r["to_id"], r["type"]) for r in first["relations"]]) == EXPECTED
    assert records[1] == {"text": "Joe is here.", "entities": [{"id": 0, "start_offset": 0, "end_offset": 3,
                                                                 "label": "PERSON"}], "relations": []}
    assert records[2] == {"text": "Ann again.", "label": [[0, 3, "PERSON"]]}  # a ner answer stays as it was
    (tmp_path / "back.jsonl").write_text(out)  # and doccano's relation export reads back: the same spans
    code, _, err = run(capsys, "db-in", "back", tmp_path / "back.jsonl", "--format", "doccano", "--db", rel_db)
    assert code == 0, err
    back = stored(rel_db, "back")
    assert [[(s["start"], s["end"], s["label"]) for s in a["spans"]] for a in back] == [
        [(0, 7, "PERSON"), (18, 27, "ORG"), (31, 37, "LOC")], [(0, 3, "PERSON")], [(0, 3, "PERSON")]]


def test_label_studio_writes_relation_results_between_region_ids(capsys: pytest.CaptureFixture[str],
                                                                 rel_db: Path, tmp_path: Path) -> None:
    code, out, err = run(capsys, "db-out", "rel", "--format", "label-studio", "--db", rel_db)
    assert code == 0 and warnings(err) == []
    tasks = json.loads(out)
    result = tasks[0]["annotations"][0]["result"]
    regions = [r for r in result if r["type"] == "labels"]
    relations = [r for r in result if r["type"] == "relation"]
    # what Label Studio's validation asks of a relation (label_studio_sdk LabelInterface._validate_relation_logic):
    # type, direction (left, right or bi), from_id and to_id naming regions of the same result
    ids = {r["id"]: (r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in regions}
    assert len(ids) == len(regions) == 3
    for relation in relations:
        assert set(relation) == {"from_id", "to_id", "type", "direction", "labels"}
        assert relation["direction"] == "right" and relation["from_id"] in ids and relation["to_id"] in ids
    assert meaning(TEXT, ids, [(r["from_id"], r["to_id"], r["labels"][0]) for r in relations]) == EXPECTED
    assert [r["type"] for r in tasks[1]["annotations"][0]["result"]] == ["labels"]
    (tmp_path / "back.json").write_text(out)  # its regions read back: the same spans
    code, _, err = run(capsys, "db-in", "back", tmp_path / "back.json", "--format", "label-studio", "--db", rel_db)
    assert code == 0, err
    assert [[(s["start"], s["end"], s["label"]) for s in a["spans"]] for a in stored(rel_db, "back")][0] == [
        (0, 7, "PERSON"), (18, 27, "ORG"), (31, 37, "LOC")]


@pytest.mark.parametrize("fmt", ["conll", "spacy"])
def test_formats_without_relations_write_the_spans_and_say_so(capsys: pytest.CaptureFixture[str], rel_db: Path,
                                                              tmp_path: Path, fmt: str) -> None:
    code, out, err = run(capsys, "db-out", "rel", tmp_path / f"out.{fmt}", "--format", fmt, "--db", rel_db)
    assert code == 0, err
    assert warnings(err) == [f"warning: rel answer 1 (input hash {stored(rel_db, 'rel')[0]['_input_hash']}): "
                             f"2 relations not written ({fmt} holds spans; jsonl, doccano and label-studio hold "
                             "relations)"]
    assert "1 answer with relations the format does not hold" in err.splitlines()[-1]
    if fmt == "conll":
        assert (tmp_path / "out.conll").read_text().startswith("Ann\tB-PERSON\nLee\tI-PERSON\n")


def test_a_stored_relation_whose_span_is_gone_is_reported_by_the_exports(capsys: pytest.CaptureFixture[str],
                                                                         db_path: Path) -> None:
    answer = relation_answer(TEXT, [(0, 7, "PERSON"), (18, 27, "ORG")], [(0, 1, "WORKS_FOR")])
    answer["relations"].append({**answer["relations"][0], "child_span": {"start": 31, "end": 37}, "label": "X"})
    answer["relations"].append({"head": 1, "child": 5, "label": "BY_TOKEN"})  # ends found by their last tokens
    seed(db_path, "odd", [answer])
    for fmt in ("doccano", "label-studio"):
        code, out, err = run(capsys, "db-out", "odd", "--format", fmt, "--db", db_path)
        assert code == 0
        input_hash = stored(db_path, "odd")[0]["_input_hash"]
        assert warnings(err) == [f"warning: odd answer 1 (input hash {input_hash}): relation X: its child span "
                                 "[31, 37) is not among the answer's spans"]
        assert "1 relation could not be represented" in err.splitlines()[-1]
        written = json.loads(out.splitlines()[0]) if fmt == "doccano" else json.loads(out)[0]
        n = len(written["relations"]) if fmt == "doccano" else sum(
            r["type"] == "relation" for r in written["annotations"][0]["result"])
        assert n == 2


# -- review ----------------------------------------------------------------------------------------------------------
def seed_two_annotators(db_path: Path) -> None:
    """alice and bob agree on the spans and the first relation; Acme Corp → Berlin is LOCATED_IN to alice and
    WORKS_FOR to bob. On a second input they agree entirely."""
    spans = [(0, 7, "PERSON"), (18, 27, "ORG"), (31, 37, "LOC")]
    seed(db_path, "ds", [
        relation_answer(TEXT, spans, [(0, 1, "WORKS_FOR"), (1, 2, "LOCATED_IN")], session="alice"),
        relation_answer(TEXT, spans, [(0, 1, "WORKS_FOR"), (1, 2, "WORKS_FOR")], session="bob"),
        *(relation_answer("Joe Bloggs joined Acme.", [(0, 10, "PERSON"), (18, 22, "ORG")], [(0, 1, "WORKS_FOR")],
                          session=who) for who in ("alice", "bob"))])


def rel_review_app(db_path: Path) -> Any:
    return recipe_app("review", db_path, "ds", output="final", db=str(db_path), session="lead", only_conflicts=True)


def test_review_takes_relation_datasets_a_relation_label_apart_is_a_conflict(db_path: Path) -> None:
    seed_two_annotators(db_path)
    components = get_recipe("review")("ds", output="final", only_conflicts=True, db=str(db_path))
    assert components["review_view"] == "relations" and len(components["stream"]) == 1  # the one conflict
    assert components["config"]["relation_labels"] == ["WORKS_FOR", "LOCATED_IN"]
    assert components["labels"] == ["PERSON", "ORG", "LOC"]
    [item] = list(components["stream"])
    versions = item["_review"]["versions"]
    assert [v["sessions"] for v in versions] == [["alice"], ["bob"]] and "relations" not in item
    assert [r["label"] for r in versions[0]["relations"]] == ["WORKS_FOR", "LOCATED_IN"]
    everyone = get_recipe("review")("ds", output="final", db=str(db_path))  # the input they agree on too
    assert len(everyone["stream"]) == 2


async def test_review_shows_each_versions_relations_and_keeps_the_picked_ones(db_path: Path) -> None:
    seed_two_annotators(db_path)
    app = rel_review_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text=TEXT)
        panel = question(screen)
        assert "2 versions from 2 annotators" in panel and "1× [alice]" in panel and "1× [bob]" in panel
        lines = panel.splitlines()
        relation_lines = [line.strip() for line in lines if "relations:" in line]
        assert relation_lines == [
            "relations: Ann Lee → WORKS_FOR → Acme Corp · ≠Acme Corp → LOCATED_IN → Berlin",
            "relations: Ann Lee → WORKS_FOR → Acme Corp · ≠Acme Corp → WORKS_FOR → Berlin"], panel
        assert "(≠ marks spans and relations not every version has)" in panel
        await pilot.press("2", "a")  # bob's version
        await wait_done(pilot)
    [row] = stored(db_path, "final")
    assert row["_view_id"] == "relations" and row["answer"] == "accept" and row["text"] == TEXT
    assert row["relations"] == [prodigy(ANN, ACME, "WORKS_FOR"), prodigy(ACME, BERLIN, "WORKS_FOR")]
    assert [(s["start"], s["end"], s["label"]) for s in row["spans"]] == [(0, 7, "PERSON"), (18, 27, "ORG"),
                                                                           (31, 37, "LOC")]
    assert row["_review"]["chosen"] == 1 and row["_review"]["reviewer"] == "lead"
    assert row["_review"]["annotators"] == ["alice", "bob"]


async def test_review_edits_a_version_in_the_relation_view(db_path: Path) -> None:
    from tuiannot.screens.rel import RelationScreen
    from tuiannot.screens.review import ReviewScreen, VersionEditor

    seed_two_annotators(db_path)
    app = rel_review_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        review = await wait_for_task(pilot, text=TEXT)
        await pilot.press("e")  # alice's version, in the relation view
        editor = await wait_for_task(pilot, RelationScreen)
        assert isinstance(editor, VersionEditor) and "alice's version" in str(editor.query_one("#title").render())
        assert editor.relation_labels == ["WORKS_FOR", "LOCATED_IN"]
        assert relation_rows(editor) == ["  1  Ann Lee  PERSON  → WORKS_FOR → Acme Corp  ORG",
                                         "  2  Acme Corp  ORG  → LOCATED_IN → Berlin  LOC"], relation_rows(editor)
        await pilot.press("r", "escape")  # escape cancels the relation being made: the editor stays
        assert app.screen is editor and editor.head is None
        await pilot.press("]", "escape")  # and ends a relation's selection
        assert app.screen is editor and editor.selected is None
        await pilot.press("escape")  # nothing made nor selected: back to the versions, nothing stored
        await wait_until(pilot, lambda: app.screen is review, "back on the review screen")
        assert isinstance(review, ReviewScreen) and app.controller.session_answers == 0
        await pilot.press("e")
        editor = await wait_for_task(pilot, RelationScreen)
        await pilot.press("]", "]", "d")  # delete Acme Corp → Berlin
        assert len(relation_rows(editor)) == 1
        await pilot.press("tab", "r", "tab", "2")  # Acme Corp → LOCATED_IN → Berlin, made again
        await pilot.press("a")
        await wait_done(pilot)
    [row] = stored(db_path, "final")
    assert row["_view_id"] == "relations" and row["_review"]["chosen"] == "edited"
    assert row["relations"] == [prodigy(ANN, ACME, "WORKS_FOR"), prodigy(ACME, BERLIN, "LOCATED_IN")]
