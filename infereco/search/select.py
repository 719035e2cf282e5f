"""Frontier selection on device, in O(n): bucket configurations by latency, keep per-bucket minima.

`threshold_select` gives exactly the reference's threshold-scan frontier (cheapest configuration strictly under
each latency threshold, ties to the lower latency). `pareto_candidates` marks every configuration that no
configuration in a faster latency bucket beats; the exact O(m log m) Pareto sort then runs on the few survivors.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


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
    """Index of the cheapest configuration with latency < each threshold (−1 where none), thresholds ascending."""
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
