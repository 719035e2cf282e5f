"""The production frontier (docs/papers.md §2.5, §2.7): WiNGPT-3.5 (76.2 at $0.34) dominates WiNGPT-3.0 (69.6
at $3.47); Pareto laws under hypothesis; the cost-effectiveness zone. Points named 'synthetic-*' are made up
for the tests, not paper data."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infereco.economics.production_frontier import (
    FrontierEntry,
    cost_effectiveness_zone,
    dominates,
    production_frontier,
    zhuang2025_wingpt_entries,
)
from infereco.errors import SpecError
from infereco.plot.economics import plot_production_frontier


def synthetic(name: str, quality: float, cost: float) -> FrontierEntry:
    return FrontierEntry(name=f"synthetic-{name}", quality_score=quality, cost_usd=cost, notes="test only")


def test_wingpt_points():
    f = production_frontier(zhuang2025_wingpt_entries())
    assert [e.name for e in f.frontier] == ["WiNGPT-3.5"]
    assert f.frontier[0].quality_score == 76.2 and f.frontier[0].cost_usd == 0.34
    (d,) = f.dominated
    assert d.entry.name == "WiNGPT-3.0" and d.entry.quality_score == 69.6 and d.entry.cost_usd == 3.47
    assert d.dominated_by == "WiNGPT-3.5"
    assert "dominated by WiNGPT-3.5" in str(f)


def test_frontier_sorted_and_dominator_is_cheapest():
    entries = zhuang2025_wingpt_entries() + [
        synthetic("a", 50, 0.1),
        synthetic("b", 60, 0.2),
        synthetic("c", 55, 0.5),  # dominated by b (60 at $0.2, the cheapest dominator) and by WiNGPT-3.5
        synthetic("d", 90, 10.0),
    ]
    f = production_frontier(entries)
    assert [e.name for e in f.frontier] == ["synthetic-a", "synthetic-b", "WiNGPT-3.5", "synthetic-d"]
    assert list(f.costs_usd) == sorted(f.costs_usd)
    assert list(f.quality_scores) == sorted(f.quality_scores)
    by = {d.entry.name: d.dominated_by for d in f.dominated}
    assert by == {"synthetic-c": "synthetic-b", "WiNGPT-3.0": "WiNGPT-3.5"}
    recs = f.to_records()
    assert sum(r["on_frontier"] for r in recs) == 4 and len(recs) == 6


def test_equal_points_share_the_frontier_and_ties_dominate():
    f = production_frontier(
        [synthetic("x", 70, 1.0), synthetic("y", 70, 1.0), synthetic("z", 70, 2.0), synthetic("w", 60, 1.0)]
    )
    assert {e.name for e in f.frontier} == {"synthetic-x", "synthetic-y"}
    assert {d.entry.name for d in f.dominated} == {"synthetic-z", "synthetic-w"}


@pytest.mark.parametrize(
    "entry, field",
    [
        ({"name": "m", "quality_score": 1, "cost_usd": -1}, "cost_usd"),
        ({"name": "m", "quality_score": 1, "cost_usd": 0}, "cost_usd"),
        ({"name": "m", "quality_score": float("nan"), "cost_usd": 1}, "quality_score"),
        ({"name": "", "quality_score": 1, "cost_usd": 1}, "name"),
        ({"name": "m", "quality_score": 1}, "cost_usd"),
        ({"name": "m", "quality_score": 1, "cost": 1}, "cost"),
    ],
)
def test_bad_entries_name_the_field(entry, field):
    with pytest.raises(SpecError, match=field):
        production_frontier([entry])


def test_duplicate_names_and_empty_input():
    with pytest.raises(SpecError, match="more than once"):
        production_frontier([synthetic("a", 1, 1), synthetic("a", 2, 2)])
    with pytest.raises(SpecError, match="empty"):
        production_frontier([])


_entries = st.lists(
    st.tuples(st.integers(min_value=0, max_value=20), st.integers(min_value=1, max_value=20)),
    min_size=1,
    max_size=25,
).map(
    lambda pts: [
        FrontierEntry(name=f"synthetic-{i}", quality_score=q, cost_usd=c / 4) for i, (q, c) in enumerate(pts)
    ]
)


@settings(max_examples=150, deadline=None)
@given(entries=_entries)
def test_frontier_laws(entries):
    f = production_frontier(entries)
    front = list(f.frontier)
    # Every entry is on the frontier or dominated, never both.
    assert len(front) + len(f.dominated) == len(entries)
    # Nothing dominates a frontier entry.
    for p in front:
        assert not any(dominates(q, p) for q in entries)
    # Each dominated entry is dominated by the frontier entry it names.
    names = {e.name: e for e in front}
    for d in f.dominated:
        assert dominates(names[d.dominated_by], d.entry)
    # Sorted by cost, quality never falls along it.
    costs = [e.cost_usd for e in front]
    assert costs == sorted(costs)
    assert all(a.quality_score <= b.quality_score for a, b in itertools.pairwise(front))


def zone_entries() -> list[FrontierEntry]:
    # Frontier slopes: a→b 100 points/$, b→c 10/$, c→d 1/$.
    return [
        synthetic("a", 50, 0.1),
        synthetic("b", 60, 0.2),
        synthetic("c", 70, 1.2),
        synthetic("d", 80, 11.2),
    ]


def test_zone_definition():
    z = cost_effectiveness_zone(zone_entries(), min_quality_per_usd=5)
    assert z.names == ["synthetic-a", "synthetic-b", "synthetic-c"]
    assert z.best.name == "synthetic-c" and z.stopped_before == "synthetic-d"
    assert z.marginal_quality_per_usd == pytest.approx((100, 10, 1))
    assert z.cost_range_usd == (0.1, 1.2)
    # The threshold itself is inside ("at or above").
    assert cost_effectiveness_zone(zone_entries(), 10).best.name == "synthetic-c"
    assert cost_effectiveness_zone(zone_entries(), 10.0001).best.name == "synthetic-b"
    assert cost_effectiveness_zone(zone_entries(), 0).stopped_before is None
    assert cost_effectiveness_zone(zone_entries(), 1000).names == ["synthetic-a"]
    assert "synthetic-d" in str(z)


def test_zone_on_the_wingpt_points():
    z = cost_effectiveness_zone(production_frontier(zhuang2025_wingpt_entries()), 1.0)
    assert z.names == ["WiNGPT-3.5"] and z.stopped_before is None


def test_zone_upper_hull_sees_past_a_flat_step():
    # a→b buys little (5 points/$), b→c a lot (300/$); on the hull a→c is one step of 152.5 points/$.
    entries = [synthetic("a", 50, 0.1), synthetic("b", 50.5, 0.2), synthetic("c", 80.5, 0.3)]
    assert cost_effectiveness_zone(entries, 20).best.name == "synthetic-a"
    hull = cost_effectiveness_zone(entries, 20, use_upper_hull=True)
    assert hull.best.name == "synthetic-c" and hull.names == ["synthetic-a", "synthetic-b", "synthetic-c"]
    assert hull.marginal_quality_per_usd == pytest.approx((30.5 / 0.2,))


@settings(max_examples=100, deadline=None)
@given(entries=_entries, threshold=st.floats(min_value=0, max_value=200))
def test_zone_laws(entries, threshold):
    f = production_frontier(entries)
    for hull in (False, True):
        z = cost_effectiveness_zone(f, threshold, use_upper_hull=hull)
        assert z.entries[0] == f.frontier[0]
        assert z.best in z.entries
        if not hull:
            # Every step up to `best` buys ≥ threshold points per $; the next step (if any) buys less.
            k = list(f.frontier).index(z.best)
            slopes = z.marginal_quality_per_usd
            assert all(s >= threshold for s in slopes[:k])
            assert k == len(slopes) or slopes[k] < threshold
        # A higher threshold never widens the zone.
        tighter = cost_effectiveness_zone(f, threshold * 2 + 1, use_upper_hull=hull)
        assert tighter.best.cost_usd <= z.best.cost_usd


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "lots"])
def test_zone_bad_threshold(bad):
    with pytest.raises(SpecError, match="min_quality_per_usd"):
        cost_effectiveness_zone(zone_entries(), bad)


def test_plot_production_frontier():
    entries = zone_entries() + zhuang2025_wingpt_entries()
    f = production_frontier(entries)
    ax = plot_production_frontier(f, zone=cost_effectiveness_zone(f, 5))
    assert ax.get_xscale() == "log"
    assert "USD" in ax.get_xlabel() and "Quality" in ax.get_ylabel()
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert lines["dominated"].get_markerfacecolor() == "white"  # hollow
    assert lines["production frontier"].get_markerfacecolor() == "black"
    assert any("WiNGPT-3.0" == t.get_text() for t in ax.texts)
    import matplotlib.pyplot as plt

    plt.close("all")
