"""A recipe with a key of its own (a custom event): ``e`` looks the marked spans up in a small knowledge base.

    tuiannot -F sample_data/recipes/lookup.py ner-lookup people.jsonl --label PERSON,ORG,LOC

It is the built-in ``ner`` recipe (mark the names with the keyboard) plus ``events``: pressing ``e`` calls
``look_up`` with the task on screen, the spans marked so far in it. Each span's text is looked up in the
knowledge base (a dict here, or ``--kb FILE.json`` of name -> what it is) and what is found goes into the task's
``meta`` under ``kb``: it shows under the text at once, and the answer stores it. The function runs off the
screen's thread, so a slow look-up (a web service, an LLM asked again) freezes nothing, and an error in it is a
notification on screen: the session goes on.
"""

from __future__ import annotations

import json
from typing import Any

from tuiannot import get_recipe, recipe

KNOWLEDGE_BASE = {
    "ada lovelace": "Ada Lovelace (1815-1852), mathematician; wrote the first published program",
    "lovelace": "Ada Lovelace (1815-1852), mathematician; wrote the first published program",
    "charles babbage": "Charles Babbage (1791-1871), designed the Analytical Engine",
    "babbage": "Charles Babbage (1791-1871), designed the Analytical Engine",
    "grace hopper": "Grace Hopper (1906-1992), computer scientist; COBOL",
    "hopper": "Grace Hopper (1906-1992), computer scientist; COBOL",
    "london": "London, capital of the United Kingdom",
    "navy": "the United States Navy",
}
"""Name (lower case) -> what it is: the knowledge base ``--kb`` replaces."""


def make_look_up(kb: dict[str, str]) -> Any:
    """The event's function: the recipe's object (the knowledge base) reaches it by closure."""

    def look_up(task: dict[str, Any]) -> dict[str, Any] | None:
        spans = task.get("spans") or []
        if not spans:
            raise ValueError("no span marked: mark a name first (a number key), then press e")
        found = {}
        for span in spans:
            name = task["text"][span["start"]:span["end"]]
            found[name] = kb.get(name.lower(), "not in the knowledge base")
        return {**task, "meta": {**(task.get("meta") or {}), "kb": "; ".join(f"{k}: {v}" for k, v in found.items())}}

    return look_up


@recipe("ner-lookup", help="Mark names; e looks the marked ones up in a small knowledge base (a custom event).")
def ner_lookup(source: str, label: str = "PERSON,ORG,LOC", dataset: str = "ner_lookup",
               kb: str = "") -> dict[str, Any]:
    knowledge = KNOWLEDGE_BASE
    if kb:
        with open(kb, encoding="utf-8") as f:
            knowledge = {str(k).lower(): str(v) for k, v in json.load(f).items()}
    components = get_recipe("ner")(source, label=label, dataset=dataset)
    components["events"] = {"e": ("Look it up", make_look_up(knowledge))}
    return components
