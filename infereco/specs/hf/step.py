"""StepFun Step 3.x Flash: GQA attention, leading dense layers then MoE with shared experts.
num_experts -> n_experts, num_experts_per_tok, moe_intermediate_size -> d_ff, share_expert_dim ->
n_shared_experts (in routed-expert widths), first_k_dense_replace -> n_dense_layers, intermediate_size ->
d_ff_dense. Sliding-window layers are costed as full attention; MTP layers are not counted."""

from __future__ import annotations

from typing import Any

from infereco.specs.hf._config import Config, dense_fields, shared_experts
from infereco.specs.hf.registry import register


@register("step", ["Step3p7FlashForCausalLM", "Step3p5FlashForCausalLM"], ["step3p7", "step3p5"])
def step_fields(cfg: Config) -> dict[str, Any]:
    fields = dense_fields(cfg)
    d_ff_dense = fields["d_ff"]
    d_ff = cfg.get_int("moe_intermediate_size")
    n_dense = cfg.get_int("first_k_dense_replace", default=0)
    if cfg.has("share_expert_dim"):
        n_shared = shared_experts(cfg, "share_expert_dim", d_ff)
    else:
        n_shared = cfg.get_int("n_shared_experts", default=0)
    fields.update(
        d_ff=d_ff,
        n_experts=cfg.get_int("num_experts"),
        n_active_experts=cfg.get_int("num_experts_per_tok"),
        n_shared_experts=n_shared,
        n_dense_layers=n_dense,
    )
    if n_dense:
        fields["d_ff_dense"] = d_ff_dense
    n_sliding = sum(t == "sliding_attention" for t in cfg.get_list("layer_types") or [])
    if n_sliding:
        cfg.note(f"{n_sliding} sliding-window layers costed as full attention")
    if cfg.get_int("num_nextn_predict_layers", default=0):
        cfg.note("multi-token-prediction layers not counted")
    return fields
