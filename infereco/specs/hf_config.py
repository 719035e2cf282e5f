"""Build a `ModelSpec` from a Hugging Face `config.json` (local file, folder or already-parsed dict).

The front door to the adapters in `infereco.specs.hf` (one module per architecture family, registered by
`architectures` class names and `model_type`s; `supported_architectures()` lists them). Families the spec
cannot model are refused with a one-line reason naming the missing feature (`refused_architectures()`).

Common key mapping (HF name -> ModelSpec field; each family module documents its own keys):

- hidden_size -> d_model; num_hidden_layers -> n_layers; num_attention_heads -> n_heads;
  num_key_value_heads -> n_kv_heads (HF default: n_heads); head_dim -> d_head (default d_model // n_heads);
  intermediate_size -> d_ff; vocab_size -> vocab_size. Every supported family uses a gated (SwiGLU) FFN,
  so ffn_matrices is (2, 1).
- Wrappers (`*ForConditionalGeneration` with a `text_config`: Qwen3-VL, Llama 4, Kimi K2.5, MiniMax M3
  sparse, ...): the language model is read from `text_config` (what is served; the vision tower is not
  counted), and `source` says so. torch_dtype, tie_word_embeddings and quantization_config are read from
  `text_config`, else from the top level.
- Precision: torch_dtype (or `dtype`) bfloat16/float16 -> 16 bits, float32 -> 32 for weights and
  activations. Weight bits from an NVIDIA modelopt side file `hf_quant_config.json` next to the config
  (`<name>_hf_quant_config.json` beside `<name>_config.json`), else from `quantization_config`:
  FP8 -> 8; NVFP4 / MXFP4 -> 4 (the spec's weight_bits is an integer: the effective bits with the block
  scales, 4.5 for NVFP4 = one FP8 scale per 16 values, 4.25 for MXFP4 = one E8M0 scale per 32, are
  recorded in `source`, as are the modules the checkpoint keeps at 16 bits).
- tie_word_embeddings -> tie_word_embeddings: the spec then stores (and counts) the embedding once.

>>> spec = load_hf_config({"architectures": ["LlamaForCausalLM"], "hidden_size": 4096,
...     "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
...     "num_key_value_heads": 8, "vocab_size": 128256, "torch_dtype": "bfloat16"}, name="llama-3-8b")
>>> (spec.n_kv_heads, spec.d_head, spec.weight_bits)
(8, 128, 16)
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infereco.errors import SpecError
from infereco.specs.hf import Config, lookup, refused_architectures, supported_architectures
from infereco.specs.model import ModelSpec

__all__ = ["MAX_CONFIG_BYTES", "load_hf_config", "refused_architectures", "supported_architectures"]

# Real configs run to a few MB (modelopt checkpoints list every quantized layer: MiniMax-M3-NVFP4 is 3 MB).
MAX_CONFIG_BYTES = 16_000_000

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

# NVIDIA modelopt `quant_algo` -> (weight bits, effective bits per weight with the block scales).
_QUANT_ALGO_BITS: dict[str, tuple[int, float]] = {
    "FP8": (8, 8.0),
    "FP8_BLOCK_SCALES": (8, 8.0),
    "FP8_PER_CHANNEL_PER_TOKEN": (8, 8.0),
    "FP8_PB_WO": (8, 8.0),
    "MXFP8": (8, 8.25),  # one E8M0 scale per 32 values
    "NVFP4": (4, 4.5),  # one FP8 (E4M3) scale per 16 values (+ a per-tensor FP32 scale)
    "NVFP4_AWQ": (4, 4.5),
    "W4A8_NVFP4_FP8": (4, 4.5),
    "W4A16_NVFP4": (4, 4.5),
    "MXFP4": (4, 4.25),  # one E8M0 scale per 32 values
    "W4A8_MXFP4_FP8": (4, 4.25),
    "W4A16_MXFP4": (4, 4.25),
    "W4A16": (4, 4.125),  # INT4 with an FP16 scale per 128 values
    "W4A16_AWQ": (4, 4.125),
    "W4A8_AWQ": (4, 4.125),
    "INT4_AWQ": (4, 4.125),
    "W4A16_GPTQ": (4, 4.125),
    "W8A16": (8, 8.0),
    "W8A8_SQ_PER_CHANNEL": (8, 8.0),
    "INT8_SQ": (8, 8.0),
}


def _dtype_bits(cfg: Config) -> int:
    key = "torch_dtype" if cfg.has("torch_dtype") else "dtype"
    raw = cfg.data.get(key)
    if raw is None:
        return 16
    name = str(raw).lower().removeprefix("torch.")
    if name not in _DTYPE_BITS:
        raise SpecError(
            f"{cfg.where}: key {cfg.key(key)!r} = {raw!r}: unknown dtype; "
            f"expected one of {', '.join(sorted(_DTYPE_BITS))}"
        )
    return _DTYPE_BITS[name]


# ---- quantization ------------------------------------------------------------------------------------------


def _unreadable(where: str, key: str, value: Any, bits: Any = None) -> SpecError:
    bits_text = f" with bits = {bits!r}" if bits is not None else ""
    return SpecError(
        f"{where}: key {key!r} = {value!r}{bits_text}: this quantization format is not one the loader can "
        "read the weight precision of (readable: fp8, fbgemm_fp8, mxfp4, bitsandbytes, modelopt quant_algo "
        f"{'/'.join(sorted(_QUANT_ALGO_BITS))}, compressed-tensors num_bits, or an explicit bits of 4, 8 or "
        "16); state the bits with --weight-bits 4 | 8 | 16 on the command line or load_hf_config(..., "
        "weight_bits=...) in Python, which skips quantization_config"
    )


_COMPONENT_FIELD = {
    "attention": "attention_weight_bits",
    "ffn": "ffn_weight_bits",
    "expert": "expert_weight_bits",
    "embedding": "embedding_weight_bits",
}


def _component(module: str) -> str | None:
    """Which weight component a module name or pattern belongs to (None: a router, norm or unknown)."""
    n = module.lower()
    if "norm" in n.rsplit(".", 1)[-1]:
        return None  # layer norms are never quantized and hold no matmul weights
    if "lm_head" in n or "embed" in n:
        return "embedding"
    if "router" in n or n.endswith(".gate") or "vision" in n or "mm_projector" in n:
        return None
    if "experts" in n and "shared_expert" not in n:
        return "expert"
    if any(
        k in n for k in ("shared_expert", "mlp", "feed_forward", "ffn", "gate_proj", "up_proj", "down_proj")
    ):
        return "ffn"
    if any(k in n for k in ("attn", "attention", "mixer", "q_proj", "k_proj", "v_proj", "o_proj", "in_proj")):
        return "attention"
    return None


def _excluded_components(patterns: Any) -> set[str]:
    """Components a quantizer's exclusion list keeps at 16 bits (`exclude_modules`, `ignore`,
    `modules_to_not_convert`): those a pattern names in every layer (no layer number, or a wildcard for it),
    or whose numbered patterns cover at least 8 layers and half of those numbered anywhere in the list (a
    checkpoint that lists each layer's attention); one or two layers kept at 16 bits do not move a
    component."""
    if not isinstance(patterns, list):
        return set()
    whole: set[str] = set()
    layers: dict[str, set[int]] = {}
    numbered: set[int] = set()
    for p in patterns:
        if not isinstance(p, str) or (c := _component(p)) is None:
            continue
        index = re.search(r"layers\.(\d+)\.", p)
        if index is None:
            whole.add(c)
        else:
            layers.setdefault(c, set()).add(int(index.group(1)))
            numbered.add(int(index.group(1)))
    for c, idx in layers.items():
        if len(idx) >= 8 and 2 * len(idx) >= len(numbered):
            whole.add(c)
    return whole


def _component_fields(bits: int, scale_bits: float, excluded: set[str], mixed: dict[str, int] | None = None):
    """ModelSpec precision fields: the quantized components at `bits` (or their own, `mixed`), the excluded
    ones and the embedding at 16 bits (embedding tables are never quantized by these formats; lm_head is
    excluded by all of them), and the block-scale overhead of the 4- or 8-bit components."""
    fields: dict[str, Any] = {}
    # The embedding component is the lookup table and lm_head together: the table is never quantized, so a
    # quantized lm_head (Qwen3.6 NVFP4) is costed at 16 bits with it.
    mixed = {c: b for c, b in (mixed or {}).items() if c != "embedding"}
    for comp, b in mixed.items():
        fields[_COMPONENT_FIELD[comp]] = b
    for comp in excluded | {"embedding"}:
        if comp not in mixed:
            fields[_COMPONENT_FIELD[comp]] = 16
    if bits == 4 and scale_bits:
        fields["fp4_scale_bits"] = scale_bits
    if bits == 8 and scale_bits:
        fields["fp8_scale_bits"] = scale_bits
    return fields


def _algo_bits(where: str, key: str, qc: Mapping[str, Any]) -> tuple[int, str, dict[str, Any]]:
    """Weight bits and a note from a modelopt-style mapping with `quant_algo`."""
    algo = qc.get("quant_algo")
    name = str(algo).upper()
    if name == "MIXED_PRECISION":
        layers = qc.get("quantized_layers")
        algos = Counter(
            str(v.get("quant_algo")).upper()
            for v in (layers.values() if isinstance(layers, Mapping) else ())
            if isinstance(v, Mapping)
        )
        known = [(a, n) for a, n in algos.most_common() if a in _QUANT_ALGO_BITS]
        if not known:
            raise _unreadable(where, f"{key}.quantized_layers", "<no readable quant_algo>")
        # Each component at the format most of its modules use; weight_bits is that of the most modules.
        per: dict[str, Counter] = {}
        for module, v in layers.items():
            comp = _component(str(module))
            algo_v = str(v.get("quant_algo")).upper() if isinstance(v, Mapping) else ""
            if comp is not None and algo_v in _QUANT_ALGO_BITS:
                per.setdefault(comp, Counter())[algo_v] += 1
        mixed = {comp: _QUANT_ALGO_BITS[c.most_common(1)[0][0]][0] for comp, c in per.items()}
        name = known[0][0]
        fp4 = [a for a, _ in known if _QUANT_ALGO_BITS[a][0] == 4]
        mix = ", ".join(f"{n} {a}" for a, n in algos.most_common())
        comps = ", ".join(f"{c} {b}-bit" for c, b in sorted(mixed.items()))
        prefix = f"MIXED_PRECISION ({mix} layers: {comps}): "
    elif name in _QUANT_ALGO_BITS:
        prefix = ""
        mixed, fp4, algos = None, [], Counter()
    else:
        raise _unreadable(where, f"{key}.quant_algo", algo)
    bits, effective = _QUANT_ALGO_BITS[name]
    scale = (effective - bits) if not fp4 else _QUANT_ALGO_BITS[fp4[0]][1] - 4
    note = f"{prefix}{name} weights: weight_bits {bits}"
    if effective != bits:
        note += f", {effective:g} effective bits/weight with the block scales"
    patterns = qc.get("exclude_modules", qc.get("ignore"))
    excluded = _excluded_components(patterns)
    if isinstance(patterns, list) and patterns:
        note += f"; {len(patterns)} excluded module patterns kept at 16 bits"
    extra = _component_fields(bits, scale if bits == 4 or not fp4 else 0.0, excluded, mixed)
    # W·A math only when every quantized format is W·A (one weight-only component, as W4A16 FFNs beside FP8
    # attention, keeps the whole model at 16-bit math: the spec holds one input precision).
    present = list(algos) if mixed is not None else [name]
    if all(a in _QUANT_ALGO_INPUT_BITS for a in present):
        extra["gemm_input_bits"] = min(_QUANT_ALGO_INPUT_BITS[a] for a in present)
    if fp4 and bits != 4:
        extra["fp4_scale_bits"] = scale  # the 4-bit components' scales beside an 8-bit majority
    return bits, note, extra


# Bits a modelopt format quantizes a GEMM's input activations to (W·A formats: the GEMM runs at that rate);
# the weight-only formats (W4A16, W8A16, INT4 AWQ, per-block weight-only FP8) are absent: 16-bit math.
_QUANT_ALGO_INPUT_BITS: dict[str, int] = {
    "FP8": 8,
    "FP8_BLOCK_SCALES": 8,
    "FP8_PER_CHANNEL_PER_TOKEN": 8,
    "MXFP8": 8,
    "NVFP4": 4,
    "NVFP4_AWQ": 4,
    "W4A8_NVFP4_FP8": 8,
    "MXFP4": 4,
    "W4A8_MXFP4_FP8": 8,
    "W4A8_AWQ": 8,
    "W8A8_SQ_PER_CHANNEL": 8,
    "INT8_SQ": 8,
}


def _config_quant_bits(where: str, qc: Any, key: str) -> tuple[int, str, dict[str, Any]] | None:
    """Weight bits implied by a `quantization_config`, or None when the model is not quantised."""
    if not qc:
        return None
    if not isinstance(qc, Mapping):
        raise SpecError(f"{where}: key {key!r} = {qc!r}: expected a mapping")
    method = str(qc.get("quant_method", "")).lower()
    bits = qc.get("bits", qc.get("w_bit"))
    excluded = _excluded_components(
        qc.get("modules_to_not_convert", qc.get("ignore", qc.get("exclude_modules")))
    )
    if isinstance(bits, int) and not isinstance(bits, bool) and bits in (4, 8, 16):
        group = qc.get("group_size")
        scale = 16 / group if bits == 4 and isinstance(group, int) and group > 0 else 0.0
        return bits, f"{key}: {bits}-bit weights", _component_fields(bits, scale, excluded)
    if qc.get("quant_algo") is not None:
        return _algo_bits(where, key, qc)
    if method in ("fp8", "fbgemm_fp8") or str(qc.get("fmt", "")).lower().startswith(("e4m3", "float8")):
        block = qc.get("weight_block_size")
        scale = 0.0
        if isinstance(block, list) and len(block) == 2 and all(isinstance(b, int) and b > 0 for b in block):
            scale = 32 / (block[0] * block[1])  # one FP32 scale per block
        fields = _component_fields(8, scale, excluded)
        if str(qc.get("activation_scheme", "dynamic")).lower() in ("dynamic", "static"):
            fields["gemm_input_bits"] = 8  # W8A8: activations quantized per token (or tensor) to FP8
        return 8, f"{key}: fp8 weights", fields
    if method == "mxfp4":
        note = f"{key}: mxfp4 weights: weight_bits 4, 4.25 effective bits/weight with the E8M0 scales"
        return 4, note, _component_fields(4, 0.25, excluded)
    if method == "bitsandbytes":
        if qc.get("load_in_4bit"):
            return 4, f"{key}: bitsandbytes 4-bit weights", _component_fields(4, 0.25, excluded)
        if qc.get("load_in_8bit"):
            return 8, f"{key}: bitsandbytes 8-bit weights", _component_fields(8, 0.0, excluded)
    if method == "compressed-tensors":
        return _compressed_tensors_bits(where, key, qc)
    raise _unreadable(where, f"{key}.quant_method", qc.get("quant_method"), bits)


def _compressed_tensors_bits(where: str, key: str, qc: Mapping[str, Any]) -> tuple[int, str, dict[str, Any]]:
    groups = qc.get("config_groups")
    for group in groups.values() if isinstance(groups, Mapping) else ():
        weights = group.get("weights") if isinstance(group, Mapping) else None
        nb = weights.get("num_bits") if isinstance(weights, Mapping) else None
        if isinstance(nb, int) and not isinstance(nb, bool) and nb in (4, 8, 16):
            fmt = str(qc.get("format", ""))
            note = f"{key}: compressed-tensors {fmt or 'quantized'}: weight_bits {nb}"
            group_size = weights.get("group_size")
            scale = 0.0
            if "mxfp4" in fmt:
                scale = 0.25
                note += ", 4.25 effective bits/weight with the E8M0 scales"
            elif "nvfp4" in fmt:
                scale = 0.5
                note += ", 4.5 effective bits/weight with the FP8 scales"
            elif nb == 4 and isinstance(group_size, int) and group_size > 0:
                scale = 16 / group_size  # an FP16 scale per group
            fields = _component_fields(nb, scale, _excluded_components(qc.get("ignore")))
            acts = group.get("input_activations")
            a_bits = acts.get("num_bits") if isinstance(acts, Mapping) else None
            if isinstance(a_bits, int) and not isinstance(a_bits, bool) and a_bits in (4, 8):
                fields["gemm_input_bits"] = a_bits
            return nb, note, fields
    raise _unreadable(where, f"{key}.config_groups", "<no weights.num_bits of 4, 8 or 16>")


def _side_file(where: str) -> Path | None:
    """The modelopt `hf_quant_config.json` beside a config file, if there is one."""
    if where == "<config dict>":
        return None
    path = Path(where)
    if path.name == "config.json":
        side = path.with_name("hf_quant_config.json")
    elif path.name.endswith("_config.json") and not path.name.endswith("hf_quant_config.json"):
        side = path.with_name(path.name[: -len("config.json")] + "hf_quant_config.json")
    else:
        return None
    return side if side.is_file() else None


def _side_file_bits(side: Path) -> tuple[int, str, dict[str, Any]] | None:
    data, where = _read(side)
    quant = data.get("quantization")
    if quant is None:
        return None
    if not isinstance(quant, Mapping):
        raise SpecError(f"{where}: key 'quantization' = {quant!r}: expected a mapping")
    if quant.get("quant_algo") is None:
        return None
    bits, note, extra = _algo_bits(where, "quantization", quant)
    return bits, f"{side.name}: {note}", extra


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


def _is_side_file(data: Mapping[str, Any]) -> bool:
    return "quantization" in data and "architectures" not in data and "model_type" not in data


def _language_model(data: Mapping[str, Any], where: str) -> tuple[Config, str, Any, str]:
    """(config to read, architecture, adapter, how it was found) — the top level, or a wrapper's
    `text_config` when the top-level class is not registered."""
    top = Config(data, where)
    text = data.get("text_config")
    try:
        arch, adapter = lookup(data, where)
        if isinstance(text, Mapping) and "num_hidden_layers" not in data:
            # A registered wrapper (Qwen3.5, Gemma 4) whose sizes live in its text_config.
            return (
                Config(text, where, prefix="text_config."),
                arch,
                adapter,
                f"{arch}: language model from text_config",
            )
        return top, arch, adapter, arch
    except SpecError:
        if not isinstance(text, Mapping):
            raise
    outer = data.get("architectures")
    outer_name = outer[0] if isinstance(outer, list) and outer and isinstance(outer[0], str) else outer
    if outer_name is None:
        outer_name = data.get("model_type")
    try:
        arch, adapter = lookup(text, where, prefix="text_config.")
    except SpecError as exc:
        raise SpecError(
            f"{where}: wrapper {outer_name!r}: its text_config is not a supported language model: "
            f"{str(exc).removeprefix(where + ': ')}"
        ) from None
    how = f"{outer_name}: language model from text_config, {arch}"
    return Config(text, where, prefix="text_config."), arch, adapter, how


def _inherited(cfg: Config, top: Mapping[str, Any], key: str) -> Any:
    """A key of a wrapper's text_config, else of the top level."""
    value = cfg.data.get(key)
    return top.get(key) if value is None else value


def _mtp_layers(cfg: Config, top: Mapping[str, Any]) -> int:
    """Multi-token-prediction blocks a config ships, by whichever key its family uses (0 when none)."""
    for key in ("num_nextn_predict_layers", "mtp_num_hidden_layers", "num_mtp_modules", "n_mtp_layers"):
        value = _inherited(cfg, top, key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 16:
            if key == "num_mtp_modules" and _inherited(cfg, top, "use_mtp") is False:
                return 0
            return value
    return 0


def load_hf_config(
    path_or_dict: str | Path | Mapping[str, Any],
    *,
    name: str | None = None,
    weight_bits: int | None = None,
) -> ModelSpec:
    """A `ModelSpec` from a Hugging Face `config.json` path, a folder holding one, or a parsed dict.

    `name` defaults to the config's `_name_or_path`, else the folder name (for `config.json`) or the file
    name; `weight_bits` overrides the precision implied by `torch_dtype` / `quantization_config` / a
    `hf_quant_config.json` side file. Raises `SpecError` naming the file and the key for unsupported or
    refused architectures, missing keys and shapes ModelSpec cannot represent.
    """
    data, where = _read(path_or_dict)
    if weight_bits is not None and (isinstance(weight_bits, bool) or weight_bits not in (4, 8, 16, 32)):
        raise SpecError(f"{where}: weight_bits = {weight_bits!r}: expected 4, 8, 16 or 32 (bits per weight)")
    if _is_side_file(data):
        raise SpecError(
            f"{where}: key 'quantization' = <modelopt quantization>: this is an hf_quant_config.json side "
            "file, not a model config; expected the config.json beside it (which reads this file)"
        )
    cfg, arch, adapter, found = _language_model(data, where)
    if adapter.refuse is not None:
        archs = cfg.data.get("architectures") or cfg.data.get("model_type")
        raise SpecError(
            f"{where}: key {cfg.key('architectures')!r} = {archs!r}: family {adapter.family!r} is refused: "
            f"{adapter.refuse}"
        )
    fields = adapter.build(cfg)

    dtype_cfg = cfg if (cfg.has("torch_dtype") or cfg.has("dtype")) else Config(data, where)
    activation_bits = _dtype_bits(dtype_cfg)
    notes = list(cfg.notes)
    if weight_bits is None:
        side = _side_file(where)
        quant = _side_file_bits(side) if side is not None else None
        if quant is None:
            qkey = "quantization_config"
            qc = cfg.data.get(qkey)
            if qc is None:
                qc = data.get(qkey)
            elif cfg.prefix:
                qkey = cfg.prefix + qkey
            quant = _config_quant_bits(where, qc, qkey)
        if quant is not None:
            weight_bits, note, extra = quant
            notes.append(note)
            if fields.get("n_experts", 1) == 1 and "ffn_weight_bits" in extra:
                # A dense model's FFN weights are the spec's "routed" (single-expert) FFN.
                extra["expert_weight_bits"] = extra.pop("ffn_weight_bits")
            fields.update(extra)
        else:
            weight_bits = activation_bits
    fields["weight_bits"] = weight_bits
    fields.setdefault("n_mtp_layers", _mtp_layers(cfg, data))
    ctx = _inherited(cfg, data, "max_position_embeddings")
    if isinstance(ctx, int) and not isinstance(ctx, bool) and 0 < ctx <= 100_000_000:
        fields.setdefault("max_context_tokens", ctx)
    fields["activation_bits"] = activation_bits

    if name is None:
        if where == "<config dict>":
            fallback = arch
        else:
            # config.json is named after its folder (a model directory); any other file after itself, with
            # the "ORG--MODEL_config.json" naming of downloaded configs read back as the id "ORG/MODEL".
            stem = Path(where).stem
            fallback = Path(where).parent.name if Path(where).name == "config.json" else stem
            if stem.endswith("_config") and "--" in stem:
                fallback = stem.removesuffix("_config").replace("--", "/", 1)
        name = data.get("_name_or_path") or fallback
    fields["name"] = str(name)
    tied = _inherited(cfg, data, "tie_word_embeddings")
    if tied is not None and not isinstance(tied, bool):
        raise cfg.error("tie_word_embeddings", tied, "expected true or false")
    fields["tie_word_embeddings"] = bool(tied)
    if tied:
        notes.append("tie_word_embeddings=true: embedding counted once")
    fields["source"] = f"Hugging Face config.json ({where}, {found}" + "".join(f"; {n}" for n in notes) + ")"
    return ModelSpec.validated(fields, where=where)
