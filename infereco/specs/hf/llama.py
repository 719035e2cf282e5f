"""Dense GQA decoders of the Llama shape: Llama 2/3, Mistral, Qwen2/2.5, Qwen3, Qwen3-VL's language model,
MiMo. hidden_size -> d_model, num_hidden_layers -> n_layers, num_attention_heads -> n_heads,
num_key_value_heads -> n_kv_heads (HF default: n_heads), head_dim -> d_head (default d_model // n_heads),
intermediate_size -> d_ff, vocab_size; gated (SwiGLU) FFN, ffn_matrices (2, 1). sliding_window ->
sliding_window on every layer (Mistral v0.1), none where use_sliding_window is false (Qwen2/3, MiMo)."""

from __future__ import annotations

from typing import Any

from infereco.specs.hf._config import Config, dense_fields, sliding_window_fields
from infereco.specs.hf.registry import register


@register(
    "llama",
    ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"],
    ["llama", "mistral", "qwen2", "qwen3", "qwen3_vl_text"],
)
def llama_fields(cfg: Config) -> dict[str, Any]:
    fields = dense_fields(cfg)
    fields.update(sliding_window_fields(cfg, fields["n_layers"]))
    return fields


@register("mimo", ["MiMoForCausalLM"], ["mimo"])
def mimo_fields(cfg: Config) -> dict[str, Any]:
    """MiMo-7B: the Qwen2 shape plus multi-token-prediction layers (not counted)."""
    if cfg.get_int("num_nextn_predict_layers", default=0):
        cfg.note(f"{cfg.data['num_nextn_predict_layers']} multi-token-prediction layer(s) not counted")
    fields = dense_fields(cfg)
    fields.update(sliding_window_fields(cfg, fields["n_layers"]))
    return fields
