"""Issue 15's image speed. A start decodes only the few photos the screen needs ahead. The image screens' picture
skips Textual's ANSI-to-truecolor line filter (issue 15: a third of Textual's work
to put the next photo on screen), which must change nothing on its rows: every row of a real photo, with a box and
its tag, in 24-bit and in 256 colours, is the same through the filter as without it. A message in the picture's
place (dim text) still goes through it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.filter import ANSIToTruecolor

from .helpers import SHARED, stored, wait_done
from .test_images import image_app, make_image, ready


def photos(tmp_path: Path) -> Path:
    """Two real photos when ../shared has them (many colours, dithered in 256), else two made here."""
    shared = SHARED / "images" / "felix_cats" / "images"
    root = tmp_path / "photos"
    root.mkdir()
    found = sorted(shared.rglob("*.jpg"))[:2] if shared.is_dir() else []
    for i, path in enumerate(found):
        (root / f"{i}.jpg").write_bytes(path.read_bytes())
    if len(found) < 2:
        make_image(root / "0.png", (640, 480), (30, 120, 200))
        make_image(root / "1.png", (300, 500), (200, 180, 30))
    return root


def small_photos(tmp_path: Path, count: int) -> Path:
    """``count`` small PNGs of different colours, 0.png, 1.png, …"""
    root = tmp_path / "many"
    root.mkdir()
    for i in range(count):
        make_image(root / f"{i}.png", (60, 40), (50 * i, 100, 100))
    return root


@pytest.mark.parametrize("colorterm", ["truecolor", ""])
async def test_the_picture_rows_are_the_same_without_the_truecolor_filter(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, colorterm: str) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", colorterm)
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = image_app(photos(tmp_path), db_path, labels="CAT,DOG", boxes=True, graphics="halfcell")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        from tuiannot.screens.image import PhotoView

        view = screen.query_one(PhotoView)
        assert view.color_system == ("truecolor" if colorterm else "256")
        await pilot.press("n", "right", "2")  # a box, moved, labelled DOG: its tag is on the picture
        await pilot.pause()
        truecolor = [f for f in app.get_line_filters() if isinstance(f, ANSIToTruecolor)]
        assert truecolor and not [f for f in view.get_line_filters() if isinstance(f, ANSIToTruecolor)]
        background = view.background_colors[1]
        rows = [view.render_line(y) for y in range(view.content_size.height)]
        assert sum("▀" in s.text for strip in rows for s in strip) > 10
        for strip in rows:
            assert list(strip.apply_filter(truecolor[0], background)) == list(strip)
        view.show_message("Loading the next image…")  # dim text: the filter is needed again
        assert [f for f in view.get_line_filters() if isinstance(f, ANSIToTruecolor)]
        view.show(view.key or 0, view.ref or "", view.size_px, view.boxes)
        await pilot.press("a")
        await ready(pilot, "1.jpg" if (tmp_path / "photos" / "1.jpg").exists() else "1.png")
        await pilot.press("a")
        await wait_done(pilot)
    rows = stored(db_path, "photos")
    assert [r["answer"] for r in rows] == ["accept", "accept"]
    assert [s["label"] for s in rows[0]["spans"]] == ["DOG"]


def test_a_start_decodes_only_a_few_photos_ahead(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    """The prefetch holds PREFETCH decoded photos ahead (it decoded 15 in a start's first 0.2 s with 8), enough
    for the screen's two made ahead, and reads on as photos are answered."""
    import time

    import tuiannot
    from tuiannot.controller import Controller
    from tuiannot.images import decode, tasks
    from tuiannot.recipes import Components, get_recipe
    from tuiannot.recipes.image import PREFETCH

    root = tmp_path / "many"
    root.mkdir()
    for i in range(20):
        make_image(root / f"{i:02d}.png", (120, 80), (10 * i, 100, 200 - 5 * i))
    loaded: list[str] = []

    def counting_load(*args, **kwargs):  # type: ignore[no-untyped-def]
        loaded.append(str(args[0]))
        return decode.load(*args, **kwargs)

    monkeypatch.setattr(tasks, "load", counting_load)
    components = Components.from_value(get_recipe("image")(str(root), label="CAT", graphics="halfcell"), "image")
    with tuiannot.connect(db_path) as database:
        controller = Controller(components, database, "alice").start()
        try:
            first = controller.next_task()
            assert first is not None and first["meta"]["file"] == "00.png"
            time.sleep(0.5)  # the prefetch fills up
            held = len(loaded)
            assert 3 <= held <= PREFETCH + 3 < 15
            for i in range(1, 5):  # the prefetch keeps up: photos 1-4 come decoded, and it reads on
                controller.answer("accept")
                task = controller.next_task()
                assert task is not None and task["meta"]["file"] == f"{i:02d}.png"
            time.sleep(0.5)
            assert held < len(loaded) <= 4 + PREFETCH + 3
        finally:
            controller.close()


@pytest.mark.parametrize("colors", ["truecolor", "256"])
def test_pillow_packs_the_pixels_as_numpy_does(tmp_path: Path, colors: str) -> None:
    """The first photo of a start is packed by Pillow alone (numpy's import waited on the app's thread): the same
    ints as numpy's, for real photos fitted as the screen fits them and for every mode a fit can give."""
    from PIL import Image

    from tuiannot.images import render

    sizes = [(156, 70), (37, 11), (1, 1), (80, 33)]
    for i, path in enumerate(sorted(photos(tmp_path).iterdir())):
        with Image.open(path) as opened:
            photo = opened.convert("RGB")
        for width, height in sizes:
            fitted = photo.resize((width, height))
            for mode in (["RGB", "L", "RGBA", "P", "CMYK"] if colors == "truecolor" else ["RGB", "L"]):
                image = fitted.convert(mode)
                packed = render.pillow_packed(image, colors)
                assert packed == render.packed_array(image, colors).tolist(), (i, width, height, mode)
                assert len(packed) == height and {len(row) for row in packed} == {width}


PACK_ALONE = """
import sys
from PIL import Image
from tuiannot.images import render
photo = Image.open(sys.argv[1]).convert("RGB").resize((156, 70))
rows = render.halfcell(photo, sys.argv[2])
assert len(rows) == 35 and "numpy" not in sys.modules, sorted(m for m in sys.modules if "numpy" in m)[:3]
render.import_numpy()
assert render.halfcell(photo, sys.argv[2]) == rows
print("ok")
"""


@pytest.mark.parametrize("colors", ["truecolor", "256"])
def test_a_photo_without_boxes_is_drawn_without_numpy(tmp_path: Path, colors: str) -> None:
    """In a fresh interpreter: a photo's half-blocks need no numpy (its import cost the first photo of an image
    start 40-150 ms of CPU, issue 15), and with numpy imported they are the same."""
    import subprocess
    import sys

    photo = sorted(photos(tmp_path).iterdir())[0]
    done = subprocess.run([sys.executable, "-c", PACK_ALONE, str(photo), colors], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_a_held_start_decodes_the_first_photo_then_waits_for_the_screen(tmp_path: Path) -> None:
    """At an app's start (issue 15) the prefetch decodes the first photo and waits before the next until the screen
    drew it (their decoding took the GIL from Textual's start): nothing is skipped or reordered, and without a
    release it goes on after at most the hold's timeout."""
    import threading
    import time

    from tuiannot.images import decode, tasks

    root = small_photos(tmp_path, 4)
    cache = decode.ImageCache()
    cache.hold_start()
    got: list[str] = []

    def read() -> None:
        for task in tasks.image_stream(root, cache=cache):
            got.append(task["meta"]["file"])

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert got == ["0.png"]  # the second waits
    cache.release_start()
    thread.join(10)
    assert got == ["0.png", "1.png", "2.png", "3.png"]

    cache.hold_start()  # never released: waited out once, then no more waiting
    started = time.monotonic()
    cache.wait_start(timeout=0.05)
    cache.wait_start(timeout=5)
    assert time.monotonic() - started < 2
    empty = decode.ImageCache()  # nothing decoded yet: the first image is never held
    empty.hold_start()
    started = time.monotonic()
    empty.wait_start(timeout=5)
    assert time.monotonic() - started < 2


async def test_the_box_screen_draws_its_first_photo_once_and_releases_the_start(tmp_path: Path, db_path: Path
                                                                                 ) -> None:
    """The first photo is fitted once, to its final size (the labels' bar is there from the first layout: its
    second line shrank the photo by a row when it came with the first task), and drawn, the screen releases a
    held start: the next photos are decoded, and the next one's lines made ahead (looked for again until it is
    decoded)."""
    from tuiannot.images import decode
    from tuiannot.screens.image import PhotoView

    app = image_app(photos(tmp_path), db_path, labels="CAT,DOG", boxes=True, graphics="halfcell")
    decode.CACHE.hold_start()  # (the recipe does when the app runs in a terminal)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            view = screen.query_one(PhotoView)
            for _ in range(100):
                await pilot.pause(0.02)
                hold = decode.CACHE._start_hold
                if hold is None or hold.is_set():
                    break
            hold = decode.CACHE._start_hold
            assert hold is None or hold.is_set()
            assert view.renders == 1
            for _ in range(100):  # the next photo, decoded after the first was drawn, is made ahead all the same
                if view._ahead:
                    break
                await pilot.pause(0.02)
            assert view._ahead
            await pilot.press("a")
            await ready(pilot, "1.jpg" if (tmp_path / "photos" / "1.jpg").exists() else "1.png")
            await pilot.press("a")
            await wait_done(pilot)
    finally:
        decode.CACHE.release_start()


def test_a_held_frame_makes_the_prefetch_wait_until_released(tmp_path: Path) -> None:
    """While the screen draws a new photo (issue 15) the prefetch's next decode waits for it: released, it goes on
    at once; never released, after at most FRAME_HOLD. Nothing is skipped or reordered."""
    import threading
    import time

    from tuiannot.images import decode, tasks

    root = small_photos(tmp_path, 3)
    cache = decode.ImageCache()
    cache.hold_frame()
    got: list[str] = []
    thread = threading.Thread(target=lambda: got.extend(t["meta"]["file"] for t in tasks.image_stream(
        root, cache=cache)), daemon=True)
    thread.start()
    time.sleep(decode.FRAME_HOLD / 3)
    assert got == []  # held: not even the first decoded yet
    cache.release_frame()
    thread.join(10)
    assert got == ["0.png", "1.png", "2.png"]

    cache.hold_frame()  # never released: waited out once (FRAME_HOLD), then the hold is over
    started = time.monotonic()
    cache.wait_start()
    waited = time.monotonic() - started
    assert decode.FRAME_HOLD * 0.8 <= waited < decode.FRAME_HOLD + 1.5
    started = time.monotonic()
    cache.wait_start()
    assert time.monotonic() - started < 0.05


async def test_a_new_photo_holds_the_prefetch_until_its_frame_is_out(tmp_path: Path, db_path: Path) -> None:
    """Showing the next photo holds the prefetch's decoding (it took the GIL from the frame and from Textual's
    writer thread: every other photo reached the terminal 3-10 ms later) and releases it once the frame is out;
    a box key holds nothing."""
    from tuiannot.images import decode
    from tuiannot.screens.image import PhotoView

    app = image_app(photos(tmp_path), db_path, labels="CAT,DOG", boxes=True, graphics="halfcell")
    holds: list[str] = []
    real_hold, real_release = decode.CACHE.hold_frame, decode.CACHE.release_frame
    decode.CACHE.hold_frame = lambda: (holds.append("hold"), real_hold())[1]  # type: ignore[method-assign]
    decode.CACHE.release_frame = lambda: (holds.append("release"), real_release())[1]  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await ready(pilot)
            view = screen.query_one(PhotoView)
            for _ in range(100):
                if decode.CACHE._frame_hold.is_set():
                    break
                await pilot.pause(0.02)
            assert decode.CACHE._frame_hold.is_set() and "hold" in holds and holds[-1] == "release"
            holds.clear()
            await pilot.press("n")  # a box: the same photo, nothing held
            await pilot.pause(0.1)
            assert "hold" not in holds and len(view.boxes) == 1
            await pilot.press("a")
            await ready(pilot, "1.jpg" if (tmp_path / "photos" / "1.jpg").exists() else "1.png")
            assert holds[0] == "hold"
            for _ in range(100):
                if decode.CACHE._frame_hold.is_set():
                    break
                await pilot.pause(0.02)
            assert decode.CACHE._frame_hold.is_set() and holds[-1] == "release"
            await pilot.press("a")
            await wait_done(pilot)
    finally:
        del decode.CACHE.hold_frame, decode.CACHE.release_frame
        decode.CACHE.release_frame()
    assert len(stored(db_path, "photos")) == 2


ONE_PLUGIN = r'''
import sys
from pathlib import Path
from tuiannot.images import decode
jpeg, png = Path(sys.argv[1]).read_bytes(), Path(sys.argv[2]).read_bytes()
info, image = decode.decode(jpeg, 128)
assert (info.width, info.height, info.format, image.size) == (300, 200, "JPEG", (128, 85)), (info, image.size)
info, image = decode.decode(png, 128)
assert (info.width, info.height, info.format, image.size) == (64, 48, "PNG", (64, 48)), (info, image.size)
loaded = sorted(m for m in sys.modules if m.startswith("PIL.") and m.endswith("ImagePlugin"))
assert loaded == ["PIL.JpegImagePlugin", "PIL.PngImagePlugin"], loaded
for data, reason in [(jpeg[:1500], "truncated"), (b"\xff\xd8\xff" + b"\x00" * 40, "not"),
                     (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not")]:
    try:
        decode.decode(data)
    except decode.ImageError as e:
        assert reason in str(e), (reason, str(e))
    else:
        raise AssertionError(reason)
print("ok")
'''


def test_a_jpeg_or_png_is_opened_by_its_own_plugin_alone(tmp_path: Path) -> None:
    """Opening bytes, Pillow imports five plugins the first time (~15 ms of an image app's start, issue 15); a
    sniffed JPEG or PNG is opened by its plugin alone, decoded the same, and bad bytes still get Pillow's words
    (a fresh interpreter: in this one Pillow imported its plugins long ago)."""
    import subprocess
    import sys

    from PIL import Image

    Image.effect_noise((300, 200), 60).convert("RGB").save(tmp_path / "a.jpg", "JPEG", quality=90)
    Image.effect_noise((64, 48), 60).convert("RGB").save(tmp_path / "b.png", "PNG")
    done = subprocess.run([sys.executable, "-c", ONE_PLUGIN, str(tmp_path / "a.jpg"), str(tmp_path / "b.png")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
