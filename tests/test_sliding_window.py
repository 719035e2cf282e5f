"""Sliding-window attention ("The 2026 fleet", item 2): a windowed layer reads, caches and attends to at most
`sliding_window` positions per sequence; full layers the whole context. Hand-derived figures on a Llama-3-8B
shape (32 layers, 8 KV heads of 128, bf16: 2·8·128·2 = 4096 KV bytes per token per layer)."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from infereco import load_model
from infereco.errors import SpecError
from infereco.physics.arithmetic import attention_flop, step_flop
from infereco.physics.latency import step_time
from infereco.physics.memory import fits_in_memory, kv_cache_bytes, kv_context_tokens, step_bytes
from infereco.physics.prefill import prefill_chunks, prefill_flop
from infereco.physics.structs import hardware_arrays, model_arrays
from infereco.search.discrete import enumerate_layouts
from infereco.specs.catalog import load_hardware
from infereco.specs.hf_config import load_hf_config
from infereco.specs.presets import get_preset
from infereco.specs.space import DiscreteSpace

W = 4096
PER_LAYER = 2 * 8 * 128 * 2  # KV bytes per token per layer
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "hf_configs"


@pytest.fixture(scope="module")
def base():
    return load_model("llama-3-8b")


@pytest.fixture(scope="module")
def hw_conv():
    preset = get_preset("erdil-2024")
    return hardware_arrays(preset.apply(load_hardware("h100-sxm")), 16), preset.conventions


def windowed(base, n_sliding, window=W):
    return base.replace(sliding_window=window, n_sliding_layers=n_sliding)


def decode_s(m, hw, conv, context, n_gpu=1.0, batch=8.0, xp=np):
    return float(step_time(m, hw, conv, n_gpu, batch, 1.0, float(context), xp=xp).latency_s)


def test_spec_validation(base):
    assert base.kv_cache_bytes_per_token == 32 * PER_LAYER
    assert (base.sliding_window, base.n_sliding_layers, base.sliding_fraction) == (None, 0, 0.0)
    with pytest.raises(SpecError, match="both set"):
        base.replace(sliding_window=W)
    with pytest.raises(SpecError, match="both set"):
        base.replace(n_sliding_layers=4)
    with pytest.raises(SpecError, match="exceeds n_layers"):
        base.replace(sliding_window=W, n_sliding_layers=33)
    with pytest.raises(SpecError):
        base.replace(sliding_window=0, n_sliding_layers=1)
    half = windowed(base, 16)
    assert half.kv_cache_tokens(10 * W) == (16 * 10 * W + 16 * W) / 32
    assert half.kv_cache_bytes_per_sequence(100.0) == 100.0 * 32 * PER_LAYER  # below the window


def test_all_windowed_decode_is_flat_beyond_the_window(base, hw_conv):
    # (a) Every layer windowed at W: at 10·W the KV read and the attention FLOP are those of W.
    hw, conv = hw_conv
    m = model_arrays(windowed(base, 32))
    full = model_arrays(base)
    for xp in (np, jnp):
        assert decode_s(m, hw, conv, 10 * W, xp=xp) == decode_s(m, hw, conv, W, xp=xp)
        assert decode_s(full, hw, conv, 10 * W, xp=xp) > decode_s(m, hw, conv, 10 * W, xp=xp)
    # Below the window a windowed layer is a full one.
    assert decode_s(m, hw, conv, W // 2) == decode_s(full, hw, conv, W // 2)
    assert float(attention_flop(m, 8.0, 1.0, 10.0 * W, np)) == 4 * 128 * 32 * 32 * W * 8


def test_half_windowed_kv_read_and_flop_match_the_hand_formula(base):
    # (b) 16 full + 16 windowed layers, context c > W: KV held and read (n_full·c + n_sliding·W)·4096 B·b.
    m = model_arrays(windowed(base, 16))
    c, b = 30_000.0, 5.0
    hand_kv = (16 * c + 16 * W) * PER_LAYER * b
    assert float(kv_cache_bytes(m, b, c, np)) == hand_kv
    read = float(step_bytes(m, b, 1.0, c, 1.0, 1.0, xp=np) - step_bytes(m, b, 1.0, 0.0, 1.0, 1.0, xp=np))
    assert read == pytest.approx(hand_kv, rel=1e-12)
    # Attention FLOP of one decode step: 4·d_head·h·(n_full·c + n_sliding·W)·b.
    attn = float(step_flop(m, b, 1.0, c, np) - step_flop(m, b, 1.0, 0.0, np))
    assert attn == pytest.approx(4 * 128 * 32 * (16 * c + 16 * W) * b, rel=1e-12)
    # Below the window nothing changes.
    assert float(kv_context_tokens(m, 1000.0, np)) == 1000.0


def test_windowed_prefill_flop_is_the_causal_count_capped_at_the_window(base):
    # Token i of a P-token prompt after c0 cached ones attends to c0 + i positions, min(c0 + i, W) when
    # windowed; the closed form and any chunking agree with the brute-force count.
    m = model_arrays(windowed(base, 16, window=100))
    p, c0 = 1000.0, 30.0
    i = np.arange(int(p))
    positions = 16 * (c0 + i).sum() + 16 * np.minimum(c0 + i, 100).sum()
    hand = 2 * m.active_params * p + 4 * 128 * 32 * positions
    assert float(prefill_flop(m, 1.0, p, c0, np)) == pytest.approx(hand, rel=1e-12)
    assert float(step_flop(m, 1.0, p, c0, np)) == pytest.approx(hand, rel=1e-12)
    seq, ctx = prefill_chunks(p, 64, c0)
    total = sum(float(step_flop(m, 1.0, s, c, np)) for s, c in zip(seq, ctx))
    assert total == pytest.approx(hand, rel=1e-12)


def test_memory_fit_grows_with_the_window(base):
    # (c) Ideal engine, 80 GB, TP 1, context 32K: per sequence (16·32768 + 16·4096)·4096 B = 2.42 GB
    # instead of 32·32768·4096 B = 4.29 GB.
    ctx = 32_768
    space = DiscreteSpace(engine="ideal", pp_degrees=(1,), allow_2d=False)
    budget = 80e9 - base.weight_memory_bytes

    def tp1(model):
        t = enumerate_layouts(model, 80e9, ctx, space)
        return t.max_batch[t.tp == 1][0]

    full, half = tp1(base), tp1(windowed(base, 16))
    assert full == np.floor(budget / (32 * ctx * PER_LAYER)) == 14
    assert half == np.floor(budget / ((16 * ctx + 16 * W) * PER_LAYER)) == 26
    # The physics fit agrees: 26 sequences fit on one 80 GB accelerator, 27 do not.
    m = model_arrays(windowed(base, 16))
    assert bool(fits_in_memory(m, 1.0, half, float(ctx), 80e9, np))
    assert not bool(fits_in_memory(m, 1.0, half + 1, float(ctx), 80e9, np))


def test_defaults_and_a_window_beyond_the_context_change_nothing(base, hw_conv):
    # (e) The defaults are inert (the conformance and key-figure tests check the reference bit for bit); a
    # window longer than the context is too.
    hw, conv = hw_conv
    m = model_arrays(base)
    assert m.sliding_fraction == 0.0
    wide = model_arrays(windowed(base, 32, window=10**6))
    for c in (0.0, 1.0, 8191.0, 123_456.0):
        assert float(kv_context_tokens(m, c, np)) == c
        assert decode_s(wide, hw, conv, c) == decode_s(m, hw, conv, c)
        assert float(step_flop(wide, 3.0, 17.0, c, np)) == float(step_flop(m, 3.0, 17.0, c, np))


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    window=st.integers(1, 20_000),
    n_sliding=st.integers(0, 32),
    c1=st.integers(0, 200_000),
    dc=st.integers(1, 200_000),
    batch=st.sampled_from([1.0, 16.0, 256.0]),
)
def test_more_context_is_never_cheaper_and_all_windowed_is_flat(
    base, hw_conv, window, n_sliding, c1, dc, batch
):
    # (d) Step time is non-decreasing in context; with every layer windowed it is flat beyond the window.
    hw, conv = hw_conv
    spec = windowed(base, n_sliding, window) if n_sliding else base
    m = model_arrays(spec)
    t1 = decode_s(m, hw, conv, c1, n_gpu=8.0, batch=batch)
    t2 = decode_s(m, hw, conv, c1 + dc, n_gpu=8.0, batch=batch)
    assert t2 >= t1 * (1 - 1e-12)
    flat = model_arrays(windowed(base, 32, window))
    at_w = decode_s(flat, hw, conv, window, n_gpu=8.0, batch=batch)
    assert decode_s(flat, hw, conv, window + dc, n_gpu=8.0, batch=batch) == at_w


def _mistral(**extra):
    return {
        "architectures": ["MistralForCausalLM"],
        "model_type": "mistral",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 32000,
        "torch_dtype": "bfloat16",
        **extra,
    }


def test_hf_mistral_style_window_covers_every_layer():
    m = load_hf_config(_mistral(sliding_window=4096))
    assert (m.sliding_window, m.n_sliding_layers) == (4096, 32)
    assert load_hf_config(_mistral(sliding_window=None)).sliding_window is None
    # Qwen2/Qwen3/MiMo keep a sliding_window key but switch it off.
    off = load_hf_config(_mistral(sliding_window=4096, use_sliding_window=False))
    assert (off.sliding_window, off.n_sliding_layers) == (None, 0)
    # Qwen2 with the window on: layers from max_window_layers on are windowed.
    qwen = load_hf_config(_mistral(sliding_window=4096, use_sliding_window=True, max_window_layers=28))
    assert qwen.n_sliding_layers == 4
    typed = load_hf_config(
        _mistral(sliding_window=512, layer_types=["sliding_attention", "full_attention"] * 16)
    )
    assert (typed.sliding_window, typed.n_sliding_layers) == (512, 16)


@pytest.mark.skipif(
    not (CORPUS / "openai--gpt-oss-120b_config.json").is_file(), reason="no gpt-oss-120b config"
)
def test_gpt_oss_120b_alternates_window_128_and_full_layers():
    # (f) config.json: sliding_window 128, layer_types alternating sliding/full over 36 layers.
    m = load_hf_config(CORPUS / "openai--gpt-oss-120b_config.json")
    assert (m.n_layers, m.n_sliding_layers, m.sliding_window) == (36, 18, 128)
    assert "18 of 36 layers sliding-window" in m.source
    assert "sinks not modelled" in m.source
