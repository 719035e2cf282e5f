"""The serving model (infereco.physics.serving): closed forms checked against the step physics and the
queueing identities they are built on."""

from __future__ import annotations

import math

import numpy as np
import pytest

from infereco.calibration.deploy import predict_serving, serving_model
from infereco.errors import SpecError
from infereco.physics.latency import explicit_step_time
from infereco.physics.serving import EngineConfig, MultiServingModel, ServingRuns
from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec

TINY = ModelSpec(name="tiny", d_model=512, d_ff=1408, n_layers=4, n_heads=8, n_kv_heads=2, vocab_size=4096)
CPU = HardwareSpec(
    name="cpu",
    flop_per_s={16: 4e11},
    hbm_bandwidth_bytes_per_s=3e10,
    hbm_capacity_bytes=2e10,
    kernel_launch_s=0.0,
    node_size=1,
    step_overhead_s=1e-3,
)
PARAMS = {"flop_utilization": 0.4, "prefill_flop_utilization": 0.5, "request_overhead_s": 0.02}


@pytest.fixture(scope="module")
def sm():
    return serving_model(TINY, CPU, engine=EngineConfig.vllm_cpu())


def _step(sm, hw_arrays, batch, seq, ctx, prefill=False):
    m = sm.prefill_arrays if prefill else sm.arrays
    one = np.ones(1)
    return float(
        explicit_step_time(
            m,
            hw_arrays,
            sm.conventions,
            one,
            one,
            one,
            0 * one,
            np.array([batch], float),
            np.array([seq], float),
            np.array([ctx], float),
            one,
            one,
            False,
            xp=np,
        ).latency_s[0]
    )


def test_concurrency_one_is_one_prefill_then_decode_steps(sm):
    runs = ServingRuns.make(128, 64, concurrency=1)
    p = sm.predict(runs, PARAMS)
    hw_d, hw_p = sm._hw_arrays(sm.params(PARAMS))
    t_d = _step(sm, hw_d, 1, 1, 128 + 63 / 2)
    t_p = _step(sm, hw_p, 1, 128, 0, prefill=True)
    assert p.tpot_s[0] == pytest.approx(t_d, rel=1e-12)
    assert p.ttft_s[0] == pytest.approx(0.02 + t_p, rel=1e-12)  # idle engine: no wait
    assert p.e2e_latency_s[0] == pytest.approx(p.ttft_s[0] + 63 * p.tpot_s[0])
    assert p.request_throughput_per_s[0] == pytest.approx(1 / p.e2e_latency_s[0])  # Little's law, C = 1
    assert p.output_throughput_tokens_per_s[0] == pytest.approx(64 * p.request_throughput_per_s[0])


def test_closed_loop_littles_law_and_monotone_in_concurrency(sm):
    c = np.array([1, 2, 4, 8, 16, 32, 64], float)
    p = sm.predict(ServingRuns.make(512, 128, concurrency=c), PARAMS)
    assert np.allclose(p.request_throughput_per_s * p.e2e_latency_s, c)
    assert np.all(np.diff(p.tpot_s) > 0)
    assert np.all(np.diff(p.output_throughput_tokens_per_s) > 0)
    assert np.all(np.diff(p.ttft_s) >= -1e-12)
    # cohorts: ceil(C·P / budget), at least 1, at most C
    assert p.cohorts.tolist() == [1, 1, 1, 2, 4, 8, 16]


def test_cohorts_add_other_prefills_to_tpot(sm):
    # With g cohorts, a request's O − 1 decode steps include the g − 1 other cohorts' prefill steps.
    p = sm.predict(ServingRuns.make(512, 128, concurrency=16), PARAMS)
    g = p.cohorts[0]
    expected = p.decode_step_s[0] + (g - 1) / 127 * (p.prefill_step_s[0] - p.decode_step_s[0])
    assert p.tpot_s[0] == pytest.approx(expected)
    assert p.wait_s[0] > 0  # the engine is busy with other cohorts when a request arrives


def test_static_batch_is_prefill_of_the_batch_then_decode(sm):
    runs = ServingRuns.make(2048, 128, concurrency=64, static=True)
    p = sm.predict(runs, PARAMS)
    hw_d, hw_p = sm._hw_arrays(sm.params(PARAMS))
    assert p.ttft_s[0] == pytest.approx(_step(sm, hw_p, 64, 2048, 0, prefill=True))  # no r0, no budget
    assert p.tpot_s[0] == pytest.approx(_step(sm, hw_d, 64, 1, 2048 + 127 / 2))
    assert p.output_throughput_tokens_per_s[0] == pytest.approx(64 * 128 / (p.ttft_s[0] + 127 * p.tpot_s[0]))


def test_step_overhead_adds_to_every_step(sm):
    runs = ServingRuns.make(128, 64, concurrency=1)
    a = sm.predict(runs, {**PARAMS, "step_overhead_s": 1e-3})
    b = sm.predict(runs, {**PARAMS, "step_overhead_s": 3e-3})
    assert b.tpot_s[0] - a.tpot_s[0] == pytest.approx(2e-3, rel=1e-9)
    assert b.ttft_s[0] - a.ttft_s[0] == pytest.approx(2e-3, rel=1e-9)


def test_first_token_delay_moves_time_and_keeps_e2e(sm):
    runs = ServingRuns.make(128, 64, concurrency=[1, 8])
    a = sm.predict(runs, PARAMS)
    b = sm.predict(runs, {**PARAMS, "first_token_delay_s": 0.05})
    assert np.allclose(b.e2e_latency_s, a.e2e_latency_s)
    assert np.allclose(b.ttft_s - a.ttft_s, 0.05)
    assert np.allclose(b.output_throughput_tokens_per_s, a.output_throughput_tokens_per_s)


def test_open_loop_throughput_is_the_offered_load_and_tpot_grows(sm):
    lam = np.array([0.5, 2.0, 8.0, 16.0])
    p = sm.predict(ServingRuns.make(128, 64, request_rate=lam), PARAMS)
    assert np.allclose(p.output_throughput_tokens_per_s, lam * 64)
    assert np.all(np.diff(p.tpot_s) > 0)
    assert np.all(np.diff(p.ttft_s) > 0)
    # The mean step solves t = t_mix(b = λ(O − 1)t, k = λt): Little's law holds for the decode batch.
    assert np.allclose(p.decode_batch, lam * 63 * p.tpot_s, rtol=1e-6)
    # At a vanishing rate the request waits half a step, then one step with its prefill.
    lo = sm.predict(ServingRuns.make(128, 64, request_rate=1e-6), PARAMS)
    one = sm.predict(ServingRuns.make(128, 64, concurrency=1), PARAMS)
    assert lo.ttft_s[0] == pytest.approx(one.ttft_s[0] + lo.tpot_s[0] / 2, rel=1e-3)


def test_open_loop_beyond_capacity_is_infinite(sm):
    p = sm.predict(ServingRuns.make(128, 64, request_rate=1e6), PARAMS)
    assert math.isinf(p.tpot_s[0]) and math.isinf(p.ttft_s[0])
    assert math.isnan(p.output_throughput_tokens_per_s[0])


def test_unlimited_concurrency_is_capped_by_seqs_and_prompts(sm):
    p = sm.predict(ServingRuns.make(128, 64, concurrency=math.inf, num_prompts=[16, 10_000]), PARAMS)
    assert p.decode_batch.tolist() == [16, 128]  # vLLM CPU max_num_seqs = 128


def test_multi_model_dispatch_matches_single(sm):
    other = TINY.replace(n_layers=8, name="tiny8")
    sm8 = serving_model(other, CPU, engine=EngineConfig.vllm_cpu())
    multi = MultiServingModel({"a": sm, "b": sm8})
    runs = ServingRuns.make(128, 64, concurrency=[1, 4, 1, 4], models=["a", "a", "b", "b"])
    p = multi.predict(runs, PARAMS)
    pa = sm.predict(runs.subset([0, 1]), PARAMS)
    pb = sm8.predict(runs.subset([2, 3]), PARAMS)
    assert np.allclose(p.tpot_s, np.concatenate([pa.tpot_s, pb.tpot_s]))


def test_predict_serving_with_catalog_ids_and_calibrated_spec():
    p = predict_serving("llama-3-8b", "h100-sxm", input_len=1000, output_len=200, concurrency=[1, 16, 256])
    assert np.all(np.diff(p.output_throughput_tokens_per_s) > 0)
    slow = predict_serving(
        "llama-3-8b",
        {"base": "h100-sxm", "step_overhead_s": 0.01},
        input_len=1000,
        output_len=200,
        concurrency=1,
    )
    assert slow.tpot_s[0] == pytest.approx(p.tpot_s[0] + 0.01, rel=1e-9)


def test_tensor_parallel_runs_use_the_explicit_layout():
    p = predict_serving(
        "llama-3-70b", "h100-sxm", input_len=1000, output_len=200, concurrency=8, tp=[2, 4, 8]
    )
    assert np.all(np.diff(p.tpot_s) < 0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_len": 0, "output_len": 10},
        {"input_len": 10, "output_len": float("nan")},
        {"input_len": 10, "output_len": 10, "concurrency": 0},
        {"input_len": 10, "output_len": 10, "tp": 1.5},
        {"input_len": 10, "output_len": 10, "static": True},
    ],
)
def test_bad_runs_are_rejected(kwargs):
    with pytest.raises(SpecError):
        ServingRuns.make(**kwargs)


def test_engine_config_validation():
    with pytest.raises(SpecError):
        EngineConfig(max_num_batched_tokens=0)
    with pytest.raises(SpecError):
        EngineConfig(request_overhead_s=-1)
    assert EngineConfig.vllm_cpu().max_num_batched_tokens == 2048


def test_idle_engine_prefills_the_first_arrival_alone(sm):
    # g = 1 (2 × 128 tokens fit the 2048-token budget): the first request is prefilled alone, the second in
    # the next step together with the first one's first decode, so mean TTFT = r0 + t_p(1) + ½·t_mixed.
    p2 = sm.predict(ServingRuns.make(128, 64, concurrency=2), PARAMS)
    p1 = sm.predict(ServingRuns.make(128, 64, concurrency=1), PARAMS)
    assert p2.cohorts[0] == 1
    hw_d, hw_p = sm._hw_arrays(sm.params(PARAMS))
    t_p1 = _step(sm, hw_p, 1, 128, 0, prefill=True)
    t_mixed = 2 * (p2.ttft_s[0] - 0.02 - t_p1)
    # The mixed step carries one prompt and one decode: at least the prompt's step, at most it plus a decode
    # step.
    assert t_p1 <= t_mixed <= t_p1 + _step(sm, hw_d, 1, 1, 128 + 63 / 2) * (1 + 1e-12)
    assert p1.ttft_s[0] < p2.ttft_s[0] < 0.02 + 2 * t_p1
    # The first request's first decode step is that mixed step: TPOT rises by (t_mixed − t_d)/(2·63).
    assert p2.tpot_s[0] == pytest.approx(
        p2.decode_step_s[0] + (t_mixed - p2.decode_step_s[0]) / (2 * 63), rel=1e-9
    )


def test_overlap_and_attention_terms_reach_the_serving_model(sm):
    runs = ServingRuns.make(512, 128, concurrency=[1, 32])
    base = sm.predict(runs, PARAMS)
    summed = sm.predict(runs, {**PARAMS, "memory_compute_overlap": 0.0})
    slow_kv = sm.predict(runs, {**PARAMS, "attention_bandwidth_utilization": 0.1})
    assert np.all(summed.decode_step_s > base.decode_step_s)  # memory + compute > max(memory, compute)
    assert np.all(slow_kv.decode_step_s > base.decode_step_s)
    # Slower KV reads matter more at 32 sequences than at 1.
    assert (slow_kv.decode_step_s[1] - base.decode_step_s[1]) > 10 * (
        slow_kv.decode_step_s[0] - base.decode_step_s[0]
    )
    assert sm.hardware_spec({"attention_bandwidth_utilization": 0.1}).attention_bandwidth_utilization == 0.1
    assert sm.hardware_spec().attention_bandwidth_utilization is None  # unset stays unset (tied to bandwidth)


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("memory_compute_overlap", 1.5, "a fraction in \\[0, 1\\]"),
        ("attention_bandwidth_utilization", 0.0, "a fraction in \\(0, 1\\]"),
        ("flop_utilization", float("nan"), "a fraction in \\(0, 1\\]"),
        ("step_overhead_s", -1e-3, "seconds in \\[0, 10\\]"),
        ("collective_latency_scale", float("inf"), "a multiplier in \\(0, 1000\\]"),
    ],
)
def test_bad_calibration_values_are_rejected_naming_them(sm, name, value, expected):
    with pytest.raises(SpecError, match=f"{name} = .*expected {expected}"):
        sm.predict(ServingRuns.make(128, 64, concurrency=1), {name: value})
    # nan is the one allowed "value" of the attention fraction: unset, tied to bandwidth_utilization.
    sm.predict(ServingRuns.make(128, 64, concurrency=1), {"attention_bandwidth_utilization": float("nan")})


def test_serving_physics_imports_no_higher_layer():
    """infereco/physics/serving.py sits in physics: it imports errors, specs and physics only, all at module
    level."""
    import ast
    from pathlib import Path

    import infereco.physics.serving as mod

    tree = ast.parse(Path(mod.__file__).read_text(encoding="utf-8"))
    names = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    ours = [n for n in names if n.startswith("infereco")]
    assert ours and all(n.split(".")[1] in ("errors", "specs", "physics") for n in ours), ours
    top = {n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module}
    assert set(ours) <= top, "function-local infereco imports"
