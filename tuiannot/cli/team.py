"""The team lead's figures: ``iaa``, ``progress`` and ``aggregate``.

Each computes a report in :mod:`tuiannot.team.reports` (plain data, what ``--json``
prints; ``aggregate --from MODELS``: :mod:`tuiannot.team.final`) and shows it with
:mod:`.show`; a dataset of feedback answers (``tuiannot feedback``) goes to
:mod:`tuiannot.team.feedback` and :mod:`.show_feedback` instead, per question. A
dataset of relation answers (``tuiannot rel``) gets the span figures and, shown by
:mod:`.show_relations`, the relations' (its report has a ``relations`` entry). An
unknown dataset is the storage's own one-line error, naming the database; a blank
``--output`` dataset name is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

from ..recipes.options import DbOpt, JsonOpt
from .program import app

ByGuidelinesOpt = Annotated[bool, typer.Option(
    "--by-guidelines", help="Split the report by the version of the guidelines each answer was given under "
    "(_guidelines; answers without: none), to see whether a change of the guidelines moved agreement.")]


def _feedback_by_guidelines(dataset: str) -> NoReturn:
    from ..errors import UserError

    raise UserError(f"--by-guidelines: {dataset!r} holds feedback answers, whose figures are per question; "
                    "run it without --by-guidelines")


@app.command("iaa")
def iaa(
    dataset: Annotated[Optional[str], typer.Argument(help="The dataset whose annotators are compared.",
                                                     show_default=False)] = None,
    from_csv: Annotated[Optional[Path], typer.Option(
        "--from", help="Compute from a CSV of item,annotator,label rows instead of a dataset.",
        show_default=False)] = None,
    by_guidelines: ByGuidelinesOpt = False,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Inter-annotator agreement: kappas, alpha, AC1 (documents) or strict/lenient F (spans; relations too)."""
    from ..team.reports import agreement_report, read_ratings_csv
    from .show import print_agreement, print_json_or

    if (dataset is None) == (from_csv is None):
        raise typer.BadParameter("name a dataset or pass --from FILE.csv (one of the two)")
    if from_csv is not None and by_guidelines:
        raise typer.BadParameter("a CSV of ratings has no guidelines versions: --by-guidelines goes with a dataset",
                                 param_hint="--by-guidelines")
    if from_csv is not None:
        from ..metrics import document_agreement

        report: dict[str, Any] = {"source": str(from_csv), "kind": "csv",
                                  "documents": document_agreement(read_ratings_csv(from_csv))}
    else:
        from ..storage import connect
        from ..team.feedback import feedback_agreement, is_feedback

        assert dataset is not None  # one of the two, checked above
        with connect(db) as database:
            if by_guidelines and is_feedback(database, dataset):
                _feedback_by_guidelines(dataset)
            if by_guidelines:
                from ..team.by_guidelines import agreement_by_guidelines
                from .show import print_agreement_by_guidelines

                print_json_or(agreement_by_guidelines(database, dataset), as_json, print_agreement_by_guidelines)
                return
            if is_feedback(database, dataset):
                from .show_feedback import print_feedback_agreement

                print_json_or(feedback_agreement(database, dataset), as_json, print_feedback_agreement)
                return
            report = agreement_report(database, dataset)
    if "relations" in report:  # a relation dataset: its spans as any span dataset's, then its relations
        from .show_relations import print_relation_agreement

        print_json_or(report, as_json, print_relation_agreement)
        return
    print_json_or(report, as_json, print_agreement)


@app.command("progress")
def progress(
    dataset: Annotated[str, typer.Argument(help="The dataset.", show_default=False)],
    by_guidelines: ByGuidelinesOpt = False,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Per annotator: answers, share, speed, accuracy on gold, agreement with the others (feedback: per question)."""
    from ..storage import connect
    from ..team.feedback import feedback_progress, is_feedback
    from ..team.reports import progress_report
    from .show import print_json_or, print_progress

    with connect(db) as database:
        if by_guidelines and is_feedback(database, dataset):
            _feedback_by_guidelines(dataset)
        if by_guidelines:
            from ..team.by_guidelines import progress_by_guidelines
            from .show import print_progress_by_guidelines

            print_json_or(progress_by_guidelines(database, dataset), as_json, print_progress_by_guidelines)
            return
        if is_feedback(database, dataset):
            from .show_feedback import print_feedback_progress

            print_json_or(feedback_progress(database, dataset), as_json, print_feedback_progress)
            return
        report = progress_report(database, dataset)
    if "relations" in report:  # a relation dataset: each annotator's relation F beside the span F
        from .show_relations import print_relation_progress

        print_json_or(report, as_json, print_relation_progress)
        return
    print_json_or(report, as_json, print_progress)


@app.command("aggregate")
def aggregate_command(
    dataset: Annotated[str, typer.Argument(
        help="The dataset with several annotators per task; with --from, the people's answers (the dataset "
             "--ask-humans disagree annotated into).", show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help="Dataset that receives the final labels.",
                                        show_default=False)],
    method: Annotated[str, typer.Option("--method", help="majority or dawid-skene (where people differ).")
                      ] = "majority",
    from_models: Annotated[Optional[str], typer.Option(
        "--from", help="The model annotators' dataset (tuiannot model-annotate): an input no person answered gets "
                       "the answer the models agree on.", show_default=False)] = None,
    min_agree: Annotated[Optional[int], typer.Option(
        "--min-agree", help="With --from: the models agree when at least this many of them give one answer, as "
                            "for --ask-humans. Default: all of them.", show_default=False)] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Final labels from several annotators: majority vote (ties reported) or Dawid-Skene. With --from MODELS:
    the people's answers where they gave some, else the answer the model annotators agree on. Feedback answers:
    per question (median rating, majority label and text, spans by majority, Borda count for rankings)."""
    from ..errors import UserError
    from ..sanitize import blank
    from ..storage import connect
    from .show import print_aggregate, print_json_or

    if blank(output):
        raise UserError(f"--output {output!r} is blank: name the dataset that receives the final labels")
    if from_models is None and min_agree is not None:
        raise UserError("--min-agree goes with --from MODELS")
    with connect(db) as database:
        from ..team.feedback import feedback_aggregate, is_feedback

        if is_feedback(database, dataset):
            if from_models is not None:
                raise UserError(f"--from MODELS takes the labels and spans model annotators give; {dataset!r} holds "
                                "feedback answers (tuiannot feedback): aggregate it without --from")
            from .show_feedback import print_feedback_aggregate

            print_json_or(feedback_aggregate(database, dataset, method, output), as_json, print_feedback_aggregate)
            return
        if from_models is not None:
            from ..team.final import aggregate_final

            report = aggregate_final(database, dataset, from_models, output, method, min_agree)
        else:
            from ..team.reports import aggregate

            report = aggregate(database, dataset, method, output)
    print_json_or(report, as_json, print_aggregate)


@app.command("team-init")
def team_init(
    folder: Annotated[Path, typer.Argument(help="The team folder (created if needed).", show_default=False)],
    group: Annotated[str, typer.Option("--group", "-g", help="The Unix group of the annotators.",
                                       show_default=False)],
    name: Annotated[str, typer.Option("--name", help="The database file's name in the folder.")] = "tuiannot.db",
    as_json: JsonOpt = False,
) -> None:
    """Set up a folder where a team of Unix users annotates one database (or repair one's sharing).

    The folder is given to GROUP with mode 2770 (setgid: every file made in it is the group's; others see
    nothing), and its database is created (or repaired, with its -wal and -shm) group-read-write. Run it as
    the folder's owner and a member of GROUP, or as root; then each annotator sets TUIANNOT_DB to the database.
    """
    from ..storage.sharing import share
    from .show import print_json, shown_path

    done = share(folder, group, name)
    report = {"folder": str(done.folder), "group": done.group, "database": str(done.database),
              "created": done.created, "repaired": done.repaired}
    if as_json:
        print_json(report)
        return
    what = "created" if done.created else f"repaired ({', '.join(done.repaired)})" if done.repaired else "kept"
    print(f"Team folder {shown_path(done.folder)}: group {done.group!r}, mode 2770 (setgid). Database "
          f"{shown_path(done.database)}: {what}, mode 660.")
    print(f"Each annotator (a member of {done.group!r}): export TUIANNOT_DB={shown_path(done.database)}")
