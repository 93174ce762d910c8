"""Textual screens, one per view. Only this package (and the CLI, lazily) imports Textual."""
