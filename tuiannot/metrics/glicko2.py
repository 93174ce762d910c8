"""Glicko-2 ratings: who is better, by how much, and how sure we are, from duels (pure functions).

A tournament of prompts and models (``tuiannot tournament``) is a series of duels: two candidates' outputs for
one input, and a person saying which is better. Glickman's Glicko-2 system turns them into a rating per candidate
with a deviation (how unsure the rating is) and a volatility (how erratic the candidate's results are), following
"Example of the Glicko-2 system" (Glickman, 2013) step by step:

1. the rating ``r`` and deviation ``RD`` go to the Glicko-2 scale, ``mu = (r - 1500) / 173.7178`` and
   ``phi = RD / 173.7178``;
2. against opponents ``j`` with scores ``s_j`` (1 a win, 0 a loss, 0.5 a draw), with
   ``g(phi) = 1 / sqrt(1 + 3 phi^2 / pi^2)`` and ``E = 1 / (1 + exp(-g(phi_j) (mu - mu_j)))``, the estimated
   variance ``v = 1 / sum g(phi_j)^2 E (1 - E)`` and improvement ``delta = v sum g(phi_j) (s_j - E)``;
3. the new volatility ``sigma'`` is the root of Glickman's ``f(x)``, found with the Illinois algorithm to within
   ``1e-6``; the system constant ``tau`` (default 0.5) bounds how fast volatility moves;
4. ``phi* = sqrt(phi^2 + sigma'^2)``, ``phi' = 1 / sqrt(1 / phi*^2 + 1 / v)``, ``mu' = mu + phi'^2 sum g(phi_j)
   (s_j - E)``, and back to the Glicko scale.

The worked example (a 1500/200/0.06 player beating a 1400/30 player and losing to 1550/100 and 1700/300 in one
rating period) gives 1464.06 / 151.52 / 0.05999 here as in the paper (tests/test_glicko2.py).

Rating periods. :func:`rate` rates one player over one period, Glickman's way: every result of the period is
against the opponents' ratings at its start, and a player with no result only has its deviation grow (``phi* =
sqrt(phi^2 + sigma^2)``: time passing makes a rating less sure). :func:`standings` rates a whole sequence of duels
in periods of ``period`` duels (1: every duel is its own period, so the ratings move after each answer; more:
a batch). Unlike players, candidates are fixed prompts and models whose strength does not drift while they wait
for a duel, so in :func:`standings` only the candidates that played in a period are rated in it; the others are
left as they were (no growth of the deviation for waiting; GlickBest, Prodigy's tournament of prompts, leaves
deviations alone between matches for the same reason).

How sure the ranking is. :func:`better_probability` is the chance that one candidate's true strength is above
another's, taking both ratings as normal with their deviations, ``Phi((r_a - r_b) / sqrt(RD_a^2 + RD_b^2))``;
:meth:`Standings.confidence` gives it for each adjacent pair on the leaderboard, and the smallest of them is how
sure the whole order is. :func:`beat_probability` is the chance of winning one duel (Glickman's predicted outcome
with both deviations); :func:`duel_information` how much a duel between two candidates is expected to shrink
their deviations (what the tournament's choice of duels maximises).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

SCALE = 173.7178  # Glicko to Glicko-2: 400 / ln(10)
RATING = 1500.0
DEVIATION = 350.0
VOLATILITY = 0.06
TAU = 0.5  # Glickman's system constant: reasonable choices are from 0.3 to 1.2
EPSILON = 1e-6  # the convergence tolerance of the volatility's root


@dataclass(frozen=True, slots=True)
class Rating:
    """A rating on the Glicko scale (1500 a newcomer's), its deviation and its volatility."""

    rating: float = RATING
    deviation: float = DEVIATION
    volatility: float = VOLATILITY

    @property
    def mu(self) -> float:
        return (self.rating - RATING) / SCALE

    @property
    def phi(self) -> float:
        return self.deviation / SCALE

    @classmethod
    def from_glicko2(cls, mu: float, phi: float, volatility: float) -> "Rating":
        return cls(mu * SCALE + RATING, phi * SCALE, volatility)

    def interval(self, deviations: float = 2.0) -> tuple[float, float]:
        """``rating -/+ deviations * deviation`` (two deviations: about 95% sure the true strength is inside)."""
        return self.rating - deviations * self.deviation, self.rating + deviations * self.deviation


def _g(phi: float) -> float:
    return 1.0 / math.sqrt(1.0 + 3.0 * phi * phi / (math.pi * math.pi))


def _e(mu: float, mu_j: float, phi_j: float) -> float:
    return 1.0 / (1.0 + math.exp(-_g(phi_j) * (mu - mu_j)))


def _volatility(sigma: float, phi: float, v: float, delta: float, tau: float) -> float:
    """Step 5: the new volatility, the root of Glickman's f(x) by the Illinois algorithm."""
    a = math.log(sigma * sigma)

    def f(x: float) -> float:
        ex = math.exp(x)
        return ex * (delta * delta - phi * phi - v - ex) / (2.0 * (phi * phi + v + ex) ** 2) - (x - a) / (tau * tau)

    big_a = a
    if delta * delta > phi * phi + v:
        big_b = math.log(delta * delta - phi * phi - v)
    else:
        k = 1
        while f(a - k * tau) < 0:
            k += 1
        big_b = a - k * tau
    f_a, f_b = f(big_a), f(big_b)
    while abs(big_b - big_a) > EPSILON:
        big_c = big_a + (big_a - big_b) * f_a / (f_b - f_a)
        f_c = f(big_c)
        if f_c * f_b <= 0:
            big_a, f_a = big_b, f_b
        else:
            f_a /= 2.0
        big_b, f_b = big_c, f_c
    return math.exp(big_a / 2.0)


def rate(player: Rating, results: Iterable[tuple[Rating, float]], tau: float = TAU) -> Rating:
    """``player`` after one rating period with ``results``: (opponent's rating at the period's start, score)."""
    results = list(results)
    mu, phi, sigma = player.mu, player.phi, player.volatility
    if not results:  # no games: only the deviation grows
        return Rating.from_glicko2(mu, math.sqrt(phi * phi + sigma * sigma), sigma)
    variance_inverse = 0.0
    improvement = 0.0
    for opponent, score in results:
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"a score is from 0 (a loss) to 1 (a win), not {score!r}")
        g = _g(opponent.phi)
        expected = _e(mu, opponent.mu, opponent.phi)
        variance_inverse += g * g * expected * (1.0 - expected)
        improvement += g * (score - expected)
    v = 1.0 / variance_inverse
    new_sigma = _volatility(sigma, phi, v, v * improvement, tau)
    phi_star = math.sqrt(phi * phi + new_sigma * new_sigma)
    new_phi = 1.0 / math.sqrt(1.0 / (phi_star * phi_star) + 1.0 / v)
    return Rating.from_glicko2(mu + new_phi * new_phi * improvement, new_phi, new_sigma)


def rate_duel(a: Rating, b: Rating, score_a: float, tau: float = TAU) -> tuple[Rating, Rating]:
    """Both candidates after one duel as its own rating period (``score_a``: 1 A won, 0 B won, 0.5 a draw)."""
    return rate(a, [(b, score_a)], tau), rate(b, [(a, 1.0 - score_a)], tau)


def expected_score(a: Rating, b: Rating) -> float:
    """A's expected score against B as the Glicko-2 update reckons it (B's deviation counted, A's not)."""
    return _e(a.mu, b.mu, b.phi)


def beat_probability(a: Rating, b: Rating) -> float:
    """The chance that A wins a duel against B, both deviations counted (Glickman's predicted outcome)."""
    return 1.0 / (1.0 + math.exp(-_g(math.hypot(a.phi, b.phi)) * (a.mu - b.mu)))


def better_probability(a: Rating, b: Rating) -> float:
    """The chance that A's true strength is above B's: ``Phi((r_a - r_b) / sqrt(RD_a^2 + RD_b^2))``."""
    spread = math.hypot(a.deviation, b.deviation)
    if spread == 0:
        return 0.5 if a.rating == b.rating else float(a.rating > b.rating)
    return 0.5 * math.erfc(-(a.rating - b.rating) / (spread * math.sqrt(2.0)))


def duel_information(a: Rating, b: Rating) -> float:
    """How much a duel of A and B is expected to shrink ``phi_a^2 + phi_b^2`` (on the Glicko-2 scale): close
    ratings (an uncertain outcome) and wide deviations (much to learn) make an informative duel."""
    total = 0.0
    for player, opponent in ((a, b), (b, a)):
        g = _g(opponent.phi)
        expected = _e(player.mu, opponent.mu, opponent.phi)
        phi2 = player.phi * player.phi
        total += phi2 - 1.0 / (1.0 / phi2 + g * g * expected * (1.0 - expected))
    return total


# -- a sequence of duels ---------------------------------------------------------------------------------------
@dataclass
class Standing:
    """One candidate on the leaderboard."""

    key: str
    rating: Rating
    duels: int = 0
    wins: int = 0
    losses: int = 0
    draws: int = 0


@dataclass
class Standings:
    """The ratings after a sequence of duels, the record of each candidate and who beat whom how often."""

    players: dict[str, Standing] = field(default_factory=dict)
    wins: dict[str, dict[str, int]] = field(default_factory=dict)
    """``wins[a][b]``: how often ``a`` beat ``b``."""
    draws: dict[str, dict[str, int]] = field(default_factory=dict)
    duels: int = 0
    tau: float = TAU

    def player(self, key: str) -> Standing:
        if key not in self.players:
            self.players[key] = Standing(key, Rating())
        return self.players[key]

    def leaderboard(self, keys: Iterable[str] | None = None) -> list[Standing]:
        """The candidates (all, or those of ``keys``) from the highest rating down; ties by fewer deviation."""
        chosen = [self.player(k) for k in keys] if keys is not None else list(self.players.values())
        return sorted(chosen, key=lambda s: (-s.rating.rating, s.rating.deviation, s.key))

    def confidence(self, keys: Iterable[str] | None = None) -> tuple[list[tuple[str, str, float]], float | None]:
        """For each adjacent pair on the leaderboard, (higher, lower, chance the higher is really better), and the
        smallest of those chances (how sure the whole order is; None with fewer than two candidates)."""
        board = self.leaderboard(keys)
        pairs = [(hi.key, lo.key, better_probability(hi.rating, lo.rating))
                 for hi, lo in zip(board, board[1:], strict=False)]
        return pairs, min((p for _, _, p in pairs), default=None)

    def matrix(self, keys: Sequence[str] | None = None) -> list[list[int]]:
        """``rows[i][j]``: how often the i-th candidate (leaderboard order, or ``keys``) beat the j-th."""
        order = list(keys) if keys is not None else [s.key for s in self.leaderboard()]
        return [[self.wins.get(a, {}).get(b, 0) for b in order] for a in order]

    def add_period(self, duels: Sequence[tuple[str, str, float]]) -> None:
        """Rate one period of duels: every candidate that played, against its opponents' ratings at the start."""
        results: dict[str, list[tuple[Rating, float]]] = {}
        for a, b, score in duels:
            if a == b:
                raise ValueError(f"a candidate cannot duel itself ({a!r})")
            before_a, before_b = self.player(a).rating, self.player(b).rating
            results.setdefault(a, []).append((before_b, score))
            results.setdefault(b, []).append((before_a, 1.0 - score))
            self._count(a, b, score)
        for key, played in results.items():
            standing = self.players[key]
            standing.rating = rate(standing.rating, played, self.tau)

    def _count(self, a: str, b: str, score: float) -> None:
        self.duels += 1
        for key, opponent, mine in ((a, b, score), (b, a, 1.0 - score)):
            standing = self.player(key)
            standing.duels += 1
            if mine == 1.0:
                standing.wins += 1
                row = self.wins.setdefault(key, {})
                row[opponent] = row.get(opponent, 0) + 1
            elif mine == 0.0:
                standing.losses += 1
            else:
                standing.draws += 1
                row = self.draws.setdefault(key, {})
                row[opponent] = row.get(opponent, 0) + 1


def standings(duels: Iterable[tuple[str, str, float]], *, players: Iterable[str] = (), period: int = 1,
              tau: float = TAU, initial: Mapping[str, Rating] | None = None) -> Standings:
    """The standings after ``duels`` (``(a, b, score_a)``, in order), rated in periods of ``period`` duels;
    ``players`` are listed even with no duel; everyone starts as a newcomer (1500 / 350 / 0.06) unless
    ``initial`` gives their rating."""
    if period < 1:
        raise ValueError("a rating period has at least one duel")
    result = Standings(tau=tau)
    for key, rating in (initial or {}).items():
        result.player(key).rating = rating
    for key in players:
        result.player(key)
    batch: list[tuple[str, str, float]] = []
    for duel in duels:
        batch.append(duel)
        if len(batch) >= period:
            result.add_period(batch)
            batch = []
    if batch:
        result.add_period(batch)
    return result
