"""Disaggregated vs co-located serving (infereco.disaggregation): pool sizing, all-GPU cost, same frontier
axes."""

from __future__ import annotations

import numpy as np
import pytest

from infereco import pareto_frontier
from infereco.frontier import Frontier
from infereco.physics.prefill import prefill_time
from infereco.physics.requests import cheapest_prefill, resolve_deployment
from infereco.serving.disaggregation import compare_serving, pool_sizes
from infereco.specs.lengths import RequestLengths

PRESET = "erdil-paper"


def _decode_frontier():
    # Two hand-made decode points for Llama 3 8B: (n_gpu, batch, TPOT) = (1, 64, 20 ms) and (8, 16, 5 ms).
    n = np.array([8.0, 1.0])
    b = np.array([16.0, 64.0])
    t = np.array([0.005, 0.020])
    return Frontier(
        {
            "tokens_per_s_per_request": 1 / t,
            "usd_per_million_tokens": n * t / b * 2 / 3600 * 1e6,
            "n_gpu": n,
            "batch_size": b,
            "latency_s": t,
            "gpu_s_per_token": n * t / b,
            "mfu": np.array([0.01, 0.05]),
        },
        price_usd_per_hour=2.0,
    )


def test_pools_and_costs_by_hand():
    dep = resolve_deployment("llama-3-8b", "h100-sxm", preset=PRESET)
    w = RequestLengths.fixed(2000, 200)
    cmp = compare_serving(_decode_frontier(), "llama-3-8b", "h100-sxm", w, preset=PRESET)
    pre = cmp.prefill
    best = cheapest_prefill(dep, 2000)
    assert (pre.n_gpu, pre.batch_size) == (best.n_gpu, best.batch_size)
    usd = 2.0 / 3600 * 1e6
    d = cmp.disaggregated
    order = np.argsort(d.columns["n_gpu"])  # [1-GPU point, 8-GPU point]
    for i, (n, b, t) in zip(order, [(1.0, 64.0, 0.020), (8.0, 16.0, 0.005)]):
        # Speed = decode speed; pools sized so prefill and decode request rates match:
        # r_d = b / (E[O]·t), r_p = b_p / T_p, x = r_d / r_p prefill instances per decode instance.
        r_d = b / (200 * t)
        x = r_d / (pre.batch_size / pre.time_s)
        assert d.columns["tokens_per_s_per_request"][i] == pytest.approx(1 / t)
        assert d.columns["prefill_instances_per_decode_instance"][i] == pytest.approx(x, rel=1e-12)
        # All accelerators per output token: (n + x·n_p) / (r_d · E[O]) = n·t/b + n_p·T_p/(b_p·E[O]).
        g = (n + x * pre.n_gpu) / (r_d * 200)
        assert g == pytest.approx(n * t / b + pre.n_gpu * pre.time_s / (pre.batch_size * 200), rel=1e-12)
        assert d.columns["usd_per_million_tokens"][i] == pytest.approx(g * usd, rel=1e-12)
        assert d.columns["n_gpu_total"][i] == pytest.approx(n + x * pre.n_gpu, rel=1e-12)
        # Split prices: input carries the prefill pool, output the decode pool.
        assert d.columns["usd_per_million_input_tokens"][i] == pytest.approx(
            pre.n_gpu * pre.time_s / pre.batch_size / 2000 * usd, rel=1e-12
        )
        assert d.columns["usd_per_million_output_tokens"][i] == pytest.approx(n * t / b * usd, rel=1e-12)
        assert d.columns["ttft_s"][i] == pytest.approx(pre.time_s)
    c = cmp.colocated
    order = np.argsort(c.columns["n_gpu"])
    for i, (n, b, t) in zip(order, [(1.0, 64.0, 0.020), (8.0, 16.0, 0.005)]):
        # Prefill stalls decode: TPOT = t + b·τ/E[O], τ = the instance's own prefill time of one prompt.
        tau = float(prefill_time(dep.arrays, dep.hw_arrays, dep.conventions, n, 1.0, 2000.0, xp=np).time_s)
        tpot = t + b * tau / 200
        assert c.columns["latency_s"][i] == pytest.approx(tpot, rel=1e-12)
        assert c.columns["usd_per_million_tokens"][i] == pytest.approx(n * tpot / b * usd, rel=1e-12)
        assert c.columns["ttft_s"][i] == pytest.approx(tau, rel=1e-12)


def test_pool_sizes_for_a_demand():
    pre = cheapest_prefill(resolve_deployment("llama-3-8b", "h100-sxm", preset=PRESET), 2000)
    point = {"n_gpu": 8.0, "batch_size": 16.0, "latency_s": 0.005}
    sizes = pool_sizes(point, pre, 200, requests_per_s=100.0)
    # 100 requests/s; one decode instance serves 16 / (200·0.005) = 16 requests/s.
    assert sizes["decode_instances"] == pytest.approx(100 / 16)
    assert sizes["prefill_instances"] * sizes["prefill_requests_per_s_per_instance"] == pytest.approx(100.0)
    assert sizes["decode_gpus"] == pytest.approx(8 * 100 / 16)


@pytest.fixture(scope="module")
def comparison_70b():
    w = RequestLengths.fixed(2000, 250)
    f = pareto_frontier(
        "llama-3-70b",
        "h100-sxm",
        context_length=round(w.decode_context_tokens),
        preset=PRESET,
        search="continuous",
    )
    return f, compare_serving(f, "llama-3-70b", "h100-sxm", w, preset=PRESET, max_ttft_s=1.0)


def test_same_axes_and_prefill_raises_cost(comparison_70b):
    decode, cmp = comparison_70b
    for f in (cmp.colocated, cmp.disaggregated):
        assert not f.empty
        assert f.meta["serving"] in ("colocated", "disaggregated")
        # Counting prefill accelerators can only raise $/M output tokens at a given speed.
        for s in (20.0, 60.0, 100.0):
            assert f.cost_at_speed(s) >= decode.cost_at_speed(s)
    # Disaggregation keeps the decode speeds; co-location loses speed to prefill stalls.
    assert cmp.disaggregated.max_speed().tokens_per_s_per_request == pytest.approx(
        decode.max_speed().tokens_per_s_per_request
    )
    assert cmp.colocated.max_speed().tokens_per_s_per_request < decode.max_speed().tokens_per_s_per_request
    assert cmp.prefill.time_s <= 1.0 and cmp.prefill.mfu > 0.6


def test_disaggregation_wins_for_long_prompts(comparison_70b):
    # 2000-token prompts, 250-token answers: the cheapest prefill pool (≈ 2 GPUs at the FLOP cap) beats
    # prefilling on the decode instances (large TP groups, network-bound, stalling the batch) at every speed.
    _, cmp = comparison_70b
    for s in (20.0, 40.0, 60.0, 80.0):
        assert cmp.disaggregated.cost_at_speed(s) < cmp.colocated.cost_at_speed(s)
    assert (
        cmp.disaggregated.min_cost().usd_per_million_tokens < cmp.colocated.min_cost().usd_per_million_tokens
    )
    recs = cmp.to_records()
    assert set(recs) == {"colocated", "disaggregated", "prefill"}
    assert "ttft_s" in recs["disaggregated"][0] and "usd_per_million_input_tokens" in recs["colocated"][0]
