"""The image views: classify an image (yes/no or a choice) or draw labelled boxes on it.

The image itself is drawn by :class:`~tuiannot.screens.widgets.image_view.ImageView`.

Box keys (``image_manual``): ``n`` starts a box in the middle, arrows or
``h``/``j``/``k``/``l`` move it, ``shift``+arrows (or ``H``/``J``/``K``/``L``)
resize it, ``alt``+arrows or ``f`` (fine, a toggle) take steps of 1% instead of
5%, number keys set its label, ``tab``/``shift+tab`` go through the boxes, ``d``
deletes the current one and ``a`` accepts. Coordinates are kept in the
original image's pixels whatever the terminal size.

A box key repaints what it changes and nothing else (issue 15): the image rows
the box left and reached (:class:`ImageView`), the rows of the box list that
differ (:class:`BoxList`); the labels and keys under the image are the same for
every key and are drawn once per image, without a layout when their height stays
(:func:`~.widgets.task_text.update_static`).

The image views never import numpy (issue 15): Pillow packs the pixels
(:func:`~tuiannot.images.render.packed_pixels`) and draws the boxes over them
(:func:`~tuiannot.images.render.overlay_rows`). Its import cost the first photo
~130-210 ms of CPU, and when the box screen still drew boxes on numpy arrays and
imported it in a thread beside its first photo, that thread (120 ms, 210-290 ms of
CPU with its BLAS threads) held the box view's start back on two CPUs.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Resize
from textual.containers import Horizontal
from textual.filter import ANSIToTruecolor, LineFilter
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import Widget
from textual.widgets import Static

from ..images.render import Overlay, label_rgb
from ..images.tasks import rect_span, span_box
from ..sanitize import one_line
from .annotate import LABEL_KEYS, AnnotationScreen
from .binary import BinaryScreen
from .choice import ChoiceScreen
from .widgets.image_view import ImageView
from .widgets.task_text import refresh_rows, update_static

COARSE = 0.05  # a step: this fraction of the image's width or height
FINE = 0.01
ALT_WINDOW = 0.05  # seconds: an escape this close before an arrow is alt+arrow (terminals send ESC [1;3D)


class PhotoView(ImageView):
    """The image widget of these screens; its half-block rows skip Textual's ANSI-to-truecolor line filter.

    That filter makes every segment of every repainted line anew to turn colours without RGB values (and dim
    ones) into 24-bit colours. A half-block cell's colours all carry their RGB values (in 256 colours beside the
    index: :func:`~tuiannot.images.render.palette_rgb`), and so do the box tags and the widget's background, so
    on those rows it changes nothing, at ~1,500 segments a photo: about a third of Textual's work to put the
    next photo on screen (issue 15). Any other filter (``NO_COLOR``'s) still applies; a message (dim text) and
    the other renderers keep them all."""

    def get_line_filters(self) -> Sequence[LineFilter]:
        filters = super().get_line_filters()
        if self.mode != "halfcell" or self.message or not self._rows:
            return filters
        return [f for f in filters if not isinstance(f, ANSIToTruecolor)]


class ImageMixin:
    """The parts every image screen shares: the image in place of the text."""

    current_task: dict[str, Any] | None  # set by the screen this is mixed into (AnnotationScreen)
    waiting: bool
    keeps_question = False  # the question is the same for every task: shown while loading too

    def text_widget(self) -> Widget:
        return PhotoView(self.config, id="text")  # type: ignore[attr-defined]

    def image_view(self) -> ImageView:
        return self.query_one(ImageView)  # type: ignore[attr-defined]

    def overlays(self) -> list[Overlay]:
        return []

    def show_text(self, task: dict[str, Any]) -> None:
        self.image_view().show(int(task["_input_hash"]), str(task.get("image", "")),
                               (int(task.get("width") or 1), int(task.get("height") or 1)), self.overlays())

    def show_loading(self, message: str = "Loading the next image…") -> None:
        self.current_task, self.waiting = None, True
        self.image_view().show_message(message)
        for wid in ("#meta", "#previous") if self.keeps_question else ("#meta", "#question", "#previous"):
            update_static(self.query_one(wid, Static), "")  # type: ignore[attr-defined]
        self.draw_marks()  # type: ignore[attr-defined]  # (drawn now, the first task's finds it drawn: no layout)

    def action_scroll(self, how: str) -> None:
        """Images do not scroll."""

    def _show_more(self) -> None:
        """Nothing above or below an image to count: the task box's border titles stay empty (setting them, as the
        image view's first layouts changed its virtual size, repainted the whole box and its photo twice at a
        start)."""


class ImageBinaryScreen(ImageMixin, BinaryScreen):
    VIEW_ID = "image_classification"
    CSS_PATH = ["annotate.tcss", "image.tcss"]
    HELP = {**BinaryScreen.HELP, "accept": "accept: the label applies to this image"}


class ImageChoiceScreen(ImageMixin, ChoiceScreen):
    VIEW_ID = "image_choice"
    CSS_PATH = ["annotate.tcss", "image.tcss"]
    HELP = {**ChoiceScreen.HELP, "reject": "reject: the image does not fit this question (selection kept)"}


class BoxList(Widget, can_focus=False):
    """The list of boxes beside the image: lines of text, drawn with the Line API so that a key repaints the
    rows that differ (a box moved: its row), not the whole list. Long lines wrap as in a ``Static``."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.content = Text()
        self._strips: list[Strip] = []
        self._made_for: tuple[Any, ...] = ()  # (width, height, style) the strips were made at

    def show(self, content: Text) -> None:
        if content == self.content and (content.style, content.end) == (self.content.style, self.content.end):
            return
        self.content = content
        if self._made_for != self._key():  # not drawn yet at this size: all of it, when drawn
            self.refresh()
            return
        before = self._strips
        self._strips = self._make()
        refresh_rows(self, before, self._strips)

    def row_texts(self) -> list[str]:
        """The rows as shown (for tests)."""
        return [strip.text for strip in self._strips]

    def _key(self) -> tuple[Any, ...]:
        return self.size.width, self.size.height, self.visual_style

    def _make(self) -> list[Strip]:
        self._made_for = self._key()
        width, height = self.size
        return Visual.to_strips(self, visualize(self, self.content), width, height, self.visual_style)

    def render_line(self, y: int) -> Strip:
        if self._made_for != self._key():
            self._strips = self._make()
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.visual_style.rich_style)


class _Box:
    __slots__ = ("label", "x", "y", "w", "h")

    def __init__(self, label: str, x: float, y: float, w: float, h: float) -> None:
        self.label, self.x, self.y, self.w, self.h = label, x, y, w, h

    def pixels(self) -> tuple[int, int, int, int]:
        """(x, y, width, height) in whole pixels."""
        x0, y0 = round(self.x), round(self.y)
        return x0, y0, max(1, round(self.x + self.w) - x0), max(1, round(self.y + self.h) - y0)


class BoxScreen(ImageMixin, AnnotationScreen):
    VIEW_ID = "image_manual"
    keeps_question = True
    CSS_PATH = ["annotate.tcss", "image.tcss"]
    HELP = {**AnnotationScreen.HELP,
            "accept": "accept: the boxes shown are right", "reject": "reject: the image is wrong for this task",
            "box_new": "start a box in the middle of the image", "box_left": "move the box left",
            "box_right": "move the box right", "box_up": "move the box up", "box_down": "move the box down",
            "box_wider": "widen the box", "box_narrower": "narrow the box", "box_taller": "make the box taller",
            "box_shorter": "make the box shorter", "box_fine": "fine steps (1%) on/off",
            "box_next": "next box", "box_previous": "previous box", "box_delete": "delete the current box",
            "box_left_fine": "move the box left a fine step", "box_right_fine": "move the box right a fine step",
            "box_up_fine": "move the box up a fine step", "box_down_fine": "move the box down a fine step",
            "alt_prefix": "(alt+arrow as sent by terminals: a fine step)"}

    BINDINGS = [
        Binding("n", "new_box", "New box", id="box_new"),
        Binding("left,h", "move(-1, 0)", "Left", show=False, id="box_left"),
        Binding("right,l", "move(1, 0)", "Right", show=False, id="box_right"),
        Binding("up,k", "move(0, -1)", "Up", show=False, id="box_up"),
        Binding("down,j", "move(0, 1)", "Down", show=False, id="box_down"),
        Binding("shift+right,L", "grow(1, 0)", "Wider", show=False, id="box_wider"),
        Binding("shift+left,H", "grow(-1, 0)", "Narrower", show=False, id="box_narrower"),
        Binding("shift+down,J", "grow(0, 1)", "Taller", show=False, id="box_taller"),
        Binding("shift+up,K", "grow(0, -1)", "Shorter", show=False, id="box_shorter"),
        Binding("alt+left", "move(-1, 0, True)", "Left (fine)", show=False, id="box_left_fine"),
        Binding("alt+right", "move(1, 0, True)", "Right (fine)", show=False, id="box_right_fine"),
        Binding("alt+up", "move(0, -1, True)", "Up (fine)", show=False, id="box_up_fine"),
        Binding("alt+down", "move(0, 1, True)", "Down (fine)", show=False, id="box_down_fine"),
        Binding("escape", "alt_prefix", "Alt", show=False, id="alt_prefix"),
        Binding("f", "toggle_fine", "Fine steps", id="box_fine"),
        Binding("tab", "cycle(1)", "Next box", show=False, priority=True, id="box_next"),
        Binding("shift+tab", "cycle(-1)", "Previous box", show=False, priority=True, id="box_previous"),
        Binding("d", "delete_box", "Delete box", id="box_delete"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.boxes: list[_Box] = []
        self.current: int | None = None
        self.fine = False
        self.last_label = self.labels[0] if self.labels else ""
        self._escape_at = 0.0
        self._bars: dict[bool, Text] = {}  # short terminal -> the question bar

    def text_widget(self) -> Widget:
        return Horizontal(PhotoView(self.config, id="image"), BoxList(id="boxes"), id="text")

    def question_widget(self) -> Widget:
        # the labels and keys from the first layout on: the first photo is fitted once, to its final size (the
        # bar's second line came with the first task and shrank the photo by a row: drawn twice, issue 15)
        return Static(self._question_bar(), id="question")

    # -- showing ---------------------------------------------------------------------------
    @property
    def image_size(self) -> tuple[float, float]:
        task = self.current_task or {}
        return float(task.get("width") or 1), float(task.get("height") or 1)

    def show_task(self, task: dict[str, Any], progress: Any) -> None:
        self.boxes = []
        for span in task.get("spans") or []:
            box = span_box(span) if isinstance(span, dict) else None
            if box is not None and span.get("label"):
                self.boxes.append(_Box(str(span["label"]), *box))
        self.current = len(self.boxes) - 1 if self.boxes else None
        super().show_task(task, progress)

    def show_loading(self, message: str = "Loading the next image…") -> None:
        self.boxes, self.current = [], None
        super().show_loading(message)
        self.query_one("#boxes", BoxList).show(Text())
        # the keys stay (keeps_question): the first task then finds the question as it is, its height too (no
        # layout, and the photo is fitted once, to its final size: a start drew it twice, issue 15)
        update_static(self.query_one("#question", Static), self._question_bar())

    def overlays(self) -> list[Overlay]:
        out = []
        for i, b in enumerate(self.boxes):
            index = self.labels.index(b.label) if b.label in self.labels else 7
            tag = LABEL_KEYS[index] if index < len(LABEL_KEYS) and b.label in self.labels else "?"
            x, y, w, h = b.pixels()
            out.append(Overlay(x, y, x + w, y + h, label_rgb(index), tag, i == self.current))
        return out

    def show_question(self, task: dict[str, Any]) -> None:
        self._draw_list()
        update_static(self.query_one("#question", Static), self._question_bar())

    def _question_bar(self) -> Text:
        """The labels and the box keys: the same for every task (shown while loading too), made once. On a short
        terminal the line of box keys is left out, as the other views' hints are: the photo needs the rows (the
        key bar and ``?`` still list the keys)."""
        short = self.short
        bar = self._bars.get(short)
        if bar is not None:
            return bar
        bar = self._bars[short] = Text()
        for i, label in enumerate(self.labels):
            bar.append(f" {LABEL_KEYS[i]} ", Style(reverse=True, bold=True))
            bar.append(f" {one_line(label, 30)} ", Style(color="#000000", bgcolor=_hex(label_rgb(i)), bold=True))
            bar.append("  ")
        if not short:
            bar.append("\n n new · arrows/hjkl move · shift+arrows/HJKL resize · f fine · number = label · "
                       "tab next · d delete · a accept", Style(dim=True))
        return bar

    def on_resize(self, event: Resize) -> None:  # (Textual calls the base screen's handler too)
        self.call_after_refresh(lambda: update_static(self.query_one("#question", Static), self._question_bar()))

    def _redraw(self) -> None:
        self.image_view().set_boxes(self.overlays())
        self._draw_list()

    def _draw_list(self) -> None:
        text = Text()
        text.append(f"Boxes ({len(self.boxes)})", Style(bold=True))
        if self.fine:
            text.append("  fine steps", Style(color="yellow", bold=True))
        text.append("\n")
        for i, b in enumerate(self.boxes):
            index = self.labels.index(b.label) if b.label in self.labels else 7
            x, y, w, h = b.pixels()
            current = i == self.current
            text.append("▶ " if current else "  ", Style(bold=True))
            key = LABEL_KEYS[index] if b.label in self.labels and index < len(LABEL_KEYS) else "?"
            text.append(f" {key} {one_line(b.label, 16)} ", Style.from_color(None, None) + Style(
                color="#000000", bgcolor=_hex(label_rgb(index)), bold=True, underline=current))
            text.append(f" {x},{y} {w}×{h}\n", Style(bold=current, dim=not current))
        if not self.boxes:
            text.append("  none yet: n starts one\n", Style(dim=True, italic=True))
        self.query_one("#boxes", BoxList).show(text)

    # -- keys ------------------------------------------------------------------------------
    def _step(self, fine: bool) -> tuple[float, float]:
        W, H = self.image_size
        fraction = FINE if (fine or self.fine) else COARSE
        return max(1.0, W * fraction), max(1.0, H * fraction)

    def _alt(self) -> bool:
        pressed, self._escape_at = self._escape_at, 0.0
        return time.monotonic() - pressed < ALT_WINDOW

    def action_alt_prefix(self) -> None:
        self._escape_at = time.monotonic()

    def action_new_box(self) -> None:
        if self.current_task is None:
            return
        W, H = self.image_size
        w, h = max(1.0, round(W / 3)), max(1.0, round(H / 3))
        self.boxes.append(_Box(self.last_label, round((W - w) / 2), round((H - h) / 2), w, h))
        self.current = len(self.boxes) - 1
        self._redraw()

    def action_move(self, dx: int, dy: int, fine: bool = False) -> None:
        if self.current is None or self.current_task is None:
            return
        sx, sy = self._step(fine or self._alt())
        W, H = self.image_size
        b = self.boxes[self.current]
        b.x = min(max(0.0, b.x + dx * sx), W - b.w)
        b.y = min(max(0.0, b.y + dy * sy), H - b.h)
        self._redraw()

    def action_grow(self, dx: int, dy: int) -> None:
        if self.current is None or self.current_task is None:
            return
        sx, sy = self._step(self._alt())
        W, H = self.image_size
        b = self.boxes[self.current]
        b.w = min(max(1.0, b.w + dx * sx), W - b.x)
        b.h = min(max(1.0, b.h + dy * sy), H - b.y)
        self._redraw()

    def action_toggle_fine(self) -> None:
        self.fine = not self.fine
        self._draw_list()

    def action_cycle(self, step: int) -> None:
        if not self.boxes:
            return
        self.current = 0 if self.current is None else (self.current + step) % len(self.boxes)
        self._redraw()

    def action_delete_box(self) -> None:
        if self.current is None:
            self.notify("No box to delete: n starts one.", timeout=2)
            return
        del self.boxes[self.current]
        self.current = (min(self.current, len(self.boxes) - 1)) if self.boxes else None
        self._redraw()

    def action_label(self, index: int) -> None:
        if self.current_task is None or index >= len(self.labels):
            return
        self.last_label = self.labels[index]
        if self.current is None:
            self.action_new_box()
            return
        self.boxes[self.current].label = self.last_label
        self._redraw()

    def current_fields(self) -> dict[str, Any]:
        return {"spans": [rect_span(b.label, *b.pixels()) for b in self.boxes]}

    def label_help(self) -> dict[str, str]:
        return {f"label_{LABEL_KEYS[i]}": f"give the current box the label {label} (or start one with it)"
                for i, label in enumerate(self.labels[:10])}


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb
