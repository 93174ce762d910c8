"""Make untrusted text safe to draw in a terminal.

Task text comes from files we did not write. Control characters and escape
sequences in it must never reach the terminal (they could move the cursor,
change colours, set the window title or worse), so every character that a
terminal might interpret is replaced by a visible stand-in of the same length
(one character for one), which keeps character offsets valid for spans:

* C0 controls (U+0000-U+001F) become the Control Pictures block (``␀``..``␟``,
  ``ESC`` becomes ``␛``), except newline, which stays a line break; a carriage
  return directly before a newline becomes a space; tab becomes ``⇥``.
* DEL becomes ``␡``; C1 controls (U+0080-U+009F, which include the 8-bit CSI),
  bidirectional overrides and isolates, and lone surrogates become ``�``.
* U+2028/U+2029 (line and paragraph separators) stay line breaks (``\\n``).

Rich markup is not interpreted anywhere: screens build ``rich.text.Text``
objects from data, never markup strings.
"""

from __future__ import annotations

import re

_TABLE: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20)}
_TABLE[0x09] = "⇥"
del _TABLE[0x0A]
_TABLE[0x7F] = "␡"
_TABLE.update({c: "�" for c in range(0x80, 0xA0)})
_TABLE.update({c: "�" for c in (0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069)})
_TABLE[0x2028] = "\n"
_TABLE[0x2029] = "\n"

_CRLF = re.compile("\r(?=\n)")
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with every terminal-unsafe character replaced, one for one."""
    if not _UNSAFE.search(text):
        return text
    text = _CRLF.sub(" ", text)
    text = text.translate(_TABLE)
    return _SURROGATE.sub("�", text)


def one_line(text: str, limit: int = 200) -> str:
    """A short, single-line, printable rendering (for labels, warnings, titles)."""
    text = printable(str(text)).replace("\n", "↵")
    return text if len(text) <= limit else text[: limit - 1] + "…"
