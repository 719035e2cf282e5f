"""Qwen MoE: Qwen1.5/2-MoE, Qwen3-MoE, Qwen3-VL-MoE's language model. num_experts, num_experts_per_tok,
moe_intermediate_size -> d_ff; shared_expert_intermediate_size -> n_shared_experts
= round(shared / moe_intermediate_size) (approximate: the spec only has experts of one width); leading
`mlp_only_layers` -> n_dense_layers with d_ff_dense = intermediate_size; decoder_sparse_step must be 1."""

from __future__ import annotations

from typing import Any

from infereco.errors import SpecError
from infereco.specs.hf._config import Config, dense_fields, leading_dense_layers, shared_experts
from infereco.specs.hf.registry import register


@register(
    "qwen-moe",
    ["Qwen2MoeForCausalLM", "Qwen3MoeForCausalLM"],
    ["qwen2_moe", "qwen3_moe", "qwen3_vl_moe_text"],
)
def qwen_moe_fields(cfg: Config) -> dict[str, Any]:
    fields = dense_fields(cfg)
    d_ff_dense = fields["d_ff"]
    d_ff = cfg.get_int("moe_intermediate_size")
    step = cfg.get_int("decoder_sparse_step", default=1)
    if step != 1:
        raise SpecError(
            f"{cfg.where}: key {cfg.key('decoder_sparse_step')!r} = {step}: ModelSpec needs every layer "
            "after the leading dense ones to be MoE (decoder_sparse_step 1)"
        )
    n_dense = leading_dense_layers(cfg, "mlp_only_layers", fields["n_layers"])
    fields.update(
        d_ff=d_ff,
        n_experts=cfg.get_int("num_experts"),
        n_active_experts=cfg.get_int("num_experts_per_tok"),
        n_shared_experts=shared_experts(cfg, "shared_expert_intermediate_size", d_ff),
        n_dense_layers=n_dense,
    )
    if n_dense:
        fields["d_ff_dense"] = d_ff_dense
    return fields
