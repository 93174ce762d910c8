"""Teams: many annotators on one dataset, each in their own process on one shared database.

- :mod:`.routing`: who gets which task (overlap, the expected annotators, a recipe's own router).
- :mod:`.claims`: one session's claims on tasks, with leases (claimed before shown, renewed while active).
- :mod:`.gold`: gold questions with known answers, mixed in unannounced and scored.
- :mod:`.reports`: what a team lead asks of a dataset (agreement, progress per annotator, aggregated labels).
- :mod:`.consensus`: humans where models disagree: which inputs the model annotators agree on.
- :mod:`.final`: the final dataset from the people's answers and the models' agreed ones.

Nothing here imports Textual; SQL stays in :mod:`tuiannot.storage`, figures in :mod:`tuiannot.metrics`.
"""
