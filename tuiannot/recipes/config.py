"""The configuration files: ``tuiannot.toml`` in the project, ``config.toml`` of the user, found, read and checked.

Two files may hold defaults: the project's ``tuiannot.toml``, looked for in the working directory and each folder
above it (up to ``$HOME`` when the working directory is under it, so another user's or the system's folder above
``$HOME`` never speaks for you; else up to the filesystem root), and the user's
``$XDG_CONFIG_HOME/tuiannot/config.toml`` (``~/.config`` by default). Both are TOML, read with the standard
library's :mod:`tomllib`, and only when they exist: without them a command pays a few ``stat`` calls.

Top-level keys are the defaults every command shares (:data:`SHARED`); a table per command holds that command's
options by their long names (``[textcat]`` with ``label = ["POS", "NEG"]``, ``exclusive = true``). A ``[keymap]``
table (binding id to keys) or ``keymap = "keys.json"`` moves keys. A ``[labels]`` table (``[labels.PERSON]`` with
``description`` and ``example``) describes the labels, as a ``--labels-file`` does (:mod:`tuiannot.recipes.guidelines`;
:func:`config_labels`). A relative path in :data:`PATHS` (``db``, ``keymap``, ``guidelines``, ``labels_file``) is
relative to the file that sets it, so a project's file means the project's database wherever the command is run
from.

The files become Click's ``default_map`` for the command that runs (:func:`default_map`, called by
:func:`tuiannot.cli.program.main`): an option's value comes from the command line first, then its environment
variable, then the files (the project's before the user's; in each, the command's table before the top-level
keys), then the built-in default. Click reads ``default_map`` after the command line and an option's own
``envvar``; ``--db`` has no ``envvar`` (the storage reads ``$TUIANNOT_DB`` when ``--db`` is not given), so a key
that an environment variable sets (:data:`ENV`) is left out of the map while the variable is set: the
environment wins. The commands are seen through what Typer's Click objects offer (``params``, an option's
``opts``, ``type_descriptor`` and ``get_runtime_param()``), so this module imports neither Typer nor the command
line; ``tuiannot config`` (:mod:`tuiannot.cli.config`) shows the result.

A mistake is a :class:`ConfigError`: one line naming the file and line, the key and what is allowed, exit code 2
(a usage error) before anything runs. A value is checked against its option: its TOML type (a boolean for a flag,
an integer, a number, a string; a list of strings becomes the comma-separated form the options take) and the
option's own rules (a range, a choice). The command that runs has its table checked in full, and every table must
name a command (an installed plugin's counts); ``tuiannot config`` checks every table in full.

The keymap a file gives reaches the app through :data:`tuiannot.screens.app.CONFIG_KEYMAP` (set by
:mod:`tuiannot.cli.annotate` when it imports the screens): ``$TUIANNOT_KEYMAP`` wins over it, and it wins over
``~/.tuiannot/keymap.json``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import UserError

PROJECT_FILE = "tuiannot.toml"

SHARED: dict[str, str] = {
    "db": "the database (a file or a postgresql:// URL)",
    "session": "the annotator's name",
    "keymap": "a JSON keymap's path, or a [keymap] table of binding id to keys",
    "theme": "the colour theme",
    "guidelines": "the annotation guidelines (a Markdown file)",
    "labels_file": "the labels' descriptions and examples (a TOML file)",
    "llm": "the OpenAI-compatible server's base URL",
    "llm_model": "the model to ask on that server",
}
"""The top-level keys every command shares (a command takes those of its options that it has)."""

PATHS = frozenset({"db", "keymap", "guidelines", "labels_file"})
"""Keys whose relative path is relative to the file that sets it."""

ENV = {"db": "TUIANNOT_DB", "keymap": "TUIANNOT_KEYMAP"}
"""Keys an environment variable also sets; it wins over the files (flags > env > project > user > built-in)."""


class ConfigError(UserError):
    """A configuration file that cannot be used: one line naming the file, the key and what is allowed."""

    exit_code = 2


@dataclass(frozen=True)
class Setting:
    """A value a file gives and where: ``origin`` is ``FILE:LINE`` (or the file alone)."""

    value: Any
    origin: str


@dataclass
class ConfigFile:
    """One file's settings: the shared keys, the command tables (as written) and the ``[keymap]`` table."""

    path: Path
    shared: dict[str, Setting] = field(default_factory=dict)
    commands: dict[str, dict[str, Setting]] = field(default_factory=dict)
    keymap: Setting | None = None  # a dict of binding id to keys, or a JSON keymap's Path
    labels: Setting | None = None  # a [labels] table: label -> description and example (its origin: the header's)
    label_origins: dict[str, str] = field(default_factory=dict)  # label -> FILE:LINE of its [labels.NAME]
    tables: dict[str, str] = field(default_factory=dict)  # command table -> where its header is (FILE:LINE)


def user_file(env: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/tuiannot/config.toml`` (``~/.config`` when unset or not absolute, as the spec says)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path(os.path.expanduser("~")) / ".config"
    return root / "tuiannot" / "config.toml"


def project_file(start: Path | None = None) -> Path | None:
    """The nearest ``tuiannot.toml`` from ``start`` (the working directory) upwards; see the module's docstring."""
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:  # the working directory was removed
        return None
    home = Path(os.path.expanduser("~")).resolve()
    stop = home if here == home or home in here.parents else None
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
        if folder == stop:
            break
    return None


def config_files(start: Path | None = None) -> list[Path]:
    """The files that exist, the one that wins first: the project's, then the user's."""
    return [p for p in (project_file(start), user_file()) if p is not None and p.is_file()]


def load(start: Path | None = None) -> list[ConfigFile]:
    """Every configuration file read and its shapes checked (:func:`read`), the one that wins first."""
    return [read(path) for path in config_files(start)]


_TABLE = re.compile(r"^\s*\[\s*\"?([^\]\"]+?)\"?\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*\"?([A-Za-z0-9_-]+)\"?\s*=")


def _lines(text: str) -> dict[tuple[str, str], int]:
    """(table, key) -> the line that sets it ("" for the top level): for the origins shown and the errors."""
    found: dict[tuple[str, str], int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), 1):
        header = _TABLE.match(line)
        if header:
            table = header.group(1).strip()
            found.setdefault((table, ""), number)
            continue
        key = _KEY.match(line)
        if key:
            found.setdefault((table, key.group(1)), number)
    return found


def _shown(value: Any) -> str:
    from ..sanitize import one_line

    return one_line(repr(value), 60) if not isinstance(value, (dict, list)) else type_name(value)


def type_name(value: Any) -> str:
    """``value``'s TOML type in words, for the errors (``a string``, ``an integer``…)."""
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)


def read(path: Path) -> ConfigFile:
    """Read and check one file: its TOML, the shared keys' types, the tables' shapes."""
    import tomllib

    from ..sanitize import one_line

    where = one_line(str(path), 300)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{where}: cannot be read ({one_line(str(e), 200)})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: not valid TOML ({one_line(str(e), 200)})") from None
    lines = _lines(text)

    def origin(table: str, key: str) -> str:
        line = lines.get((table, key))
        return f"{path}:{line}" if line else str(path)

    config = ConfigFile(path)
    for key, value in data.items():
        at = f"{where}:{lines[('', key)]}" if ("", key) in lines else where
        if key == "keymap":
            table = isinstance(value, dict)  # [keymap], or keymap = "keys.json"
            config.keymap = Setting(_keymap(value, path, at, lambda b: one_line(origin("keymap", b), 300)),
                                    origin("keymap", "") if table else origin("", key))
        elif key == "labels" and isinstance(value, dict):  # [labels.NAME] description, example
            from .guidelines import label_info

            config.labels = Setting(label_info(value, lambda k: one_line(
                origin(f"labels.{k}", "") if "." not in k else origin(f"labels.{k.rsplit('.', 1)[0]}",
                                                                     k.rsplit(".", 1)[1]), 300)),
                origin("labels", "") if ("labels", "") in lines else origin("", key))
            config.label_origins = {label: origin(f"labels.{label}", "") for label in value}
        elif key in SHARED:
            if not isinstance(value, str):
                raise ConfigError(f"{at}: {key}: expected a string ({SHARED[key]}), not {_shown(value)}")
            config.shared[key] = Setting(resolve(key, value, path), origin("", key))
        elif isinstance(value, dict):
            config.commands[key] = {k: Setting(resolve(k.replace("-", "_"), v, path), origin(key, k))
                                    for k, v in value.items()}
            config.tables[key] = origin(key, "")
        else:
            raise ConfigError(f"{at}: {one_line(key, 60)}: not a setting (settings: {', '.join(SHARED)}; a table "
                              "[COMMAND] holds a command's options)")
    return config


def _keymap(value: Any, path: Path, at: str, where: Callable[[str], str]) -> dict[str, str] | Path:
    """A ``[keymap]`` table (binding id to keys: a string, or a list of keys) or a JSON keymap's path; ``where``
    gives a binding's ``FILE:LINE``."""
    if isinstance(value, str):
        return Path(resolve("keymap", value, path))
    if not isinstance(value, dict):
        raise ConfigError(f"{at}: keymap: expected a path or a [keymap] table of binding id to keys, not "
                          f"{_shown(value)}")
    keymap: dict[str, str] = {}
    for binding, keys in value.items():
        if isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys):
            keys = ",".join(keys)
        if not isinstance(keys, str):
            from ..sanitize import one_line

            raise ConfigError(f"{where(binding)}: [keymap] {one_line(binding, 40)}: expected keys as a string "
                              f"(\"y\" or \"y,enter\") or a list of strings, not {_shown(keys)}")
        keymap[binding] = keys
    return keymap


def resolve(key: str, value: Any, path: Path) -> Any:
    """A relative path of :data:`PATHS` made relative to the file ``path`` (a URL or ``~`` path as it is)."""
    if key not in PATHS or not isinstance(value, str) or not value or "://" in value:
        return value
    expanded = os.path.expanduser(value)
    return expanded if os.path.isabs(expanded) else os.path.normpath(path.parent.absolute() / expanded)


# -- the files applied to a command (Click's default_map) ------------------------------------------------------
ACTIVE: list[ConfigFile] = []
"""The files :func:`default_map` read for the command that runs, the one that wins first."""


def config_keymap() -> tuple[str, dict[str, str] | Path] | None:
    """The keymap the files give (where it was set, a table of binding id to keys or a JSON keymap's path), unless
    ``$TUIANNOT_KEYMAP`` is set (it wins)."""
    if os.environ.get("TUIANNOT_KEYMAP"):
        return None
    for config in ACTIVE:
        if config.keymap is not None:
            return config.keymap.origin, config.keymap.value
    return None


def config_labels() -> tuple[dict[str, dict[str, str]], dict[str, str]] | None:
    """The ``[labels]`` table the files give (the project's before the user's): label -> description and example,
    and label -> where (``FILE:LINE``); None without one."""
    for config in ACTIVE:
        if config.labels is not None:
            return config.labels.value, config.label_origins
    return None


def options_of(command: Any) -> dict[str, Any]:
    """The command's options by long name (``llm-model``), not ``--help``."""
    found: dict[str, Any] = {}
    for param in getattr(command, "params", []):
        longs = [o for o in param.opts if o.startswith("--")] if param.param_type_name == "option" else []
        if longs and param.name and longs[0] != "--help":
            found[longs[0][2:]] = param
    return found


def _where(setting: Setting) -> str:
    from ..sanitize import one_line

    return one_line(setting.origin, 300)


def checked(option: Any, key: str, setting: Setting, table: str | None) -> Any:
    """The value ``setting`` gives ``option``, in the form the command line would (a list joined by commas), or a
    :class:`ConfigError` naming the file, the key and what is allowed."""
    from ..sanitize import one_line

    value = setting.value
    annotation = option.type_descriptor.annotation
    name = f"[{one_line(table, 40)}] {one_line(key, 40)}" if table else one_line(key, 40)
    at = f"{_where(setting)}: {name}"
    if option.multiple:
        value = value if isinstance(value, list) else [value]
    elif isinstance(value, list) and annotation is str and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    wanted = {bool: ("a boolean (true or false)", (bool,)), int: ("an integer", (int,)),
              float: ("a number", (int, float)), str: ("a string", (str,))}.get(annotation)
    for item in value if option.multiple else [value]:
        if wanted is not None and (not isinstance(item, wanted[1]) or (annotation is not bool and
                                                                       isinstance(item, bool))):
            lists = " or a list of strings" if annotation is str else ""
            raise ConfigError(f"{at}: expected {wanted[0]}{lists}, not {one_line(repr(item), 60)} "
                              f"({type_name(item)})")
        try:
            option.get_runtime_param().coerce(item, param=option, ctx=None)
        except Exception as e:  # the option's own rules (a range, a choice): typer's BadParameter
            message = getattr(e, "message", None) or str(e)
            raise ConfigError(f"{at}: {one_line(str(message), 200)}") from None
    return value


def effective(command: Any, name: str, files: list[ConfigFile]) -> dict[str, tuple[Any, str]]:
    """Each option of ``command`` (named ``name``) that the environment or the files set: option name ->
    (value, origin), origin ``env NAME`` or ``FILE:LINE``. Every key of the command's tables is checked."""
    from ..sanitize import one_line

    options = options_of(command)
    by_key = {long.replace("-", "_"): option for long, option in options.items()}
    found: dict[str, tuple[Any, str]] = {}
    for config in files:
        for key, setting in config.commands.get(name, {}).items():
            option = by_key.get(key.replace("-", "_"))
            if option is None:
                raise ConfigError(f"{one_line(setting.origin, 300)}: [{one_line(name, 40)}] {one_line(key, 40)}: "
                                  f"not an option of {one_line(name, 40)} (options: {', '.join(options)})")
            value = checked(option, key, setting, name)
            found.setdefault(option.name, (value, setting.origin))
        for key, setting in config.shared.items():
            option = by_key.get(key)
            if option is not None:
                found.setdefault(option.name, (checked(option, key, setting, None), setting.origin))
    for key, variable in ENV.items():
        option = by_key.get(key)
        if option is not None and os.environ.get(variable):
            found[option.name] = (os.environ[variable], f"env {variable}")
    return found


def check_tables(files: list[ConfigFile], known: set[str]) -> None:
    """Every table names a command: a built-in one, one of ``known``, or an installed plugin's."""
    from ..sanitize import one_line

    unknown = [(c, n) for c in files for n in c.commands if n not in known]
    if not unknown:
        return
    from .plugins import RECIPES, entry_points_of

    plugins = {ep.name for ep in entry_points_of(RECIPES)}
    for config, name in unknown:
        if name not in plugins:
            where = one_line(config.tables.get(name, str(config.path)), 300)
            raise ConfigError(f"{where}: [{one_line(name, 40)}]: not a command (tables name commands: "
                              f"{', '.join(sorted(known))}; top-level settings: {', '.join(SHARED)})")


def default_map(command: Any, argv: list[str], known: set[str]) -> dict[str, Any] | None:
    """The ``default_map`` for ``command`` (the app, or the app with the one command ``argv`` names) from the
    configuration files, or ``None`` when there are none (a few ``stat`` calls). Raises :class:`ConfigError`."""
    commands = getattr(command, "commands", {})
    name = argv[0] if argv and argv[0] in commands else None
    if name is None:  # the help, --version, the shell's completion: no command, no files
        return None
    files = load()
    ACTIVE[:] = files
    if not files:
        return None
    check_tables(files, known)
    values = effective(commands[name], name, files)
    return {name: {option: value for option, (value, origin) in values.items() if not origin.startswith("env ")}}
