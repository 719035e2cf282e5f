"""`infereco calibrate`: fitted parameters with errors on stdout, the calibrated spec written to --out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from infereco.calibration.deploy import resolve_model_arg, serving_model
from infereco.calibration.fit import calibrate
from infereco.calibration.result import load_calibrated_hardware
from infereco.cli.main import main
from infereco.errors import SpecError
from infereco.physics.serving import EngineConfig, ServingRuns
from infereco.specs.hardware import HardwareSpec

DATA = Path(__file__).parent / "data"
CAL = DATA / "calibration"
CPU_RUNS = DATA / "vllm_cpu_runs"


@pytest.fixture(scope="module")
def synthetic_csv(tmp_path_factory):
    """Runs of the tiny model on the sandbox CPU spec, generated from known terms (+3% noise), as a plain
    CSV."""
    m = resolve_model_arg(CAL / "tiny-llama.yaml")
    hw = load_calibrated_hardware(CAL / "cpu-2core-sandbox.yaml")
    sm = serving_model(m, hw, engine=EngineConfig.vllm_cpu())
    conc = [1, 2, 4, 8, 16, 32] * 2
    p_in = [128] * 6 + [512] * 6
    p_out = [64] * 6 + [128] * 6
    truth = {
        "step_overhead_s": 1.2e-3,
        "flop_utilization": 0.3,
        "prefill_flop_utilization": 0.45,
        "request_overhead_s": 0.06,
    }
    pr = sm.predict(ServingRuns.make(p_in, p_out, concurrency=conc), truth)
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("runs") / "runs.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "model",
                "input_len",
                "output_len",
                "max_concurrency",
                "mean_tpot_ms",
                "mean_ttft_ms",
                "output_throughput_tokens_per_s",
            ]
        )
        for i in range(len(conc)):
            n = np.exp(rng.normal(0, 0.03, 3))
            w.writerow(
                [
                    "tiny-llama",
                    p_in[i],
                    p_out[i],
                    conc[i],
                    pr.tpot_s[i] * 1e3 * n[0],
                    pr.ttft_s[i] * 1e3 * n[1],
                    pr.output_throughput_tokens_per_s[i] * n[2],
                ]
            )
    return path, truth


def _args(csv_path, *extra):
    return [
        "calibrate",
        str(csv_path),
        "--model",
        str(CAL / "tiny-llama.yaml"),
        "--hardware",
        str(CAL / "cpu-2core-sandbox.yaml"),
        "--engine",
        "vllm-cpu",
        *extra,
    ]


def test_prints_parameters_with_errors_and_writes_spec(synthetic_csv, tmp_path, capsys):
    path, truth = synthetic_csv
    out = tmp_path / "calibrated.yaml"
    assert main(_args(path, "--out", str(out))) == 0
    text = capsys.readouterr().out
    for k in truth:
        assert k in text
    assert "s.e." in text and "fitted" in text and "median |err| %" in text
    assert f"written to {out}" in text
    hw = load_calibrated_hardware(out)
    assert isinstance(hw, HardwareSpec)
    assert hw.step_overhead_s == pytest.approx(truth["step_overhead_s"], rel=0.15)
    assert hw.prefill_flop_utilization == pytest.approx(truth["prefill_flop_utilization"], rel=0.15)


def test_json_output(synthetic_csv, capsys):
    path, truth = synthetic_csv
    assert main(_args(path, "--json", "--fit", ",".join(truth))) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d["fitted"]) == set(truth)
    for k, v in truth.items():
        assert d["params"][k] == pytest.approx(v, rel=0.15)
        assert d["stderr"][k] > 0
    assert d["fit"]["tpot_s"]["n"] == 12 and d["fit"]["output_throughput_tokens_per_s"]["n"] == 12


def test_calibrated_spec_feeds_back_as_hardware(synthetic_csv, tmp_path, capsys):
    path, _ = synthetic_csv
    out = tmp_path / "c.yaml"
    assert main(_args(path, "--out", str(out), "--no-runs")) == 0
    capsys.readouterr()
    # the written spec is accepted as --hardware (a second calibration starts from it)
    args = [
        "calibrate",
        str(path),
        "--model",
        str(CAL / "tiny-llama.yaml"),
        "--hardware",
        str(out),
        "--engine",
        "vllm-cpu",
        "--json",
    ]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["success"]


def test_plot_option(synthetic_csv, tmp_path, capsys):
    path, _ = synthetic_csv
    png = tmp_path / "fit.png"
    assert main(_args(path, "--plot", str(png), "--no-runs")) == 0
    assert png.stat().st_size > 1000


def test_errors_are_reported(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(_args(bad)) == 1
    err = capsys.readouterr().err
    assert "infereco calibrate: error" in err and "bad.json" in err
    assert main(_args(tmp_path / "missing.json")) == 1
    assert "missing.json" in capsys.readouterr().err


def test_out_in_a_missing_folder_is_an_error_and_creates_nothing(synthetic_csv, tmp_path, capsys):
    path, _ = synthetic_csv
    target = tmp_path / "nonexistent" / "deeper" / "x.yaml"
    assert main(_args(path, "--out", str(target))) == 1
    err = capsys.readouterr().err
    assert "infereco calibrate: error" in err and "does not exist" in err and str(target.parent) in err
    assert "Traceback" not in err and not (tmp_path / "nonexistent").exists()
    assert main(_args(path, "--out", "/nonexistent/x.yaml")) == 1
    assert "/nonexistent" in capsys.readouterr().err and not Path("/nonexistent").exists()
    assert main(_args(path, "--out", str(tmp_path))) == 1  # a folder, not a file
    assert "is a folder" in capsys.readouterr().err


def test_save_yaml_creates_no_folders(tmp_path):
    m = resolve_model_arg(CAL / "tiny-llama.yaml")
    hw = load_calibrated_hardware(CAL / "cpu-2core-sandbox.yaml")
    runs = ServingRuns.make(
        [128] * 4, [64] * 4, concurrency=[1, 2, 4, 8], measured={"tpot_s": [2e-3, 2.2e-3, 2.5e-3, 3e-3]}
    )
    res = calibrate(runs, m, hw, engine=EngineConfig.vllm_cpu(), quantities=("tpot_s",))
    with pytest.raises(SpecError, match="does not exist"):
        res.save_yaml(tmp_path / "a" / "b.yaml")
    assert not (tmp_path / "a").exists()
    assert res.save_yaml(tmp_path / "b.yaml").is_file()


def test_unknown_fit_parameter(synthetic_csv, capsys):
    path, _ = synthetic_csv
    assert main(_args(path, "--fit", "warp_speed")) == 1
    assert "warp_speed" in capsys.readouterr().err


def test_error_without_model_names_both_flags(synthetic_csv, capsys):
    # --model is optional only for fleet-schema CSVs (which name model and system per row).
    path, _ = synthetic_csv
    assert main(["calibrate", str(path), "--hardware", "h100-sxm"]) == 1
    err = capsys.readouterr().err
    assert "--model and --hardware are required" in err and "fleet-schema CSV" in err


@pytest.mark.skipif(not any(CPU_RUNS.glob("*.json")), reason="no vLLM CPU result files yet")
def test_real_cpu_runs(tmp_path, capsys):
    out = tmp_path / "cpu.yaml"
    args = [
        "calibrate",
        str(CPU_RUNS),
        "--model",
        str(CAL / "tiny-llama.yaml"),
        "--hardware",
        str(CAL / "cpu-2core-sandbox.yaml"),
        "--engine",
        "vllm-cpu",
        "--out",
        str(out),
        "--no-runs",
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    n = len(list(CPU_RUNS.glob("*.json")))
    assert "step_overhead_s" in text and f"{n} runs" in text
    assert load_calibrated_hardware(out).step_overhead_s > 0
