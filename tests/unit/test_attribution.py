"""Exact Shapley values on synthetic games, and the choice of players (no model run)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from transfer_sim.analysis import attribution as attr
from transfer_sim.errors import InputError
from transfer_sim.inputs.scenarios import load_scenario


def _brute_force(values: np.ndarray) -> np.ndarray:
    """Shapley values as the mean marginal effect over every order of the players."""
    n = int(values.shape[0]).bit_length() - 1
    phi = np.zeros(n)
    for order in itertools.permutations(range(n)):
        mask = 0
        for i in order:
            phi[i] += values[mask | 1 << i] - values[mask]
            mask |= 1 << i
    return phi / math.factorial(n)


def test_known_game_with_an_interaction_and_a_dummy():
    # v = 3 [a] + 2 [b] + 4 [a and b] + 0 [c]: the interaction is split equally.
    def value(s):
        return 3 * ("a" in s) + 2 * ("b" in s) + 4 * ("a" in s and "b" in s)

    phi, alone, values = attr.exact_shapley(["a", "b", "c"], value)
    assert phi.tolist() == [5.0, 4.0, 0.0]
    assert alone.tolist() == [3.0, 2.0, 0.0]
    assert values[0] == 0 and values[-1] == 9
    assert math.fsum(phi) - math.fsum(alone) == 4.0       # the interaction


@pytest.mark.parametrize("n", [1, 2, 4, 7, 10])
def test_efficiency_on_random_games(n):
    rng = np.random.default_rng(n)
    values = rng.normal(scale=1e4, size=(1 << n, 3))       # three games at once
    phi, alone = attr.shapley_values(values)
    assert phi.shape == alone.shape == (n, 3)
    total = values[-1] - values[0]
    assert np.allclose(phi.sum(axis=0), total, rtol=0, atol=1e-9 * np.abs(values).max())
    assert np.array_equal(alone, values[[1 << i for i in range(n)]] - values[0])


def test_matches_the_definition_over_all_orders():
    rng = np.random.default_rng(7)
    values = rng.normal(size=1 << 5)
    phi, _ = attr.shapley_values(values)
    assert np.allclose(phi, _brute_force(values), rtol=0, atol=1e-12)


def test_a_lever_that_does_nothing_gets_exactly_zero():
    rng = np.random.default_rng(3)
    n, dead = 6, 2
    base = rng.normal(size=1 << n)
    # Make player `dead` irrelevant: v(S) = v(S without dead).
    values = np.array([base[m & ~(1 << dead)] for m in range(1 << n)])
    phi, alone = attr.shapley_values(values)
    assert phi[dead] == 0.0
    assert alone[dead] == 0.0
    assert np.isclose(phi.sum(), values[-1] - values[0], rtol=0, atol=1e-12)


def test_symmetric_players_get_equal_shares():
    phi, _, _ = attr.exact_shapley("xyz", lambda s: len(s) ** 3)
    assert np.allclose(phi, 9.0)


def test_refuses_too_many_or_no_players():
    with pytest.raises(InputError, match="at most 10"):
        attr.exact_shapley(range(11), lambda s: 0.0)
    with pytest.raises(InputError, match="no players"):
        attr.exact_shapley([], lambda s: 0.0)
    with pytest.raises(InputError, match="2\\^n"):
        attr.shapley_values(np.zeros(6))
    with pytest.raises(InputError, match="distinct"):
        attr.exact_shapley(["a", "a"], lambda s: 0.0)


def test_players_of_the_package_against_no_policy():
    pkg = load_scenario("policy-as-written").levers
    ref = load_scenario("no-policy").levers
    players, by = attr.lever_players(pkg, ref, by="auto")
    assert by == "section"
    assert len(players) <= attr.MAX_PLAYERS
    members = [lever for p in players for lever in p.levers]
    assert len(members) == len(set(members))
    # Grouped by the document's sections, every differing lever is in exactly one group.
    by_lever, _ = attr.lever_players(pkg, ref, by="lever", max_players=99)
    assert sorted(members) == sorted(lv for p in by_lever for lv in p.levers)
    # Tax relief is one player, whatever levers the option governs.
    tax = [p for p in by_lever if p.name == "tax_relief"]
    assert len(tax) == 1 and set(tax[0].levers) == {"tax_exempt_years", "tax_half_years"}
    assert len(by_lever) > attr.MAX_PLAYERS
    with pytest.raises(InputError, match="at most 10 allowed; group them by"):
        attr.lever_players(pkg, ref, by="lever")


def test_a_schedule_is_one_player_and_later_years_do_not_count():
    ref = load_scenario("no-policy").levers
    pkg = dict(ref, special_fund={2011: 10, 2013: 40, 2018: 90}, power_discount={2019: 0.1})
    players, by = attr.lever_players(pkg, ref, final_year=2015)
    assert by == "lever"
    assert [p.name for p in players] == ["special_fund"]
    players, _ = attr.lever_players(pkg, ref, final_year=2020)
    assert [p.name for p in players] == ["special_fund", "power_discount"]


def test_no_difference_is_an_error():
    ref = load_scenario("no-policy").levers
    with pytest.raises(InputError, match="do not differ"):
        attr.lever_players(ref, dict(ref))
    with pytest.raises(InputError, match="unknown grouping"):
        attr.lever_players(ref, ref, by="sector")  # type: ignore[arg-type]
