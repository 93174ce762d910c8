"""Typer's parsing without pydantic for the plain values a start gives (issue 15).

Typer 0.29 coerces every parameter's value through a pydantic ``TypeAdapter`` made for it when the parameter is
processed, given or not (``typer.core._TyperParameter.process_value`` -> ``get_runtime_param()``): importing
pydantic (~40 ms) and building ~35 adapters for ``textcat`` (~15 ms) were a third of what tuiannot added to a
bare Textual app's start. :func:`install` gives each parameter of the command that runs a coercion that does what
the adapter would do for the values a start gives (absent ones; a ``str``; a list of strings; a ``bool``; an
``int`` or ``float`` written as plain digits, within the option's range), and hands anything else to Typer's own
coercion, built then: a bad value, a choice, a path, a value out of range (clamped or refused), a custom type.
So every error message is Typer's and pydantic's own, as before; only the values that cannot fail skip them. A
Typer without ``get_runtime_param`` (before 0.29: no pydantic) is left as it is.
"""

from __future__ import annotations

import re
from typing import Any

_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_NOT_QUICK = object()


def install(command: Any) -> int:
    """Give every Typer parameter of ``command`` (and of its sub-commands) the quick coercion; how many."""
    count = sum(map(_quicken, getattr(command, "params", [])))
    made = getattr(command, "get_help_option", None)
    if made is not None:  # -h/--help: made when first asked for

        def get_help_option(ctx: Any) -> Any:
            option = made(ctx)
            _quicken(option)
            return option

        command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        count += install(sub)
    return count


def _quicken(param: Any) -> bool:
    if getattr(param, "_runtime_param", False) is None and hasattr(param, "type_descriptor"):
        param._runtime_param = QuickCoercion()
        return True
    return False


class QuickCoercion:
    """In place of Typer's ``RuntimeParam`` (its ``coerce``): plain values here, the rest by Typer's own."""

    def __init__(self) -> None:
        self.real: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multiple = param.multiple or param.nargs == -1
        if value is None:  # as RuntimeParam.coerce
            return () if multiple else None
        quick = quick_list(param.type_descriptor, value) if multiple else quick_value(param.type_descriptor, value)
        if quick is not _NOT_QUICK:
            return quick
        if self.real is None:
            from typer._coercion import build_runtime_param

            self.real = build_runtime_param(param.type_descriptor)
        return self.real.coerce(value, param=param, ctx=ctx)


def quick_list(descriptor: Any, value: Any) -> Any:
    """A list of strings (``-F FILE``, given or not) as Typer's adapter returns it: a new list."""
    from typing import get_args, get_origin

    info = descriptor.parameter_info
    if (get_origin(descriptor.annotation) is not list or get_args(descriptor.annotation) != (str,)
            or getattr(info, "parser", None) is not None or getattr(info, "click_type", None) is not None
            or getattr(descriptor, "file_annotation", None) is not None):
        return _NOT_QUICK
    if not isinstance(value, (list, tuple)) or any(type(item) is not str for item in value):
        return _NOT_QUICK
    return list(value)


def quick_value(descriptor: Any, value: Any) -> Any:
    """What Typer's adapter returns for ``value``, when that is certain without it; else ``_NOT_QUICK``."""
    info = descriptor.parameter_info
    if (getattr(info, "parser", None) is not None or getattr(info, "click_type", None) is not None
            or getattr(descriptor, "file_annotation", None) is not None):
        return _NOT_QUICK
    annotation = descriptor.annotation
    if annotation is bool:
        return value if type(value) is bool else _NOT_QUICK
    if annotation is str:
        return value if type(value) is str else _NOT_QUICK
    if annotation is int:
        number: Any = value if type(value) is int else int(value) if type(value) is str and _INT.fullmatch(
            value) else None
    elif annotation is float:
        number = value if type(value) is float else float(value) if type(value) is str and _FLOAT.fullmatch(
            value) else None
    else:
        return _NOT_QUICK
    if number is None:
        return _NOT_QUICK
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if (low is not None and number < low) or (high is not None and number > high):
        return _NOT_QUICK  # the range's error, or its clamp: Typer's own
    return number
