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
  the bidirectional controls (Unicode's Bidi_Control: the marks U+061C, U+200E,
  U+200F, the embeddings and overrides U+202A-U+202E, the isolates
  U+2066-U+2069) and lone surrogates become ``�``.
* Characters that draw nothing become ``�`` too, so that nothing is hidden in a
  name or a text and names that look alike can be told apart: the zero-width
  space, non-joiner and joiner (U+200B-U+200D), the word joiner and invisible
  operators (U+2060-U+2065), the byte order mark (U+FEFF), the combining
  grapheme joiner (U+034F), the Hangul fillers (U+115F, U+1160, U+3164, U+FFA0),
  the Khmer inherent vowels (U+17B4, U+17B5), the Mongolian vowel separator
  (U+180E), the deprecated format controls (U+206A-U+206F), the interlinear
  annotation controls (U+FFF9-U+FFFB), the shorthand and musical format
  controls (U+1BCA0-U+1BCA3, U+1D173-U+1D17A) and the tag characters
  (U+E0000-U+E007F). Variation selectors are left alone (emoji need them). The
  zero-width non-joiner and joiner (U+200C, U+200D) are kept where they do their
  job, between two characters outside ASCII that are not spaces: an emoji
  sequence (👩‍💻), a Persian or Indic word. Anywhere else (in a Latin word, at
  either end, beside a space) they hide something and become ``�``.
* U+2028/U+2029 (line and paragraph separators) stay line breaks (``\\n``).

:func:`one_line` makes a short single line of a name or a message (line breaks
become ``↵``). :func:`json_text` is what ``--json`` prints: JSON in which every
one of these characters (and the line separators) is a ``\\uXXXX`` escape, so the
output is plain to a terminal and parses to the very same values;
:func:`escape_json` does the same to JSON already written (stored answers).
:func:`blank` says whether a name shows nothing at all.

Rich markup is not interpreted anywhere: screens build ``rich.text.Text``
objects from data, never markup strings.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

_BIDI = (0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069)
_INVISIBLE_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180E, 0x180E), (0x200B, 0x200D),
                     (0x2060, 0x2065), (0x206A, 0x206F), (0x3164, 0x3164), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0),
                     (0xFFF9, 0xFFFB), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE007F))
_INVISIBLE = [c for first, last in _INVISIBLE_RANGES for c in range(first, last + 1)]

_TABLE: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20)}
_TABLE[0x09] = "⇥"
del _TABLE[0x0A]
_TABLE[0x7F] = "␡"
_TABLE.update({c: "�" for c in range(0x80, 0xA0)})
_TABLE.update({c: "�" for c in _BIDI})
_TABLE.update({c: "�" for c in _INVISIBLE if c not in (0x200C, 0x200D)})  # joiners: see _LONE_JOINER
_TABLE[0x2028] = "\n"
_TABLE[0x2029] = "\n"
_DRAWS_NOTHING: dict[int, None] = dict.fromkeys(_BIDI + tuple(_INVISIBLE))
_OTHERS = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in tuple((c, c) for c in _BIDI) + _INVISIBLE_RANGES)

_CRLF = re.compile("\r(?=\n)")
_JOINABLE = f"[^\\x00-\\x7f\\s\\x80-\\x9f\\ud800-\\udfff{_OTHERS}]"  # a visible character outside ASCII
_LONE_JOINER = re.compile(f"(?<!{_JOINABLE})[\u200c\u200d]|[\u200c\u200d](?!{_JOINABLE})")
"""A joiner that does not sit between two visible non-ASCII characters (which it would join)."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSAFE = re.compile(f"[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff{_OTHERS}]")


def printable(text: str) -> str:
    """``text`` with every terminal-unsafe or invisible character replaced, one for one."""
    if not _UNSAFE.search(text):
        return text
    text = _CRLF.sub(" ", text)
    text = _LONE_JOINER.sub("�", text)
    text = text.translate(_TABLE)
    return _SURROGATE.sub("�", text)


def one_line(text: str, limit: int = 200) -> str:
    """A short, single-line, printable rendering (for labels, warnings, titles)."""
    text = printable(str(text)).replace("\n", "↵")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def blank(text: str) -> bool:
    """Nothing to see: ``text`` is empty, or only whitespace and characters that draw nothing."""
    return not text.translate(_DRAWS_NOTHING).strip()


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # a surrogate pair, as JSON writes characters beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}"
    return f"\\u{code:04x}"


def escape_json(text: str) -> str:
    """JSON text (as ``json.dumps`` writes it, e.g. a stored answer) with every character :func:`printable`
    would replace written as a ``\\uXXXX`` escape: safe to print, and it parses to the same values."""
    # json.dumps escapes C0 controls in strings, and outside strings writes only ASCII letters, digits,
    # punctuation, spaces and newlines (which are left alone): every character matched here is inside a
    # string, where its escape means the same
    return _UNSAFE.sub(_json_escape, text) if _UNSAFE.search(text) else text


def json_text(value: Any, indent: int | None = 2, default: Callable[[Any], Any] | None = None) -> str:
    """``value`` as JSON (other characters unescaped), through :func:`escape_json`: what ``--json`` prints."""
    return escape_json(json.dumps(value, ensure_ascii=False, indent=indent, default=default))
