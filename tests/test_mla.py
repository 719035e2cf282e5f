"""Multi-head latent attention (DeepSeek-V3): latent KV cache, absorbed attention arithmetic, shared experts
and dense first layers, and the 100K-context comparison with Mistral Large 2 (Erdil 2025 §3.1, §4.3, Fig. 10).

**What "≈ 60 KB" means.** DeepSeek-V3 caches, per token and layer, the 512-wide KV latent *and* the 64-wide
decoupled RoPE key: 576 · 61 · 2 B = 70,272 B (what inference engines store, and what the spec counts). The
paper's "≈ 60 KB" matches the latent alone, 512 · 61 · 2 B = 62,464 B (4% off), not 70,272 B (17% off); the
paper's §3.1 describes the cache as "one latent of size d_latent". Both are tested; `qk_rope_head_dim: 0`
gives the paper's accounting.

**The ≈ 6× claim.** 360 KB / 60 KB = 6 is the ratio of KV sizes. This model gives 5.77× (latent only) or 5.13×
(with RoPE keys) for the KV-read price floors, and ≈ 4.2× (4.6× latent only) between the two 100K-context
frontiers' slow-speed costs (erdil-paper preset): fixed per-step latencies, pipeline weight re-reads and
DeepSeek's collectives are larger shares of its much smaller per-step KV time. Tolerances are stated per test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from infereco import frontier_from_scenario, load_hf_config, load_model, pareto_frontier
from infereco.physics.arithmetic import attention_flop, step_flop
from infereco.physics.memory import step_bytes
from infereco.physics.structs import model_arrays

REPO = Path(__file__).resolve().parents[1]
CONTEXT = 100_000


@pytest.fixture(scope="module")
def ds():
    return load_model("deepseek-v3")


def test_latent_kv_cache_bytes(ds):
    assert ds.is_mla and (ds.kv_lora_rank, ds.qk_rope_head_dim, ds.n_layers) == (512, 64, 61)
    assert ds.kv_cache_bytes_per_token == 576 * 61 * 2 == 70_272
    latent_only = ds.replace(qk_rope_head_dim=0)
    assert latent_only.kv_cache_bytes_per_token == 512 * 61 * 2 == 62_464
    # The paper's ≈ 60 KB: latent only within 5%; with RoPE keys 17% above.
    assert latent_only.kv_cache_bytes_per_token == pytest.approx(60e3, rel=0.05)
    assert ds.kv_cache_bytes_per_token / 60e3 == pytest.approx(1.17, abs=0.01)
    # KV cache bits apply to the latent too.
    assert ds.replace(kv_cache_bits=8).kv_cache_bytes_per_token == 576 * 61


def test_hf_config_loads_the_same_mla_model(ds):
    spec = load_hf_config(REPO / "tests" / "data" / "hf_configs" / "deepseek-v3.json")
    assert spec.is_mla
    assert spec.kv_cache_bytes_per_token == ds.kv_cache_bytes_per_token
    assert (spec.n_shared_experts, spec.n_dense_layers, spec.d_ff_dense) == (1, 3, 18432)


def test_absorbed_attention_arithmetic_at_d_latent(ds):
    # Erdil §3.1: MLA is GQA with head width d_latent = 512 instead of d_head = 128: ×4 the attention FLOP.
    m = model_arrays(ds)
    per_position = float(attention_flop(m, 1.0, 1.0, 1.0))
    assert per_position == 4 * 512 * 128 * 61
    vanilla = model_arrays(ds.replace(kv_lora_rank=None, q_lora_rank=None, qk_rope_head_dim=0))
    assert per_position / float(attention_flop(vanilla, 1.0, 1.0, 1.0)) == 4.0


def test_attention_arithmetic_dominates_beyond_about_5k_tokens(ds):
    # Attention FLOP per token (4·512·128·61·c) passes the matmul FLOP (2·N_active = 7.5e10) at
    # c* = 2·37.4e9 / (4·512·128·61) ≈ 4.7K tokens: by the paper's ≈ 10K (§4.3) attention is ≥ 2× the matmuls.
    m = model_arrays(ds)
    c_star = 2 * ds.active_params / (4 * 512 * 128 * 61)
    assert c_star == pytest.approx(4676, rel=0.01)
    attn_10k = float(step_flop(m, 1.0, 1.0, 10_000.0)) - 2 * ds.active_params
    assert attn_10k > 2 * 2 * ds.active_params


def test_mla_attention_intensity_near_the_ridge(ds):
    # ΔFLOP/ΔKV byte = 4·d_latent·h / ((d_latent + d_rope)·p) = 4·512·128 / (576·2) = 227.6 FLOP/B, 19×
    # Mistral Large 2's 2g/p = 12: MLA trades arithmetic for a small cache (§5.2). The capped H100 ridge at
    # 16-bit rate is 0.7e15 / (0.75·3.3e12) = 283 FLOP/B, so MLA attention sits at 0.80 of it. (With 8-bit
    # operands, as the erdil presets use for 8-bit weights, the ridge doubles and the 100K frontier stays
    # memory-bound here; the paper's "arithmetic-bound from ≈ 10K tokens" is not reproduced at the roofline
    # level.)
    m = model_arrays(ds)
    dflop = float(step_flop(m, 8.0, 1.0, 2e5) - step_flop(m, 8.0, 1.0, 1e5))
    dbytes = float(
        step_bytes(m, 8.0, 1.0, 2e5, 1.0, 1.0, xp=np) - step_bytes(m, 8.0, 1.0, 1e5, 1.0, 1.0, xp=np)
    )
    assert dflop / dbytes == pytest.approx(4 * 512 * 128 / (576 * 2), rel=1e-12)
    assert dflop / dbytes / 12 == pytest.approx(19.0, rel=0.01)
    assert dflop / dbytes / (0.7e15 / (0.75 * 3.3e12)) == pytest.approx(0.80, abs=0.01)


def test_shared_experts_and_dense_layers_are_always_read(ds):
    # At batch 1 the weights read are attention + dense FFN (3 dense layers + 58 shared experts) + the routed
    # experts hit (1 − (1 − 1/32)^1 of 256 = 8) + unembedding = the active parameters less the embedding
    # table.
    m = model_arrays(ds)
    wp = ds.weight_bytes
    routed_hit = (1 - (1 - 1 / 32)) * 256 * 3 * 7168 * 2048 * 58
    expected_weights = wp * (
        61 * ds.attention_params_per_layer + ds.dense_ffn_params + routed_hit + 129280 * 7168
    )
    assert expected_weights == pytest.approx(wp * (ds.active_params - 129280 * 7168), rel=1e-9)
    total = float(step_bytes(m, 1.0, 1.0, 0.0, 1.0, 1.0, xp=np))
    # The rest is activation traffic of one token: under 0.1% of the weight bytes.
    assert expected_weights < total < expected_weights * 1.001
    assert ds.dense_ffn_params == 3 * 3 * 7168 * 18432 + 58 * 3 * 7168 * 2048


@pytest.fixture(scope="module")
def frontiers_100k():
    kw = {
        "context_length": CONTEXT,
        "preset": "erdil-paper",
        "search": "continuous",
        "price_usd_per_hour": 2.0,
    }
    return {
        "mistral": pareto_frontier("mistral-large-2", "h100-sxm", **kw),
        "deepseek": pareto_frontier("deepseek-v3", "h100-sxm", **kw),
        "deepseek-latent": pareto_frontier({"base": "deepseek-v3", "qk_rope_head_dim": 0}, "h100-sxm", **kw),
    }


def test_kv_floor_ratio_against_mistral_large_2(ds):
    # KV-read floors at 100K: 360,448 / 62,464 = 5.77 (within 4% of 6) and 360,448 / 70,272 = 5.13 (−15%).
    assert 360_448 / ds.replace(qk_rope_head_dim=0).kv_cache_bytes_per_token == pytest.approx(6.0, rel=0.05)
    assert 360_448 / ds.kv_cache_bytes_per_token == pytest.approx(5.13, abs=0.01)


def test_100k_frontier_cheaper_than_mistral_large_2_when_slow(frontiers_100k):
    # Erdil §4.3: "≈ 6× cheaper when served slowly". At 10 tok/s per request (flat part of both frontiers)
    # this model gives ≈ 4.2× (70 KB cache) and ≈ 4.6× (60 KB): several times cheaper, but 25–30% short of 6×.
    # Held: between 3.5× and 6×, the latent-only ratio above the full one.
    slow = 10.0
    mistral = frontiers_100k["mistral"].cost_at_speed(slow)
    full = mistral / frontiers_100k["deepseek"].cost_at_speed(slow)
    latent = mistral / frontiers_100k["deepseek-latent"].cost_at_speed(slow)
    assert 3.5 <= full <= 6.0
    assert 3.5 <= latent <= 6.0
    assert latent > full
    assert full == pytest.approx(4.17, rel=0.05)


def test_deepseek_is_faster_at_100k(frontiers_100k):
    # A 37B-active model with a 7 GB-per-sequence cache reaches higher serial speed than a 123B dense model.
    assert (
        frontiers_100k["deepseek"].max_speed().tokens_per_s_per_request
        > 1.5 * frontiers_100k["mistral"].max_speed().tokens_per_s_per_request
    )


def test_mla_example_scenario_runs(frontiers_100k):
    f = frontier_from_scenario(REPO / "examples" / "mla_deepseek_v3.yaml")
    assert f.meta["context_length"] == CONTEXT
    assert f.min_cost().usd_per_million_tokens == pytest.approx(
        frontiers_100k["deepseek"].min_cost().usd_per_million_tokens, rel=1e-9
    )
