"""Token latency of one model instance: launch + collectives + max(memory, arithmetic), best parallel layout.

The step time of a layout (Erdil Eqs. 29–30, with the reference notebook's 1D/2D and pipeline casework):

    t = kernels·t_launch + network_latency + network_bandwidth + max(bytes/(N·B_hbm), FLOP/(N·C))

Network time does not overlap with memory or arithmetic (Erdil §3.4).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from infereco.physics.arithmetic import step_rate_flop
from infereco.physics.collectives import collective_time_s
from infereco.physics.memory import fits_in_memory, kv_context_tokens, routed_expert_bytes, step_bytes
from infereco.physics.structs import Conventions, ModelArrays


class StepTime(NamedTuple):
    """Components of one step's time, seconds; `latency_s` is their combination (inf where infeasible)."""

    latency_s: object
    memory_s: object
    compute_s: object
    network_latency_s: object
    network_bandwidth_s: object
    launch_s: object
    tp_2d: object  # 1.0 where 2D tensor parallelism was chosen
    pp_degree: object


def _allreduce_words(m: ModelArrays, two_d: bool, merge: bool):
    """Words all-reduced per layer per token (before division among parallel reduce groups)."""
    qkv = (m.n_heads + m.kv_heads_total) * m.d_head
    ffn_up = m.n_active_experts * m.m_up * m.d_ff
    ffn_down = m.n_active_experts * m.m_down * m.d_model
    if two_d:
        if merge:
            return [qkv + ffn_up, m.d_model + ffn_down]
        return [qkv, m.d_model, ffn_up, ffn_down]
    if merge:
        return [m.d_model]
    return [m.d_model, ffn_down]


def roofline_s(memory_s, compute_s, hw, xp=jnp):
    """Time of a step's memory traffic and arithmetic: max(memory, compute) + (1 − overlap)·min(memory,
    compute), with `hw.memory_compute_overlap` = 1 the paper's roofline (exactly the max)."""
    return xp.maximum(memory_s, compute_s) + (1.0 - hw.memory_compute_overlap) * xp.minimum(
        memory_s, compute_s
    )


def _slow_kv_read_s(m, hw, batch, context_tokens, kv_replication, n_gpu, xp=jnp):
    """Extra seconds for reading the KV cache below streaming bandwidth (`HardwareSpec.attention_bandwidth_
    utilization`); exactly 0 when KV reads run at the weights' bandwidth (kv_read_time_scale = 1)."""
    kv = kv_replication * m.kv_cache_bytes_per_token * kv_context_tokens(m, context_tokens, xp) * batch
    return (hw.kv_read_time_scale - 1.0) * kv / (n_gpu * hw.hbm_bandwidth_bytes_per_s)


def layout_step_time(
    m, hw, conv: Conventions, n_gpu, batch, seq_len, context_tokens, two_d, pp, merge, xp=jnp
):
    """StepTime of one layout (2D or 1D TP, pipeline degree `pp` with `pp` microbatches, no bubble)."""
    n_tp = n_gpu / pp
    micro = batch / pp
    ap = m.activation_bytes
    if two_d:
        ranks = xp.sqrt(n_tp)
        nodes = xp.sqrt(xp.ceil(n_tp / hw.node_size))
        groups = n_tp / ranks
        split_in, split_out = xp.sqrt(n_tp), xp.sqrt(n_tp)
    else:
        ranks = n_tp
        nodes = xp.ceil(n_tp / hw.node_size)
        groups = 1.0
        split_in, split_out = n_tp, 1.0
    net_lat = 0.0
    net_bw = 0.0
    for words in _allreduce_words(m, two_d, merge):
        lat, bw = collective_time_s(
            conv.collectives, ranks, nodes, words / groups * micro * seq_len * ap, hw, xp=xp
        )
        net_lat = net_lat + m.n_layers * lat
        net_bw = net_bw + m.n_layers * bw
    if pp != 1.0:
        two = 2.0
        p2p_bytes = m.d_model * micro * seq_len * ap / n_tp
        lat, bw = collective_time_s(conv.collectives, two, two, p2p_bytes, hw, collective="p2p", xp=xp)
        net_lat = net_lat + (pp - 1.0) * lat
        net_bw = net_bw + (pp - 1.0) * bw
    memory_s = (
        pp
        * step_bytes(
            m,
            micro,
            seq_len,
            context_tokens,
            split_in,
            split_out,
            xp=xp,
            qkv_out_bytes=1.0 if conv.reference_qkv_bytes else None,
        )
        / (n_gpu * hw.hbm_bandwidth_bytes_per_s)
    )
    memory_s = memory_s + _slow_kv_read_s(m, hw, micro * pp, context_tokens, 1.0, n_gpu, xp)
    compute_s = step_rate_flop(m, hw, batch, seq_len, context_tokens, xp) / (n_gpu * hw.flop_per_s)
    kernels = (2.0 if merge else 4.0) * m.n_layers
    launch_s = kernels * hw.kernel_launch_s + hw.step_overhead_s + m.n_layers * hw.layer_overhead_s
    latency = launch_s + net_lat + net_bw + roofline_s(memory_s, compute_s, hw, xp=xp)
    feasible = fits_in_memory(m, n_gpu, batch, context_tokens, hw.hbm_capacity_bytes, xp) & (
        pp <= xp.minimum(n_gpu, batch)
    )
    latency = xp.where(feasible, latency, xp.inf)
    shape = xp.shape(latency)
    full = lambda a: xp.broadcast_to(xp.asarray(a, dtype=xp.float64), shape)  # noqa: E731
    return StepTime(
        latency,
        full(memory_s),
        full(compute_s),
        full(net_lat),
        full(net_bw),
        full(launch_s),
        full(1.0 if two_d else 0.0),
        full(pp),
    )


def step_time(
    m, hw, conv: Conventions, n_gpu, batch, seq_len=1.0, context_tokens=0.0, parallel_attention=False, xp=jnp
):
    """Fastest StepTime over the layouts `conv` allows (2D on/off × pipeline degrees).

    `n_gpu`, `batch` broadcast together; seconds per step of `seq_len` tokens per sequence. The candidate
    layouts form a leading array axis (one vectorised evaluation, then a minimum), which keeps the traced
    program small.
    """
    n_gpu = xp.asarray(n_gpu, dtype=xp.float64)
    batch = xp.asarray(batch, dtype=xp.float64)
    # n_gpu and batch keep their own (broadcastable) shapes: on an outer-product grid, terms that depend on
    # one axis only are computed once per axis value, not once per configuration.
    ndim = max(xp.ndim(n_gpu), xp.ndim(batch))
    combos = [(float(t), float(p)) for t in conv.tp_2d_options for p in conv.pp_degrees]
    lay_shape = (len(combos),) + (1,) * ndim
    two_d = xp.asarray([c[0] for c in combos], dtype=xp.float64).reshape(lay_shape)
    pp = xp.asarray([c[1] for c in combos], dtype=xp.float64).reshape(lay_shape)
    cand = explicit_step_time(
        m,
        hw,
        conv,
        n_gpu / pp,
        1.0,
        pp,
        two_d,
        batch,
        seq_len,
        context_tokens,
        1.0,
        1.0,
        parallel_attention,
        xp=xp,
    )
    feasible = fits_in_memory(m, n_gpu, batch, context_tokens, hw.hbm_capacity_bytes, xp) & (
        pp <= xp.minimum(n_gpu, batch)
    )
    latency = xp.where(feasible, cand.latency_s, xp.inf)
    # First minimum wins ties, as the reference's running minimum over (2D, PP) in this order.
    best = xp.argmin(latency, axis=0)[None]
    take = lambda a: xp.take_along_axis(xp.broadcast_to(a, latency.shape), best, axis=0)[0]  # noqa: E731
    return StepTime(take(latency), *(take(c) for c in cand[1:]))


def explicit_step_time(
    m,
    hw,
    conv: Conventions,
    tp,
    ep,
    pp,
    two_d,
    batch,
    seq_len,
    context_tokens,
    kv_replication,
    stage_imbalance,
    parallel_attention=False,
    xp=jnp,
    attn_dp=0.0,
):
    """StepTime of explicit integer layouts: arrays `tp`, `ep`, `pp`, `two_d` (0/1) broadcast against `batch`.

    One pipeline stage has G = tp·ep accelerators: attention is tensor-parallel over all G (1D, or 2D over
    √G × √G), each FFN expert group is tensor-parallel over `tp` with the experts spread over `ep` groups
    (Erdil §3.5: dispatch and combine are all-to-alls of the routed activations over r = min(ep, active
    experts) ranks). `pp` stages hold ceil(L/pp) layers at most; `stage_imbalance` = pp·ceil(L/pp)/L ≥ 1
    stretches the per-layer terms of an uneven split. `kv_replication` ≥ 1 counts KV heads that tensor
    parallelism copies. With ep = 1, an even split and no replication this equals `layout_step_time` at
    n_gpu = tp·pp.

    `attn_dp` = 1 runs attention data-parallel instead (SGLang/vLLM "DP attention", used for MLA models): each
    of the G ranks holds all attention weights and attends over its own sequences, so attention needs no
    all-reduce and its KV cache is not replicated, but every rank reads the attention weights.
    """
    merge = bool(parallel_attention and conv.parallel_attention_merges_collectives)
    g = tp * ep
    n_gpu = g * pp
    micro = batch / pp
    ap = m.activation_bytes
    is2d = two_d > 0.5
    sq_g = xp.sqrt(g)
    ranks_attn = xp.where(is2d, sq_g, g)
    nodes_attn = xp.where(is2d, xp.sqrt(xp.ceil(g / hw.node_size)), xp.ceil(g / hw.node_size))
    groups_attn = g / ranks_attn
    sq_tp = xp.sqrt(tp)
    ranks_ff = xp.where(is2d, sq_tp, tp)
    nodes_ff = xp.where(is2d, xp.sqrt(xp.ceil(tp / hw.node_size)), xp.ceil(tp / hw.node_size))
    groups_ff = g / ranks_ff
    qkv = (m.n_heads + m.kv_heads_total) * m.d_head
    ffn_up = m.n_active_experts * m.m_up * m.d_ff
    ffn_down = m.n_active_experts * m.m_down * m.d_model
    tokens = micro * seq_len * ap

    def allreduce(words, ranks, nodes, groups):
        return collective_time_s(conv.collectives, ranks, nodes, words / groups * tokens, hw, xp=xp)

    # 1D: all-reduce after attention (d) and after the FFN (routed outputs); 2D: four per layer (Erdil §3.6).
    if merge:
        # Parallel attention (PaLM): attention and FFN outputs are summed before one all-reduce.
        parts_1d = [allreduce(m.d_model, ranks_attn, nodes_attn, 1.0)]
        parts_2d = [
            allreduce(qkv + ffn_up, ranks_attn, nodes_attn, groups_attn),
            allreduce(m.d_model + ffn_down, ranks_attn, nodes_attn, groups_attn),
        ]
    else:
        parts_1d = [
            allreduce(m.d_model, ranks_attn, nodes_attn, 1.0),
            allreduce(ffn_down / ep, ranks_ff, nodes_ff, 1.0),
        ]
        parts_2d = [
            allreduce(qkv, ranks_attn, nodes_attn, groups_attn),
            allreduce(m.d_model, ranks_attn, nodes_attn, groups_attn),
            allreduce(ffn_up, ranks_ff, nodes_ff, groups_ff),
            allreduce(ffn_down, ranks_ff, nodes_ff, groups_ff),
        ]
    is_dp = attn_dp > 0.5
    if not merge:
        # DP attention: no attention all-reduce (the first 1D term); 2D is not combined with it.
        parts_1d[0] = tuple(xp.where(is_dp, 0.0, v) for v in parts_1d[0])
    lat1 = sum(p[0] for p in parts_1d)
    bw1 = sum(p[1] for p in parts_1d)
    lat2 = sum(p[0] for p in parts_2d)
    bw2 = sum(p[1] for p in parts_2d)
    net_lat = m.n_layers * xp.where(is2d, lat2, lat1)
    net_bw = m.n_layers * xp.where(is2d, bw2, bw1)
    # Expert parallelism: dispatch + combine all-to-alls in every MoE layer.
    r = xp.minimum(ep, m.n_active_experts)
    a2a_lat, a2a_bw = collective_time_s(
        conv.collectives,
        r,
        xp.ceil(r / hw.node_size),
        m.d_model * r * tokens / g,
        hw,
        collective="all-to-all",
        xp=xp,
    )
    # Routing skew under EP: the busiest rank receives, reads and multiplies (1 + skew)× the mean share.
    skew = xp.where(ep > 1.5, m.expert_load_imbalance - 1.0, 0.0)
    net_lat = net_lat + 2.0 * m.n_moe_layers * a2a_lat
    net_bw = net_bw + 2.0 * m.n_moe_layers * a2a_bw * (1.0 + skew)
    net_lat = net_lat * stage_imbalance
    net_bw = net_bw * stage_imbalance
    p2p_lat, p2p_bw = collective_time_s(
        conv.collectives, 2.0, 2.0, m.d_model * tokens / g, hw, collective="p2p", xp=xp
    )
    net_lat = net_lat + (pp - 1.0) * p2p_lat
    net_bw = net_bw + (pp - 1.0) * p2p_bw
    split_in = xp.where(is2d, sq_g, g)
    split_out = xp.where(is2d, sq_g, 1.0)
    bytes_ = step_bytes(
        m,
        micro,
        seq_len,
        context_tokens,
        split_in,
        split_out,
        xp=xp,
        qkv_out_bytes=1.0 if conv.reference_qkv_bytes else None,
    )
    bytes_ = (
        bytes_
        + (kv_replication - 1.0)
        * m.kv_cache_bytes_per_token
        * kv_context_tokens(m, context_tokens, xp)
        * micro
    )
    bytes_ = bytes_ + skew * routed_expert_bytes(m, micro * seq_len, split_in, split_out, xp)
    # DP attention: every rank of the stage reads the full attention weights.
    bytes_ = bytes_ + xp.where(
        is_dp, (g - 1.0) * m.attention_weight_bytes * m.attention_params_per_layer * m.n_layers, 0.0
    )
    memory_s = stage_imbalance * pp * bytes_ / (n_gpu * hw.hbm_bandwidth_bytes_per_s)
    memory_s = memory_s + stage_imbalance * _slow_kv_read_s(
        m, hw, micro * pp, context_tokens, kv_replication, n_gpu, xp
    )
    routed_active = m.active_params - m.n_layers * m.attention_params_per_layer - m.dense_ffn_params
    routed_active = routed_active - m.embedding_flop_params
    flop = step_rate_flop(m, hw, batch, seq_len, context_tokens, xp)
    flop = flop + skew * 2.0 * routed_active * batch * seq_len / hw.expert_flop_scale
    compute_s = stage_imbalance * flop / (n_gpu * hw.flop_per_s)
    # Fixed per-step and per-layer overheads are calibration terms (zero from the catalog).
    launch_s = (
        (2.0 if merge else 4.0) * m.n_layers * hw.kernel_launch_s
        + hw.step_overhead_s
        + m.n_layers * hw.layer_overhead_s
    )
    latency = launch_s + net_lat + net_bw + roofline_s(memory_s, compute_s, hw, xp=xp)
    shape = xp.shape(latency)
    full = lambda a: xp.broadcast_to(xp.asarray(a, dtype=xp.float64), shape)  # noqa: E731
    return StepTime(
        latency,
        full(memory_s),
        full(compute_s),
        full(net_lat),
        full(net_bw),
        full(launch_s),
        full(two_d),
        full(pp),
    )


BOUND_NAMES = ("memory", "compute", "network", "latency")


def bound_term(memory_s, compute_s, network_bandwidth_s, network_latency_s, launch_s) -> np.ndarray:
    """Name of the largest contribution to step time: the max(memory, compute) winner, network or latency.

    >>> bound_term(np.array([2.0, 1.0]), np.array([1.0, 3.0]), 0.0, 0.5, 0.0).tolist()
    ['memory', 'compute']
    """
    memory_s, compute_s, network_bandwidth_s, network_latency_s, launch_s = np.broadcast_arrays(
        *(
            np.asarray(a, float)
            for a in (memory_s, compute_s, network_bandwidth_s, network_latency_s, launch_s)
        )
    )
    overlapped_memory = np.where(memory_s >= compute_s, memory_s, 0.0)
    overlapped_compute = np.where(compute_s > memory_s, compute_s, 0.0)
    stack = np.stack(
        [overlapped_memory, overlapped_compute, network_bandwidth_s, network_latency_s + launch_s]
    )
    return np.asarray(BOUND_NAMES)[np.argmax(stack, axis=0)]
