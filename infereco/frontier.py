"""Pareto frontiers of cost per token against speed per request, and the `Frontier` result object."""

from __future__ import annotations

import copy
import csv
import dataclasses
import importlib
import io
import json
import math
import types
from typing import Any, Iterator, Mapping

import numpy as np

from infereco.errors import InfeasibleError, SpecError
from infereco.physics.latency import bound_term
from infereco.search.base import Candidates, check_backend
from infereco.search.strategies import get_search
from infereco.specs.deployment import Deployment
from infereco.units import (
    MAX_PRICE_USD_PER_HOUR,
    MIN_PRICE_USD_PER_HOUR,
    gpu_s_per_token_from_usd,
    usd_per_million_tokens,
)

# Columns every frontier point carries, in display order, with their units.
POINT_COLUMNS: dict[str, str] = {
    "tokens_per_s_per_request": "tokens/s seen by one request",
    "usd_per_million_tokens": "USD per million output tokens",
    "n_gpu": "accelerators per model instance",
    "batch_size": "concurrent sequences per instance",
    "mfu": "model FLOP utilization (fraction of peak)",
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
    "attn_dp": "data-parallel attention (true) or tensor-parallel attention (false)",
}

# Every $ column and the accelerator-seconds column it is derived from (× price / 3600 × 1e6).
USD_COLUMNS: dict[str, str] = {
    "usd_per_million_tokens": "gpu_s_per_token",
    "usd_per_million_input_tokens": "gpu_s_per_input_token",
    "usd_per_million_output_tokens": "gpu_s_per_output_token",
    "usd_per_million_tokens_blended": "gpu_s_per_token_blended",
}
_USD_OF = {g: u for u, g in USD_COLUMNS.items()}

# Columns that count things: written as integers in JSON and CSV where they are whole numbers.
COUNT_COLUMNS = (
    "n_gpu",
    "batch_size",
    "gamma",
    "tp",
    "pp",
    "ep",
    "dp",
    "max_batch",
    "decode_n_gpu",
    "prefill_n_gpu",
    "prefill_batch_size",
    "n_gpu_total",
)


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
    """A Pareto frontier: the cheapest $/M tokens for each speed, fastest point first. Immutable.

    Columns are read-only numpy arrays in `columns` (see `POINT_COLUMNS`); `meta` records model, hardware,
    workload, preset, search and price. Every $ column is derived from its accelerator-seconds column and
    `price_usd_per_hour` (`USD_COLUMNS`), so `with_price` can never leave one stale. An empty frontier
    carries `reason` (why nothing is feasible). Derive changed copies with `replace`, `with_columns`,
    `with_meta`, `with_price` or `take`.

    >>> f = Frontier({"tokens_per_s_per_request": [50.0, 20.0], "gpu_s_per_token": [0.002, 0.001]},
    ...              price_usd_per_hour=3.6)
    >>> f.columns["usd_per_million_tokens"].tolist()
    [2.0, 1.0]
    >>> f.with_price(7.2).min_cost().usd_per_million_tokens
    2.0
    """

    __slots__ = ("_columns", "_meta", "reason", "default_alpha", "price_usd_per_hour", "_frozen")

    def __init__(
        self,
        columns: Mapping[str, Any],
        meta: Mapping[str, Any] | None = None,
        reason: str | None = None,
        default_alpha: float = 3.0,
        price_usd_per_hour: float | None = None,
    ):
        meta = copy.deepcopy(dict(meta or {}))
        price = meta.get("price_usd_per_hour") if price_usd_per_hour is None else price_usd_per_hour
        given = {k: np.array(v) for k, v in columns.items()}
        n = len(given.get("tokens_per_s_per_request", []))
        for k, v in given.items():
            if v.ndim != 1 or len(v) != n:
                raise SpecError(
                    f"Frontier column {k!r} has shape {v.shape}; expected ({n},) like "
                    "tokens_per_s_per_request"
                )
        has_cost = any(k in given for k in (*USD_COLUMNS, *USD_COLUMNS.values()))
        if has_cost:
            price = _check_price(price)
        # Accelerator-seconds are the stored truth; a $ column given without its GPU-s column is converted
        # once.
        for usd, gpu_s in USD_COLUMNS.items():
            if usd in given and gpu_s not in given:
                given[gpu_s] = np.asarray(gpu_s_per_token_from_usd(given[usd], price))
        cols: dict[str, np.ndarray] = {}
        derived = {
            usd: np.asarray(usd_per_million_tokens(given[g], price), float)
            for usd, g in USD_COLUMNS.items()
            if g in given
        }
        for k, v in given.items():
            if k in USD_COLUMNS:
                cols[k] = derived[k]
                continue
            cols[k] = v
            usd = _USD_OF.get(k)
            if usd is not None and usd not in given:
                cols[usd] = derived[usd]
        for v in cols.values():
            v.flags.writeable = False
        if price is not None:
            meta["price_usd_per_hour"] = float(price)
        object.__setattr__(self, "_columns", types.MappingProxyType(cols))
        object.__setattr__(self, "_meta", types.MappingProxyType(meta))
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "default_alpha", float(default_alpha))
        object.__setattr__(self, "price_usd_per_hour", None if price is None else float(price))
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name, value):
        raise AttributeError(f"Frontier is immutable; use replace(), with_columns() or with_meta() ({name})")

    def __reduce__(self):
        return (
            _rebuild,
            (dict(self._columns), dict(self._meta), self.reason, self.default_alpha, self.price_usd_per_hour),
        )

    @property
    def columns(self) -> Mapping[str, np.ndarray]:
        """Read-only mapping of column name to read-only array, in display order."""
        return self._columns

    @property
    def meta(self) -> Mapping[str, Any]:
        """Read-only mapping: model, hardware, workload, preset, search, price and what the search
        rejected."""
        return self._meta

    # ---- derived copies ---------------------------------------------------------------------------------
    def replace(
        self,
        *,
        columns: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
        reason: str | None = ...,
        default_alpha: float | None = None,
    ) -> "Frontier":  # type: ignore[assignment]
        """A copy with any of columns, meta, reason or default_alpha replaced."""
        return Frontier(
            dict(self._columns) if columns is None else columns,
            meta=dict(self._meta) if meta is None else meta,
            reason=self.reason if reason is ... else reason,
            default_alpha=self.default_alpha if default_alpha is None else default_alpha,
            price_usd_per_hour=self.price_usd_per_hour,
        )

    def with_columns(self, **columns) -> "Frontier":
        """A copy with columns added or replaced (a $ column is re-derived from its GPU-s column)."""
        return self.replace(columns={**self._columns, **columns})

    def with_meta(self, **meta) -> "Frontier":
        """A copy with `meta` entries added or replaced."""
        return self.replace(meta={**self._meta, **meta})

    def take(self, indices) -> "Frontier":
        """A copy with only the rows at `indices`, in that order."""
        idx = np.asarray(indices, int)
        return self.replace(columns={k: v[idx] for k, v in self._columns.items()})

    # ---- basic container behaviour --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._columns.get("tokens_per_s_per_request", []))

    def __iter__(self) -> Iterator[FrontierPoint]:
        return (self.point(i) for i in range(len(self)))

    def __repr__(self) -> str:
        what = f"{self.meta.get('model', '?')} on {self.meta.get('hardware', '?')}"
        if not len(self):
            return f"<Frontier {what}: empty ({self.reason})>"
        return (
            f"<Frontier {what}: {len(self)} points, {self.columns['tokens_per_s_per_request'].min():.1f}–"
            f"{self.columns['tokens_per_s_per_request'].max():.1f} tok/s per request>"
        )

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
        """The point a customer maximising speed^alpha / price picks (Erdil Eq. 45; paper α ≈ 3, notebook
        4)."""
        self._require_points()
        a = self.default_alpha if alpha is None else alpha
        try:
            a = float(a)
        except (TypeError, ValueError):
            a = math.nan
        if not (a >= 0 and math.isfinite(a)):
            raise SpecError(f"alpha={alpha!r}: expected a finite number >= 0 (the preference exponent)")
        score = a * np.log(self.columns["tokens_per_s_per_request"]) - np.log(
            self.columns["usd_per_million_tokens"]
        )
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
        """The same frontier at another accelerator price: every $ column is re-derived, nothing else
        moves."""
        if self.price_usd_per_hour is None:
            raise SpecError("with_price: this frontier has no price (no cost columns)")
        price = _check_price(price_usd_per_hour)
        return Frontier(
            dict(self._columns),
            meta={**self._meta, "price_usd_per_hour": price},
            reason=self.reason,
            default_alpha=self.default_alpha,
            price_usd_per_hour=price,
        )

    # ---- export -------------------------------------------------------------------------------------------
    def to_records(self) -> list[dict[str, Any]]:
        """List of JSON-ready dicts, one per point, fastest first (counts as integers where they are
        whole)."""
        return [_jsonable(counts_as_int(p.to_dict())) for p in self]

    def to_json(self, alpha: float | None = None) -> str:
        """`{"points": [...], "max_speed": {...}, "preferred": {...}, "meta": {...}}` (the scenario
        contract)."""
        payload: dict[str, Any] = {"points": self.to_records(), "meta": _jsonable(dict(self.meta))}
        if self.empty:
            payload.update(max_speed=None, preferred=None, min_cost=None, reason=self.reason)
        else:
            payload.update(
                max_speed=_jsonable(counts_as_int(self.max_speed().to_dict())),
                preferred=_jsonable(counts_as_int(self.preferred(alpha).to_dict())),
                min_cost=_jsonable(counts_as_int(self.min_cost().to_dict())),
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
        log y, preferred point marked), 'mfu' (utilization along the frontier) or 'breakdown' (stacked
        step-time components along the frontier)."""
        kinds = {"frontier": "plot_frontier", "mfu": "plot_mfu", "breakdown": "plot_breakdown"}
        if kind not in kinds:
            raise SpecError(f"kind={kind!r}: expected one of {', '.join(kinds)}")
        # The plotting layer sits above results and is looked up by name when asked for (as pandas does with
        # its plotting backend), so that results never depend on matplotlib; see docs/architecture.md.
        plotting = importlib.import_module("infereco.plot.frontier")
        return getattr(plotting, kinds[kind])(self, ax=ax, **kwargs)


def _rebuild(columns, meta, reason, default_alpha, price):
    return Frontier(columns, meta=meta, reason=reason, default_alpha=default_alpha, price_usd_per_hour=price)


def _check_price(price) -> float:
    try:
        p = float(price)
    except (TypeError, ValueError):
        p = math.nan
    if not (MIN_PRICE_USD_PER_HOUR <= p <= MAX_PRICE_USD_PER_HOUR):
        raise SpecError(
            f"price_usd_per_hour={price!r}: expected a price in USD per accelerator-hour from "
            f"{MIN_PRICE_USD_PER_HOUR:g} to {MAX_PRICE_USD_PER_HOUR:g}"
        )
    return p


def counts_as_int(d: dict[str, Any]) -> dict[str, Any]:
    """`d` with the whole-numbered counts (`COUNT_COLUMNS`) as ints, for JSON and CSV (changed in place)."""
    for k in COUNT_COLUMNS:
        v = d.get(k)
        if isinstance(v, float) and math.isfinite(v) and v == int(v):
            d[k] = int(v)
    return d


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


def frontier_from_candidates(
    c: Candidates,
    price_usd_per_hour: float,
    *,
    meta: Mapping[str, Any] | None = None,
    default_alpha: float = 3.0,
) -> Frontier:
    """The `Frontier` of a search's selected configurations (`search.base.Candidates`), priced at
    `price_usd_per_hour`. Instances faster than the demand cap serve only it (throughput capped)."""
    ev = c.evaluation
    pick = lambda a: np.broadcast_to(np.asarray(a, float).ravel(), c.n_gpu.shape)  # noqa: E731
    lat = pick(ev.latency_s)
    n, b = np.asarray(c.n_gpu, float), np.asarray(c.batch_size, float)
    throughput = (
        b / lat if c.served_cap_tokens_per_s is None else np.minimum(b / lat, c.served_cap_tokens_per_s)
    )
    cols: dict[str, np.ndarray] = {
        "tokens_per_s_per_request": 1.0 / lat,
        "usd_per_million_tokens": np.zeros(
            len(n)
        ),  # holds the column's place; Frontier derives it from GPU-s
        "n_gpu": n,
        "batch_size": b,
        "mfu": pick(ev.mfu),
        "latency_s": lat,
        "gpu_s_per_token": pick(ev.gpu_s_per_token),
        "throughput_tokens_per_s": throughput,
        "bound": bound_term(
            pick(ev.memory_s),
            pick(ev.compute_s),
            pick(ev.network_bandwidth_s),
            pick(ev.network_latency_s),
            pick(ev.launch_s),
        ),
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
    cols["ep"] = np.ones(len(n))
    cols["dp"] = np.ones(len(n))
    for k, v in c.extra.items():
        cols[k] = np.broadcast_to(np.asarray(v), n.shape)
    full_meta = {**dict(meta or {}), **dict(c.meta), "rejected": dict(c.rejected)}
    if c.configurations:
        full_meta["configurations"] = int(c.configurations)
    return Frontier(
        cols,
        meta=full_meta,
        reason=c.reason,
        default_alpha=default_alpha,
        price_usd_per_hour=price_usd_per_hour,
    )


def decode_frontier(dep: Deployment, backend: str = "jax") -> Frontier:
    """The decode frontier of a resolved deployment: its search strategy's candidates, priced."""
    c = get_search(dep.search).run(dep, check_backend(backend))
    return frontier_from_candidates(c, dep.price_usd_per_hour, meta=dep.meta(), default_alpha=dep.alpha)
