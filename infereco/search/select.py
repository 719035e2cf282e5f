"""Point selection: every way infereco picks frontier points out of evaluated configurations lives here.

Exact, on the host: `pareto_indices` (non-dominated (latency, cost) points, O(n log n)) and
`threshold_scan_indices` (the reference notebook's threshold scan). On device, in O(n): bucket configurations
by latency, keep per-bucket minima.

`threshold_select` gives exactly the reference's threshold-scan frontier (cheapest configuration strictly
under each latency threshold, ties to the lower latency). `pareto_candidates` marks every configuration that
no configuration in a faster latency bucket beats; the exact O(m log m) Pareto sort then runs on the few
survivors.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np


def _bucket_best(latency, cost, bucket, n_buckets):
    """Per bucket: the cheapest configuration (ties: lowest latency, then lowest index)."""
    idx = jnp.arange(latency.size)
    best_cost = jax.ops.segment_min(cost, bucket, num_segments=n_buckets)
    at_min = cost == best_cost[bucket]
    best_lat = jax.ops.segment_min(jnp.where(at_min, latency, jnp.inf), bucket, num_segments=n_buckets)
    chosen = at_min & (latency == best_lat[bucket])
    best_idx = jax.ops.segment_min(jnp.where(chosen, idx, latency.size), bucket, num_segments=n_buckets)
    return best_cost, best_idx


@functools.partial(jax.jit, static_argnames=())
def threshold_select(latency, cost, thresholds_s):
    """Index of the cheapest configuration with latency < each threshold (−1 where none), thresholds
    ascending."""
    latency = latency.ravel()
    cost = jnp.where(jnp.isfinite(latency), cost.ravel(), jnp.inf)
    n_thr = thresholds_s.size
    # bucket k = number of thresholds <= latency: the configuration qualifies for thresholds k, k+1, ...
    bucket = jnp.searchsorted(thresholds_s, latency, side="right")
    best_cost, best_idx = _bucket_best(latency, cost, bucket, n_thr + 1)

    def combine(a, b):
        # a holds earlier (faster) buckets; a later bucket wins only when strictly cheaper.
        take_b = b[0] < a[0]
        return jnp.where(take_b, b[0], a[0]), jnp.where(take_b, b[1], a[1])

    run_cost, run_idx = jax.lax.associative_scan(combine, (best_cost[:n_thr], best_idx[:n_thr]))
    return jnp.where(jnp.isfinite(run_cost), run_idx, -1)


@functools.partial(jax.jit, static_argnames=("n_buckets",))
def pareto_candidates(latency, cost, n_buckets: int = 4096):
    """Mask of configurations not beaten by any configuration in a strictly faster latency bucket."""
    shape = latency.shape
    latency = latency.ravel()
    finite = jnp.isfinite(latency) & jnp.isfinite(cost.ravel())
    cost = jnp.where(finite, cost.ravel(), jnp.inf)
    log_lat = jnp.log(jnp.where(finite, latency, 1.0))
    lo = jnp.min(jnp.where(finite, log_lat, jnp.inf))
    hi = jnp.max(jnp.where(finite, log_lat, -jnp.inf))
    width = jnp.maximum(hi - lo, 1e-12) / (n_buckets - 1)
    bucket = jnp.clip(jnp.floor((log_lat - lo) / width), 0, n_buckets - 1).astype(jnp.int32)
    best = jax.ops.segment_min(cost, bucket, num_segments=n_buckets)
    # cheapest cost in all strictly faster buckets
    faster = jnp.concatenate([jnp.array([jnp.inf]), jax.lax.cummin(best)[:-1]])
    return (finite & (cost < faster[bucket])).reshape(shape)


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
