"""Sweeps: frontiers over models × hardware × context lengths × prices, as a tidy table.

Price scales every cost exactly and changes nothing else, so one frontier per (model, hardware, context) is
computed and re-priced. Evaluation is jitted (one compiled function per model structure) and sharded over all
local JAX devices; on CPU, start Python with `XLA_FLAGS=--xla_force_host_platform_device_count=N` to use N cores.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Iterable, Sequence

from infereco._progress import Progress
from infereco.api import build_problem, solve
from infereco.frontier import Frontier

SUMMARY_FIELDS = ("tokens_per_s_per_request", "usd_per_million_tokens", "n_gpu", "batch_size", "tp", "ep", "pp", "mfu", "bound")


@dataclasses.dataclass
class SweepResult:
    """`rows`: one dict per (model, hardware, context, price) with max-speed, preferred and cheapest points;
    `frontiers`: the Frontier of each row, keyed by (model, hardware, context_length, price_usd_per_hour)."""

    rows: list[dict[str, Any]]
    frontiers: dict[tuple, Frontier]

    def __len__(self) -> int:
        return len(self.rows)

    def to_records(self) -> list[dict[str, Any]]:
        return list(self.rows)

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame(self.rows)


def _as_list(x) -> list:
    if x is None:
        return [None]
    if isinstance(x, (str, dict)) or not isinstance(x, Iterable):
        return [x]
    return list(x)


def _label(x) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, dict):
        return str(x.get("base", "custom")) + "".join(f",{k}={v}" for k, v in x.items() if k != "base")
    return getattr(x, "name", str(x))


def _summary(f: Frontier, alpha) -> dict[str, Any]:
    out: dict[str, Any] = {"n_points": len(f), "reason": f.reason}
    if f.empty:
        return out
    for tag, p in (("max_speed", f.max_speed()), ("preferred", f.preferred(alpha)), ("min_cost", f.min_cost())):
        d = p.to_dict()
        for k in SUMMARY_FIELDS:
            out[f"{tag}_{k}"] = d.get(k)
    return out


def sweep(models: Sequence | Any, hardware: Sequence | Any, context_lengths: Sequence[int] | int = (1000,),
          prices_usd_per_hour: Sequence[float] | float | None = None, *, preset: str = "default",
          search: str | None = None, alpha: float | None = None, progress: bool = True,
          keep_frontiers: bool = True, **frontier_kwargs) -> SweepResult:
    """Frontiers for every combination; `prices_usd_per_hour` None = each accelerator's own price.

    >>> r = sweep(["llama-3-8b", "llama-3-70b"], ["h100-sxm", "h200"], [1000, 8000], [1.5, 2.5])
    >>> len(r)
    16
    """
    model_list, hw_list = _as_list(models), _as_list(hardware)
    ctx_list = _as_list(context_lengths)
    price_list = _as_list(prices_usd_per_hour)
    rows: list[dict[str, Any]] = []
    frontiers: dict[tuple, Frontier] = {}
    combos = list(itertools.product(model_list, hw_list, ctx_list))
    with Progress(len(combos) * len(price_list), "sweep", enabled=progress) as bar:
        for model, hw, ctx in combos:
            problem = build_problem(model, hw, context_length=ctx, preset=preset, search=search, alpha=alpha,
                                    **frontier_kwargs)
            base = solve(problem)
            for price in price_list:
                f = base if price is None else base.with_price(price)
                key = (_label(model), _label(hw), ctx, f.meta["price_usd_per_hour"])
                row = {"model": key[0], "hardware": key[1], "context_length": ctx,
                       "price_usd_per_hour": f.meta["price_usd_per_hour"], **_summary(f, alpha)}
                rows.append(row)
                if keep_frontiers:
                    frontiers[key] = f
                bar.update()
    return SweepResult(rows, frontiers)
