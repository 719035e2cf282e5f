"""Evaluate arrays of (GPU count, batch) configurations: latency, cost, MFU and the step-time breakdown.

One function, `evaluate_configs`, serves both backends: `xp=jax.numpy` under `jax.jit` (the default path) and
`xp=numpy` (the plain-numpy reference backend used by tests and benchmarks).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from infereco.physics.arithmetic import step_flop
from infereco.physics.latency import explicit_step_time, step_time
from infereco.physics.memory import kv_cache_bytes
from infereco.physics.speculative import expected_tokens_per_pass, target_tokens_per_pass
from infereco.physics.structs import (
    Conventions,
    HardwareArrays,
    ModelArrays,
    hardware_arrays,
    model_arrays,
    pytree_dataclass,
    static_field,
)
from infereco.specs.deployment import Deployment


@pytree_dataclass
class SpecArrays:
    """Speculative decoding inputs for traced code; `max_draft_tokens` is static (it sets the loop length)."""

    draft: ModelArrays
    draft_hw: HardwareArrays
    acceptance: float
    max_draft_tokens: int = static_field()
    # Expected tokens per pass for γ = 0 … max_draft_tokens (per-position acceptances); None = i.i.d. α.
    tokens_per_pass: object = None


class Layout(NamedTuple):
    """Explicit integer layouts (arrays broadcasting against the batch): GPUs per instance = tp·ep·pp."""

    tp: object
    ep: object
    pp: object
    two_d: object
    kv_replication: object
    stage_imbalance: object
    draft_kv_replication: object
    attn_dp: object = 0.0  # 1 = data-parallel attention (no attention all-reduce, no KV replication)


class Evaluation(NamedTuple):
    """Per-configuration results (arrays of one shape). Infeasible entries have latency_s = inf."""

    latency_s: object  # seconds per output token seen by one request
    gpu_s_per_token: object
    mfu: object
    memory_s: object
    compute_s: object
    network_latency_s: object
    network_bandwidth_s: object
    launch_s: object
    draft_s: object
    tp_2d: object
    pp_degree: object
    gamma: object


def _fold(xp, n: int, body, init):
    """`for i in 1..n: carry = body(i, carry)`; a rolled `lax.fori_loop` under JAX keeps compile time flat in
    n."""
    if xp is np:
        carry = init
        for i in range(1, n + 1):
            carry = body(float(i), carry)
        return carry
    return jax.lax.fori_loop(1, n + 1, lambda i, c: body(jnp.asarray(i, jnp.float64), c), init)


def evaluate_configs(
    m: ModelArrays,
    hw: HardwareArrays,
    conv: Conventions,
    n_gpu,
    batch,
    context_tokens,
    spec: SpecArrays | None = None,
    xp=jnp,
    layout: Layout | None = None,
) -> Evaluation:
    """Latency per token and cost for every (n_gpu, batch) pair (broadcast), best layout per pair.

    With `layout` (explicit integer layouts), `n_gpu` is ignored and each layout is evaluated as given.
    With `spec`, each pair also tries speculative decoding with γ = 1..max_draft_tokens drafted tokens on the
    same GPUs and batch, keeping the fastest (the reference notebook's rule).
    """
    batch = xp.asarray(batch, dtype=xp.float64)
    if layout is None:
        n_gpu = xp.asarray(n_gpu, dtype=xp.float64)

        def step(model, hwa, seq, pa, draft=False):
            return step_time(model, hwa, conv, n_gpu, batch, seq, context_tokens, pa, xp=xp)
    else:
        n_gpu = layout.tp * layout.ep * layout.pp

        def step(model, hwa, seq, pa, draft=False):
            rep = layout.draft_kv_replication if draft else layout.kv_replication
            return explicit_step_time(
                model,
                hwa,
                conv,
                layout.tp,
                layout.ep,
                layout.pp,
                layout.two_d,
                batch,
                seq,
                context_tokens,
                rep,
                layout.stage_imbalance,
                pa,
                xp=xp,
                attn_dp=layout.attn_dp,
            )

    parallel_attention = m.parallel_attention
    plain = step(m, hw, 1.0, parallel_attention)
    latency = plain.latency_s
    parts = plain
    draft_s = xp.zeros_like(latency)
    gamma_best = xp.zeros_like(latency)
    if spec is not None:
        draft = step(spec.draft, spec.draft_hw, 1.0, spec.draft.parallel_attention, draft=True).latency_s

        def body(gamma, carry):
            latency, parts, draft_s, gamma_best = carry
            seq = target_tokens_per_pass(gamma, conv.spec_convention)
            target = step(m, hw, seq, parallel_attention)
            if spec.tokens_per_pass is None:
                tokens = expected_tokens_per_pass(spec.acceptance, gamma, conv.spec_convention, xp=xp)
            else:
                index = int(gamma) if xp is np else gamma.astype(jnp.int32)
                tokens = xp.asarray(spec.tokens_per_pass)[index]
            per_token = (target.latency_s + gamma * draft) / tokens
            better = per_token < latency
            return (
                xp.where(better, per_token, latency),
                type(parts)(*(xp.where(better, t, p) for p, t in zip(parts, target))),
                xp.where(better, gamma * draft, draft_s),
                xp.where(better, gamma, gamma_best),
            )

        latency, parts, draft_s, gamma_best = _fold(
            xp, spec.max_draft_tokens, body, (latency, parts, draft_s, gamma_best)
        )
    if spec is not None and layout is None and conv.draft_shares_memory:
        # Target and draft share the instance's HBM (the discrete search's layouts already count the draft).
        need = (
            m.weight_memory_bytes
            + spec.draft.weight_memory_bytes
            + kv_cache_bytes(m, batch, context_tokens, xp)
            + kv_cache_bytes(spec.draft, batch, context_tokens, xp)
        )
        latency = xp.where(n_gpu * hw.hbm_capacity_bytes >= need, latency, xp.inf)
    finite = xp.isfinite(latency)
    safe_latency = xp.where(finite, latency, 1.0)
    flop = step_flop(m, batch, 1.0, context_tokens, xp)
    mfu = xp.where(finite, flop / (n_gpu * hw.peak_flop_per_s * safe_latency), 0.0)
    gpu_s = xp.where(finite, n_gpu * latency / batch, xp.inf)
    return Evaluation(
        latency,
        gpu_s,
        mfu,
        parts.memory_s,
        parts.compute_s,
        parts.network_latency_s,
        parts.network_bandwidth_s,
        parts.launch_s,
        draft_s,
        parts.tp_2d,
        parts.pp_degree,
        gamma_best,
    )


@functools.partial(jax.jit, static_argnames=("conv",))
def _evaluate_jit(m, hw, conv, n_gpu, batch, context_tokens, spec, layout):
    return evaluate_configs(m, hw, conv, n_gpu, batch, context_tokens, spec, xp=jnp, layout=layout)


def shard_leading_axis(x):
    """Place `x` with its leading axis split over all local devices (several GPUs, or CPU cores exposed with
    XLA_FLAGS=--xla_force_host_platform_device_count=N); unchanged on one device or an indivisible axis."""
    devices = jax.local_devices()
    x = jnp.asarray(x, jnp.float64)
    if len(devices) < 2 or x.ndim == 0 or x.shape[0] % len(devices):
        return x
    mesh = jax.sharding.Mesh(np.asarray(devices), ("configs",))
    spec = jax.sharding.PartitionSpec("configs", *([None] * (x.ndim - 1)))
    return jax.device_put(x, jax.sharding.NamedSharding(mesh, spec))


def evaluate(
    m,
    hw,
    conv,
    n_gpu,
    batch,
    context_tokens,
    spec: SpecArrays | None = None,
    backend: str = "jax",
    on_device: bool = False,
    layout: Layout | None = None,
) -> Evaluation:
    """Evaluate configurations with the JAX (jitted, cached by structure) or numpy backend.

    Returns numpy arrays, or JAX arrays when `on_device` (to keep selecting on device).
    """
    if backend == "numpy":
        out = evaluate_configs(
            m,
            hw,
            conv,
            None if n_gpu is None else np.asarray(n_gpu, float),
            np.asarray(batch, float),
            float(context_tokens),
            spec,
            xp=np,
            layout=None if layout is None else Layout(*(np.asarray(a, float) for a in layout)),
        )
        return Evaluation(*(np.broadcast_to(np.asarray(a, float), np.shape(out.latency_s)) for a in out))
    if backend != "jax":
        raise ValueError(f"backend={backend!r}: expected 'jax' or 'numpy'")
    out = _evaluate_jit(
        m,
        hw,
        conv,
        None if n_gpu is None else shard_leading_axis(n_gpu),
        jnp.asarray(batch, jnp.float64),
        jnp.float64(context_tokens),
        spec,
        None if layout is None else Layout(*(shard_leading_axis(a) for a in layout)),
    )
    return out if on_device else Evaluation(*(np.asarray(a) for a in out))


def deployment_arrays(dep: Deployment) -> tuple[ModelArrays, HardwareArrays, SpecArrays | None]:
    """The traced inputs of a deployment: model and hardware arrays at the model's operand precision, and the
    speculative-decoding arrays (None without a draft)."""
    ma = model_arrays(dep.model)
    ha = hardware_arrays(dep.hardware, dep.operand_bits, dep.model)
    spec = None
    if dep.speculative is not None:
        d = dep.speculative.draft
        spec = SpecArrays(
            model_arrays(d),
            hardware_arrays(dep.hardware, dep.preset.operand_bits(d.weight_bits, d.activation_bits), d),
            float(dep.speculative.acceptance),
            int(dep.speculative.draft_limit),
            None
            if dep.speculative.acceptance_by_position is None
            else np.asarray(dep.speculative.tokens_per_pass(dep.conventions.spec_convention)),
        )
    return ma, ha, spec
