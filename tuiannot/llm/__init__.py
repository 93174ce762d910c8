"""Suggestions from a language model behind an OpenAI-compatible HTTP API (``--llm URL``).

llama.cpp's ``llama-server``, vLLM, Ollama and LM Studio all serve ``GET {URL}/models`` and
``POST {URL}/chat/completions``; tuiannot speaks that contract and nothing else, so a model on the same machine
(or the same air-gapped network) pre-annotates tasks and nothing leaves the machine unless the URL points
elsewhere. Headless (no Textual), in seven parts:

- :mod:`.client`: the HTTP client (httpx): the check at start, the chat request, retries and back-off;
- :mod:`.prompts`: the prompt file (TOML) or the default prompt per task, the JSON schema of the reply, and the
  stable hash that names a (prompt, model, schema, parameters) combination;
- :mod:`.parse`: a reply's text to a suggestion (labels, or spans snapped to the task's tokens), with its
  problems counted by kind, never an exception;
- :mod:`.suggest`: the stream step that asks ahead of the annotator, a few requests in flight, and hands the
  tasks on in source order with the suggestion and its provenance (``_llm``) on them;
- :mod:`.annotators`: a model (an LLM, or a spaCy pipeline) answering every task as an annotator of its own
  (``tuiannot model-annotate``);
- :mod:`.generation`: free-text replies (a generation prompt: system and template), cached like suggestions;
- :mod:`.tournament`: a rated tournament of (prompt, model) candidates: the duels drawn ahead of the annotator,
  Glicko-2 ratings from the stored duels (``tuiannot tournament``).

:func:`llm_suggester` builds the step a recipe adds with ``stream.reorder(step, keeps_order=True)``.
"""

from __future__ import annotations

from .client import LLMClient
from .parse import PROBLEM_KINDS
from .prompts import Prompt, load_prompt
from .suggest import LLMSuggester, llm_suggester

__all__ = ["LLMClient", "LLMSuggester", "PROBLEM_KINDS", "Prompt", "llm_suggester", "load_prompt"]
