"""Long context: KV reads dominate (Erdil 2025 §4.3, Mistral Large 2 at 100K tokens; digest §1.6 #19, #25)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from infereco import frontier_from_scenario, load_model, pareto_frontier
from infereco.physics.arithmetic import step_flop
from infereco.physics.memory import kv_cache_bytes, step_bytes
from infereco.physics.structs import hardware_arrays, model_arrays
from infereco.specs.catalog import load_hardware
from infereco.specs.presets import get_preset
from infereco.units import usd_per_million_tokens

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CONTEXT = 100_000


@pytest.fixture(scope="module")
def ml2():
    return load_model("mistral-large-2")


def test_kv_bytes_per_token(ml2):
    # 2 (K and V) · 8 KV heads · 128 · 88 layers · 2 bytes = 360,448 B ≈ 360 KB (the paper's figure).
    assert ml2.group_size == 12
    assert ml2.kv_cache_bytes_per_token == 360_448
    assert float(kv_cache_bytes(model_arrays(ml2), 1.0, 1.0)) == 360_448


def test_kv_read_per_token_at_100k(ml2):
    # 36 GB read per generated token at 100K context: the step's bytes grow by exactly the KV cache.
    m = model_arrays(ml2)
    grow = float(
        step_bytes(m, 1.0, 1.0, CONTEXT, 1.0, 1.0, xp=np) - step_bytes(m, 1.0, 1.0, 0.0, 1.0, 1.0, xp=np)
    )
    assert grow == 360_448 * CONTEXT
    assert grow == pytest.approx(36e9, rel=0.002)


def test_kv_reads_exceed_weight_reads_above_batch_7(ml2):
    # Weights ≈ 244 GB (paper; the spec counts 122.6e9 parameters × 2 B = 245.2 GB, +0.5%). KV per sequence
    # 36.04 GB → KV reads pass weight reads at b = 245.2 / 36.04 = 6.80: from b = 7 on (paper: "b > 7",
    # with its rounded 244/36 = 6.78).
    assert ml2.weight_memory_bytes == pytest.approx(244e9, rel=0.01)
    kv_per_seq = 360_448 * CONTEXT
    crossover = ml2.weight_memory_bytes / kv_per_seq
    assert crossover == pytest.approx(6.8, abs=0.05)
    assert 6 * kv_per_seq < ml2.weight_memory_bytes < 7 * kv_per_seq


def test_kv_read_price_floor(ml2):
    # 36 PB per million output tokens / 3.3 TB/s · $2/h = $6.06 per million output tokens (paper). The library
    # computes it: the KV bytes one token's step reads at 100K context (step_bytes), over its H100's bandwidth
    # (erdil-2024: the datasheet's uncapped 3.35 TB/s), priced by units.usd_per_million_tokens. Hand, at
    # 3.35 TB/s: 360,448 B · 1e5 · 1e6 / 3.35e12 B/s = 10,760 GPU-s per million tokens,
    # · $2 / 3600 s = $5.978; the paper's rounded 3.3 TB/s gives $6.068, 1.5% more.
    m = model_arrays(ml2)
    kv_read = float(
        step_bytes(m, 1.0, 1.0, CONTEXT, 1.0, 1.0, xp=np) - step_bytes(m, 1.0, 1.0, 0.0, 1.0, 1.0, xp=np)
    )
    hw = hardware_arrays(get_preset("erdil-2024").apply(load_hardware("h100-sxm")), 16)
    floor = float(usd_per_million_tokens(kv_read / hw.hbm_bandwidth_bytes_per_s, 2.0))
    assert floor == pytest.approx(5.978, rel=1e-3)
    assert floor == pytest.approx(6.06, rel=0.02)


@pytest.fixture(scope="module")
def ml2_100k():
    # The paper's H100 numbers without utilization caps (3.3 TB/s, as in the $6.06 floor), at $2/h.
    return pareto_frontier(
        "mistral-large-2",
        "h100-sxm",
        context_length=CONTEXT,
        preset="erdil-2024",
        search="continuous",
        price_usd_per_hour=2.0,
    )


def test_frontier_respects_the_kv_floor_and_is_never_compute_bound(ml2_100k):
    floor = 360_448 * CONTEXT * 1e6 / 3.3e12 * 2.0 / 3600
    cheapest = ml2_100k.min_cost()
    # No frontier point beats the KV-read floor. The cheapest sits ≈ 1.55× above it ($9.37): HBM is full of KV
    # (≈ 2 sequences per GPU), so a step cannot read more than ≈ 80 GB per GPU (24 ms), and the fixed launch
    # and collective latencies (≈ 6–8 ms per step) cannot be amortised over a larger batch.
    assert floor <= cheapest.usd_per_million_tokens <= 1.6 * floor
    assert cheapest.bound == "memory"
    # GQA with g = 12 leaves long context memory-bound at every batch (§4.3, §5.2): no point is compute-bound.
    assert "compute" not in set(ml2_100k.columns["bound"].tolist())


def test_long_context_costs_far_more_than_short(ml2_100k):
    short = pareto_frontier(
        "mistral-large-2",
        "h100-sxm",
        context_length=1000,
        preset="erdil-2024",
        search="continuous",
        price_usd_per_hour=2.0,
    )
    assert ml2_100k.min_cost().usd_per_million_tokens > 30 * short.min_cost().usd_per_million_tokens
    # Max speed barely moves (≈ 100 → 97 tok/s): a single sequence's 36 GB is spread over many GPUs.
    assert ml2_100k.max_speed().tokens_per_s_per_request == pytest.approx(
        short.max_speed().tokens_per_s_per_request, rel=0.1
    )


@pytest.mark.parametrize(
    "model_id, overrides, g, kv_bytes",
    [
        ("mistral-large-2", {}, 12, 2),
        ("llama-3-70b", {}, 8, 2),
        ("llama-3-70b", {"kv_cache_bits": 8}, 8, 1),
        ("llama-3-8b", {}, 4, 2),
    ],
)
def test_long_context_arithmetic_intensity_bound(model_id, overrides, g, kv_bytes):
    # Attention-dominated regime: ΔFLOP / ΔHBM bytes per extra context token = 4·L·h·d_head /
    # (p·2·L·h·d_head/g) = 2g / p FLOP per byte (Erdil §4.3), whatever the batch.
    m = model_arrays(load_model(model_id).replace(**overrides))
    for batch in (1.0, 64.0):
        dflop = float(step_flop(m, batch, 1.0, 2e5) - step_flop(m, batch, 1.0, 1e5))
        dbytes = float(
            step_bytes(m, batch, 1.0, 2e5, 1.0, 1.0, xp=np) - step_bytes(m, batch, 1.0, 1e5, 1.0, 1.0, xp=np)
        )
        assert dflop / dbytes == pytest.approx(2 * g / kv_bytes, rel=1e-12)
    # Against the H100's ridge point (1e15 / 3.3e12 ≈ 303 FLOP/B at 16 bits) this is memory-bound by > 10×.
    assert 2 * g / kv_bytes < 303 / 10


def test_long_context_example_scenario_runs():
    f = frontier_from_scenario(EXAMPLES / "long_context_mistral_large_2.yaml")
    assert f.meta["context_length"] == CONTEXT
    assert not f.empty
    floor = 360_448 * CONTEXT * 1e6 / (0.75 * 3.3e12) * 2.0 / 3600  # erdil-paper: 75% HBM cap, $2/h
    assert f.min_cost().usd_per_million_tokens >= floor
