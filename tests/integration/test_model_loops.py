"""The generated loop table lists the loops that model/README.md's text relies on.

One Simlin loop analysis per session (the ``loop_rows`` fixture; the analysis itself is
cached per process by :func:`transfer_sim.model.loops.analyze`).
"""

from __future__ import annotations

import pytest

from transfer_sim.model import loops

REINFORCING = ("R", "Rux")
BALANCING = ("B", "Bux")


@pytest.fixture(scope="session")
def loop_rows() -> list[loops.LoopRow]:
    return loops.loop_table()


def _rows(rows: list[loops.LoopRow], *names: str, variant: str = "bundled",
          exactly: bool = False) -> list[loops.LoopRow]:
    bases = [{v.split("[")[0] for v in r.path} for r in rows if r.variant == variant]
    return [r for r, b in zip((r for r in rows if r.variant == variant), bases, strict=True)
            if (b == set(names) if exactly else set(names) <= b)]


def _polarity(row: loops.LoopRow) -> str:
    return row.polarity.split("/")[0]


def test_relocation_pool_depletion_is_balancing(loop_rows):
    for outflow in ("relocation_elsewhere", "relocation_to_region"):
        found = _rows(loop_rows, "relocation_pool", outflow, exactly=True)
        assert found, f"no loop relocation pool -> {outflow} -> pool"
        assert all(_polarity(r) in BALANCING for r in found)


def test_zone_upgrade_loop_is_reinforcing(loop_rows):
    found = _rows(loop_rows, "upgrading_to_region", "zones", "park_space_effect",
                  "relocation_to_region", "park_revenue")
    assert any(_polarity(r) in REINFORCING for r in found), "no reinforcing zone-upgrade loop"
    tiers = {v for r in found if _polarity(r) in REINFORCING for v in r.path
             if v.startswith("zones[")}
    assert "zones[region]" in tiers  # reinforcing where the tier gains zones


def test_fiscal_feedback_through_the_fund_share_is_reinforcing(loop_rows):
    found = _rows(loop_rows, "revenue", "tax_raised", "budget_revenue",
                  "special_fund_appropriation", variant="fund share mode")
    assert any(_polarity(r) in REINFORCING for r in found)
    assert not _rows(loop_rows, "special_fund_appropriation"), \
        "in the bundled fixed-amount mode the fund does not depend on revenue"


def test_utilisation_adjustment_is_balancing_and_dominates(loop_rows):
    found = _rows(loop_rows, "capacity_utilisation", "utilisation_change", exactly=True)
    assert found and all(_polarity(r) in BALANCING for r in found)
    assert found[0].years, "the README says it dominates in most years"


def test_every_year_has_a_dominant_revenue_loop(loop_rows):
    years = sorted(y for r in loop_rows if r.variant == "bundled" for y in r.years)
    assert years == list(range(2005, 2016))


def test_collapse_keeps_the_first_rank_only():
    text = "Rank: r1, r2, r3\n\t~\t|\nrank number[Rank] = 1, 2, 3\n\t~\t|\n"
    out = loops.collapse_dimension(text)
    assert "Rank: r1\n" in out and "rank number[Rank] = 1\n" in out


def test_set_constants_and_generic_path():
    text = "special fund mode = 0\n\t~\t|\n"
    assert "special fund mode = 1\n" in loops.set_constants(text, {"special fund mode": "1"})
    names = frozenset({"margin", "zones", "zone_weight"})
    path = loops.generic_path(["margin[textiles]", "$⁚x⁚0", "zones[region]",
                               "zone_weight[region]", "zone_net_flow"], names,
                              frozenset({"textiles"}))
    assert path == ("margin", "zones[region]", "zone_weight[region]")


def test_uncovered_stocks_are_stocks_of_the_revenue_partition():
    analysis = loops.analyze()
    assert set(analysis.uncovered) == set(loops.VARIANTS)
    for stocks in analysis.uncovered.values():
        assert "incumbent_assets" not in stocks and "capacity_utilisation" not in stocks
