"""Build a `ModelSpec` from a Hugging Face `config.json` (local file, folder or already-parsed dict).

Supported architectures (the first supported entry of `architectures`, else `model_type`):
Llama, Mistral, Mixtral, Qwen2, Qwen3, Qwen2-MoE, Qwen3-MoE, DeepSeek-V2 and DeepSeek-V3.

Key mapping (HF name -> ModelSpec field):

- hidden_size -> d_model; num_hidden_layers -> n_layers; num_attention_heads -> n_heads;
  num_key_value_heads -> n_kv_heads (HF default: n_heads); head_dim -> d_head (default d_model // n_heads);
  intermediate_size -> d_ff; vocab_size -> vocab_size. Every supported family uses a gated (SwiGLU) FFN,
  so ffn_matrices is (2, 1).
- Mixtral: num_local_experts, num_experts_per_tok.
- Qwen2/3-MoE: num_experts, num_experts_per_tok, moe_intermediate_size -> d_ff;
  shared_expert_intermediate_size -> n_shared_experts = round(shared / moe_intermediate_size) (approximate:
  the spec only has experts of one width); leading `mlp_only_layers` -> n_dense_layers with
  d_ff_dense = intermediate_size.
- DeepSeek-V2/V3 (MLA): kv_lora_rank, q_lora_rank, qk_rope_head_dim;
  qk_nope_head_dim (= v_head_dim) -> d_head;
  first_k_dense_replace -> n_dense_layers; intermediate_size -> d_ff_dense; moe_intermediate_size -> d_ff;
  n_routed_experts, n_shared_experts, num_experts_per_tok. The multi-token-prediction layers are not counted.
- Precision: torch_dtype (or `dtype`) bfloat16/float16 -> 16 bits, float32 -> 32 for weights and
  activations; `quantization_config` (fp8 -> 8, or an explicit `bits`) sets weight bits only.
- tie_word_embeddings is recorded in `source`; the spec always counts embedding + unembedding (2·V·d).

>>> spec = load_hf_config({"architectures": ["LlamaForCausalLM"], "hidden_size": 4096,
...     "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
...     "num_key_value_heads": 8, "vocab_size": 128256, "torch_dtype": "bfloat16"}, name="llama-3-8b")
>>> (spec.n_kv_heads, spec.d_head, spec.weight_bits)
(8, 128, 16)
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from infereco.errors import SpecError
from infereco.specs.model import ModelSpec

MAX_CONFIG_BYTES = 2_000_000

_DTYPE_BITS = {
    "bfloat16": 16,
    "float16": 16,
    "half": 16,
    "bf16": 16,
    "fp16": 16,
    "float32": 32,
    "float": 32,
    "fp32": 32,
    "float8_e4m3fn": 8,
    "float8_e5m2": 8,
}


class _Config:
    """A parsed config.json with lookups whose errors name the file and the key."""

    def __init__(self, data: Mapping[str, Any], where: str):
        self.data = data
        self.where = where

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def get_int(self, key: str, default: int | None = None, *, minimum: int | None = None) -> int:
        """An integer config value. Sizes and counts must be ≥ 1 (`minimum` defaults to 1); the keys where 0
        means "none" (`_MAY_BE_ZERO`) may be 0."""
        if minimum is None:
            minimum = 0 if key in _MAY_BE_ZERO else 1
        value = self.data.get(key)
        if value is None:
            if default is not None:
                return default
            raise SpecError(f"{self.where}: missing key {key!r} (needed to build a ModelSpec)")
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            what = "a positive integer" if minimum >= 1 else "a non-negative integer"
            raise SpecError(f"{self.where}: key {key!r} = {value!r}: expected {what}")
        return value

    def optional_int(self, key: str) -> int | None:
        return self.get_int(key) if self.has(key) else None


# Config keys where 0 is meaningful (no shared experts, no leading dense layers, no RoPE key, no vocabulary in
# a headless config); every other size or count must be at least 1.
_MAY_BE_ZERO = frozenset(
    {
        "vocab_size",
        "n_shared_experts",
        "first_k_dense_replace",
        "qk_rope_head_dim",
        "shared_expert_intermediate_size",
    }
)


# ---- per-family field extraction -------------------------------------------------------------------------


def _dense_fields(cfg: _Config) -> dict[str, Any]:
    n_heads = cfg.get_int("num_attention_heads")
    d_model = cfg.get_int("hidden_size")
    return {
        "d_model": d_model,
        "d_ff": cfg.get_int("intermediate_size"),
        "ffn_matrices": (2, 1),
        "n_layers": cfg.get_int("num_hidden_layers"),
        "n_heads": n_heads,
        # HF semantics: a missing/null num_key_value_heads means multi-head attention.
        "n_kv_heads": cfg.get_int("num_key_value_heads", default=n_heads),
        "d_head": cfg.get_int("head_dim", default=_default_head_dim(cfg, d_model, n_heads)),
        "vocab_size": cfg.get_int("vocab_size"),
    }


def _default_head_dim(cfg: _Config, d_model: int, n_heads: int) -> int:
    """HF's default head_dim, hidden_size // num_attention_heads (when the config has no head_dim)."""
    if not cfg.has("head_dim") and d_model // n_heads < 1:
        raise SpecError(
            f"{cfg.where}: key 'hidden_size' = {d_model} is smaller than 'num_attention_heads' = {n_heads}, "
            "so the default head_dim hidden_size // num_attention_heads is 0; expected hidden_size >= "
            "num_attention_heads or an explicit head_dim"
        )
    return max(d_model // n_heads, 1)


def _mixtral_fields(cfg: _Config) -> dict[str, Any]:
    return {
        **_dense_fields(cfg),
        "n_experts": cfg.get_int("num_local_experts"),
        "n_active_experts": cfg.get_int("num_experts_per_tok"),
    }


def _leading_dense_layers(cfg: _Config, key: str, n_layers: int) -> int:
    """Count of leading dense layers from a list of layer indices; other patterns cannot be represented."""
    layers = cfg.data.get(key) or []
    if not isinstance(layers, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in layers
    ):
        raise SpecError(f"{cfg.where}: key {key!r} = {layers!r}: expected a list of layer indices")
    if sorted(layers) != list(range(len(layers))) or len(layers) >= n_layers:
        raise SpecError(
            f"{cfg.where}: key {key!r} = {layers!r}: ModelSpec can only represent dense layers at the start "
            "(indices 0, 1, ..., k-1 with k < num_hidden_layers)"
        )
    return len(layers)


def _qwen_moe_fields(cfg: _Config) -> dict[str, Any]:
    fields = _dense_fields(cfg)
    d_ff_dense = fields["d_ff"]
    d_ff = cfg.get_int("moe_intermediate_size")
    step = cfg.get_int("decoder_sparse_step", default=1)
    if step != 1:
        raise SpecError(
            f"{cfg.where}: key 'decoder_sparse_step' = {step}: ModelSpec needs every layer after the leading "
            "dense ones to be MoE (decoder_sparse_step 1)"
        )
    n_dense = _leading_dense_layers(cfg, "mlp_only_layers", fields["n_layers"])
    shared_width = cfg.get_int("shared_expert_intermediate_size", default=0)
    n_shared = round(shared_width / d_ff) if shared_width else 0
    if shared_width and n_shared * d_ff != shared_width:
        warnings.warn(
            f"{cfg.where}: shared_expert_intermediate_size {shared_width} is not a multiple of "
            f"moe_intermediate_size {d_ff}; approximated as {n_shared} shared expert(s) of width {d_ff}",
            stacklevel=3,
        )
    fields.update(
        d_ff=d_ff,
        n_experts=cfg.get_int("num_experts"),
        n_active_experts=cfg.get_int("num_experts_per_tok"),
        n_shared_experts=n_shared,
        n_dense_layers=n_dense,
    )
    if n_dense:
        fields["d_ff_dense"] = d_ff_dense
    return fields


def _deepseek_fields(cfg: _Config) -> dict[str, Any]:
    n_heads = cfg.get_int("num_attention_heads")
    n_layers = cfg.get_int("num_hidden_layers")
    nope = cfg.get_int("qk_nope_head_dim")
    v_dim = cfg.get_int("v_head_dim")
    if nope != v_dim:
        raise SpecError(
            f"{cfg.where}: qk_nope_head_dim={nope} differs from v_head_dim={v_dim}; "
            "ModelSpec uses one d_head for both"
        )
    freq = cfg.get_int("moe_layer_freq", default=1)
    if freq != 1:
        raise SpecError(
            f"{cfg.where}: key 'moe_layer_freq' = {freq}: ModelSpec needs an MoE FFN in every layer "
            "after the dense ones"
        )
    n_dense = cfg.get_int("first_k_dense_replace", default=0)
    fields: dict[str, Any] = {
        "d_model": cfg.get_int("hidden_size"),
        "d_ff": cfg.get_int("moe_intermediate_size"),
        "ffn_matrices": (2, 1),
        "n_layers": n_layers,
        "n_heads": n_heads,
        "n_kv_heads": cfg.get_int("num_key_value_heads", default=n_heads),
        "d_head": nope,
        "vocab_size": cfg.get_int("vocab_size"),
        "n_experts": cfg.get_int("n_routed_experts"),
        "n_active_experts": cfg.get_int("num_experts_per_tok"),
        "n_shared_experts": cfg.get_int("n_shared_experts", default=0),
        "n_dense_layers": n_dense,
        "kv_lora_rank": cfg.get_int("kv_lora_rank"),
        "q_lora_rank": cfg.optional_int("q_lora_rank"),  # null in DeepSeek-V2-Lite: full-rank queries
        "qk_rope_head_dim": cfg.get_int("qk_rope_head_dim"),
    }
    if n_dense:
        fields["d_ff_dense"] = cfg.get_int("intermediate_size")
    return fields


_ARCHITECTURES: dict[str, Callable[[_Config], dict[str, Any]]] = {
    "LlamaForCausalLM": _dense_fields,
    "MistralForCausalLM": _dense_fields,
    "MixtralForCausalLM": _mixtral_fields,
    "Qwen2ForCausalLM": _dense_fields,
    "Qwen3ForCausalLM": _dense_fields,
    "Qwen2MoeForCausalLM": _qwen_moe_fields,
    "Qwen3MoeForCausalLM": _qwen_moe_fields,
    "DeepseekV2ForCausalLM": _deepseek_fields,
    "DeepseekV3ForCausalLM": _deepseek_fields,
}

_MODEL_TYPES = {
    "llama": "LlamaForCausalLM",
    "mistral": "MistralForCausalLM",
    "mixtral": "MixtralForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM",
    "qwen2_moe": "Qwen2MoeForCausalLM",
    "qwen3_moe": "Qwen3MoeForCausalLM",
    "deepseek_v2": "DeepseekV2ForCausalLM",
    "deepseek_v3": "DeepseekV3ForCausalLM",
}


def supported_architectures() -> list[str]:
    """The `architectures` values `load_hf_config` understands."""
    return sorted(_ARCHITECTURES)


# ---- precision ---------------------------------------------------------------------------------------------


def _dtype_bits(cfg: _Config) -> int:
    key = "torch_dtype" if cfg.has("torch_dtype") else "dtype"
    raw = cfg.data.get(key)
    if raw is None:
        return 16
    name = str(raw).lower().removeprefix("torch.")
    if name not in _DTYPE_BITS:
        raise SpecError(
            f"{cfg.where}: key {key!r} = {raw!r}: unknown dtype; "
            f"expected one of {', '.join(sorted(_DTYPE_BITS))}"
        )
    return _DTYPE_BITS[name]


def _quantized_weight_bits(cfg: _Config) -> int | None:
    """Weight bits implied by `quantization_config`, or None when the model is not quantised."""
    qc = cfg.data.get("quantization_config")
    if not qc:
        return None
    if not isinstance(qc, Mapping):
        raise SpecError(f"{cfg.where}: key 'quantization_config' = {qc!r}: expected a mapping")
    method = str(qc.get("quant_method", "")).lower()
    bits = qc.get("bits", qc.get("w_bit"))
    if isinstance(bits, int) and not isinstance(bits, bool) and bits in (4, 8, 16):
        return bits
    if method in ("fp8", "fbgemm_fp8") or str(qc.get("fmt", "")).lower().startswith("e4m3"):
        return 8
    if method == "mxfp4":
        return 4
    if method == "bitsandbytes":
        if qc.get("load_in_4bit"):
            return 4
        if qc.get("load_in_8bit"):
            return 8
    fmt = qc.get("quant_method")
    bits_text = f" with bits = {bits!r}" if bits is not None else ""
    raise SpecError(
        f"{cfg.where}: key 'quantization_config.quant_method' = {fmt!r}{bits_text}: this quantization "
        "format is not one the loader can read the weight precision of (readable: fp8, fbgemm_fp8, mxfp4, "
        "bitsandbytes, or an explicit bits of 4, 8 or 16); state the bits with --weight-bits 4 | 8 | 16 on "
        "the command line or load_hf_config(..., weight_bits=...) in Python, which skips quantization_config"
    )


# ---- public entry point ------------------------------------------------------------------------------------


def _read(path_or_dict: str | Path | Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    if isinstance(path_or_dict, Mapping):
        return path_or_dict, "<config dict>"
    if not isinstance(path_or_dict, (str, os.PathLike)) or isinstance(path_or_dict, bytes):
        raise SpecError(
            f"load_hf_config: path_or_dict = {type(path_or_dict).__name__}; expected the path of a "
            "Hugging Face config.json, a folder holding one, or a parsed dict"
        )
    if isinstance(path_or_dict, str) and not path_or_dict.strip():
        raise SpecError(
            "load_hf_config: path_or_dict = '': expected the path of a Hugging Face config.json, "
            "a folder holding one, or a parsed dict"
        )
    path = Path(path_or_dict)
    if path.is_dir():
        path = path / "config.json"
    where = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{where}: file not found") from None
    except IsADirectoryError:
        raise SpecError(f"{where}: is a folder; expected a config.json file") from None
    except OSError as exc:
        raise SpecError(f"{where}: cannot be read: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise SpecError(f"{where}: file is {len(raw)} bytes; the limit is {MAX_CONFIG_BYTES}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpecError(f"{where}: not a valid JSON config: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{where}: not a valid JSON config: {exc}") from None
    except RecursionError:
        raise SpecError(f"{where}: not a valid JSON config: nested too deeply") from None
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a JSON object at top level, got {type(data).__name__}")
    return data, where


def _architecture(cfg: _Config) -> str:
    archs = cfg.data.get("architectures")
    if archs is None:
        model_type = cfg.data.get("model_type")
        if isinstance(model_type, str) and model_type in _MODEL_TYPES:
            return _MODEL_TYPES[model_type]
        raise SpecError(
            f"{cfg.where}: missing key 'architectures' (and model_type {model_type!r} is not recognised); "
            f"supported architectures: {', '.join(supported_architectures())}"
        )
    if isinstance(archs, str):
        archs = [archs]
    if not isinstance(archs, list) or not archs:
        raise SpecError(
            f"{cfg.where}: key 'architectures' = {archs!r}: expected a non-empty list of class names"
        )
    for arch in archs:
        if isinstance(arch, str) and arch in _ARCHITECTURES:
            return arch
    raise SpecError(
        f"{cfg.where}: unsupported architectures {archs!r}; supported: {', '.join(supported_architectures())}"
    )


def load_hf_config(
    path_or_dict: str | Path | Mapping[str, Any],
    *,
    name: str | None = None,
    weight_bits: int | None = None,
) -> ModelSpec:
    """A `ModelSpec` from a Hugging Face `config.json` path, a folder holding one, or a parsed dict.

    `name` defaults to the config's `_name_or_path`, else the folder name (for `config.json`) or the file
    name; `weight_bits` overrides the precision implied by `torch_dtype` / `quantization_config`. Raises
    `SpecError` naming the file and the key for unsupported architectures, missing keys and shapes ModelSpec
    cannot represent.
    """
    data, where = _read(path_or_dict)
    if weight_bits is not None and (isinstance(weight_bits, bool) or weight_bits not in (4, 8, 16, 32)):
        raise SpecError(f"{where}: weight_bits = {weight_bits!r}: expected 4, 8, 16 or 32 (bits per weight)")
    cfg = _Config(data, where)
    arch = _architecture(cfg)
    fields = _ARCHITECTURES[arch](cfg)

    activation_bits = _dtype_bits(cfg)
    if weight_bits is None:
        weight_bits = _quantized_weight_bits(cfg) or activation_bits
    fields["weight_bits"] = weight_bits
    fields["activation_bits"] = activation_bits

    if name is None:
        if where == "<config dict>":
            fallback = arch
        else:
            # config.json is named after its folder (a model directory); any other file after itself.
            fallback = Path(where).parent.name if Path(where).name == "config.json" else Path(where).stem
        name = data.get("_name_or_path") or fallback
    fields["name"] = str(name)
    tied = bool(data.get("tie_word_embeddings", False))
    fields["source"] = (
        f"Hugging Face config.json ({where}, {arch}"
        + (", tie_word_embeddings=true: the spec still counts 2·V·d" if tied else "")
        + ")"
    )
    return ModelSpec.validated(fields, where=where)
