"""Glicko-2 (tuiannot.metrics.glicko2): Glickman's worked example, rating periods, the probabilities and the
standings of a sequence of duels, checked against the paper and against scipy's normal distribution."""

from __future__ import annotations

import math
import random

import pytest
from scipy.stats import norm

from tuiannot.metrics.glicko2 import (SCALE, Rating, beat_probability, better_probability, duel_information,
                                      expected_score, rate, rate_duel, standings)

PLAYER = Rating(1500, 200, 0.06)
OPPONENTS = [Rating(1400, 30), Rating(1550, 100), Rating(1700, 300)]
RESULTS = [1.0, 0.0, 0.0]


def test_glickmans_example_of_the_glicko2_system() -> None:
    """Glickman (2013), "Example of the Glicko-2 system": 1500/200/0.06 beats 1400/30, loses to 1550/100 and
    1700/300 in one rating period, and becomes 1464.06 / 151.52 / 0.05999."""
    assert [round(expected_score(PLAYER, o), 3) for o in OPPONENTS] == [0.639, 0.432, 0.303]  # the paper's E
    after = rate(PLAYER, zip(OPPONENTS, RESULTS, strict=True))
    assert round(after.mu, 4) == -0.2069  # mu' as the paper rounds it: 173.7178 * -0.2069 + 1500 = 1464.06
    assert after.rating == pytest.approx(1464.06, abs=0.01)  # 1464.0507 unrounded, as other implementations
    assert after.deviation == pytest.approx(151.52, abs=0.005)
    assert round(after.phi, 4) == 0.8722
    assert after.volatility == pytest.approx(0.05999, abs=1e-5) and after.volatility < 0.06  # 0.0599960


def test_a_period_with_no_game_only_widens_the_deviation() -> None:
    after = rate(PLAYER, [])
    assert after.rating == PLAYER.rating and after.volatility == PLAYER.volatility
    assert after.phi == pytest.approx(math.sqrt(PLAYER.phi ** 2 + 0.06 ** 2))
    assert after.deviation > PLAYER.deviation


def test_a_duel_moves_both_ratings_and_a_draw_between_equals_only_narrows_them() -> None:
    winner, loser = rate_duel(Rating(), Rating(), 1.0)
    assert winner.rating > 1500 > loser.rating
    assert winner.rating - 1500 == pytest.approx(1500 - loser.rating)
    assert winner.deviation == pytest.approx(loser.deviation) and winner.deviation < 350
    drawn_a, drawn_b = rate_duel(Rating(1600, 80), Rating(1600, 80), 0.5)
    assert drawn_a.rating == pytest.approx(1600) and drawn_b.rating == pytest.approx(1600)
    assert drawn_a.deviation < 80
    with pytest.raises(ValueError, match="score"):
        rate(PLAYER, [(OPPONENTS[0], 1.5)])


def test_probabilities_are_symmetric_and_better_is_the_normal_model() -> None:
    a, b = Rating(1620, 60), Rating(1540, 90)
    assert better_probability(a, b) == pytest.approx(norm.cdf((1620 - 1540) / math.hypot(60, 90)))
    assert better_probability(a, b) + better_probability(b, a) == pytest.approx(1.0)
    assert beat_probability(a, b) + beat_probability(b, a) == pytest.approx(1.0)
    assert better_probability(a, a) == pytest.approx(0.5) and beat_probability(a, a) == pytest.approx(0.5)
    # a duel is less certain than the ordering of strengths it comes from, and uncertainty pulls it to 1/2
    assert 0.5 < beat_probability(a, b) < better_probability(a, b)
    assert beat_probability(Rating(1620, 300), Rating(1540, 300)) < beat_probability(a, b)
    assert Rating(1600, 50).interval() == (1500, 1700)
    assert Rating(1600, 50).mu == pytest.approx(100 / SCALE)


def test_a_duel_teaches_most_between_close_and_uncertain_candidates() -> None:
    close_unsure = duel_information(Rating(1500, 300), Rating(1520, 300))
    close_sure = duel_information(Rating(1500, 50), Rating(1520, 50))
    far_unsure = duel_information(Rating(1100, 300), Rating(1900, 300))
    assert close_unsure > close_sure > 0
    assert close_unsure > far_unsure > 0


def test_standings_of_one_period_are_glickmans_rating_period() -> None:
    duels = [("p", o, s) for o, s in zip(("o1", "o2", "o3"), RESULTS, strict=True)]
    initial = {"p": PLAYER, "o1": OPPONENTS[0], "o2": OPPONENTS[1], "o3": OPPONENTS[2]}
    batch = standings(duels, period=3, initial=initial)
    assert batch.players["p"].rating == rate(PLAYER, zip(OPPONENTS, RESULTS, strict=True))
    # one duel a period: each result is against the opponents' ratings of that moment: another result
    one_by_one = standings(duels, period=1, initial=initial)
    assert one_by_one.players["p"].rating.rating != pytest.approx(batch.players["p"].rating.rating, abs=1e-9)
    assert batch.players["p"].wins == 1 and batch.players["p"].losses == 2 and batch.players["p"].duels == 3


def test_a_candidate_that_always_wins_leads_and_every_deviation_shrinks() -> None:
    rng = random.Random(7)
    names = ["best", "b", "c", "d"]
    duels = []
    for _ in range(60):
        x, y = rng.sample(names, 2)
        score = 1.0 if x == "best" else 0.0 if y == "best" else rng.choice([0.0, 0.5, 1.0])
        duels.append((x, y, score))
    table = standings(duels, players=["e"])  # e never duels: still listed, a newcomer
    board = table.leaderboard()
    assert board[0].key == "best" and board[0].losses == 0
    assert all(s.rating.deviation < 200 for s in board if s.key != "e")
    assert table.players["e"].rating == Rating() and table.players["e"].duels == 0
    assert table.duels == 60 and sum(s.duels for s in board) == 120
    matrix = table.matrix(names)
    assert sum(map(sum, matrix)) == sum(s.wins for s in board)
    assert [row[0] for row in matrix] == [0, 0, 0, 0]  # nobody beat "best"
    pairs, surest = table.confidence(names)
    assert pairs[0][0] == "best" and pairs[0][2] > 0.9
    assert surest == min(p for _, _, p in pairs)
    assert standings([]).confidence() == ([], None)


def test_only_the_candidates_of_a_period_are_rated_in_it() -> None:
    table = standings([("a", "b", 1.0)], players=["idle"])
    assert table.players["idle"].rating == Rating()  # a prompt does not drift while it waits
    with pytest.raises(ValueError, match="itself"):
        standings([("a", "a", 1.0)])
    with pytest.raises(ValueError, match="at least one duel"):
        standings([], period=0)
