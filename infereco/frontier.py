"""Pareto frontiers of cost per token against speed per request, and the `Frontier` result object."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from typing import Any, Iterator, Sequence

import numpy as np

from infereco.errors import InfeasibleError, SpecError

# Columns every frontier point carries, in display order, with their units.
POINT_COLUMNS: dict[str, str] = {
    "tokens_per_s_per_request": "tokens/s seen by one request",
    "usd_per_million_tokens": "USD per million output tokens",
    "n_gpu": "accelerators per model instance",
    "batch_size": "concurrent sequences per instance",
    "mfu": "model FLOP utilisation (fraction of peak)",
    "latency_s": "seconds per output token",
    "gpu_s_per_token": "accelerator-seconds per output token",
    "throughput_tokens_per_s": "output tokens/s per instance",
    "bound": "term that bounds the step: memory, compute, network or latency",
    "memory_s": "HBM time per step, s",
    "compute_s": "arithmetic time per step, s",
    "network_bandwidth_s": "collective bandwidth time per step, s",
    "network_latency_s": "collective latency per step, s",
    "launch_s": "kernel-launch latency per step, s",
    "draft_s": "draft-model time per step (speculative decoding), s",
    "gamma": "drafted tokens per step (0 = no speculative decoding)",
    "tp": "tensor-parallel degree",
    "tp_2d": "2D tensor parallelism (true) or 1D (false)",
    "pp": "pipeline-parallel degree",
    "ep": "expert-parallel degree",
    "dp": "data-parallel replicas (instances)",
}

BOUND_NAMES = ("memory", "compute", "network", "latency")


def bound_term(memory_s, compute_s, network_bandwidth_s, network_latency_s, launch_s) -> np.ndarray:
    """Name of the largest contribution to step time: the max(memory, compute) winner, network or latency."""
    overlapped_memory = np.where(memory_s >= compute_s, memory_s, 0.0)
    overlapped_compute = np.where(compute_s > memory_s, compute_s, 0.0)
    stack = np.stack([overlapped_memory, overlapped_compute, network_bandwidth_s, network_latency_s + launch_s])
    return np.asarray(BOUND_NAMES)[np.argmax(stack, axis=0)]


def _by_latency(latency_s, cost):
    """Finite points sorted by latency (ties: cheaper first): their indices, and where each sets a new
    running minimum of cost (cheaper than every faster point)."""
    latency_s = np.asarray(latency_s, float).ravel()
    cost = np.asarray(cost, float).ravel()
    idx = np.flatnonzero(np.isfinite(latency_s) & np.isfinite(cost))
    order = idx[np.lexsort((cost[idx], latency_s[idx]))]
    c = cost[order]
    new_min = np.ones(c.size, bool)
    if c.size:
        new_min[1:] = c[1:] < np.minimum.accumulate(c)[:-1]
    return order, new_min


def pareto_indices(latency_s: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated (latency, cost) points, fastest first, in O(n log n).

    Sort by latency (ties: cheaper first), then keep each point cheaper than every faster one.
    """
    order, new_min = _by_latency(latency_s, cost)
    return order[new_min]


def threshold_scan_indices(latency_s: np.ndarray, cost: np.ndarray, thresholds_s: np.ndarray) -> np.ndarray:
    """The reference notebook's frontier: for each latency threshold, the cheapest point strictly under it
    (ties: the lowest latency), each point kept once, fastest first.

    Computed as a prefix arg-min over points sorted by latency plus a binary search per threshold, which gives
    the same points as scanning every threshold over all points.
    """
    order, new_min = _by_latency(latency_s, cost)
    if order.size == 0:
        return order
    lat_sorted = np.asarray(latency_s, float).ravel()[order]
    # prefix argmin: position of the first minimum among sorted[0..i]; a later equal cost never replaces it,
    # so ties go to the lower latency.
    prefix_arg = np.maximum.accumulate(np.where(new_min, np.arange(order.size), 0))
    count_below = np.searchsorted(lat_sorted, np.asarray(thresholds_s, float), side="left")
    chosen = prefix_arg[count_below[count_below > 0] - 1]
    _, first = np.unique(chosen, return_index=True)
    return order[chosen[np.sort(first)]]


@dataclasses.dataclass(frozen=True)
class FrontierPoint:
    """One deployment on a frontier. Units are in the field names; `bound` names the limiting term."""

    tokens_per_s_per_request: float
    usd_per_million_tokens: float
    n_gpu: float
    batch_size: float
    mfu: float
    latency_s: float
    gpu_s_per_token: float
    throughput_tokens_per_s: float
    bound: str
    memory_s: float
    compute_s: float
    network_bandwidth_s: float
    network_latency_s: float
    launch_s: float
    draft_s: float
    gamma: int
    tp: float
    tp_2d: bool
    pp: float
    ep: float
    dp: float
    extra: dict = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in dataclasses.asdict(self).items() if k != "extra"}
        d.update(self.extra)
        return d

    def __getitem__(self, key: str):
        return self.to_dict()[key]


class Frontier:
    """A Pareto frontier: the cheapest $/M tokens for each speed, fastest point first.

    Columns are numpy arrays in `columns` (see `POINT_COLUMNS`); `meta` records model, hardware, workload,
    preset and search. An empty frontier carries `reason` (why nothing is feasible).

    >>> f = pareto_frontier("llama-3-70b", "h100-sxm", context_length=1000)   # doctest: +SKIP
    >>> f.max_speed().tokens_per_s_per_request                                # doctest: +SKIP
    """

    def __init__(self, columns: dict[str, np.ndarray], meta: dict[str, Any] | None = None,
                 reason: str | None = None, default_alpha: float = 3.0):
        n = len(columns.get("tokens_per_s_per_request", []))
        self.columns = {k: np.asarray(v) for k, v in columns.items()}
        for k, v in self.columns.items():
            if len(v) != n:
                raise ValueError(f"column {k} has {len(v)} rows, expected {n}")
        self.meta = dict(meta or {})
        self.reason = reason
        self.default_alpha = float(default_alpha)

    # ---- basic container behaviour --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.columns.get("tokens_per_s_per_request", []))

    def __iter__(self) -> Iterator[FrontierPoint]:
        return (self.point(i) for i in range(len(self)))

    def __repr__(self) -> str:
        what = f"{self.meta.get('model', '?')} on {self.meta.get('hardware', '?')}"
        if not len(self):
            return f"<Frontier {what}: empty ({self.reason})>"
        return (f"<Frontier {what}: {len(self)} points, {self.columns['tokens_per_s_per_request'].min():.1f}–"
                f"{self.columns['tokens_per_s_per_request'].max():.1f} tok/s per request>")

    @property
    def empty(self) -> bool:
        return len(self) == 0

    def point(self, i: int) -> FrontierPoint:
        known = {f.name for f in dataclasses.fields(FrontierPoint)}
        row = {}
        extra = {}
        for k, v in self.columns.items():
            val = v[i].item() if hasattr(v[i], "item") else v[i]
            (row if k in known else extra)[k] = val
        row["gamma"] = int(row.get("gamma", 0))
        row["tp_2d"] = bool(row.get("tp_2d", False))
        row["bound"] = str(row.get("bound", ""))
        for k in known - set(row) - {"extra"}:
            row[k] = math.nan
        return FrontierPoint(**row, extra=extra)

    def _require_points(self) -> None:
        if self.empty:
            raise InfeasibleError(f"the frontier is empty: {self.reason or 'no feasible configuration'}")

    # ---- the questions users ask ----------------------------------------------------------------------
    def max_speed(self) -> FrontierPoint:
        """The fastest point (highest tokens/s per request)."""
        self._require_points()
        return self.point(int(np.argmax(self.columns["tokens_per_s_per_request"])))

    def min_cost(self) -> FrontierPoint:
        """The cheapest point (lowest $/M tokens): the cost floor."""
        self._require_points()
        return self.point(int(np.argmin(self.columns["usd_per_million_tokens"])))

    def preferred(self, alpha: float | None = None) -> FrontierPoint:
        """The point a customer maximising speed^alpha / price picks (Erdil Eq. 45; paper α ≈ 3, notebook 4)."""
        self._require_points()
        a = self.default_alpha if alpha is None else float(alpha)
        if not a >= 0 or not math.isfinite(a):
            raise SpecError(f"alpha={alpha!r}: expected a finite number >= 0 (the preference exponent)")
        score = a * np.log(self.columns["tokens_per_s_per_request"]) - np.log(self.columns["usd_per_million_tokens"])
        return self.point(int(np.argmax(score)))

    def cost_at_speed(self, tokens_per_s_per_request: float) -> float:
        """Cheapest $/M tokens at (at least) this speed: log-log interpolation between frontier points;
        inf beyond the maximum speed."""
        self._require_points()
        x = self.columns["tokens_per_s_per_request"]
        y = self.columns["usd_per_million_tokens"]
        s = float(tokens_per_s_per_request)
        if s > x.max() * (1 + 1e-12):
            return math.inf
        if s <= x.min():
            return float(y.min())
        o = np.argsort(x)
        return float(np.exp(np.interp(np.log(s), np.log(x[o]), np.log(y[o]))))

    def with_price(self, price_usd_per_hour: float) -> "Frontier":
        """The same frontier at another accelerator price: every $ column scales exactly, nothing else moves."""
        old = float(self.meta.get("price_usd_per_hour", 0.0))
        if not (price_usd_per_hour > 0 and old > 0):
            raise SpecError(f"price_usd_per_hour={price_usd_per_hour!r}: expected a positive price in USD per hour")
        cols = dict(self.columns)
        if "usd_per_million_tokens" in cols:
            cols["usd_per_million_tokens"] = cols["usd_per_million_tokens"] * (price_usd_per_hour / old)
        return Frontier(cols, meta={**self.meta, "price_usd_per_hour": float(price_usd_per_hour)},
                        reason=self.reason, default_alpha=self.default_alpha)

    # ---- export -------------------------------------------------------------------------------------------
    def to_records(self) -> list[dict[str, Any]]:
        """List of JSON-ready dicts, one per point, fastest first."""
        return [_jsonable(p.to_dict()) for p in self]

    def to_json(self, alpha: float | None = None) -> str:
        """`{"points": [...], "max_speed": {...}, "preferred": {...}, "meta": {...}}` (the scenario contract)."""
        payload: dict[str, Any] = {"points": self.to_records(), "meta": _jsonable(self.meta)}
        if self.empty:
            payload.update(max_speed=None, preferred=None, min_cost=None, reason=self.reason)
        else:
            payload.update(
                max_speed=_jsonable(self.max_speed().to_dict()),
                preferred=_jsonable(self.preferred(alpha).to_dict()),
                min_cost=_jsonable(self.min_cost().to_dict()),
            )
        return json.dumps(payload, indent=1, allow_nan=False)

    def to_csv(self, path=None) -> str:
        """CSV text of the points (written to `path` too when given)."""
        buf = io.StringIO()
        records = self.to_records()
        fields = list(records[0]) if records else list(POINT_COLUMNS)
        writer = csv.DictWriter(buf, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)
        text = buf.getvalue()
        if path is not None:
            with open(path, "w", newline="") as fh:
                fh.write(text)
        return text

    def to_dataframe(self):
        """A pandas DataFrame of the points (pandas is optional)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("to_dataframe() needs pandas: pip install pandas") from exc
        return pd.DataFrame(self.to_records())

    def plot(self, ax=None, kind: str = "frontier", **kwargs):
        """Plot the frontier and return the Axes. `kind`: 'frontier' ($/M tokens against tokens/s per request,
        log y, preferred point marked), 'mfu' (utilisation along the frontier) or 'breakdown' (stacked
        step-time components along the frontier)."""
        from infereco.plot.frontier import plot_breakdown, plot_frontier, plot_mfu

        kinds = {"frontier": plot_frontier, "mfu": plot_mfu, "breakdown": plot_breakdown}
        if kind not in kinds:
            raise SpecError(f"kind={kind!r}: expected one of {', '.join(kinds)}")
        return kinds[kind](self, ax=ax, **kwargs)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


def frontier_from_evaluation(ev, n_gpu: np.ndarray, batch: np.ndarray, price_usd_per_hour: float,
                             indices: np.ndarray, extra_columns: dict[str, np.ndarray] | None = None,
                             meta=None, reason=None, default_alpha: float = 3.0,
                             served_cap_tokens_per_s: float | None = None) -> Frontier:
    """Build a `Frontier` from an `Evaluation` (flat arrays) and the chosen point indices.

    `served_cap_tokens_per_s`: instances faster than this demand serve only it (throughput capped)."""
    lat = np.asarray(ev.latency_s).ravel()[indices]
    n = np.asarray(n_gpu, float).ravel()[indices] if np.ndim(n_gpu) else np.full(len(indices), float(n_gpu))
    b = np.asarray(batch, float).ravel()[indices]
    pick = lambda a: np.asarray(a, float).ravel()[indices]  # noqa: E731
    cols: dict[str, np.ndarray] = {
        "tokens_per_s_per_request": 1.0 / lat,
        "usd_per_million_tokens": pick(ev.gpu_s_per_token) * price_usd_per_hour / 3600.0 * 1e6,
        "n_gpu": n,
        "batch_size": b,
        "mfu": pick(ev.mfu),
        "latency_s": lat,
        "gpu_s_per_token": pick(ev.gpu_s_per_token),
        "throughput_tokens_per_s": b / lat if served_cap_tokens_per_s is None
        else np.minimum(b / lat, served_cap_tokens_per_s),
        "bound": bound_term(pick(ev.memory_s), pick(ev.compute_s), pick(ev.network_bandwidth_s),
                            pick(ev.network_latency_s), pick(ev.launch_s)),
        "memory_s": pick(ev.memory_s),
        "compute_s": pick(ev.compute_s),
        "network_bandwidth_s": pick(ev.network_bandwidth_s),
        "network_latency_s": pick(ev.network_latency_s),
        "launch_s": pick(ev.launch_s),
        "draft_s": pick(ev.draft_s),
        "gamma": pick(ev.gamma),
        "tp_2d": pick(ev.tp_2d) > 0.5,
        "pp": pick(ev.pp_degree),
    }
    cols["tp"] = n / cols["pp"]
    cols.setdefault("ep", np.ones(len(indices)))
    cols.setdefault("dp", np.ones(len(indices)))
    for k, v in (extra_columns or {}).items():
        cols[k] = np.asarray(v).ravel()[indices] if np.ndim(v) else np.full(len(indices), v)
    return Frontier(cols, meta=meta, reason=reason, default_alpha=default_alpha)


def select(values: Sequence, indices: np.ndarray) -> np.ndarray:
    return np.asarray(values).ravel()[indices]
