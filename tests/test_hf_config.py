"""Hugging Face config.json loader. Fixtures in tests/data/hf_configs/ are copies of the published configs
(meta-llama/Meta-Llama-3-8B, mistralai/Mixtral-8x7B-v0.1, Qwen/Qwen2.5-7B, Qwen/Qwen3-8B,
deepseek-ai/DeepSeek-V3, Qwen/Qwen1.5-MoE-A2.7B, Qwen/Qwen3-30B-A3B, tiiuae/falcon-7b)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from infereco.errors import SpecError
from infereco.specs.catalog import load_model
from infereco.specs.hf_config import load_hf_config, refused_architectures, supported_architectures

FIXTURES = Path(__file__).parent / "data" / "hf_configs"


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


# The architecture; the per-component precision a checkpoint's quantization sets (16-bit embeddings, block
# scales) is not in the hand-written catalog entries and is tested on its own.
_PRECISION = {"embedding_weight_bits", "attention_weight_bits", "ffn_weight_bits", "expert_weight_bits"}
_PRECISION |= {"fp4_scale_bits", "fp8_scale_bits", "gemm_input_bits", "n_mtp_layers", "max_context_tokens"}


def _shape(spec) -> dict:
    return spec.model_dump(exclude={"name", "source", *_PRECISION})


@pytest.mark.parametrize(
    "fixture,catalog_id",
    [
        ("llama-3-8b.json", "llama-3-8b"),
        ("llama-3-8b.json", "llama-3.1-8b"),
        ("mixtral-8x7b.json", "mixtral-8x7b"),
        ("qwen2.5-7b.json", "qwen2.5-7b"),
        ("qwen3-8b.json", "qwen3-8b"),
        ("deepseek-v3.json", "deepseek-v3"),
    ],
)
def test_loaded_config_equals_catalog_entry(fixture: str, catalog_id: str):
    spec = load_hf_config(FIXTURES / fixture)
    assert _shape(spec) == _shape(load_model(catalog_id))


def test_deepseek_v3_details():
    spec = load_hf_config(FIXTURES / "deepseek-v3.json")
    assert spec.weight_bits == 8  # quantization_config.quant_method = fp8
    assert spec.activation_bits == 16  # torch_dtype bfloat16
    assert (
        spec.is_mla and spec.kv_lora_rank == 512 and spec.q_lora_rank == 1536 and spec.qk_rope_head_dim == 64
    )
    assert (spec.n_dense_layers, spec.d_ff_dense, spec.d_ff) == (3, 18432, 2048)
    assert spec.total_params == pytest.approx(671e9, rel=0.03)


# Published totals / active counts (model cards): Qwen1.5-MoE-A2.7B 14.3B / 2.7B; Qwen3-30B-A3B 30.5B / 3.3B.
@pytest.mark.parametrize(
    "fixture,total,active,shared",
    [("qwen1.5-moe-a2.7b.json", 14.3e9, 2.7e9, 4), ("qwen3-30b-a3b.json", 30.5e9, 3.3e9, 0)],
)
def test_qwen_moe(fixture: str, total: float, active: float, shared: int):
    spec = load_hf_config(FIXTURES / fixture)
    assert spec.n_shared_experts == shared  # 5632 / 1408 = 4 shared experts of the routed width
    assert spec.n_dense_layers == 0
    assert spec.total_params == pytest.approx(total, rel=0.03)
    assert spec.active_params == pytest.approx(active, rel=0.03)


def test_qwen3_moe_values():
    spec = load_hf_config(FIXTURES / "qwen3-30b-a3b.json")
    assert (spec.n_experts, spec.n_active_experts, spec.d_ff, spec.n_kv_heads, spec.d_head) == (
        128,
        8,
        768,
        4,
        128,
    )


def test_qwen_moe_shared_width_not_a_multiple_is_approximated_with_a_warning():
    cfg = _fixture("qwen1.5-moe-a2.7b.json") | {"shared_expert_intermediate_size": 5000}
    with pytest.warns(UserWarning, match="approximated as 4 shared expert"):
        spec = load_hf_config(cfg)
    assert spec.n_shared_experts == 4


def test_qwen_moe_leading_mlp_only_layers_become_dense_layers():
    spec = load_hf_config(_fixture("qwen3-30b-a3b.json") | {"mlp_only_layers": [0, 1]})
    assert (spec.n_dense_layers, spec.d_ff_dense) == (2, 6144)


def test_qwen_moe_unrepresentable_layer_patterns():
    with pytest.raises(SpecError, match="mlp_only_layers"):
        load_hf_config(_fixture("qwen3-30b-a3b.json") | {"mlp_only_layers": [5, 17]})
    with pytest.raises(SpecError, match="decoder_sparse_step"):
        load_hf_config(_fixture("qwen3-30b-a3b.json") | {"decoder_sparse_step": 2})


def test_deepseek_v2_lite_style_full_rank_queries():
    # DeepSeek-V2-Lite: q_lora_rank null, 1 dense layer, 64 routed + 2 shared experts, 6 active,
    # no quantisation.
    cfg = _fixture("deepseek-v3.json")
    cfg.pop("quantization_config")
    cfg |= {
        "architectures": ["DeepseekV2ForCausalLM"],
        "hidden_size": 2048,
        "intermediate_size": 10944,
        "moe_intermediate_size": 1408,
        "num_hidden_layers": 27,
        "num_attention_heads": 16,
        "num_key_value_heads": 16,
        "n_routed_experts": 64,
        "n_shared_experts": 2,
        "num_experts_per_tok": 6,
        "first_k_dense_replace": 1,
        "q_lora_rank": None,
        "vocab_size": 102400,
    }
    spec = load_hf_config(cfg)
    assert spec.q_lora_rank is None and spec.weight_bits == 16
    assert spec.total_params == pytest.approx(15.7e9, rel=0.03)  # published 15.7B
    # Published "2.4B activated" excludes embeddings (spec without 2·V·d: 2.33B).
    assert spec.active_params - spec.embedding_params == pytest.approx(2.4e9, rel=0.05)


# ---- precision ---------------------------------------------------------------------------------------------


def test_dtype_mapping():
    base = _fixture("llama-3-8b.json")
    assert load_hf_config(base | {"torch_dtype": "float16"}).weight_bits == 16
    spec32 = load_hf_config(base | {"torch_dtype": "float32"})
    assert (spec32.weight_bits, spec32.activation_bits) == (32, 32)
    no_dtype = {k: v for k, v in base.items() if k != "torch_dtype"}
    assert load_hf_config(no_dtype | {"dtype": "bfloat16"}).weight_bits == 16  # transformers >= 4.56 key
    with pytest.raises(SpecError, match="torch_dtype"):
        load_hf_config(base | {"torch_dtype": "complex64"})


def test_quantization_config():
    base = _fixture("llama-3-8b.json")
    gptq = load_hf_config(base | {"quantization_config": {"quant_method": "gptq", "bits": 4}})
    assert (gptq.weight_bits, gptq.activation_bits) == (4, 16)
    assert load_hf_config(base | {"quantization_config": {"quant_method": "fp8"}}).weight_bits == 8
    bnb = {"quant_method": "bitsandbytes", "load_in_4bit": True}
    assert load_hf_config(base | {"quantization_config": bnb}).weight_bits == 4
    odd = base | {"quantization_config": {"quant_method": "mystery"}}
    with pytest.raises(SpecError, match="weight_bits"):
        load_hf_config(odd)
    assert load_hf_config(odd, weight_bits=8).weight_bits == 8  # explicit override skips the guess


def test_weight_bits_override():
    spec = load_hf_config(FIXTURES / "deepseek-v3.json", weight_bits=16)
    assert spec.weight_bits == 16


# ---- inputs, names, defaults -------------------------------------------------------------------------------


def test_folder_input_and_default_name(tmp_path: Path):
    folder = tmp_path / "Meta-Llama-3-8B"
    folder.mkdir()
    shutil.copy(FIXTURES / "llama-3-8b.json", folder / "config.json")
    spec = load_hf_config(folder)
    assert spec.name == "Meta-Llama-3-8B"
    assert load_hf_config(folder, name="my-llama").name == "my-llama"
    assert load_hf_config(
        _fixture("llama-3-8b.json") | {"_name_or_path": "meta-llama/Meta-Llama-3-8B"}
    ).name == ("meta-llama/Meta-Llama-3-8B")


def test_tied_embeddings_noted_in_source():
    spec = load_hf_config(_fixture("qwen2.5-7b.json") | {"tie_word_embeddings": True})
    assert "tie_word_embeddings" in spec.source
    # The spec still counts embedding and unembedding separately.
    assert spec.embedding_params == 2 * spec.vocab_size * spec.d_model


def test_missing_kv_heads_means_multi_head_attention():
    cfg = {k: v for k, v in _fixture("llama-3-8b.json").items() if k != "num_key_value_heads"}
    assert load_hf_config(cfg).n_kv_heads == 32


def test_model_type_used_when_architectures_missing():
    cfg = {k: v for k, v in _fixture("mixtral-8x7b.json").items() if k != "architectures"}
    assert _shape(load_hf_config(cfg)) == _shape(load_model("mixtral-8x7b"))


# ---- errors ------------------------------------------------------------------------------------------------


def test_unsupported_architecture_names_file_value_and_supported_list():
    path = FIXTURES / "unsupported-falcon-7b.json"
    with pytest.raises(SpecError) as exc:
        load_hf_config(path)
    msg = str(exc.value)
    assert str(path) in msg
    assert "FalconForCausalLM" in msg
    for arch in supported_architectures():
        assert arch in msg
    assert (
        "DeepseekV3ForCausalLM" in supported_architectures()
        and "Qwen3MoeForCausalLM" in supported_architectures()
    )


@pytest.mark.parametrize(
    "fixture,key",
    [
        ("llama-3-8b.json", "num_hidden_layers"),
        ("llama-3-8b.json", "hidden_size"),
        ("mixtral-8x7b.json", "num_local_experts"),
        ("qwen3-30b-a3b.json", "moe_intermediate_size"),
        ("deepseek-v3.json", "kv_lora_rank"),
    ],
)
def test_missing_key_names_file_and_key(tmp_path: Path, fixture: str, key: str):
    cfg = _fixture(fixture)
    del cfg[key]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(SpecError) as exc:
        load_hf_config(path)
    assert str(path) in str(exc.value) and repr(key) in str(exc.value)


def test_bad_values_and_files(tmp_path: Path):
    with pytest.raises(SpecError, match="num_hidden_layers"):
        load_hf_config(_fixture("llama-3-8b.json") | {"num_hidden_layers": "32"})
    with pytest.raises(SpecError, match="file not found"):
        load_hf_config(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SpecError, match="bad.json"):
        load_hf_config(bad)
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(SpecError, match="JSON object"):
        load_hf_config(listing)


def test_spec_validation_errors_name_the_file(tmp_path: Path):
    cfg = _fixture("llama-3-8b.json") | {"num_key_value_heads": 5}  # 32 heads not divisible by 5
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(SpecError) as exc:
        load_hf_config(path)
    assert str(path) in str(exc.value) and "n_kv_heads" in str(exc.value)


def test_no_warning_for_exact_configs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in FIXTURES.glob("*.json"):
            if "unsupported" not in f.name:
                load_hf_config(f)


# ---- hostile configs ("One pipeline", item 6) --------------------------------------------------------------
@pytest.mark.parametrize(
    "key",
    [
        "num_attention_heads",
        "hidden_size",
        "num_hidden_layers",
        "intermediate_size",
        "num_key_value_heads",
        "head_dim",
    ],
)
@pytest.mark.parametrize("value", [0, -1, 2.5, "8", True, None, [8]])
def test_zero_negative_and_non_integer_sizes_name_the_key(tmp_path: Path, key: str, value):
    cfg = _fixture("llama-3-8b.json") | {key: value}
    if value is None and key in ("num_key_value_heads", "head_dim"):
        load_hf_config(cfg)  # null means the HF default (multi-head attention / hidden_size // heads)
        return
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(SpecError) as exc:
        load_hf_config(path)
    msg = str(exc.value)
    assert str(path) in msg and repr(key) in msg and "\n" not in msg
    assert ("positive integer" in msg) or ("missing key" in msg and value is None)


def test_zero_is_allowed_where_it_means_none():
    spec = load_hf_config(_fixture("deepseek-v3.json") | {"n_shared_experts": 0, "first_k_dense_replace": 0})
    assert (spec.n_shared_experts, spec.n_dense_layers) == (0, 0)


def test_default_head_dim_of_zero_is_refused_with_the_keys():
    cfg = _fixture("llama-3-8b.json") | {"hidden_size": 16}
    cfg.pop("head_dim", None)
    with pytest.raises(
        SpecError, match=r"'hidden_size' = 16 is smaller than 'num_attention_heads' = 32.*head_dim"
    ):
        load_hf_config(cfg)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a": ' * 100_000 + "1" + "}" * 100_000])
def test_deeply_nested_json_names_the_file(tmp_path: Path, text: str):
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(SpecError) as exc:
        load_hf_config(path)
    assert str(exc.value) == f"{path}: not a valid JSON config: nested too deeply"
    assert exc.value.__context__ is None or exc.value.__suppress_context__


@pytest.mark.parametrize("value", [None, 3, b"config.json", "", ["config.json"]])
def test_not_a_path_or_dict(value):
    with pytest.raises(SpecError) as exc:
        load_hf_config(value)
    assert "load_hf_config" in str(exc.value) and "\n" not in str(exc.value)


def test_a_folder_named_config_json(tmp_path: Path):
    (tmp_path / "config.json").mkdir()
    with pytest.raises(SpecError, match="is a folder"):
        load_hf_config(tmp_path)  # the model folder's config.json is itself a folder


@pytest.mark.parametrize(
    "qc",
    [
        {"quant_method": "hqq"},
        {"quant_method": "awq", "bits": 3},
        {"quant_method": "bitsandbytes"},
        {"quant_method": None},
    ],
)
def test_unreadable_quantization_names_the_format_and_the_fix(tmp_path: Path, qc):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(_fixture("llama-3-8b.json") | {"quantization_config": qc}))
    with pytest.raises(SpecError) as exc:
        load_hf_config(path)
    msg = str(exc.value)
    assert str(path) in msg and "quantization_config.quant_method" in msg and repr(qc["quant_method"]) in msg
    assert "weight_bits=" in msg and "\n" not in msg
    assert load_hf_config(path, weight_bits=4).weight_bits == 4  # the fix the message names


@pytest.mark.parametrize("bits", [3, 0, True, "8", 8.5])
def test_bad_weight_bits_override(bits):
    with pytest.raises(SpecError, match="weight_bits"):
        load_hf_config(_fixture("llama-3-8b.json"), weight_bits=bits)


# ---- the registry of adapters ("The 2026 fleet", item 1) ---------------------------------------------------
def test_every_registered_family_is_reachable_by_architecture_and_model_type():
    from infereco.specs.hf.registry import _BY_ARCH, _BY_TYPE

    assert set(supported_architectures()) | set(refused_architectures()) == set(_BY_ARCH)
    assert {ad.family for ad in _BY_TYPE.values()} <= {ad.family for ad in _BY_ARCH.values()}
    assert {
        "GptOssForCausalLM",
        "DeepseekV32ForCausalLM",
        "GlmMoeDsaForCausalLM",
        "MiniMaxM2ForCausalLM",
    } <= set(supported_architectures())


def test_registering_an_architecture_twice_is_an_error():
    from infereco.specs.hf import register

    with pytest.raises(ValueError, match="registered twice"):
        register("again", ["LlamaForCausalLM"])(lambda cfg: {})


def test_near_miss_names_the_closest_supported_family(tmp_path: Path):
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(_fixture("qwen3-8b.json") | {"architectures": ["Qwen4ForCausalLM"], "model_type": "qwen4"})
    )
    with pytest.raises(SpecError) as exc:
        load_hf_config(path)
    msg = str(exc.value)
    assert str(path) in msg and "'Qwen4ForCausalLM'" in msg and "\n" not in msg
    assert "closest supported family: llama" in msg and "Qwen3ForCausalLM" in msg and "missing:" in msg


@pytest.mark.parametrize(
    "arch,missing",
    [
        ("NemotronHForCausalLM", "'hybrid_override_pattern' (or 'layers_block_type')"),
        ("Qwen3_5MoeForConditionalGeneration", "'full_attention_interval'"),
        ("DeepseekV4ForCausalLM", "'head_dim'"),
        ("DeciLMForCausalLM", "'block_configs'"),
        ("KimiLinearForCausalLM", "'linear_attn_config'"),
        ("Gemma4ForCausalLM", "'layer_types'"),
    ],
)
def test_hybrid_families_name_the_key_a_near_miss_lacks(arch: str, missing: str):
    # A Llama config relabelled as a hybrid family: the adapter names the first key its layers need.
    with pytest.raises(SpecError) as exc:
        load_hf_config(_fixture("llama-3-8b.json") | {"architectures": [arch]})
    msg = str(exc.value)
    assert missing in msg and "\n" not in msg, msg


# ---- wrappers and side files (item 2) ----------------------------------------------------------------------
def test_wrapper_reads_the_language_model_from_text_config():
    text = _fixture("qwen3-30b-a3b.json")
    text = {k: v for k, v in text.items() if k != "architectures"} | {"model_type": "qwen3_vl_moe_text"}
    wrapped = {"architectures": ["Qwen3VLMoeForConditionalGeneration"], "model_type": "qwen3_vl_moe"}
    spec = load_hf_config(wrapped | {"text_config": text, "vision_config": {"depth": 27}})
    assert _shape(spec) == _shape(load_hf_config(_fixture("qwen3-30b-a3b.json")))
    assert "language model from text_config" in spec.source


def test_wrapper_with_an_unknown_language_model_names_both():
    cfg = {"architectures": ["FooForConditionalGeneration"], "text_config": {"model_type": "foo_text"}}
    with pytest.raises(SpecError, match=r"wrapper 'FooForConditionalGeneration'.*'foo_text'"):
        load_hf_config(cfg)


def _deepseek_with_side_file(tmp_path: Path, algo: str) -> Path:
    """A DeepSeek-V3.1-NVFP4-style checkpoint: no quantization_config, an hf_quant_config.json beside."""
    cfg = {k: v for k, v in _fixture("deepseek-v3.json").items() if k != "quantization_config"}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    side = {"producer": {"name": "modelopt"}, "quantization": {"quant_algo": algo, "group_size": 16}}
    side["quantization"]["exclude_modules"] = ["lm_head", "model.layers.0.self_attn*"]
    (tmp_path / "hf_quant_config.json").write_text(json.dumps(side))
    return tmp_path / "config.json"


@pytest.mark.parametrize(
    "algo,bits,effective", [("NVFP4", 4, "4.5 effective"), ("FP8", 8, None), ("MXFP4", 4, "4.25 effective")]
)
def test_modelopt_side_file_sets_the_weight_bits(tmp_path: Path, algo: str, bits: int, effective):
    spec = load_hf_config(_deepseek_with_side_file(tmp_path, algo))
    assert spec.weight_bits == bits  # not the 16 bits of torch_dtype bfloat16
    assert "hf_quant_config.json" in spec.source and "2 excluded module patterns" in spec.source
    if effective:
        assert effective in spec.source
    # Quantized weights at bits + scale bits (NVFP4: an FP8 scale per 16 values, +0.5; MXFP4: E8M0 per 32,
    # +0.25; modelopt FP8 per-tensor, +0); the embedding table and the excluded lm_head at 16 bits; layer 0's
    # excluded attention is one layer of 61, too few to move the attention component.
    scale = {"NVFP4": 0.5, "MXFP4": 0.25, "FP8": 0.0}[algo]
    emb = 2 * spec.vocab_size * spec.d_model
    expected = (bits + scale) / 8 * (spec.total_params - emb) + 2 * emb
    assert spec.weight_memory_bytes == pytest.approx(expected, rel=1e-12)
    assert load_hf_config(tmp_path / "config.json", weight_bits=16).weight_bits == 16  # override wins


def test_side_file_alone_is_refused_naming_the_config_beside_it(tmp_path: Path):
    _deepseek_with_side_file(tmp_path, "NVFP4")
    with pytest.raises(SpecError, match="side file, not a model config"):
        load_hf_config(tmp_path / "hf_quant_config.json")


def test_unknown_modelopt_algorithm_names_the_key(tmp_path: Path):
    path = _deepseek_with_side_file(tmp_path, "W3A5_MAGIC")
    with pytest.raises(
        SpecError, match=r"hf_quant_config.json: key 'quantization.quant_algo' = 'W3A5_MAGIC'"
    ):
        load_hf_config(path)


def test_quant_algo_in_quantization_config_and_mixed_precision():
    base = _fixture("llama-3-8b.json")
    nvfp4 = {"quant_method": "modelopt", "quant_algo": "NVFP4", "ignore": ["lm_head"]}
    assert load_hf_config(base | {"quantization_config": nvfp4}).weight_bits == 4
    layers = {f"model.layers.{i}.mlp": {"quant_algo": "NVFP4"} for i in range(3)}
    mixed = {"quant_algo": "MIXED_PRECISION", "quantized_layers": layers | {"x": {"quant_algo": "FP8"}}}
    spec = load_hf_config(base | {"quantization_config": mixed})
    assert spec.weight_bits == 4 and "MIXED_PRECISION (3 NVFP4, 1 FP8" in spec.source


# ---- tied embeddings (item 3) ------------------------------------------------------------------------------
def test_tied_embeddings_stored_once():
    untied = load_hf_config(_fixture("qwen2.5-7b.json"))
    tied = load_hf_config(_fixture("qwen2.5-7b.json") | {"tie_word_embeddings": True})
    v, d = 152064, 3584  # Qwen2.5-7B vocab_size, hidden_size
    assert untied.total_params - tied.total_params == v * d
    assert untied.weight_memory_bytes - tied.weight_memory_bytes == v * d * 2  # bf16
    assert tied.active_params == untied.active_params  # the tied matrix still serves lookup and unembedding


def test_known_model_type_under_an_unknown_class_names_the_family():
    cfg = _fixture("llama-3-8b.json") | {"architectures": ["LlamaForSequenceClassification"]}
    expected = r"model_type 'llama' is the supported family llama.*LlamaForCausalLM"
    with pytest.raises(SpecError, match=expected):
        load_hf_config(cfg)
