"""Prefill physics (infereco.physics.prefill): FLOP, chunking, roofline bounds, memory fit, hand-derived
times."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

from infereco.physics.arithmetic import step_flop
from infereco.physics.latency import step_time
from infereco.physics.prefill import (
    prefill_bound,
    prefill_chunks,
    prefill_flop,
    prefill_time,
    without_embedding_flop,
)
from infereco.physics.requests import resolve_deployment


@pytest.fixture(scope="module")
def dep70():
    return resolve_deployment("llama-3-70b", "h100-sxm", preset="erdil-paper")


@pytest.fixture(scope="module")
def dep8():
    return resolve_deployment("llama-3-8b", "h100-sxm", preset="erdil-paper")


def _pf(dep, n, b, p, k=None, c=0.0, **kw):
    return prefill_time(
        dep.arrays, dep.hw_arrays, dep.conventions, n, b, p, k, c, dep.model.parallel_attention, xp=np, **kw
    )


def test_chunks_cover_the_prompt():
    seq, ctx = prefill_chunks(10, 4, 100)
    np.testing.assert_array_equal(seq, [4, 4, 2])
    np.testing.assert_array_equal(ctx, [100, 104, 108])
    seq, ctx = prefill_chunks(4096, 512)
    assert seq.sum() == 4096 and seq.size == 8 and ctx[-1] == 3584
    # No chunk size, or one at least the prompt: a single step.
    for k in (None, 4096, 10_000):
        seq, ctx = prefill_chunks(4096, k)
        assert seq.tolist() == [4096.0] and ctx.tolist() == [0.0]
    with pytest.raises(ValueError, match="prompt_tokens"):
        prefill_chunks(0)
    with pytest.raises(ValueError, match="chunk_tokens"):
        prefill_chunks(100, 0.5)


def test_prefill_flop_is_causal_half_square(dep70):
    m = dep70.arrays
    # Hand: Llama 3 70B, P = 1000: 2·N_active·P + 4·d_head·h·L·P(P − 1)/2 (each token attends to its
    # predecessors).
    p = 1000.0
    hand = 2 * m.active_params * p + 4 * 128 * 64 * 80 * p * (p - 1) / 2
    assert float(prefill_flop(m, 1.0, p)) == pytest.approx(hand, rel=1e-12)
    # step_flop with seq_len = P is the same count (mean context (P − 1)/2).
    assert float(step_flop(m, 1.0, p, 0.0)) == pytest.approx(hand, rel=1e-12)
    # Attention is about half the full square (causal mask) — at 100K tokens the 1/P correction is negligible.
    big = 1e5
    attn = float(prefill_flop(m, 1.0, big)) - 2 * m.active_params * big
    assert attn / (4 * 128 * 64 * 80 * big**2) == pytest.approx(0.5, rel=1e-4)


@pytest.mark.parametrize("chunk", [1, 7, 512, 4096])
def test_chunks_add_up_to_the_unchunked_flop(dep70, chunk):
    m = dep70.arrays
    seq, ctx = prefill_chunks(4096, chunk, 300)
    total = sum(float(step_flop(m, 3.0, s, c)) for s, c in zip(seq, ctx))
    assert total == pytest.approx(float(prefill_flop(m, 3.0, 4096.0, 300.0)), rel=1e-12)
    pf = _pf(dep70, 8.0, 3.0, 4096, chunk, 300.0)
    assert float(pf.flop) == pytest.approx(total, rel=1e-12)
    assert pf.n_chunks == len(seq)


def test_single_gpu_prefill_time_by_hand(dep8):
    # Llama 3 8B on one H100 (erdil-paper: 0.7·1e15 FLOP/s, 0.75·3.3e12 B/s): no collectives, so
    # time = 4·L·t_launch + max(bytes / B, FLOP / C). A 4096-token prompt is compute-bound:
    # FLOP ≈ 7.0e13 → 100 ms of arithmetic against ≈ 14 ms of HBM traffic (16 GB of weights + activations).
    m, hw = dep8.arrays, dep8.hw_arrays
    p = 4096.0
    flop = 2 * m.active_params * p + 4 * 128 * 32 * 32 * p * (p - 1) / 2
    launch = 4 * 32 * 4e-6
    expected = launch + flop / (0.7 * 1e15)
    pf = _pf(dep8, 1.0, 1.0, p)
    assert float(pf.time_s) == pytest.approx(expected, rel=1e-12)
    assert float(pf.compute_s) == pytest.approx(flop / 0.7e15, rel=1e-12)
    assert float(pf.memory_s) < 0.2 * float(pf.compute_s)
    assert str(prefill_bound(pf)) == "compute"
    # MFU (of peak 1e15): close to the 70% FLOP cap, reduced only by the launch latency.
    assert float(pf.mfu) == pytest.approx(flop / (1e15 * expected), rel=1e-12)
    assert 0.65 < float(pf.mfu) <= 0.7
    assert float(pf.gpu_s_per_token) == pytest.approx(expected / p, rel=1e-12)
    assert hw.flop_per_s == pytest.approx(0.7e15)


def test_long_prompts_are_compute_bound_short_ones_are_not(dep70):
    # ≥ 50% utilization for long prompts on a small instance (Erdil §4.3's prefill assumption).
    long = _pf(dep70, 4.0, 1.0, 8000)
    assert str(prefill_bound(long)) == "compute" and float(long.mfu) > 0.5
    # A handful of tokens is a decode-like step: weight reads dominate.
    short = _pf(dep70, 4.0, 1.0, 8)
    assert str(prefill_bound(short)) in ("memory", "latency") and float(short.mfu) < 0.05


def test_chunking_rereads_weights(dep70):
    whole = _pf(dep70, 4.0, 1.0, 8192)
    chunked = _pf(dep70, 4.0, 1.0, 8192, 512)
    tiny = _pf(dep70, 4.0, 1.0, 8192, 8)
    assert float(chunked.flop) == pytest.approx(float(whole.flop), rel=1e-12)
    assert float(whole.time_s) < float(chunked.time_s) < float(tiny.time_s)
    # 1024 chunks of 8 tokens: each step reads all weights at least once (141 GB over 4 GPUs at
    # 0.75·3.3 TB/s).
    floor = 1024 * dep70.model.weight_memory_bytes / (4 * 0.75 * 3.3e12)
    assert float(tiny.time_s) > floor
    # A chunk the size of the prompt is the unchunked prefill.
    same = _pf(dep70, 4.0, 1.0, 8192, 8192)
    assert float(same.time_s) == float(whole.time_s)


def test_time_equals_sum_of_chunk_step_times(dep70):
    seq, ctx = prefill_chunks(3000, 1024, 0)
    expected = sum(
        float(step_time(dep70.arrays, dep70.hw_arrays, dep70.conventions, 16.0, 2.0, s, c, xp=np).latency_s)
        for s, c in zip(seq, ctx)
    )
    assert float(_pf(dep70, 16.0, 2.0, 3000, 1024).time_s) == pytest.approx(expected, rel=1e-12)


def test_prompt_kv_must_fit(dep70):
    # Two H100s hold the 141 GB of weights and nothing else of note; a 100K-token prompt adds 32.8 GB of KV.
    assert math.isfinite(
        float(
            step_time(dep70.arrays, dep70.hw_arrays, dep70.conventions, 2.0, 1.0, 1e5, 0.0, xp=np).latency_s
        )
    )
    assert math.isinf(float(_pf(dep70, 2.0, 1.0, 100_000).time_s))
    assert math.isinf(float(_pf(dep70, 2.0, 1.0, 100_000).gpu_s_per_token))
    assert math.isfinite(float(_pf(dep70, 3.0, 1.0, 100_000).time_s))


def test_embedding_flop_option(dep8):
    m = dep8.arrays
    lean = without_embedding_flop(m)
    assert m.active_params - lean.active_params == pytest.approx(2 * 128256 * 4096)
    a = _pf(dep8, 1.0, 1.0, 4096)
    b = _pf(dep8, 1.0, 1.0, 4096, count_embedding_flop=False)
    assert float(a.flop) - float(b.flop) == pytest.approx(2 * 2 * 128256 * 4096 * 4096, rel=1e-12)
    assert float(b.time_s) < float(a.time_s)


def test_jax_and_numpy_agree_and_broadcast(dep70):
    n = np.array([4.0, 8.0, 16.0])
    b = np.array([[1.0], [4.0]])
    a = _pf(dep70, n, b, 2000, 512, 100.0)
    j = prefill_time(
        dep70.arrays,
        dep70.hw_arrays,
        dep70.conventions,
        jnp.asarray(n),
        jnp.asarray(b),
        2000,
        512,
        100.0,
        xp=jnp,
    )
    assert np.shape(a.time_s) == (2, 3)
    np.testing.assert_allclose(np.asarray(j.time_s), a.time_s, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(j.mfu), a.mfu, rtol=1e-12)
