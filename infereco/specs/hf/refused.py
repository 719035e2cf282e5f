"""Families recognised but refused: hybrids whose layers need physics the spec does not have, and shapes one
`ModelSpec` cannot represent. Each reason is one line and names the missing feature."""

from __future__ import annotations

from infereco.specs.hf.registry import register

register(
    "qwen3.5",
    [
        "Qwen3_5ForConditionalGeneration",
        "Qwen3_5MoeForConditionalGeneration",
        "Qwen3_5ForCausalLM",
        "Qwen3_5MoeForCausalLM",
        "Qwen3NextForCausalLM",
    ],
    ["qwen3_5", "qwen3_5_moe", "qwen3_5_text", "qwen3_5_moe_text", "qwen3_next"],
    refuse="gated delta-net linear-attention layers (layer_types 'linear_attention') are not modelled yet",
)
register(
    "nemotron-h",
    ["NemotronHForCausalLM"],
    ["nemotron_h"],
    refuse="state-space (Mamba) layers (hybrid_override_pattern 'M') are not modelled yet",
)
register(
    "deepseek-v4",
    ["DeepseekV4ForCausalLM"],
    ["deepseek_v4", "deepseek_ref"],
    refuse=(
        "compressed sparse attention (compress_ratios, a single-head latent KV with grouped output LoRA), "
        "hash-routed MoE layers and hyper-connections (hc_mult) are not modelled yet"
    ),
)
register(
    "kimi-linear",
    ["KimiLinearForCausalLM", "KimiK3ForConditionalGeneration"],
    ["kimi_linear", "kimi_k3"],
    refuse="Kimi delta attention (KDA) linear-attention layers (linear_attn_config) are not modelled yet",
)
register(
    "decilm",
    ["DeciLMForCausalLM"],
    ["nemotron-nas"],
    refuse=(
        "heterogeneous blocks (block_configs: per-layer FFN widths, no-op or linear attention/FFN) cannot "
        "be represented by one ModelSpec, which has one attention and one FFN shape for all layers"
    ),
)
register(
    "mimo-v2",
    ["MiMoV2FlashForCausalLM"],
    ["mimo_v2_flash"],
    refuse=(
        "sliding-window layers with their own head counts (swa_num_key_value_heads) beside full-attention "
        "layers, and v_head_dim != head_dim, cannot be represented by one ModelSpec attention shape"
    ),
)
register(
    "gemma4",
    ["Gemma4ForConditionalGeneration", "Gemma4ForCausalLM"],
    ["gemma4", "gemma4_text"],
    refuse=(
        "local and global attention layers of different shapes (head_dim vs global_head_dim, "
        "num_key_value_heads vs num_global_key_value_heads, attention_k_eq_v) cannot be represented by one "
        "ModelSpec attention shape"
    ),
)
