"""Small frozen numeric structures that traced physics code consumes (never pydantic objects).

`ModelArrays` and `HardwareArrays` are frozen dataclasses registered as JAX pytrees
(`jax.tree_util.register_dataclass`): their numbers are traced leaves, so a second model with the same
structure reuses the compiled function, while fields marked `static` (metadata) are part of the tree structure
and jit specialises on them, as equinox's `field(static=True)` does. `Conventions` (specs) holds the static
switches of a preset.
"""

from __future__ import annotations

import dataclasses

import jax

from infereco.specs.conventions import Conventions  # noqa: F401  (re-exported for the physics)
from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec


def static_field(**kwargs):
    """A dataclass field that is part of a pytree's structure (jit specialises on it), not a traced leaf."""
    return dataclasses.field(metadata={"static": True}, **kwargs)


def pytree_dataclass(cls):
    """A frozen dataclass registered as a JAX pytree; fields made with `static_field` are static."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    fields = dataclasses.fields(cls)
    return jax.tree_util.register_dataclass(
        cls,
        data_fields=[f.name for f in fields if not f.metadata.get("static")],
        meta_fields=[f.name for f in fields if f.metadata.get("static")],
    )


@pytree_dataclass
class ModelArrays:
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
    # Sliding-window attention: tokens a windowed layer attends to (0 when there is none: every leaf stays
    # finite, and a window only acts through sliding_fraction), and the windowed layers / n_layers.
    sliding_window: float = 0.0
    sliding_fraction: float = 0.0
    # Hybrids (ModelSpec.mixers): share of attention FLOP on windowed layers; sparse attention's top-k cap
    # (0 = none) with its shares of KV bytes and attention FLOP; recurrent state bytes per sequence and
    # recurrence FLOP per token. All 0 (and the FLOP share = sliding_fraction) for uniform attention.
    sliding_flop_fraction: float = 0.0
    sparse_top_k: float = 0.0
    sparse_fraction: float = 0.0
    sparse_flop_fraction: float = 0.0
    state_bytes_per_sequence: float = 0.0
    mixer_flop_per_token: float = 0.0
    # Per-component bytes per weight (block scales included) and the stored weight bytes; equal to
    # weight_bytes and weight_bytes · total_params for a single-precision model.
    attention_weight_bytes: float = 0.0
    expert_weight_bytes: float = 0.0
    dense_weight_bytes: float = 0.0
    embedding_weight_bytes: float = 0.0
    weight_memory_bytes: float = 0.0
    # Parameters each token multiplies in the embedding / lm_head (2·V·d; 0 once `without_embedding_flop`
    # drops them), which separates the components whose GEMMs run at their own rate.
    embedding_flop_params: float = 0.0
    # Tokens on the busiest expert-parallel rank over the mean (routing skew; 1 = balanced).
    expert_load_imbalance: float = 1.0
    parallel_attention: bool = static_field(default=False)  # PaLM-style parallel attention + FFN blocks


@pytree_dataclass
class HardwareArrays:
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
    # Seconds per KV-cache byte read over seconds per weight byte (attention kernels below streaming
    # bandwidth).
    kv_read_time_scale: float = 1.0
    # 1 = memory traffic and arithmetic overlap fully (roofline max); 0 = they add up.
    memory_compute_overlap: float = 1.0
    # Dimensions of the chip torus of the ici-torus and neuronlink fabrics (1 = a ring).
    torus_dimensions: float = 1.0
    # FLOP rate of each component's GEMMs relative to flop_per_s (mixed precision: NVFP4 experts at the FP4
    # rate beside 16-bit attention), and of attention scores / recurrences; all 1 for a single precision.
    attention_flop_scale: float = 1.0
    ffn_flop_scale: float = 1.0
    expert_flop_scale: float = 1.0
    embedding_flop_scale: float = 1.0
    score_flop_scale: float = 1.0


def model_arrays(model: ModelSpec) -> ModelArrays:
    """Flatten a validated `ModelSpec` into the floats the physics uses."""
    mla = model.is_mla
    # attention FLOP is 4·width·h·L per position; a hybrid's width is the one that gives its groups' total.
    width = float(model.kv_lora_rank if mla else model.head_dim)
    if model.mixers:
        width = model.attention_flop_per_position / (4.0 * model.n_heads * model.n_layers)
    return ModelArrays(
        d_model=float(model.d_model),
        d_ff=float(model.d_ff),
        m_up=float(model.ffn_matrices[0]),
        m_down=float(model.ffn_matrices[1]),
        n_layers=float(model.n_layers),
        n_moe_layers=float(model.n_moe_layers),
        n_experts=float(model.n_experts),
        n_active_experts=float(model.n_active_experts + model.n_shared_experts),
        # E/k exactly: routed tokens hit E·(1 − (1 − k/E)^n) distinct experts (equal to the reference's
        # integer E // k for every model whose E is a multiple of k).
        sparsity=float(model.n_experts / model.n_active_experts),
        n_heads=float(model.n_heads),
        kv_heads_total=0.0 if mla else float(2 * model.n_kv_heads),
        d_head=float(model.head_dim),
        attention_width=width,
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
        sliding_window=float(model.window_tokens or 0),
        sliding_fraction=float(model.sliding_fraction),
        sliding_flop_fraction=float(model.sliding_flop_fraction),
        sparse_top_k=float(model.sparse_top_k or 0),
        sparse_fraction=float(model.sparse_fraction),
        sparse_flop_fraction=float(model.sparse_flop_fraction),
        state_bytes_per_sequence=float(model.state_bytes_per_sequence),
        mixer_flop_per_token=float(model.mixer_flop_per_token),
        attention_weight_bytes=float(model.attention_weight_bytes),
        expert_weight_bytes=float(model.expert_weight_bytes),
        dense_weight_bytes=float(model.ffn_weight_bytes),
        embedding_weight_bytes=float(model.embedding_weight_bytes),
        weight_memory_bytes=float(model.weight_memory_bytes),
        embedding_flop_params=float(model.embedding_params),
        expert_load_imbalance=float(model.expert_load_imbalance),
        parallel_attention=bool(model.parallel_attention),
    )


def flop_scales(model: ModelSpec, hw: HardwareSpec, operand_bits: int) -> dict[str, float]:
    """Each component's GEMM FLOP rate on `hw` over the rate at `operand_bits`, from
    `ModelSpec.gemm_operand_bits` (attention scores and recurrences at `activation_bits`), plus `peak`: the
    harmonic mean of the component rates weighted by their active parameters (the peak an MFU compares with).
    All 1 for a single-precision model without W·A quantization, whatever the preset's operand rule.

    >>> from infereco.specs.catalog import load_hardware
    >>> m = ModelSpec(name="t", d_model=64, d_ff=128, n_layers=1, n_heads=4, n_kv_heads=4, vocab_size=1000,
    ...               weight_bits=4, attention_weight_bits=16, embedding_weight_bits=16, gemm_input_bits=4)
    >>> s = flop_scales(m, load_hardware("b200"), 16)
    >>> s["expert"], s["attention"], s["score"]   # B200: 9 PFLOP/s dense FP4 over 2.25 BF16
    (4.0, 1.0, 1.0)
    """
    names = ("attention", "ffn", "expert", "embedding")
    if model.is_uniform_precision and model.gemm_input_bits is None:
        return dict.fromkeys((*names, "score", "peak"), 1.0)
    base = hw.peak_flop_per_s(operand_bits)
    bits = model.gemm_operand_bits()
    out = {c: hw.peak_flop_per_s(bits[c]) / base for c in names}
    out["score"] = hw.peak_flop_per_s(model.activation_bits) / base
    params = model.gemm_active_params()
    total = sum(params.values())
    out["peak"] = total / sum(params[c] / out[c] for c in names) if total > 0 else 1.0
    return out


def hardware_arrays(hw: HardwareSpec, operand_bits: int, model: ModelSpec | None = None) -> HardwareArrays:
    """Flatten a validated `HardwareSpec`, picking the FLOP/s for `operand_bits`-bit operands; with `model`,
    each component's GEMMs run at the rate of its own operands (`flop_scales`)."""
    protocols = hw.nccl_protocols
    scales = flop_scales(model, hw, operand_bits) if model is not None else {}
    return HardwareArrays(
        flop_per_s=hw.sustained_flop_per_s(operand_bits),
        peak_flop_per_s=hw.peak_flop_per_s(operand_bits) * scales.get("peak", 1.0),
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
        torus_dimensions=float(hw.torus_dimensions),
        **{f"{c}_flop_scale": float(scales[c]) for c in scales if c != "peak"},
    )
