"""Images: loading and bad input, content hashes, EXIF, renderers, terminal detection, every key (Pilot)."""

from __future__ import annotations

import base64
import io
import os
import pty
import re
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tuiannot.images import decode, render, terminal
from tuiannot.images import export as image_export
from tuiannot.images import tasks as image_tasks
from tuiannot.errors import SourceError, UserError
from tuiannot.recipes import get_recipe

from .helpers import (SHARED, image_drawn, readable, recipe_app, stored, wait_done, wait_for_task, wait_until,
                      write_jsonl)

FELIX = SHARED / "images" / "felix_cats" / "images"


# -- helpers ------------------------------------------------------------------------------
def make_image(path: Path, size: tuple[int, int] = (200, 100), color: tuple[int, int, int] = (200, 30, 30),
               fmt: str | None = None, orientation: int | None = None) -> Path:
    """A picture with a white block in its top-left quarter (so orientation shows), saved at ``path``."""
    image = Image.new("RGB", size, color)
    image.paste((255, 255, 255), (0, 0, size[0] // 4, size[1] // 4))
    kwargs = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    image.save(path, fmt, **kwargs)
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims ``width`` x ``height`` (a decompression bomb's header) and has a tiny IDAT."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def sixel_decode(data: str) -> tuple[int, int, dict[tuple[int, int], tuple[int, int, int]]]:
    """A minimal Sixel decoder: (width, height, {(x, y): (r, g, b) in 0-100}), later passes over earlier."""
    body = data[data.index("q") + 1:data.rindex("\x1b\\")]
    colors: dict[int, tuple[int, int, int]] = {}
    pixels: dict[tuple[int, int], tuple[int, int, int]] = {}
    x = y = current = width = height = 0
    for token in re.finditer(r'"(\d+);(\d+);(\d+);(\d+)|#(\d+)(?:;2;(\d+);(\d+);(\d+))?|!(\d+)([?-~])|([?-~$-])', body):
        raster, select_, repeat, single = token.group(1), token.group(5), token.group(9), token.group(11)
        if raster:
            width, height = int(token.group(3)), int(token.group(4))
        elif select_:
            current = int(select_)
            if token.group(6) is not None:
                colors[current] = (int(token.group(6)), int(token.group(7)), int(token.group(8)))
        elif single == "$":
            x = 0
        elif single == "-":
            x, y = 0, y + 6
        else:
            count, char = (int(repeat), token.group(10)) if repeat else (1, single)
            for _ in range(count):
                for bit in range(6):
                    if (ord(char) - 63) & (1 << bit):
                        pixels[(x, y + bit)] = colors[current]
                x += 1
    return width, height, pixels


def image_app(source: Path, db_path: Path, labels: str = "CAT", session: str = "alice", **args):
    return recipe_app("image", db_path, str(source), label=labels, session=session, **args)


async def ready(pilot, file: str | None = None):
    """Wait until a task (with ``meta.file`` == file) is on screen and its image is drawn."""
    def wanted(screen) -> bool:
        return (file is None or screen.current_task["meta"]["file"] == file) and image_drawn(screen)

    return await wait_for_task(pilot, predicate=wanted)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "pics"
    (root / "sub").mkdir(parents=True)
    make_image(root / "a.png", (200, 100), (200, 30, 30))
    make_image(root / "b.jpg", (300, 200), (30, 200, 30))
    make_image(root / "sub" / "c.webp", (120, 160), (30, 30, 200))
    (root / "notes.txt").write_text("not an image, not an image extension: not a candidate")
    return root


# -- the core: loading, hashes, EXIF -------------------------------------------------------------
def test_content_hash_ignores_name_and_place(tmp_path: Path) -> None:
    a = make_image(tmp_path / "a.png")
    b = tmp_path / "elsewhere" / "renamed.png"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    info_a, _ = decode.load(str(a))
    info_b, _ = decode.load(str(b))
    assert info_a.input_hash == info_b.input_hash == decode.content_hash(decode.digest_of(a.read_bytes()))
    other, _ = decode.load(str(make_image(tmp_path / "c.png", color=(1, 2, 3))))
    assert other.input_hash != info_a.input_hash


def test_exif_orientation_gives_the_upright_size_and_pixels(tmp_path: Path) -> None:
    path = make_image(tmp_path / "rotated.jpg", (200, 100), orientation=6)  # stored landscape, shown portrait
    info, image = decode.load(str(path))
    assert (info.width, info.height, info.orientation) == (100, 200, 6)
    assert image.size == (100, 200)
    # orientation 6 = rotate 90° clockwise to display: the white top-left block ends up top-right
    assert image.getpixel((90, 5))[0] > 240 and image.getpixel((5, 5))[1] < 100


def test_jpeg_draft_mode_keeps_the_long_side_bounded(tmp_path: Path) -> None:
    path = make_image(tmp_path / "big.jpg", (4000, 3000))
    info, image = decode.load(str(path), size=512)
    assert (info.width, info.height) == (4000, 3000)
    assert max(image.size) == 512 and image.mode == "RGB"


def test_data_uri_round_trip_and_transparency(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    buffer = io.BytesIO()
    rgba.save(buffer, "PNG")
    uri = decode.data_uri(buffer.getvalue())
    assert uri.startswith("data:image/png;base64,")
    info, image = decode.load(uri)
    assert (info.width, info.height) == (10, 10) and image.getpixel((0, 0)) == decode.BACKGROUND
    with pytest.raises(decode.ImageError, match="base64"):
        decode.read_bytes("data:image/png,notbase64")


BAD_INPUTS = {
    "empty.jpg": ("empty file", lambda p: p.write_bytes(b"")),
    "text.png": ("not an image", lambda p: p.write_text("hello, I am text")),
    "truncated.jpg": ("truncated", lambda p: p.write_bytes(_jpeg_bytes()[:1500])),
    "corrupt.png": ("corrupt image|not a valid image", lambda p: p.write_bytes(_corrupt(_png_bytes()))),
    "huge.png": ("too large: 20000 x 20000 pixels", lambda p: png_header_only(p, 20000, 20000)),
    "folder.jpg": ("is a directory", lambda p: p.mkdir()),
    "dangling.jpg": ("no such file", lambda p: p.symlink_to(p.parent / "nowhere.jpg")),
}


def _jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((256, 256), 60).convert("RGB").save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _corrupt(data: bytes) -> bytes:
    """The same length, the bytes in the middle scrambled (the checksums no longer match)."""
    middle = bytes(b ^ 0x5A for b in data[60:len(data) - 40])
    return data[:60] + middle + data[len(data) - 40:]


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 60).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_inputs_are_one_line_errors(tmp_path: Path, name: str) -> None:
    reason, make = BAD_INPUTS[name]
    path = tmp_path / name
    make(path)
    with pytest.raises(decode.ImageError, match=reason) as caught:
        decode.load(str(path))
    assert "\n" not in str(caught.value)


def test_decompression_bomb_over_the_pillow_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_image(tmp_path / "bomb.png", (300, 300))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300 * 300 - 1)  # over the limit: Pillow warns
    with pytest.raises(decode.ImageError, match="too large"):
        decode.load(str(path))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300 * 300 // 3)  # over twice the limit: Pillow raises
    with pytest.raises(decode.ImageError, match="decompression bomb"):
        decode.load(str(path))


def test_folder_stream_skips_and_counts_every_bad_input(tmp_path: Path, folder: Path) -> None:
    for name, (_, make) in BAD_INPUTS.items():
        make(folder / name)
    twin = folder / "sub" / "zz-copy-of-a.png"
    twin.write_bytes((folder / "a.png").read_bytes())
    stream = image_tasks.image_stream(folder, cache=None)
    tasks = list(stream)
    files = [t["meta"]["file"] for t in tasks]
    assert files == ["a.png", "b.jpg", "sub/c.webp", "sub/zz-copy-of-a.png"]  # sorted, recursive, lazily
    assert tasks[0]["_input_hash"] == tasks[3]["_input_hash"]  # same content: same task (the controller dedups)
    assert {(t["width"], t["height"]) for t in tasks[:3]} == {(200, 100), (300, 200), (120, 160)}
    files_only = set(BAD_INPUTS) - {"folder.jpg"}  # a folder named x.jpg is a folder: walked into, not an image
    assert stream.invalid == len(files_only)
    for warning in stream.warnings:
        assert warning.startswith(str(folder)) and "\n" not in warning
    joined = "\n".join(stream.warnings)
    for name in files_only:
        assert f"{name}: " in joined


def test_jsonl_source_paths_relative_to_the_file_and_data_uris(tmp_path: Path) -> None:
    (tmp_path / "imgs").mkdir()
    make_image(tmp_path / "imgs" / "x.png")
    uri = decode.data_uri(_png_bytes())
    source = write_jsonl(tmp_path / "tasks.jsonl", [
        {"image": "imgs/x.png", "meta": {"id": 1}}, {"image": uri}, {"image": "imgs/missing.png"}, {"text": "no"},
        {"image": 5}])
    stream = image_tasks.image_stream(source, cache=None)
    tasks = list(stream)
    assert tasks[0]["image"] == str((tmp_path / "imgs" / "x.png").resolve()) and tasks[0]["meta"]["id"] == 1
    assert tasks[1]["image"] == uri and (tasks[1]["width"], tasks[1]["height"]) == (64, 64)
    assert stream.invalid == 3
    assert [w.split(": ")[0].rsplit(":", 1)[1] for w in stream.warnings] == ["3", "4", "5"]
    assert "imgs/missing.png: no such file" in stream.warnings[0]


def test_recipe_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file or folder"):
        get_recipe("image")(str(tmp_path / "nothing"), label="CAT")
    with pytest.raises(UserError, match="--graphics"):
        get_recipe("image")(str(tmp_path), label="CAT", graphics="ansi-art")
    with pytest.raises(UserError, match="at least one label"):
        get_recipe("image")(str(tmp_path), label=",")


def test_cache_is_bounded_and_fits_per_size(tmp_path: Path) -> None:
    cache = decode.ImageCache(max_bytes=3 * 100 * 100 * 3)
    paths = [str(make_image(tmp_path / f"{i}.png", (100, 100), (i, i, i))) for i in range(5)]
    for i, path in enumerate(paths):
        cache.base(i, path)
    assert len(cache) <= 3 and cache.nbytes <= cache.max_bytes
    fit = cache.fitted(4, paths[4], (20, 20))
    assert fit.size == (20, 20) and cache.fitted(4, None, (20, 20)) is fit
    assert cache.fitted(4, paths[4], (30, 30)).size == (30, 30)


def test_cache_knows_which_images_come_next() -> None:
    """The screen makes the cells of the images after the one on screen, in the order the prefetch read them."""
    cache = decode.ImageCache()
    for key in (11, 12, 13, 12):  # (the same photo twice in a stream: its last reading counts)
        cache.prepare(key, Image.new("RGB", (8, 8)))
    assert cache.upcoming(11) == [12, 13, 12] and cache.upcoming(13) == [12] and cache.upcoming(12) == []
    assert cache.upcoming(99) == [] and cache.upcoming(None) == []


# -- exports ------------------------------------------------------------------------------
def test_to_coco_and_to_folders(tmp_path: Path) -> None:
    a = make_image(tmp_path / "a.png")
    b = make_image(tmp_path / "b.png", color=(0, 0, 255))
    answers = [
        {"image": str(a), "width": 200, "height": 100, "_input_hash": 1, "answer": "accept", "_timestamp": 1,
         "spans": [image_tasks.rect_span("CAT", 10, 20, 30, 40), image_tasks.rect_span("DOG", 0, 0, 5, 5),
                   {"label": "CAT", "points": [[1, 1], [3, 1], [3, 4], [1, 4]]}, {"label": "", "x": 1}]},
        {"image": decode.data_uri(b.read_bytes()), "meta": {"file": "b.png"}, "width": 200, "height": 100,
         "_input_hash": 2, "answer": "accept", "options": [{"id": "CAT"}, {"id": "DOG"}], "accept": ["DOG"]},
        {"image": str(a), "_input_hash": 3, "answer": "reject", "label": "CAT"},
        {"image": str(b), "_input_hash": 4, "answer": "ignore", "label": "CAT"},
    ]
    warnings: list[str] = []
    coco = image_export.to_coco(answers, labels=["CAT", "DOG"], warn=warnings.append)
    assert [c["name"] for c in coco["categories"]] == ["CAT", "DOG"]
    assert [(i["file_name"], i["width"]) for i in coco["images"]] == [(str(a), 200), ("b.png", 200)]
    assert coco["images"][1]["labels"] == ["DOG"]
    assert [(x["image_id"], x["category_id"], x["bbox"]) for x in coco["annotations"]] == [
        (1, 1, [10, 20, 30, 40]), (1, 2, [0, 0, 5, 5]), (1, 1, [1, 1, 2, 3])]
    assert coco["annotations"][0]["area"] == 1200 and len(warnings) == 1
    counts = image_export.to_folders(answers, tmp_path / "out", rejected=True)
    assert counts == {"CAT": 1, "DOG": 2, "not_CAT": 1}
    assert (tmp_path / "out" / "DOG" / "b.png").read_bytes() == b.read_bytes()  # written out from the data URI
    assert (tmp_path / "out" / "CAT" / "a.png").exists() and (tmp_path / "out" / "not_CAT" / "a.png").exists()


# -- renderers ------------------------------------------------------------------------------
@pytest.mark.parametrize("colors,terminal,preset", [
    ("truecolor", "truecolor", True), ("256", "256", True), ("256", "truecolor", True),
    ("truecolor", "256", False), ("256", "standard", False), ("truecolor", None, False)])
def test_half_blocks_carry_the_codes_rich_would_write(colors: str, terminal: str | None, preset: bool) -> None:
    """The styles of half-block cells come with their terminal codes where the console writes the colours as they
    are (issue 15: Rich made them per style, ~4 us each, ~1,800 a photo in 24-bit colour); every line written is
    the same as with the codes Rich makes, on the console's color system."""
    from rich.color import ColorSystem
    from rich.style import Style
    from textual.strip import Strip

    image = Image.new("RGB", (24, 7))
    image.putdata([((x * 37 + y * 11) % 256, (x * 5) % 256, (y * 40) % 256) for y in range(7) for x in range(24)])
    rows = render.halfcell(image, colors, render.StyleCache(colors, terminal=terminal))
    plain = render.halfcell(image, colors, render.StyleCache(colors))
    system = {"truecolor": ColorSystem.TRUECOLOR, "256": ColorSystem.EIGHT_BIT, "standard": ColorSystem.STANDARD,
              None: ColorSystem.TRUECOLOR}[terminal]
    styles = [segment.style for row in rows for segment in row]
    assert len(styles) > 20 and any(s.bgcolor is None for s in styles)  # (7 pixel rows: the last cells half)
    assert all((s._ansi is not None) == preset for s in styles)
    for style in styles:
        made = Strip.render_ansi(Style.from_color(style.color, style.bgcolor), system)
        assert Strip.render_ansi(style, system) == made
    for ours, theirs in zip(rows, plain, strict=True):
        assert "".join(Strip.render_style(seg.style, seg.text, system) for seg in ours) == \
            "".join(Strip.render_style(seg.style, seg.text, system) for seg in theirs)


def test_every_renderer_produces_output() -> None:
    image = Image.new("RGB", (8, 6), (255, 0, 0))
    image.paste((0, 0, 255), (0, 3, 8, 6))
    rows = render.halfcell(image)
    assert len(rows) == 3 and "".join(s.text for s in rows[0]) == "▀" * 8
    top = rows[0][0].style
    assert top.color.triplet == (255, 0, 0) and top.bgcolor.triplet == (255, 0, 0)
    assert rows[1][0].style.color.triplet == (255, 0, 0) and rows[1][0].style.bgcolor.triplet == (0, 0, 255)
    rows256 = render.halfcell(image, "256")
    assert rows256[1][0].style.color.number == 196 and rows256[1][0].style.bgcolor.number == 21
    odd = render.halfcell(Image.new("RGB", (2, 3), (0, 255, 0)))
    assert len(odd) == 2 and odd[1][0].style.bgcolor is None
    art = render.ascii_art(Image.new("RGB", (10, 4), (255, 255, 255)),
                           [render.Overlay(1, 0, 6, 3, (255, 0, 0), "1", True)])
    lines = ["".join(s.text for s in row) for row in art]
    assert lines[0] == "@+1---+@@@" and lines[1] == "@|@@@@|@@@" and lines[3] == "@+----+@@@"
    kitty = render.kitty_transmit(image, 4711, 8, 3, chunk=16)
    assert kitty.startswith("\x1b_Ga=T,U=1,q=2,f=24,o=z,s=8,v=6,i=4711,c=8,r=3,m=1;") and kitty.endswith("\x1b\\")
    payload = "".join(part.split(";", 1)[1] for part in kitty.split("\x1b\\") if part)
    assert zlib.decompress(base64.b64decode(payload)) == image.tobytes()
    cells = render.kitty_placeholders(4711, 8, 3)
    assert len(cells) == 3 and cells[2][0].text.count("\U0010EEEE") == 8
    assert cells[0][0].style.color.triplet == (0, 18, 103)  # 4711 = 0x001267
    assert render.kitty_delete(4711) == "\x1b_Ga=d,d=I,i=4711,q=2\x1b\\"
    sixel = render.sixel_encode(image)
    assert sixel.startswith("\x1bP") and sixel.endswith("\x1b\\")
    width, height, pixels = sixel_decode(sixel)
    assert (width, height) == (8, 6) and len(pixels) == 48
    assert pixels[(0, 0)] == (100, 0, 0) and pixels[(7, 5)] == (0, 0, 100)


def test_sixel_round_trip_on_a_photo_like_image() -> None:
    image = Image.effect_noise((37, 23), 80).convert("RGB")
    quantized = image.quantize(colors=128, method=Image.Quantize.FASTOCTREE).convert("RGB")
    width, height, pixels = sixel_decode(render.sixel_encode(image))
    assert (width, height) == (37, 23) and len(pixels) == 37 * 23
    assert len(set(pixels.values())) <= 128
    for (x, y), color in pixels.items():  # the palette's colours in percent, rounded
        assert all(abs(c - v * 100 / 255) <= 0.5 for c, v in zip(color, quantized.getpixel((x, y)), strict=True))


def test_sixel_is_textual_images_encoder_and_asks_the_terminal_nothing() -> None:
    """The adopted encoder (128 colours); importing it must not import the parts of textual-image that
    query the terminal at import (textual_image.renderable, textual_image.widget)."""
    from textual_image._sixel import SixelOptions, image_to_sixels

    image = Image.effect_noise((40, 30), 60).convert("RGB")
    assert render.sixel_encode(image) == image_to_sixels(image, SixelOptions(colors=128))
    code = ("import sys; from PIL import Image; from tuiannot.images import render; "
            "render.sixel_encode(Image.new('RGB', (4, 6))); "
            "print(sorted(m for m in sys.modules if m.startswith('textual_image')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "textual_image._sixel" in out and "renderable" not in out and "widget" not in out


def test_overlays_and_sizes() -> None:
    assert render.pixel_size("halfcell", 800, 600, 100, 40) == (100, 75)
    assert render.cell_size("halfcell", (100, 75)) == (100, 38)
    assert render.pixel_size("ascii", 800, 600, 100, 40) == (100, 38)
    assert render.pixel_size("kitty", 800, 600, 100, 40, (10, 20)) == (1000, 750)
    assert render.pixel_size("sixel", 800, 600, 100, 40, (10, 20))[1] % 6 == 0
    assert render.cell_size("kitty", (1000, 750), (10, 20)) == (100, 38)
    base = Image.new("RGB", (20, 20))
    drawn = render.draw_overlays(base, [render.Overlay(2, 2, 10, 10, (255, 0, 0), "1")])
    assert drawn.getpixel((2, 5)) == (255, 0, 0) and drawn.getpixel((5, 5)) == (0, 0, 0)
    assert base.getpixel((2, 5)) == (0, 0, 0)


def noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    import numpy as np

    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def test_boxes_drawn_on_packed_pixels_are_the_boxes_drawn_on_the_image() -> None:
    """Half-blocks draw boxes on the packed pixels at each key: in 24-bit colour, exactly what drawing them on the
    image gives (every size, overlap, thickness, off the edge); in 256 colours, only the outlines change (drawing
    on the image and dithering it again changed pixels all over it), in the palette's nearest colour."""
    import random

    import numpy as np

    rng = random.Random(5)
    for trial in range(300):
        w, h = rng.randint(1, 40), rng.randint(1, 30)
        image = noise((w, h), trial)
        overlays = []
        for _ in range(rng.randint(1, 3)):
            x0, y0 = rng.randint(0, w - 1), rng.randint(0, h - 1)
            overlays.append(render.Overlay(x0, y0, rng.randint(x0, w - 1), rng.randint(y0, h - 1),
                                           render.label_rgb(rng.randint(0, 9)), "1", rng.random() < 0.4))
        expected = render.packed_array(render.draw_overlays(image, overlays))
        assert (render.overlay_packed(render.packed_array(image), overlays) == expected).all(), (trial, overlays)
    image = noise((60, 40), 1)
    box = render.Overlay(10, 8, 40, 30, (230, 159, 0), "1", True)
    base = render.packed_array(image, "256")
    drawn = render.overlay_packed(base, [box], "256")
    outline = render.packed_array(render.draw_overlays(Image.new("RGB", (60, 40)), [box])) != 0
    assert ((drawn != base) <= outline).all() and (drawn[outline] != base[outline]).any()
    assert set(np.unique(drawn[outline]).tolist()) <= {render.packed_color((230, 159, 0), "256"),
                                                        render.packed_color((255, 255, 255), "256")}
    assert render.packed_color((230, 159, 0), "256") == 178 and render.packed_color((1, 2, 3)) == 0x010203
    redithered = render.packed_array(render.draw_overlays(image, [box]), "256")
    assert ((redithered != base) & ~outline).any()  # (what the old way did)


def test_256_colour_half_blocks_reach_the_terminal_as_their_palette_index() -> None:
    """Textual's line filter turns colours without RGB into 24-bit ones, and Rich maps those back to the palette
    by its own rule: the cube's greys (16 + 43 = (95, 95, 95)) came out as other greys. Half-block colours carry
    their RGB beside the index, so the filter leaves them and the terminal gets the index dithering chose."""
    from rich.color import ColorSystem
    from rich.terminal_theme import DEFAULT_TERMINAL_THEME
    from textual.color import Color as TextualColor
    from textual.filter import ANSIToTruecolor
    from textual.strip import Strip

    image = Image.new("RGB", (4, 2), (95, 95, 95))
    rows = render.halfcell(image, "256")
    assert rows[0][0].style.color.number == 59 and rows[0][0].style.color.triplet == (95, 95, 95)
    assert [render.palette_rgb(i) for i in (16, 21, 59, 196, 231, 232, 255)] == [
        (0, 0, 0), (0, 0, 255), (95, 95, 95), (255, 0, 0), (255, 255, 255), (8, 8, 8), (238, 238, 238)]
    filtered = ANSIToTruecolor(DEFAULT_TERMINAL_THEME).apply(rows[0], TextualColor(0, 0, 0))
    assert filtered[0].text == "▀" * 4
    assert Strip.render_style(filtered[0].style, "▀", ColorSystem.EIGHT_BIT) == "\x1b[38;5;59;48;5;59m▀\x1b[0m"


def test_fitting_averages_the_pixels_under_each_cell() -> None:
    """Shrinking a photo to the cells takes the mean of the pixels each one stands for (Pillow's BOX), not a
    bilinear sample: a thin line keeps its share of the colour and nothing bleeds from further away."""
    import numpy as np

    stripes = np.zeros((6, 12, 3), dtype=np.uint8)
    stripes[:, 1] = 255  # a one-pixel white line in the first block of three
    stripes[:, 7] = (0, 120, 240)
    fitted = np.asarray(decode.resize(Image.fromarray(stripes), (4, 2)), dtype=np.float64)
    blocks = stripes.astype(np.float64).reshape(2, 3, 4, 3, 3).mean(axis=(1, 3))
    assert np.abs(fitted - blocks).max() <= 0.5
    assert decode.resize(Image.fromarray(stripes), (24, 12)).getpixel((2, 0)) == (255, 255, 255)  # enlarged


# -- detection ------------------------------------------------------------------------------
def _pty(rows: int = 40, cols: int = 120) -> tuple[int, int]:
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return master, slave


PLAIN_ENV = {"TERM": "xterm-256color"}
KITTY_ENV = {"TERM": "xterm-kitty", "KITTY_WINDOW_ID": "1"}
DA1, KITTY_Q, CELL_Q = b"\x1b[c", b"kitty", b"\x1b[16t"


class FakeTerminal:
    """The other end of a pty: answers each query written to it from ``replies`` (DA1, KITTY_Q, CELL_Q
    -> bytes), each ``delay`` seconds after it came, and keeps what was written in ``written``."""

    QUERY = re.compile(rb"\x1b_G[^\x1b]*\x1b\\|\x1b\[16t|\x1b\[c")

    def __init__(self, master: int, replies: dict[bytes, bytes], delay: float = 0.0) -> None:
        self.master, self.replies, self.delay = master, replies, delay
        self.written = b""
        self.answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        scanned = 0
        while not self._stop.is_set():
            if not readable(self.master, 0.02):
                continue
            try:
                self.written += os.read(self.master, 4096)
            except OSError:
                return
            for m in self.QUERY.finditer(self.written, scanned):
                scanned = m.end()
                kind = KITTY_Q if m.group(0).startswith(b"\x1b_G") else m.group(0)
                if kind in self.replies:
                    time.sleep(self.delay)
                    os.write(self.master, self.replies[kind])
                    self.answered += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def pending_input(fd: int) -> bytes:
    """What is waiting to be read on the terminal ``fd`` (what the app would read next), in raw mode."""
    import termios
    import tty

    tty.setraw(fd, termios.TCSANOW)
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 4096)
    except BlockingIOError:
        return b""


def test_detection_on_a_terminal_that_never_answers() -> None:
    master, slave = _pty()
    try:
        start = time.monotonic()
        chosen = terminal.detect("auto", fd_in=slave, fd_out=slave, env=PLAIN_ENV, timeout=0.2)
        elapsed = time.monotonic() - start
        assert chosen.mode == "halfcell" and "no reply" in chosen.reason
        assert elapsed < 1.0
        assert os.read(master, 4096) == b"\x1b[c"  # the attributes alone were asked for, nothing else
    finally:
        os.close(master)
        os.close(slave)


def test_detection_leaves_no_reply_to_become_keys_on_a_slow_link() -> None:
    """Kitty over SSH, the replies later than the timeout: only the device attributes were asked for,
    so only their reply (which Textual drops) arrives after detection, not a Kitty or cell-size reply
    (``ESC _ G i = 3 1 ; O K``, which Textual would read as the keys G, i, 3, 1, ...)."""
    master, slave = _pty()
    fake = FakeTerminal(master, {DA1: b"\x1b[?62;c", KITTY_Q: b"\x1b_Gi=31;OK\x1b\\", CELL_Q: b"\x1b[6;20;10t"},
                        delay=0.6)
    try:
        chosen = terminal.detect("auto", fd_in=slave, fd_out=slave, env=KITTY_ENV, timeout=0.1)
        assert chosen.mode == "kitty" and "going by the environment" in chosen.reason
        wait_until_true(lambda: fake.answered >= 1, 3)
        time.sleep(0.1)
        assert FakeTerminal.QUERY.findall(fake.written) == [DA1]  # (after it, the late reply's echo)
        assert pending_input(slave) == b"\x1b[?62;c"
    finally:
        fake.stop()
        os.close(master)
        os.close(slave)


def wait_until_true(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def test_detection_on_a_terminal_of_size_zero_asks_nothing() -> None:
    master, slave = _pty(0, 0)
    try:
        chosen = terminal.detect("auto", fd_in=slave, fd_out=slave, env=PLAIN_ENV, timeout=5)
        assert chosen.mode == "halfcell" and "size of zero" in chosen.reason
        os.set_blocking(master, False)
        with pytest.raises(BlockingIOError):
            os.read(master, 100)  # nothing written
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("replies,env,mode,cell,asked", [
    ({DA1: b"\x1b[?62;4;22c", CELL_Q: b"\x1b[6;18;9t"}, PLAIN_ENV, "sixel", (9, 18), [DA1, CELL_Q + DA1]),
    ({KITTY_Q: b"\x1b_Gi=31;OK\x1b\\", CELL_Q: b"\x1b[6;20;10t", DA1: b"\x1b[?62;22c"}, KITTY_ENV, "kitty",
     (10, 20), [DA1, KITTY_Q, CELL_Q + DA1]),
    ({KITTY_Q: b"\x1b_Gi=31;OK\x1b\\", DA1: b"\x1b[?62;22c"}, {"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"},
     "halfcell", (10, 20), [DA1]),
    ({DA1: b"\x1b[?1;2c"}, PLAIN_ENV, "halfcell", (10, 20), [DA1]),
])
def test_detection_reads_the_replies(replies: dict, env: dict, mode: str, cell: tuple, asked: list) -> None:
    """A second round only after the terminal answered the first, asking only what a pixel renderer needs."""
    master, slave = _pty()
    fake = FakeTerminal(master, replies)
    try:
        chosen = terminal.detect("auto", fd_in=slave, fd_out=slave, env=env, timeout=2.0)
        assert chosen.mode == mode and chosen.cell == cell
        assert fake.written.startswith(DA1)
        second = fake.written[len(DA1):]
        for part in asked[1:]:
            assert (b"\x1b_G" if part == KITTY_Q else part) in second
        if len(asked) == 1:
            assert second == b""
        assert pending_input(slave) == b""  # every reply was read by the detection
    finally:
        fake.stop()
        os.close(master)
        os.close(slave)


def test_detection_without_asking() -> None:
    master, slave = _pty()
    try:
        for env, mode in [({"TERM": "tmux-256color", "TMUX": "/tmp/x"}, "halfcell"), ({"NO_COLOR": "1"}, "ascii"),
                          ({"TERM": "dumb"}, "ascii"), ({"TERM": "linux"}, "halfcell")]:
            assert terminal.detect("auto", fd_in=slave, fd_out=slave, env=env).mode == mode
        assert terminal.detect("sixel", fd_in=slave, fd_out=slave, env=PLAIN_ENV).mode == "sixel"
    finally:
        os.close(master)
        os.close(slave)
    assert terminal.detect("auto").mode == "halfcell"  # pytest: not a terminal
    assert terminal.color_system({"COLORTERM": "truecolor"}) == "truecolor"
    assert terminal.color_system({"TERM": "xterm-256color"}) == "256"


# -- the app: classification ----------------------------------------------------------------------
async def test_binary_question_with_the_image(tmp_path: Path, db_path: Path, folder: Path) -> None:
    app = image_app(folder, db_path, labels="CAT")
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await ready(pilot, "a.png")
        from tuiannot.screens.widgets.image_view import ImageView

        view = screen.query_one(ImageView)
        assert view.renders >= 1 and "▀" in view.visible_text()
        await pilot.press("a")
        await ready(pilot, "b.jpg")
        await pilot.press("x")
        await ready(pilot, "sub/c.webp")
        await pilot.press("space")
        await wait_done(pilot)
    rows = stored(db_path, "pics")
    assert [(r["meta"]["file"], r["answer"], r["label"]) for r in rows] == [
        ("a.png", "accept", "CAT"), ("b.jpg", "reject", "CAT"), ("sub/c.webp", "ignore", "CAT")]
    first = rows[0]
    assert first["_view_id"] == "classification" and "accept" not in first
    assert (first["width"], first["height"]) == (200, 100) and first["image"] == str(folder / "a.png")
    assert first["_input_hash"] == decode.content_hash(decode.digest_of((folder / "a.png").read_bytes()))
    assert not [k for k in first if k.startswith("_") and k not in (
        "_input_hash", "_task_hash", "_session_id", "_annotator_id", "_timestamp", "_view_id", "_seconds",
        "_answer_id")
        ]


async def test_choice_and_exclusive(tmp_path: Path, db_path: Path, folder: Path) -> None:
    app = image_app(folder, db_path, labels="CAT,DOG,BIRD")
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot, "a.png")
        await pilot.press("1", "3", "a")
        await ready(pilot, "b.jpg")
        await pilot.press("2", "2", "x")
        await ready(pilot, "sub/c.webp")
        await pilot.press("backspace")
        await ready(pilot, "b.jpg")
        await pilot.press("2", "a")
        await ready(pilot, "sub/c.webp")
    rows = stored(db_path, "pics")
    assert [(r["answer"], r["accept"]) for r in rows] == [("accept", ["CAT", "BIRD"]), ("accept", ["DOG"])]
    assert rows[0]["_view_id"] == "choice" and [o["id"] for o in rows[0]["options"]] == ["CAT", "DOG", "BIRD"]

    app = image_app(folder, db_path, labels="CAT,DOG", dataset="excl", exclusive=True)
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot, "a.png")
        await pilot.press("2")
        await ready(pilot, "b.jpg")
        await pilot.press("1")
        await ready(pilot, "sub/c.webp")
    assert [r["accept"] for r in stored(db_path, "excl")] == [["DOG"], ["CAT"]]


async def test_bad_files_are_skipped_in_the_app_and_nothing_is_lost(tmp_path: Path, db_path: Path,
                                                                     folder: Path) -> None:
    for name, (_, make) in BAD_INPUTS.items():
        make(folder / name)
    app = image_app(folder, db_path, labels="CAT")
    async with app.run_test(size=(100, 40)) as pilot:
        for name in ("a.png", "b.jpg", "sub/c.webp"):
            await ready(pilot, name)
            await pilot.press("a")
        await wait_done(pilot)
    summary = app.controller.close()
    assert summary.invalid == len(BAD_INPUTS) - 1 and len(summary.warnings) == len(BAD_INPUTS) - 1
    assert [r["meta"]["file"] for r in stored(db_path, "pics")] == ["a.png", "b.jpg", "sub/c.webp"]


async def test_store_images_embeds_them(tmp_path: Path, db_path: Path, folder: Path) -> None:
    app = image_app(folder, db_path, labels="CAT", store_images=True)
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot, "a.png")
        await pilot.press("a")
        await ready(pilot, "b.jpg")
    row = stored(db_path, "pics")[0]
    assert row["image"].startswith("data:image/png;base64,") and row["meta"]["path"] == str(folder / "a.png")
    assert decode.read_bytes(row["image"]) == (folder / "a.png").read_bytes()
    # the embedded dataset travels: the exported answer can be served again without the folder
    source = write_jsonl(tmp_path / "export.jsonl", [{"image": row["image"]}])
    assert next(iter(image_tasks.image_stream(source, cache=None)))["_input_hash"] == row["_input_hash"]


# -- the app: boxes ---------------------------------------------------------------------------------
def box_of(row: dict) -> list[tuple]:
    return [(s["label"], s["x"], s["y"], s["width"], s["height"]) for s in row["spans"]]


async def test_every_box_key(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the screen takes an ESC as alt only within ALT_WINDOW (0.05 s) of the arrow, as a terminal sends ESC [1;3D
    # at once; two Pilot presses on a busy machine may be further apart: the window is widened, the keys stay
    monkeypatch.setattr("tuiannot.screens.image.ALT_WINDOW", 5.0)
    root = tmp_path / "shots"
    root.mkdir()
    make_image(root / "one.png", (1000, 600))
    make_image(root / "two.png", (100, 100))
    app = image_app(root, db_path, labels="CAT,DOG", boxes=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot, "one.png")
        await pilot.press("d")  # nothing to delete: nothing happens
        await pilot.press("n")  # 333x200 in the middle: x 334 (rounded), y 200
        assert box_of({"spans": screen.current_fields()["spans"]}) == [("CAT", 334, 200, 333, 200)]
        await pilot.press("right", "l", "down", "j", "up", "left")  # 5% steps: x +50, y +30
        assert screen.current_fields()["spans"][0]["x"] == 384 and screen.current_fields()["spans"][0]["y"] == 230
        await pilot.press("k", "h")
        await pilot.press("shift+right", "L", "shift+down", "J", "shift+left", "shift+up")  # w +50, h +30
        await pilot.press("alt+right")  # a fine step: 1%
        await pilot.press("f", "right", "right", "shift+right", "f")  # fine on: 2 x 10 px, w +10; fine off
        await pilot.press("H", "K")  # w -50, h -30
        await pilot.press("2")  # the current box becomes a DOG
        spans = screen.current_fields()["spans"]
        assert box_of({"spans": spans}) == [("DOG", 364, 200, 343, 200)]
        assert spans[0]["points"] == [[364, 200], [707, 200], [707, 400], [364, 400]]
        assert spans[0]["type"] == "rect"
        await pilot.press("n", "1", "tab")  # a second box (DOG, the last label used), relabelled CAT; tab: first
        assert screen.current == 0
        await pilot.press("shift+tab")
        assert screen.current == 1
        await pilot.press("tab", "d")  # delete the first box: the CAT stays
        assert [b.label for b in screen.boxes] == ["CAT"]
        for _ in range(40):  # moves stop at the image's edges
            await pilot.press("right", "down")
        assert box_of({"spans": screen.current_fields()["spans"]}) == [("CAT", 667, 400, 333, 200)]
        await pilot.press("a")
        screen = await ready(pilot, "two.png")
        assert screen.boxes == []
        await pilot.press("3", "1")  # no third label: nothing; 1 with no box starts one with that label
        await pilot.press("escape", "left")  # an ESC just before an arrow is alt+arrow (fine step)
        await pilot.press("a")
        await wait_done(pilot)
    rows = stored(db_path, "shots")
    assert box_of(rows[0]) == [("CAT", 667, 400, 333, 200)]
    assert box_of(rows[1]) == [("CAT", 33, 34, 33, 33)]
    assert rows[0]["_view_id"] == "image_manual" and (rows[0]["width"], rows[0]["height"]) == (1000, 600)


async def test_boxes_on_a_rotated_image_in_a_resized_terminal(tmp_path: Path, db_path: Path) -> None:
    root = tmp_path / "rot"
    root.mkdir()
    make_image(root / "r.jpg", (400, 200), orientation=8)  # stored 400x200, shown upright as 200x400
    from tuiannot.screens.widgets.image_view import ImageView

    app = image_app(root, db_path, labels="CAT", boxes=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot, "r.jpg")
        view = screen.query_one(ImageView)
        before = view._pixels
        assert before[1] > before[0]  # shown portrait
        await pilot.press("n", "right")
        await pilot.resize_terminal(70, 24)
        await wait_until(pilot, lambda: view._pixels != before and view._fit is not None, "the image re-fitted")
        assert view._pixels != before and view._pixels[1] < before[1]  # re-fitted to the smaller terminal
        await pilot.press("down", "shift+right")
        await pilot.press("a")
        await wait_done(pilot)
    row = stored(db_path, "rot")[0]
    assert (row["width"], row["height"]) == (200, 400)
    # n: 67x133 centred at (66, 134) [rounded]; right +10, down +20, wider +10: the terminal size plays no part
    assert box_of(row) == [("CAT", 76, 154, 77, 133)]


async def test_a_short_terminal_leaves_the_box_keys_line_out(tmp_path: Path, db_path: Path) -> None:
    """Under 20 rows the line of box keys under the labels is left out, as the other views' hints are: the photo
    gets its rows; it comes back when the terminal grows (and goes again)."""
    root = tmp_path / "short"
    root.mkdir()
    make_image(root / "s.png", (400, 300))
    from tuiannot.screens.widgets.image_view import ImageView

    app = image_app(root, db_path, labels="CAT", boxes=True)
    async with app.run_test(size=(100, 16)) as pilot:
        screen = await ready(pilot, "s.png")
        question, view = screen.query_one("#question"), screen.query_one(ImageView)
        await pilot.pause()
        assert "CAT" in str(question.render()) and "n new" not in str(question.render())
        assert question.size.height == 1
        await pilot.resize_terminal(100, 30)
        await wait_until(pilot, lambda: "n new" in str(question.render()), "the box keys back")
        await pilot.resize_terminal(100, 16)
        await wait_until(pilot, lambda: "n new" not in str(question.render()), "the box keys out again")
        await wait_until(pilot, lambda: question.size.height == 1 and view._fit is not None, "laid out again")
        short_rows = view.content_size.height
        await pilot.press("n", "a")
        await wait_done(pilot)
    assert short_rows >= 5
    assert box_of(stored(db_path, "short")[0]) == [("CAT", 134, 100, 133, 100)]  # n: a third of it, centred


async def test_undo_restores_the_boxes(tmp_path: Path, db_path: Path, folder: Path) -> None:
    app = image_app(folder, db_path, labels="CAT", boxes=True)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await ready(pilot, "a.png")
        await pilot.press("n", "a")
        await ready(pilot, "b.jpg")
        await pilot.press("backspace")
        screen = await ready(pilot, "a.png")
        assert [(b.label, b.pixels()) for b in screen.boxes] == [("CAT", (66, 34, 67, 33))]
        await pilot.press("right", "a")
        await ready(pilot, "b.jpg")
    rows = stored(db_path, "pics")
    assert len(rows) == 1 and box_of(rows[0]) == [("CAT", 76, 34, 67, 33)]


async def test_pixel_renderers_in_the_app(tmp_path: Path, db_path: Path, folder: Path) -> None:
    from tuiannot.screens.widgets.image_view import ImageView

    for mode in ("ascii", "kitty", "sixel"):
        app = image_app(folder, db_path, labels="CAT", boxes=True, graphics=mode, dataset=mode)
        async with app.run_test(size=(100, 40)) as pilot:
            screen = await ready(pilot, "a.png")
            await pilot.press("n")
            view = screen.query_one(ImageView)
            await wait_until(pilot, lambda view=view, mode=mode: bool(view._rows) and (mode != "sixel" or view._sixel),
                             f"{mode} drawn")
            lines = [view.render_line(y) for y in range(view.content_size.height)]
            text = "".join(seg.text for line in lines for seg in line)
            if mode == "ascii":
                assert "+" in view.visible_text()
            elif mode == "kitty":
                assert "\U0010EEEE" in text
            else:
                assert re.search("\x1bP[0-9;]*q", text) and text.count("\x1b\\") == 1
            await pilot.press("a")
            await ready(pilot, "b.jpg")
        assert box_of(stored(db_path, mode)[0]) == [("CAT", 66, 34, 67, 33)]


@pytest.mark.skipif(not FELIX.is_dir(), reason="the felix_cats photos are not here")
async def test_real_photos(tmp_path: Path, db_path: Path) -> None:
    app = image_app(FELIX, db_path, labels="DOMESTIC,WILD", exclusive=True, dataset="felix")
    async with app.run_test(size=(160, 48)) as pilot:
        first = (await ready(pilot)).current_task["meta"]["file"]
        await pilot.press("1")
        screen = await ready(pilot)
        assert screen.current_task["meta"]["file"] != first
    row = stored(db_path, "felix")[0]
    assert row["accept"] == ["DOMESTIC"] and row["width"] > 0 and Path(row["image"]).is_file()
