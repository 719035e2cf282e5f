"""`infereco.predict_runs` / `infereco.calibrate` on fleet-schema tables from Python (the CLI's contract)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

import infereco
from infereco.errors import SpecError

SHARED = Path(__file__).resolve().parents[2] / "shared"
FLEET = SHARED / "reference" / "measured" / "fleet" / "serving_runs.csv"

ROW = {
    "id": "a",
    "model_path": "meta-llama/Llama-3.1-8B-Instruct",
    "system": "h100_sxm",
    "backend": "vllm",
    "mode": "agg",
    "precision": "bf16",
    "tp_size": 1,
    "batch_size": 4,
    "isl": 1024,
    "osl": 1024,
    "silicon_ttft_ms": 40.0,
    "silicon_tpot_ms": 7.0,
}


def test_records_and_csv_give_the_same_prediction(tmp_path):
    rows = [ROW, {**ROW, "id": "b", "batch_size": 64}]
    path = tmp_path / "runs.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(ROW))
        w.writeheader()
        w.writerows(rows)
    a = infereco.predict_runs(rows, uncalibrated=True).records()
    b = infereco.predict_runs(path, uncalibrated=True).records()
    assert a == b and [r["status"] for r in a] == ["ok", "ok"]
    # More concurrency, a bigger decode batch: a slower token.
    assert float(a[1]["predicted_tpot_ms"]) > float(a[0]["predicted_tpot_ms"])


def test_bad_tables_are_one_line():
    with pytest.raises(SpecError, match="missing column"):
        infereco.predict_runs([{"id": "x", "system": "h100_sxm"}], uncalibrated=True)
    with pytest.raises(SpecError, match="expected a fleet-schema CSV path"):
        infereco.predict_runs(42, uncalibrated=True)
    with pytest.raises(SpecError, match="give both model and hardware"):
        infereco.calibrate([ROW], "llama-3-8b")


@pytest.mark.skipif(not FLEET.is_file(), reason="shared/ fleet runs absent")
def test_calibrate_on_a_table_gives_profiles_that_predict_it():
    with open(FLEET, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["backend"] == "vllm" and r["system"] == "h100_sxm"][:40]
    profiles = infereco.calibrate(rows)
    pred = infereco.predict_runs(rows, profiles=profiles).records()
    ok = [r for r in pred if r["status"] == "ok"]
    assert len(ok) >= 0.9 * len(rows)
    assert all(math.isfinite(float(r["predicted_tpot_ms"])) for r in ok)


def test_shipped_profiles_record_their_command_and_stay_inside_their_bounds():
    from infereco.calibration.profiles import PRIORS, default_profiles_path, load_profiles

    assert default_profiles_path().is_file()
    profiles = load_profiles()
    meta = __import__("yaml").safe_load(default_profiles_path().read_text())["meta"]
    assert meta["command"].startswith("infereco calibrate ") and meta["data"].endswith("serving_runs.csv")
    backends = {p.backend for p in profiles.profiles}
    assert {"vllm", "sglang", "trtllm"} <= backends
    for p in profiles.profiles:
        for name, value in vars(p.terms).items():
            if name in PRIORS:
                prior = PRIORS[name]
                assert prior.lower * (1 - 1e-9) <= value <= prior.upper * (1 + 1e-9), (p.backend, name, value)
