"""Kimi Linear and Kimi K3: Kimi delta attention (KDA) layers with MLA full-attention layers between them, and
a DeepSeek-style MoE. `linear_attn_config`: `kda_layers` and `full_attn_layers` (1-based layer numbers),
KDA num_heads × head_dim, short_conv_kernel_size, use_full_rank_gate -> `kimi_delta_group`; MLA layers
(kv_lora_rank, q_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim, output gate
`mla_use_output_gate`) -> `mla_group`. FFN: first_k_dense_replace dense layers of intermediate_size, then
num_experts experts (num_experts_per_token of moe_intermediate_size) and num_shared_experts. Latent MoE
(`routed_expert_hidden_size` R < hidden_size, K3): each routed expert holds 3·R·f weights (d_ff = R·f / d
keeps that count) and each MoE layer adds its d→R and R→d projections (always active)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infereco.specs.hf._config import Config
from infereco.specs.hf.registry import register
from infereco.specs.layers import kimi_delta_group, mla_group


@register(
    "kimi-linear", ["KimiLinearForCausalLM", "KimiK3ForConditionalGeneration"], ["kimi_linear", "kimi_k3"]
)
def kimi_linear_fields(cfg: Config) -> dict[str, Any]:
    d = cfg.get_int("hidden_size")
    n_layers = cfg.get_int("num_hidden_layers")
    lin = cfg.data.get("linear_attn_config")
    if not isinstance(lin, Mapping):
        raise cfg.error("linear_attn_config", lin, "expected a mapping with kda_layers and full_attn_layers")
    lcfg = Config(lin, cfg.where, prefix=cfg.key("linear_attn_config."))
    kda = lcfg.get_list("kda_layers") or []
    full = lcfg.get_list("full_attn_layers") or []
    if sorted(set(kda) | set(full)) != list(range(1, n_layers + 1)) or set(kda) & set(full):
        raise cfg.error(
            "linear_attn_config",
            "<kda_layers, full_attn_layers>",
            f"expected the two lists to cover layers 1..{n_layers} once each",
        )
    n_heads = cfg.get_int("num_attention_heads")
    nope = cfg.get_int("qk_nope_head_dim")
    v_dim = cfg.get_int("v_head_dim", default=nope)
    mixers = []
    if full:
        mixers.append(
            mla_group(
                len(full),
                d,
                n_heads,
                cfg.get_int("kv_lora_rank"),
                cfg.optional_int("q_lora_rank"),
                nope,
                cfg.get_int("qk_rope_head_dim"),
                v_dim,
                output_gate=bool(cfg.data.get("mla_use_output_gate", False)),
                note="MLA",
            )
        )
    if kda:
        mixers.append(
            kimi_delta_group(
                len(kda),
                d,
                lcfg.get_int("num_heads"),
                lcfg.get_int("head_dim"),
                lcfg.get_int("short_conv_kernel_size", default=4),
                full_rank_gate=bool(lin.get("use_full_rank_gate", False)),
                note="Kimi delta attention",
            )
        )
    f = cfg.get_int("moe_intermediate_size")
    latent = cfg.get_int("routed_expert_hidden_size", default=d)
    n_dense = cfg.get_int("first_k_dense_replace", default=0)
    fields: dict[str, Any] = {
        "d_model": d,
        "d_ff": max(round(latent * f / d), 1),
        "ffn_matrices": (2, 1),
        "n_layers": n_layers,
        "n_heads": n_heads,
        "n_kv_heads": cfg.get_int("num_key_value_heads", default=n_heads),
        "d_head": (nope + v_dim) // 2,
        "vocab_size": cfg.get_int("vocab_size"),
        "n_experts": cfg.get_int("num_experts"),
        "n_active_experts": cfg.first_int("num_experts_per_token", "num_experts_per_tok"),
        "n_shared_experts": cfg.get_int("num_shared_experts", default=0),
        "d_ff_shared": f,
        "n_dense_layers": n_dense,
        "kv_lora_rank": cfg.get_int("kv_lora_rank"),
        "q_lora_rank": cfg.optional_int("q_lora_rank"),
        "qk_rope_head_dim": cfg.get_int("qk_rope_head_dim"),
        "mixers": tuple(mixers),
    }
    if n_dense:
        fields["d_ff_dense"] = cfg.get_int("intermediate_size")
    if latent != d:
        fields["other_dense_params"] = float((n_layers - n_dense) * 2 * d * latent)
        cfg.note(f"latent MoE ({latent}): experts of 3·{latent}·{f} weights, d<->latent projections dense")
    cfg.note(f"{len(kda)} KDA + {len(full)} MLA layers")
    return fields
