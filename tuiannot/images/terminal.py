"""Asking the terminal what it can show: the only terminal I/O of the image views.

:func:`detect` chooses a renderer of :mod:`.render` for ``--graphics auto``. It
never blocks: not a terminal, a size of zero, tmux/screen, ``TERM=linux``/``dumb``
or ``NO_COLOR`` decide without asking anything; otherwise Primary Device
Attributes ``CSI c``, which every terminal answers, is asked alone and its reply
read until it arrives or ``timeout`` passes. Only a terminal that answered in time
is asked more, in a second round closed by ``CSI c`` again and only for what a
pixel renderer needs: the Kitty graphics query where Kitty's placeholders could be
used, the cell size ``CSI 16 t`` when the window size has no pixels and Sixel or
Kitty is possible. The reason: a reply that arrives after the app has started is
read by Textual, which drops a late ``CSI c`` reply but turns a Kitty or cell-size
reply into key presses (``ESC _ G i = 3 1 ; O K`` types ``G``, ``i``, ``3``, ``1``,
...: labels), which is what asking everything at once does over a slow SSH link
(bench/image_libs.py measures it). No reply at all means environment hints
(``KITTY_WINDOW_ID``, ``TERM``, ``TERM_PROGRAM``) or half-blocks. This must run
before ``App.run()``: Textual's input thread would swallow the replies.
"""

from __future__ import annotations

import os
import re
import select
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from .render import DEFAULT_CELL

MODES = ("auto", "kitty", "sixel", "halfcell", "ascii")


@dataclass
class Graphics:
    """How images are drawn: the renderer, the colours, the cell size in pixels and why."""

    mode: str = "halfcell"
    colors: str = "truecolor"  # or "256"
    cell: tuple[int, int] = DEFAULT_CELL
    reason: str = ""
    replies: dict[str, Any] = field(default_factory=dict)

    @property
    def pixels(self) -> bool:
        """Whether the renderer draws real pixels (Kitty, Sixel) rather than cells."""
        return self.mode in ("kitty", "sixel")


# -- detection -----------------------------------------------------------------------------
_KITTY_QUERY = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
_DA1 = re.compile(r"\x1b\[\?([0-9;]*)c")
_CELL_REPLY = re.compile(r"\x1b\[6;(\d+);(\d+)t")
_KITTY_REPLY = re.compile(r"\x1b_Gi=31;([^\x1b]*)\x1b\\")


def color_system(env: Mapping[str, str]) -> str:
    colorterm = env.get("COLORTERM", "").lower()
    if colorterm in ("truecolor", "24bit") or env.get("TERM", "").endswith(("-direct", "kitty", "ghostty")):
        return "truecolor"
    if env.get("TERM_PROGRAM") in ("iTerm.app", "WezTerm", "vscode", "ghostty") or env.get("KITTY_WINDOW_ID"):
        return "truecolor"
    if env.get("TMUX") and colorterm:
        return "truecolor"
    return "256" if "256" in env.get("TERM", "") else "truecolor"


def _window_size(fd: int) -> tuple[int, int, int, int] | None:
    """(rows, columns, pixel width, pixel height) of the terminal on ``fd``, or None."""
    try:
        import fcntl
        import termios

        rows, cols, xpix, ypix = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
        return rows, cols, xpix, ypix
    except (OSError, ImportError, struct.error):
        return None


def _hinted(env: Mapping[str, str]) -> str | None:
    """What the environment says the terminal can show (None: nothing beyond half-blocks)."""
    term, program = env.get("TERM", ""), env.get("TERM_PROGRAM", "")
    if env.get("KITTY_WINDOW_ID") or term == "xterm-kitty" or term == "xterm-ghostty" or program == "ghostty":
        return "kitty"
    if program in ("WezTerm", "iTerm.app") or term.startswith(("foot", "mlterm")) or env.get("KONSOLE_VERSION"):
        return "sixel"
    return None


def _placeholders_supported(env: Mapping[str, str]) -> bool:
    """Kitty's Unicode placeholders work in Kitty and Ghostty (WezTerm and Konsole answer the query but not these)."""
    term, program = env.get("TERM", ""), env.get("TERM_PROGRAM", "")
    return bool(env.get("KITTY_WINDOW_ID")) or term in ("xterm-kitty", "xterm-ghostty") or program == "ghostty"


def query_terminal(fd_in: int, fd_out: int, timeout: float, ask_cell: bool,
                   ask_kitty: bool = False) -> dict[str, Any]:
    """Ask in up to two rounds (see the module's docstring) and read the replies.

    Returns ``{"answered": bool, "kitty": bool, "sixel": bool, "cell": (w, h) | None, "rtt": s | None}``.
    Round two waits at most ``timeout`` + 3 of round one's round trips. The terminal is put in
    non-canonical, no-echo mode for the reads and restored after.
    """
    import termios

    result: dict[str, Any] = {"answered": False, "kitty": False, "sixel": False, "cell": None, "rtt": None}
    saved = termios.tcgetattr(fd_in)
    raw = termios.tcgetattr(fd_in)
    raw[3] &= ~(termios.ICANON | termios.ECHO)
    raw[6][termios.VMIN], raw[6][termios.VTIME] = 0, 0
    buffer = ""
    complete = False
    try:
        termios.tcsetattr(fd_in, termios.TCSANOW, raw)
        start = time.monotonic()
        buffer, complete = _exchange(fd_in, fd_out, "\x1b[c", buffer, 1, start + timeout)
        if complete:
            rtt = result["rtt"] = time.monotonic() - start
            result["answered"] = True
            da1 = _DA1.search(buffer)
            result["sixel"] = bool(da1 and "4" in da1.group(1).split(";"))
            second = (_KITTY_QUERY if ask_kitty else "") + (
                "\x1b[16t" if ask_cell and (ask_kitty or result["sixel"]) else "")
            if second:
                buffer, complete = _exchange(fd_in, fd_out, second + "\x1b[c", buffer, 2,
                                             time.monotonic() + timeout + 3 * rtt)
    except OSError:
        complete = False
    finally:
        try:
            if not complete:
                termios.tcflush(fd_in, termios.TCIFLUSH)  # a reply arriving late must not become key presses
            termios.tcsetattr(fd_in, termios.TCSANOW, saved)
        except OSError:
            pass
    kitty = _KITTY_REPLY.search(buffer)
    result["kitty"] = bool(kitty and kitty.group(1) == "OK")
    cell = _CELL_REPLY.search(buffer)
    if cell and int(cell.group(1)) > 0 and int(cell.group(2)) > 0:
        result["cell"] = (int(cell.group(2)), int(cell.group(1)))
    return result


def _exchange(fd_in: int, fd_out: int, query: str, buffer: str, replies: int, deadline: float) -> tuple[str, bool]:
    """Write ``query`` and read until ``buffer`` holds ``replies`` DA1 replies (True) or ``deadline`` (False)."""
    os.write(fd_out, query.encode("ascii"))
    while len(_DA1.findall(buffer)) < replies:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return buffer, False
        ready, _, _ = select.select([fd_in], [], [], remaining)
        if not ready:
            return buffer, False
        chunk = os.read(fd_in, 4096)
        if not chunk:
            return buffer, False
        buffer += chunk.decode("latin-1")
    return buffer, True


def detect(requested: str = "auto", *, fd_in: int | None = None, fd_out: int | None = None,
           env: Mapping[str, str] | None = None, timeout: float = 0.25) -> Graphics:
    """The renderer to use: ``requested`` itself, or for ``auto`` the best the terminal can show."""
    if requested not in MODES:
        raise ValueError(f"unknown graphics {requested!r} (choose from {', '.join(MODES)})")
    env = os.environ if env is None else env
    colors = color_system(env)
    fd_in = _fileno("stdin") if fd_in is None else fd_in
    fd_out = _fileno("stdout") if fd_out is None else fd_out
    tty = fd_in is not None and fd_out is not None and os.isatty(fd_in) and os.isatty(fd_out)
    size = _window_size(fd_out) if tty and fd_out is not None else None
    cell = DEFAULT_CELL
    if size and size[0] > 0 and size[1] > 0 and size[2] > 0 and size[3] > 0:
        cell = (max(1, size[2] // size[1]), max(1, size[3] // size[0]))
    if requested != "auto":
        return Graphics(requested, colors, cell, "asked for")
    if not tty:
        return Graphics("halfcell", colors, cell, "not a terminal")
    if not size or size[0] == 0 or size[1] == 0:
        return Graphics("halfcell", colors, cell, "the terminal reports a size of zero")
    term = env.get("TERM", "")
    if env.get("NO_COLOR") or term == "dumb":
        return Graphics("ascii", colors, cell, "NO_COLOR" if env.get("NO_COLOR") else "TERM=dumb")
    if env.get("TMUX") or env.get("STY") or term.startswith(("screen", "tmux")):
        return Graphics("halfcell", colors, cell, "inside tmux/screen")
    if term == "linux":
        return Graphics("halfcell", colors, cell, "the Linux console")
    assert fd_in is not None and fd_out is not None
    replies = query_terminal(fd_in, fd_out, timeout, ask_cell=size[2] == 0 or size[3] == 0,
                             ask_kitty=_placeholders_supported(env))
    if replies["cell"]:
        cell = replies["cell"]
    if not replies["answered"]:
        hint = _hinted(env)
        if hint:
            return Graphics(hint, colors, cell, "no reply to the queries; going by the environment", replies)
        return Graphics("halfcell", colors, cell, f"no reply within {timeout:.2f} s", replies)
    if replies["kitty"] and _placeholders_supported(env):
        return Graphics("kitty", "truecolor", cell, "the terminal speaks the Kitty graphics protocol", replies)
    if replies["sixel"]:
        return Graphics("sixel", colors, cell, "the terminal reports Sixel", replies)
    return Graphics("halfcell", colors, cell, "no graphics protocol reported", replies)


def _fileno(name: str) -> int | None:
    import sys

    stream = getattr(sys, f"__{name}__", None)
    try:
        return stream.fileno() if stream is not None else None
    except (OSError, ValueError, AttributeError):
        return None
