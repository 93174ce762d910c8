"""tuiannot: terminal-native, keyboard-driven data annotation.

The core (tasks, sources, streams, the controller, storage and metrics) imports
no Textual: ``import tuiannot`` works in scripts and notebooks without a terminal.
"""

from __future__ import annotations

from .recipes import get_recipe, recipe
from .storage import connect

__version__ = "0.1.0"
__all__ = ["__version__", "connect", "get_recipe", "recipe"]
