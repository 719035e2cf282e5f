"""The reference notebook's continuous search grid (GPU counts and batch sizes as real numbers).

Batch sizes 2^u, u evenly spaced on [0, 18 + log2 s]; GPU counts 2^v, v evenly spaced on
[log2(weight bytes / HBM capacity), 18]; 400 values each. The frontier is read off at 600 latency thresholds
10^-3·10^w, w evenly spaced on [−1, 3].
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from infereco.search.base import Candidates, check_backend, no_point_reason, served_at_demand
from infereco.search.evaluate import Evaluation, deployment_arrays, evaluate
from infereco.search.select import pareto_candidates, pareto_indices, threshold_scan_indices, threshold_select
from infereco.specs.deployment import Deployment
from infereco.specs.space import GridSpec

_DEFAULT_GRID = GridSpec()


def grid_axes(
    weight_memory_bytes: float, hbm_capacity_bytes: float, sparsity: float, grid: GridSpec = _DEFAULT_GRID
):
    """(GPU counts, batch sizes) of the continuous grid, as 1-D float arrays."""
    batch = 2.0 ** np.linspace(0.0, grid.max_log2_batch + math.log2(sparsity), grid.n_batch)
    low = math.log2(weight_memory_bytes / hbm_capacity_bytes)
    n_gpu = 2.0 ** np.linspace(low, grid.max_log2_gpu, grid.n_gpu)
    return n_gpu, batch


def thresholds_s(grid: GridSpec = _DEFAULT_GRID) -> np.ndarray:
    return 10.0 ** np.linspace(grid.min_log10_threshold_s, grid.max_log10_threshold_s, grid.n_thresholds)


@functools.partial(jax.jit, static_argnames=("drop_over_cap",))
def _capped(latency, cost, n_gpu, batch, cap, drop_over_cap):
    """Apply the demand cap: the reference drops configurations over it (batch / latency > cap); otherwise
    they serve the demand below capacity at n_gpu / cap accelerator-seconds per token at least. cost = inf
    where infeasible."""
    finite = jnp.isfinite(latency)
    if drop_over_cap:
        ok = finite & (batch / jnp.where(finite, latency, 1.0) <= cap)
        return jnp.where(ok, latency, jnp.inf), jnp.where(ok, cost, jnp.inf), jnp.any(finite)
    cost = jnp.maximum(cost, n_gpu / cap)
    return latency, jnp.where(finite, cost, jnp.inf), jnp.any(finite)


@dataclasses.dataclass(frozen=True)
class GridSearch:
    """The continuous grid of GPU counts × batch sizes. `threshold_scan` = True is the reference notebook's
    frontier (cheapest point under each latency threshold; configurations over the demand cap dropped);
    False is the exact O(n log n) Pareto frontier (configurations over the cap serve it below capacity).

    The JAX backend evaluates the grid as an outer product and selects on device in O(n); the numpy backend
    evaluates every configuration as a flat array and sorts (the reference)."""

    name: str = "continuous"
    threshold_scan: bool = False

    def run(self, dep: Deployment, backend: str = "jax") -> Candidates:
        check_backend(backend)
        g, m, hw, w = dep.grid, dep.model, dep.hardware, dep.workload
        ma, ha, spec = deployment_arrays(dep)
        n_axis, b_axis = grid_axes(m.weight_memory_bytes, hw.hbm_capacity_bytes, m.sparsity, g)
        cap = w.max_throughput_tokens_per_s
        n_full = np.repeat(n_axis, b_axis.size)
        b_full = np.tile(b_axis, n_axis.size)
        if backend == "numpy":
            ev = evaluate(
                ma, ha, dep.conventions, n_full, b_full, float(w.context_length), spec, backend="numpy"
            )
            latency = ev.latency_s.ravel()
            any_feasible = bool(np.isfinite(latency).any())
            gpu_s = ev.gpu_s_per_token.ravel()
            if cap is not None and self.threshold_scan:
                latency = np.where(b_full / latency <= cap, latency, np.inf)  # the reference drops them
            elif cap is not None:
                gpu_s = np.maximum(gpu_s, n_full / cap)
            cost = np.where(np.isfinite(latency), gpu_s, np.inf)
            if self.threshold_scan:
                idx = threshold_scan_indices(latency, cost, thresholds_s(g))
            else:
                idx = pareto_indices(latency, cost)
            ev = Evaluation(*(np.asarray(a).ravel()[idx] for a in ev._replace(gpu_s_per_token=gpu_s)))
        else:
            ev = evaluate(
                ma,
                ha,
                dep.conventions,
                n_axis[:, None],
                b_axis[None, :],
                float(w.context_length),
                spec,
                backend=backend,
                on_device=True,
            )
            latency, cost, any_feasible = _capped(
                ev.latency_s,
                ev.gpu_s_per_token,
                jnp.asarray(n_axis)[:, None],
                jnp.asarray(b_axis)[None, :],
                jnp.inf if cap is None else float(cap),
                self.threshold_scan,
            )
            ev = ev._replace(gpu_s_per_token=cost)
            any_feasible = bool(any_feasible)
            if self.threshold_scan:
                chosen = np.asarray(threshold_select(latency, cost, jnp.asarray(thresholds_s(g))))
                chosen = chosen[chosen >= 0]
                _, first = np.unique(chosen, return_index=True)
                idx = chosen[np.sort(first)]
            else:
                mask = np.asarray(pareto_candidates(latency, cost)).ravel()
                sub = np.flatnonzero(mask)
                idx = sub[pareto_indices(np.asarray(latency).ravel()[sub], np.asarray(cost).ravel()[sub])]
            ev = Evaluation(*(np.asarray(a).ravel()[idx] for a in jnp.broadcast_arrays(*ev)))
        n_sel, b_sel = n_full[idx], b_full[idx]
        served_cap = None if self.threshold_scan else cap
        if served_cap is not None:
            ev = served_at_demand(ev, ev.gpu_s_per_token, b_sel, served_cap)
        reason = None if len(idx) else no_point_reason(dep, any_feasible, float(n_axis.max()))
        return Candidates(
            ev,
            n_sel,
            b_sel,
            served_cap_tokens_per_s=served_cap,
            reason=reason,
            configurations=int(n_full.size),
        )


ERDIL_GRID = GridSearch(name="erdil-grid", threshold_scan=True)
CONTINUOUS = GridSearch(name="continuous", threshold_scan=False)
