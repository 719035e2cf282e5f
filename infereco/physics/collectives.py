"""Collective communication time, one model per interconnect fabric (`infereco.specs.fabric.FABRICS`).

Each function returns `(latency_s, bandwidth_s)`, the two parts of one collective's time in seconds, so
callers can report them separately. Times are zero where `ranks <= 1`. Arguments broadcast: `ranks`
accelerators in the collective, spread over `nodes` scale-up nodes, `message_bytes` the bytes each rank
contributes; `collective` is 'allreduce', 'all-to-all' or 'p2p'. Every model follows the convention of
Erdil 2025 Eq. 24 that an all-reduce of M bytes over r ranks behind links of B bytes/s per direction moves
(r − 1)/r·M/B seconds of data (a bidirectional ring, or a reduce-scatter and all-gather using both
directions); other collectives take half of it. The fabrics differ in which links a collective can use and
in how many latency hops it takes.
"""

from __future__ import annotations

import jax.numpy as jnp

from infereco.physics.structs import HardwareArrays
from infereco.specs.fabric import FABRIC_ALIASES, FABRICS, accepted_fabrics

ALLREDUCE = "allreduce"


def _protocol_tree_s(ranks, nodes, message_bytes, hw: HardwareArrays, collective, xp, intra_bandwidth):
    """NCCL's tree model over the protocols of `hw` (their constants), with `intra_bandwidth` bytes/s per
    rank inside a node: the cheapest protocol's (latency_s, bandwidth_s)."""
    m = 2.0 if collective == ALLREDUCE else 1.0
    half = 1.0 if collective == ALLREDUCE else 0.5
    per_rank = ranks / nodes
    # Terms shared by the protocols are computed once: they differ only in their constants.
    hops_intra = per_rank - 1.0
    hops_inter = xp.log2(nodes)
    seconds_per_byte = (
        half
        * (
            nodes * xp.maximum(0.0, hops_intra) / intra_bandwidth
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


def nvlink_time_s(ranks, nodes, message_bytes, hw: HardwareArrays, collective: str = ALLREDUCE, xp=jnp):
    """NVLink / NVSwitch: NCCL tree model (Erdil 2025 §3.3, Eq. 23; NCCL tuning.cc), the cheapest protocol's
    latency and bandwidth, seconds. Behind a switch any subset of a node's GPUs gets each GPU's full NVLink
    bandwidth B_intra (bytes/s per direction); B_inter is each GPU's scale-out NIC.

    latency = m·((ranks/nodes − 1)·intra_hop + inter_hop·log2(nodes)) + base, m = 2 for all-reduce else 1;
    bandwidth = [nodes·max(0, ranks/nodes − 1)/B_intra + (nodes − 1)/B_inter]·bytes/(ranks·factor),
    halved for collectives other than all-reduce.

    >>> import numpy as np
    >>> from infereco.physics.requests import resolve_deployment
    >>> hw = resolve_deployment("llama-3-8b", "h100-sxm").hw_arrays
    >>> lat, bw = nvlink_time_s(8.0, 1.0, 0.0, hw, xp=np)   # empty message: LL protocol, 2·7·0.6 µs + 6.8 µs
    >>> round(float(lat) * 1e6, 2), float(bw)
    (15.2, 0.0)
    >>> lat, bw = nvlink_time_s(8.0, 1.0, 1e8, hw, xp=np)   # 100 MB: LL128, 7/8 of it over 450 GB/s at 95 %
    >>> round(float(lat) * 1e6, 2), round(float(bw) * 1e6, 1)
    (31.5, 204.7)
    """
    return _protocol_tree_s(
        ranks, nodes, message_bytes, hw, collective, xp, hw.intra_node_bandwidth_bytes_per_s
    )


# The name of Erdil 2025's model, and of this fabric before fabrics were named.
nccl_time_s = nvlink_time_s


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


def _mesh_bandwidth(per_rank, hw: HardwareArrays, xp):
    """Bytes/s per direction a rank of a fully connected node reaches talking to `per_rank − 1` peers: one
    link of B_intra/(node_size − 1) per peer (a point-to-point mesh, no switch), at least one link."""
    links = xp.maximum(hw.node_size - 1.0, 1.0)
    return hw.intra_node_bandwidth_bytes_per_s / links * xp.clip(per_rank - 1.0, 1.0, links)


def _torus_hops(ranks, dims, xp):
    """Ring steps of a dimension-by-dimension all-reduce phase over `ranks` chips of a `dims`-D torus slice.

    A slice doubles along a new dimension before it grows along a used one (2, 2×2, 2×2×2, then 2×2×4, ...):
    it spans d = clip(log2 ranks, 1, dims) dimensions of side k = ranks^(1/d), one ring of k − 1 steps each,
    so d·(k − 1) steps in all (exact for 2^n and for cubes; a smooth interpolation between).
    """
    r = xp.maximum(ranks, 1.0)
    d = xp.clip(xp.log2(r), 1.0, dims)
    return d * (r ** (1.0 / d) - 1.0)


def xgmi_time_s(ranks, nodes, message_bytes, hw: HardwareArrays, collective: str = ALLREDUCE, xp=jnp):
    """AMD Infinity Fabric (xGMI) with RCCL: the GPUs of a node are fully connected point to point, one link
    of B_link = B_intra/(node_size − 1) bytes/s per direction per peer, so a collective over g = ranks/nodes
    GPUs of a node uses only g − 1 of each GPU's links (an 8-GPU MI300X node: 7 links of 64 GB/s; two GPUs
    reach 64 GB/s, not 448). Otherwise NCCL's tree model (RCCL is NCCL's port; its protocol constants are
    taken as NCCL's), seconds:

    latency = m·((g − 1)·intra_hop + inter_hop·log2(nodes)) + base, m = 2 for all-reduce else 1;
    bandwidth = [nodes·(g − 1)/((g − 1)·B_link) + (nodes − 1)/B_inter]·bytes/(ranks·factor), halved for
    collectives other than all-reduce (g − 1 counted as at least one link).

    >>> import numpy as np
    >>> from infereco.specs.catalog import load_hardware
    >>> from infereco.physics.structs import hardware_arrays
    >>> hw = hardware_arrays(load_hardware("mi300x"), 16)
    >>> lat, bw = xgmi_time_s(2.0, 1.0, 1e8, hw, xp=np)   # 100 MB over one 64 GB/s link: Simple protocol
    >>> round(float(lat) * 1e6, 2), round(float(bw) * 1e6, 1)
    (56.0, 781.2)
    """
    return _protocol_tree_s(
        ranks, nodes, message_bytes, hw, collective, xp, _mesh_bandwidth(ranks / nodes, hw, xp)
    )


def pcie_time_s(ranks, nodes, message_bytes, hw: HardwareArrays, collective: str = ALLREDUCE, xp=jnp):
    """PCIe through the host or a PCIe switch (GPUs without NVLink): NCCL's tree model over B_intra, each
    GPU's PCIe x16 bandwidth per direction (the switch or root complex taken as not oversubscribed), with the
    protocol table of a PCIe hardware spec (`default_nccl_protocols('pcie')`: NCCL's PCI hop latencies, no
    LL128), seconds:

    latency = m·((ranks/nodes − 1)·intra_hop + inter_hop·log2(nodes)) + base, m = 2 for all-reduce else 1;
    bandwidth = [nodes·max(0, ranks/nodes − 1)/B_intra + (nodes − 1)/B_inter]·bytes/(ranks·factor).

    >>> import numpy as np
    >>> from infereco.specs.catalog import load_hardware
    >>> from infereco.physics.structs import hardware_arrays
    >>> hw = hardware_arrays(load_hardware("l4"), 16)
    >>> lat, bw = pcie_time_s(8.0, 1.0, 0.0, hw, xp=np)   # empty message: LL, 2·7·1.0 µs + 6.8 µs
    >>> round(float(lat) * 1e6, 2), float(bw)
    (20.8, 0.0)
    """
    return _protocol_tree_s(
        ranks, nodes, message_bytes, hw, collective, xp, hw.intra_node_bandwidth_bytes_per_s
    )


def ici_torus_time_s(ranks, nodes, message_bytes, hw: HardwareArrays, collective: str = ALLREDUCE, xp=jnp):
    """TPU inter-chip interconnect, a `torus_dimensions`-D torus (v4, v5p, 7x: 3D; v5e, v6e: 2D): the
    all-reduce runs as rings along each dimension in turn, so its latency counts per-dimension hops
    (`_torus_hops`: 3 for 8 chips on a 3D torus, against 7 round one ring), while shards travelling along
    different dimensions at once keep every ICI link busy, so the bandwidth is the ring's over the chip's
    total ICI bandwidth B_inter (bytes/s per direction). Every chip is its own node; `nodes` is unused. s:

    latency = m·d·(ranks^(1/d) − 1)·hop, d = clip(log2 ranks, 1, torus_dimensions), m = 2 for all-reduce
    else 1; bandwidth = (ranks − 1)·bytes/(ranks·B_inter), halved for collectives other than all-reduce.

    >>> import numpy as np
    >>> from infereco.specs.catalog import load_hardware
    >>> from infereco.physics.structs import hardware_arrays
    >>> hw = hardware_arrays(load_hardware("tpu-v5p"), 16)
    >>> lat, bw = ici_torus_time_s(64.0, 64.0, 1e8, hw, xp=np)   # 4×4×4: 2·3·3 hops of 1 µs; 600 GB/s
    >>> round(float(lat) * 1e6, 2), round(float(bw) * 1e6, 1)
    (18.0, 164.1)
    """
    m = 2.0 if collective == ALLREDUCE else 1.0
    half = 1.0 if collective == ALLREDUCE else 0.5
    lat = hw.collective_latency_scale * m * _torus_hops(ranks, hw.torus_dimensions, xp) * hw.ring_hop_s
    bw = half * (ranks - 1.0) * message_bytes / (ranks * hw.inter_node_bandwidth_bytes_per_s)
    active = ranks > 1.0
    return xp.where(active, lat, 0.0), xp.where(active, bw, 0.0)


def neuronlink_time_s(ranks, nodes, message_bytes, hw: HardwareArrays, collective: str = ALLREDUCE, xp=jnp):
    """AWS Trainium: g = ranks/nodes chips of a node on a NeuronLink torus of `torus_dimensions` dimensions
    (trn2.48xlarge: 16 chips, 4×4 2D torus), nodes joined by EFA (a ring over nodes). Hierarchical, as
    NCCL's model: B_intra is a chip's NeuronLink bandwidth, B_inter its share of the EFA NICs, both bytes/s
    per direction; every hop costs `ring_hop_s`. s:

    latency = m·(d·(g^(1/d) − 1) + (nodes − 1))·hop, d = clip(log2 g, 1, torus_dimensions), m = 2 for
    all-reduce else 1; bandwidth = [nodes·max(0, g − 1)/B_intra + (nodes − 1)/B_inter]·bytes/ranks, halved
    for collectives other than all-reduce.

    >>> import numpy as np
    >>> from infereco.specs.catalog import load_hardware
    >>> from infereco.physics.structs import hardware_arrays
    >>> hw = hardware_arrays(load_hardware("trainium2"), 16)
    >>> lat, bw = neuronlink_time_s(16.0, 1.0, 1e8, hw, xp=np)   # one 4×4 node: 2·2·3 hops; 640 GB/s
    >>> round(float(lat) * 1e6, 2), round(float(bw) * 1e6, 1)
    (12.0, 146.5)
    """
    m = 2.0 if collective == ALLREDUCE else 1.0
    half = 1.0 if collective == ALLREDUCE else 0.5
    per_rank = ranks / nodes
    hops = _torus_hops(per_rank, hw.torus_dimensions, xp) + (nodes - 1.0)
    lat = hw.collective_latency_scale * m * hops * hw.ring_hop_s
    seconds_per_byte = (
        nodes * xp.maximum(0.0, per_rank - 1.0) / hw.intra_node_bandwidth_bytes_per_s
        + (nodes - 1.0) / hw.inter_node_bandwidth_bytes_per_s
    )
    bw = half * message_bytes * seconds_per_byte / ranks
    active = ranks > 1.0
    return xp.where(active, lat, 0.0), xp.where(active, bw, 0.0)


def gaudi_roce_time_s(ranks, nodes, message_bytes, hw: HardwareArrays, collective: str = ALLREDUCE, xp=jnp):
    """Intel Gaudi integrated RoCE: the cards of a node are fully connected (Gaudi 3: 3 of its 24 × 200 GbE
    ports to each of 7 peers), so a collective over g = ranks/nodes cards of a node uses g − 1 peer links of
    B_link = B_intra/(node_size − 1) bytes/s per direction; each phase (reduce-scatter, all-gather) sends to
    every peer at once, one step inside the node, then a ring over nodes on the scale-out ports (B_inter).
    Every step costs `ring_hop_s`. s:

    latency = m·(min(g − 1, 1) + (nodes − 1))·hop, m = 2 for all-reduce else 1;
    bandwidth = [nodes·(g − 1)/((g − 1)·B_link) + (nodes − 1)/B_inter]·bytes/ranks, halved for collectives
    other than all-reduce (g − 1 counted as at least one link).

    >>> import numpy as np
    >>> from infereco.specs.catalog import load_hardware
    >>> from infereco.physics.structs import hardware_arrays
    >>> hw = hardware_arrays(load_hardware("gaudi3"), 16)
    >>> lat, bw = gaudi_roce_time_s(8.0, 1.0, 1e8, hw, xp=np)   # one node: 2 steps; 7/8 of 100 MB at 525 GB/s
    >>> round(float(lat) * 1e6, 2), round(float(bw) * 1e6, 1)
    (2.0, 166.7)
    """
    m = 2.0 if collective == ALLREDUCE else 1.0
    half = 1.0 if collective == ALLREDUCE else 0.5
    per_rank = ranks / nodes
    hops_intra = xp.maximum(per_rank - 1.0, 0.0)
    lat = hw.collective_latency_scale * m * (xp.minimum(hops_intra, 1.0) + (nodes - 1.0)) * hw.ring_hop_s
    seconds_per_byte = (
        nodes * hops_intra / _mesh_bandwidth(per_rank, hw, xp)
        + (nodes - 1.0) / hw.inter_node_bandwidth_bytes_per_s
    )
    bw = half * message_bytes * seconds_per_byte / ranks
    active = ranks > 1.0
    return xp.where(active, lat, 0.0), xp.where(active, bw, 0.0)


# The collective time models by fabric name (`HardwareSpec.collectives`), aliases included.
COLLECTIVE_MODELS = {
    "nvlink": nvlink_time_s,
    "xgmi": xgmi_time_s,
    "ici-torus": ici_torus_time_s,
    "neuronlink": neuronlink_time_s,
    "gaudi-roce": gaudi_roce_time_s,
    "pcie": pcie_time_s,
    "ring": ring_time_s,
}
COLLECTIVE_MODELS.update({alias: COLLECTIVE_MODELS[name] for alias, name in FABRIC_ALIASES.items()})
assert set(FABRICS) <= set(COLLECTIVE_MODELS), "every fabric the specs accept needs a collective model"


def collective_time_s(
    kind: str, ranks, nodes, message_bytes, hw: HardwareArrays, collective: str = ALLREDUCE, xp=jnp
):
    """Dispatch on the hardware's fabric (`HardwareSpec.collectives`, e.g. 'nvlink', 'xgmi', 'ici-torus')."""
    fn = COLLECTIVE_MODELS.get(kind)
    if fn is None:  # specs validate the name; this guards callers that build Conventions by hand
        raise ValueError(f"collectives={kind!r}: unknown fabric; expected one of {accepted_fabrics()}")
    return fn(ranks, nodes, message_bytes, hw, collective, xp=xp)
