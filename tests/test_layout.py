"""The walls of the layout, kept by tests that need nothing beyond the standard library.

``.ci/run`` also runs import-linter over the contracts in ``pyproject.toml``; these tests keep the
walls in the README's own test command too, and check what a static linter cannot see: what a
headless module *really* imports when it runs (Textual must not come in through a side door).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tuiannot"
HEADLESS = ("errors", "tasks", "sanitize", "sources", "stream", "components", "controller", "storage", "metrics",
            "data", "nlp", "team", "resume", "llm")
"""The core scripts and notebooks use: it imports no Textual, no screen and no command line."""
MAX_LINES = 650
MAX_TOP_LEVEL_MODULES = 8


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of the package ``name`` imports anywhere in its file (at the top or inside functions), but
    not under ``if TYPE_CHECKING:`` (those imports never run)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                 and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                 for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - (node.level - 1)] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            targets = [target] + [f"{target}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in known and target != name:
                found.add(target)
    return found


def test_the_headless_core_imports_no_textual_screens_or_cli() -> None:
    """Each headless package, imported alone in a fresh interpreter, brings in no Textual, no Rich, no screen
    and no command line: scripts and notebooks use it without a terminal."""
    names = [n for n in modules() if n.split(".")[1:2] and n.split(".")[1] in HEADLESS]
    code = ("import importlib, json, sys\n"
            "for name in sys.argv[1:]:\n"
            "    importlib.import_module(name)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')\n"
            "             or m.startswith(('tuiannot.screens', 'tuiannot.cli')))\n"
            "print(json.dumps(bad))\n")
    for package in HEADLESS:
        group = [n for n in names if n.split(".")[1] == package]
        result = subprocess.run([sys.executable, "-c", code, *group], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == [], f"tuiannot.{package} imports {result.stdout.strip()}"


def test_import_tuiannot_is_headless_and_light() -> None:
    """``import tuiannot`` (the Python API: ``recipe``, ``connect``) loads neither Textual nor spaCy."""
    code = ("import json, sys, tuiannot\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'spacy', 'torch'})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_no_import_cycles() -> None:
    """No module reaches itself through imports, counting imports inside functions too."""
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert cycles == []


def test_only_storage_speaks_sql() -> None:
    for name, path in modules().items():
        if name.startswith("tuiannot.storage"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                used = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                used = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not used & {"sqlite3", "sqlite_utils", "psycopg"}, f"{name} imports {used}"


def test_modules_stay_small_and_the_top_level_uncrowded() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
    top = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(top) <= MAX_TOP_LEVEL_MODULES, sorted(top)


def test_every_module_says_what_it_is_for() -> None:
    """The design lives in module docstrings: every module and package has one."""
    missing = [name for name, path in modules().items()
               if path.name != "__main__.py" and not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))]
    assert missing == []


@pytest.mark.parametrize("view_id", ["classification", "choice", "ner_manual", "spans_manual", "review",
                                     "image_classification", "image_choice", "image_manual", "feedback",
                                     "relations", "compare", "rank"])
def test_every_view_a_recipe_can_name_has_its_screen(view_id: str) -> None:
    from tuiannot.components import RECIPE_VIEWS
    from tuiannot.screens.app import SCREENS

    assert set(SCREENS) == set(RECIPE_VIEWS)
    assert SCREENS[view_id].VIEW_ID == view_id
