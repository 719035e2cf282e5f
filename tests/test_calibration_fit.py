"""Calibration fits (infereco.calibration.fit) and their validation on real runs
(infereco.calibration.validate).

- synthetic runs generated from known parameters (plus log-normal noise) by a hand-written reference closed
  form (not the serving model being fitted) are fitted back within their standard errors, with honest
  intervals;
- the calibrated spec round-trips through YAML and works in `pareto_frontier`;
- the real vLLM CPU runs in tests/data/vllm_cpu_runs/ (when present) are calibrated on part and predicted on
  the rest; the issue's targets (median |error| ≤ 10% TPOT and output throughput, ≤ 25% TTFT, ≥ 80% of
  held-out values inside the 90% interval) are checked per split, and a missed target is reported as XFAIL
  with its number, never hidden.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from infereco.calibration.deploy import resolve_model_arg, serving_model
from infereco.calibration.fit import calibrate
from infereco.calibration.readers import load_public_measurements
from infereco.calibration.result import CalibrationResult, load_calibrated_hardware
from infereco.calibration.validate import (
    cpu_model_and_hardware,
    load_cpu_runs,
    uncalibrated_public,
    validate_cpu_runs,
    validate_gpu_decode,
    validate_public_static,
)
from infereco.errors import SpecError
from infereco.physics.serving import EngineConfig, ServingRuns
from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec

DATA = Path(__file__).parent / "data"
CPU_RUNS = DATA / "vllm_cpu_runs"
CAL_DIR = DATA / "calibration"
GPU_DECODE = DATA / "gpu_decode" / "h200_llama3_8b_bf16.json"
TINY = ModelSpec(name="tiny", d_model=512, d_ff=1408, n_layers=4, n_heads=8, n_kv_heads=2, vocab_size=4096)
BIG = TINY.replace(n_layers=8, d_model=768, d_ff=2048, name="tiny-b")
CPU = HardwareSpec(
    name="cpu",
    flop_per_s={16: 4e11},
    hbm_bandwidth_bytes_per_s=3e10,
    hbm_capacity_bytes=2e10,
    kernel_launch_s=0.0,
    node_size=1,
)
TRUTH = {
    "step_overhead_s": 1.5e-3,
    "flop_utilization": 0.5,
    "prefill_flop_utilization": 0.8,
    "request_overhead_s": 0.05,
}
FITTED = tuple(TRUTH)


# -------------------------------------------------------------------------------------------- reference model
# The synthetic runs come from this hand-written closed form, not from the serving model being fitted, so that
# a bug in the model cannot cancel itself out. It covers what the runs below need: a dense 16-bit SwiGLU model
# with grouped-query attention on one device without kernel launches or collectives, a closed loop whose C
# prompts fit one step's token budget (one prefill cohort), and the paper's roofline (memory and compute
# overlap fully).
PEAK_FLOP, PEAK_BW, BUDGET, BYTES = 4e11, 3e10, 2048, 2.0


def _dims(m: ModelSpec) -> dict[str, float]:
    d, h, kv, dh, layers, vocab = (
        m.d_model,
        m.n_heads,
        m.n_kv_heads,
        m.d_model // m.n_heads,
        m.n_layers,
        m.vocab_size,
    )
    attn = d * h * dh + 2 * d * kv * dh + h * dh * d  # Q, K, V, O
    params = layers * (attn + 3 * d * m.d_ff) + 2 * vocab * d  # + untied embedding and unembedding
    return {
        "d": d,
        "f": m.d_ff,
        "h": h,
        "kv": kv,
        "dh": dh,
        "L": layers,
        "V": vocab,
        "attn": attn,
        "params": params,
        "kv_bytes": 2 * kv * dh * layers * BYTES,
    }


def _ref_step(z, p, batch, seq, ctx, prefill):
    """(memory s, compute s) of one step of `batch` sequences × `seq` new tokens at context `ctx`."""
    d, f, n = z["d"], z["f"], batch * seq
    # Weights once; each matmul reads its input and writes its output activations (SwiGLU: two up matrices).
    ffn = 3 * BYTES * d * f + 2 * BYTES * (d + f) * n + BYTES * (f + d) * n
    attn = (
        BYTES * z["attn"]
        + BYTES * d * n
        + BYTES * (z["h"] + 2 * z["kv"]) * z["dh"] * n
        + BYTES * (d + z["dh"] * z["h"]) * n
    )
    mem = z["kv_bytes"] * ctx * batch + z["L"] * (ffn + attn) + BYTES * z["V"] * d
    matmul = z["params"] - (2 * z["V"] * d if prefill else 0)  # prefill: logits of the last position only
    flop = 2 * matmul * n + 4 * z["dh"] * z["h"] * z["L"] * (ctx + (seq - 1) / 2) * n
    util = p["prefill_flop_utilization"] if prefill else p["flop_utilization"]
    return mem / PEAK_BW, flop / (PEAK_FLOP * util)


def _ref_mixed(z, p, n_prompts, prompt, decoding, ctx):
    """One step prefilling n prompts while `decoding` sequences decode: weights read once, the rest adds
    up."""
    w0, _ = _ref_step(z, p, 0.0, 1, 0, False)
    md, cd = _ref_step(z, p, decoding, 1, ctx, False)
    mp, cp = _ref_step(z, p, n_prompts, prompt, 0, True)
    return p["step_overhead_s"] + max(md + mp - w0, cd + cp)


def reference_closed_loop(m: ModelSpec, p, prompt, out, conc):
    """Mean TPOT, TTFT (s) and output throughput (tokens/s) of `conc` clients sending fixed-length
    requests."""
    assert conc * prompt <= BUDGET, "one prefill cohort only"
    z = _dims(m)
    ctx = prompt + (out - 1) / 2
    md, cd = _ref_step(z, p, conc, 1, ctx, False)
    t_d = p["step_overhead_s"] + max(md, cd)
    if conc == 1:
        ttft, tpot = p["request_overhead_s"] + _ref_mixed(z, p, 1, prompt, 0, ctx), t_d
    else:
        # The C requests reach an idle engine one after another: the first is prefilled alone, the other C − 1
        # in the next step, beside the first one's first decode.
        t_p1, t_pr = _ref_mixed(z, p, 1, prompt, 0, ctx), _ref_mixed(z, p, conc - 1, prompt, 1, ctx)
        ttft = p["request_overhead_s"] + t_p1 + (conc - 1) / conc * t_pr
        tpot = t_d + (t_pr - t_d) / (conc * (out - 1))
    return tpot, ttft, conc * out / (ttft + (out - 1) * tpot)


RUNS = (
    [(128, 64, c) for c in (1, 2, 4, 8, 16)]
    + [(256, 96, c) for c in (1, 2, 4, 8)]
    + [(512, 128, c) for c in (1, 2, 4)]
)
QS = ("tpot_s", "ttft_s", "output_throughput_tokens_per_s")


def _synthetic(noise: float, seed: int, runs=RUNS, model: ModelSpec = TINY, key: str | None = None):
    """Runs measured from the reference model at TRUTH, with log-normal noise."""
    p_in, p_out, c = (list(x) for x in zip(*runs))
    exact = np.array([reference_closed_loop(model, TRUTH, *r) for r in runs])
    rng = np.random.default_rng(seed)
    meas = {q: exact[:, j] * np.exp(rng.normal(0.0, noise, len(runs))) for j, q in enumerate(QS)}
    models = None if key is None else [key] * len(runs)
    return ServingRuns.make(p_in, p_out, concurrency=c, measured=meas, models=models), exact


def test_serving_model_matches_the_reference_closed_form():
    sm = serving_model(TINY, CPU, engine=EngineConfig.vllm_cpu())
    runs, exact = _synthetic(0.0, seed=0)
    pr = sm.predict(runs, TRUTH)
    got = np.column_stack([pr.quantity(q) for q in QS])
    np.testing.assert_allclose(got, exact, rtol=1e-9)


@pytest.fixture(scope="module")
def synthetic_fit():
    runs, _ = _synthetic(0.03, seed=1)
    return calibrate(runs, TINY, CPU, engine=EngineConfig.vllm_cpu(), fit=list(FITTED), bootstrap=30, seed=0)


def test_synthetic_fit_recovers_parameters_within_standard_errors(synthetic_fit):
    r = synthetic_fit
    assert r.success
    assert set(r.fitted) == set(FITTED)
    for k, v in TRUTH.items():
        z = (r.params[k] - v) / r.stderr[k]
        assert abs(z) < 3.0, f"{k}: fitted {r.params[k]:.4g} ± {r.stderr[k]:.2g}, truth {v:.4g} (z = {z:.1f})"
        assert r.stderr[k] / r.params[k] < 0.1  # 3% noise on 36 values pins each to a few per cent
    # The Jacobian standard errors agree with the bootstrap's to within a factor of 3.
    for k in FITTED:
        assert 1 / 3 < r.bootstrap_stderr[k] / r.stderr[k] < 3


def test_standard_errors_are_calibrated_across_noise_draws():
    # Over independent noise draws the truth lies within 2 s.e. of the estimate about as often as it should
    # (95% for a Gaussian; Gauss-Newton errors are local, so a little less with 36 values and 4 parameters).
    hits, total = 0, 0
    for seed in range(8):
        runs, _ = _synthetic(0.05, seed=100 + seed)
        r = calibrate(runs, TINY, CPU, engine=EngineConfig.vllm_cpu(), fit=list(FITTED), loss="linear")
        for k, v in TRUTH.items():
            hits += abs(r.params[k] - v) <= 2 * r.stderr[k]
            total += 1
    assert hits / total >= 0.8


def test_prediction_intervals_cover_new_noisy_runs(synthetic_fit):
    new, _truth = _synthetic(
        0.03, seed=99, runs=[(256, 96, 3), (256, 96, 6), (128, 64, 12), (512, 128, 3), (384, 100, 5)]
    )
    pt = synthetic_fit.predict(new)
    inside = np.concatenate([pt.inside(q) for q in ("tpot_s", "ttft_s", "output_throughput_tokens_per_s")])
    assert inside.mean() >= 0.8
    # intervals contain the prediction and are finite
    for q in pt.pred:
        assert np.all(pt.lo[q] <= pt.pred[q]) and np.all(pt.pred[q] <= pt.hi[q])


def test_auto_selection_drops_what_the_data_cannot_see():
    runs, _ = _synthetic(0.03, seed=2)
    hw = CPU.replace(bandwidth_utilization=0.6)
    r = calibrate(runs, TINY, hw, engine=EngineConfig.vllm_cpu())
    assert (
        "collective_latency_scale" not in r.fitted and "TP > 1" in r.auto_dropped["collective_latency_scale"]
    )
    # one model: a per-layer overhead is indistinguishable from a per-step one
    assert not {"step_overhead_s", "layer_overhead_s"} <= set(r.fitted)
    assert "step_overhead_s" in r.fitted and "request_overhead_s" in r.fitted
    assert r.params["layer_overhead_s"] == 0.0  # fixed at the spec's value


def test_report_json_and_hardware_spec(synthetic_fit, tmp_path):
    r = synthetic_fit
    text = r.report()
    for k in FITTED:
        assert k in text
    assert "median |err| %" in text and "in 90% PI" in text
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert set(d["fitted"]) == set(FITTED)
    hw = r.hardware_spec()
    assert hw.flop_utilization == pytest.approx(r.params["flop_utilization"])
    assert hw.prefill_flop_utilization == pytest.approx(r.params["prefill_flop_utilization"])
    assert "calibrated" in hw.sources["step_overhead_s"]


def test_yaml_round_trip_and_frontier(synthetic_fit, tmp_path):
    from infereco import pareto_frontier

    path = synthetic_fit.save_yaml(tmp_path / "cal.yaml")
    back = load_calibrated_hardware(path)
    want = synthetic_fit.hardware_spec()
    for k in (
        "bandwidth_utilization",
        "flop_utilization",
        "prefill_flop_utilization",
        "step_overhead_s",
        "layer_overhead_s",
        "collective_latency_scale",
        "hbm_bandwidth_bytes_per_s",
        "flop_per_s",
    ):
        assert getattr(back, k) == getattr(want, k)
    import yaml

    raw = yaml.safe_load(path.read_text())
    assert raw["notes"]["calibration"]["fitted"] and "created" in raw["notes"]["calibration"]
    f = pareto_frontier(TINY, back, context_length=500)
    slow = pareto_frontier(TINY, CPU, context_length=500)
    assert f.max_speed().tokens_per_s_per_request < slow.max_speed().tokens_per_s_per_request


def test_predict_other_model_and_keyword_runs(synthetic_fit):
    bigger = TINY.replace(n_layers=8, name="tiny8")
    a = synthetic_fit.predict(input_len=128, output_len=64, concurrency=[1, 8])
    b = synthetic_fit.predict(input_len=128, output_len=64, concurrency=[1, 8], model=bigger)
    assert np.all(b.pred["tpot_s"] > a.pred["tpot_s"])


def test_several_models_share_the_hardware_terms():
    runs_a, _ = _synthetic(0.0, seed=0, runs=[(128, 64, c) for c in (1, 4, 16)], key="a")
    runs_b, _ = _synthetic(0.0, seed=0, runs=[(128, 64, c) for c in (1, 4, 16)], model=BIG, key="b")
    runs = ServingRuns.make(
        128,
        64,
        concurrency=[1, 4, 16] * 2,
        models=["a"] * 3 + ["b"] * 3,
        measured={q: np.concatenate([runs_a.measured[q], runs_b.measured[q]]) for q in QS},
    )
    r = calibrate(runs, {"a": TINY, "b": BIG}, CPU, engine=EngineConfig.vllm_cpu(), fit=list(FITTED))
    for k, v in TRUTH.items():
        assert r.params[k] == pytest.approx(v, rel=1e-3)
    assert "tiny-b" in r.report(runs=False)


def test_bad_inputs():
    runs, _ = _synthetic(0.03, seed=3, runs=[(128, 64, 1)])
    with pytest.raises(SpecError):
        calibrate(runs, TINY, CPU, fit=["not_a_parameter"])
    with pytest.raises(SpecError):
        calibrate(runs, TINY, CPU, weights={"latency": 1.0})
    with pytest.raises(SpecError):
        calibrate(ServingRuns.make(128, 64), TINY, CPU)  # nothing measured
    with pytest.raises(SpecError):
        calibrate(runs, {"other": TINY}, CPU)  # runs have no model key 'other'... they have ""
    with pytest.raises(
        SpecError, match="fixed: calibration parameter memory_compute_overlap = 2.0: expected"
    ):
        calibrate(runs, TINY, CPU, fixed={"memory_compute_overlap": 2.0})
    with pytest.raises(SpecError, match="init: unknown calibration parameter 'overlap'"):
        calibrate(runs, TINY, CPU, init={"overlap": 0.5})


# --------------------------------------------------------------------------------------------- real CPU runs
needs_cpu_runs = pytest.mark.skipif(not any(CPU_RUNS.glob("*.json")), reason="no vLLM CPU result files yet")


@needs_cpu_runs
def test_real_cpu_calibration_all_runs():
    m, hw = cpu_model_and_hardware(CAL_DIR)
    r = calibrate(load_cpu_runs(CPU_RUNS), m, hw, engine=EngineConfig.vllm_cpu())
    assert isinstance(r, CalibrationResult) and r.success
    # The tiny model's step is dominated by a fixed per-step overhead (vllm-cpu.md): it is fitted, positive,
    # between 0.1 and 5 ms, and known to better than ±50%.
    assert "step_overhead_s" in r.fitted
    assert 1e-4 < r.params["step_overhead_s"] < 5e-3
    assert r.stderr["step_overhead_s"] < 0.5 * r.params["step_overhead_s"]
    s = r.fit_summary()
    assert s["output_throughput_tokens_per_s"]["median_abs_pct_error"] < 15


_CPU_CASES: dict[str, object] = {}


def _cpu_case(split):
    if split not in _CPU_CASES:
        _CPU_CASES[split] = validate_cpu_runs(split, runs_dir=CPU_RUNS, calibration_dir=CAL_DIR)
    return _CPU_CASES[split]


@needs_cpu_runs
@pytest.mark.parametrize("split", ["brief", "mix", "concurrency"])
def test_real_cpu_held_out_sanity(split):
    """Guards that hold whatever the noise: the held-out predictions are finite, within a factor 2 in median,
    and the 90% intervals hold at least half of the held-out values."""
    c = _cpu_case(split)
    for q in c.quantities:
        assert np.all(np.isfinite(c.test.pred[q]))
        assert c.summary[q]["median_abs_pct_error"] < 60
    assert c.coverage >= 0.5


@needs_cpu_runs
@pytest.mark.parametrize("split", ["brief", "mix", "concurrency"])
@pytest.mark.parametrize("target", ["tpot_s", "output_throughput_tokens_per_s", "ttft_s", "coverage"])
def test_real_cpu_held_out_targets(split, target):
    """The issue's held-out targets. The issue's example split (`brief`) and `concurrency` must meet them all;
    on `mix` (one length mix → the other, where attention's slow-down with context cannot be learnt) a miss is
    an XFAIL carrying the number and the repeat-to-repeat noise floor, so the report shows it; it is never
    turned into a pass."""
    c = _cpu_case(split)
    value, goal, met = c.targets()[target]
    floor = c.noise_floor.get(target)
    if not met and split == "mix":
        unit = "" if target == "coverage" else "% median |error|"
        pytest.xfail(
            f"{c.name}: {target} = {value:.3g}{unit}, target {goal:g}"
            + (f" (repeat noise floor {floor:.0f}%)" if floor is not None else "")
        )
    assert met


def test_gpu_decode_validation_meets_the_tpot_target():
    g = validate_gpu_decode(GPU_DECODE)
    assert g.targets()["tpot_s"][2]  # the H200 decode steps meet the 10% TPOT target when held out


def _public_table_found() -> bool:
    try:
        load_public_measurements()
    except SpecError:
        return False
    return True


@pytest.mark.skipif(
    not _public_table_found(), reason="shared/reference/measured/public_measurements.csv not found"
)
def test_public_validation_runs():
    c = validate_public_static("model")
    assert c.summary["output_throughput_tokens_per_s"]["n"] == 4
    assert math.isfinite(c.summary["output_throughput_tokens_per_s"]["median_abs_pct_error"])
    u = uncalibrated_public(include_max_throughput=False)
    s = u.stats("static batch")
    assert s["n"] >= 20
    # pure theory is an upper bound on throughput: measured/predicted mostly below 1
    assert s["median_measured_over_predicted"] < 1.0


def test_resolve_model_arg_yaml(tmp_path):
    m = resolve_model_arg(DATA / "calibration" / "tiny-llama.yaml")
    assert m.n_layers == 4 and m.n_kv_heads == 2
    hw = load_calibrated_hardware(DATA / "calibration" / "cpu-2core-sandbox.yaml")
    assert hw.flop_per_s[16] > hw.flop_per_s[32] > 1e10
