"""Small frozen numeric structures that traced physics code consumes (never pydantic objects).

`ModelArrays` and `HardwareArrays` are NamedTuples of float64 scalars, hence JAX pytrees: a second model with the
same structure reuses the compiled function. `Conventions` holds the static switches (hashable, not traced).
"""

from __future__ import annotations

import dataclasses
from typing import Literal, NamedTuple

from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec


class ModelArrays(NamedTuple):
    d_model: float
    d_ff: float
    m_up: float
    m_down: float
    n_layers: float
    n_moe_layers: float
    n_experts: float
    n_active_experts: float  # routed + shared, for collective sizes
    sparsity: float
    n_heads: float
    kv_heads_total: float  # K and V heads counted together (2 · n_kv_heads); MLA: 0
    d_head: float
    attention_width: float  # d_head for GQA, d_latent for MLA (Erdil §3.1)
    vocab_size: float
    weight_bytes: float
    activation_bytes: float
    attention_params_per_layer: float
    routed_ffn_params: float
    dense_ffn_params: float
    total_params: float
    active_params: float
    kv_cache_bytes_per_token: float
    mla_latent: float  # kv_lora_rank + q_lora_rank for MLA, else 0


class HardwareArrays(NamedTuple):
    flop_per_s: float  # sustained, at the model's operand precision
    peak_flop_per_s: float  # theoretical, for MFU
    hbm_bandwidth_bytes_per_s: float  # sustained
    hbm_capacity_bytes: float
    intra_node_bandwidth_bytes_per_s: float
    inter_node_bandwidth_bytes_per_s: float
    node_size: float
    kernel_launch_s: float
    ring_hop_s: float
    price_usd_per_hour: float
    step_overhead_s: float
    layer_overhead_s: float
    collective_latency_scale: float
    nccl_base_s: tuple[float, ...]
    nccl_intra_hop_s: tuple[float, ...]
    nccl_inter_hop_s: tuple[float, ...]
    nccl_bandwidth_factor: tuple[float, ...]
    # Seconds per KV-cache byte read over seconds per weight byte (attention kernels below streaming bandwidth).
    kv_read_time_scale: float = 1.0
    # 1 = memory traffic and arithmetic overlap fully (roofline max); 0 = they add up.
    memory_compute_overlap: float = 1.0


@dataclasses.dataclass(frozen=True)
class Conventions:
    """Static modelling switches. The defaults are the library's; presets pick the reference's.

    - `tp_2d_options`: which tensor-parallel layouts to try (True = 2D, False = 1D).
    - `pp_degrees`: pipeline degrees to try (microbatches = degree, bubble-free).
    - `collectives`: 'nccl' or 'ring'.
    - `parallel_attention_merges_collectives`: PaLM-style blocks need half the serial all-reduces and kernels
      (Erdil Eq. 7). The reference notebook ignores this.
    - `spec_convention`: 'notebook' ((1 − α^(γ+1))/(1 − α) tokens, a (γ+1)-token target pass) or
      'paper' (Eq. 46: (1 − α^γ)/(1 − α), a γ-token target pass).
    - `reference_qkv_bytes`: the notebook omits the activation precision on the QKV outputs it re-reads.
    - `draft_shares_memory`: the draft model's weights and KV cache count against the same HBM as the target's
      (the notebook checks each model's fit on its own).
    """

    tp_2d_options: tuple[bool, ...] = (True, False)
    pp_degrees: tuple[float, ...] = (1.0, 2.0, 4.0, 6.0)
    collectives: Literal["nccl", "ring"] = "nccl"
    parallel_attention_merges_collectives: bool = True
    spec_convention: Literal["notebook", "paper"] = "notebook"
    reference_qkv_bytes: bool = False  # count QKV outputs at 1 byte per element, as the reference notebook does
    draft_shares_memory: bool = True  # speculative decoding: target and draft weights + KV must fit together


def model_arrays(model: ModelSpec) -> ModelArrays:
    """Flatten a validated `ModelSpec` into the floats the physics uses."""
    mla = model.is_mla
    return ModelArrays(
        d_model=float(model.d_model),
        d_ff=float(model.d_ff),
        m_up=float(model.ffn_matrices[0]),
        m_down=float(model.ffn_matrices[1]),
        n_layers=float(model.n_layers),
        n_moe_layers=float(model.n_moe_layers),
        n_experts=float(model.n_experts),
        n_active_experts=float(model.n_active_experts + model.n_shared_experts),
        sparsity=float(model.sparsity),
        n_heads=float(model.n_heads),
        kv_heads_total=0.0 if mla else float(2 * model.n_kv_heads),
        d_head=float(model.head_dim),
        attention_width=float(model.kv_lora_rank if mla else model.head_dim),
        vocab_size=float(model.vocab_size),
        weight_bytes=float(model.weight_bytes),
        activation_bytes=float(model.activation_bytes),
        attention_params_per_layer=float(model.attention_params_per_layer),
        routed_ffn_params=float(model.routed_ffn_params),
        dense_ffn_params=float(model.dense_ffn_params),
        total_params=float(model.total_params),
        active_params=float(model.active_params),
        kv_cache_bytes_per_token=float(model.kv_cache_bytes_per_token),
        mla_latent=float((model.kv_lora_rank or 0) + (model.q_lora_rank or 0)) if mla else 0.0,
    )


def hardware_arrays(hw: HardwareSpec, operand_bits: int) -> HardwareArrays:
    """Flatten a validated `HardwareSpec`, picking the FLOP/s for `operand_bits`-bit operands."""
    protocols = hw.nccl_protocols
    return HardwareArrays(
        flop_per_s=hw.sustained_flop_per_s(operand_bits),
        peak_flop_per_s=hw.peak_flop_per_s(operand_bits),
        hbm_bandwidth_bytes_per_s=hw.sustained_hbm_bandwidth_bytes_per_s,
        hbm_capacity_bytes=float(hw.hbm_capacity_bytes),
        intra_node_bandwidth_bytes_per_s=float(hw.intra_node_bandwidth_bytes_per_s),
        inter_node_bandwidth_bytes_per_s=float(hw.inter_node_bandwidth_bytes_per_s),
        node_size=float(hw.node_size),
        kernel_launch_s=float(hw.kernel_launch_s),
        ring_hop_s=float(hw.ring_hop_s),
        price_usd_per_hour=float(hw.price_usd_per_hour),
        step_overhead_s=float(hw.step_overhead_s),
        layer_overhead_s=float(hw.layer_overhead_s),
        collective_latency_scale=float(hw.collective_latency_scale),
        nccl_base_s=tuple(p.base_s for p in protocols),
        nccl_intra_hop_s=tuple(p.intra_hop_s for p in protocols),
        nccl_inter_hop_s=tuple(p.inter_hop_s for p in protocols),
        nccl_bandwidth_factor=tuple(p.bandwidth_factor for p in protocols),
        kv_read_time_scale=float(hw.kv_read_time_scale),
        memory_compute_overlap=float(hw.memory_compute_overlap),
    )
