"""The image views: classify an image (yes/no or a choice) or draw labelled boxes on it.

:class:`ImageView` draws the image with the renderer the recipe chose
(:mod:`tuiannot.render`): half-blocks or ASCII as text cells, Kitty graphics as
Unicode placeholders, Sixel written into the frame. The image was decoded in the
stream's prefetch (:mod:`tuiannot.images`), fitted to this widget's size and
even turned into cells there, so showing the next image costs a cache look-up;
on a miss (a terminal resize, an evicted image) a thread worker decodes and fits
it. Boxes are drawn on the cached fitted image at each key press: only the rows
they touch are redrawn.

Box keys (``image_manual``): ``n`` starts a box in the middle, arrows or
``h``/``j``/``k``/``l`` move it, ``shift``+arrows (or ``H``/``J``/``K``/``L``)
resize it, ``alt``+arrows or ``f`` (fine, a toggle) take steps of 1% instead of
5%, number keys set its label, ``tab``/``shift+tab`` go through the boxes, ``d``
deletes the current one and ``a`` accepts. Coordinates are kept in the
original image's pixels whatever the terminal size.
"""

from __future__ import annotations

import random
import time
from typing import Any

from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.containers import Horizontal
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from .. import images
from ..render import (Overlay, StyleCache, ascii_art, cell_size, draw_overlays, draw_tags, halfcell, halfcell_row,
                      kitty_cells, kitty_delete, kitty_placeholders, kitty_transmit, label_rgb, packed_pixels, pixel_size,
                      sixel_encode, tag_cells)
from ..sanitize import one_line
from .annotate import LABEL_KEYS, AnnotationScreen
from .binary import BinaryScreen
from .choice import ChoiceScreen

COARSE = 0.05  # a step: this fraction of the image's width or height
FINE = 0.01
ALT_WINDOW = 0.05  # seconds: an escape this close before an arrow is alt+arrow (terminals send ESC [1;3D)


class ImageView(Widget, can_focus=False):
    """An image fitted to the widget, boxes drawn over it, in the chosen renderer."""

    DEFAULT_CSS = """
    ImageView { width: 1fr; height: 1fr; padding: 0; border: none; }
    """

    def __init__(self, config: dict[str, Any], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = str(config.get("graphics") or "halfcell")
        self.color_system = str(config.get("colors") or "truecolor")
        cell = config.get("cell") or (10, 20)
        self.cell = (int(cell[0]), int(cell[1]))
        self.base_size = int(config.get("base_size") or images.BASE_SIZE)
        self.cache = images.CACHE
        self.key: int | None = None
        self.ref: str | None = None
        self.size_px: tuple[int, int] = (0, 0)  # the original (upright) size
        self.boxes: list[Overlay] = []  # in original pixels
        self.message = ""
        self.error: str | None = None
        self._area: tuple[int, int] = (0, 0)
        self._pixels: tuple[int, int] = (0, 0)
        self._fit: Any = None
        self._base_rows: list[list[Segment]] | None = None
        self._base_packed: list[list[int]] | None = None
        self._rows: list[list[Segment]] = []
        self._cells: tuple[int, int] = (0, 0)
        self._token = 0
        self._styles = StyleCache(self.color_system)
        self._kitty_id = random.randint(1 << 16, (1 << 24) - 1)
        self._kitty_sent = False
        self._sixel: str | None = None
        self.renders = 0  # frames of the image made (for tests and the benchmark)

    # -- the cache's view of this widget (called from the prefetch thread) ------------------
    def _target(self, width: int, height: int) -> tuple[int, int]:
        cols, rows = self._area
        return pixel_size(self.mode, width, height, cols, rows, self.cell)

    def _prerender(self, fitted: Any) -> Any:
        if self.mode == "halfcell":
            return halfcell(fitted, self.color_system, self._styles)
        return None

    def on_mount(self) -> None:
        self.cache.target = self._target
        self.cache.prerender = None  # cells are made on show: in the prefetch thread they would hold the GIL

    def on_unmount(self) -> None:
        if self.cache.target == self._target:
            self.cache.target = None
            self.cache.prerender = None
        if self.mode == "kitty" and self._kitty_sent:
            self._write(kitty_delete(self._kitty_id))

    # -- showing --------------------------------------------------------------------------
    def show_message(self, message: str) -> None:
        self._token += 1
        self.key, self.message, self.error = None, message, None
        self._rows, self._fit, self._cells = [], None, (0, 0)
        self.refresh()

    def show(self, key: int, ref: str, size: tuple[int, int], boxes: list[Overlay]) -> None:
        self._token += 1
        self.key, self.ref, self.size_px, self.boxes = key, ref, size, boxes
        self.message, self.error = "", None
        self._fit = None
        self._refit()

    def set_boxes(self, boxes: list[Overlay]) -> None:
        self.boxes = boxes
        if self._fit is not None:
            self._draw()

    def on_resize(self) -> None:
        area = (self.content_size.width, self.content_size.height)
        if area != self._area:
            self._area = area
            if self.key is not None:
                self._token += 1
                self._refit()
            # the images prefetched so far (before the screen was up, or at the old size) fitted anew
            self.run_worker(lambda: self.cache.fit_cached(self.base_size), thread=True, exclusive=True,
                            group=f"image-refit-{id(self)}")

    def _refit(self) -> None:
        cols, rows = self._area = (self.content_size.width, self.content_size.height)
        if self.key is None or cols <= 0 or rows <= 0:
            return
        pixels = self._target(*self.size_px)
        fitted = self.cache.get(("fit", self.key, pixels))
        if fitted is not None:
            rows_cached = self.cache.get(("rows", self.key, pixels)) if self.mode == "halfcell" else None
            self._use(pixels, fitted, rows_cached)
            return
        self.message = "Loading the image…"
        self.refresh()
        token, key, ref = self._token, self.key, self.ref
        self.run_worker(lambda: self._load(token, key, ref, pixels), thread=True, exclusive=True,
                        group=f"image-load-{id(self)}")

    def _load(self, token: int, key: int, ref: str | None, pixels: tuple[int, int]) -> None:
        """In a thread: decode (on a cache miss), fit, and make the cells."""
        try:
            fitted = self.cache.fitted(key, ref, pixels, self.base_size)
            rows = self._prerender(fitted)
        except images.ImageError as e:
            self.app.call_from_thread(self._failed, token, str(e))
            return
        except Exception as e:  # noqa: BLE001 (shown, never a crash)
            self.app.call_from_thread(self._failed, token, f"{type(e).__name__}: {e}")
            return
        if rows is not None:
            self.cache.put(("rows", key, pixels), rows)
        self.app.call_from_thread(self._loaded, token, pixels, fitted, rows)

    def _loaded(self, token: int, pixels: tuple[int, int], fitted: Any, rows: Any) -> None:
        if token == self._token:
            self._use(pixels, fitted, rows)

    def _failed(self, token: int, reason: str) -> None:
        if token == self._token:
            self.error = reason
            self.message = f"The image cannot be shown: {reason}"
            self.refresh()

    def _use(self, pixels: tuple[int, int], fitted: Any, rows: Any) -> None:
        self.message = ""
        self._pixels, self._fit = pixels, fitted
        if self.mode == "kitty":
            self._cells = kitty_cells(*self.size_px, *self._area, self.cell)
        else:
            self._cells = cell_size(self.mode, pixels, self.cell)
        self._base_rows = rows
        self._base_packed = None
        self._draw()

    # -- boxes over the image --------------------------------------------------------------
    def display_overlays(self) -> list[Overlay]:
        """The boxes in the fitted image's pixels."""
        W, H = self.size_px
        pw, ph = self._pixels
        if not W or not H or not pw or not ph:
            return []
        out = []
        for b in self.boxes:
            x0 = int(b.x0 * pw / W)
            y0 = int(b.y0 * ph / H)
            x1 = max(x0, min(pw - 1, int(-(-b.x1 * pw // W)) - 1))
            y1 = max(y0, min(ph - 1, int(-(-b.y1 * ph // H)) - 1))
            out.append(Overlay(min(x0, pw - 1), min(y0, ph - 1), x1, y1, b.color, b.tag, b.current))
        return out

    def _draw(self) -> None:
        if self._fit is None:
            return
        overlays = self.display_overlays()
        self.renders += 1
        if self.mode == "halfcell":
            self._rows = self._halfcell(overlays)
        elif self.mode == "ascii":
            self._rows = ascii_art(self._fit, overlays)
        else:
            token, fit = self._token, self._fit
            self.run_worker(lambda: self._encode(token, fit, overlays), thread=True, exclusive=True,
                            group=f"image-encode-{id(self)}")
            return
        self.refresh()

    def _halfcell(self, overlays: list[Overlay]) -> list[list[Segment]]:
        if self._base_rows is None:
            self._base_rows = halfcell(self._fit, self.color_system, self._styles)
        if not overlays:
            return self._base_rows
        if self._base_packed is None:
            self._base_packed = packed_pixels(self._fit, self.color_system)
        drawn = packed_pixels(draw_overlays(self._fit, overlays), self.color_system)
        tags = tag_cells(overlays, "halfcell", self._cells)
        by_row: dict[int, dict[int, tuple[str, Style]]] = {}
        for (x, y), tag in tags.items():
            by_row.setdefault(y, {})[x] = tag
        base = self._base_packed
        rows = list(self._base_rows)
        for r in range(len(rows)):
            top, bottom = 2 * r, 2 * r + 1
            changed = drawn[top] != base[top] or (bottom < len(drawn) and drawn[bottom] != base[bottom])
            if changed or r in by_row:
                rows[r] = halfcell_row(drawn[top], drawn[bottom] if bottom < len(drawn) else None, self._styles,
                                       by_row.get(r))
        return rows

    def _encode(self, token: int, fit: Any, overlays: list[Overlay]) -> None:
        """In a thread: the pixel renderers' escape sequences for the image with its boxes."""
        width = max(1, round(max(fit.size) / 400))
        image = draw_tags(draw_overlays(fit, overlays, width=width), overlays) if overlays else fit
        cols, rows = self._cells
        if self.mode == "kitty":
            payload = kitty_transmit(image, self._kitty_id, cols, rows)
        else:
            payload = sixel_encode(image)
        self.app.call_from_thread(self._encoded, token, payload)

    def _encoded(self, token: int, payload: str) -> None:
        if token != self._token:
            return
        cols, rows = self._cells
        if self.mode == "kitty":
            self._write(payload)
            self._kitty_sent = True
            self._rows = kitty_placeholders(self._kitty_id, cols, rows)
        else:
            self._sixel = payload
            self._rows = [[] for _ in range(rows)]
        self.refresh()

    def _write(self, data: str) -> None:
        driver = getattr(self.app, "_driver", None)
        if driver is not None:
            try:
                driver.write(data)
            except Exception:  # noqa: BLE001 (a headless driver, a closed terminal)
                pass

    # -- drawing --------------------------------------------------------------------------
    def visible_text(self) -> str:
        return "\n".join("".join(s.text for s in self.render_line(y) if not s.control)
                         for y in range(self.content_size.height))

    def render_line(self, y: int) -> Strip:
        width, height = self.content_size.width, self.content_size.height
        style = self.rich_style
        if self.message or not self._rows:
            if self.message and y == height // 2:
                text = one_line(self.message, max(1, width - 2))
                pad = max(0, (width - len(text)) // 2)
                return Strip([Segment(" " * pad, style), Segment(text, style + Style(dim=True, italic=True))]
                             ).adjust_cell_length(width, style)
            return Strip.blank(width, style)
        cols, rows = self._cells
        left = max(0, (width - cols) // 2)
        top = max(0, (height - rows) // 2)
        index = y - top
        if index < 0 or index >= len(self._rows):
            return Strip.blank(width, style)
        segments = [Segment(" " * left, style)] if left else []
        if self.mode == "sixel":
            # Blank cells, and on the last row the Sixel data written over them (cursor saved and restored).
            # Line filters drop a segment's control flag, so the strip's length is given, not measured.
            used = min(width, left + cols)
            segments.append(Segment(" " * (used - left), style))
            if index == len(self._rows) - 1 and self._sixel and self._screen_active():
                region = self.content_region
                move = Control.move_to(region.x + left, region.y + top).segment.text
                segments.append(Segment("\x1b7" + move + self._sixel + "\x1b8", Style.null(),
                                        [(ControlType.CURSOR_FORWARD, 0)]))
            segments.append(Segment(" " * (width - used), style))
            return Strip(segments, width)
        if self.mode == "halfcell":
            segments.extend(self._rows[index])
        else:  # ASCII and placeholders: on the widget's background (a line filter needs a style on each)
            segments.extend(Segment(text, style + s if s else style) for text, s, _ in self._rows[index])
        return Strip(segments).adjust_cell_length(width, style)

    def _screen_active(self) -> bool:
        try:
            return self.screen.is_active
        except Exception:  # noqa: BLE001
            return False


class ImageMixin:
    """The parts every image screen shares: the image in place of the text."""

    def text_widget(self) -> Widget:
        return ImageView(self.config, id="text")  # type: ignore[attr-defined]

    def image_view(self) -> ImageView:
        return self.query_one(ImageView)  # type: ignore[attr-defined]

    def overlays(self) -> list[Overlay]:
        return []

    def show_text(self, task: dict[str, Any]) -> None:
        self.image_view().show(int(task["_input_hash"]), str(task.get("image", "")),
                               (int(task.get("width") or 1), int(task.get("height") or 1)), self.overlays())

    def show_loading(self, message: str = "Loading the next image…") -> None:
        self.current_task, self.waiting = None, True  # type: ignore[attr-defined]
        self.image_view().show_message(message)
        for wid in ("#meta", "#question", "#previous"):
            self.query_one(wid, Static).update("")  # type: ignore[attr-defined]

    def action_scroll(self, how: str) -> None:
        """Images do not scroll."""


class ImageBinaryScreen(ImageMixin, BinaryScreen):
    VIEW_ID = "image_classification"
    CSS_PATH = ["annotate.tcss", "image.tcss"]
    HELP = {**BinaryScreen.HELP, "accept": "accept: the label applies to this image"}


class ImageChoiceScreen(ImageMixin, ChoiceScreen):
    VIEW_ID = "image_choice"
    CSS_PATH = ["annotate.tcss", "image.tcss"]
    HELP = {**ChoiceScreen.HELP, "reject": "reject: the image does not fit this question (selection kept)"}


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

    def text_widget(self) -> Widget:
        return Horizontal(ImageView(self.config, id="image"), Static("", id="boxes"), id="text")

    # -- showing ---------------------------------------------------------------------------
    @property
    def image_size(self) -> tuple[float, float]:
        task = self.current_task or {}
        return float(task.get("width") or 1), float(task.get("height") or 1)

    def show_task(self, task: dict[str, Any], progress: Any) -> None:
        self.boxes = []
        for span in task.get("spans") or []:
            box = images.span_box(span) if isinstance(span, dict) else None
            if box is not None and span.get("label"):
                self.boxes.append(_Box(str(span["label"]), *box))
        self.current = len(self.boxes) - 1 if self.boxes else None
        super().show_task(task, progress)

    def show_loading(self, message: str = "Loading the next image…") -> None:
        self.boxes, self.current = [], None
        super().show_loading(message)
        self.query_one("#boxes", Static).update("")

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
        self.query_one("#boxes", Static).update(text)
        bar = Text()
        for i, label in enumerate(self.labels):
            bar.append(f" {LABEL_KEYS[i]} ", Style(reverse=True, bold=True))
            bar.append(f" {one_line(label, 30)} ", Style(color="#000000", bgcolor=_hex(label_rgb(i)), bold=True))
            bar.append("  ")
        bar.append("\n n new · arrows/hjkl move · shift+arrows/HJKL resize · f fine · number = label · "
                   "tab next · d delete · a accept", Style(dim=True))
        self.query_one("#question", Static).update(bar)

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
        return {"spans": [images.rect_span(b.label, *b.pixels()) for b in self.boxes]}

    def label_help(self) -> dict[str, str]:
        return {f"label_{LABEL_KEYS[i]}": f"give the current box the label {label} (or start one with it)"
                for i, label in enumerate(self.labels[:10])}


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb
