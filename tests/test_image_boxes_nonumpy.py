"""Issue 15: the box view draws its boxes without numpy (whose import, in a thread beside the first photo, held
its start back on two CPUs), and draws them as it did on numpy arrays.

:func:`~tuiannot.images.render.overlay_rows` (Pillow and lists) is compared with
:func:`~tuiannot.images.render.overlay_packed` (numpy, how boxes were drawn before) on real photos with several
boxes and the current one; the box screen's rows after each key of a session (new boxes, moves, resizes, labels,
``tab`` to another box, ``d``) are compared with the rows drawn from scratch the numpy way, and every row that
changed must have been repainted. In a fresh interpreter, the box screen shows a photo, draws and moves boxes and
goes to the next photo without numpy ever imported. The picture's lines, kept by the view and made ahead for the
next photo, are those Textual would make."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from textual.geometry import Region
from textual.widget import Widget

from tuiannot.images import render

from .helpers import ROOT, stored, wait_done
from .test_image_speed import photos
from .test_images import image_app, ready


def random_overlays(rng: random.Random, width: int, height: int, count: int) -> list[render.Overlay]:
    """Boxes anywhere, of any size (a pixel, the whole photo, past its edges), one of them current."""
    out = []
    current = rng.randrange(count)
    for i in range(count):
        x0, y0 = rng.randint(-3, width - 1), rng.randint(-3, height - 1)
        x1, y1 = rng.randint(x0, width + 3), rng.randint(y0, height + 3)
        out.append(render.Overlay(x0, y0, x1, y1, render.label_rgb(rng.randint(0, 9)), "1", i == current))
    return out


@pytest.mark.parametrize("colors", ["truecolor", "256"])
def test_boxes_drawn_on_lists_are_the_boxes_drawn_on_numpy_arrays(tmp_path: Path, colors: str) -> None:
    rng = random.Random(15)
    for path in sorted(photos(tmp_path).iterdir()):
        with Image.open(path) as opened:
            photo = opened.convert("RGB")
        for width, height in [(156, 70), (84, 52), (37, 11), (3, 2), (1, 1)]:
            fitted = photo.resize((width, height))
            rows = render.packed_pixels(fitted, colors)
            array = render.packed_array(fitted, colors)
            assert rows == array.tolist()
            for trial in range(25):
                overlays = random_overlays(rng, width, height, rng.randint(1, 4))
                drawn = render.overlay_rows(rows, overlays, colors)
                assert drawn == render.overlay_packed(array, overlays, colors).tolist(), (path.name, trial, overlays)
                # rows no outline can reach are the image's own lists (a row an outline crosses is a new list, even
                # where its colour happens to be the pixels' own: 256 colours)
                reach = (min(o.y0 for o in overlays) - 4, max(o.y1 for o in overlays) + 4)
                for y, (new, old) in enumerate(zip(drawn, rows, strict=True)):
                    assert new is old or reach[0] <= y <= reach[1], (y, overlays)
            assert render.overlay_rows(rows, [], colors) is rows


def reference_rows(view: Any) -> list[list[Any]]:
    """The view's half-block rows drawn from scratch the way boxes were drawn before issue 15: on numpy arrays."""
    overlays = view.display_overlays()
    base = render.packed_array(view._fit, view.color_system)
    pixels = render.overlay_packed(base, overlays, view.color_system) if overlays else base
    tags: dict[int, dict[int, Any]] = {}
    for (x, y), tag in render.tag_cells(overlays, "halfcell", view._cells).items():
        tags.setdefault(y, {})[x] = tag
    styles = render.StyleCache(view.color_system)
    return [render.halfcell_row(pixels[y].tolist(), pixels[y + 1].tolist() if y + 1 < len(pixels) else None,
                                styles, tags.get(y // 2)) for y in range(0, len(pixels), 2)]


KEYS = ["n", "right", "shift+down", "2", "n", "left", "left", "up", "shift+right", "tab", "down", "right",
        "n", "1", "shift+up", "tab", "tab", "d", "down", "shift+left", "tab", "right", "a"]


@pytest.mark.parametrize("colorterm", ["truecolor", ""])
async def test_the_box_screen_draws_what_numpy_drew(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    colorterm: str) -> None:
    """After each key, the picture's rows are those drawn from scratch on numpy arrays (several boxes, the
    current one thicker with its inner line, the tags), and every row that changed was repainted."""
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", colorterm)
    monkeypatch.delenv("NO_COLOR", raising=False)
    from tuiannot.images import decode

    decode.CACHE.clear()  # (its half-block rows are keyed without the colours: the other case's would be used)
    folder = photos(tmp_path)
    app = image_app(folder, db_path, labels="CAT,DOG", boxes=True, graphics="halfcell")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        from tuiannot.screens.image import PhotoView

        view = screen.query_one(PhotoView)
        assert view.color_system == ("truecolor" if colorterm else "256")
        repainted: list[Region | None] = []
        refresh = view.refresh

        def recording_refresh(*regions: Region, **kwargs: Any) -> Any:
            repainted.extend(regions or [None])
            return refresh(*regions, **kwargs)

        view.refresh = recording_refresh  # type: ignore[method-assign]
        for photo in range(2):
            assert view._rows == reference_rows(view)
            for key in KEYS[:-1] if photo == 0 else KEYS[:6]:
                before = list(view._rows)
                repainted.clear()
                await pilot.press(key)
                await pilot.pause()
                assert view._rows == reference_rows(view), key
                full = Region(0, 0, view.size.width, view.size.height)  # the lines kept are Textual's own
                assert view._plain() and view._lines
                assert [list(s) for s in view.render_lines(full)] == [list(s) for s in Widget.render_lines(view, full)]
                top = max(0, (view.content_size.height - view._cells[1]) // 2)
                for r, (old, new) in enumerate(zip(before, view._rows, strict=True)):
                    if old != new:  # on screen: repainted, the whole picture or that row
                        assert None in repainted or any(region.contains(0, top + r) for region in repainted
                                                        if region is not None), (key, r)
            assert len(screen.boxes) >= 1
            await pilot.press("a")
            if photo == 0:
                await ready(pilot, "1.jpg" if (folder / "1.jpg").exists() else "1.png")
                # its lines were made ahead, their terminal sequences too (headless, Textual writes none)
                assert len(view._lines) == view.size.height
                assert all(strip._render_cache for strip in view._lines.values())
        await wait_done(pilot)
    rows = stored(db_path, "photos")
    assert [r["answer"] for r in rows] == ["accept", "accept"]
    assert len(rows[0]["spans"]) == 2 and len(rows[1]["spans"]) == 2


NO_NUMPY = """
import asyncio, sys
from pathlib import Path
from tests.test_images import image_app, ready
from tests.helpers import stored, wait_done

async def main(folder, db, second):
    app = image_app(Path(folder), Path(db), labels="CAT,DOG", boxes=True, graphics="halfcell")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("n", "right", "shift+down", "2", "n", "tab", "left")
        await pilot.pause(0.3)
        await pilot.press("a")
        await ready(pilot, second)
        await pilot.press("n", "down")
        await pilot.pause(0.3)
        assert "numpy" not in sys.modules, sorted(m for m in sys.modules if "numpy" in m)[:3]
        await pilot.press("a")
        await wait_done(pilot)
    rows = stored(Path(db), "photos")
    assert [len(r["spans"]) for r in rows] == [2, 1], rows
    assert "numpy" not in sys.modules, sorted(m for m in sys.modules if "numpy" in m)[:3]
    print("ok")

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.mark.parametrize("colorterm", ["truecolor", ""])
def test_the_box_screen_never_imports_numpy(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            colorterm: str) -> None:
    """In a fresh interpreter: showing photos with boxes, drawing, moving and switching boxes, and answering
    import no numpy (its import in a thread beside the first photo slowed the box view's start, issue 15)."""
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", colorterm)
    folder = photos(tmp_path)
    second = "1.jpg" if (folder / "1.jpg").exists() else "1.png"
    done = subprocess.run([sys.executable, "-c", NO_NUMPY, str(folder), str(db_path), second], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
