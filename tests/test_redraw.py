"""A key repaints what changed and nothing else (issue 15): the rows of the text that differ, not the whole text
box; not the title, nor a question that stays the same; in the span view, the rows the cursor left and reached.
What is repainted is counted with spies on the widgets' drawing, and the screen is checked to show the right
thing all the same (no row of the previous text left behind, the cursor where it is)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from tuiannot.screens.widgets.label_bar import LabelBar
from tuiannot.screens.widgets.span_text import SpanText
from tuiannot.screens.widgets.task_text import TaskText

from .helpers import make_app, recipe_app, seed, stored, wait_done, wait_for_task, write_jsonl

SIZE = (120, 36)
LONG = " ".join(f"word{i}" for i in range(49))  # three rows of the text box at 120 columns (of 27)
SHORT = "a short one"


def screen_lines(app: Any) -> list[str]:
    return ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]


def text_rows(app: Any) -> list[str]:
    """The rows inside the task box, without its border and padding."""
    return [line[1:-1].strip() for line in screen_lines(app) if line.startswith("│")]


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, counter: Counter[str], key: str) -> None:
    original = getattr(owner, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        counter[key] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)


async def test_the_next_text_repaints_the_rows_that_change_and_leaves_none_behind(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", [{"text": LONG}, {"text": SHORT}, {"text": "the third"}])
    app = make_app(source, db_path, labels="POS")
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_for_task(pilot, text=LONG)
        await pilot.pause(0.1)
        rows = text_rows(app)
        assert " ".join(rows[:3]) == LONG and rows[3:] == [""] * (len(rows) - 3)  # three rows of the box
        painted: Counter[str] = Counter()
        count_calls(monkeypatch, TaskText, "render_line", painted, "text rows")
        count_calls(monkeypatch, screen.query_one("#question", Static), "render", painted, "question")
        count_calls(monkeypatch, screen.query_one("#title", Static), "render", painted, "title")
        await pilot.press("a")
        await wait_for_task(pilot, text=SHORT)
        await pilot.pause(0.1)
        assert text_rows(app) == [SHORT] + [""] * (len(rows) - 1)  # the long text's rows are cleared
        # the three rows the long text took (the box has 27), and neither the title nor the unchanged question
        assert painted == Counter({"text rows": 3}), painted
    assert [row["text"] for row in stored(db_path, "data")] == [LONG]


async def test_an_exclusive_choice_draws_the_next_task_not_the_pick_first(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawing the pick on the old task cost a frame of its own, and the next task waited for the one after."""
    source = write_jsonl(tmp_path / "data.jsonl", [{"text": "first"}, {"text": "second"}])
    app = make_app(source, db_path, labels="POS,NEG", exclusive=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_task(pilot, text="first")
        shown: list[set[str]] = []
        original = LabelBar.show_labels

        def spy(self: LabelBar, labels: list[str], selected: set[str], *args: Any, **kwargs: Any) -> None:
            shown.append(set(selected))
            original(self, labels, selected, *args, **kwargs)

        monkeypatch.setattr(LabelBar, "show_labels", spy)
        await pilot.press("2")
        screen = await wait_for_task(pilot, text="second")
        assert shown == [set()]  # the second task's labels, none chosen: the only drawing that key made
        assert "○ NEG" in str(screen.query_one("#question").render())
    assert [(row["text"], row["accept"]) for row in stored(db_path, "data")] == [("first", ["NEG"])]


def reverse_video(app: Any) -> list[str]:
    """The reverse-video words inside the task box (the span view's cursor)."""
    found = []
    for strip in app.screen._compositor.render_strips():
        text = "".join(segment.text for segment in strip)
        if text.startswith("│"):
            found += [segment.text.strip() for segment in strip
                      if segment.style and segment.style.reverse and segment.text.strip()]
    return found


async def test_a_cursor_move_repaints_the_rows_the_cursor_left_and_reached(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = " ".join(f"w{i:03d}" for i in range(300))  # 14 rows at 120 columns
    source = write_jsonl(tmp_path / "data.jsonl", [{"text": text}])
    app = recipe_app("ner", db_path, str(source), label="PERSON,ORG", dataset="ner")
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_for_task(pilot, text=text)
        await pilot.pause(0.1)
        widget = screen.query_one("#text", SpanText)
        row_of = {word: i for i, row in enumerate(text_rows(app)) for word in row.split()}
        last_of_first_row = text_rows(app)[0].split()[-1]
        painted: Counter[str] = Counter()
        count_calls(monkeypatch, SpanText, "render_line", painted, "rows")
        await pilot.press("right")
        await pilot.pause(0.1)
        assert reverse_video(app) == ["w001"] and painted["rows"] == 1  # on the same row: that row
        for _ in range(int(last_of_first_row[1:]) - 1):
            await pilot.press("right")
        await pilot.pause(0.1)
        assert reverse_video(app) == [last_of_first_row]
        painted.clear()
        await pilot.press("right")  # to the first word of the second row
        await pilot.pause(0.1)
        following = f"w{int(last_of_first_row[1:]) + 1:03d}"
        assert row_of[following] == 1 and reverse_video(app) == [following]
        assert painted["rows"] == 2, painted  # the row it left and the row it reached, of 14
        assert widget.cursor == int(following[1:])  # (a token per word)


def vote(text: str, who: str, label: str) -> dict[str, Any]:
    return {"text": text, "options": [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"}],
            "accept": [label], "answer": "accept", "_view_id": "choice", "_session_id": f"votes-{who}",
            "_annotator_id": f"votes-{who}"}


@pytest.mark.parametrize("ready", [False, True], ids=["task-after-start", "task-ready-at-start"])
async def test_review_keeps_the_text_box_in_place_when_an_input_has_fewer_versions(db_path: Path,
                                                                                  ready: bool) -> None:
    """Two versions, then one: the versions kept their rows, so the text box did not move (a move repainted the
    whole screen and laid it out again, twice). Also when the first task is ready as the app starts: the screen
    shows it before its first layout (no widths yet: the rows are counted once it is laid out)."""
    seed(db_path, "votes", [vote("they differ", "alice", "POS"), vote("they differ", "bob", "NEG"),
                            vote("they agree", "alice", "POS"), vote("they agree", "bob", "POS")])
    app = recipe_app("review", db_path, "votes", output="final", db=str(db_path), session="lead")
    if ready:
        assert app.controller.wait_ready(timeout=10)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_for_task(pilot, text="they differ")
        await pilot.pause(0.1)
        box, question = screen.query_one("#text").region, screen.query_one("#question").region
        assert "2 versions" in str(screen.query_one("#question").render())
        await pilot.press("a")
        screen = await wait_for_task(pilot, text="they agree")
        await pilot.pause(0.1)
        assert "1 version from 2 annotators" in str(screen.query_one("#question").render())
        assert screen.query_one("#text").region == box and screen.query_one("#question").region == question


async def test_tab_with_the_span_list_open_repaints_the_two_rows_of_the_list_it_moves_between(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tuiannot.screens.widgets.span_list import SpanList

    text = " ".join(f"w{i}" for i in range(40))
    spans = [{"start": text.index(f"w{i} "), "end": text.index(f"w{i} ") + len(f"w{i}"), "label": "ORG"}
             for i in (3, 8, 13, 18, 23, 28)]
    source = write_jsonl(tmp_path / "data.jsonl", [{"text": text, "spans": spans}])
    app = recipe_app("spans", db_path, str(source), label="PERSON,ORG", dataset="sc")
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_for_task(pilot, text=text)
        await pilot.press("s", "tab")
        await pilot.pause(0.1)
        span_list = screen.query_one(SpanList)
        assert [row.startswith("▶") for row in span_list.row_texts()] == [True] + [False] * 5
        painted: Counter[str] = Counter()
        count_calls(monkeypatch, SpanList, "render_line", painted, "rows")
        await pilot.press("tab")
        await pilot.pause(0.1)
        assert [row.startswith("▶") for row in span_list.row_texts()] == [False, True] + [False] * 4
        assert "▶ 2  ORG  w8" in "\n".join(screen_lines(app))  # on screen too
        assert painted["rows"] == 2, painted  # the row it left and the row it reached, of 6


def start_app(view: str, tmp_path: Path, db_path: Path) -> Any:
    """The app of a start test: ``binary`` (textcat, one short text) or ``boxes`` (image --boxes, one photo)."""
    if view == "binary":
        return make_app(write_jsonl(tmp_path / "data.jsonl", [{"text": SHORT}]), db_path, labels="POS")
    root = tmp_path / "photos"
    root.mkdir()
    photo_like(root / "a.png", (120, 80))
    return recipe_app("image", db_path, str(root), label="CAT", boxes=True, graphics="halfcell")


def photo_like(path: Path, size: tuple[int, int] = (400, 240)) -> Path:
    """Smooth colours with noise: in 256 colours every pixel is dithered (what a photo is)."""
    import numpy as np
    from PIL import Image

    h, w = size[1], size[0]
    y, x = np.mgrid[0:h, 0:w]
    noise = np.random.default_rng(3).integers(-12, 13, (h, w, 3))
    pixels = np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (w + h)], axis=2) + noise
    Image.fromarray(np.clip(pixels, 0, 255).astype("uint8")).save(path)
    return path


@pytest.mark.parametrize("colorterm", ["truecolor", ""])
async def test_a_box_key_repaints_the_rows_the_box_spans_and_lays_nothing_out(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, colorterm: str) -> None:
    """A box moved right changes the image rows it spans and its line in the box list; nothing else is repainted
    (neither the rest of the picture, nor the labels and keys under it) and nothing is laid out again. In 256
    colours too, where drawing the box on the image and dithering it again changed pixels all over it."""
    from textual._compositor import Compositor

    from tuiannot.screens.image import BoxList
    from tuiannot.screens.widgets.image_view import ImageView

    from .helpers import image_drawn

    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", colorterm)
    root = tmp_path / "photos"
    root.mkdir()
    photo_like(root / "one.png")
    app = recipe_app("image", db_path, str(root), label="CAT,DOG", boxes=True, graphics="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_for_task(pilot, predicate=image_drawn)
        view, boxes = screen.query_one(ImageView), screen.query_one(BoxList)
        assert view.color_system == (colorterm or "256")
        await pilot.press("n")
        await pilot.pause(0.1)
        (box,) = view.display_overlays()
        spanned = box.y1 // 2 - box.y0 // 2 + 1  # the cell rows the box's sides cross
        assert spanned < len(view._rows) // 2  # (so that a whole-picture repaint would show)
        before = boxes.row_texts()
        painted: Counter[str] = Counter()
        count_calls(monkeypatch, ImageView, "render_line", painted, "image rows")
        count_calls(monkeypatch, BoxList, "render_line", painted, "list rows")
        count_calls(monkeypatch, screen.query_one("#question", Static), "render", painted, "question")
        count_calls(monkeypatch, Compositor, "reflow", painted, "layouts")
        await pilot.press("right")
        await pilot.pause(0.1)
        assert painted == Counter({"image rows": spanned, "list rows": 1}), painted
        x, y, w, h = screen.boxes[0].pixels()
        after = boxes.row_texts()
        assert [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new] == [1]
        assert after[1].strip().endswith(f"{x},{y} {w}×{h}")
        shown = app.screen._compositor.render_strips()
        view.refresh()
        boxes.refresh()
        await pilot.pause(0.1)
        assert app.screen._compositor.render_strips() == shown  # what a full repaint draws: no row left stale
        await pilot.press("a")
        await wait_done(pilot)
    assert [s["x"] for s in stored(db_path, "photos")[0]["spans"]] == [x]


async def test_the_next_photos_cells_are_made_before_a_asks_for_them(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the annotator looks at a photo, the view turns the next one (fitted by the prefetch) into half-block
    cells; ``a`` then draws it from the cache instead of making ~2,000 cells between the key and the frame."""
    import tuiannot.screens.widgets.image_view as image_view
    from tuiannot.images import decode
    from tuiannot.screens.widgets.image_view import ImageView

    from .helpers import image_drawn, wait_until

    root = tmp_path / "photos"
    root.mkdir()
    photo_like(root / "a.png", (300, 200))
    photo_like(root / "b.png", (200, 300))  # (content unlike any other test's: the image cache is the process's)
    second = decode.load(str(root / "b.png"))[0]
    app = recipe_app("image", db_path, str(root), label="CAT", boxes=True, graphics="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_for_task(pilot, predicate=image_drawn)
        assert screen.current_task["meta"]["file"] == "a.png"
        view = screen.query_one(ImageView)
        pixels = view._target(second.width, second.height)
        await wait_until(pilot, lambda: view.cache.get(("rows", second.input_hash, pixels)) is not None,
                         "the second photo's cells made ahead")
        made: Counter[str] = Counter()
        count_calls(monkeypatch, image_view, "halfcell", made, "cells made")
        await pilot.press("n", "a")
        screen = await wait_for_task(pilot, predicate=lambda s: s.current_task["meta"]["file"] == "b.png"
                                     and image_drawn(s))
        assert view._pixels == pixels and made["cells made"] == 0
        assert "▀" in view.visible_text()
    assert len(stored(db_path, "photos")) == 1


@pytest.mark.parametrize("view", ["binary", "boxes"])
async def test_a_task_ready_at_the_start_is_drawn_by_the_first_frame(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, view: str) -> None:
    """The first task of a start is shown as the screen mounts, before any frame (it waited for the screen's
    Ready message, which came after two frames without it), and a photo is fitted in the first frame's own
    layout (it was fitted after the Resize event that followed it: one frame more, issue 15)."""
    from tuiannot.screens.app import AnnotationApp
    from tuiannot.screens.widgets.image_view import ImageView

    from .helpers import image_drawn

    frames: Counter[str] = Counter()
    display = AnnotationApp._display

    def counted(self: AnnotationApp, screen: Any, renderable: Any) -> None:
        frames["frames"] += renderable is not None
        display(self, screen, renderable)

    shown_after: list[int] = []
    show_next = AnnotationApp.show_next

    def noted(self: AnnotationApp) -> None:
        shown_after.append(frames["frames"])
        show_next(self)

    first_render: list[bool] = []
    render_lines = ImageView.render_lines

    def rendered(self: ImageView, crop: Any) -> Any:
        lines = render_lines(self, crop)
        if not first_render:
            first_render.append(bool(self._rows) and not self.message)
        return lines

    monkeypatch.setattr(AnnotationApp, "_display", counted)
    monkeypatch.setattr(AnnotationApp, "show_next", noted)
    monkeypatch.setattr(ImageView, "render_lines", rendered)
    app = start_app(view, tmp_path, db_path)
    assert app.controller.wait_ready(timeout=10)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_task(pilot, text=SHORT if view == "binary" else None,
                            predicate=None if view == "binary" else image_drawn)
    assert shown_after[:1] == [0] and frames["frames"] >= 1
    assert first_render == ([True] if view == "boxes" else [])


@pytest.mark.parametrize("rows", [36, 16])
async def test_every_frame_of_a_start_has_the_terminals_breakpoint_class(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    """The first task is in the first frame: that frame is laid out for the terminal's rows already (``-short``
    below 20 rows), not restyled and drawn again when Textual gives the class at its first Resize event."""
    from tuiannot.screens.app import AnnotationApp

    classes: list[tuple[bool, bool]] = []
    display = AnnotationApp._display

    def noted(self: AnnotationApp, screen: Any, renderable: Any) -> None:
        if renderable is not None:
            classes.append((screen.has_class("-short"), screen.has_class("-tall")))
        display(self, screen, renderable)

    monkeypatch.setattr(AnnotationApp, "_display", noted)
    app = make_app(write_jsonl(tmp_path / "data.jsonl", [{"text": SHORT}]), db_path, labels="POS")
    assert app.controller.wait_ready(timeout=10)
    async with app.run_test(size=(120, rows)) as pilot:
        await wait_for_task(pilot, text=SHORT)
        await pilot.pause(0.1)
    assert classes and set(classes) == {(rows < 20, rows >= 20)}, classes


async def test_an_image_screen_never_sets_the_task_boxs_border_titles(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Images do not scroll: no "N more lines" in the task box's border. Setting a title (even to nothing)
    repaints the whole box, the photo in it; the image view's first layouts made the text screens' count flip
    and back, two repaints of ~40 KB at a start."""
    from textual.widget import Widget

    from .helpers import image_drawn

    sets: Counter[str] = Counter()
    for name in ("border_title", "border_subtitle"):
        descriptor = Widget.__dict__[name]

        class Spy(type(descriptor)):  # type: ignore[misc]
            def __set__(self, obj: Widget, title: Any, name: str = name) -> None:
                if obj.id == "task":
                    sets[name] += 1
                super().__set__(obj, title)

        spy = Spy()
        spy.__dict__.update(descriptor.__dict__)
        monkeypatch.setattr(Widget, name, spy)
    root = tmp_path / "photos"
    root.mkdir()
    for name, size in (("a", (120, 80)), ("b", (100, 90))):
        photo_like(root / f"{name}.png", size)
    app = recipe_app("image", db_path, str(root), label="CAT", boxes=True, graphics="halfcell")
    assert app.controller.wait_ready(timeout=10)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_task(pilot, predicate=image_drawn)
        await pilot.pause(0.1)
        await pilot.press("a")
        await wait_for_task(pilot, predicate=image_drawn)
        await pilot.pause(0.1)
    assert not sets, sets


@pytest.mark.parametrize("view", ["binary", "boxes"])
@pytest.mark.parametrize("rows", [36, 16])
async def test_the_start_lays_out_one_screen_and_parses_the_stylesheet_once(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, view: str, rows: int) -> None:
    """The annotation screen is the app's first screen (no empty screen of Textual's below it, laid out at every
    layout of the start too), and its CSS is read with the app's: the first task comes without a second parse of
    every rule. Every rule of the screen's is in effect all the same: its files' and its own ``CSS`` (a short
    terminal's)."""
    from textual.css.stylesheet import Stylesheet

    from .helpers import image_drawn

    parses: Counter[str] = Counter()
    count_calls(monkeypatch, Stylesheet, "reparse", parses, "reparse")
    app = start_app(view, tmp_path, db_path)
    async with app.run_test(size=(120, rows)) as pilot:
        screen = await wait_for_task(pilot, predicate=None if view == "binary" else image_drawn)
        assert app.screen_stack == [app.annotation_screen] and parses["reparse"] == 0
        assert screen.query_one("#task").styles.border_top[0] == "round"  # annotate.tcss
        assert screen.query_one("#question").styles.margin.top == (1 if rows > 20 else 0)  # the screen's CSS
        if view == "boxes":
            assert screen.query_one("#boxes").styles.width.value == 36  # image.tcss
        await pilot.press("?")  # a screen pushed over it, and back
        await pilot.pause(0.1)
        assert len(app.screen_stack) == 2
        await pilot.press("escape")
        await wait_for_task(pilot)
        assert app.screen_stack == [app.annotation_screen]
