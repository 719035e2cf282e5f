"""gpt-oss: every layer MoE, no shared expert. num_local_experts -> n_experts, num_experts_per_tok
(or experts_per_token) -> n_active_experts, intermediate_size -> d_ff (per expert). Alternating
sliding-window (128-token) and full attention layers and the per-head attention sinks are not modelled
(every layer is costed as full attention); the attention and router biases are not counted."""

from __future__ import annotations

from typing import Any

from infereco.specs.hf._config import Config, dense_fields
from infereco.specs.hf.registry import register


@register("gpt-oss", ["GptOssForCausalLM"], ["gpt_oss"])
def gpt_oss_fields(cfg: Config) -> dict[str, Any]:
    fields = dense_fields(cfg)
    fields["n_experts"] = cfg.get_int("num_local_experts")
    fields["n_active_experts"] = cfg.first_int("num_experts_per_tok", "experts_per_token")
    layer_types = cfg.get_list("layer_types") or []
    n_sliding = sum(t == "sliding_attention" for t in layer_types)
    if n_sliding:
        cfg.note(
            f"{n_sliding} sliding-window layers (window {cfg.data.get('sliding_window')!r}) costed as full "
            "attention; attention sinks not modelled"
        )
    else:
        cfg.note("attention sinks not modelled")
    return fields
