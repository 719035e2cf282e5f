"""MiniMax M3 (also the language model of MiniMaxM3SparseForConditionalGeneration): GQA attention, leading
dense layers (moe_layer_freq 0, or first_k_dense_replace; width dense_intermediate_size), then MoE layers of
num_local_experts experts of moe_intermediate_size (or intermediate_size) with shared_intermediate_size ->
n_shared_experts. The block-sparse attention (sparse_attention_config) is not modelled: attention is costed
dense over the whole context, and the index heads are not counted."""

from __future__ import annotations

from typing import Any

from infereco.specs.hf._config import Config, dense_fields, leading_dense_from_flags, shared_experts
from infereco.specs.hf.registry import register


@register(
    "minimax-m3",
    ["MiniMaxM3ForCausalLM", "MiniMaxM3SparseForCausalLM"],
    ["minimax_m3", "minimax_m3_text"],
)
def minimax_m3_fields(cfg: Config) -> dict[str, Any]:
    fields = dense_fields(cfg)
    n_layers = fields["n_layers"]
    d_ff = cfg.first_int("moe_intermediate_size", "intermediate_size")
    if isinstance(cfg.data.get("moe_layer_freq"), list):
        n_dense = leading_dense_from_flags(cfg, "moe_layer_freq", n_layers, dense=0)
    else:
        n_dense = cfg.get_int("first_k_dense_replace", default=0)
    fields.update(
        d_ff=d_ff,
        n_experts=cfg.get_int("num_local_experts"),
        n_active_experts=cfg.get_int("num_experts_per_tok"),
        n_shared_experts=shared_experts(cfg, "shared_intermediate_size", d_ff),
        n_dense_layers=n_dense,
    )
    if n_dense:
        fields["d_ff_dense"] = cfg.get_int("dense_intermediate_size")
    sparse = cfg.data.get("sparse_attention_config")
    if isinstance(sparse, dict) and sparse.get("use_sparse_attention"):
        cfg.note("block-sparse attention not modelled: costed dense, index heads not counted")
    if cfg.data.get("num_mtp_modules"):
        cfg.note("multi-token-prediction modules not counted")
    return fields
