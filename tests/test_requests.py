"""Requests (infereco.physics.requests): lengths and distributions, TTFT, end-to-end latency, token
accounting."""

from __future__ import annotations

import numpy as np
import pytest

from infereco.errors import SpecError
from infereco.physics.latency import step_time
from infereco.physics.prefill import prefill_time
from infereco.physics.requests import (
    RequestLengths,
    cheapest_prefill,
    decode_step_time_s,
    end_to_end_latency_s,
    kv_transfer_s,
    request_metrics,
    resolve_deployment,
    ttft_s,
)


@pytest.fixture(scope="module")
def dep():
    return resolve_deployment("llama-3-70b", "h100-sxm", preset="erdil-paper")


def test_fixed_lengths():
    w = RequestLengths.fixed(1000, 200)
    assert (w.mean_input_tokens, w.mean_output_tokens) == (1000.0, 200.0)
    # Decode positions run from P to P + O − 1: mean context P + (O − 1)/2.
    assert w.decode_context_tokens == 1000 + 199 / 2


def test_sampled_lengths_and_token_weighted_context():
    w = RequestLengths.from_samples([100, 1000], [10, 30])
    assert w.mean_input_tokens == 550 and w.mean_output_tokens == 20
    # Hand: E[O·(P + (O − 1)/2)] / E[O] = (10·104.5 + 30·1014.5) / 40 = 787.0 (long answers fill more slots).
    assert w.decode_context_tokens == pytest.approx(787.0, rel=1e-12)
    weighted = RequestLengths.from_samples([100, 1000], [10, 30], weights=[3, 1])
    assert weighted.mean_input_tokens == pytest.approx(325.0)
    # A scalar side broadcasts; mappings and pairs coerce.
    b = RequestLengths.from_samples([100, 200, 300], 50)
    assert b.output_tokens.tolist() == [50, 50, 50]
    assert RequestLengths.coerce({"input_tokens": [100, 200], "output_tokens": 5}).mean_input_tokens == 150
    assert RequestLengths.coerce((7, 3)).mean_output_tokens == 3


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"input_tokens": [100, -1], "output_tokens": 5}, "input_tokens"),
        ({"input_tokens": [100, 200], "output_tokens": [5, 6, 7]}, "samples"),
        ({"input_tokens": 100, "output_tokens": float("nan")}, "output_tokens"),
        ({"input_tokens": [1, 2], "output_tokens": 1, "weights": [1, -1]}, "weights"),
        ({"input_tokens": 1, "output_tokens": 1, "typo": 3}, "unknown keys"),
    ],
)
def test_bad_lengths_name_the_field(bad, match):
    with pytest.raises(SpecError, match=match):
        RequestLengths.coerce(bad)


def test_end_to_end_latency():
    assert end_to_end_latency_s(0.5, 0.01, 100) == pytest.approx(1.5)
    assert end_to_end_latency_s(0.5, 0.01, 100, first_token_from_prefill=True) == pytest.approx(1.49)
    np.testing.assert_allclose(
        end_to_end_latency_s(np.array([0.1, 0.2]), 0.02, np.array([10, 20])), [0.3, 0.6]
    )


def test_ttft_is_the_prefill_plus_transfer(dep):
    pf = prefill_time(dep.arrays, dep.hw_arrays, dep.conventions, 8.0, 2.0, 3000.0, 1024, xp=np)
    assert ttft_s(dep, 8.0, 3000, prefill_batch=2.0, chunk_tokens=1024) == pytest.approx(
        float(pf.time_s), rel=1e-12
    )
    # KV transfer: 3000 tokens × 327,680 B over one 50 GB/s link = 19.7 ms.
    t = kv_transfer_s(dep.model, 3000, 50e9)
    assert float(t) == pytest.approx(3000 * 327_680 / 50e9, rel=1e-12)
    assert ttft_s(
        dep, 8.0, 3000, prefill_batch=2.0, chunk_tokens=1024, queue_s=0.1, kv_transfer_s=float(t)
    ) == pytest.approx(float(pf.time_s) + 0.1 + float(t), rel=1e-12)


def test_decode_step_is_the_physics_step(dep):
    st = step_time(dep.arrays, dep.hw_arrays, dep.conventions, 8.0, 32.0, 1.0, 1500.0, xp=np)
    assert decode_step_time_s(dep, 8.0, 32.0, 1500.0) == pytest.approx(float(st.latency_s), rel=1e-12)


def test_request_metrics_accounting(dep):
    # Two kinds of request: expected values are over samples, and TTFT is evaluated per prompt length
    # (attention makes prefill time convex in P, so E[TTFT(P)] > TTFT(E[P])).
    w = RequestLengths.from_samples([500, 16_000], [100, 300])
    r = request_metrics(
        "llama-3-70b",
        "h100-sxm",
        w,
        decode_n_gpu=8,
        decode_batch=32,
        prefill_n_gpu=4,
        prefill_batch=1,
        preset="erdil-paper",
    )
    t = [
        float(prefill_time(dep.arrays, dep.hw_arrays, dep.conventions, 4.0, 1.0, p, xp=np).time_s)
        for p in (500, 16_000)
    ]
    assert r.ttft_s == pytest.approx(np.mean(t), rel=1e-12)
    assert r.ttft_s > float(
        prefill_time(dep.arrays, dep.hw_arrays, dep.conventions, 4.0, 1.0, 8250.0, xp=np).time_s
    )
    tpot = decode_step_time_s(dep, 8.0, 32.0, w.decode_context_tokens)
    assert r.time_per_output_token_s == pytest.approx(tpot, rel=1e-12)
    assert r.e2e_latency_s == pytest.approx(np.mean(t) + 200 * tpot, rel=1e-12)
    # Accelerator-seconds: prefill 4·T_p per request, decode O·8·TPOT/32 per request.
    assert r.prefill_gpu_s_per_request == pytest.approx(4 * np.mean(t), rel=1e-12)
    assert r.decode_gpu_s_per_request == pytest.approx(200 * 8 * tpot / 32, rel=1e-12)
    usd_per_gpu_s = 2.0 / 3600
    assert r.usd_per_request == pytest.approx(
        (4 * np.mean(t) + 200 * 8 * tpot / 32) * usd_per_gpu_s, rel=1e-12
    )
    assert r.usd_per_million_input_tokens == pytest.approx(
        4 * np.mean(t) / 8250 * usd_per_gpu_s * 1e6, rel=1e-12
    )
    assert r.usd_per_million_output_tokens == pytest.approx(8 * tpot / 32 * usd_per_gpu_s * 1e6, rel=1e-12)
    total = r.usd_per_million_input_tokens * 8250 + r.usd_per_million_output_tokens * 200
    assert r.usd_per_million_tokens == pytest.approx(total / 8450, rel=1e-12)
    assert r.ttft_p90_s == pytest.approx(max(t))
    assert 0.3 < r.prefill_mfu <= 0.7


def test_request_metrics_with_a_given_tpot_and_first_token_from_prefill():
    r = request_metrics(
        "llama-3-8b",
        "h100-sxm",
        (1000, 11),
        decode_n_gpu=1,
        decode_batch=16,
        time_per_output_token_s=0.02,
        first_token_from_prefill=True,
        preset="erdil-paper",
    )
    assert r.e2e_latency_s == pytest.approx(r.ttft_s + 10 * 0.02)
    assert r.decode_gpu_s_per_request == pytest.approx(10 * 0.02 / 16)


def test_infeasible_deployment_is_reported():
    with pytest.raises(SpecError, match="does not fit"):
        request_metrics(
            "llama-3-70b", "h100-sxm", (1000, 10), decode_n_gpu=1, decode_batch=1, preset="erdil-paper"
        )


def test_cheapest_prefill(dep):
    c = cheapest_prefill(dep, 2000)
    # Cheapest = as close to the 70% FLOP cap as the instance allows; the smallest instance that fits.
    assert c.bound == "compute" and c.mfu > 0.65
    assert c.n_gpu < 3
    assert c.requests_per_s == pytest.approx(c.batch_size / c.time_s)
    tight = cheapest_prefill(dep, 8000, max_ttft_s=0.2)
    assert tight.time_s <= 0.2 and tight.n_gpu > c.n_gpu
    with pytest.raises(SpecError, match="TTFT"):
        cheapest_prefill(dep, 8000, max_ttft_s=1e-4)


def test_prefill_flop_utilization_calibration_term():
    # HardwareSpec.prefill_flop_utilization (when set) replaces the FLOP cap for prefill only.
    from infereco import load_hardware

    hw = load_hardware("h100-sxm").replace(flop_utilization=0.7, prefill_flop_utilization=0.35)
    dep = resolve_deployment("llama-3-8b", hw)
    assert dep.prefill_hw_arrays.flop_per_s == pytest.approx(0.35 * 9.89e14)
    assert dep.hw_arrays.flop_per_s == pytest.approx(0.7 * 9.89e14)
    plain = resolve_deployment("llama-3-8b", hw.replace(prefill_flop_utilization=None))
    assert plain.prefill_hw_arrays is plain.hw_arrays
    slow, fast = ttft_s(dep, 1.0, 4096), ttft_s(plain, 1.0, 4096)
    assert slow / fast == pytest.approx(2.0, rel=0.02)  # compute-bound: half the FLOP rate, twice the time
    assert decode_step_time_s(dep, 1.0, 8.0, 100.0) == decode_step_time_s(plain, 1.0, 8.0, 100.0)
