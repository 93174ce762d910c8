"""A rated tournament of prompts and models (``tuiannot tournament``), headless: candidates, duels, ratings.

Candidates are every (generation prompt, model) combination (:mod:`.generation`; ``--prompts P1.toml,P2.toml``
times ``--llm-model M1,M2``). A candidate is known by :func:`~.generation.generation_hash` of its prompt, model and
parameters: what decides its outputs. Two that would give the same outputs (the same prompt twice) are refused,
so a candidate never duels itself.

The stream step. :class:`Tournament` is a whole-stream step that keeps the order
(``stream.reorder(tournament, keeps_order=True)``: a restart still seeks past the answered part of the source).
For each input it reads, it draws two candidates at once, from the ratings of that moment (:meth:`~Tournament.
choose`: every pair is possible, with a chance proportional to :func:`~tuiannot.metrics.glicko2.duel_information`,
so close ratings and wide deviations, the duels that teach the most, come most often; random but reproducible
from the input's hash and the seed), and sends both generations to a pool of ``concurrency`` worker threads (the
daemon pool of :mod:`.suggest`). It reads :attr:`~Tournament.ahead` inputs ahead (``concurrency``, at least 2) and
the controller holds :attr:`~Tournament.prefetch` (2) duels for the screen, so a duel is drawn at most a few
answers before it is shown: ahead enough that its outputs are ready, near enough that the ratings it was drawn
from are current. Each reply comes from the database's LLM cache when it is there (a restart or a second
annotator never pays twice, :func:`~.generation.generate`) and is kept there when asked.

A duel task is a compare task (:mod:`tuiannot.data.compare`): the input task as read, plus ``outputs`` (``A`` and
``B``: the two candidates' replies), ``_sides`` (which one the first side shows; from the input's hash and the
seed) and its provenance, never shown::

    "_duel": {"A": {"candidate": "9f2c...", "name": "formal.toml @ qwen", "prompt": "prompts/formal.toml",
                    "model": "qwen", "cache_key": "...", "cached": false, "finish_reason": "stop"},
              "B": {...}, "url": "http://127.0.0.1:8080/v1", "parameters": {...}}

No duel is shown without two usable outputs: a failed request, an empty reply or two identical replies leave the
input out (counted in :attr:`~Tournament.problems`, logged; not answered, so a later run tries it again). A
server that fails :data:`MAX_FAILED_IN_A_ROW` duels in a row ends the stream with one line (everything answered
is saved), rather than passing over the whole source. There is no raw prompt and reply view (``i``): it would
tell which candidate wrote which output.

Ratings. :meth:`~Tournament.rebuild` rates every duel stored in the dataset, in order, at start (so a restart,
or a second annotator, resumes from what is stored); :meth:`~Tournament.update` (the recipe's ``update``, with
``batch_size`` 1) rates each answer as it is given, one duel a rating period
(:mod:`tuiannot.metrics.glicko2`). An answer given again after an undo replaces the duel it gave before, and the
ratings are rated anew from all duels, so they are always those of the stored answers. A tie and "both bad"
are draws; a skip is no duel. :meth:`~Tournament.status` is the progress bar's line (the leader),
:func:`tournament_report` the leaderboard (rating +/- 2 deviations, duels, wins), the win matrix and how sure the
ranking is, from stored answers alone (``tuiannot tournament-stats``).
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from ..data.compare import DuelResult, add_winners, blind_sides, duel_result
from ..errors import UserError
from ..metrics.glicko2 import TAU, Standings, duel_information, standings
from ..tasks import Task, hash_value
from .client import LLMClient, Parameters
from .generation import GenerationPrompt, Generated, generate, generation_hash, load_generation_prompt
from .parse import SERVER_ERROR, UNAVAILABLE
from .suggest import MAX_CONCURRENCY, ReplyCache, _Pool, look_ahead, wait_result

log = logging.getLogger("tuiannot.llm")

MAX_FAILED_IN_A_ROW = 8  # duels in a row the server gave no outputs for, before the stream ends
IDENTICAL = "identical outputs"
NO_TEXT = "no text"


@dataclass(frozen=True)
class Candidate:
    """A prompt with a model: ``key`` the hash of what decides its outputs, ``name`` how people call it."""

    key: str
    name: str
    prompt: GenerationPrompt
    model: str

    def provenance(self) -> dict[str, Any]:
        return {"candidate": self.key, "name": self.name, "prompt": self.prompt.source, "model": self.model}


def make_candidates(prompts: Sequence[GenerationPrompt], models: Sequence[str], parameters: Parameters
                    ) -> list[Candidate]:
    """Every (prompt, model) combination; a UserError for two that would give the same outputs."""
    found: dict[str, Candidate] = {}
    for prompt in prompts:
        for model in models:
            name = f"{prompt.name} @ {model}"
            key = generation_hash(prompt, model, parameters.as_dict())
            if key in found:
                raise UserError(f"{prompt.source}: the same system and template as {found[key].prompt.source}: "
                                f"{name} and {found[key].name} would give the same outputs")
            found[key] = Candidate(key, name, prompt, model)
    return list(found.values())


def _answer_key(answer: Task) -> tuple[str, Any]:
    """Which duel an answer is: the session's, about that input (an answer again after an undo replaces it)."""
    return str(answer.get("_session_id") or answer.get("_annotator_id") or ""), answer.get("_input_hash")


def keyed_duels(answers: Iterable[Task], dataset: str = "") -> tuple[dict[tuple[str, Any], DuelResult | None], int]:
    """The duels of stored ``answers`` in order, one per session and input (None: skipped), and how many answers
    are no duel at all (other kinds of answer in the dataset)."""
    duels: dict[tuple[str, Any], DuelResult | None] = {}
    others = 0
    for answer in answers:
        if isinstance(answer.get("_duel"), dict):
            duels[_answer_key(answer)] = duel_result(answer, dataset)
        else:
            others += 1
    return duels, others


def board_rows(table: Standings, names: Mapping[str, str], keys: Iterable[str] | None = None
               ) -> list[dict[str, Any]]:
    """The leaderboard as JSON-ready rows: name, rating, deviation, rating -/+ 2 deviations, record."""
    rows = []
    for standing in table.leaderboard(keys):
        rating = standing.rating
        low, high = rating.interval(2.0)
        rows.append({"candidate": standing.key, "name": names.get(standing.key, standing.key),
                     "rating": rating.rating, "deviation": rating.deviation, "low": low, "high": high,
                     "volatility": rating.volatility, "duels": standing.duels, "wins": standing.wins,
                     "losses": standing.losses, "draws": standing.draws})
    return rows


def _names(known: Mapping[str, str]) -> dict[str, str]:
    """Names that tell candidates apart: two keys of one name (a prompt edited between runs) get the key's start."""
    count = Counter(known.values())
    return {key: name if count[name] == 1 else f"{name} ({key[:6]})" for key, name in known.items()}


def tournament_report(answers: Iterable[Task], dataset: str = "", tau: float = TAU) -> dict[str, Any]:
    """The standings of the duels stored in ``answers`` (``tuiannot tournament-stats``), JSON-ready: the
    leaderboard rows, the win matrix (``wins[i][j]``: row i beat column j), the draws, how sure the ranking is
    (each adjacent pair's chance that the higher is really better, and the smallest), what was left out."""
    keyed, others = keyed_duels(answers, dataset)
    duels = [d for d in keyed.values() if d is not None]
    left_out = {"skipped": len(keyed) - len(duels), "not a duel": others}
    known: dict[str, str] = {}
    for duel in duels:
        known[duel.a], known[duel.b] = duel.names
    names = _names(known)
    table = standings((d.as_tuple() for d in duels), tau=tau)
    order = [s.key for s in table.leaderboard()]
    pairs, surest = table.confidence()
    by_outcome = Counter(d.outcome for d in duels)
    return {
        "duels": len(duels), "left_out": left_out, "tau": tau,
        "by_outcome": {"decided": by_outcome["A"] + by_outcome["B"], "tie": by_outcome["tie"],
                       "both-bad": by_outcome["both-bad"]},
        "leaderboard": board_rows(table, names),
        "matrix": {"candidates": [names[k] for k in order], "wins": table.matrix(order),
                   "draws": [[table.draws.get(a, {}).get(b, 0) for b in order] for a in order]},
        "confidence": {"pairs": [{"higher": names[a], "lower": names[b], "probability": p} for a, b, p in pairs],
                       "min": surest},
    }


class Tournament:
    """The stream step, the ratings and what the screen says of them; see the module's docstring."""

    def __init__(self, clients: Mapping[str, LLMClient], prompts: Sequence[GenerationPrompt], *,
                 cache: ReplyCache | None = None, seed: str = "", tau: float = TAU, concurrency: int = 4,
                 parameters: Parameters | None = None, dataset: str = "") -> None:
        if not clients:
            raise ValueError("a tournament needs at least one client (with its model checked)")
        for model, client in clients.items():
            if client.model != model:
                raise ValueError(f"the client for {model!r} has the model {client.model!r}: call check() first")
        self.clients = dict(clients)
        self.parameters = parameters or Parameters()
        self.candidates = make_candidates(prompts, list(self.clients), self.parameters)
        if len(self.candidates) < 2:
            raise UserError("a tournament needs at least two candidates: give two prompts or more (--prompts), or "
                            "two models or more (--llm-model)")
        self.cache = cache
        self.seed = seed
        self.tau = tau
        self.dataset = dataset
        self.concurrency = max(1, concurrency)
        self.ahead = max(2, self.concurrency)
        """Inputs read ahead of the duel handed on (their pairs drawn, their outputs asked for)."""
        self.prefetch = 2
        """Duels the controller should hold for the screen (the recipe's ``prefetch``)."""
        self.url = next(iter(self.clients.values())).shown
        self._lock = threading.Lock()
        self._duels: dict[tuple[str, Any], DuelResult | None] = {}  # None: a duel skipped
        self._known = {c.key: c.name for c in self.candidates}
        self._table = standings((), players=self.keys, tau=tau)
        self.problems: Counter[str] = Counter()
        self.handed = 0  # duels handed on
        self.cached = 0  # outputs taken from the cache
        self._failed_in_a_row = 0
        self.finished = False
        self._stopping = threading.Event()

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.candidates]

    # -- ratings ---------------------------------------------------------------------------------------------
    def rebuild(self, answers: Iterable[Task]) -> int:
        """Rate every duel of ``answers`` (the dataset's stored answers, in order); returns how many."""
        duels, _ = keyed_duels(answers, self.dataset)
        with self._lock:
            self._duels = duels
            self._rate_all()
        return sum(d is not None for d in duels.values())

    def update(self, answers: list[Task]) -> None:
        """The recipe's ``update``: each answer's duel rated as its own period. An answer given again (after an
        undo) replaces the one before in its place, and all duels are rated anew: the ratings are always those of
        the answers as stored, in their order (what :meth:`rebuild` gives at the next start)."""
        with self._lock:
            again = False
            for answer in answers:
                if not isinstance(answer.get("_duel"), dict):
                    continue
                key, result = _answer_key(answer), duel_result(answer, self.dataset)
                if key in self._duels:
                    again = True
                self._duels[key] = result
                if result is not None and not again:
                    self._remember(result)
                    self._table.add_period([result.as_tuple()])
            if again:
                self._rate_all()

    def _remember(self, result: DuelResult) -> None:
        for key, name in zip((result.a, result.b), result.names, strict=True):
            self._known.setdefault(key, name)

    def _rate_all(self) -> None:
        rated = [d for d in self._duels.values() if d is not None]
        for result in rated:
            self._remember(result)
        self._table = standings((d.as_tuple() for d in rated), players=self.keys, tau=self.tau)

    @property
    def duels(self) -> int:
        """Duels rated: stored before this run and answered in it."""
        with self._lock:
            return sum(d is not None for d in self._duels.values())

    def leaderboard(self, everyone: bool = False) -> list[dict[str, Any]]:
        """The current candidates' rows (``everyone``: also those of stored duels no longer in the tournament)."""
        with self._lock:
            return board_rows(self._table, _names(self._known), None if everyone else self.keys)

    def leader(self) -> dict[str, Any] | None:
        """The row of the highest rated current candidate that has duelled, or None before any duel."""
        rows = [row for row in self.leaderboard() if row["duels"]]
        return rows[0] if rows else None

    # -- the duels -----------------------------------------------------------------------------------------
    def choose(self, key: int) -> tuple[Candidate, Candidate]:
        """Two candidates for the input ``key``: each pair with a chance proportional to its expected information,
        reproducible from ``key`` and the seed given the ratings; which is A is random too."""
        rng = random.Random(hash_value(["pair", self.seed, key]))
        with self._lock:
            ratings = [self._table.player(c.key).rating for c in self.candidates]
        pairs = [(i, j) for i in range(len(ratings)) for j in range(i + 1, len(ratings))]
        weights = [duel_information(ratings[i], ratings[j]) for i, j in pairs]
        i, j = rng.choices(pairs, weights=weights if sum(weights) > 0 else None)[0]
        if rng.random() < 0.5:
            i, j = j, i
        return self.candidates[i], self.candidates[j]

    def __call__(self, tasks: Iterator[Task]) -> Iterator[Task]:
        pool = _Pool(self.concurrency)

        def start(task: Task) -> tuple[Task, Candidate, Candidate, Future[Generated], Future[Generated]] | None:
            if not isinstance(task.get("text"), str):
                with self._lock:
                    self.problems[NO_TEXT] += 1
                return None
            a, b = self.choose(task["_input_hash"])
            return task, a, b, pool.submit(self._generate, a, task), pool.submit(self._generate, b, task)

        try:
            for task, a, b, first, second in look_ahead(tasks, self.ahead, start):
                out_a, out_b = wait_result(first, self._stopping), wait_result(second, self._stopping)
                if out_a is None or out_b is None:
                    return  # closing: what was not handed on is read again on the next start
                duel = self._duel(task, a, b, out_a, out_b)
                if duel is not None:
                    yield duel
            self.finished = True
        finally:
            pool.close()

    def _generate(self, candidate: Candidate, task: Task) -> Generated:
        return generate(self.clients[candidate.model], candidate.prompt, candidate.key, task, self.parameters,
                        self.cache)

    def _duel(self, task: Task, a: Candidate, b: Candidate, out_a: Generated, out_b: Generated) -> Task | None:
        """The duel task, or None (the problem counted) when the two outputs cannot make one."""
        problems = [g.problem for g in (out_a, out_b) if g.problem is not None]
        with self._lock:
            self.cached += out_a.cached + out_b.cached
            if problems:
                self.problems.update(problems)
                failed = bool({UNAVAILABLE, SERVER_ERROR} & set(problems))
                self._failed_in_a_row = self._failed_in_a_row + 1 if failed else 0
            elif out_a.text == out_b.text:
                self.problems[IDENTICAL] += 1
                self._failed_in_a_row = 0
            else:
                self._failed_in_a_row = 0
                self.handed += 1
            failed_in_a_row = self._failed_in_a_row
        for g, candidate in ((out_a, a), (out_b, b)):
            if g.problem is not None:
                log.info("input %s, %s: %s%s", task.get("_input_hash"), candidate.name, g.problem,
                         f" ({g.note})" if g.note else "")
        if failed_in_a_row >= MAX_FAILED_IN_A_ROW:
            note = next((g.note for g in (out_a, out_b) if g.note), None)
            raise UserError(f"the LLM server at {self.url} gave no outputs for {failed_in_a_row} duels in a row"
                            f"{f' ({note})' if note else ''}: start again when it answers (every answer is saved)")
        if problems or out_a.text == out_b.text:
            return None
        duel = dict(task)
        duel["outputs"] = {"A": {"text": out_a.text}, "B": {"text": out_b.text}}
        duel["_sides"] = blind_sides(task["_input_hash"], self.seed)
        duel["_duel"] = {
            "A": {**a.provenance(), "cache_key": out_a.key, "cached": out_a.cached,
                  "finish_reason": out_a.finish_reason},
            "B": {**b.provenance(), "cache_key": out_b.key, "cached": out_b.cached,
                  "finish_reason": out_b.finish_reason},
            "url": self.url, "parameters": self.parameters.as_dict(),
        }
        return duel

    def stop(self) -> None:
        """Stop waiting for outputs (the session is ending): see :meth:`tuiannot.stream.Stream.stop`."""
        self._stopping.set()

    # -- what the screen and the summary say -------------------------------------------------------------------
    def _problems_line(self) -> str:
        with self._lock:
            counts = dict(self.problems)
        return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))

    def status(self) -> str:
        """The progress bar's item: ``leader formal.toml @ qwen 1624 ± 142 after 34 duels``, and problems."""
        leader, duels = self.leader(), self.duels
        line = (f"leader {leader['name']} {leader['rating']:.0f} ± {2 * leader['deviation']:.0f} after {duels} "
                f"duel{'s' if duels != 1 else ''}" if leader else "no duels yet")
        problems = self._problems_line()
        return f"{line}; left out: {problems}" if problems else line

    def note(self) -> str | None:
        """The summary's sentence: the leader, and what was left out."""
        leader = self.leader()
        if leader is None and not self.problems:
            return None
        end = "The source has no more inputs. " if self.finished else ""
        said = f"Leader: {leader['name']} ({leader['rating']:.0f} ± {2 * leader['deviation']:.0f})" if leader else \
            "No duels yet"
        problems = self._problems_line()
        left = f"; inputs left out: {problems} (a later run tries them again)" if problems else ""
        cached = f"; {self.cached} outputs from the cache" if self.cached else ""
        duels = self.duels
        return (f"{end}{said} after {duels} duel{'s' if duels != 1 else ''}{cached}{left}. "
                "tuiannot tournament-stats shows the leaderboard.")

    def components(self) -> dict[str, Any]:
        """What a recipe returns beside ``dataset``, ``stream`` and ``view_id`` ``compare``."""
        return {"update": self.update, "batch_size": 1, "status": self.status, "finished_note": self.note,
                "prefetch": self.prefetch, "before_db": add_winners, "exclude_by": "input",
                "on_exit": lambda controller: self.close()}

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        if self.cache is not None:
            self.cache.close()


def tournament(url: str, prompts: Sequence[str | Path], *, models: Sequence[str] | None = None,
               key_env: str | None = None, concurrency: int = 4, cache: ReplyCache | None = None, seed: str = "",
               tau: float = TAU, dataset: str = "", timeout: float | None = None) -> Tournament:
    """The step for ``tuiannot tournament``: the prompt files checked, then the server for each model
    (``GET /models``; no model named: the first listed), before any screen. ``timeout``: how long one reply may
    take (``--llm-timeout``; default the client's)."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UserError(f"--llm-concurrency must be from 1 to {MAX_CONCURRENCY}, not {concurrency}")
    loaded = [load_generation_prompt(path) for path in prompts]
    clients: dict[str, LLMClient] = {}
    try:
        for model in dict.fromkeys(models) if models else [None]:
            client = LLMClient(url, model=model, key_env=key_env, connections=concurrency, chat_timeout=timeout)
            try:
                chosen = client.check()
            except BaseException:
                client.close()
                raise
            if chosen in clients:  # two names of one model (an alias): one candidate each prompt
                client.close()
                continue
            clients[chosen] = client
        return Tournament(clients, loaded, cache=cache, seed=seed, tau=tau, concurrency=concurrency,
                          dataset=dataset)
    except BaseException:
        for client in clients.values():
            client.close()
        raise
