"""Sweeps: frontiers over models × hardware × context lengths × prices, as a tidy table.

Price scales every cost exactly and changes nothing else, so one frontier per (model, hardware, context) is
computed and re-priced. Evaluation is jitted (one compiled function per model structure) and sharded over all
local JAX devices; on CPU, start Python with `XLA_FLAGS=--xla_force_host_platform_device_count=N` to use N
cores. With `executor=` (any `concurrent.futures`-style executor: a spawn-context process pool, a Dask
`distributed` client's `get_executor()`, Ray's), the work is split by model, so each worker compiles a
model's functions once and reuses them over its hardware × contexts × prices; the rows come back in the local
order and equal the local run's.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Iterable, Sequence

from infereco._progress import ProgressMeter, as_meter
from infereco.api import resolve_inputs, solve
from infereco.errors import SpecError
from infereco.frontier import Frontier, counts_as_int
from infereco.specs.deployment import positive_number
from infereco.units import MAX_PRICE_USD_PER_HOUR, MIN_PRICE_USD_PER_HOUR


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
    """The max-speed, preferred and cheapest points, each with every column a frontier point has."""
    out: dict[str, Any] = {"n_points": len(f), "reason": f.reason}
    if f.empty:
        return out
    for tag, p in (
        ("max_speed", f.max_speed()),
        ("preferred", f.preferred(alpha)),
        ("min_cost", f.min_cost()),
    ):
        for k, v in counts_as_int(p.to_dict()).items():
            out[f"{tag}_{k}"] = v
    return out


def sweep(
    models: Sequence | Any,
    hardware: Sequence | Any,
    context_lengths: Sequence[int] | int = (1000,),
    prices_usd_per_hour: Sequence[float] | float | None = None,
    *,
    preset: str = "default",
    search: str | None = None,
    alpha: float | None = None,
    progress: bool | ProgressMeter = True,
    keep_frontiers: bool = True,
    executor: Any = None,
    **frontier_kwargs,
) -> SweepResult:
    """Frontiers for every combination; `prices_usd_per_hour` None = each accelerator's own price.

    `frontier_kwargs` are those of `pareto_frontier` (workload, space, serving, speculative, ...); every row
    carries the max-speed, preferred and cheapest points with the columns `pareto_frontier` gives them.
    `progress`: True (a bar on stderr for runs over a second), False, or a `ProgressMeter`. `executor`: an
    object with `submit(fn, *args, **kwargs)` returning futures with `.result()` (concurrent.futures,
    Dask, Ray); one task per model, inputs validated here first. A process pool must use the 'spawn' start
    method (JAX is not fork-safe): `ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))`.

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
    backend = frontier_kwargs.pop("backend", "jax")
    if not (model_list and hw_list and ctx_list and price_list):
        raise SpecError("sweep: models, hardware, context_lengths and prices each need at least one value")
    # Resolve every combination first, so that a bad input fails before minutes of computing.
    for price in price_list:
        if price is not None and not isinstance(price, str):  # tier names are checked per accelerator below
            positive_number(
                "prices_usd_per_hour", price, lower=MIN_PRICE_USD_PER_HOUR, upper=MAX_PRICE_USD_PER_HOUR
            )
    deployments = [
        resolve_inputs(
            model, hw, context_length=ctx, preset=preset, search=search, alpha=alpha, **frontier_kwargs
        )
        for model, hw, ctx in combos
    ]
    for dep in deployments:
        for price in price_list:
            if isinstance(price, str):
                dep.hardware.tier_price_usd_per_hour(price)  # SpecError naming the tier and the known ones
    if executor is not None:
        if not callable(getattr(executor, "submit", None)):
            raise SpecError(
                f"sweep: executor = {type(executor).__name__}: expected a concurrent.futures-style executor "
                "with submit(fn, *args) (ProcessPoolExecutor, a Dask client's get_executor(), Ray's)"
            )
        kw = dict(preset=preset, search=search, alpha=alpha, keep_frontiers=keep_frontiers, backend=backend)
        per_model = len(hw_list) * len(ctx_list) * len(price_list)
        with as_meter(progress).start(len(combos) * len(price_list), "sweep") as bar:
            futures = [
                executor.submit(_sweep_part, model, hw_list, ctx_list, price_list, {**kw, **frontier_kwargs})
                for model in model_list
            ]
            for fut in futures:  # in model order: the local row order
                part = fut.result()
                rows.extend(part.rows)
                frontiers.update(part.frontiers)
                bar.update(per_model)
        return SweepResult(rows, frontiers)
    with as_meter(progress).start(len(combos) * len(price_list), "sweep") as bar:
        for (model, hw, ctx), dep in zip(combos, deployments):
            base = solve(dep, backend=backend)
            for price in price_list:
                if isinstance(price, str):  # a named tier of this accelerator's catalog prices
                    f = base.with_price(dep.hardware.tier_price_usd_per_hour(price))
                else:
                    f = base if price is None else base.with_price(price)
                key = (_label(model), _label(hw), ctx, f.meta["price_usd_per_hour"])
                row = {
                    "model": key[0],
                    "hardware": key[1],
                    "context_length": ctx,
                    "price_usd_per_hour": f.meta["price_usd_per_hour"],
                    **_summary(f, alpha),
                }
                rows.append(row)
                if keep_frontiers:
                    frontiers[key] = f
                bar.update()
    return SweepResult(rows, frontiers)


def _sweep_part(model, hw_list, ctx_list, price_list, kwargs) -> SweepResult:
    """One executor task: the local sweep of one model (module level, so executors can pickle it)."""
    return sweep([model], hw_list, ctx_list, price_list, progress=False, **kwargs)
