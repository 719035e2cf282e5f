"""Gemma 4 (dense and MoE; the language model of the multimodal wrapper): alternating local (sliding-window)
and global attention layers of different shapes. `layer_types` -> mixers: 'sliding_attention' layers with
num_key_value_heads × head_dim and the `sliding_window`; 'full_attention' layers with
num_global_key_value_heads × global_head_dim, whose keys double as values when `attention_k_eq_v` (one cached
tensor). Gated GELU FFN (ffn_matrices (2, 1)), intermediate_size; with `enable_moe_block` each layer adds
num_experts routed experts (top_k_experts of moe_intermediate_size) beside its dense MLP, which the spec
carries as one always-active shared expert of intermediate_size. Tied embeddings. Per-layer input embeddings
(hidden_size_per_layer_input > 0) and cross-layer KV sharing (num_kv_shared_layers > 0) are noted, not
costed."""

from __future__ import annotations

from typing import Any

from infereco.specs.hf._config import Config, counted_types, default_head_dim
from infereco.specs.hf.registry import register
from infereco.specs.layers import attention_group


@register("gemma4", ["Gemma4ForConditionalGeneration", "Gemma4ForCausalLM"], ["gemma4", "gemma4_text"])
def gemma4_fields(cfg: Config) -> dict[str, Any]:
    d = cfg.get_int("hidden_size")
    n_layers = cfg.get_int("num_hidden_layers")
    n_heads = cfg.get_int("num_attention_heads")
    n_kv = cfg.get_int("num_key_value_heads", default=n_heads)
    d_head = cfg.get_int("head_dim", default=default_head_dim(cfg, d, n_heads))
    counts = counted_types(cfg, "layer_types", n_layers, ("sliding_attention", "full_attention"))
    mixers = []
    if counts["sliding_attention"]:
        mixers.append(
            attention_group(
                counts["sliding_attention"],
                d,
                n_heads,
                n_kv,
                d_head,
                window=cfg.get_int("sliding_window"),
                note="local attention",
            )
        )
    if counts["full_attention"]:
        mixers.append(
            attention_group(
                counts["full_attention"],
                d,
                n_heads,
                cfg.get_int("num_global_key_value_heads", default=n_kv),
                cfg.get_int("global_head_dim", default=d_head),
                k_eq_v=bool(cfg.data.get("attention_k_eq_v", False)),
                note="global attention",
            )
        )
    d_ff = cfg.get_int("intermediate_size")
    fields: dict[str, Any] = {
        "d_model": d,
        "d_ff": d_ff,
        "ffn_matrices": (2, 1),
        "n_layers": n_layers,
        "n_heads": n_heads,
        "n_kv_heads": n_kv,
        "d_head": d_head,
        "vocab_size": cfg.get_int("vocab_size"),
        "mixers": tuple(mixers),
    }
    if cfg.data.get("enable_moe_block"):
        fields.update(
            d_ff=cfg.first_int("moe_intermediate_size", "expert_intermediate_size"),
            n_experts=cfg.get_int("num_experts"),
            n_active_experts=cfg.first_int("top_k_experts", "num_experts_per_tok"),
            n_shared_experts=1,
            d_ff_shared=d_ff,
        )
        cfg.note("dense MLP beside the routed experts counted as one shared expert")
    if cfg.get_int("hidden_size_per_layer_input", default=0, minimum=0):
        cfg.note("per-layer input embeddings not counted")
    if cfg.get_int("num_kv_shared_layers", default=0, minimum=0):
        cfg.note("cross-layer KV sharing not modelled: every layer holds its own KV cache")
    return fields
