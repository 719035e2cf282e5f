"""The discrete-event simulation of one replica (`infereco.serving.simulate`): hand-derived limits, Little's
law, capacity and saturation, determinism, speed, and its engine model (`infereco.serving.engine_model`)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from infereco.errors import SpecError
from infereco.serving.engine_model import EngineModel, TokenLengths, engine_from_deployment
from infereco.serving.simulate import simulate, simulate_loads

BASE = dict(decode_base_s=0.02, decode_per_seq_s=1e-4, prefill_base_s=0.01, prefill_tokens_per_s=20000)


def engine(**changes):
    return EngineModel.linear(**{**BASE, "max_seqs": 64, **changes})


# ---- the engine model --------------------------------------------------------------------------------------
def test_linear_engine_step_times():
    e = engine()
    assert e.decode_step_s_at(0) == pytest.approx(0.02)
    assert e.decode_step_s_at(64) == pytest.approx(0.02 + 64e-4)
    assert e.prefill_s(1000) == pytest.approx(0.01 + 1000 / 20000)
    np.testing.assert_allclose(e.decode_table()[:3], [0.02, 0.0201, 0.0202])


def test_table_engine_interpolates_and_extrapolates():
    e = EngineModel.from_table(
        [1, 8, 64], [0.010, 0.011, 0.020], prefill_base_s=0.0, prefill_tokens_per_s=1e4, max_seqs=128
    )
    assert e.decode_step_s_at(8) == pytest.approx(0.011)
    assert e.decode_step_s_at(36) == pytest.approx(0.0155)
    assert e.decode_step_s_at(128) == pytest.approx(0.020 + 64 * 0.009 / 56)  # the last segment, extended


def test_capacity_prefill_first_and_chunked():
    e = engine(decode_per_seq_s=0.0, max_seqs=10)
    # 1 / (t_pre + E[D]·t_dec(C)/C): 0.06 s prefill + 99 steps of 0.02 s shared by 10 sequences
    assert e.capacity_requests_per_s(1000, 100) == pytest.approx(1.0 / (0.06 + 99 * 0.02 / 10))
    c = engine(max_seqs=256, chunk_tokens=512)
    # the budget shared in the ratio of the lengths: b = 512·99/1099 decodes, the rest prompt tokens
    b = 512 * 99 / 1099
    want = b / (99 * (0.02 + 1e-4 * b + (512 - b) / 20000))
    assert c.capacity_requests_per_s(1000, 100) == pytest.approx(want)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"max_seqs": 0}, "max_seqs"),
        ({"max_seqs": 2.5}, "max_seqs"),
        ({"chunk_tokens": 32}, "chunk_tokens"),
        ({"decode_base_s": -1.0}, "decode_base_s"),
        ({"prefill_tokens_per_s": math.inf}, "prefill_tokens_per_s"),
    ],
)
def test_bad_engine_is_a_one_line_spec_error(kwargs, word):
    with pytest.raises(SpecError) as err:
        engine(**kwargs)
    assert word in str(err.value) and "\n" not in str(err.value)


def test_token_lengths():
    assert TokenLengths.coerce(300, "output_tokens").mean == 300.0
    u = TokenLengths.coerce({"uniform": [10, 20]}, "input_tokens")
    assert u.mean == 15.0 and u.tokens.size == 11
    s = TokenLengths.coerce(np.array([5, 5, 10]), "input_tokens")
    np.testing.assert_allclose(s.probs, [2 / 3, 1 / 3])
    for bad in (0, -3, 2.5, {"uniform": [5]}, {"normal": [1, 2]}, "many", [], [1, math.nan]):
        with pytest.raises(SpecError, match="input_tokens"):
            TokenLengths.coerce(bad, "input_tokens")


def test_engine_from_deployment_calls_the_physics():
    from infereco.physics.requests import decode_step_time_s, prefill_times_s, resolve_deployment

    dep = resolve_deployment("llama-3-8b", "h100-sxm")
    e = engine_from_deployment(dep, input_tokens=2000, output_tokens=300, max_seqs=128, chunk_tokens=2048)
    assert e.max_seqs == 128 and e.chunk_tokens == 2048
    ctx = 2000 + 299 / 2
    for b in (1, 16, 128):  # the table's points are the physics' decode steps
        assert e.decode_step_s_at(b) == pytest.approx(decode_step_time_s(dep, 1.0, b, ctx), rel=1e-9)
    lengths = np.array([1000.0, 2000.0, 4000.0])
    physics = prefill_times_s(dep, 1.0, 1.0, lengths).ravel()
    np.testing.assert_allclose(e.prefill_s(lengths), physics, rtol=0.05)  # the line through them
    # default slots: the KV cache of 2300-token sequences beside the weights (at most 1024)
    assert 1 <= engine_from_deployment(dep, input_tokens=2000, output_tokens=300).max_seqs <= 1024


# ---- the simulation: limits --------------------------------------------------------------------------------
def test_idle_engine_ttft_is_the_prefill_and_tpot_the_single_step():
    e = engine()
    r = simulate(e, requests_per_s=1e-3, input_tokens=1000, output_tokens=50, n_requests=200, seed=0)
    # at 1e-3 requests/s, requests almost never overlap
    assert np.median(r.ttft_s) == pytest.approx(e.prefill_s(1000), rel=1e-9)
    assert np.median(r.tpot_s) == pytest.approx(e.decode_step_s_at(1), rel=1e-9)
    assert np.median(r.e2e_s) == pytest.approx(e.prefill_s(1000) + 49 * e.decode_step_s_at(1), rel=1e-9)


def test_idle_chunked_prompt_spans_ceil_p_over_budget_steps():
    e = engine(chunk_tokens=512)
    r = simulate(e, requests_per_s=1e-3, input_tokens=1000, output_tokens=2, n_requests=100, seed=0)
    # 1000 tokens: steps of 512 and 488 prompt tokens with nothing decoding (t_dec(0) each)
    assert np.median(r.ttft_s) == pytest.approx(2 * e.decode_step_s_at(0) + 1000 / 20000, rel=1e-9)


def test_single_output_token_ends_at_the_first_token():
    r = simulate(engine(), requests_per_s=5.0, input_tokens=500, output_tokens=1, n_requests=2000, seed=1)
    np.testing.assert_array_equal(r.e2e_s, r.ttft_s)
    assert np.all(r.tpot_s == 0.0) and np.all(r.quantiles["tpot_s"] == 0.0)


@pytest.mark.parametrize("chunk", [None, 512])
def test_littles_law_and_throughput(chunk):
    e = engine(max_seqs=256, chunk_tokens=chunk)
    lam = 0.6 * e.capacity_requests_per_s(1000, 100)
    r = simulate(e, requests_per_s=lam, input_tokens=1000, output_tokens=100, n_requests=20000, seed=2)
    span = float(np.max(r.arrival_s + r.e2e_s))
    # L = λW over the run: the time-average number in the system against arrivals × mean sojourn
    assert r.mean_in_system == pytest.approx(r.e2e_s.sum() / span, rel=1e-6)
    assert r.mean_in_system == pytest.approx(lam * r.e2e_s.mean(), rel=0.03)
    # decode batch: λ·E[decode time]
    assert r.mean_decode_batch == pytest.approx(lam * (r.e2e_s - r.ttft_s).mean(), rel=0.05)
    assert 0.0 < r.busy_fraction <= 1.0 and not r.saturated


@pytest.mark.parametrize("chunk", [None, 512])
def test_overload_is_flagged_and_runs_at_capacity(chunk):
    e = engine(chunk_tokens=chunk)
    cap = e.capacity_requests_per_s(1000, 100)
    r = simulate(e, requests_per_s=2.0 * cap, input_tokens=1000, output_tokens=100, n_requests=6000, seed=3)
    assert r.saturated and r.utilisation == pytest.approx(2.0)
    done = np.sort(r.arrival_s + r.e2e_s)
    rate = (len(done) // 2) / (done[-1] - done[len(done) // 2])  # completions per second, second half
    assert rate == pytest.approx(cap, rel=0.03)
    assert r.mean_decode_batch <= e.max_seqs


def test_kv_slots_cap_the_batch():
    e = engine(max_seqs=4)
    r = simulate(e, requests_per_s=20.0, input_tokens=200, output_tokens=50, n_requests=3000, seed=4)
    assert r.mean_decode_batch <= 4.0
    assert r.percentile("tpot_s", 50) >= e.decode_step_s_at(1)


def test_deterministic_for_a_seed_and_percentiles_ordered():
    kw = dict(requests_per_s=6.0, input_tokens={"uniform": [500, 1500]}, output_tokens=[20, 100, 300])
    a = simulate(engine(), n_requests=5000, seed=11, **kw)
    b = simulate(engine(), n_requests=5000, seed=11, **kw)
    c = simulate(engine(), n_requests=5000, seed=12, **kw)
    np.testing.assert_array_equal(a.e2e_s, b.e2e_s)
    assert not np.array_equal(a.e2e_s, c.e2e_s)
    assert set(np.unique(a.output_tokens)) == {20.0, 100.0, 300.0}
    for q in a.quantiles.values():
        assert q[0] <= q[1] <= q[2]
    assert set(a.summary()) >= {"ttft_s_p50", "tpot_s_p90", "e2e_s_p99", "utilisation"}


def test_simulate_loads_arrays():
    s = simulate_loads(engine(), [1.0, 4.0, 7.0], input_tokens=1000, output_tokens=50, n_requests=3000)
    assert s["ttft_s"].shape == (3, 3) and s["utilisation"].shape == (3,)
    assert np.all(np.diff(s["ttft_s"][:, 1]) > 0)


def test_twenty_thousand_requests_in_under_two_seconds():
    e = engine(max_seqs=256, chunk_tokens=512)
    lam = 0.8 * e.capacity_requests_per_s(1000, 200)
    t0 = time.perf_counter()
    simulate(e, requests_per_s=lam, input_tokens=1000, output_tokens=200, n_requests=20000, seed=0)
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"requests_per_s": 0.0}, "requests_per_s"),
        ({"requests_per_s": math.nan}, "requests_per_s"),
        ({"n_requests": 0}, "n_requests"),
        ({"warmup": 1.0}, "warmup"),
        ({"output_tokens": 0}, "output_tokens"),
        ({"input_tokens": {"uniform": [9, 3]}}, "input_tokens"),
    ],
)
def test_bad_arguments_are_one_line_spec_errors(kwargs, word):
    with pytest.raises(SpecError) as err:
        simulate(engine(), **{"requests_per_s": 1.0, "n_requests": 10, **kwargs})
    assert word in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(SpecError, match="EngineModel"):
        simulate("vllm", requests_per_s=1.0)
