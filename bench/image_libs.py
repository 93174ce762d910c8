"""Images: tuiannot's own renderers against rich-pixels and textual-image (issue 15), on real photos.

Every photo of ../shared/data/images/felix_cats (the distinct ones, in the order
the app serves them), fitted to the image area of ``tuiannot image`` at 160x48
(156x35 cells), as the app decodes it (JPEG draft mode, 512 px, EXIF applied):

(a) half-block render time: the photo resized to the cell grid and turned into the
    lines of cells a Textual widget draws, by (1) tuiannot's ``render.halfcell``,
    (2) rich-pixels' ``Pixels.from_image`` and (3) textual-image's half-cell
    renderable, both drawn through ``Console.render_lines`` as Textual draws a
    renderable. Each pass shows every photo once, as the app goes from photo to
    photo (a renderer's caches carry over from photo to photo, Rich's caches are
    emptied before each pass); per photo the best of ``--passes``.
(b) colour fidelity of those cells: the colour each cell shows (``▀``/``▄``: fore-
    and background; in 256 colours as the terminal shows them: tuiannot's palette
    index, or Rich's downgrade of the libraries' 24-bit colours) against the photo
    decoded at full size and downscaled to the same pixel grid by area averaging
    (Pillow BOX): mean CIE76 ΔE*ab per pixel, the same on 2x2 blocks (dithering
    judged from a step back), and the mean absolute error per channel (0-255).
(c) pixel encoders, at what the app sends at 160x48 with 10x20-pixel cells: Sixel
    (tuiannot's own encoder as of commit OWN_BASELINE, from git, against
    textual-image's ``image_to_sixels`` at 128 colours, which tuiannot uses now,
    and at its default 256; time, size, ΔE of the decoded Sixel against the photo,
    every --sixel-every'th photo) and Kitty (tuiannot's ``kitty_transmit`` against
    textual-image's TGP transmission, captured; time, size, lossless or not).
(d) detection: each library's terminal detection run in a child process on a pty of
    160x48 (no pixel size) whose other end (this script) plays a terminal: one that
    never answers; an xterm with Sixel answering at once and over SSH-like round
    trips of 150 and 400 ms; Kitty over 300 ms; the child's stdin not a terminal;
    and, if tmux is installed, inside a real tmux. Reported: how long it blocked
    (textual-image: its import, where it asks), what it chose, an exception, and
    the keys a late reply becomes once Textual reads stdin (what is left on the
    child's stdin 1 s after detection, through Textual's own input parser).
(e) key -> next photo p50/p99 in a 160x48 pty (COLORTERM=truecolor) for
    ``tuiannot image`` as it is (bench/image_latency.py's harness), in half-blocks
    (which the pty gets: it never answers) and in Sixel; and with each library's
    half-cell renderer, or the own Sixel encoder, patched into the image view.

PASS where what tuiannot ships is at least as good as the alternative (time within
10 %, ΔE within 0.5), where its detection blocks no longer than its timeout on a
terminal that never answers (< 5 x timeout on one that does) and leaks no keys,
and where the half-block key median is <= 100 ms (Sixel: no slower than before).

    python bench/image_libs.py [--photos N] [--passes 3] [--keys 40] [--no-keys] [--no-detect]
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import io
import json
import os
import pty
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any, Callable

from _common import BENCH_DIR, percentile, verdict

import image_latency

ROOT = Path(__file__).resolve().parent.parent
FOLDER = image_latency.FOLDER
COLUMNS, LINES = 160, 48
AREA = (COLUMNS - 4, LINES - 13)  # the image area of `tuiannot image` at 160x48
CELL = (10, 20)  # pixels per cell: what a pty without a pixel size gives both libraries
OWN_BASELINE = "74d3dce"  # the last commit whose render.py encodes Sixel with tuiannot's own code
TIME_SLACK, DE_SLACK = 1.10, 0.5  # "at least as good": within 10 % of the time, 0.5 ΔE of the colours
KEY_MEDIAN_GOAL = 0.100


# -- the libraries -----------------------------------------------------------------------------------
def import_libraries() -> dict[str, Any]:
    """rich-pixels and textual-image, imported so that textual-image asks this terminal nothing.

    ``textual_image.renderable`` queries the terminal at import when stdout is a terminal, and
    ``get_cell_size`` caches what it finds: with a stand-in stdout both take their no-terminal paths
    (cells of 10x20 pixels), so the figures do not depend on the terminal this script runs in."""
    real = sys.__stdout__
    sys.__stdout__ = io.StringIO()  # type: ignore[misc]
    try:
        import textual_image.renderable.halfcell as ti_halfcell
        import textual_image.renderable.tgp as ti_tgp
        from textual_image._sixel import image_to_sixels
        from textual_image._terminal import get_cell_size

        assert tuple(get_cell_size()) == CELL
    finally:
        sys.__stdout__ = real  # type: ignore[misc]
    from importlib.metadata import version

    from rich_pixels import Pixels

    return {"Pixels": Pixels, "ti_halfcell": ti_halfcell, "ti_tgp": ti_tgp, "image_to_sixels": image_to_sixels,
            "versions": f"rich-pixels {version('rich-pixels')}, textual-image {version('textual-image')}"}


def own_baseline_render(work: Path) -> Any | None:
    """tuiannot/images/render.py as of OWN_BASELINE (its own Sixel encoder), or None without that history."""
    try:
        source = subprocess.run(["git", "-C", str(ROOT), "show", f"{OWN_BASELINE}:tuiannot/images/render.py"],
                                capture_output=True, check=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = work / f"render_{OWN_BASELINE}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"render_{OWN_BASELINE}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def clear_rich_caches() -> None:
    """Empty Rich's lru caches (parsed styles and colours, downgrades, cell widths)."""
    import rich.cells
    from rich.color import Color
    from rich.style import Style

    for owner in (Style, Color, rich.cells):
        for value in vars(owner).values():
            target = getattr(value, "__func__", value)
            if hasattr(target, "cache_clear"):
                target.cache_clear()


# -- photos ----------------------------------------------------------------------------------------------
class Photo:
    def __init__(self, folder: Path, name: str) -> None:
        from tuiannot.images import decode, render

        self.name, self.path = name, folder / name
        info, self.base = decode.load(str(self.path))
        self.size = (info.width, info.height)
        w, h = render.pixel_size("halfcell", info.width, info.height, *AREA)
        self.grid = (w, max(2, h - h % 2))  # the half-block pixel grid (whole cells)
        self._full: Any = None

    def reference(self, size: tuple[int, int]) -> Any:
        """The photo at full size, upright, downscaled to ``size`` by area averaging: (h, w, 3) floats."""
        import numpy as np
        from PIL import Image, ImageOps

        if self._full is None:
            with Image.open(self.path) as opened:
                self._full = ImageOps.exif_transpose(opened).convert("RGB")
        return np.asarray(self._full.resize(size, Image.Resampling.BOX), dtype=np.float64)


# -- (a) and (b): half-block cells ---------------------------------------------------------------------------
def make_console(colors: str) -> Any:
    from rich.console import Console

    return Console(width=COLUMNS, height=LINES, color_system="truecolor" if colors == "truecolor" else "256",
                   file=io.StringIO(), force_terminal=True, legacy_windows=False)


def halfcell_renderers(libs: dict[str, Any]) -> dict[str, Callable[[Photo, str, Any], list[list[Any]]]]:
    """name -> fn(photo, colors, state) -> lines of segments (what a widget draws)."""
    from tuiannot.images import decode, render

    console = make_console("truecolor")

    def own(photo: Photo, colors: str, state: Any) -> list[list[Any]]:
        return render.halfcell(decode.resize(photo.base, photo.grid), colors, state)

    def through_rich(renderable: Any, photo: Photo) -> list[list[Any]]:
        w, h = photo.grid
        options = console.options.update(width=w, height=h // 2)
        return console.render_lines(renderable, options, pad=False, new_lines=False)

    def rich_pixels(photo: Photo, colors: str, state: Any) -> list[list[Any]]:
        return through_rich(libs["Pixels"].from_image(photo.base, resize=photo.grid), photo)

    def textual_image(photo: Photo, colors: str, state: Any) -> list[list[Any]]:
        w, h = photo.grid
        return through_rich(libs["ti_halfcell"].Image(photo.base, width=w, height=h // 2), photo)

    return {"tuiannot (own)": own, "rich-pixels": rich_pixels, "textual-image": textual_image}


def time_halfcell(photos: list[Photo], renderers: dict[str, Callable], passes: int) -> dict[str, list[float]]:
    from tuiannot.images import render

    runs = {(name, colors): [[] for _ in photos] for name in renderers for colors in ("truecolor", "256")
            if colors == "truecolor" or name == "tuiannot (own)"}
    for _ in range(passes):
        for (name, colors), times in runs.items():
            clear_rich_caches()
            state = render.StyleCache(colors)  # the image view keeps one for its life
            fn = renderers[name]
            for i, photo in enumerate(photos):
                t0 = time.perf_counter()
                fn(photo, colors, state)
                times[i].append(time.perf_counter() - t0)
    return {f"{name} {colors}": [min(t) for t in times] for (name, colors), times in runs.items()}


def cell_pixels(lines: list[list[Any]], eight_bit: bool) -> Any:
    """The colours half-block lines show: (2 x lines, width, 3), 24-bit colours downgraded as Rich does."""
    import numpy as np
    from rich.color import ColorSystem, ColorType

    def rgb(color: Any) -> tuple[int, int, int]:
        if color is None:
            return (0, 0, 0)
        if eight_bit and color.type == ColorType.TRUECOLOR:
            color = color.downgrade(ColorSystem.EIGHT_BIT)
        return tuple(color.get_truecolor())

    rows = []
    for line in lines:
        top, bottom = [], []
        for segment in line:
            if segment.control or not segment.text:
                continue
            style = segment.style
            fg, bg = rgb(style.color if style else None), rgb(style.bgcolor if style else None)
            for ch in segment.text:
                upper, lower = {"▀": (fg, bg), "▄": (bg, fg), "█": (fg, fg)}.get(ch, (bg, bg))
                top.append(upper)
                bottom.append(lower)
        rows += [top, bottom]
    return np.asarray(rows, dtype=np.float64)


def to_lab(rgb: Any) -> Any:
    import numpy as np

    c = rgb / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = linear @ m.T / np.array([0.95047, 1.0, 1.08883])
    d = 6 / 29
    f = np.where(xyz > d ** 3, np.cbrt(xyz), xyz / (3 * d * d) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def fidelity(shown: Any, reference: Any) -> dict[str, float]:
    import numpy as np

    h, w = min(shown.shape[0], reference.shape[0]), min(shown.shape[1], reference.shape[1])
    shown, reference = shown[:h, :w], reference[:h, :w]
    de = np.linalg.norm(to_lab(shown) - to_lab(reference), axis=-1)
    hb, wb = h - h % 2, w - w % 2

    def blocks(a: Any) -> Any:
        return a[:hb, :wb].reshape(hb // 2, 2, wb // 2, 2, 3).mean(axis=(1, 3))

    de2 = np.linalg.norm(to_lab(blocks(shown)) - to_lab(blocks(reference)), axis=-1)
    mae = np.abs(shown - reference).mean(axis=(0, 1))
    return {"de": float(de.mean()), "de2": float(de2.mean()), "r": float(mae[0]), "g": float(mae[1]),
            "b": float(mae[2])}


def halfcell_fidelity(photos: list[Photo], renderers: dict[str, Callable]) -> dict[str, list[dict[str, float]]]:
    from tuiannot.images import render

    out: dict[str, list[dict[str, float]]] = {}
    for colors in ("truecolor", "256"):
        for name, fn in renderers.items():
            state = render.StyleCache(colors)
            out[f"{name} {colors}"] = [
                fidelity(cell_pixels(fn(photo, colors, state), colors == "256"), photo.reference(photo.grid))
                for photo in photos]
    return out


# -- (c) pixel encoders ------------------------------------------------------------------------------------
def sixel_pixels(data: str) -> Any:
    """A Sixel image decoded into an (h, w, 3) array (0-255), drawn in order as a terminal does."""
    import numpy as np

    body = data[data.index("q") + 1:data.rindex("\x1b\\")]
    raster = re.match(r'"\d+;\d+;(\d+);(\d+)', body)
    assert raster, "no raster attributes"
    width, height = int(raster.group(1)), int(raster.group(2))
    body = body[raster.end():]
    image = np.zeros((height + 6, width + 1, 3), dtype=np.float64)
    registers: dict[int, tuple[float, float, float]] = {}
    color = 0
    token = re.compile(r"#(\d+)(?:;2;(\d+);(\d+);(\d+))?")
    run = re.compile(r"!(\d+)([?-~])")
    for band, band_text in enumerate(body.split("-")):
        y = band * 6
        for pass_text in band_text.split("$"):
            x = 0
            parts = token.split(pass_text)  # data, (n, r, g, b, data)*
            for i in range(0, len(parts), 5):
                if i:
                    color = int(parts[i - 4])
                    if parts[i - 3] is not None:
                        registers[color] = tuple(round(int(parts[i - k]) * 255 / 100) for k in (3, 2, 1))
                raw = run.sub(lambda m: m.group(2) * int(m.group(1)), parts[i])
                if not raw:
                    continue
                values = np.frombuffer(raw.encode("ascii"), dtype=np.uint8) - 63
                end = min(x + len(values), width)
                for bit in range(6):
                    mask = ((values[:end - x] >> bit) & 1).astype(bool)
                    image[y + bit, x:end][mask] = registers[color]
                x += len(values)
    return image[:height, :width]


def time_pixel_encoders(photos: list[Photo], libs: dict[str, Any], own: Any | None, passes: int,
                        fidelity_every: int) -> dict[str, dict[str, list[float]]]:
    from tuiannot.images import decode, render
    from tuiannot.recipes.image import PIXEL_BASE_MAX

    base_size = max(512, min(PIXEL_BASE_MAX, max(COLUMNS * CELL[0], LINES * CELL[1])))  # as the recipe
    tgp = libs["ti_tgp"]
    sent: list[str] = []
    tgp._send_tgp_message = lambda payload=None, **kw: sent.append(  # captured, not written to this terminal
        "\x1b_G" + ",".join(f"{k}={v}" for k, v in kw.items() if v is not None) + (f";{payload}" if payload else "")
        + "\x1b\\")
    from textual_image._sixel import SixelOptions

    ti = libs["image_to_sixels"]
    encoders: dict[str, Callable[[Any], str]] = {
        "textual-image 128 colours": lambda image: ti(image, SixelOptions(colors=128)),
        "textual-image 256 (default)": ti}
    if own is not None:
        encoders = {f"own (git {OWN_BASELINE}) 128": own.sixel_encode, **encoders}
    results: dict[str, dict[str, list[float]]] = {}
    for i, photo in enumerate(photos):
        _, big = decode.load(str(photo.path), base_size)
        sixel_px = render.pixel_size("sixel", *photo.size, *AREA, CELL)
        fitted = decode.resize(big, sixel_px)
        for name, encode in encoders.items():
            best, data = float("inf"), ""
            for _ in range(passes):
                t0 = time.perf_counter()
                data = encode(fitted)
                best = min(best, time.perf_counter() - t0)
            r = results.setdefault(f"sixel {name}", {"time": [], "kib": [], "de": [], "colors": []})
            r["time"].append(best)
            r["kib"].append(len(data) / 1024)
            r["colors"].append(len(set(re.findall(r"#(\d+);2;", data))))
            if i % fidelity_every == 0:
                r["de"].append(fidelity(sixel_pixels(data), photo.reference(sixel_px))["de"])
        kitty_px = render.pixel_size("kitty", *photo.size, *AREA, CELL)
        cols, rows = render.kitty_cells(*photo.size, *AREA, CELL)
        for name in ("tuiannot (own)", "textual-image"):
            best, data, lossless = float("inf"), "", False
            for _ in range(passes):
                t0 = time.perf_counter()
                if name == "tuiannot (own)":
                    image = decode.resize(big, kitty_px)
                    data = render.kitty_transmit(image, 4711, cols, rows)
                else:
                    sent.clear()
                    renderable = tgp.Image(big, width=cols, height=rows)
                    renderable._send_image_to_terminal(*kitty_px)
                    renderable._create_virtual_placement(cols, rows)
                    data = "".join(sent)
                best = min(best, time.perf_counter() - t0)
            payload = base64.b64decode("".join(part.split(";", 1)[1] for part in data.split("\x1b\\")
                                               if ";" in part and "a=p" not in part))
            if name == "tuiannot (own)":
                lossless = zlib.decompress(payload) == image.tobytes()
            else:
                from PIL import Image

                sent_image = Image.open(io.BytesIO(payload)).convert("RGB")
                lossless = sent_image.tobytes() == big.resize(kitty_px).convert("RGB").tobytes()
            r = results.setdefault(f"kitty {name}", {"time": [], "kib": [], "lossless": []})
            r["time"].append(best)
            r["kib"].append(len(data) / 1024)
            r["lossless"].append(float(lossless))
    return results


# -- (d) detection ----------------------------------------------------------------------------------------
DETECT_CHILD = r'''
import json, os, sys, time
which, result_path = sys.argv[1], sys.argv[2]
if os.environ.get("BENCH_STDIN_NULL"):
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
import PIL.Image, numpy, rich.console, textual.app, textual.widget  # imported before the clock starts
from textual._xterm_parser import XTermParser
result = {}
t0 = time.monotonic()
try:
    if which == "tuiannot":
        from tuiannot.images.terminal import detect
        t0 = time.monotonic()
        chosen = detect("auto")
        result["mode"] = chosen.mode
    elif which == "textual-image":
        import textual_image.renderable as renderable
        import textual_image.widget  # get_cell_size(): CSI 16 t when the window has no pixel size
        result["mode"] = {"tgp": "kitty", "sixel": "sixel", "halfcell": "halfcell",
                          "unicode": "unicode"}[renderable.Image.__module__.rsplit(".", 1)[1]]
    else:
        import rich_pixels
        result["mode"] = "halfcell (asks nothing)"
except BaseException as e:
    result["error"] = f"{type(e).__module__}.{type(e).__name__}: {str(e)[:80]}"
result["elapsed"] = time.monotonic() - t0
leaked = b""
if os.isatty(0):  # as Textual: raw input; what a late reply leaves on stdin becomes input events
    import termios, tty, select
    tty.setraw(0, termios.TCSANOW)
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        if select.select([0], [], [], max(0, end - time.monotonic()))[0]:
            leaked += os.read(0, 4096)
keys = [getattr(e, "key", type(e).__name__) for e in XTermParser().feed(leaked.decode("latin-1"))] if leaked else []
result["leaked"] = keys
with open(result_path, "w") as f:
    json.dump(result, f)
'''

SCENARIOS = [  # name, TERM, extra env, (Kitty, cell size, DA1) replies or None, delay (s)
    ("never answers", "xterm-256color", {}, None, 0.0),
    ("xterm+Sixel, local", "xterm-256color", {}, (None, b"\x1b[6;20;10t", b"\x1b[?62;4;22c"), 0.002),
    ("xterm+Sixel, SSH 150 ms", "xterm-256color", {}, (None, b"\x1b[6;20;10t", b"\x1b[?62;4;22c"), 0.150),
    ("xterm+Sixel, SSH 400 ms", "xterm-256color", {}, (None, b"\x1b[6;20;10t", b"\x1b[?62;4;22c"), 0.400),
    ("Kitty, SSH 300 ms", "xterm-kitty", {}, ("OK", b"\x1b[6;20;10t", b"\x1b[?62;c"), 0.300),
    ("stdin not a terminal", "xterm-256color", {"BENCH_STDIN_NULL": "1"}, None, 0.0),
]
_KITTY_QUERY = re.compile(rb"\x1b_G([^;\x1b]*a=q[^;\x1b]*)(?:;[^\x1b]*)?\x1b\\")
_QUERY = re.compile(rb"\x1b_G[^\x1b]*\x1b\\|\x1b\[16t|\x1b\[c")


def child_env(term: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TMUX", "STY", "KITTY_WINDOW_ID", "TERM_PROGRAM", "COLORTERM", "NO_COLOR", "TEXTUAL")}
    env.update({"TERM": term, "COLUMNS": str(COLUMNS), "LINES": str(LINES), "PYTHONPATH": str(ROOT)}, **extra)
    return env


def detect_in_pty(which: str, scenario: tuple, work: Path) -> dict[str, Any]:
    """Run DETECT_CHILD for ``which`` on a pty; this end answers as ``scenario`` says (or never)."""
    import fcntl
    import struct
    import termios

    _, term, extra, replies, delay = scenario
    result_path = work / f"detect-{which}-{time.monotonic_ns()}.json"
    env = child_env(term, extra)
    pid, fd = pty.fork()
    if pid == 0:
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
            os.execve(sys.executable, [sys.executable, "-c", DETECT_CHILD, which, str(result_path)], env)
        finally:
            os._exit(127)
    seen, scanned, due = b"", 0, []
    deadline = time.monotonic() + 20
    exited = False
    try:
        while time.monotonic() < deadline:
            now = time.monotonic()
            while due and due[0][0] <= now:
                os.write(fd, due.pop(0)[1])
            wait = min([0.05] + [max(0.0, t - now) for t, _ in due])
            if select.select([fd], [], [], wait)[0]:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    chunk = b""
                seen += chunk
                for m in _QUERY.finditer(seen, scanned):
                    scanned = m.end()
                    reply = None
                    if replies is not None:
                        kitty, cell, da1 = replies
                        query = m.group(0)
                        if query == b"\x1b[c":
                            reply = da1
                        elif query == b"\x1b[16t":
                            reply = cell
                        elif kitty and (k := _KITTY_QUERY.match(query)):
                            ident = re.search(rb"i=(\d+)", k.group(1))
                            reply = b"\x1b_Gi=" + (ident.group(1) if ident else b"0") + f";{kitty}".encode() + b"\x1b\\"
                    if reply:
                        due.append((time.monotonic() + delay, reply))
            if os.waitpid(pid, os.WNOHANG)[0]:
                exited = True
                break
    finally:
        if not exited:
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(fd)
    return _detect_result(result_path)


def detect_in_tmux(which: str, work: Path) -> dict[str, Any] | None:
    """Run DETECT_CHILD for ``which`` inside a real tmux (a server of its own, stopped afterwards)."""
    tmux = shutil.which("tmux")
    if not tmux:
        return None
    result_path = work / f"tmux-{which}-{time.monotonic_ns()}.json"
    script = work / "detect_child.py"
    script.write_text(DETECT_CHILD)
    socket = f"tuiannot-bench-{os.getpid()}"
    env = child_env("xterm-256color", {})
    command = f"{sys.executable} {script} {which} {result_path}"
    try:
        subprocess.run([tmux, "-L", socket, "-f", os.devnull, "new-session", "-d", "-x", str(COLUMNS),
                        "-y", str(LINES), command], env=env, check=True, capture_output=True, timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not result_path.exists():
            time.sleep(0.05)
        time.sleep(0.1)
    finally:
        subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True, timeout=10)
    return _detect_result(result_path)


def _detect_result(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"error": "no result (the child hung or died)", "elapsed": float("nan"), "leaked": []}


# -- (e) key -> next photo --------------------------------------------------------------------------------
PATCHED_APP = r'''
import sys
variant, own_render = sys.argv[1], sys.argv[2]
sys.argv = ["tuiannot", *sys.argv[3:]]
import tuiannot.screens.widgets.image_view as view
if variant == "rich-pixels":
    from rich.console import Console
    from rich.segment import Segment
    from rich_pixels import Pixels
    console = Console(width=1000, height=1000, file=open("/dev/null", "w"), force_terminal=True)
    def halfcell(image, colors="truecolor", styles=None, tags=None):
        w, h = image.size
        return console.render_lines(Pixels.from_image(image, resize=(w, h + h % 2)),
                                    console.options.update(width=w, height=(h + 1) // 2), pad=False, new_lines=False)
    view.halfcell = halfcell
elif variant == "textual-image":
    from rich.console import Console
    import textual_image.renderable.halfcell as ti   # asks the terminal at import, as the library does
    console = Console(width=1000, height=1000, file=open("/dev/null", "w"), force_terminal=True)
    def halfcell(image, colors="truecolor", styles=None, tags=None):
        w, h = image.size
        return console.render_lines(ti.Image(image, width=w, height=(h + 1) // 2),
                                    console.options.update(width=w, height=(h + 1) // 2), pad=False, new_lines=False)
    view.halfcell = halfcell
elif variant == "own-sixel":
    import importlib.util
    spec = importlib.util.spec_from_file_location("own_render", own_render)
    module = importlib.util.module_from_spec(spec)
    sys.modules["own_render"] = module
    spec.loader.exec_module(module)
    view.sixel_encode = module.sixel_encode
from tuiannot.cli.program import main
main()
'''


def key_latency(folder: Path, files: list[str], work: Path, keys: int, graphics: str,
                variant: str | None, own: Any | None) -> tuple[list[float], bool]:
    args = argparse.Namespace(keys=keys, pause=0.05)
    program = None
    if variant:
        script = work / "patched_app.py"
        script.write_text(PATCHED_APP)
        program = [sys.executable, str(script), variant, getattr(own, "__file__", "") or ""]
    return image_latency.measure_keys(folder, files, work, args, graphics=graphics, program=program, quiet=True)


# -- the report ---------------------------------------------------------------------------------------------
def ms(values: list[float]) -> str:
    v = [x * 1000 for x in values]
    return f"{statistics.median(v):6.1f} {percentile(v, 90):6.1f} {max(v):6.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=FOLDER)
    parser.add_argument("--photos", type=int, default=0, help="use the first N photos (default: all)")
    parser.add_argument("--passes", type=int, default=3, help="passes over the photos per timing (best kept)")
    parser.add_argument("--sixel-every", type=int, default=6, help="decode every Nth photo's Sixel for its ΔE")
    parser.add_argument("--keys", type=int, default=40, help="keys per key-latency run (default 40)")
    parser.add_argument("--no-keys", action="store_true", help="skip the key-latency runs in the pty")
    parser.add_argument("--no-detect", action="store_true", help="skip the detection runs")
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"no photos at {args.folder} (../shared is missing): nothing to measure")
        print("overall: SKIP")
        return 0
    try:
        import rich_pixels  # noqa: F401  (compared only here: not a dependency of tuiannot)
        import textual_image  # noqa: F401
    except ImportError as e:
        print(f"{e.name} is not installed (pip install rich-pixels textual-image): nothing to compare")
        print("overall: SKIP")
        return 0
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="image-libs-", dir=BENCH_DIR))
    libs = import_libraries()
    own = own_baseline_render(work)
    files = image_latency.photo_order(args.folder)
    files = files[:args.photos] if args.photos else files
    photos = [Photo(args.folder, name) for name in files]
    print(f"{len(photos)} photos from {args.folder}, image area {AREA[0]}x{AREA[1]} cells of a {COLUMNS}x{LINES} "
          f"terminal; {libs['versions']}; {os.cpu_count()} CPUs")
    if own is None:
        print(f"(git history without {OWN_BASELINE}: the own Sixel encoder is not compared)")
    checks: list[tuple[str, bool]] = []

    print("\n(a) half-block frame: resize + cells + lines for Textual, ms per photo (median p90 max), best of "
          f"{args.passes}")
    renderers = halfcell_renderers(libs)
    times = time_halfcell(photos, renderers, args.passes)
    for name, t in times.items():
        print(f"  {name:28} {ms(t)}")
    print("\n(b) colour fidelity against the photo downscaled to the cell grid (mean over photos)")
    print(f"  {'renderer':28} {'ΔE':>6} {'ΔE 2x2':>7} {'MAE R':>6} {'G':>6} {'B':>6}")
    fid = halfcell_fidelity(photos, renderers)
    mean_fid = {k: {m: statistics.fmean(p[m] for p in v) for m in v[0]} for k, v in fid.items()}
    for name, f in mean_fid.items():
        print(f"  {name:28} {f['de']:6.2f} {f['de2']:7.2f} {f['r']:6.1f} {f['g']:6.1f} {f['b']:6.1f}")
    own_t = statistics.median(times["tuiannot (own) truecolor"])
    for lib in ("rich-pixels", "textual-image"):
        lib_t = statistics.median(times[f"{lib} truecolor"])
        faster = own_t <= lib_t * TIME_SLACK
        checks.append((f"half-blocks: tuiannot {own_t * 1000:.1f} ms vs {lib} {lib_t * 1000:.1f} ms (median)",
                       faster))
        for colors in ("truecolor", "256"):
            a, b = mean_fid[f"tuiannot (own) {colors}"]["de2"], mean_fid[f"{lib} {colors}"]["de2"]
            checks.append((f"half-blocks {colors}: tuiannot ΔE(2x2) {a:.2f} vs {lib} {b:.2f}", a <= b + DE_SLACK))

    print(f"\n(c) pixel encoders at {CELL[0]}x{CELL[1]}-pixel cells (ms per photo median p90 max; KiB median)")
    enc = time_pixel_encoders(photos, libs, own, max(1, args.passes - 1), args.sixel_every)
    for name, r in enc.items():
        extra = (f"ΔE {statistics.fmean(r['de']):5.2f} (n={len(r['de'])}), colours {statistics.median(r['colors']):.0f}"
                 if "de" in r else f"lossless {sum(r['lossless'])}/{len(r['lossless'])}")
        print(f"  {name:34} {ms(r['time'])}  {statistics.median(r['kib']):6.0f} KiB  {extra}")
    sixel_now = sixel_in_use(libs, own)
    print(f"  tuiannot's render.sixel_encode is: {sixel_now}")
    if own is not None:
        o, t = enc[f"sixel own (git {OWN_BASELINE}) 128"], enc["sixel textual-image 128 colours"]
        lib_good = (statistics.median(t["time"]) <= statistics.median(o["time"]) * TIME_SLACK
                    and statistics.fmean(t["de"]) <= statistics.fmean(o["de"]) + DE_SLACK)
        own_good = (statistics.median(o["time"]) <= statistics.median(t["time"]) * TIME_SLACK
                    and statistics.fmean(o["de"]) <= statistics.fmean(t["de"]) + DE_SLACK)
        chosen_good = lib_good if sixel_now == "textual-image" else own_good
        checks.append((f"Sixel: tuiannot uses {sixel_now}; textual-image as good as own: {lib_good}", chosen_good))
    ko, kt = enc["kitty tuiannot (own)"], enc["kitty textual-image"]
    checks.append((f"Kitty: tuiannot {statistics.median(ko['time']) * 1000:.1f} ms vs textual-image "
                   f"{statistics.median(kt['time']) * 1000:.1f} ms, both lossless",
                   statistics.median(ko["time"]) <= statistics.median(kt["time"]) * TIME_SLACK
                   and all(ko["lossless"])))

    if not args.no_detect:
        print("\n(d) detection in a 160x48 pty (no pixel size): blocked ms, chosen, keys a late reply leaks")
        timeout = 0.25  # terminal.detect's default
        for scenario in [*SCENARIOS, ("inside tmux", None, {}, None, 0.0)]:
            for which in ("tuiannot", "textual-image", "rich-pixels"):
                if scenario[1] is None:
                    r = detect_in_tmux(which, work)
                    if r is None:
                        print(f"  {scenario[0]:24} tmux is not installed: skipped")
                        break
                else:
                    r = detect_in_pty(which, scenario, work)
                leaked = "".join(k if len(k) == 1 else f"<{k}>" for k in r.get("leaked", []))
                line = (f"  {scenario[0]:24} {which:14} {r['elapsed'] * 1000:6.0f} ms  "
                        f"{r.get('mode') or r.get('error')}" + (f"  leaked keys: {leaked!r}" if leaked else ""))
                print(line)
                if which == "tuiannot":  # bounded: the timeout if unanswered, else < 5 x (two rounds)
                    bound = timeout + 0.1 if scenario[3] is None else 5 * timeout
                    ok = r["elapsed"] <= bound and not leaked and "error" not in r
                    checks.append((f"detection, {scenario[0]}: tuiannot {r['elapsed'] * 1000:.0f} ms, "
                                   f"{r.get('mode') or r.get('error')}, no keys leaked", ok))

    if not args.no_keys:
        print(f"\n(e) key -> next photo in a {COLUMNS}x{LINES} pty (COLORTERM=truecolor), {args.keys} keys, "
              "paced 50 ms")
        os.environ["COLORTERM"] = "truecolor"  # 24-bit cells for every renderer (the app reads it)
        runs = [("half-blocks, tuiannot as it is", "auto", None), ("half-blocks, textual-image patched in", "auto",
                "textual-image"), ("half-blocks, rich-pixels patched in", "auto", "rich-pixels"),
                (f"Sixel, tuiannot as it is ({sixel_now})", "sixel", None)]
        if own is not None and sixel_now != "own":
            runs.append((f"Sixel, own encoder (git {OWN_BASELINE})", "sixel", "own-sixel"))
        medians: dict[str, float] = {}
        for label, graphics, variant in runs:
            latencies, ok = key_latency(args.folder, files, work, args.keys, graphics, variant, own)
            if not latencies:
                print(f"  {label:40} no measurement")
                checks.append((f"keys, {label}", False))
                continue
            v = [x * 1000 for x in latencies]
            medians[label] = statistics.median(latencies)
            print(f"  {label:40} p50 {statistics.median(v):6.1f}  p99 {percentile(v, 99):6.1f}  max {max(v):6.1f} ms"
                  f"  (n={len(v)}, answers stored and in order: {ok})")
            if variant is None and graphics == "auto":
                checks.append((f"keys, {label}: p50 {statistics.median(v):.1f} ms <= 100 ms",
                               statistics.median(latencies) <= KEY_MEDIAN_GOAL and ok))
            elif variant is None:
                checks.append((f"keys, {label}: answers stored and in order", ok))
        now, before = runs[3][0], f"Sixel, own encoder (git {OWN_BASELINE})"
        if now in medians and before in medians:  # the adopted encoder must not slow the next photo down
            checks.append((f"keys, Sixel: p50 {medians[now] * 1000:.0f} ms now vs {medians[before] * 1000:.0f} ms "
                           "with the own encoder", medians[now] <= medians[before] * TIME_SLACK))
    shutil.rmtree(work, ignore_errors=True)

    print("\n| check | verdict |\n| --- | --- |")
    for text, ok in checks:
        print(f"| {text} | {verdict(ok)} |")
    print(f"overall: {verdict(all(ok for _, ok in checks))}")
    return 0


def sixel_in_use(libs: dict[str, Any], own: Any | None) -> str:
    """Which encoder render.sixel_encode is, by its output on a test image."""
    from PIL import Image

    from tuiannot.images import render

    from textual_image._sixel import SixelOptions

    image = Image.effect_noise((48, 30), 60).convert("RGB")
    out = render.sixel_encode(image)
    if out == libs["image_to_sixels"](image, SixelOptions(colors=128)):
        return "textual-image"
    if own is not None and out == own.sixel_encode(image):
        return "own"
    return "other"


if __name__ == "__main__":
    sys.exit(main())
