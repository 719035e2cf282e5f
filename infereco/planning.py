"""Capacity plans: traffic and latency targets in, the cheapest deployments out (aggregated serving).

For every candidate accelerator × engine, the discrete search's integer layouts (tensor / expert / pipeline
parallel, data-parallel attention) under that engine's memory rule give each layout's KV slots; the physics
gives its decode step time over the batch and its prefill time (`serving.engine_model.EngineModel`). Each
layout is tried at a few per-replica concurrency caps; the queueing model (`serving.queueing`: Poisson
arrivals split evenly over R replicas) gives p50/p90/p99 of TTFT, TPOT and E2E at λ/R, and the smallest R that
meets every target prices the plan. A daily profile (24 hourly rates) gets replicas per hour and the monthly
cost of that schedule beside a fixed fleet sized for the peak.

Prices: the accelerator's catalog price, a named tier of it, or `{hardware id: USD per hour}`. Input and
output token prices split the fleet's cost by the share of replica time spent prefilling (prompts) and
decoding (answers). Latencies are uncalibrated theory (the engine profiles of the fleet data are not applied
yet); the intervals of the issue are not computed yet.

>>> r = plan({"model": "llama-3-8b", "traffic": {"requests_per_s": 2, "input_tokens": 1000,
...            "output_tokens": 200}, "slo": {"ttft_s": {"p90": 1.0}, "tpot_s": {"p90": 0.05}},
...            "candidates": {"hardware": ["h100-sxm"], "engines": ["vllm"], "modes": ["aggregated"]}})
>>> best = r.plans[0]
>>> best["hardware"], best["meets_slo"], best["ttft_s_p90"] <= 1.0
('h100-sxm', True, True)
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import numpy as np

from infereco.errors import InferecoError, SpecError
from infereco.physics.requests import DeploymentArrays, prefill_times_s
from infereco.search.discrete import evaluate_layout_table, layout_table
from infereco.serving.engine_model import EngineModel
from infereco.serving.queueing import latency_quantiles
from infereco.specs.catalog import list_hardware, load_hardware, resolve_model
from infereco.specs.deployment import resolve
from infereco.specs.plan import PERCENTILES, PlanSpec
from infereco.specs.yaml_io import load_yaml_mapping

HOURS_PER_MONTH = 730.0  # 365 × 24 / 12
CHUNK_TOKENS = (
    8192  # chunked-prefill token budget per step (vLLM, SGLang, TensorRT-LLM defaults of this size)
)
_CAP_FRACTIONS = (1.0, 0.25, 1.0 / 16)  # per-replica concurrency caps tried, of the layout's KV slots
_LAYOUTS_PER_GPU_COUNT = 2  # the fastest and the highest-throughput layout at each instance size


@dataclasses.dataclass(frozen=True)
class PlanResult:
    """`plans`: ranked by USD per hour (cheapest first), each a dict of the plan's columns; `rejected`: one
    dict per candidate that cannot serve (hardware, engine, layout, reason)."""

    plans: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    spec: PlanSpec

    def to_json(self) -> dict[str, Any]:
        return {"plans": self.plans, "rejected": self.rejected}

    def best(self) -> dict[str, Any] | None:
        return self.plans[0] if self.plans else None


def _price(spec: PlanSpec, hw) -> float:
    p = spec.candidates.price
    if isinstance(p, dict):
        key = next((k for k in p if load_hardware(k).name == hw.name), None)
        if key is None:
            raise SpecError(f"candidates.price: no price for {hw.name!r}; give one per hardware id")
        return float(p[key])
    if p == "catalog":
        return float(hw.price_usd_per_hour)
    return float(hw.tier_price_usd_per_hour(p))


def _engine_models(dep, table, lengths, n_batch: int = 12):
    """(layout index, EngineModel) per kept layout: decode step time tabulated over the batch at the decode
    context, prefill fitted as base + P / rate on the layout's instance size."""
    p_mean, o_mean = lengths
    ok = np.flatnonzero(table.max_batch >= 1)
    if ok.size == 0:
        return [], ok
    top = float(np.max(table.max_batch[ok]))
    batches = np.unique(np.round(np.geomspace(1.0, max(top, 1.0), n_batch)))
    ev = evaluate_layout_table(dep, table, batches)
    lat = np.asarray(ev.latency_s, float)  # layouts × batches, s per decode step
    # Keep, per instance size, the layout fastest at batch 1 and the one with the most tokens/s per GPU.
    keep: list[int] = []
    for g in np.unique(table.n_gpu[ok]):
        rows = ok[table.n_gpu[ok] == g]
        fast = rows[np.argmin(lat[rows, 0])]
        thr = np.where(
            batches[None, :] <= table.max_batch[rows, None], batches[None, :] / lat[rows], 0.0
        ).max(axis=1)
        keep.extend(dict.fromkeys([int(fast), int(rows[np.argmax(thr)])]))
    arrays = DeploymentArrays.of(dep)
    lengths_p = np.linspace(max(p_mean / 4.0, 1.0), 2.0 * p_mean, 6).round()
    out = []
    for i in keep[: 4 * _LAYOUTS_PER_GPU_COUNT * 16]:
        cap = int(table.max_batch[i])
        use = (batches <= cap) & np.isfinite(lat[i])
        if use.sum() < 2:
            b_tab = np.array([0.0, 1.0])
            t_tab = np.array([lat[i, 0], lat[i, 0]]) if np.isfinite(lat[i, 0]) else None
        else:
            b_tab, t_tab = batches[use], lat[i, use]
        if t_tab is None:
            continue
        t_pre = np.asarray(prefill_times_s(arrays, float(table.n_gpu[i]), 1.0, lengths_p), float).ravel()
        if not np.all(np.isfinite(t_pre)):
            continue
        slope, base = np.polyfit(lengths_p, t_pre, 1)
        if slope <= 0:
            continue
        out.append((i, b_tab, t_tab, max(float(base), 0.0), float(slope), cap))
    return out, ok


def _passing(q, targets) -> list[int]:
    """Rows of a QueueingResult that are not saturated and meet every target."""
    return [j for j in range(q.saturated.size) if not q.saturated[j] and not _misses(q, targets, j)]


def _misses(q, targets, idx) -> list[tuple[str, str, float, float]]:
    """(quantity, percentile, predicted, target) of each target missed at row `idx` of a QueueingResult."""
    out = []
    for quantity, pct, target in targets:
        v = float(getattr(q, quantity)[idx, PERCENTILES.index(pct)])
        if not v <= target:
            out.append((quantity, pct, v, target))
    return out


def plan(spec: PlanSpec | dict | str, *, max_plans: int = 20) -> PlanResult:
    """Ranked deployments that serve the plan's traffic within its SLOs (see the module docstring).

    `spec`: a `PlanSpec`, its mapping, or the path of a plan YAML file.
    """
    if isinstance(max_plans, bool) or not isinstance(max_plans, int) or max_plans < 1:
        raise SpecError(f"plan: max_plans = {max_plans!r}: expected a positive whole number of plans")
    if isinstance(spec, (str, os.PathLike)):
        spec = load_yaml_mapping(spec)
    if not isinstance(spec, PlanSpec):
        spec = PlanSpec.validated(spec, where="plan")
    model = resolve_model(spec.model, where="plan.model")
    spec.check_context(model.max_context_tokens)
    tr = spec.traffic
    p_mean, o_mean = tr.input_tokens.mean, tr.output_tokens.mean
    lengths = {
        "input_tokens": tr.input_tokens.distribution(),
        "output_tokens": tr.output_tokens.distribution(),
    }
    targets = spec.slo.targets()
    hardware = spec.candidates.hardware or tuple(list_hardware())
    peak = tr.peak_requests_per_s
    hourly = np.asarray(tr.hourly_requests_per_s)
    plans: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for mode in spec.candidates.modes:
        if mode != "aggregated":
            rejected.append({"mode": mode, "reason": "disaggregated plans are not searched yet"})
    if "aggregated" not in spec.candidates.modes:
        return PlanResult([], rejected, spec)
    # Unknown ids and missing prices are the user's typos: fail before searching.
    priced = []
    for hw_id in hardware:
        try:
            hw = load_hardware(hw_id)
        except InferecoError as exc:
            raise SpecError(f"candidates.hardware: {exc}") from None
        try:
            priced.append((hw_id, hw, _price(spec, hw)))
        except InferecoError as exc:
            if spec.candidates.hardware is not None:
                raise SpecError(f"candidates.price: {exc}") from None
            rejected.append({"hardware": hw_id, "reason": f"no price: {exc}"})  # whole catalog: skip it
    for hw_id, hw, price in priced:
        for engine in spec.candidates.engines:
            try:
                dep = resolve(
                    model,
                    hw,
                    workload={"input_tokens": int(round(p_mean)), "output_tokens": int(round(o_mean))},
                    search="discrete",
                    space={"engine": engine, "max_gpus_per_instance": spec.candidates.max_gpus},
                    price_usd_per_hour=price,
                )
                table = layout_table(dep)
                engines, ok = _engine_models(dep, table, (p_mean, o_mean))
            except InferecoError as exc:
                rejected.append({"hardware": hw_id, "engine": engine, "reason": str(exc)})
                continue
            if not engines:
                why = (
                    "does not fit: no layout holds the weights and one request's KV cache within "
                    f"{spec.candidates.max_gpus} GPUs"
                )
                rejected.append({"hardware": hw_id, "engine": engine, "reason": why})
                continue
            for i, b_tab, t_tab, base, slope, kv_slots in engines:
                if len(plans) >= max_plans:
                    # A layout whose cheapest conceivable fleet (enough replicas for the peak's throughput)
                    # costs more than the max_plans-th plan so far cannot enter the ranking.
                    bound = sorted(r["usd_per_hour"] for r in plans)[max_plans - 1]
                    em0 = EngineModel(tuple(b_tab), tuple(t_tab), base, slope, kv_slots,
                                      max(CHUNK_TOKENS, 2 * kv_slots))  # fmt: skip
                    r_min = max(1, math.ceil(peak / em0.capacity_requests_per_s(p_mean, o_mean)))
                    if r_min * int(table.n_gpu[i]) * price > bound:
                        continue
                n_gpu = int(table.n_gpu[i])
                layout = {
                    "tp": int(table.tp[i]),
                    "pp": int(table.pp[i]),
                    "ep": int(table.ep[i]),
                    "attention_dp": bool(table.attn_dp[i] > 0.5),
                }
                r_max = spec.candidates.max_gpus // n_gpu
                if r_max < 1:
                    continue
                for frac in _CAP_FRACTIONS:
                    cap = max(1, int(kv_slots * frac))
                    if frac < 1.0 and cap == kv_slots:
                        continue
                    chunk = max(CHUNK_TOKENS, 2 * cap)
                    try:
                        em = EngineModel(tuple(b_tab), tuple(t_tab), base, slope, cap, chunk)
                    except SpecError:
                        continue
                    cap_rate = em.capacity_requests_per_s(p_mean, o_mean)
                    r_lo = max(1, math.ceil(peak / cap_rate)) if cap_rate > 0 else r_max + 1
                    cand = np.unique(np.clip(np.round(r_lo * np.geomspace(1.0, 64.0, 10)), 1, r_max)).astype(
                        int
                    )
                    cand = cand[cand >= min(r_lo, r_max)]
                    if r_lo > r_max:
                        why = f"exceeds max_gpus: {r_lo} replicas of {n_gpu} GPUs needed for {peak:g} req/s"
                        rejected.append(
                            {"hardware": hw_id, "engine": engine, **layout, "n_gpus": n_gpu,
                             "concurrency_cap": cap, "reason": why}
                        )  # fmt: skip
                        continue
                    q = latency_quantiles(em, requests_per_s=peak / cand, **lengths)
                    good = _passing(q, targets)
                    if not good:
                        j = cand.size - 1
                        miss = _misses(q, targets, j)
                        why = "; ".join(f"{a} {p} {v:.3g} s > {t:g} s" for a, p, v, t in miss) or "saturated"
                        rejected.append(
                            {"hardware": hw_id, "engine": engine, **layout, "n_gpus": n_gpu,
                             "concurrency_cap": cap, "reason": f"misses the SLO at {cand[j]} replicas: {why}"}
                        )  # fmt: skip
                        continue
                    j = good[0]
                    if j > 0 and cand[j] - cand[j - 1] > 1:
                        # Refine between the last failing and the first passing replica count.
                        fine = np.arange(cand[j - 1] + 1, cand[j] + 1)
                        q = latency_quantiles(em, requests_per_s=peak / fine, **lengths)
                        ok_f = _passing(q, targets)
                        cand, j = fine, ok_f[0]
                    replicas = int(cand[j])
                    row = _plan_row(
                        spec, hw_id, engine, layout, n_gpu, cap, replicas, price, q, j, em, p_mean, o_mean
                    )
                    if hourly.size > 1:
                        row.update(_schedule(spec, em, cand, lengths, targets, hourly, n_gpu, price, row))
                    plans.append(row)
                    break  # smaller concurrency caps only help a layout that misses a target
    plans.sort(key=lambda r: (r["usd_per_hour"], r["ttft_s_p90"]))
    return PlanResult(plans[:max_plans], rejected, spec)


def _plan_row(spec, hw_id, engine, layout, n_gpu, cap, replicas, price, q, j, em, p_mean, o_mean):
    peak = spec.traffic.peak_requests_per_s
    usd_h = replicas * n_gpu * price
    per = peak / replicas
    prefill_share = min(1.0, per * float(em.prefill_s(p_mean)))  # replica time spent on prompts
    in_tok_h = peak * 3600.0 * p_mean
    out_tok_h = peak * 3600.0 * o_mean
    binding = max(
        ((a, p, float(getattr(q, a)[j, PERCENTILES.index(p)]) / t) for a, p, t in spec.slo.targets()),
        key=lambda x: x[2],
    )
    row = {
        "hardware": hw_id,
        "engine": engine,
        "mode": "aggregated",
        "n_gpus": replicas * n_gpu,
        "replicas": replicas,
        "gpus_per_replica": n_gpu,
        **layout,
        "concurrency_cap": cap,
        "usd_per_hour": usd_h,
        "usd_per_month": usd_h * HOURS_PER_MONTH,
        "usd_per_million_input_tokens": usd_h * prefill_share / in_tok_h * 1e6,
        "usd_per_million_output_tokens": usd_h * (1.0 - prefill_share) / out_tok_h * 1e6,
        "utilisation": float(q.utilisation[j]),
        "headroom": float(1.0 / q.utilisation[j] - 1.0),
        "binding_constraint": f"{binding[0]} {binding[1]} at {100 * binding[2]:.0f}% of target",
        "meets_slo": True,
    }
    for a in ("ttft_s", "tpot_s", "e2e_s"):
        for k, p in enumerate(PERCENTILES):
            row[f"{a}_{p}"] = float(getattr(q, a)[j, k])
    return row


def _schedule(spec, em, cand, lengths, targets, hourly, n_gpu, price, row):
    """Replicas per hour of a daily profile (the smallest count meeting every target at that hour's rate) and
    the monthly cost of that schedule beside the fixed fleet sized for the peak."""
    per_hour = []
    capacity = em.capacity_requests_per_s(spec.traffic.input_tokens.mean, spec.traffic.output_tokens.mean)
    for rate in hourly:
        r_lo = max(1, math.ceil(rate / capacity))
        grid = np.arange(r_lo, row["replicas"] + 1)
        q = latency_quantiles(em, requests_per_s=rate / grid, **lengths)
        ok = _passing(q, targets)
        per_hour.append(int(grid[ok[0]]) if ok else row["replicas"])
    usd_day = sum(r * n_gpu * price for r in per_hour)
    return {
        "replicas_by_hour": per_hour,
        "usd_per_month_autoscaled": usd_day * HOURS_PER_MONTH / 24.0,
        "usd_per_month_fixed_at_peak": row["usd_per_month"],
    }
