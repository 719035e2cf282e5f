"""A parsed config.json with lookups whose errors name the file and the key, and the shared field helpers."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from infereco.errors import SpecError

# Config keys where 0 is meaningful (no shared experts, no leading dense layers, no RoPE key, no vocabulary in
# a headless config); every other size or count must be at least 1.
MAY_BE_ZERO = frozenset(
    {
        "vocab_size",
        "n_shared_experts",
        "first_k_dense_replace",
        "qk_rope_head_dim",
        "shared_expert_intermediate_size",
        "shared_intermediate_size",
        "share_expert_dim",
    }
)


class Config:
    """A parsed config.json (or its `text_config`) with lookups whose errors name the file and the key.

    `notes` collects what the adapter approximated or left out; the loader appends them to `source`.
    """

    def __init__(self, data: Mapping[str, Any], where: str, prefix: str = ""):
        self.data = data
        self.where = where
        self.prefix = prefix  # "text_config." when reading a wrapper's language model
        self.notes: list[str] = []

    def key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def error(self, key: str, value: Any, expected: str) -> SpecError:
        return SpecError(f"{self.where}: key {self.key(key)!r} = {value!r}: {expected}")

    def get_int(self, key: str, default: int | None = None, *, minimum: int | None = None) -> int:
        """An integer config value. Sizes and counts must be ≥ 1 (`minimum` defaults to 1); the keys where 0
        means "none" (`MAY_BE_ZERO`) may be 0."""
        if minimum is None:
            minimum = 0 if key in MAY_BE_ZERO else 1
        value = self.data.get(key)
        if value is None:
            if default is not None:
                return default
            raise SpecError(f"{self.where}: missing key {self.key(key)!r} (needed to build a ModelSpec)")
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            what = "a positive integer" if minimum >= 1 else "a non-negative integer"
            raise self.error(key, value, f"expected {what}")
        return value

    def optional_int(self, key: str) -> int | None:
        return self.get_int(key) if self.has(key) else None

    def first_int(self, *keys: str, default: int | None = None) -> int:
        """The first of `keys` present (HF renames keys between families and versions)."""
        for key in keys:
            if self.has(key):
                return self.get_int(key)
        return self.get_int(keys[0], default=default)

    def get_list(self, key: str) -> list[Any] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.error(key, value, "expected a list")
        return value

    def note(self, text: str) -> None:
        self.notes.append(text)


def default_head_dim(cfg: Config, d_model: int, n_heads: int) -> int:
    """HF's default head_dim, hidden_size // num_attention_heads (when the config has no head_dim)."""
    if not cfg.has("head_dim") and d_model // n_heads < 1:
        raise SpecError(
            f"{cfg.where}: key {cfg.key('hidden_size')!r} = {d_model} is smaller than "
            f"{cfg.key('num_attention_heads')!r} = {n_heads}, so the default head_dim "
            "hidden_size // num_attention_heads is 0; expected hidden_size >= num_attention_heads or an "
            "explicit head_dim"
        )
    return max(d_model // n_heads, 1)


def dense_fields(cfg: Config, *, d_ff_key: str = "intermediate_size") -> dict[str, Any]:
    """The Llama shape: gated (SwiGLU) FFN, GQA attention."""
    n_heads = cfg.get_int("num_attention_heads")
    d_model = cfg.get_int("hidden_size")
    return {
        "d_model": d_model,
        "d_ff": cfg.get_int(d_ff_key),
        "ffn_matrices": (2, 1),
        "n_layers": cfg.get_int("num_hidden_layers"),
        "n_heads": n_heads,
        # HF semantics: a missing/null num_key_value_heads means multi-head attention.
        "n_kv_heads": cfg.get_int("num_key_value_heads", default=n_heads),
        "d_head": cfg.get_int("head_dim", default=default_head_dim(cfg, d_model, n_heads)),
        "vocab_size": cfg.get_int("vocab_size"),
    }


def sliding_window_fields(cfg: Config, n_layers: int) -> dict[str, Any]:
    """`sliding_window` and `n_sliding_layers` from a config: with `layer_types`, the layers marked
    "sliding_attention"; else (Mistral style) every layer when `sliding_window` is set, unless
    `use_sliding_window` is false (Qwen2/Qwen3, MiMo), and with `max_window_layers` (Qwen2) the layers from
    that index on. No window: {}."""
    window = cfg.optional_int("sliding_window")
    layer_types = cfg.get_list("layer_types")
    if layer_types is not None:
        if len(layer_types) != n_layers:
            raise cfg.error(
                "layer_types", f"<list of {len(layer_types)}>", f"expected one entry per layer ({n_layers})"
            )
        n_sliding = sum(t == "sliding_attention" for t in layer_types)
        if n_sliding and window is None:
            raise cfg.error("sliding_window", None, f"expected a window for the {n_sliding} sliding layers")
    elif window is None or cfg.data.get("use_sliding_window") is False:
        return {}
    elif cfg.data.get("use_sliding_window") is True and cfg.has("max_window_layers"):
        n_sliding = max(n_layers - cfg.get_int("max_window_layers", minimum=0), 0)
    else:
        n_sliding = n_layers
    if not n_sliding:
        return {}
    return {"sliding_window": window, "n_sliding_layers": n_sliding}


def leading_dense_layers(cfg: Config, key: str, n_layers: int) -> int:
    """Count of leading dense layers from a list of layer indices; other patterns cannot be represented."""
    layers = cfg.data.get(key) or []
    if not isinstance(layers, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in layers
    ):
        raise cfg.error(key, layers, "expected a list of layer indices")
    if sorted(layers) != list(range(len(layers))) or len(layers) >= n_layers:
        raise cfg.error(
            key,
            layers,
            "ModelSpec can only represent dense layers at the start "
            "(indices 0, 1, ..., k-1 with k < num_hidden_layers)",
        )
    return len(layers)


def leading_dense_from_flags(cfg: Config, key: str, n_layers: int, *, dense: Any = 0) -> int:
    """Leading dense layers from a per-layer list (`moe_layer_freq` [0, 0, 1, 1, ...] or `mlp_layer_types`
    ['dense', 'dense', 'sparse', ...]); the dense ones must all come first."""
    flags = cfg.get_list(key)
    if flags is None:
        return 0
    if len(flags) != n_layers:
        raise cfg.error(key, f"<list of {len(flags)}>", f"expected one entry per layer ({n_layers})")
    k = 0
    while k < len(flags) and flags[k] == dense:
        k += 1
    if any(f == dense for f in flags[k:]) or k >= n_layers:
        raise cfg.error(
            key,
            f"<list of {len(flags)}>",
            "ModelSpec can only represent dense layers at the start, followed by MoE layers only",
        )
    return k


def shared_experts(cfg: Config, key: str, d_ff: int) -> int:
    """Shared experts as a count of experts of the routed width (the spec has experts of one width)."""
    width = cfg.get_int(key, default=0)
    n = round(width / d_ff) if width else 0
    if width and n * d_ff != width:
        warnings.warn(
            f"{cfg.where}: {cfg.key(key)} {width} is not a multiple of moe_intermediate_size {d_ff}; "
            f"approximated as {n} shared expert(s) of width {d_ff}",
            stacklevel=4,
        )
    return n


def state_bits(cfg: Config, *keys: str, default: int = 16) -> int:
    """Bits per recurrent-state element from a dtype key (`mamba_ssm_dtype`, `mamba_ssm_cache_dtype`):
    float32 -> 32, 16-bit types -> 16; absent -> `default` (the model dtype)."""
    for key in keys:
        value = cfg.data.get(key)
        if value is None:
            continue
        text = str(value).lower().removeprefix("torch.")
        if text in ("float32", "fp32"):
            return 32
        if text in ("float16", "bfloat16", "fp16", "bf16", "auto"):
            return 16
        raise cfg.error(key, value, "expected a dtype: float32, bfloat16 or float16")
    return default


def counted_types(cfg: Config, key: str, n_layers: int, known: tuple[str, ...]) -> dict[str, int]:
    """How many layers of each type a per-layer list (`layer_types`, `layers_block_type`) names; every entry
    must be one of `known` and the list must have one entry per layer."""
    types = cfg.get_list(key)
    if types is None:
        raise SpecError(f"{cfg.where}: missing key {cfg.key(key)!r} (needed to build a ModelSpec)")
    if len(types) != n_layers:
        raise cfg.error(key, f"<list of {len(types)}>", f"expected one entry per layer ({n_layers})")
    unknown = sorted({str(t) for t in types} - set(known))
    if unknown:
        raise cfg.error(key, unknown[0], f"expected layer types from {list(known)}")
    return {k: sum(t == k for t in types) for k in known}
