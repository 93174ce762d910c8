"""The image widget: an image fitted to the widget, boxes drawn over it, in the chosen renderer.

It draws with the renderer the recipe chose (:mod:`tuiannot.images.render`):
half-blocks or ASCII as text cells, Kitty graphics as Unicode placeholders, Sixel
written into the frame. The image was decoded in the stream's prefetch
(:mod:`tuiannot.images.decode`), fitted to this widget's size and even turned
into cells there, so showing the next image costs a cache look-up; on a miss (a
terminal resize, an evicted image) a thread worker decodes and fits it. Boxes are
drawn on the cached fitted image at each key press: only the rows they touch are redrawn.
"""

from __future__ import annotations

import random
from typing import Any

from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
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
    packed_pixels,
    pixel_size,
    sixel_encode,
    tag_cells,
)
from ...sanitize import one_line


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
