"""Observed provider points (speed, price) and where they fall against a modelled frontier.

A frontier gives, for each speed, the cheapest $/M tokens the model allows. An observed point (s, c) is

- **beyond** the frontier when it is faster and cheaper than anything the frontier offers: s above the
  frontier's maximum speed by more than the tolerance, or c below the frontier's cost at speed s by more than
  the tolerance (the provider does something the model does not: speculative decoding, better kernels, …,
  or sells below cost);
- **on** it when c is within the tolerance of the frontier's cost at s (or s within the tolerance of the
  maximum speed, at a cost not below the cost there by more than the tolerance);
- **inside** it otherwise (achievable under the model with margin; the gap is the provider's markup or
  inefficiency).

The tolerance is relative, `rtol` (default 5%), on cost and on speed alike. The frontier's cost at a speed is
`Frontier.cost_at_speed` (log-log interpolation between frontier points).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np

from infereco.errors import InfeasibleError

Placement = Literal["inside", "on", "beyond"]
DEFAULT_RTOL = 0.05


@dataclasses.dataclass(frozen=True)
class ObservedPoint:
    """A provider's measured serial speed and price for one model (units in the names)."""

    name: str
    model_id: str  # infereco catalog id (possibly with a variant note in `name`)
    tokens_per_s: float  # serial tokens/s seen by one request
    usd_per_million_tokens: float  # price per million output tokens
    source: str

    def __post_init__(self):
        for f in ("tokens_per_s", "usd_per_million_tokens"):
            v = getattr(self, f)
            if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
                raise ValueError(f"ObservedPoint.{f} = {v!r}: expected a positive finite number")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_AA = "Artificial Analysis (2024, accessed 2024-04-26) as quoted by Erdil 2025"
_NB = "reference notebook ege-erdil/inference-economics @ 589a102 (observed points overlaid on its figures)"

#: The data points Erdil (2025) compares frontiers with (§2.2.2, §4, Fig. 3–5), plus the notebook's variant.
PAPER_POINTS: tuple[ObservedPoint, ...] = (
    ObservedPoint(
        "Llama 3 70B (Fireworks)", "llama-3-70b", 150.0, 0.90, f"{_AA}; Erdil §2.2.2, §4 (8-bit frontier)"
    ),
    ObservedPoint("Llama 3 8B (Fireworks)", "llama-3-8b", 400.0, 0.20, f"{_AA}; Erdil §2.2.2"),
    ObservedPoint("Mixtral 8x22B", "mixtral-8x22b", 89.0, 1.20, f"Erdil Fig. 5; {_NB}: 89.25 tok/s"),
    ObservedPoint("GPT-4", "gpt-4", 21.0, 37.5, f"Erdil Fig. 5 (OpenAI pricing accessed 2024-08-01); {_NB}"),
)
#: The notebook's Llama 3 70B 8-bit point (a faster measurement at the same price).
NOTEBOOK_LLAMA_3_70B_8BIT = ObservedPoint("Llama 3 70B 8-bit (notebook)", "llama-3-70b", 158.0, 0.90, _NB)


def _require_points(frontier) -> None:
    if frontier.empty:
        raise InfeasibleError(f"the frontier is empty: {frontier.reason or 'no feasible configuration'}")


def speed_at_cost(frontier, usd_per_million_tokens: float) -> float:
    """Fastest tokens/s per request the frontier offers at a cost ≤ `usd_per_million_tokens` (log-log
    interpolation between frontier points); 0 below the frontier's cost floor."""
    _require_points(frontier)
    x = np.asarray(frontier.columns["tokens_per_s_per_request"], float)
    y = np.asarray(frontier.columns["usd_per_million_tokens"], float)
    c = float(usd_per_million_tokens)
    if c < y.min() * (1 - 1e-12):
        return 0.0
    o = np.argsort(y, kind="stable")
    ys, xs = y[o], np.maximum.accumulate(x[o])
    if c >= ys[-1]:
        return float(xs[-1])
    return float(np.exp(np.interp(np.log(c), np.log(ys), np.log(xs))))


def speed_ratio_at_equal_cost(faster, slower, costs: Iterable[float]) -> np.ndarray:
    """speed_at_cost(faster, c) / speed_at_cost(slower, c) for each cost c (NaN where `slower` offers
    nothing)."""
    out = []
    for c in costs:
        a, b = speed_at_cost(faster, c), speed_at_cost(slower, c)
        out.append(a / b if b > 0 else math.nan)
    return np.asarray(out)


def classify(frontier, point: ObservedPoint | tuple[float, float], rtol: float = DEFAULT_RTOL) -> Placement:
    """'inside', 'on' or 'beyond': where an observed (tokens/s, $/M) point lies against `frontier`.

    >>> f = pareto_frontier("llama-3-8b", "h100-sxm", space={"max_gpus_per_instance": 8})
    >>> p = f.preferred()
    >>> tuple(classify(f, (p.tokens_per_s_per_request * k, p.usd_per_million_tokens))
    ...       for k in (0.5, 1.0, 2.0))
    ('inside', 'on', 'beyond')
    """
    s, c = (
        (point.tokens_per_s, point.usd_per_million_tokens)
        if isinstance(point, ObservedPoint)
        else map(float, point)
    )
    if not rtol >= 0:
        raise ValueError(f"rtol={rtol}: expected a non-negative relative tolerance")
    _require_points(frontier)
    s_max = float(np.max(frontier.columns["tokens_per_s_per_request"]))
    if s > s_max * (1 + rtol):
        return "beyond"
    ref = frontier.cost_at_speed(min(s, s_max))
    if c < ref * (1 - rtol):
        return "beyond"
    if s > s_max or c <= ref * (1 + rtol):
        return "on"
    return "inside"


def placement(
    frontier, point: ObservedPoint | tuple[float, float], rtol: float = DEFAULT_RTOL
) -> dict[str, Any]:
    """The classification with the numbers behind it: the frontier's cost at the point's speed, the cost
    ratio (point / frontier, < 1 means cheaper than the model allows), and the speed ratio to the maximum."""
    if isinstance(point, ObservedPoint):
        d = point.to_dict()
    else:
        d = {"tokens_per_s": float(point[0]), "usd_per_million_tokens": float(point[1])}
    s, c = d["tokens_per_s"], d["usd_per_million_tokens"]
    s_max = float(np.max(frontier.columns["tokens_per_s_per_request"]))
    ref = frontier.cost_at_speed(s)
    d.update(
        placement=classify(frontier, point, rtol),
        frontier_usd_per_million_tokens_at_speed=ref,
        cost_ratio=c / ref if math.isfinite(ref) else None,
        speed_ratio_to_max=s / s_max,
        frontier_tokens_per_s_at_cost=speed_at_cost(frontier, c),
        rtol=rtol,
    )
    return d


def overlay(
    frontier,
    points: Iterable[ObservedPoint] = PAPER_POINTS,
    rtol: float = DEFAULT_RTOL,
    ax=None,
    label: bool = True,
):
    """Placements of `points` against `frontier`; with `ax`, also scatter them (markers by placement).

    Returns the list of `placement` dicts.
    """
    rows = [placement(frontier, p, rtol) for p in points]
    if ax is not None:
        markers = {"inside": "o", "on": "s", "beyond": "^"}
        for r in rows:
            ax.scatter(
                [r["tokens_per_s"]],
                [r["usd_per_million_tokens"]],
                marker=markers[r["placement"]],
                facecolors="none",
                edgecolors="black",
                zorder=5,
            )
            if label:
                ax.annotate(
                    f"{r.get('name', '')} ({r['placement']})",
                    (r["tokens_per_s"], r["usd_per_million_tokens"]),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=7,
                )
    return rows
