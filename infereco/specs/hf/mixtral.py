"""Mixtral-style MoE without shared experts: Mixtral, MiniMax M2. num_local_experts -> n_experts,
num_experts_per_tok -> n_active_experts, intermediate_size -> d_ff (per expert); a sliding_window, if set,
windows every layer."""

from __future__ import annotations

from typing import Any

from infereco.specs.hf._config import Config, dense_fields, sliding_window_fields
from infereco.specs.hf.registry import register


@register("mixtral", ["MixtralForCausalLM"], ["mixtral"])
def mixtral_fields(cfg: Config) -> dict[str, Any]:
    fields = dense_fields(cfg)
    return {
        **fields,
        "n_experts": cfg.get_int("num_local_experts"),
        "n_active_experts": cfg.get_int("num_experts_per_tok"),
        **sliding_window_fields(cfg, fields["n_layers"]),
    }


@register("minimax-m2", ["MiniMaxM2ForCausalLM"], ["minimax_m2"])
def minimax_m2_fields(cfg: Config) -> dict[str, Any]:
    """MiniMax M2: every layer MoE, no shared expert; `attn_type_list` must be all 1 (softmax attention;
    0 would be MiniMax-01's lightning linear attention)."""
    attn = cfg.get_list("attn_type_list")
    if attn is not None and any(a != 1 for a in attn):
        raise cfg.error(
            "attn_type_list",
            f"<list with {sum(a != 1 for a in attn)} non-softmax layers>",
            "lightning (linear) attention layers are not modelled yet; expected all 1 (softmax attention)",
        )
    fields = mixtral_fields(cfg)
    d_ff = fields["d_ff"]
    shared = cfg.get_int("shared_intermediate_size", default=0)
    if shared:
        if shared % d_ff:
            raise cfg.error("shared_intermediate_size", shared, f"expected a multiple of {d_ff}")
        fields["n_shared_experts"] = shared // d_ff
    if cfg.has("num_mtp_modules") and cfg.data.get("use_mtp"):
        cfg.note("multi-token-prediction modules not counted")
    return fields
