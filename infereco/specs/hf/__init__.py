"""Hugging Face architecture adapters, one module per family, and their registry.

Adding a family: a module here whose field builder is decorated with
`@register(family, [architectures...], [model_types...])` (or a `register(..., refuse=reason)` call), its
import below, and a test. `infereco.specs.hf_config.load_hf_config` is the front door.
"""

from __future__ import annotations

from infereco.specs.hf import (  # noqa: F401  (importing a family module registers it)
    decilm,
    deepseek,
    deepseek_v4,
    gemma4,
    gpt_oss,
    kimi_linear,
    llama,
    llama4,
    mimo_v2,
    minimax_m3,
    mixtral,
    nemotron_h,
    qwen3_5,
    qwen_moe,
    refused,
    step,
)
from infereco.specs.hf._config import Config
from infereco.specs.hf.registry import (
    Adapter,
    lookup,
    refused_architectures,
    register,
    supported_architectures,
)

__all__ = ["Adapter", "Config", "lookup", "refused_architectures", "register", "supported_architectures"]
