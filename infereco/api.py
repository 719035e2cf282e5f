"""The public pipeline: resolve → search → price → serve.

Every entry point is a composition of the same four steps: `infereco.specs.deployment.resolve` turns what a
user passes into one frozen `Deployment`; a search strategy (`infereco.search.strategies`) selects candidate
configurations; `infereco.frontier.frontier_from_candidates` prices them into an immutable `Frontier`; a
serving mode (`infereco.serving.modes`) adds prompts and answers. `pareto_frontier`, `evaluate_point`,
`layouts`, `sweep` and the sensitivities all go through `solve` or the same pieces, so they agree column for
column.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from infereco.economics.hourly_cost import price_usd_per_hour as price_from_cost
from infereco.errors import CatalogError, InfeasibleError, ScenarioError, SpecError
from infereco.frontier import Frontier, decode_frontier, frontier_from_candidates
from infereco.observed import PAPER_POINTS, ObservedPoint, placement
from infereco.search.base import Candidates, check_backend, served_at_demand
from infereco.search.discrete import explicit_layout, layout_table
from infereco.search.evaluate import deployment_arrays, evaluate
from infereco.serving.modes import serving_mode
from infereco.specs.catalog import check_catalog_ids
from infereco.specs.deployment import Deployment, positive_number, resolve
from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec
from infereco.specs.presets import Preset
from infereco.specs.scenario import Scenario, load_scenario
from infereco.specs.space import DiscreteSpace, GridSpec
from infereco.specs.speculative import SpeculativeSpec
from infereco.specs.workload import WorkloadSpec

# The largest batch one point may ask for: far above any engine (the reference grid reaches
# 2^(18 + log2 of the MoE sparsity)), and low enough that the arithmetic keeps its meaning.
MAX_BATCH_SIZE = float(1 << 40)


def resolve_inputs(model, hardware, *, price_usd_per_hour=None, **kwargs) -> Deployment:
    """`resolve`, with a price given as a number, a price-tier name, or any cost that
    `economics.price_usd_per_hour` reads (ownership, rental, a breakdown, a cost mapping or file)."""
    if price_usd_per_hour is not None and not isinstance(price_usd_per_hour, str):  # a tier name passes on
        price_usd_per_hour = price_from_cost(price_usd_per_hour)
    return resolve(model, hardware, price_usd_per_hour=price_usd_per_hour, **kwargs)


def solve(dep: Deployment, *, backend: str = "jax") -> Frontier:
    """The frontier of a resolved deployment: its search strategy, priced, then its serving mode."""
    return serving_mode(dep.serving).apply(dep, decode_frontier(dep, backend))


def pareto_frontier(
    model: ModelSpec | str | Mapping,
    hardware: HardwareSpec | str | Mapping,
    *,
    context_length: int | None = None,
    max_throughput_tokens_per_s: float | None = None,
    workload: WorkloadSpec | Mapping | None = None,
    preset: str | Preset = "default",
    search: str | None = None,
    speculative: SpeculativeSpec | Mapping | None = None,
    price_usd_per_hour: float | None = None,
    alpha: float | None = None,
    backend: str = "jax",
    grid: GridSpec | None = None,
    space: DiscreteSpace | Mapping | None = None,
    serving: Mapping | str | None = None,
) -> Frontier:
    """Pareto frontier of $/M output tokens against tokens/s per request for one model on one accelerator.

    `model`, `hardware`: catalog ids, specs, or `{base: id, field: override}` mappings. `context_length` in
    tokens; `max_throughput_tokens_per_s` caps total demand. `preset` fixes assumptions ('default',
    'erdil-2024', 'erdil-paper'); `search` picks the configuration space ('erdil-grid' = the reference's
    continuous grid and threshold scan; 'continuous' = the same grid with an exact O(n log n) frontier;
    'discrete' = integer TP × EP × PP layouts and batches, bounded by `space`, a `DiscreteSpace` or a mapping
    of its fields: engine, gpu_memory_utilization, max_gpus_per_instance, pp_degrees, allow_2d,
    pp_bubble, ...). `price_usd_per_hour`: a number, or an ownership / rental cost (`OwnershipCost`, a cost
    mapping or file).

    With request lengths in the workload (`input_tokens`, `output_tokens`), every point also carries
    `usd_per_million_input_tokens`, `usd_per_million_output_tokens`, `ttft_s` and `e2e_latency_s`, and
    `serving="colocated" | "disaggregated"` (or `{"mode": ..., options}`) prices prefill into the frontier.

    >>> f = pareto_frontier("llama-3-70b", "h100-sxm", context_length=1000)
    >>> f.max_speed().tokens_per_s_per_request > 100
    True
    """
    check_backend(backend)
    dep = resolve_inputs(
        model,
        hardware,
        context_length=context_length,
        max_throughput_tokens_per_s=max_throughput_tokens_per_s,
        workload=workload,
        preset=preset,
        search=search,
        speculative=speculative,
        price_usd_per_hour=price_usd_per_hour,
        alpha=alpha,
        grid=grid,
        space=space,
        serving=serving,
    )
    return solve(dep, backend=backend)


def layouts(
    model,
    hardware,
    *,
    context_length: int = 1000,
    preset: str | Preset = "default",
    space: DiscreteSpace | Mapping | None = None,
) -> list[dict[str, Any]]:
    """Every integer layout of the discrete search with its KV capacity (tokens) and largest feasible batch.

    >>> rows = layouts("llama-3-70b", "h100-sxm", context_length=8000)
    >>> max(r["max_batch"] for r in rows if r["tp"] == 8 and r["pp"] == 1) > 0
    True
    """
    dep = resolve(
        model, hardware, context_length=context_length, preset=preset, search="discrete", space=space
    )
    t = layout_table(dep)
    return [
        {
            "tp": int(t.tp[i]),
            "ep": int(t.ep[i]),
            "pp": int(t.pp[i]),
            "tp_2d": bool(t.two_d[i]),
            "attn_dp": bool(t.attn_dp[i] > 0.5),
            "n_gpu": int(t.n_gpu[i]),
            "kv_replication": float(t.kv_replication[i]),
            "kv_capacity_tokens": float(t.kv_capacity_tokens[i]),
            "max_batch": int(t.max_batch[i]),
            "fits": bool(t.max_batch[i] >= 1),
        }
        for i in range(len(t))
    ]


def evaluate_point(
    model,
    hardware,
    *,
    batch_size: float,
    n_gpu: float | None = None,
    tp: int | None = None,
    ep: int = 1,
    pp: int = 1,
    tp_2d: bool = False,
    attn_dp: bool = False,
    context_length: int | None = None,
    preset: str | Preset = "default",
    speculative=None,
    price_usd_per_hour: float | None = None,
    engine: str = "vllm",
    backend: str = "jax",
    max_throughput_tokens_per_s: float | None = None,
    workload=None,
    serving: Mapping | str | None = None,
) -> dict[str, Any]:
    """Evaluate one deployment: speed, cost, MFU, bound term and step-time breakdown, as a dict with the same
    columns as a frontier point. Raises `InfeasibleError` (with the reason) when the deployment cannot run.

    Give `tp` (and optionally `ep`, `pp`, `tp_2d`, `attn_dp` for data-parallel attention) for an explicit
    integer layout, checked for divisibility and memory fit under `engine`; or `n_gpu` alone for the
    continuous model's best layout at that GPU count. With `max_throughput_tokens_per_s`, a deployment faster
    than the demand is priced at the demand it serves, as the non-reference searches do. With request lengths
    in `workload`, the point carries input/output prices, TTFT and end-to-end latency as frontiers do.
    `context_length` (tokens) defaults to 0, or to the workload's own context when a workload is given.

    >>> evaluate_point("llama-3-70b", "h100-sxm", tp=8, batch_size=64)["tokens_per_s_per_request"] > 0
    True
    """
    check_backend(backend)
    batch_size = positive_number("batch_size", batch_size, upper=MAX_BATCH_SIZE)
    if (n_gpu is None) == (tp is None):
        raise SpecError(
            "evaluate_point: give exactly one of tp=... (an explicit layout) or n_gpu=... (the best "
            "layout at that GPU count)"
        )
    if n_gpu is not None:
        n_gpu = positive_number("n_gpu", n_gpu, upper=1 << 20)
    dep = resolve_inputs(
        model,
        hardware,
        # An explicit context wins over the workload's; with neither, a point decodes at context 0.
        context_length=0 if context_length is None and workload is None else context_length,
        workload=workload,
        preset=preset,
        speculative=speculative,
        price_usd_per_hour=price_usd_per_hour,
        max_throughput_tokens_per_s=max_throughput_tokens_per_s,
        serving=serving,
        space={"engine": engine},
    )
    ma, ha, spec = deployment_arrays(dep)
    b = np.array([batch_size])
    ctx = float(dep.workload.context_length)
    if tp is not None:
        layout, extra = explicit_layout(
            dep, tp=tp, ep=ep, pp=pp, tp_2d=tp_2d, attn_dp=attn_dp, batch_size=batch_size, engine=engine
        )
        ev = evaluate(ma, ha, dep.conventions, None, b, ctx, spec, backend=backend, layout=layout)
        n = extra["tp"] * extra["ep"] * extra["pp"]
    else:
        n = np.array([n_gpu])
        ev = evaluate(ma, ha, dep.conventions, n, b, ctx, spec, backend=backend)
        extra = {}
        if not np.isfinite(ev.latency_s[0]):
            m, hw = dep.model, dep.hardware
            need = m.weight_memory_bytes + m.kv_cache_bytes_per_sequence(ctx) * batch_size
            raise InfeasibleError(
                f"does not fit: needs {need / 1e9:.3g} GB, {n_gpu:g} × "
                f"{hw.hbm_capacity_bytes / 1e9:.3g} GB available (or pipeline degree > batch)"
            )
    cap = dep.workload.max_throughput_tokens_per_s
    if cap is not None:
        ev = served_at_demand(ev, np.maximum(np.asarray(ev.gpu_s_per_token, float), n / cap), b, cap)
    c = Candidates(ev, n, b, extra=extra, served_cap_tokens_per_s=cap)
    f = frontier_from_candidates(c, dep.price_usd_per_hour, meta=dep.meta(), default_alpha=dep.alpha)
    f = serving_mode(dep.serving).apply(dep, f)
    if f.empty:
        raise InfeasibleError(f.reason or "the deployment cannot serve this workload")
    return f.point(0).to_dict()


# ---- scenario files ------------------------------------------------------------------------------------
def frontier_from_scenario(source: str | Path | Mapping[str, Any], *, where: str | None = None, **overrides):
    """The `Frontier` a scenario file (path, YAML text or mapping) describes; `where` names the source in
    errors (default: the path, or 'scenario' for a mapping).

    >>> f = frontier_from_scenario(
    ...     {"model": "llama-3-8b", "hardware": "h100-sxm", "workload": {"context_length": 500}}
    ... )
    >>> f.meta["model"]
    'Llama 3 8B'
    """
    where = where or (str(source) if not isinstance(source, Mapping) else "scenario")
    try:
        scenario = load_scenario(source)
    except ScenarioError as exc:
        msg = str(exc)
        raise ScenarioError(
            msg.replace("scenario:", f"{where}:", 1) if msg.startswith("scenario:") else msg
        ) from None
    kwargs = {**scenario.frontier_kwargs(), **overrides}
    check_catalog_ids(scenario, where)
    try:
        f = pareto_frontier(**kwargs)
    except SpecError as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    except CatalogError as exc:
        raise CatalogError(f"{where}: {exc}") from None
    meta: dict[str, Any] = {}
    if scenario.name:
        meta["scenario"] = scenario.name
    if scenario.observed is not None:
        meta["observed"] = _observed_placements(scenario, f, where)
    return f.with_meta(**meta) if meta else f


def _observed_placements(scenario: Scenario, f: Frontier, where: str) -> list[dict[str, Any]]:
    """Where each observed provider point lies against the frontier: inside, on or beyond
    (infereco.observed)."""
    if scenario.observed == "paper":
        base = scenario.model if isinstance(scenario.model, str) else scenario.model.get("base")
        points = [p for p in PAPER_POINTS if p.model_id == base]
    elif isinstance(scenario.observed, str):
        raise ScenarioError(
            f"{where}: observed = {scenario.observed!r}: expected 'paper' or a list of points"
        )
    else:
        points = []
        for i, item in enumerate(scenario.observed):
            try:
                points.append(
                    ObservedPoint(
                        str(item.get("name", f"point {i + 1}")),
                        str(item.get("model_id", "")),
                        item["tokens_per_s"],
                        item["usd_per_million_tokens"],
                        str(item.get("source", "user")),
                    )
                )
            except KeyError as exc:
                raise ScenarioError(
                    f"{where}: observed[{i}]: missing {exc.args[0]}; expected name, tokens_per_s, "
                    "usd_per_million_tokens"
                ) from None
            except ValueError as exc:
                raise ScenarioError(f"{where}: observed[{i}]: {exc}") from None
    if f.empty:
        return [{**p.to_dict(), "placement": "beyond"} for p in points]
    return [placement(f, p) for p in points]
