"""Images in a terminal: pure encoders, from a Pillow RGB image to Rich segments or escape sequences.

Nothing here reads or writes a terminal (:mod:`.terminal` asks it what it can
show); every function is pure, so each renderer is tested on its output.

``halfcell``
    ``▀`` per cell, its foreground the upper pixel and its background the lower
    one: two square-ish pixels per cell, in 24-bit colour or mapped to the 240
    fixed colours of the 256-colour palette (16-255; 0-15 follow the user's
    theme). Works in every modern terminal, in tmux and over SSH: the default.
``ascii``
    a character per cell by brightness (`` .:-=+*#%@``), no colour: for
    ``NO_COLOR`` and dumb terminals.
``kitty``
    the Kitty graphics protocol with Unicode placeholders: the image is sent
    once (``a=T,U=1``) and the cells hold U+10EEEE with row/column diacritics
    and the image id in their colour, so Textual lays it out as text.
``sixel``
    DEC Sixel (128 colours), written into the frame at the widget's place, encoded
    by textual-image (the one part of that library tuiannot uses: its half-cell
    renderer is slower, its detection blocks at import; see bench/README.md).
"""

from __future__ import annotations

import array
import base64
import sys
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, cast

from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style

UPPER_HALF = "▀"
ASCII_RAMP = " .:-=+*#%@"
DEFAULT_CELL = (10, 20)  # pixels per cell when the terminal does not say (VT340-like)
MAX_KITTY_PIXELS = 1024  # the long side of what is sent to Kitty (it scales it to the cells): ~1 MB a frame at most
MAX_SIXEL_PIXELS = 900  # Sixel is encoded in Python at each change: a bound on the time and the bytes
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999",
           "#88CCEE", "#DDCC77"]  # the span views' label colours (Okabe-Ito), so a label looks the same everywhere


def label_rgb(index: int) -> tuple[int, int, int]:
    value = PALETTE[index % len(PALETTE)].lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)




# -- sizes ----------------------------------------------------------------------------------------
def pixel_size(mode: str, image_w: int, image_h: int, cols: int, rows: int,
               cell: tuple[int, int] = DEFAULT_CELL) -> tuple[int, int]:
    """The pixel size an image is resized to, to fill at most ``cols`` x ``rows`` cells."""
    from .decode import fit_size

    if cols <= 0 or rows <= 0:
        return 0, 0
    if mode in ("kitty", "sixel"):
        # Kitty scales the image to its cells, so a smaller one is sent; Sixel is shown pixel for pixel
        limit = MAX_KITTY_PIXELS if mode == "kitty" else MAX_SIXEL_PIXELS
        w, h = fit_size(image_w, image_h, min(limit, cols * cell[0]), min(limit, rows * cell[1]), upscale=True)
        if mode == "sixel":
            h = max(6, h - h % 6) if h >= 6 else h  # whole sixel bands: nothing spills into the row below
        return w, h
    if mode == "ascii":  # a cell is one pixel wide and two tall
        w, h2 = fit_size(image_w, image_h, cols, rows * 2)
        return w, max(1, round(h2 / 2))
    return fit_size(image_w, image_h, cols, rows * 2)  # half-blocks: two pixels per cell


def kitty_cells(image_w: int, image_h: int, cols: int, rows: int,
                cell: tuple[int, int] = DEFAULT_CELL) -> tuple[int, int]:
    """The cells an image fills in ``cols`` x ``rows`` with Kitty (which scales what it is sent to them)."""
    from .decode import fit_size

    w, h = fit_size(image_w, image_h, cols * cell[0], rows * cell[1], upscale=True)
    return min(cols, max(1, round(w / cell[0]))), min(rows, max(1, round(h / cell[1])))


def cell_size(mode: str, pixels: tuple[int, int], cell: tuple[int, int] = DEFAULT_CELL) -> tuple[int, int]:
    """The cells (columns, rows) an image of ``pixels`` takes (Kitty: see :func:`kitty_cells`)."""
    w, h = pixels
    if mode in ("kitty", "sixel"):
        return max(1, -(-w // cell[0])), max(1, -(-h // cell[1]))
    if mode == "ascii":
        return w, h
    return w, (h + 1) // 2


# -- overlays ----------------------------------------------------------------------------------------
@dataclass
class Overlay:
    """A box drawn over the image, in the displayed image's pixels (x0, y0, x1, y1 inclusive)."""

    x0: int
    y0: int
    x1: int
    y1: int
    color: tuple[int, int, int]
    tag: str = ""  # a short text drawn in the box's corner (the label's key)
    current: bool = False


def draw_overlays(image: Any, overlays: Iterable[Overlay], width: int = 1) -> Any:
    """A copy of ``image`` with the boxes drawn on it (the current one thicker, with a light inner line)."""
    from PIL import ImageDraw

    overlays = list(overlays)
    if not overlays:
        return image
    out = image.copy()
    _outline_boxes(ImageDraw.Draw(out), overlays, width, lambda rgb: rgb)
    return out


def _outline_boxes(draw: Any, overlays: list[Overlay], width: int, ink: Callable[[tuple[int, int, int]], Any]) -> None:
    for o in sorted(overlays, key=lambda o: o.current):
        box = [o.x0, o.y0, max(o.x0, o.x1), max(o.y0, o.y1)]
        draw.rectangle(box, outline=ink(o.color), width=width * (2 if o.current else 1))
        if o.current and box[2] - box[0] > 2 * width + 1 and box[3] - box[1] > 2 * width + 1:
            inner = [box[0] + 2 * width, box[1] + 2 * width, box[2] - 2 * width, box[3] - 2 * width]
            draw.rectangle(inner, outline=ink((255, 255, 255)), width=1)


def overlay_rows(rows: list[list[int]], overlays: Iterable[Overlay], colors: str = "truecolor") -> list[list[int]]:
    """The boxes drawn over rows of packed pixels (from :func:`packed_pixels`), as :func:`draw_overlays` draws them
    on the image: a new list of rows, where a row no outline touches is ``rows``' own (the same list object).

    Half-blocks draw boxes this way at each key: only the outlines' pixels change, so a moved box changes the
    rows it left and the rows it reached and no others. (Drawing on the image and packing it again would
    dither the whole image anew in 256 colours, changing pixels far from the box.) In 256 colours the
    outlines are the palette's nearest colour, undithered. Pillow draws the outlines (so they are exactly
    :func:`draw_overlays`'), into a 32-bit image of the packed colours plus one (0 where nothing is drawn); the
    pixels in the box of what it drew are merged in Python. No numpy: its import (120 ms, 210-290 ms of CPU with
    its BLAS threads) slowed the box view's start on two CPUs (issue 15); this costs ~0.1-0.3 ms a key on a
    photo of 156 x 70 pixels. :func:`overlay_packed` is the same on numpy arrays (the tests' reference)."""
    from PIL import Image, ImageDraw

    overlays = list(overlays)
    height = len(rows)
    width = len(rows[0]) if height else 0
    if not overlays or not width:
        return rows
    drawn = Image.new("I", (width, height), 0)
    _outline_boxes(ImageDraw.Draw(drawn), overlays, 1, lambda rgb: packed_color(rgb, colors) + 1)
    bbox = drawn.getbbox()  # (a current box's thick outline may reach past its corners: the ink's box)
    if bbox is None:
        return rows
    left, top, right, bottom = bbox
    band = drawn.crop(bbox)
    if _NATIVE_INT32:  # mode I's bytes are native 32-bit ints
        ink: Any = array.array("i")
        ink.frombytes(band.tobytes())
    else:  # (not seen: array's i is 32 bits wherever CPython runs)
        ink = list(band.getdata())
    out = list(rows)
    span = right - left
    for y in range(top, bottom):
        start = (y - top) * span
        line = ink[start:start + span]
        if any(line):
            row = rows[y]
            out[y] = [*row[:left], *[i - 1 if i else p for i, p in zip(line, row[left:right], strict=True)],
                      *row[right:]]
    return out


def overlay_packed(pixels: Any, overlays: Iterable[Overlay], colors: str = "truecolor") -> Any:
    """:func:`overlay_rows` on a numpy array from :func:`packed_array` (a copy): how half-blocks drew boxes until
    issue 15, kept as the reference the tests compare :func:`overlay_rows` with."""
    import numpy as np
    from PIL import Image, ImageDraw

    overlays = list(overlays)
    if not overlays:
        return pixels
    height, width = pixels.shape
    drawn = Image.new("I", (width, height), -1)  # 32-bit ints: a packed colour, or -1 where nothing is drawn
    _outline_boxes(ImageDraw.Draw(drawn), overlays, 1, lambda rgb: packed_color(rgb, colors))
    ink = np.asarray(drawn)
    return np.where(ink >= 0, ink, pixels)


def draw_tags(image: Any, overlays: Iterable[Overlay]) -> Any:
    """Pixel renderers: each box's tag written in its top-left corner, black on its colour."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    for o in overlays:
        if o.tag:
            left, top, right, bottom = draw.textbbox((0, 0), o.tag)
            draw.rectangle([o.x0, o.y0, o.x0 + right - left + 4, o.y0 + bottom - top + 4], fill=o.color)
            draw.text((o.x0 + 2 - left, o.y0 + 2 - top), o.tag, fill=(0, 0, 0))
    return image


# -- half-blocks ------------------------------------------------------------------------------------------
_XTERM_LEVELS = (0, 95, 135, 175, 215, 255)
_PALETTE_IMAGE: Any = None


def _palette_image() -> Any:
    """A Pillow palette image of the 240 fixed colours (16-255) of the 256-colour palette."""
    global _PALETTE_IMAGE
    if _PALETTE_IMAGE is None:
        from PIL import Image

        colors: list[int] = []
        for r in _XTERM_LEVELS:
            for g in _XTERM_LEVELS:
                for b in _XTERM_LEVELS:
                    colors += [r, g, b]
        for i in range(24):
            v = 8 + 10 * i
            colors += [v, v, v]
        colors += colors[-3:] * 16  # pad to 256 entries with a colour already there
        image = Image.new("P", (1, 1))
        image.putpalette(colors)
        _PALETTE_IMAGE = image
    return _PALETTE_IMAGE


def palette_rgb(index: int) -> tuple[int, int, int]:
    """The colour of a fixed 256-colour palette entry (16-255).

    A half-block's 256-colour :class:`Color` carries it beside its index, so that Textual's line filter, which
    turns colours without one into 24-bit colours, leaves it alone: Rich then writes the index itself
    (``38;5;N``), where a 24-bit colour would be mapped back to the palette by Rich's own rule (greys of
    the colour cube came back as other greys), at a cost on every frame."""
    if index >= 232:
        level = 8 + 10 * (index - 232)
        return level, level, level
    i = index - 16
    return _XTERM_LEVELS[i // 36], _XTERM_LEVELS[(i // 6) % 6], _XTERM_LEVELS[i % 6]


def packed_pixels(image: Any, colors: str = "truecolor") -> list[list[int]]:
    """Rows of pixels as ints: 0xRRGGBB (truecolor) or a 256-colour index (16-255): :func:`packed_array`'s
    ``tolist()``. Without numpy imported, Pillow's (:func:`pillow_packed`, the same ints): a photo without boxes
    needs no numpy, whose import (40-150 ms of CPU) the first photo of an image start waited for on the app's
    thread (issue 15), nor do its boxes (:func:`overlay_rows`)."""
    if "numpy" not in sys.modules and (colors == "256" or _NATIVE_UINT32):
        return pillow_packed(image, colors)
    return cast(list[list[int]], packed_array(image, colors).tolist())


def pillow_packed(image: Any, colors: str = "truecolor") -> list[list[int]]:
    """:func:`packed_pixels` by Pillow alone (truecolor: on a little-endian machine with 32-bit ``I``): the bands
    as B, G, R, 0, read as 32-bit ints, are 0x00RRGGBB; 0.1-0.25 ms slower a photo than numpy's."""
    from PIL import Image

    width, height = image.size
    if colors == "256":
        indices = image.quantize(palette=_palette_image(), dither=Image.Dither.FLOYDSTEINBERG).tobytes()
        flat = [index + 16 for index in indices]
    else:
        rgb = image.convert("RGB")
        red, green, blue = rgb.split()
        flat = memoryview(Image.merge("RGBA", (blue, green, red, Image.new("L", rgb.size, 0))).tobytes()
                          ).cast("I").tolist()
    return [flat[y * width:(y + 1) * width] for y in range(height)]


_NATIVE_UINT32 = sys.byteorder == "little" and array.array("I").itemsize == 4
_NATIVE_INT32 = array.array("i").itemsize == 4


def import_numpy() -> None:
    """Import numpy (the tests: :func:`packed_pixels` with numpy imported gives the same ints). No view needs it
    for half-blocks any more: boxes are drawn without it (:func:`overlay_rows`)."""
    import numpy  # noqa: F401


def packed_array(image: Any, colors: str = "truecolor") -> Any:
    """:func:`packed_pixels` as a numpy array (height x width), dithered to the palette in 256 colours."""
    import numpy as np

    if colors == "256":
        from PIL import Image

        indices = image.quantize(palette=_palette_image(), dither=Image.Dither.FLOYDSTEINBERG)
        return np.asarray(indices, dtype=np.int64) + 16
    array = np.asarray(image.convert("RGB"), dtype=np.int64)
    return (array[:, :, 0] << 16) | (array[:, :, 1] << 8) | array[:, :, 2]


_NEAREST: dict[tuple[int, int, int], int] = {}


def packed_color(rgb: tuple[int, int, int], colors: str = "truecolor") -> int:
    """One colour as :func:`packed_pixels` packs it: 0xRRGGBB, or the nearest of the 240 fixed colours."""
    if colors != "256":
        return (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]
    index = _NEAREST.get(rgb)
    if index is None:
        from PIL import Image

        pixel = Image.new("RGB", (1, 1), rgb).quantize(palette=_palette_image(), dither=Image.Dither.NONE)
        index = _NEAREST[rgb] = int(cast(int, pixel.getpixel((0, 0)))) + 16
    return index


# Rich's Color and ColorTriplet are named tuples of these fields: made as plain tuples, 0.4 us less each
_new_tuple = tuple.__new__
_PLAIN_TUPLES = (getattr(Color, "_fields", None) == ("name", "type", "number", "triplet")
                 and getattr(ColorTriplet, "_fields", None) == ("red", "green", "blue"))


class StyleCache:
    """Rich styles for (upper, lower) pixel pairs, made once each (a frame reuses most of them).

    Given the color system of the console that will write them (``terminal``: Rich's name, ``"truecolor"`` or
    ``"256"``), each style carries its terminal codes from the start, as Rich would make them at the first write
    (``38;2;R;G;B;48;2;R;G;B``, or ``38;5;N;48;5;M`` for palette colours): in 24-bit colour Rich made them per
    style, ~4 us each, and a photo's half-blocks are ~1,800 styles met once (7 ms a photo, on the app's thread for
    a start's first photo, issue 15). Where the console would turn the colours into others (fewer colours than
    the cells carry) Rich makes them, as before."""

    def __init__(self, colors: str = "truecolor", limit: int = 6_000, terminal: str | None = None) -> None:
        self.colors = colors
        self.limit = limit
        self._styles: dict[int, Style] = {}
        self._colors: dict[int, Color] = {}
        self._codes: Callable[[int, int], str] | None = None
        self.set_terminal(terminal)

    def set_terminal(self, terminal: str | None) -> None:
        """The color system of the console that writes the styles (see above); None: Rich makes their codes."""
        codes: Callable[[int, int], str] | None = None
        if self.colors == "256" and terminal in ("256", "truecolor"):
            def codes(top: int, bottom: int) -> str:
                return f"38;5;{top};48;5;{bottom}" if bottom >= 0 else f"38;5;{top}"
        elif self.colors != "256" and terminal == "truecolor":
            def codes(top: int, bottom: int) -> str:
                fg = f"38;2;{top >> 16};{(top >> 8) & 255};{top & 255}"
                return f"{fg};48;2;{bottom >> 16};{(bottom >> 8) & 255};{bottom & 255}" if bottom >= 0 else fg
        if codes is not None and not hasattr(Style(), "_ansi"):  # a Rich that keeps no codes on its styles
            codes = None
        self._styles.clear()  # (made with the codes of another terminal, or none)
        self._codes = codes

    def color(self, value: int) -> Color:
        color = self._colors.get(value)
        if color is None:
            if len(self._colors) > self.limit:  # bounded: a photo has thousands of colours, the next others
                self._colors.clear()
            if self.colors == "256":  # the palette index, with its colour: see palette_rgb
                color = Color(f"color({value})", ColorType.EIGHT_BIT, number=value,
                              triplet=ColorTriplet(*palette_rgb(value)))
            elif _PLAIN_TUPLES:  # Color.from_rgb without its checks or keywords: a photo makes ~3,500 of these
                color = _new_tuple(Color, (f"#{value:06x}", ColorType.TRUECOLOR, None,
                                           _new_tuple(ColorTriplet, (value >> 16, (value >> 8) & 255, value & 255))))
            else:
                color = Color(f"#{value:06x}", ColorType.TRUECOLOR,
                              triplet=ColorTriplet(value >> 16, (value >> 8) & 255, value & 255))
            self._colors[value] = color
        return color

    def pair(self, top: int, bottom: int) -> Style:
        key = (top << 25) | (bottom + 1)
        style = self._styles.get(key)
        if style is None:
            if len(self._styles) > self.limit:
                self._styles.clear()
            style = Style.from_color(self.color(top), self.color(bottom) if bottom >= 0 else None)
            if self._codes is not None:
                style._ansi = self._codes(top, bottom)
            self._styles[key] = style
        return style


def halfcell_row(top: list[int], bottom: list[int] | None, styles: StyleCache,
                 tags: Mapping[int, tuple[str, Style]] | None = None) -> list[Segment]:
    """One row of cells: ``▀`` with the upper pixel as foreground and the lower as background."""
    segments: list[Segment] = []
    run_key = (-1, -1)  # the (top, bottom) colours of the current run; any value while run == 0
    run = 0
    pair = styles.pair
    width = len(top)
    for x in range(width):
        if tags and x in tags:
            if run:
                segments.append(Segment(UPPER_HALF * run, pair(*run_key)))
                run, run_key = 0, (-1, -1)
            text, style = tags[x]
            segments.append(Segment(text, style))
            continue
        key = (top[x], bottom[x] if bottom is not None else -1)
        if key == run_key:
            run += 1
            continue
        if run:
            segments.append(Segment(UPPER_HALF * run, pair(*run_key)))
        run_key, run = key, 1
    if run:
        segments.append(Segment(UPPER_HALF * run, pair(*run_key)))
    return segments


def halfcell(image: Any, colors: str = "truecolor", styles: StyleCache | None = None,
             tags: Mapping[tuple[int, int], tuple[str, Style]] | None = None) -> list[list[Segment]]:
    """The image as rows of half-block cells (``tags``: (column, row) -> a one-cell text and its style)."""
    styles = styles or StyleCache(colors)
    pixels = packed_pixels(image, colors)
    by_row: dict[int, dict[int, tuple[str, Style]]] = {}
    for (x, y), tag in (tags or {}).items():
        by_row.setdefault(y, {})[x] = tag
    rows = []
    for y in range(0, len(pixels), 2):
        bottom = pixels[y + 1] if y + 1 < len(pixels) else None
        rows.append(halfcell_row(pixels[y], bottom, styles, by_row.get(y // 2)))
    return rows


def tag_cells(overlays: Iterable[Overlay], mode: str,
              size: tuple[int, int]) -> dict[tuple[int, int], tuple[str, Style]]:
    """Cell renderers: each box's tag in the cells at its top-left corner, black on the label's colour."""
    cols, rows = size
    cells: dict[tuple[int, int], tuple[str, Style]] = {}
    for o in overlays:
        if not o.tag:
            continue
        row = o.y0 // 2 if mode == "halfcell" else o.y0
        style = Style(color="#000000", bgcolor=Color.from_rgb(*o.color), bold=True, underline=o.current)
        for i, ch in enumerate(o.tag):
            col = o.x0 + i
            if 0 <= col < cols and 0 <= row < rows:
                cells[(col, row)] = (ch, style)
    return cells


# -- ASCII ------------------------------------------------------------------------------------------
def ascii_art(image: Any, overlays: Iterable[Overlay] = (), ramp: str = ASCII_RAMP) -> list[list[Segment]]:
    """The image as characters by brightness; boxes drawn with ``+-|`` in their colour and their tag."""
    import numpy as np

    gray = np.asarray(image.convert("L"), dtype=np.int64)
    levels = len(ramp) - 1
    chars = [[ramp[(v * levels + 127) // 255] for v in row] for row in gray.tolist()]
    h = len(chars)
    w = len(chars[0]) if chars else 0
    styles: list[list[Style | None]] = [[None] * w for _ in range(h)]
    for o in sorted(overlays, key=lambda o: o.current):
        style = Style(color=Color.from_rgb(*o.color), bold=True, reverse=o.current)
        x0, y0, x1, y1 = max(0, o.x0), max(0, o.y0), min(w - 1, o.x1), min(h - 1, o.y1)
        for x in range(x0, x1 + 1):
            for y in (y0, y1):
                if 0 <= y < h:
                    chars[y][x] = "+" if x in (x0, x1) else "-"
                    styles[y][x] = style
        for y in range(y0 + 1, y1):
            for x in (x0, x1):
                if 0 <= x < w:
                    chars[y][x] = "|"
                    styles[y][x] = style
        for i, ch in enumerate(o.tag):
            if 0 <= y0 < h and 0 <= x0 + 1 + i < min(w, x1):
                chars[y0][x0 + 1 + i] = ch
                styles[y0][x0 + 1 + i] = Style(color="#000000", bgcolor=Color.from_rgb(*o.color), bold=True)
    rows = []
    for y in range(h):
        segments: list[Segment] = []
        start = 0
        for x in range(1, w + 1):
            if x == w or styles[y][x] is not styles[y][start]:
                segments.append(Segment("".join(chars[y][start:x]), styles[y][start]))
                start = x
        rows.append(segments)
    return rows


# -- Kitty graphics protocol -----------------------------------------------------------------------------
_PLACEHOLDER = "\U0010EEEE"
# The first row/column diacritics of Kitty's rowcolumn-diacritics.txt (enough for 297 rows and columns).
_DIACRITICS = [chr(c) for c in (
    0x0305, 0x030D, 0x030E, 0x0310, 0x0312, 0x033D, 0x033E, 0x033F, 0x0346, 0x034A, 0x034B, 0x034C, 0x0350, 0x0351,
    0x0352, 0x0357, 0x035B, 0x0363, 0x0364, 0x0365, 0x0366, 0x0367, 0x0368, 0x0369, 0x036A, 0x036B, 0x036C, 0x036D,
    0x036E, 0x036F, 0x0483, 0x0484, 0x0485, 0x0486, 0x0487, 0x0592, 0x0593, 0x0594, 0x0595, 0x0597, 0x0598, 0x0599,
    0x059C, 0x059D, 0x059E, 0x059F, 0x05A0, 0x05A1, 0x05A8, 0x05A9, 0x05AB, 0x05AC, 0x05AF, 0x05C4, 0x0610, 0x0611,
    0x0612, 0x0613, 0x0614, 0x0615, 0x0616, 0x0617, 0x0657, 0x0658, 0x0659, 0x065A, 0x065B, 0x065D, 0x065E, 0x06D6,
    0x06D7, 0x06D8, 0x06D9, 0x06DA, 0x06DB, 0x06DC, 0x06DF, 0x06E0, 0x06E1, 0x06E2, 0x06E4, 0x06E7, 0x06E8, 0x06EB,
    0x06EC, 0x0730, 0x0732, 0x0733, 0x0735, 0x0736, 0x073A, 0x073D, 0x073F, 0x0740, 0x0741, 0x0743, 0x0745, 0x0747,
    0x0749, 0x074A, 0x07EB, 0x07EC, 0x07ED, 0x07EE, 0x07EF, 0x07F0, 0x07F1, 0x07F3, 0x0816, 0x0817, 0x0818, 0x0819,
    0x081B, 0x081C, 0x081D, 0x081E, 0x081F, 0x0820, 0x0821, 0x0822, 0x0823, 0x0825, 0x0826, 0x0827, 0x0829, 0x082A,
    0x082B, 0x082C, 0x082D, 0x0951, 0x0953, 0x0954, 0x0F82, 0x0F83, 0x0F86, 0x0F87, 0x135D, 0x135E, 0x135F, 0x17DD,
    0x193A, 0x1A17, 0x1A75, 0x1A76, 0x1A77, 0x1A78, 0x1A79, 0x1A7A, 0x1A7B, 0x1A7C, 0x1B6B, 0x1B6D, 0x1B6E, 0x1B6F,
    0x1B70, 0x1B71, 0x1B72, 0x1B73, 0x1CD0, 0x1CD1, 0x1CD2, 0x1CDA, 0x1CDB, 0x1CE0, 0x1DC0, 0x1DC1, 0x1DC3, 0x1DC4,
    0x1DC5, 0x1DC6, 0x1DC7, 0x1DC8, 0x1DC9, 0x1DCB, 0x1DCC, 0x1DD1, 0x1DD2, 0x1DD3, 0x1DD4, 0x1DD5, 0x1DD6, 0x1DD7,
    0x1DD8, 0x1DD9, 0x1DDA, 0x1DDB, 0x1DDC, 0x1DDD, 0x1DDE, 0x1DDF, 0x1DE0, 0x1DE1, 0x1DE2, 0x1DE3, 0x1DE4, 0x1DE5,
    0x1DE6, 0x1DFE, 0x20D0, 0x20D1, 0x20D4, 0x20D5, 0x20D6, 0x20D7, 0x20DB, 0x20DC, 0x20E1, 0x20E7, 0x20E9, 0x20F0,
    0x2CEF, 0x2CF0, 0x2CF1, 0x2DE0, 0x2DE1, 0x2DE2, 0x2DE3, 0x2DE4, 0x2DE5, 0x2DE6, 0x2DE7, 0x2DE8, 0x2DE9, 0x2DEA,
    0x2DEB, 0x2DEC, 0x2DED, 0x2DEE, 0x2DEF, 0x2DF0, 0x2DF1, 0x2DF2, 0x2DF3, 0x2DF4, 0x2DF5, 0x2DF6, 0x2DF7, 0x2DF8,
    0x2DF9, 0x2DFA, 0x2DFB, 0x2DFC, 0x2DFD, 0x2DFE, 0x2DFF, 0xA66F, 0xA67C, 0xA67D, 0xA6F0, 0xA6F1, 0xA8E0, 0xA8E1,
    0xA8E2, 0xA8E3, 0xA8E4, 0xA8E5, 0xA8E6, 0xA8E7, 0xA8E8, 0xA8E9, 0xA8EA, 0xA8EB, 0xA8EC, 0xA8ED, 0xA8EE, 0xA8EF,
    0xA8F0, 0xA8F1, 0xAAB0, 0xAAB2, 0xAAB3, 0xAAB7, 0xAAB8, 0xAABE, 0xAABF, 0xAAC1, 0xFE20, 0xFE21, 0xFE22, 0xFE23,
    0xFE24, 0xFE25, 0xFE26, 0x10A0F, 0x10A38, 0x1D185, 0x1D186, 0x1D187, 0x1D188, 0x1D189, 0x1D1AA, 0x1D1AB, 0x1D1AC,
    0x1D1AD, 0x1D242, 0x1D243, 0x1D244)]
MAX_KITTY_CELLS = len(_DIACRITICS)


def kitty_transmit(image: Any, image_id: int, cols: int, rows: int, chunk: int = 4096) -> str:
    """Escape sequences that send ``image`` (RGB, zlib-compressed) as ``image_id`` with a virtual
    placement of ``cols`` x ``rows`` cells for Unicode placeholders (quietly: the terminal sends no reply)."""
    w, h = image.size
    payload = base64.standard_b64encode(zlib.compress(image.convert("RGB").tobytes(), 1)).decode("ascii")
    parts = []
    first = True
    while True:
        piece, payload = payload[:chunk], payload[chunk:]
        more = 1 if payload else 0
        if first:
            control = f"a=T,U=1,q=2,f=24,o=z,s={w},v={h},i={image_id},c={cols},r={rows},m={more}"
            first = False
        else:
            control = f"m={more},q=2"
        parts.append(f"\x1b_G{control};{piece}\x1b\\")
        if not payload:
            break
    return "".join(parts)


def kitty_delete(image_id: int) -> str:
    return f"\x1b_Ga=d,d=I,i={image_id},q=2\x1b\\"


def kitty_placeholders(image_id: int, cols: int, rows: int) -> list[list[Segment]]:
    """Rows of placeholder cells for ``image_id`` (the id in the foreground colour, as Kitty expects)."""
    cols, rows = min(cols, MAX_KITTY_CELLS), min(rows, MAX_KITTY_CELLS)
    style = Style(color=Color.from_rgb((image_id >> 16) & 255, (image_id >> 8) & 255, image_id & 255))
    return [[Segment("".join(_PLACEHOLDER + _DIACRITICS[r] + _DIACRITICS[c] for c in range(cols)), style)]
            for r in range(rows)]


# -- Sixel -------------------------------------------------------------------------------------------------
SIXEL_COLORS = 128  # textual-image's default, 256, costs time and bytes for a small gain (bench/README.md)


def sixel_encode(image: Any, max_colors: int = SIXEL_COLORS) -> str:
    """``image`` as a DEC Sixel sequence (DCS ... ST), quantised to at most ``max_colors`` colours.

    textual-image's encoder (its pure function: importing ``textual_image.renderable`` or
    ``textual_image.widget`` would query the terminal at import, and block). bench/image_libs.py
    measured it against the encoder tuiannot had before: 10 % faster, 13 % fewer bytes, the same colours.
    """
    from textual_image._sixel import SixelOptions, image_to_sixels

    return image_to_sixels(image.convert("RGB"), SixelOptions(colors=max(2, min(256, max_colors))))
