"""MiMo-V2 (Flash): MoE with sliding-window and full attention layers of different shapes.
`hybrid_layer_pattern` (1 = sliding window, 0 = full) -> mixers: full layers num_attention_heads,
num_key_value_heads, head_dim (queries/keys) and v_head_dim (values); sliding layers swa_num_attention_heads,
swa_num_key_value_heads, swa_head_dim, swa_v_head_dim and sliding_window (attention-sink biases are a few
scalars per head, not costed). `moe_layer_freq` (0 = dense FFN of intermediate_size, leading) -> MoE layers of
n_routed_experts, num_experts_per_tok, moe_intermediate_size. MTP layers are not counted."""

from __future__ import annotations

from typing import Any

from infereco.specs.hf._config import Config, leading_dense_from_flags
from infereco.specs.hf.registry import register
from infereco.specs.layers import attention_group


@register("mimo-v2", ["MiMoV2FlashForCausalLM"], ["mimo_v2_flash"])
def mimo_v2_fields(cfg: Config) -> dict[str, Any]:
    d = cfg.get_int("hidden_size")
    n_layers = cfg.get_int("num_hidden_layers")
    pattern = cfg.get_list("hybrid_layer_pattern") or [0] * n_layers
    if len(pattern) != n_layers or set(pattern) - {0, 1}:
        raise cfg.error("hybrid_layer_pattern", f"<list of {len(pattern)}>", f"expected {n_layers} flags 0/1")
    n_swa = sum(pattern)
    n_heads = cfg.get_int("num_attention_heads")
    n_kv = cfg.get_int("num_key_value_heads", default=n_heads)
    d_head = cfg.get_int("head_dim")
    mixers = []
    if n_layers - n_swa:
        mixers.append(
            attention_group(
                n_layers - n_swa,
                d,
                n_heads,
                n_kv,
                d_head,
                cfg.get_int("v_head_dim", default=d_head),
                note="full attention",
            )
        )
    if n_swa:
        swa_dim = cfg.get_int("swa_head_dim", default=d_head)
        mixers.append(
            attention_group(
                n_swa,
                d,
                cfg.get_int("swa_num_attention_heads", default=n_heads),
                cfg.get_int("swa_num_key_value_heads", default=n_kv),
                swa_dim,
                cfg.get_int("swa_v_head_dim", default=swa_dim),
                window=cfg.first_int("sliding_window", "sliding_window_size"),
                note="sliding-window attention",
            )
        )
    n_dense = leading_dense_from_flags(cfg, "moe_layer_freq", n_layers, dense=0)
    fields: dict[str, Any] = {
        "d_model": d,
        "d_ff": cfg.get_int("moe_intermediate_size"),
        "ffn_matrices": (2, 1),
        "n_layers": n_layers,
        "n_heads": n_heads,
        "n_kv_heads": n_kv,
        "d_head": d_head,
        "vocab_size": cfg.get_int("vocab_size"),
        "n_experts": cfg.get_int("n_routed_experts"),
        "n_active_experts": cfg.get_int("num_experts_per_tok"),
        "n_shared_experts": cfg.get_int("n_shared_experts", default=0),
        "n_dense_layers": n_dense,
        "mixers": tuple(mixers),
    }
    if n_dense:
        fields["d_ff_dense"] = cfg.get_int("intermediate_size")
    return fields
