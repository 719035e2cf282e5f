"""gpt-oss: every layer MoE, no shared expert. num_local_experts -> n_experts, num_experts_per_tok
(or experts_per_token) -> n_active_experts, intermediate_size -> d_ff (per expert). The alternating
sliding-window (128-token) and full attention layers: sliding_window -> sliding_window, the
"sliding_attention" entries of layer_types -> n_sliding_layers. The per-head attention sinks are not
modelled; the attention and router biases are not counted."""

from __future__ import annotations

from typing import Any

from infereco.specs.hf._config import Config, dense_fields, sliding_window_fields
from infereco.specs.hf.registry import register


@register("gpt-oss", ["GptOssForCausalLM"], ["gpt_oss"])
def gpt_oss_fields(cfg: Config) -> dict[str, Any]:
    fields = dense_fields(cfg)
    fields["n_experts"] = cfg.get_int("num_local_experts")
    fields["n_active_experts"] = cfg.first_int("num_experts_per_tok", "experts_per_token")
    window = sliding_window_fields(cfg, fields["n_layers"])
    fields.update(window)
    if window:
        cfg.note(
            f"{window['n_sliding_layers']} of {fields['n_layers']} layers sliding-window attention "
            f"(window {window['sliding_window']}); attention sinks not modelled"
        )
    else:
        cfg.note("attention sinks not modelled")
    return fields
