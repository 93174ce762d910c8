"""The annotation guidelines and the labels' descriptions: read once at the start, checked, handed to the screens.

``--guidelines FILE.md`` (or ``guidelines`` in ``tuiannot.toml``) names a Markdown file: :func:`load_guidelines`
reads it once, before anything else runs, and gives its text (shown by the screens' ``g``), its version and its
hash. The hash is the first 12 hex digits of the SHA-256 of the file's bytes; the version is the ``version`` a
front matter gives (a leading ``---`` block of ``key: value`` lines, as YAML writes them, or a ``+++`` block of
TOML), read without a YAML parser, and absent when there is none. The controller stamps both on every answer of
the session as ``_guidelines`` (``{"hash": ..., "version": ...}``, see :mod:`tuiannot.controller`), so that a
team sees which version of the guidelines each answer was given under.

``--labels-file FILE.toml`` (or a ``[labels]`` table in ``tuiannot.toml``, read by :mod:`tuiannot.recipes.config`)
gives each label a description and an example, shown beside the labels::

    [PERSON]
    description = "A named person"
    example = "Ada Lovelace"

A ``[labels.PERSON]`` table means the same (so a ``--prompt`` file's label descriptions serve as well). A label
not among the command's labels, an unknown key or a value that is not a string is a one-line error naming the file
and the line (:class:`GuidelinesError`, exit code 2, before the screen).

Both go to the screens through :attr:`tuiannot.components.Components.config` (:func:`attach`): ``guidelines``
(``path``, ``text``, ``hash``, ``version``) and ``label_info`` (label to ``description`` and ``example``), plain
JSON-able values. The text is untrusted: the screens make it printable and never read it as markup.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

from ..components import Components
from ..errors import UserError
from ..sanitize import one_line

HASH_DIGITS = 12
"""Hex digits of the SHA-256 kept as the guidelines' hash."""
LABEL_KEYS = ("description", "example")


class GuidelinesError(UserError):
    """A guidelines or labels file that cannot be used: one line naming the file (and the line), exit code 2."""

    exit_code = 2


def guidelines_hash(data: bytes) -> str:
    """The guidelines' hash: the first :data:`HASH_DIGITS` hex digits of the SHA-256 of the file's bytes."""
    return hashlib.sha256(data).hexdigest()[:HASH_DIGITS]


_VERSION_YAML = re.compile(r"^version\s*:\s*(.*?)\s*$")
_VERSION_TOML = re.compile(r"^version\s*=\s*(.*?)\s*$")


def front_matter_version(text: str) -> str | None:
    """The ``version`` of the text's front matter: a ``---`` block (``version: 1.2``) or a ``+++`` block
    (``version = "1.2"``) at the very start, closed by the same fence; None without one (or without a version)."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() not in ("---", "+++"):
        return None
    fence = lines[0].strip()
    pattern = _VERSION_YAML if fence == "---" else _VERSION_TOML
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == fence), None)
    if end is None:
        return None  # never closed: not a front matter
    for line in lines[1:end]:
        found = pattern.match(line)
        if found:
            value = found.group(1).split(" #", 1)[0].strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            value = one_line(value, 60).strip()
            return value or None
    return None


def _read_text(path: str | Path, name: str, what: str, why_utf8: str = "") -> tuple[bytes, str]:
    """A small text file's bytes and text, or a :class:`GuidelinesError` naming it (and the line of bad UTF-8)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise GuidelinesError(f"{name}: no such {what}") from None
    except IsADirectoryError:
        raise GuidelinesError(f"{name}: is a folder, not a {what}") from None
    except OSError as e:
        raise GuidelinesError(f"{name}: cannot be read ({one_line(e.strerror or str(e), 120)})") from None
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise GuidelinesError(f"{name}:{line}: not valid UTF-8{why_utf8}") from None


def load_guidelines(path: str | Path) -> dict[str, Any]:
    """The guidelines file read once: ``{"path", "text", "hash", "version"}`` (``version`` None without one), or a
    :class:`GuidelinesError` naming the file."""
    name = one_line(str(path), 300)
    data, text = _read_text(path, name, "guidelines file (--guidelines)", " (guidelines are a Markdown text file)")
    if not text.strip():
        raise GuidelinesError(f"{name}: is empty (nothing to show as guidelines)")
    return {"path": str(path), "text": text.lstrip("\ufeff"), "hash": guidelines_hash(data),
            "version": front_matter_version(text)}


# -- the labels' descriptions ----------------------------------------------------------------------------------
_TABLE = re.compile(r"^\s*\[\s*(.+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*\"?([A-Za-z0-9_.-]+)\"?\s*=")


def _table_lines(text: str) -> dict[str, int]:
    """Table header (as written, quotes dropped) -> its line; ``TABLE.key`` -> the line setting it."""
    found: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), 1):
        header = _TABLE.match(line)
        if header and not line.lstrip().startswith("[["):
            table = header.group(1).replace('"', "").replace("'", "").strip()
            found.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            found.setdefault(f"{table}.{key.group(1)}" if table else key.group(1), number)
    return found


def load_labels_file(path: str | Path) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """``--labels-file``: label -> ``{"description", "example"}`` (those given) and label -> where it is
    (``FILE:LINE``), or a :class:`GuidelinesError` naming the file and the line."""
    name = one_line(str(path), 300)
    _, text = _read_text(path, name, "labels file (--labels-file)")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        at = re.search(r"at line (\d+)", str(e))
        raise GuidelinesError(f"{name}:{at.group(1) if at else '?'}: not valid TOML ({one_line(str(e), 120)})") \
            from None
    lines = _table_lines(text)
    prefix = ""
    if isinstance(data.get("labels"), dict):  # [labels.NAME] (a --prompt file's form): the other keys are its own
        data, prefix = data["labels"], "labels."

    def where(key: str) -> str:
        return f"{name}:{lines[prefix + key]}" if prefix + key in lines else name

    return label_info(data, where), {label: where(label) for label in data}


def label_info(data: dict[str, Any], where: Any) -> dict[str, dict[str, str]]:
    """The labels' table checked: label -> ``{"description", "example"}``. ``where(key)`` names the file and line of
    ``key`` (``PERSON`` or ``PERSON.description``) for the errors."""
    found: dict[str, dict[str, str]] = {}
    for label, entry in data.items():
        shown = one_line(label, 40)
        if not isinstance(entry, dict):
            raise GuidelinesError(f"{where(label)}: {shown}: expected a table ([{shown}] with description = \"...\" "
                                  "and example = \"...\"), not a value")
        info: dict[str, str] = {}
        for key, value in entry.items():
            if key not in LABEL_KEYS:
                raise GuidelinesError(f"{where(f'{label}.{key}')}: {shown}.{one_line(key, 40)}: unknown key (known: "
                                      f"{', '.join(LABEL_KEYS)})")
            if not isinstance(value, str):
                raise GuidelinesError(f"{where(f'{label}.{key}')}: {shown}.{key}: expected a string, not "
                                      f"{type(value).__name__}")
            if value.strip():
                info[key] = value.strip()
        found[str(label)] = info
    return found


def check_labels(info: dict[str, dict[str, str]], labels: list[str], origins: dict[str, str]) -> None:
    """Every described label is one of the command's ``labels`` (when it has labels); ``origins``: label -> where
    it is described (``FILE:LINE``)."""
    if not labels:
        return
    for label in info:
        if label not in labels:
            raise GuidelinesError(f"{one_line(origins.get(label, '?'), 300)}: {one_line(label, 40)}: not among the "
                                  f"labels "
                                  f"({', '.join(one_line(x, 30) for x in labels[:20])})")


def attach(components: Components, guidelines: dict[str, Any] | None,
           labels: tuple[dict[str, dict[str, str]], dict[str, str]] | None, strict: bool = True) -> None:
    """Hand the guidelines and the labels' descriptions (and where each is, ``FILE:LINE``) to the screens and the
    controller through ``components.config``. A described label the recipe does not use is an error if ``strict``
    (a labels file made for the command), else left out (a configuration's table, for every command)."""
    if labels is not None:
        info, origins = labels
        if strict:
            check_labels(info, components.labels, origins)
        elif components.labels:
            info = {k: v for k, v in info.items() if k in components.labels}
        components.config["label_info"] = {k: v for k, v in info.items() if v}
    if guidelines is not None:
        components.config["guidelines"] = guidelines
