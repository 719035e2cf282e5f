"""Entry points that tie specs → physics → search → frontier: `pareto_frontier` and `evaluate_point`."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from infereco.economics.hourly_cost import price_usd_per_hour as _price_from_cost
from infereco.errors import SpecError
from infereco.frontier import Frontier, frontier_from_evaluation, pareto_indices, threshold_scan_indices
from infereco.physics.structs import hardware_arrays, model_arrays
from infereco.search import erdil_grid
from infereco.search.evaluate import Evaluation, SpecArrays, evaluate
from infereco.search.discrete import DiscreteSpace, batch_sizes, enumerate_layouts
from infereco.search.evaluate import Layout
from infereco.search.select import pareto_candidates, threshold_select
from infereco.specs.catalog import resolve_hardware, resolve_model
from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec
from infereco.specs.presets import Preset, get_preset
from infereco.specs.speculative import SpeculativeSpec
from infereco.specs.workload import WorkloadSpec

SEARCHES = ("discrete", "erdil-grid", "continuous")


@dataclasses.dataclass(frozen=True)
class Problem:
    """Everything one frontier needs, validated once at the edge."""

    model: ModelSpec
    hardware: HardwareSpec
    workload: WorkloadSpec
    preset: Preset
    search: str
    speculative: SpeculativeSpec | None
    alpha: float

    @property
    def conventions(self):
        conv = self.preset.conventions
        changes: dict[str, Any] = {"collectives": self.hardware.collectives}
        if self.speculative is not None and self.speculative.convention is not None:
            changes["spec_convention"] = self.speculative.convention
        return dataclasses.replace(conv, **changes)


def build_problem(model, hardware, *, context_length=None, max_throughput_tokens_per_s=None, workload=None,
                  preset="default", search=None, speculative=None, price_usd_per_hour=None, alpha=None) -> Problem:
    """Validate and resolve the inputs of `pareto_frontier` (catalog ids, mappings, specs)."""
    p = get_preset(preset)
    m = resolve_model(model, base_override=p.apply_model)
    hw = resolve_hardware(hardware, base_override=p.apply)
    if isinstance(hardware, HardwareSpec):
        hw = p.apply(hw) if p.hardware_defaults else hw
    if price_usd_per_hour is not None:
        # A flat $/h, or a cost decomposition (OwnershipCost, RentalCost, HourlyCostBreakdown, cost YAML).
        hw = hw.replace(price_usd_per_hour=_price_from_cost(price_usd_per_hour))
    if workload is None:
        workload = {}
    if isinstance(workload, Mapping):
        data = dict(workload)
        if context_length is not None:
            data["context_length"] = context_length
        if max_throughput_tokens_per_s is not None:
            data["max_throughput_tokens_per_s"] = max_throughput_tokens_per_s
        workload = WorkloadSpec.validated(data)
    elif context_length is not None or max_throughput_tokens_per_s is not None:
        workload = workload.replace(**{k: v for k, v in dict(context_length=context_length,
                                       max_throughput_tokens_per_s=max_throughput_tokens_per_s).items() if v is not None})
    spec = None
    if speculative is not None:
        if isinstance(speculative, SpeculativeSpec):
            spec = speculative
        elif isinstance(speculative, Mapping):
            data = dict(speculative)
            if "draft" not in data:
                raise SpecError("speculative.draft: missing; expected a catalog id or {base: id, ...}")
            data["draft"] = resolve_model(data["draft"], where="speculative.draft", base_override=p.apply_model)
            spec = SpeculativeSpec.validated(data, where="speculative")
        else:
            raise SpecError(f"speculative: expected a mapping or SpeculativeSpec, got {type(speculative).__name__}")
    s = search or p.search
    if s not in SEARCHES:
        raise SpecError(f"search={s!r}: unknown search; known searches: {', '.join(SEARCHES)}")
    try:
        a = p.alpha if alpha is None else float(alpha)
    except (TypeError, ValueError):
        raise SpecError(f"alpha={alpha!r}: expected a number >= 0 (the preference exponent)") from None
    if not (math.isfinite(a) and a >= 0):
        raise SpecError(f"alpha={alpha!r}: expected a finite number >= 0 (the preference exponent; paper 3, notebook 4)")
    for bits in {p.operand_bits(m.weight_bits, m.activation_bits)}:
        try:
            hw.peak_flop_per_s(bits)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
    return Problem(m, hw, workload, p, s, spec, a)


def _arrays(problem: Problem):
    m, hw, p = problem.model, problem.hardware, problem.preset
    ma = model_arrays(m)
    ha = hardware_arrays(hw, p.operand_bits(m.weight_bits, m.activation_bits))
    spec = None
    if problem.speculative is not None:
        d = problem.speculative.draft
        spec = SpecArrays(model_arrays(d), hardware_arrays(hw, p.operand_bits(d.weight_bits, d.activation_bits)),
                          float(problem.speculative.acceptance), int(problem.speculative.max_draft_tokens))
    return ma, ha, spec


def _meta(problem: Problem) -> dict[str, Any]:
    return {
        "model": problem.model.name,
        "hardware": problem.hardware.name,
        "context_length": problem.workload.context_length,
        "max_throughput_tokens_per_s": problem.workload.max_throughput_tokens_per_s,
        "price_usd_per_hour": problem.hardware.price_usd_per_hour,
        "preset": problem.preset.name,
        "search": problem.search,
        "speculative": None if problem.speculative is None else {
            "draft": problem.speculative.draft.name, "acceptance": problem.speculative.acceptance,
            "max_draft_tokens": problem.speculative.max_draft_tokens,
            "convention": problem.conventions.spec_convention,
        },
        "alpha": problem.alpha,
    }


def _no_point_reason(problem: Problem, any_feasible: bool, largest_n_gpu: float) -> str:
    m, hw, w = problem.model, problem.hardware, problem.workload
    if any_feasible:
        return f"every feasible configuration exceeds the demand cap of {w.max_throughput_tokens_per_s:g} tokens/s"
    kv = f" plus {m.kv_cache_bytes_per_token * w.context_length / 1e9:.3g} GB of KV cache per sequence" if w.context_length else ""
    return (f"{m.name} does not fit: weights need {m.weight_memory_bytes / 1e9:.3g} GB{kv}, and the largest instance "
            f"searched has {largest_n_gpu * hw.hbm_capacity_bytes / 1e9:.3g} GB of HBM")


def solve(problem: Problem, *, backend: str = "jax", grid: erdil_grid.GridSpec | None = None,
          space: DiscreteSpace | None = None) -> Frontier:
    """Evaluate the problem's search space and extract its frontier."""
    if problem.search == "discrete":
        return _solve_discrete(problem, space or DiscreteSpace(), backend)
    return _solve_grid(problem, backend, grid)


def _solve_discrete(problem: Problem, space: DiscreteSpace, backend: str) -> Frontier:
    """Frontier over integer TP × EP × PP layouts and integer batches with the engine's memory fit."""
    m, hw, w = problem.model, problem.hardware, problem.workload
    ma, ha, spec = _arrays(problem)
    draft = problem.speculative.draft if problem.speculative else None
    table = enumerate_layouts(m, hw.hbm_capacity_bytes, w.context_length, space, draft=draft)
    rejected = dict(table.rejected)
    cap = w.max_throughput_tokens_per_s
    if len(table) == 0 or not np.any(table.max_batch >= 1):
        reason = _no_point_reason(problem, False, float(space.max_gpus_per_instance))
        rejected["does not fit in memory"] = rejected.get("does not fit in memory", 0) + len(table)
        return Frontier({}, meta={**_meta(problem), "rejected": rejected}, reason=reason, default_alpha=problem.alpha)
    batches = batch_sizes(float(np.max(table.max_batch)), space.n_batch)
    n_lay, n_b = len(table), batches.size
    draft_pa = bool(spec and problem.speculative.draft.parallel_attention)
    if backend == "numpy":
        lay_idx, b_idx = np.divmod(np.arange(n_lay * n_b), n_b)
        layout = Layout(*(np.asarray(a)[lay_idx] for a in table.as_layout(column=False)))
        ev = evaluate(ma, ha, problem.conventions, None, batches[b_idx], float(w.context_length),
                      parallel_attention=m.parallel_attention, spec=spec, draft_parallel_attention=draft_pa,
                      backend="numpy", layout=layout)
    else:
        # Pad to bucketed shapes (layouts to a power of two, batches to n_batch) so that the next model or
        # context reuses the compiled function; padded entries repeat the last real one and are dropped below.
        b_pad = np.concatenate([batches, np.full(max(space.n_batch, n_b) - n_b, batches[-1])])
        lay_pad = max(64, 1 << (n_lay - 1).bit_length())
        # Very large spaces run in equal chunks of layouts (bounded memory, one compiled shape).
        chunk = min(lay_pad, max(64, 1 << int(np.log2(max(space.max_configs_per_call // b_pad.size, 1)))))
        lay_pad = -(-lay_pad // chunk) * chunk
        lay_rows = np.minimum(np.arange(lay_pad), n_lay - 1)
        full_layout = table.as_layout(column=False)
        parts = []
        for start in range(0, lay_pad, chunk):
            rows = lay_rows[start:start + chunk]
            layout = Layout(*(np.asarray(a)[rows][:, None] for a in full_layout))
            out = evaluate(ma, ha, problem.conventions, None, b_pad[None, :], float(w.context_length),
                           parallel_attention=m.parallel_attention, spec=spec, draft_parallel_attention=draft_pa,
                           backend=backend, layout=layout, on_device=True)
            parts.append([np.broadcast_to(np.asarray(a), (chunk, b_pad.size)) for a in out])
        ev = Evaluation(*(np.concatenate([p[i] for p in parts])[:n_lay, :n_b] for i in range(len(Evaluation._fields))))
    lat = np.asarray(ev.latency_s).reshape(len(table), batches.size)
    fits = batches[None, :] <= table.max_batch[:, None]
    pp_ok = batches[None, :] >= table.min_batch[:, None]
    finite = np.isfinite(lat)
    throughput = np.where(finite, batches[None, :] / np.where(finite, lat, 1.0), np.inf)
    rejected["does not fit in memory"] = rejected.get("does not fit in memory", 0) + int((~fits).sum())
    rejected["batch smaller than pipeline stages × DP-attention ranks"] = int((fits & ~pp_ok).sum())
    ok = fits & pp_ok & finite
    latency = np.where(ok, lat, np.inf).ravel()
    gpu_s = _as_grid(ev.gpu_s_per_token, lat.shape)
    if cap is not None:
        # An instance faster than the demand runs below capacity: it is paid for all the time but serves only
        # `cap` tokens/s, so its cost per token is at least n_gpu / cap.
        gpu_s = np.maximum(gpu_s, table.n_gpu[:, None] / cap)
    cost = np.where(ok, gpu_s, np.inf).ravel()
    idx = pareto_indices(latency, cost)
    lay_i, b_i = np.divmod(idx, batches.size)
    flat = Evaluation(*(_as_grid(a, lat.shape).ravel()[idx] for a in ev))
    flat = _served_at_demand(flat, gpu_s.ravel()[idx], batches[b_i], cap)
    n_gpu = table.n_gpu[lay_i]
    extra = {"tp": table.tp[lay_i], "ep": table.ep[lay_i], "pp": table.pp[lay_i], "attn_dp": table.attn_dp[lay_i] > 0.5,
             "max_batch": table.max_batch[lay_i], "kv_capacity_tokens": table.kv_capacity_tokens[lay_i]}
    meta = {**_meta(problem), "engine": space.engine, "rejected": rejected,
            "configurations": int(len(table) * batches.size)}
    reason = None if len(idx) else _no_point_reason(problem, bool(np.any(fits & pp_ok & finite)), float(np.max(table.n_gpu)))
    f = frontier_from_evaluation(flat, n_gpu, batches[b_i], hw.price_usd_per_hour, np.arange(len(idx)),
                                 extra_columns=extra, meta=meta, reason=reason, default_alpha=problem.alpha,
                                 served_cap_tokens_per_s=cap)
    f.columns["tp"] = table.tp[lay_i] if len(idx) else np.zeros(0)
    if cap is not None and len(idx):
        f.columns["dp"] = np.maximum(1.0, np.floor(cap / f.columns["throughput_tokens_per_s"]))
    return f


def _served_at_demand(ev: Evaluation, gpu_s_per_token, batch, cap) -> Evaluation:
    """Cost and MFU of configurations at the demand they serve (below capacity when over the demand cap)."""
    if cap is None:
        return ev
    lat = np.asarray(ev.latency_s, float)
    served = np.minimum(1.0, cap * lat / np.asarray(batch, float))
    return ev._replace(gpu_s_per_token=np.asarray(gpu_s_per_token, float), mfu=np.asarray(ev.mfu, float) * served)


def _as_grid(a, shape):
    """A (layouts × batches) view of an evaluation array, flat (numpy backend) or broadcastable (JAX)."""
    a = np.asarray(a)
    return a.reshape(shape) if a.size == np.prod(shape) else np.broadcast_to(a, shape)


def _solve_grid(problem: Problem, backend: str, grid: erdil_grid.GridSpec | None) -> Frontier:
    """Evaluate the continuous grid and extract its frontier.

    The JAX backend evaluates the grid as an outer product (GPU counts × batch sizes) and selects the frontier on
    device in O(n); the numpy backend evaluates every configuration as a flat array and sorts (the reference).
    """
    g = grid or erdil_grid.GridSpec()
    m, hw, w = problem.model, problem.hardware, problem.workload
    ma, ha, spec = _arrays(problem)
    n_axis, b_axis = erdil_grid.grid_axes(m.weight_memory_bytes, hw.hbm_capacity_bytes, m.sparsity, g)
    draft_pa = bool(spec and problem.speculative.draft.parallel_attention)
    cap = w.max_throughput_tokens_per_s
    n_full = np.repeat(n_axis, b_axis.size)
    b_full = np.tile(b_axis, n_axis.size)
    if backend == "numpy":
        ev = evaluate(ma, ha, problem.conventions, n_full, b_full, float(w.context_length),
                      parallel_attention=m.parallel_attention, spec=spec, draft_parallel_attention=draft_pa,
                      backend="numpy")
        latency = ev.latency_s.ravel()
        any_feasible = bool(np.isfinite(latency).any())
        gpu_s = ev.gpu_s_per_token.ravel()
        if cap is not None and problem.search == "erdil-grid":
            latency = np.where(b_full / latency <= cap, latency, np.inf)  # the reference drops them
        elif cap is not None:
            gpu_s = np.maximum(gpu_s, n_full / cap)  # served below capacity (see _solve_discrete)
        ev = ev._replace(gpu_s_per_token=gpu_s.reshape(np.shape(ev.gpu_s_per_token)))
        cost = np.where(np.isfinite(latency), gpu_s, np.inf)
        if problem.search == "erdil-grid":
            idx = threshold_scan_indices(latency, cost, erdil_grid.thresholds_s(g))
        else:
            idx = pareto_indices(latency, cost)
    else:
        ev = evaluate(ma, ha, problem.conventions, n_axis[:, None], b_axis[None, :], float(w.context_length),
                      parallel_attention=m.parallel_attention, spec=spec, draft_parallel_attention=draft_pa,
                      backend=backend, on_device=True)
        latency, cost, any_feasible = _capped(ev.latency_s, ev.gpu_s_per_token, jnp.asarray(n_axis)[:, None],
                                              jnp.asarray(b_axis)[None, :], jnp.inf if cap is None else float(cap),
                                              problem.search == "erdil-grid")
        ev = ev._replace(gpu_s_per_token=cost)
        any_feasible = bool(any_feasible)
        if problem.search == "erdil-grid":
            chosen = np.asarray(threshold_select(latency, cost, jnp.asarray(erdil_grid.thresholds_s(g))))
            chosen = chosen[chosen >= 0]
            _, first = np.unique(chosen, return_index=True)
            idx = chosen[np.sort(first)]
        else:
            mask = np.asarray(pareto_candidates(latency, cost)).ravel()
            sub = np.flatnonzero(mask)
            idx = sub[pareto_indices(np.asarray(latency).ravel()[sub], np.asarray(cost).ravel()[sub])]
        ev = Evaluation(*(np.asarray(a).ravel()[idx] for a in jnp.broadcast_arrays(*ev)))
        n_full, b_full = n_full[idx], b_full[idx]
        idx = np.arange(idx.size)
    reason = None if len(idx) else _no_point_reason(problem, any_feasible, float(n_axis.max()))
    sel = lambda a: np.asarray(a, float).ravel()[idx]  # noqa: E731
    if problem.search != "erdil-grid" and cap is not None:
        ev = _served_at_demand(Evaluation(*(sel(a) for a in ev)), sel(ev.gpu_s_per_token), sel(b_full), cap)
        n_full, b_full, idx = sel(n_full), sel(b_full), np.arange(len(idx))
    return frontier_from_evaluation(ev, n_full, b_full, hw.price_usd_per_hour, idx, meta=_meta(problem),
                                    reason=reason, default_alpha=problem.alpha,
                                    served_cap_tokens_per_s=None if problem.search == "erdil-grid" else cap)


@functools.partial(jax.jit, static_argnames=("drop_over_cap",))
def _capped(latency, cost, n_gpu, batch, cap, drop_over_cap):
    """Apply the demand cap: the reference drops configurations over it (batch / latency > cap); otherwise they
    serve the demand below capacity at n_gpu / cap accelerator-seconds per token at least. cost = inf where
    infeasible."""
    finite = jnp.isfinite(latency)
    if drop_over_cap:
        ok = finite & (batch / jnp.where(finite, latency, 1.0) <= cap)
        return jnp.where(ok, latency, jnp.inf), jnp.where(ok, cost, jnp.inf), jnp.any(finite)
    cost = jnp.maximum(cost, n_gpu / cap)
    return latency, jnp.where(finite, cost, jnp.inf), jnp.any(finite)


def pareto_frontier(model: ModelSpec | str | Mapping, hardware: HardwareSpec | str | Mapping, *,
                    context_length: int | None = None, max_throughput_tokens_per_s: float | None = None,
                    workload: WorkloadSpec | Mapping | None = None, preset: str | Preset = "default",
                    search: str | None = None, speculative: SpeculativeSpec | Mapping | None = None,
                    price_usd_per_hour: float | None = None, alpha: float | None = None,
                    backend: str = "jax", grid: erdil_grid.GridSpec | None = None,
                    space: DiscreteSpace | Mapping | None = None, serving: Mapping | None = None) -> Frontier:
    """Pareto frontier of $/M output tokens against tokens/s per request for one model on one accelerator.

    `model`, `hardware`: catalog ids, specs, or `{base: id, field: override}` mappings. `context_length` in
    tokens; `max_throughput_tokens_per_s` caps total demand. `preset` fixes assumptions ('default',
    'erdil-2024', 'erdil-paper'); `search` picks the configuration space ('erdil-grid' = the reference's
    continuous grid and threshold scan; 'continuous' = the same grid with an exact O(n log n) frontier;
    'discrete' = integer TP × EP × PP layouts and batches, bounded by `space`, a `DiscreteSpace` or a mapping of
    its fields: engine, gpu_memory_utilization, max_gpus_per_instance, pp_degrees, allow_2d, pp_bubble, ...).

    With request lengths in the workload (`input_tokens`, `output_tokens`), every point also carries
    `usd_per_million_input_tokens`, `usd_per_million_output_tokens`, `ttft_s` and `e2e_latency_s`, and
    `serving={"mode": "colocated" | "disaggregated", ...}` prices prefill into the frontier (every GPU counted).

    >>> f = pareto_frontier("llama-3-70b", "h100-sxm", context_length=1000)
    >>> f.max_speed().tokens_per_s_per_request > 100
    True
    """
    _check_backend(backend)
    problem = build_problem(model, hardware, context_length=context_length,
                            max_throughput_tokens_per_s=max_throughput_tokens_per_s, workload=workload, preset=preset,
                            search=search, speculative=speculative, price_usd_per_hour=price_usd_per_hour, alpha=alpha)
    f = solve(problem, backend=backend, grid=grid, space=discrete_space(space))
    return with_requests(problem, f, serving)


SERVING_MODES = ("decode_only", "colocated", "disaggregated")


def with_requests(problem: Problem, f: Frontier, serving: Mapping | None = None) -> Frontier:
    """Add prefill (input $/M, TTFT, end-to-end latency) to a decode frontier when the workload has lengths;
    with `serving.mode` 'colocated' or 'disaggregated', return that serving mode's frontier instead."""
    lengths = problem.workload.lengths()
    opts = dict(serving or {})
    mode = opts.pop("mode", "decode_only")
    if mode not in SERVING_MODES:
        raise SpecError(f"serving.mode = {mode!r}: expected one of {', '.join(SERVING_MODES)}")
    if lengths is None:
        if serving:
            raise SpecError("serving: needs request lengths; add workload.input_tokens and workload.output_tokens")
        return f
    if f.empty:
        return f
    w = problem.workload
    if mode == "decode_only":
        if opts:
            raise SpecError(f"serving: options {sorted(opts)} apply to modes colocated and disaggregated only")
        from infereco.economics.token_prices import frontier_token_prices

        kw = dict(prompt_tokens=lengths.mean_input_tokens, chunk_tokens=w.prefill_chunk_tokens, preset=problem.preset)
        # Input tokens are priced with the instance prefilling a whole batch of prompts at once (throughput);
        # TTFT is that of one prompt arriving at an idle instance (no queueing).
        cols = frontier_token_prices(f, problem.model, problem.hardware,
                                     prefill_batch=np.asarray(f.columns["batch_size"], float), **kw)
        single = frontier_token_prices(f, problem.model, problem.hardware, prefill_batch=1.0, **kw)
        cols["ttft_s"] = single["ttft_s"]
        out = Frontier({**f.columns, **cols}, meta=dict(f.meta), default_alpha=f.default_alpha)
        out.columns["e2e_latency_s"] = out.columns["ttft_s"] + lengths.mean_output_tokens * out.columns["latency_s"]
        out.meta.update(serving="decode_only", mean_input_tokens=lengths.mean_input_tokens,
                        mean_output_tokens=lengths.mean_output_tokens)
        return out
    from infereco.disaggregation import compare_serving

    known = {"colocated_prefill_batch", "kv_transfer_bandwidth_bytes_per_s"}
    unknown = set(opts) - known
    if unknown:
        raise SpecError(f"serving: unknown options {sorted(unknown)}; known: mode, {', '.join(sorted(known))}")
    cmp = compare_serving(f, problem.model, problem.hardware, lengths, preset=problem.preset,
                          chunk_tokens=w.prefill_chunk_tokens, max_ttft_s=w.max_ttft_s, **opts)
    chosen = cmp.colocated if mode == "colocated" else cmp.disaggregated
    chosen.meta.update({k: v for k, v in f.meta.items() if k not in chosen.meta})
    chosen.meta["serving"] = mode
    if mode == "disaggregated":
        chosen.meta["prefill_pool"] = cmp.prefill.to_dict()
    return chosen


def _check_backend(backend: str) -> None:
    if backend not in ("jax", "numpy"):
        raise SpecError(f"backend={backend!r}: expected 'jax' (jitted, default) or 'numpy' (the reference backend)")


def _positive_number(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{name}={value!r}: expected a positive finite number") from None
    if not (v > 0 and math.isfinite(v)):
        raise SpecError(f"{name}={value!r}: expected a positive finite number")
    return v


def discrete_space(space: DiscreteSpace | Mapping | None) -> DiscreteSpace | None:
    """A validated `DiscreteSpace` from a mapping of its fields (errors name the field)."""
    if space is None or isinstance(space, DiscreteSpace):
        return space
    if not isinstance(space, Mapping):
        raise SpecError(f"discrete: expected a mapping of search options, got {type(space).__name__}")
    fields = {f.name: f for f in dataclasses.fields(DiscreteSpace)}
    data = dict(space)
    for key, value in data.items():
        if key not in fields:
            raise SpecError(f"discrete.{key}: unknown option; known options: {', '.join(fields)}")
    if "pp_degrees" in data:
        pp = data["pp_degrees"]
        if not isinstance(pp, (list, tuple)) or not pp or not all(isinstance(v, int) and v >= 1 for v in pp):
            raise SpecError(f"discrete.pp_degrees = {pp!r}: expected a list of positive integers, e.g. [1, 2, 4]")
        data["pp_degrees"] = tuple(pp)
    for key in ("max_gpus_per_instance", "n_batch", "max_batch", "max_configs_per_call"):
        if key in data and (not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] < 1):
            raise SpecError(f"discrete.{key} = {data[key]!r}: expected a positive integer")
    for key in ("allow_2d", "pp_bubble"):
        if key in data and not isinstance(data[key], bool):
            raise SpecError(f"discrete.{key} = {data[key]!r}: expected true or false")
    out = DiscreteSpace(**data)
    from infereco.search.engines import get_engine

    get_engine(out.engine, out.gpu_memory_utilization)  # validates both
    return out


def layouts(model, hardware, *, context_length: int = 1000, preset: str | Preset = "default",
            space: DiscreteSpace | Mapping | None = None) -> list[dict[str, Any]]:
    """Every integer layout of the discrete search with its KV capacity (tokens) and largest feasible batch.

    >>> rows = layouts("llama-3-70b", "h100-sxm", context_length=8000)
    >>> max(r["max_batch"] for r in rows if r["tp"] == 8 and r["pp"] == 1) > 0
    True
    """
    problem = build_problem(model, hardware, context_length=context_length, preset=preset, search="discrete")
    sp = discrete_space(space) or DiscreteSpace()
    t = enumerate_layouts(problem.model, problem.hardware.hbm_capacity_bytes, context_length, sp)
    return [{"tp": int(t.tp[i]), "ep": int(t.ep[i]), "pp": int(t.pp[i]), "tp_2d": bool(t.two_d[i]),
             "n_gpu": int(t.n_gpu[i]), "kv_replication": float(t.kv_replication[i]),
             "kv_capacity_tokens": float(t.kv_capacity_tokens[i]), "max_batch": int(t.max_batch[i]),
             "fits": bool(t.max_batch[i] >= 1)} for i in range(len(t))]


def evaluate_point(model, hardware, *, batch_size: float, n_gpu: float | None = None, tp: int | None = None,
                   ep: int = 1, pp: int = 1, tp_2d: bool = False, attn_dp: bool = False, context_length: int = 0,
                   preset: str | Preset = "default", speculative=None, price_usd_per_hour: float | None = None,
                   engine: str = "vllm", backend: str = "jax",
                   max_throughput_tokens_per_s: float | None = None) -> dict[str, Any]:
    """Evaluate one deployment: speed, cost, MFU, bound term and step-time breakdown.

    Give `tp` (and optionally `ep`, `pp`, `tp_2d`, `attn_dp` for data-parallel MLA attention) for an explicit
    integer layout, checked for divisibility and memory fit under `engine`; or `n_gpu` alone for the continuous
    model's best layout at that GPU count. With `max_throughput_tokens_per_s`, a deployment faster than the
    demand is priced at the demand it serves, as the non-reference searches do.

    >>> evaluate_point("llama-3-70b", "h100-sxm", tp=8, batch_size=64)["tokens_per_s_per_request"] > 0
    True
    """
    _check_backend(backend)
    batch_size = _positive_number("batch_size", batch_size)
    if n_gpu is not None:
        n_gpu = _positive_number("n_gpu", n_gpu)
    problem = build_problem(model, hardware, context_length=context_length, preset=preset, speculative=speculative,
                            price_usd_per_hour=price_usd_per_hour)
    ma, ha, spec = _arrays(problem)
    b = np.array([float(batch_size)])
    draft_pa = bool(spec and problem.speculative.draft.parallel_attention)
    m, hw = problem.model, problem.hardware
    if tp is not None:
        for name, v in (("tp", tp), ("ep", ep), ("pp", pp)):
            if int(v) != v or v < 1:
                raise SpecError(f"{name}={v}: expected a positive integer")
        space = DiscreteSpace(max_gpus_per_instance=int(tp * ep * pp), pp_degrees=(int(pp),), engine=engine,
                              max_batch=max(1 << 16, int(batch_size)))
        table = enumerate_layouts(m, hw.hbm_capacity_bytes, context_length,
                                  space, draft=problem.speculative.draft if problem.speculative else None)
        sel = ((table.tp == tp) & (table.ep == ep) & (table.pp == pp) & (table.two_d == float(tp_2d))
               & (table.attn_dp == float(attn_dp)))
        if not sel.any():
            why = "; ".join(table.rejected) or (
                f"tp·ep = {tp * ep} must divide n_heads = {m.n_heads}, ep must divide n_experts = {m.n_experts}, "
                f"2D needs a square stage size, pp ≤ n_layers")
            return {"feasible": False, "reason": f"not a valid layout: {why}", "tp": tp, "ep": ep, "pp": pp,
                    "batch_size": float(batch_size)}
        i = int(np.flatnonzero(sel)[0])
        if batch_size > table.max_batch[i] or batch_size < table.min_batch[i]:
            reason = (f"does not fit: at most {int(table.max_batch[i])} sequences of {context_length} tokens fit "
                      f"({engine} memory rule)" if batch_size > table.max_batch[i]
                      else f"batch below {int(table.min_batch[i])}, the pipeline stages × DP-attention ranks")
            return {"feasible": False, "reason": reason, "tp": tp, "ep": ep, "pp": pp, "batch_size": float(batch_size)}
        layout = Layout(*(np.asarray(a)[i:i + 1] for a in table.as_layout(column=False)))
        ev = evaluate(ma, ha, problem.conventions, None, b, float(context_length), parallel_attention=m.parallel_attention,
                      spec=spec, draft_parallel_attention=draft_pa, backend=backend, layout=layout)
        n = np.array([float(tp * ep * pp)])
        extra = {"tp": np.array([float(tp)]), "ep": np.array([float(ep)]), "pp": np.array([float(pp)]),
                 "attn_dp": np.array([bool(attn_dp)]),
                 "max_batch": table.max_batch[i:i + 1], "kv_capacity_tokens": table.kv_capacity_tokens[i:i + 1]}
    else:
        if n_gpu is None or not (n_gpu > 0 and math.isfinite(n_gpu)):
            raise SpecError(f"n_gpu={n_gpu}: expected a positive finite number (or give tp=...)")
        n = np.array([float(n_gpu)])
        ev = evaluate(ma, ha, problem.conventions, n, b, float(context_length), parallel_attention=m.parallel_attention,
                      spec=spec, draft_parallel_attention=draft_pa, backend=backend)
        extra = {}
        if not np.isfinite(ev.latency_s[0]):
            need = m.weight_memory_bytes + m.kv_cache_bytes_per_token * context_length * batch_size
            return {"feasible": False, "reason": f"does not fit: needs {need / 1e9:.3g} GB, "
                    f"{n_gpu:g} × {hw.hbm_capacity_bytes / 1e9:.3g} GB available (or pipeline degree > batch)",
                    "n_gpu": float(n_gpu), "batch_size": float(batch_size)}
    cap = None
    if max_throughput_tokens_per_s is not None:
        cap = _positive_number("max_throughput_tokens_per_s", max_throughput_tokens_per_s)
        ev = _served_at_demand(ev, np.maximum(np.asarray(ev.gpu_s_per_token, float), n / cap), b, cap)
    f = frontier_from_evaluation(ev, n, b, hw.price_usd_per_hour, np.array([0]), extra_columns=extra,
                                 meta=_meta(problem), served_cap_tokens_per_s=cap)
    out = f.point(0).to_dict()
    out["feasible"] = True
    return out
