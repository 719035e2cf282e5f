"""Llama 4 (Scout, Maverick), the language model of `Llama4ForConditionalGeneration` (its `text_config`).
num_local_experts -> n_experts, num_experts_per_tok, intermediate_size -> d_ff (per expert) with one shared
expert of the same width in every MoE layer, intermediate_size_mlp -> d_ff_dense.
`interleave_moe_layer_step` k makes every k-th layer MoE: the spec has leading dense layers only, so the
n_layers - n_layers // k dense layers are placed first (parameter and FLOP counts exact, layer order
approximate). Chunked local attention (attention_chunk_size) is costed as full attention."""

from __future__ import annotations

from typing import Any

from infereco.specs.hf._config import Config, dense_fields
from infereco.specs.hf.registry import register


@register("llama4", ["Llama4ForCausalLM"], ["llama4_text"])
def llama4_fields(cfg: Config) -> dict[str, Any]:
    fields = dense_fields(cfg)
    n_layers = fields["n_layers"]
    step = cfg.get_int("interleave_moe_layer_step", default=1)
    moe_layers = cfg.get_list("moe_layers")
    n_moe = len(moe_layers) if moe_layers is not None else n_layers // step
    if not 0 < n_moe <= n_layers:
        raise cfg.error("interleave_moe_layer_step", step, f"expected at most {n_layers} MoE layers")
    n_dense = n_layers - n_moe
    fields.update(
        n_experts=cfg.get_int("num_local_experts"),
        n_active_experts=cfg.get_int("num_experts_per_tok"),
        n_shared_experts=1,
        n_dense_layers=n_dense,
    )
    if n_dense:
        fields["d_ff_dense"] = cfg.get_int("intermediate_size_mlp")
        cfg.note(f"{n_moe} interleaved MoE layers (every {step}); dense layers placed first (approximate)")
    if cfg.has("attention_chunk_size"):
        cfg.note("chunked local attention costed as full attention")
    return fields
