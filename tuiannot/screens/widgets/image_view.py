"""The image widget: an image fitted to the widget, boxes drawn over it, in the chosen renderer.

It draws with the renderer the recipe chose (:mod:`tuiannot.images.render`):
half-blocks or ASCII as text cells, Kitty graphics as Unicode placeholders, Sixel
written into the frame. The image was decoded in the stream's prefetch
(:mod:`tuiannot.images.decode`) and fitted to this widget's size there; its
half-block cells are made while the annotator looks at the image before it
(:meth:`ImageView._prerender_ahead`, on the app's thread: in the prefetch thread
they would hold the GIL), so showing the next image costs a cache look-up; on a
miss (an evicted image) a thread worker decodes and fits it; an image decoded but
not fitted to this size (the first one of a start, a terminal resize) is fitted here.
At a start the prefetch decodes the first image, then waits until this widget drew it
(or shows a message) before it decodes the next ones
(:meth:`~tuiannot.images.decode.ImageCache.hold_start`, issue 15).

A box key costs the rows it changes (issue 15). With half-blocks, boxes are drawn
on the fitted image's packed pixels, lists of ints made by Pillow
(:func:`~tuiannot.images.render.overlay_rows`: no numpy, whose import slowed the box
view's start), the rows whose pixels or tags differ from the frame on screen are made
anew, and only those are repainted (``refresh`` of their regions): a box moved right
repaints the rows its sides cross, not the picture. ASCII repaints the rows that
differ too; Kitty and Sixel send the whole image again (in a thread).

The next photo costs Textual little (issue 15): with half-blocks and nothing for
Textual to add (no line filter, border, padding, tint), :meth:`ImageView.render_lines`
hands the compositor the widget's lines as strips it keeps (:meth:`ImageView.line`)
instead of having them made anew each frame, and the next photos' lines are made
ahead with their terminal sequences (``Strip.render``, cached on the strip), beside
their cells: showing one passes them through, and Textual writes the photo's ~40 KB
of escape sequences without making them. A box key forgets the lines it changes.
"""

from __future__ import annotations

import random
from typing import Any

from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from ...images import decode as images
from ...images.render import (
    Overlay,
    StyleCache,
    ascii_art,
    cell_size,
    draw_overlays,
    draw_tags,
    halfcell,
    halfcell_row,
    kitty_cells,
    kitty_delete,
    kitty_placeholders,
    kitty_transmit,
    overlay_rows,
    packed_pixels,
    pixel_size,
    sixel_encode,
    tag_cells,
)
from ...sanitize import one_line


PRERENDER_AFTER = 0.05  # seconds after an image is shown (and between two): the next images' cells are made
PRERENDER_AHEAD = 2  # images whose cells are made ahead, after each one shown
PRERENDER_TRIES = 10  # timer ticks an image not decoded yet is looked for (0.5 s)
FRAME_WRITTEN = 0.01  # seconds after a new image's frame until the prefetch may decode (ImageCache.hold_frame):
# the compositor has handed the frame to Textual's writer thread, which writes ~40 KB in ~1 ms


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
        self._base_packed: list[list[int]] | None = None  # the fitted image's packed pixels, made at its first box
        self._rows: list[list[Segment]] = []
        self._lines: dict[int, Strip] = {}  # y -> the line as drawn now (see line())
        self._lines_for: tuple[Any, ...] = ()  # (width, height, style) they were made at
        self._ahead: dict[int, tuple[tuple[Any, ...], Any, dict[int, Strip]]] = {}  # key -> frame made ahead
        self._fresh = False  # whether _rows are on screen for this fit (a key then repaints only rows that change)
        self._drawn: list[list[int]] | None = None  # the packed pixels on screen with boxes (None: the image's)
        self._tags: dict[int, dict[int, tuple[str, Style]]] = {}  # row -> column -> the tag drawn there
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
        # the styles carry the codes the app's console writes (Textual writes without a color system as 24-bit)
        self._styles.set_terminal(self.app.console.color_system or "truecolor")
        self.cache.target = self._target
        self.cache.prerender = None  # in the prefetch thread they would hold the GIL: made when idle instead

    def on_unmount(self) -> None:
        self.cache.release_start()
        self.cache.release_frame()
        if self.cache.target == self._target:
            self.cache.target = None
            self.cache.prerender = None
        if self.mode == "kitty" and self._kitty_sent:
            self._write(kitty_delete(self._kitty_id))

    # -- showing --------------------------------------------------------------------------
    def show_message(self, message: str) -> None:
        self.cache.release_start()  # the screen waits for an image: nothing to hold the prefetch for
        self.cache.release_frame()
        self._token += 1
        self.key, self.message, self.error = None, message, None
        self._rows, self._fit, self._cells, self._fresh = [], None, (0, 0), False
        self._lines.clear()
        self.refresh()

    def show(self, key: int, ref: str, size: tuple[int, int], boxes: list[Overlay]) -> None:
        if key != self.key:
            self.cache.hold_frame()  # (released once its frame is out, or if it fails)
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
        self._sized(repaint=True)

    def _sized(self, repaint: bool) -> None:
        """The widget has a new size: the image on show fitted to it, and those prefetched so far (before the
        screen was up, or at the old size) in a thread. ``repaint`` False: called while the frame is being
        drawn (:meth:`render_lines`), which draws the new rows already."""
        area = (self.content_size.width, self.content_size.height)
        if area != self._area:
            self._area = area
            if self.key is not None:
                self._token += 1
                self._refit(repaint)
            self.run_worker(lambda: self.cache.fit_cached(self.base_size), thread=True, exclusive=True,
                            group=f"image-refit-{id(self)}")

    def _refit(self, repaint: bool = True) -> None:
        cols, rows = self._area = (self.content_size.width, self.content_size.height)
        if self.key is None or cols <= 0 or rows <= 0:
            return
        pixels = self._target(*self.size_px)
        fitted = self.cache.get(("fit", self.key, pixels))
        if fitted is None and self.cache.get(("base", self.key, self.base_size)) is not None:
            # decoded (the prefetch) but not fitted to this size (it was decoded before the screen was up, or the
            # terminal was resized): a resize of ~0.5 ms, here, rather than a thread worker, "Loading the image…"
            # and a frame more (the first photo of a start, issue 15)
            try:
                fitted = self.cache.fitted(self.key, None, pixels, self.base_size)
            except images.ImageError:  # evicted meanwhile: decoded again in the worker
                fitted = None
        if fitted is not None:
            rows_cached = self.cache.get(("rows", self.key, pixels)) if self.mode == "halfcell" else None
            self._use(pixels, fitted, rows_cached, repaint)
            if rows_cached is None and self.mode == "halfcell" and self._base_rows is not None:
                self.cache.put(("rows", self.key, pixels), self._base_rows)  # (as the worker does: an undo finds them)
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

    def _frame_out(self) -> None:
        self.cache.release_start()
        self.set_timer(FRAME_WRITTEN, self.cache.release_frame)

    def _failed(self, token: int, reason: str) -> None:
        self.cache.release_start()
        self.cache.release_frame()
        if token == self._token:
            self.error = reason
            self.message = f"The image cannot be shown: {reason}"
            self.refresh()

    def _use(self, pixels: tuple[int, int], fitted: Any, rows: Any, repaint: bool = True) -> None:
        self.call_after_refresh(self._frame_out)  # the prefetch decodes on once the frame is out
        self.message = ""
        self._pixels, self._fit = pixels, fitted
        if self.mode == "kitty":
            self._cells = kitty_cells(*self.size_px, *self._area, self.cell)
        else:
            self._cells = cell_size(self.mode, pixels, self.cell)
        self._base_rows = rows
        self._base_packed, self._drawn, self._tags, self._fresh = None, None, {}, False
        self._draw(repaint)
        if self.mode == "halfcell":
            ahead = self._ahead.pop(self.key, None) if self.key is not None else None
            if ahead is not None and self._rows is rows and ahead[1] is rows and ahead[0] == self._frame_key():
                self._lines, self._lines_for = dict(ahead[2]), ahead[0]  # the lines and their sequences made
            self.set_timer(PRERENDER_AFTER, self._prerender_ahead)

    def _prerender_ahead(self, budget: int = PRERENDER_AHEAD, tries: int = PRERENDER_TRIES,
                         token: int | None = None) -> None:
        """While the annotator looks at this image: the cells of the next ones the prefetch decoded and their
        lines (:meth:`_make_ahead`), one image per timer tick (a couple of milliseconds each), so that ``a``
        finds the next image's cells and lines made. Those not decoded yet (the first image of a start: the
        prefetch waited for it to be drawn) are looked for again, ``tries`` times."""
        if token is None:
            token = self._token
        if self.cache.target != self._target or self._fit is None or token != self._token:
            return
        upcoming = self.cache.upcoming(self.key)[:PRERENDER_AHEAD]
        for key in [k for k in self._ahead if k not in upcoming]:
            del self._ahead[key]
        for key in upcoming:
            pixels = self._target(*self.cache.originals.get(key, (0, 0)))
            if pixels[0] <= 0 or pixels[1] <= 0:
                continue
            rows = self.cache.get(("rows", key, pixels))
            if rows is None:
                try:
                    fitted = self.cache.fitted(key, None, pixels, self.base_size)
                except images.ImageError:  # no longer in the cache: made on show
                    continue
                rows = halfcell(fitted, self.color_system, self._styles)
                self.cache.put(("rows", key, pixels), rows)
                self._make_ahead(key, pixels, rows)
            elif not self._make_ahead(key, pixels, rows):
                continue  # made already
            if budget > 1:
                self.set_timer(PRERENDER_AFTER, lambda: self._prerender_ahead(budget - 1, tries, token))
            return
        if len(upcoming) < PRERENDER_AHEAD and tries > 1:  # not decoded yet
            self.set_timer(PRERENDER_AFTER, lambda: self._prerender_ahead(budget, tries - 1, token))

    def _make_ahead(self, key: int, pixels: tuple[int, int], rows: list[list[Segment]]) -> bool:
        """The lines of image ``key`` as :meth:`line` will give them, with their terminal sequences; False when
        made already (or when Textual would add to them)."""
        frame = self._frame_key()
        made = self._ahead.get(key)
        if (made is not None and made[0] == frame and made[1] is rows) or not self._plain():
            return False
        width, height, style = frame
        cells = cell_size(self.mode, pixels, self.cell)
        console = self.app.console
        lines = {}
        for y in range(height):
            lines[y] = strip = _halfcell_line(rows, y, width, height, cells, style)
            strip.render(console)  # (cached on the strip: Textual writes it as it is)
        self._ahead[key] = (frame, rows, lines)
        return True

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

    def _draw(self, repaint: bool = True) -> None:
        """The image with its boxes now; on a frame already on screen, only the rows that change are repainted
        (``repaint`` False: none, the frame being drawn draws them)."""
        if self._fit is None:
            return
        overlays = self.display_overlays()
        self.renders += 1
        changed: list[int] | None = None  # None: every row
        if self.mode == "halfcell":
            self._rows, changed = self._halfcell(overlays)
        elif self.mode == "ascii":
            rows = ascii_art(self._fit, overlays)
            if self._fresh and len(rows) == len(self._rows):
                changed = [r for r, (old, new) in enumerate(zip(self._rows, rows, strict=True)) if old != new]
            self._rows, self._fresh = rows, True
        else:
            token, fit = self._token, self._fit
            self.run_worker(lambda: self._encode(token, fit, overlays), thread=True, exclusive=True,
                            group=f"image-encode-{id(self)}")
            return
        if changed is None:
            self._lines.clear()
            if repaint:
                self.refresh()
        elif changed and repaint:
            top = max(0, (self.content_size.height - self._cells[1]) // 2)
            width = self.content_size.width
            for r in changed:
                self._lines.pop(top + r, None)
            self.refresh(*(Region(0, top + r, width, 1) for r in changed))

    def _halfcell(self, overlays: list[Overlay]) -> tuple[list[list[Segment]], list[int] | None]:
        """The rows of half-blocks with the boxes drawn over the image's, and the rows that differ from those on
        screen (None: all of them, a new frame). Boxes are drawn on the packed pixels (:func:`overlay_rows`: a
        pixel row no box touches is the image's own list, so most rows compare by identity), and only the rows
        whose pixels or tags changed since the last frame are made anew."""
        if self._base_rows is None:
            self._base_rows = halfcell(self._fit, self.color_system, self._styles)
        base_rows = self._base_rows
        if not overlays and self._drawn is None and not self._tags:
            fresh, self._fresh = self._fresh, True
            return base_rows, ([] if fresh else None)
        if self._base_packed is None:
            self._base_packed = packed_pixels(self._fit, self.color_system)
        base = self._base_packed
        drawn = overlay_rows(base, overlays, self.color_system) if overlays else None
        pixels = base if drawn is None else drawn
        tags: dict[int, dict[int, tuple[str, Style]]] = {}
        for (x, y), tag in tag_cells(overlays, "halfcell", self._cells).items():
            tags.setdefault(y, {})[x] = tag
        # pixel rows that are not the image's own
        differs = [new is not old and new != old for new, old in zip(pixels, base, strict=True)]
        count = len(base_rows)
        if self._fresh:  # the rows whose pixels or tags changed since the last frame
            shown = base if self._drawn is None else self._drawn
            rows = list(self._rows)
            moved = {y // 2 for y, (new, old) in enumerate(zip(pixels, shown, strict=True))
                     if new is not old and new != old}
            redo = sorted(moved | {r for r in set(tags) | set(self._tags) if tags.get(r) != self._tags.get(r)})
        else:  # a new frame: the rows that are not the image's own
            rows = list(base_rows)
            redo = sorted({y // 2 for y, differ in enumerate(differs) if differ} | set(tags))
        for r in redo:
            if r >= count:
                continue
            top, bottom = 2 * r, 2 * r + 1
            has_bottom = bottom < len(pixels)
            if r not in tags and not differs[top] and not (has_bottom and differs[bottom]):
                rows[r] = base_rows[r]
            else:
                rows[r] = halfcell_row(pixels[top], pixels[bottom] if has_bottom else None, self._styles,
                                       tags.get(r))
        changed = [r for r in redo if r < count] if self._fresh else None
        self._drawn, self._tags, self._fresh = drawn, tags, True
        return rows, changed

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
        self._lines.clear()
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

    def _frame_key(self) -> tuple[Any, ...]:
        return self.content_size.width, self.content_size.height, self.visual_style.rich_style

    def _plain(self) -> bool:
        """Whether Textual would draw the lines as :meth:`render_line` gives them: half-blocks, no line filter
        (:class:`~tuiannot.screens.image.PhotoView` drops the one that changes nothing on them), no border,
        padding, outline, tint, hatch or opacity."""
        styles = self.styles
        return (self.mode == "halfcell" and not self.get_line_filters() and self.size == self.content_size
                and not any(edge for edge, _ in styles.outline) and not styles.tint.a and self.opacity == 1.0
                and styles.text_opacity == 1.0 and not styles.has_rule("hatch"))

    def line(self, y: int) -> Strip:
        """Line ``y`` as :meth:`render_line` makes it, kept until what it shows changes."""
        frame = self._frame_key()
        if frame != self._lines_for:
            self._lines.clear()
            self._lines_for = frame
        strip = self._lines.get(y)
        if strip is None:
            strip = self._lines[y] = self.render_line(y)
        return strip

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual's way in: the kept lines when Textual would add nothing to them (:meth:`_plain`).

        An image shown before the widget had its size (the first one of a start: the screen shows it before its
        first layout) is fitted here, in the frame of that layout, not in the next one after the ``Resize``
        event (issue 15: the first photo came a frame, ~30 ms, after the rest of the screen)."""
        if self.key is not None and self._fit is None and not self.message:
            self._sized(repaint=False)
        if (self.message or not self._rows or crop.column_span != (0, self.size.width)
                or crop.bottom > self.size.height or not self._plain()):
            return super().render_lines(crop)
        line = self.line
        return [line(y) for y in crop.line_range]

    def render_line(self, y: int) -> Strip:
        width, height = self.content_size.width, self.content_size.height
        style = self.visual_style.rich_style  # (cached by Textual; DOMNode.rich_style walks the ancestors each time)
        if self.message or not self._rows:
            if self.message and y == height // 2:
                text = one_line(self.message, max(1, width - 2))
                pad = max(0, (width - len(text)) // 2)
                return Strip([Segment(" " * pad, style), Segment(text, style + Style(dim=True, italic=True))]
                             ).adjust_cell_length(width, style)
            return Strip.blank(width, style)
        if self.mode == "halfcell":
            return _halfcell_line(self._rows, y, width, height, self._cells, style)
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
        # ASCII and placeholders: on the widget's background (a line filter needs a style on each)
        segments.extend(Segment(text, style + s if s else style) for text, s, _ in self._rows[index])
        return Strip(segments).adjust_cell_length(width, style)

    def _screen_active(self) -> bool:
        try:
            return self.screen.is_active
        except Exception:  # noqa: BLE001
            return False


def _halfcell_line(rows: list[list[Segment]], y: int, width: int, height: int, cells: tuple[int, int],
                   style: Style) -> Strip:
    """Line ``y`` of a widget of ``width`` x ``height`` cells with half-block ``rows`` of ``cells`` in its middle."""
    cols, count = cells
    left = max(0, (width - cols) // 2)
    index = y - max(0, (height - count) // 2)
    if index < 0 or index >= len(rows):
        return Strip.blank(width, style)
    segments = [Segment(" " * left, style)] if left else []
    segments.extend(rows[index])
    if left + cols <= width:  # a cell per pixel column: the strip's length is known, not measured
        if width > left + cols:
            segments.append(Segment(" " * (width - left - cols), style))
        return Strip(segments, width)
    return Strip(segments).adjust_cell_length(width, style)
