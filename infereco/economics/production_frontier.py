"""The production frontier (Zhuang et al. 2025): models as quality score against cost, and its Pareto set.

An entry dominates another when it costs no more and scores no less, and is strictly better in one of the
two. The frontier is the set of entries nothing dominates, sorted by cost (so quality rises along it).

>>> f = production_frontier(zhuang2025_wingpt_entries())
>>> [e.name for e in f.frontier], [(d.entry.name, d.dominated_by) for d in f.dominated]
(['WiNGPT-3.5'], [('WiNGPT-3.0', 'WiNGPT-3.5')])
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field

from infereco.errors import SpecError
from infereco.specs._base import FrozenSpec


class FrontierEntry(FrozenSpec):
    """One model (or configuration): a quality score (higher is better) and a cost in USD (lower is better).

    The cost is whatever unit of work is compared, e.g. the whole test set on the same hardware.

    >>> FrontierEntry(name="WiNGPT-3.5", quality_score=76.2, cost_usd=0.34).cost_usd
    0.34
    """

    name: str = Field(min_length=1, description="Unique name, shown on plots.")
    quality_score: float = Field(allow_inf_nan=False, description="Benchmark score, higher is better.")
    cost_usd: float = Field(gt=0, allow_inf_nan=False, description="Cost of the compared work, USD.")
    family: str | None = Field(default=None, description="Model family, e.g. 'WiNGPT'.")
    notes: str = Field(default="", description="Provenance or remarks.")


@dataclass(frozen=True)
class DominatedEntry:
    """An entry off the frontier and the name of one frontier entry that dominates it (the cheapest such)."""

    entry: FrontierEntry
    dominated_by: str


@dataclass(frozen=True)
class ProductionFrontier:
    """`frontier`: non-dominated entries sorted by cost (USD) ascending; `dominated`: the rest, by cost."""

    frontier: tuple[FrontierEntry, ...]
    dominated: tuple[DominatedEntry, ...]

    @property
    def costs_usd(self) -> np.ndarray:
        return np.array([e.cost_usd for e in self.frontier])

    @property
    def quality_scores(self) -> np.ndarray:
        return np.array([e.quality_score for e in self.frontier])

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per entry, frontier first: name, quality_score, cost_usd, family, on_frontier,
        dominated_by."""
        rows = [{**e.model_dump(), "on_frontier": True, "dominated_by": None} for e in self.frontier]
        rows += [
            {**d.entry.model_dump(), "on_frontier": False, "dominated_by": d.dominated_by}
            for d in self.dominated
        ]
        return rows

    def __str__(self) -> str:
        lines = [f"{'name':<24}{'quality':>9}{'cost ($)':>11}  status"]
        for r in self.to_records():
            status = "frontier" if r["on_frontier"] else f"dominated by {r['dominated_by']}"
            lines.append(f"{r['name']:<24}{r['quality_score']:>9.4g}{r['cost_usd']:>11.4g}  {status}")
        return "\n".join(lines)


def _as_entries(entries: Iterable[FrontierEntry | Mapping[str, Any]]) -> list[FrontierEntry]:
    out: list[FrontierEntry] = []
    for i, e in enumerate(entries):
        if isinstance(e, FrontierEntry):
            out.append(e)
        elif isinstance(e, Mapping):
            out.append(FrontierEntry.validated(e, where=f"entries[{i}]"))
        else:
            raise SpecError(
                f"entries[{i}] = {type(e).__name__}: expected a FrontierEntry or a mapping of its fields"
            )
    if not out:
        raise SpecError("entries: empty; expected at least one entry (name, quality_score, cost_usd)")
    names = [e.name for e in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SpecError(f"entries: name {dupes[0]!r} appears more than once; expected unique names")
    return out


def dominates(a: FrontierEntry, b: FrontierEntry) -> bool:
    """True when `a` costs no more, scores no less, and is strictly better in at least one."""
    return (
        a.cost_usd <= b.cost_usd
        and a.quality_score >= b.quality_score
        and (a.cost_usd < b.cost_usd or a.quality_score > b.quality_score)
    )


def production_frontier(entries: Iterable[FrontierEntry | Mapping[str, Any]]) -> ProductionFrontier:
    """Pareto set of (higher quality, lower cost), sorted by cost; dominated entries name a dominator.

    Entries with identical cost and quality do not dominate each other, so both stay on the frontier.

    >>> production_frontier([{"name": "a", "quality_score": 1, "cost_usd": 1}]).frontier[0].name
    'a'
    """
    items = _as_entries(entries)
    # Sweep by cost ascending (quality descending among equal costs): an entry is on the frontier iff it
    # scores above everything cheaper, or ties exactly the best entry at the same cost.
    ordered = sorted(items, key=lambda e: (e.cost_usd, -e.quality_score, e.name))
    frontier: list[FrontierEntry] = []
    off: list[FrontierEntry] = []
    for e in ordered:
        last = frontier[-1] if frontier else None
        if (
            last is None
            or e.quality_score > last.quality_score
            or e.quality_score == last.quality_score
            and e.cost_usd == last.cost_usd
        ):
            frontier.append(e)
        else:
            off.append(e)
    dominated = []
    for e in off:
        # The frontier is sorted by cost, so the first dominator found is the cheapest one.
        by = next(f for f in frontier if dominates(f, e))
        dominated.append(DominatedEntry(entry=e, dominated_by=by.name))
    return ProductionFrontier(frontier=tuple(frontier), dominated=tuple(dominated))


@dataclass(frozen=True)
class CostEffectivenessZone:
    """The cheap end of the frontier where each extra dollar still buys ≥ `min_quality_per_usd` points.

    `entries`: frontier entries in the zone, by cost; `best`: its last (highest-quality) entry;
    `marginal_quality_per_usd`: the step slopes used (between consecutive frontier points, or between
    upper-hull vertices with `use_upper_hull`), in quality points per USD; `stopped_before`: the first
    frontier entry beyond the zone (None if the whole frontier qualifies).
    """

    entries: tuple[FrontierEntry, ...]
    best: FrontierEntry
    marginal_quality_per_usd: tuple[float, ...]
    min_quality_per_usd: float
    stopped_before: str | None
    use_upper_hull: bool

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    @property
    def cost_range_usd(self) -> tuple[float, float]:
        return self.entries[0].cost_usd, self.entries[-1].cost_usd

    def __str__(self) -> str:
        tail = (
            f"; beyond it {self.stopped_before} adds < {self.min_quality_per_usd:g} points per extra $"
            if self.stopped_before
            else "; the whole frontier qualifies"
        )
        return f"cost-effectiveness zone: {', '.join(self.names)} (best {self.best.name}){tail}"


def _slope(a: FrontierEntry, b: FrontierEntry) -> float:
    dc, dq = b.cost_usd - a.cost_usd, b.quality_score - a.quality_score
    return math.inf if dc == 0 else dq / dc  # equal cost on the frontier means an identical twin


def _upper_hull(points: list[FrontierEntry]) -> list[FrontierEntry]:
    """Vertices of the upper concave hull of frontier points (sorted by cost), slopes decreasing."""
    hull: list[FrontierEntry] = []
    for p in points:
        if hull and p.cost_usd == hull[-1].cost_usd:
            continue  # an identical twin adds nothing to the hull
        while len(hull) >= 2 and _slope(hull[-2], hull[-1]) <= _slope(hull[-1], p):
            hull.pop()
        hull.append(p)
    return hull


def cost_effectiveness_zone(
    frontier: ProductionFrontier | Iterable[FrontierEntry | Mapping[str, Any]],
    min_quality_per_usd: float,
    *,
    use_upper_hull: bool = False,
) -> CostEffectivenessZone:
    """The optimal cost-effectiveness zone: where extra spending still buys enough quality.

    Definition. Walk the frontier p0, p1, … by increasing cost. The marginal quality per extra dollar of
    step i is (Q[i+1] − Q[i]) / (C[i+1] − C[i]) (score points per USD). The zone is p0 … pk, the longest run
    from the cheapest frontier point along which every step's marginal stays ≥ `min_quality_per_usd`; pk
    (`best`) is the highest quality reached before the first step that falls below the threshold.
    With `use_upper_hull`, the steps are those of the frontier's upper concave hull instead, whose marginals
    only fall, so a costly step followed by a cheap big gain is judged as one step; frontier points that lie
    under the hull inside the zone's cost range are included.

    >>> cost_effectiveness_zone(zhuang2025_wingpt_entries(), 1.0).best.name
    'WiNGPT-3.5'
    """
    f = frontier if isinstance(frontier, ProductionFrontier) else production_frontier(frontier)
    try:
        threshold = float(min_quality_per_usd)
    except (TypeError, ValueError):
        threshold = float("nan")
    if not (math.isfinite(threshold) and threshold >= 0):
        raise SpecError(
            f"min_quality_per_usd = {min_quality_per_usd!r}: expected a finite number ≥ 0 (points per USD)"
        )
    points = list(f.frontier)
    steps_over = _upper_hull(points) if use_upper_hull else points
    slopes = [_slope(a, b) for a, b in itertools.pairwise(steps_over)]
    k = 0
    while k < len(slopes) and slopes[k] >= threshold:
        k += 1
    best = steps_over[k]
    in_zone = tuple(p for p in points if p.cost_usd <= best.cost_usd)
    beyond = [p for p in points if p.cost_usd > best.cost_usd]
    return CostEffectivenessZone(
        entries=in_zone,
        best=best,
        marginal_quality_per_usd=tuple(slopes),
        min_quality_per_usd=threshold,
        stopped_before=beyond[0].name if beyond else None,
        use_upper_hull=use_upper_hull,
    )


def zhuang2025_wingpt_entries() -> list[FrontierEntry]:
    """The two WiNGPT points recovered from Zhuang et al. (2025) §6.2: WiNEval-3.0 score against the whole
    test set's cost (2,993 requests) on two A800s at $1.58/h. The paper's other seven models are not
    recovered.

    >>> [e.cost_usd for e in zhuang2025_wingpt_entries()]
    [0.34, 3.47]
    """
    note = (
        "Zhuang et al. 2025 §6.2 (secondary sources): WiNEval-3.0 score; test-set cost on 2×A800 at $1.58/h"
    )
    return [
        FrontierEntry(name="WiNGPT-3.5", quality_score=76.2, cost_usd=0.34, family="WiNGPT", notes=note),
        FrontierEntry(
            name="WiNGPT-3.0",
            quality_score=69.6,
            cost_usd=3.47,
            family="WiNGPT",
            notes=note + "; deep-reasoning model, long chain of thought",
        ),
    ]
