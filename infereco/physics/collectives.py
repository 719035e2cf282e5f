"""Collective communication time: NCCL's LL / LL128 / Simple model and a ring model.

Each function returns `(latency_s, bandwidth_s)`, the two parts of one collective's time, so callers can
report them separately. Times are zero where `ranks <= 1`.
"""

from __future__ import annotations

import jax.numpy as jnp

from infereco.physics.structs import HardwareArrays

ALLREDUCE = "allreduce"


def nccl_time_s(ranks, nodes, message_bytes, hw: HardwareArrays, collective: str = ALLREDUCE, xp=jnp):
    """NCCL tree model (Erdil 2025 §3.3, Eq. 23; NCCL tuning.cc): the cheapest protocol's latency and
    bandwidth.

    latency = m·((ranks/nodes − 1)·intra_hop + inter_hop·log2(nodes)) + base, m = 2 for all-reduce else 1;
    bandwidth = [nodes·max(0, ranks/nodes − 1)/B_intra + (nodes − 1)/B_inter]·bytes/(ranks·factor),
    halved for collectives other than all-reduce.

    >>> import numpy as np
    >>> from infereco.physics.requests import resolve_deployment
    >>> hw = resolve_deployment("llama-3-8b", "h100-sxm").hw_arrays
    >>> lat, bw = nccl_time_s(8.0, 1.0, 0.0, hw, xp=np)   # empty message: LL protocol, 2·7·0.6 µs + 6.8 µs
    >>> round(float(lat) * 1e6, 2), float(bw)
    (15.2, 0.0)
    >>> lat, bw = nccl_time_s(8.0, 1.0, 1e8, hw, xp=np)   # 100 MB: LL128, 7/8 of it over 450 GB/s at 95 %
    >>> round(float(lat) * 1e6, 2), round(float(bw) * 1e6, 1)
    (31.5, 204.7)
    """
    m = 2.0 if collective == ALLREDUCE else 1.0
    half = 1.0 if collective == ALLREDUCE else 0.5
    per_rank = ranks / nodes
    # Terms shared by the protocols are computed once: they differ only in their constants.
    hops_intra = per_rank - 1.0
    hops_inter = xp.log2(nodes)
    seconds_per_byte = (
        half
        * (
            nodes * xp.maximum(0.0, hops_intra) / hw.intra_node_bandwidth_bytes_per_s
            + (nodes - 1.0) / hw.inter_node_bandwidth_bytes_per_s
        )
        / ranks
    )
    bw_unit = message_bytes * seconds_per_byte
    best_total = best_lat = best_bw = None
    for base, intra, inter, factor in zip(
        hw.nccl_base_s, hw.nccl_intra_hop_s, hw.nccl_inter_hop_s, hw.nccl_bandwidth_factor
    ):
        # Scaled (calibration) before the protocol choice; fractional ranks/nodes < 1 count no intra-node hop.
        lat = hw.collective_latency_scale * (
            m * (xp.maximum(hops_intra, 0.0) * intra + inter * hops_inter) + base
        )
        bw = bw_unit * (1.0 / factor)
        total = lat + bw
        if best_total is None:
            best_total, best_lat, best_bw = total, lat, bw
        else:
            # Strictly smaller wins, so ties keep the earlier protocol (the reference's order: LL, LL128,
            # Simple).
            better = total < best_total
            best_lat = xp.where(better, lat, best_lat)
            best_bw = xp.where(better, bw, best_bw)
            best_total = xp.where(better, total, best_total)
    active = ranks > 1.0
    return xp.where(active, best_lat, 0.0), xp.where(active, best_bw, 0.0)


def ring_time_s(ranks, nodes, message_bytes, hw: HardwareArrays, collective: str = ALLREDUCE, xp=jnp):
    """Ring model (TPU ICI, Groq): latency m·(ranks − 1)·hop, bandwidth (ranks − 1)·bytes/(ranks·B_inter).

    Halved bandwidth for collectives other than all-reduce; zero where ranks <= 1.
    """
    m = 2.0 if collective == ALLREDUCE else 1.0
    half = 1.0 if collective == ALLREDUCE else 0.5
    lat = hw.collective_latency_scale * m * (ranks - 1.0) * hw.ring_hop_s
    bw = half * (ranks - 1.0) * message_bytes / (ranks * hw.inter_node_bandwidth_bytes_per_s)
    active = ranks > 1.0
    return xp.where(active, lat, 0.0), xp.where(active, bw, 0.0)


def collective_time_s(
    kind: str, ranks, nodes, message_bytes, hw: HardwareArrays, collective: str = ALLREDUCE, xp=jnp
):
    """Dispatch on the hardware's collective model ('nccl' or 'ring')."""
    fn = COLLECTIVE_MODELS.get(kind)
    if fn is None:  # specs validate the name; this guards callers that build Conventions by hand
        raise ValueError(f"collectives={kind!r}: expected one of {', '.join(COLLECTIVE_MODELS)}")
    return fn(ranks, nodes, message_bytes, hw, collective, xp=xp)


# The collective latency models by the name a hardware spec gives (`HardwareSpec.collectives`).
COLLECTIVE_MODELS = {"nccl": nccl_time_s, "ring": ring_time_s}
