"""Qwen3-Next, Qwen3.5 and Qwen3.6 (dense and MoE): gated delta-net linear attention in most layers, gated
full attention in every `full_attention_interval`-th. `layer_types` ('linear_attention' / 'full_attention',
else the interval) -> mixers: full layers `attention_group` (num_attention_heads, num_key_value_heads,
head_dim, output gate `attn_output_gate`), linear layers `gated_delta_group` (linear_num_key_heads,
linear_num_value_heads, linear_key_head_dim, linear_value_head_dim, linear_conv_kernel_dim; state dtype
`mamba_ssm_dtype`). FFN: MoE (num_experts, num_experts_per_tok, moe_intermediate_size, one shared expert of
shared_expert_intermediate_size) or dense (intermediate_size). MTP layers (`mtp_num_hidden_layers`) are not
counted (a draft head; speculative decoding prices them)."""

from __future__ import annotations

from typing import Any

from infereco.specs.hf._config import Config, counted_types, dense_fields, state_bits
from infereco.specs.hf.registry import register
from infereco.specs.layers import attention_group, gated_delta_group


@register(
    "qwen3.5",
    [
        "Qwen3_5ForConditionalGeneration",
        "Qwen3_5MoeForConditionalGeneration",
        "Qwen3_5ForCausalLM",
        "Qwen3_5MoeForCausalLM",
        "Qwen3NextForCausalLM",
    ],
    ["qwen3_5", "qwen3_5_moe", "qwen3_5_text", "qwen3_5_moe_text", "qwen3_next"],
)
def qwen3_5_fields(cfg: Config) -> dict[str, Any]:
    is_moe = cfg.has("num_experts")
    fields = dense_fields(cfg, d_ff_key="moe_intermediate_size" if is_moe else "intermediate_size")
    n_layers, d = fields["n_layers"], fields["d_model"]
    if cfg.has("layer_types"):
        counts = counted_types(cfg, "layer_types", n_layers, ("linear_attention", "full_attention"))
        n_full = counts["full_attention"]
    else:
        interval = cfg.get_int("full_attention_interval")
        n_full = n_layers // interval
    n_linear = n_layers - n_full
    mixers = []
    if n_full:
        mixers.append(
            attention_group(
                n_full,
                d,
                fields["n_heads"],
                fields["n_kv_heads"],
                fields["d_head"],
                output_gate=bool(cfg.data.get("attn_output_gate", True)),
                note="gated full attention",
            )
        )
    if n_linear:
        mixers.append(
            gated_delta_group(
                n_linear,
                d,
                cfg.get_int("linear_num_key_heads"),
                cfg.get_int("linear_num_value_heads"),
                cfg.get_int("linear_key_head_dim"),
                cfg.get_int("linear_value_head_dim"),
                cfg.get_int("linear_conv_kernel_dim", default=4),
                state_bits=state_bits(cfg, "mamba_ssm_dtype", default=32),
                note="gated delta-net",
            )
        )
    fields["mixers"] = tuple(mixers)
    if is_moe:
        step = cfg.get_int("decoder_sparse_step", default=1)
        if step != 1 or cfg.data.get("mlp_only_layers"):
            raise cfg.error(
                "mlp_only_layers" if cfg.data.get("mlp_only_layers") else "decoder_sparse_step",
                cfg.data.get("mlp_only_layers") or step,
                "expected an MoE FFN in every layer",
            )
        fields.update(
            n_experts=cfg.get_int("num_experts"),
            n_active_experts=cfg.get_int("num_experts_per_tok"),
        )
        shared = cfg.get_int("shared_expert_intermediate_size", default=0)
        if shared:
            fields.update(n_shared_experts=1, d_ff_shared=shared)
    mtp = cfg.data.get("mtp_num_hidden_layers")
    if isinstance(mtp, int) and not isinstance(mtp, bool) and mtp > 0:
        cfg.note(f"{mtp} multi-token-prediction layer(s) not counted")
    cfg.note(f"{n_linear} gated delta-net + {n_full} full-attention layers")
    return fields
