"""Per-component operand precision: each GEMM runs at the rate of its own operands (NVFP4 experts at the FP4
rate on Blackwell beside 16-bit attention; weight-only formats dequantize to 16-bit math), hand-derived."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infereco import load_hardware, load_model
from infereco.physics.arithmetic import step_flop, step_rate_flop
from infereco.physics.structs import flop_scales, hardware_arrays, model_arrays
from infereco.specs.hf_config import load_hf_config
from infereco.specs.model import ModelSpec

CONFIGS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "hf_configs"

# A small MoE: d = 64, 2 layers (1 dense), 4 experts of which 2 routed + 1 shared, V = 1000.
MOE = dict(
    name="t",
    d_model=64,
    d_ff=128,
    n_layers=2,
    n_heads=4,
    n_kv_heads=4,
    vocab_size=1000,
    n_experts=4,
    n_active_experts=2,
    n_shared_experts=1,
    n_dense_layers=1,
)


def _nvfp4(**kw) -> ModelSpec:
    return ModelSpec(
        **MOE, weight_bits=4, attention_weight_bits=16, embedding_weight_bits=16, gemm_input_bits=4, **kw
    )


def test_component_params_by_hand():
    m = _nvfp4()
    p = m.gemm_active_params()
    attention = 2 * 4 * 64 * 64  # q, k, v, o of 64×64 per layer, 2 layers
    ffn = 3 * 64 * 128  # SwiGLU
    assert p["attention"] == attention
    assert p["ffn"] == ffn + 1 * ffn  # the dense layer plus one shared expert in the MoE layer
    assert p["expert"] == 2 * ffn  # 2 of 4 routed experts in the one MoE layer
    assert p["embedding"] == 2 * 1000 * 64
    assert sum(p.values()) == m.active_params


def test_fp4_experts_beside_bf16_attention_on_b200():
    # B200 dense peaks: 2.25 PFLOP/s BF16, 9 FP4. The default rule's operand is the 16-bit activation, so the
    # 4-bit GEMMs are 4× faster than the rate the deployment's flop_per_s is quoted at.
    m, b200 = _nvfp4(), load_hardware("b200")
    s = flop_scales(m, b200, 16)
    assert (s["attention"], s["ffn"], s["expert"], s["embedding"], s["score"]) == (1.0, 4.0, 4.0, 1.0, 1.0)
    p = m.gemm_active_params()
    batch, ctx = 8.0, 100.0
    ma, ha = model_arrays(m), hardware_arrays(b200, 16, m)
    by_hand = 2 * batch * (p["attention"] + p["ffn"] / 4 + p["expert"] / 4 + p["embedding"])
    by_hand += 4 * 16 * 4 * 2 * ctx * batch  # attention scores: 4·d_head·h·L·c·b at the 16-bit rate
    assert float(step_rate_flop(ma, ha, batch, 1.0, ctx, np)) == pytest.approx(by_hand, rel=1e-12)
    # The MFU peak is the active-parameter-weighted harmonic mean of the component peaks.
    total = sum(p.values())
    peak = 2.25e15 * total / (p["attention"] + p["ffn"] / 4 + p["expert"] / 4 + p["embedding"])
    assert ha.peak_flop_per_s == pytest.approx(peak, rel=1e-12)


def test_fp4_on_hopper_runs_fp8_gemms():
    # H100 lists no FP4 rate: 4-bit operands take the next wider one (FP8, 1.979 vs 0.989 PFLOP/s BF16).
    s = flop_scales(_nvfp4(), load_hardware("h100-sxm"), 16)
    assert s["expert"] == pytest.approx(1.979e15 / 0.989e15)


def test_weight_only_formats_run_16_bit_math():
    m = _nvfp4().model_copy(update={"gemm_input_bits": None})  # W4A16: dequantized in the kernel
    s = flop_scales(m, load_hardware("b200"), 16)
    assert {s[c] for c in ("attention", "ffn", "expert", "embedding", "score", "peak")} == {1.0}
    ma, ha = model_arrays(m), hardware_arrays(load_hardware("b200"), 16, m)
    assert float(step_rate_flop(ma, ha, 4.0, 1.0, 10.0, np)) == float(step_flop(ma, 4.0, 1.0, 10.0, np))


def test_single_precision_models_are_untouched():
    # Uniform precision without W·A quantization: every scale 1 whatever the preset's operand rule.
    m = load_model("llama-3-70b")
    assert set(flop_scales(m, load_hardware("b200"), 16).values()) == {1.0}


def test_w8a8_checkpoint_computes_at_fp8_on_the_default_rule():
    # DeepSeek-V3: block-scaled FP8 weights and activations; the default rule quotes flop_per_s at the 16-bit
    # activation, so its FP8 GEMMs run 2× faster on H100; lm_head at weight_bits (uniform checkpoint).
    m = load_model("deepseek-v3")
    assert m.gemm_input_bits == 8
    s = flop_scales(m, load_hardware("h100-sxm"), 16)
    assert s["expert"] == s["attention"] == pytest.approx(1.979e15 / 0.989e15)
    assert s["score"] == 1.0


@given(
    batch=st.floats(1.0, 4096.0),
    ctx=st.floats(0.0, 1e5),
    input_bits=st.sampled_from([None, 8, 4]),
    hw=st.sampled_from(["b200", "h100-sxm", "mi355x", "gb300"]),
)
@settings(max_examples=60, deadline=None)
def test_narrower_gemm_inputs_never_cost_more_arithmetic(batch, ctx, input_bits, hw):
    hardware = load_hardware(hw)
    wide = _nvfp4().model_copy(update={"gemm_input_bits": None})
    narrow = wide.model_copy(update={"gemm_input_bits": input_bits})
    ma = model_arrays(wide)
    t_wide = step_rate_flop(ma, hardware_arrays(hardware, 16, wide), batch, 1.0, ctx, np)
    t_narrow = step_rate_flop(
        model_arrays(narrow), hardware_arrays(hardware, 16, narrow), batch, 1.0, ctx, np
    )
    assert float(t_narrow) <= float(t_wide) * (1 + 1e-12)
    assert float(t_wide) == pytest.approx(float(step_flop(ma, batch, 1.0, ctx, np)), rel=1e-12)


@pytest.mark.skipif(not CONFIGS.is_dir(), reason="shared/ reference configs absent")
@pytest.mark.parametrize(
    "stem,input_bits,operands",
    [
        # hf_quant_config.json NVFP4 (W4A4) with attention and lm_head excluded at 16 bits
        ("nvidia--DeepSeek-V3.1-NVFP4", 4, {"attention": 16, "expert": 4, "embedding": 16}),
        # quantization_config fp8, activation_scheme dynamic: W8A8
        ("Qwen--Qwen3-32B-FP8", 8, {"attention": 8, "expert": 8, "embedding": 16}),
        # MXFP4 experts dequantized to 16-bit math (weight-only in the quantization_config)
        ("openai--gpt-oss-120b", None, {"attention": 16, "expert": 16}),
        # MIXED_PRECISION: FP8 attention beside W4A16 NVFP4 FFNs keeps one (16-bit) input precision
        ("nvidia--Qwen3.6-27B-NVFP4", None, {"attention": 16, "expert": 16}),
    ],
)
def test_quantization_configs_give_the_gemm_inputs(stem, input_bits, operands):
    m = load_hf_config(CONFIGS / f"{stem}_config.json")
    assert m.gemm_input_bits == input_bits
    got = m.gemm_operand_bits()
    assert {k: got[k] for k in operands} == operands
