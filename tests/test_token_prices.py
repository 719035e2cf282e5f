"""Input vs output token prices (infereco.economics.token_prices); Erdil 2025 §4.3 and §5.1 takeaway 6."""

from __future__ import annotations

import numpy as np
import pytest

from infereco import pareto_frontier
from infereco.economics.token_prices import (
    TokenPrices,
    gpu_s_per_token_at_utilization,
    token_prices,
    token_prices_at_utilization,
    usd_per_million_tokens,
)
from infereco.physics.requests import cheapest_prefill, resolve_deployment

N_ACTIVE_70B = 70_552_387_584  # Llama 3 70B, untied embeddings counted (catalog spec, reference convention)


def test_unit_helpers():
    # 1 ms of one accelerator per token at $2/h: 1e-3 · 2 / 3600 · 1e6 = $0.5556/M.
    assert float(usd_per_million_tokens(1e-3, 2.0)) == pytest.approx(0.555_556, rel=1e-5)
    assert float(gpu_s_per_token_at_utilization(1e12, 1e15, 0.5)) == pytest.approx(2e-3)
    with pytest.raises(ValueError, match="utilization"):
        gpu_s_per_token_at_utilization(1e12, 1e15, 0.0)


def test_paper_price_at_full_utilization():
    # Erdil §4.2: Llama 3 70B 16-bit at 100% utilization costs ≈ $0.11/M at $2/h, "100%" being the 70%-capped
    # 0.7 PFLOP/s: 2·70.55e9 / 0.7e15 s · $2/3600 · 1e6 = $0.112/M. Short context (no attention FLOP).
    p = token_prices_at_utilization(
        "llama-3-70b",
        "h100-sxm",
        decode_utilization=0.7,
        prefill_utilization=0.7,
        input_tokens=1,
        decode_context_tokens=0,
        preset="erdil-paper",
    )
    hand = 2 * N_ACTIVE_70B / 0.7e15 * 2.0 / 3600 * 1e6
    assert p.output_usd_per_million_tokens == pytest.approx(hand, rel=1e-12)
    assert p.output_usd_per_million_tokens == pytest.approx(0.11, rel=0.03)
    assert p.input_usd_per_million_tokens == pytest.approx(hand, rel=1e-12)


def test_input_about_three_times_cheaper_at_paper_utilizations():
    # Erdil §4.3: prefill at ≥ 50% utilization vs ≈ 17% in decode (Table 6) → input ≈ 3× cheaper (GPT-4o).
    # Utilizations are given as the paper's fractions of the capped rate (×0.7 → fractions of peak).
    p = token_prices_at_utilization(
        "llama-3-70b",
        "h100-sxm",
        decode_utilization=0.17 * 0.7,
        prefill_utilization=0.50 * 0.7,
        input_tokens=1,
        decode_context_tokens=0,
        preset="erdil-paper",
    )
    # Hand: output 0.112/0.17 = $0.659/M, input 0.112/0.5 = $0.224/M, ratio 0.5/0.17 = 2.94.
    assert p.output_usd_per_million_tokens == pytest.approx(0.659, rel=0.005)
    assert p.input_usd_per_million_tokens == pytest.approx(0.224, rel=0.005)
    assert p.output_to_input_ratio == pytest.approx(0.50 / 0.17, rel=1e-12)
    assert p.output_to_input_ratio == pytest.approx(3.0, rel=0.05)
    # With a 1000-token context both sides pay attention FLOP; the ratio moves by about 1%.
    q = token_prices_at_utilization(
        "llama-3-70b",
        "h100-sxm",
        decode_utilization=0.17 * 0.7,
        prefill_utilization=0.50 * 0.7,
        input_tokens=1000,
        preset="erdil-paper",
    )
    assert q.output_to_input_ratio == pytest.approx(p.output_to_input_ratio, rel=0.02)


@pytest.fixture(scope="module")
def frontier_70b():
    return pareto_frontier(
        "llama-3-70b", "h100-sxm", context_length=1000, preset="erdil-paper", search="erdil-grid"
    )


def test_physics_prices_at_the_preferred_point(frontier_70b):
    # A concrete deployment: decode at the α = 3 preferred point (erdil-paper, context 1000), prefill of
    # 1000-token prompts on the cheapest prefill instance. Erdil §5.1 takeaway 6: decode utilization is 3–5×
    # lower than prefill at practical speeds. The model gives prefill ≈ 70% MFU (the FLOP cap) against ≈ 13%
    # in decode: input ≈ 5.3× cheaper. At context 0 the preferred point runs at ≈ 26% MFU (ratio ≈ 2.7), so
    # the band held here is 2.5–6×.
    pt = frontier_70b.preferred(3)
    dep = resolve_deployment("llama-3-70b", "h100-sxm", preset="erdil-paper")
    c = cheapest_prefill(dep, 1000)
    tp = token_prices(
        "llama-3-70b",
        "h100-sxm",
        pt,
        input_tokens=1000,
        prefill_n_gpu=c.n_gpu,
        prefill_batch=c.batch_size,
        preset="erdil-paper",
    )
    assert isinstance(tp, TokenPrices)
    assert tp.prefill_utilization >= 0.5
    assert tp.decode_utilization == pytest.approx(pt.mfu)
    assert tp.output_usd_per_million_tokens == pytest.approx(pt.usd_per_million_tokens, rel=1e-12)
    assert 2.5 <= tp.output_to_input_ratio <= 6.0
    # The ratio is (almost exactly) the ratio of utilizations: F_in and F_out differ by ≈ 1% at this context.
    assert tp.output_to_input_ratio == pytest.approx(tp.prefill_utilization / tp.decode_utilization, rel=0.02)
    # Stated prefill utilization instead of the physics.
    stated = token_prices(
        "llama-3-70b", "h100-sxm", pt, input_tokens=1000, prefill_utilization=0.5, preset="erdil-paper"
    )
    assert stated.prefill_utilization == 0.5
    assert stated.input_usd_per_million_tokens > tp.input_usd_per_million_tokens


def test_prefill_on_the_decode_instance_is_dearer(frontier_70b):
    # The preferred point's instance (≈ 32 GPUs) prefills one prompt network-bound: dearer input tokens than
    # the cheapest prefill pool (what disaggregation exploits).
    pt = frontier_70b.preferred(3)
    same = token_prices("llama-3-70b", "h100-sxm", pt, input_tokens=1000, preset="erdil-paper")
    dep = resolve_deployment("llama-3-70b", "h100-sxm", preset="erdil-paper")
    best = cheapest_prefill(dep, 1000)
    assert same.input_gpu_s_per_token > 1.5 * best.gpu_s_per_token


def test_blended_price():
    p = TokenPrices(0.2, 0.6, 1.0, 3.0, 0.5, 0.17, 2.0)
    # 3:1 input:output → (3·0.2 + 0.6) / 4 = 0.3.
    assert p.blended_usd_per_million_tokens(3, 1) == pytest.approx(0.3)
    assert p.to_dict()["output_to_input_ratio"] == pytest.approx(3.0)


def test_frontier_columns():
    """The decode-only serving mode prices input tokens per point as `token_prices` does for that point alone
    (a second path through the prefill physics), and output tokens at the decode frontier's price."""
    w = {"input_tokens": 1000, "output_tokens": 200, "context_length": 1000}
    f = pareto_frontier("llama-3-70b", "h100-sxm", workload=w, preset="erdil-paper")
    n = len(f)
    for k in ("usd_per_million_input_tokens", "usd_per_million_output_tokens", "ttft_s", "e2e_latency_s"):
        assert np.shape(f.columns[k]) == (n,) and np.all(np.isfinite(f.columns[k]))
    assert np.all(f.columns["ttft_s"] > 0)
    np.testing.assert_array_equal(
        f.columns["usd_per_million_output_tokens"], f.columns["usd_per_million_tokens"]
    )
    for i in (0, n // 2, n - 1):
        p = f.point(i)
        ref = token_prices(
            "llama-3-70b", "h100-sxm", p, input_tokens=1000, prefill_batch=p.batch_size, preset="erdil-paper"
        )
        assert p["usd_per_million_input_tokens"] == pytest.approx(ref.input_usd_per_million_tokens, rel=1e-12)
        single = token_prices("llama-3-70b", "h100-sxm", p, input_tokens=1000, preset="erdil-paper")
        assert p["ttft_s"] == pytest.approx(single.input_gpu_s_per_token * 1000 / p.n_gpu, rel=1e-12)
