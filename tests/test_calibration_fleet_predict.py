"""Predicting fleet rows: resolution and statuses, hand-derived single-request cases, limits of the serving
model (capacity-aware, finite), the CSV contract of `infereco predict`, and profile files."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from infereco.calibration.fleet import (
    PREDICTION_COLUMNS,
    FleetModel,
    ProfileTerms,
    find_model,
    generation,
    predict_fleet,
)
from infereco.calibration.profiles import PRIORS, FleetProfiles, Profile, load_profiles, save_profiles
from infereco.calibration.readers.fleet import read_fleet_runs
from infereco.cli.main import main
from infereco.errors import SpecError
from infereco.specs.catalog import load_model
from tests.conftest import SHARED

HF = SHARED / "reference" / "hf_configs"
FLEET_CSV = SHARED / "reference" / "measured" / "fleet" / "serving_runs.csv"
HEADER = (
    "id,backend,model_path,system,precision,mode,isl,osl,gemm_quant_mode,moe_quant_mode,batch_size,tp_size,"
    "pp_size,attention_dp_size,moe_tp_size,moe_ep_size,silicon_ttft_ms,silicon_tpot_ms"
)


def runs_of(*rows):
    return read_fleet_runs(io.StringIO("\n".join((HEADER, *rows)) + "\n"), where="t.csv")


def row(i, model="llama-3.1-8b", system="h100_sxm", precision="", isl=1000, osl=1000, c=1, tp=1, adp="",
        moe_tp="", moe_ep="", gemm="", moe="", ttft=20.0, tpot=6.0):  # fmt: skip
    return (f"r{i},vllm,{model},{system},{precision},agg,{isl},{osl},{gemm},{moe},{c},{tp},1,{adp},{moe_tp},"
            f"{moe_ep},{ttft},{tpot}")  # fmt: skip


def test_single_request_is_the_decode_step_and_a_lone_prefill_by_hand():
    # Llama 3.1 8B, BF16, one H100 SXM (989 TFLOP/s dense BF16, 3.35 TB/s, 4 µs per kernel), one client:
    # lengths drawn from [0.8·L, L] average 0.9·L = 900 tokens in and out.
    # The ideal machine (every fraction 1, no overheads): the hand derivation below.
    pred = predict_fleet(runs_of(row(0)), terms=ProfileTerms())
    assert pred.status == ("ok",)
    m = load_model("llama-3.1-8b")
    L, d, V = m.n_layers, m.d_model, m.vocab_size
    launch = 4 * L * 4e-6  # four kernels per layer
    P, out_len = 900.0, 900.0
    ctx = P + (out_len - 1) / 2
    # Decode: every weight once (the embedding lookup is not a matmul; the unembedding is) + the KV cache.
    weight_bytes = 2.0 * (m.total_params - V * d)
    tpot = launch + (weight_bytes + m.kv_cache_bytes_per_token * ctx) / 3.35e12
    assert pred.tpot_s[0] == pytest.approx(tpot, rel=2e-3)
    # Prefill of 900 tokens alone: compute-bound at 2 FLOP per non-embedding parameter per token plus
    # causal attention 4·d_head·heads·L·(P − 1)/2 per token (the logits of the last position only).
    flop = 2.0 * (m.active_params - 2 * V * d) * P + 4.0 * m.head_dim * m.n_heads * L * (P - 1) / 2 * P
    assert flop / 989e12 > weight_bytes / 3.35e12  # compute-bound, so the roofline is the compute time
    assert pred.ttft_s[0] == pytest.approx(launch + flop / 989e12, rel=5e-3)


def test_more_clients_never_make_a_request_faster():
    pred = predict_fleet(runs_of(*(row(i, c=c, tp=2) for i, c in enumerate((1, 4, 16, 64, 256, 1024)))))
    assert all(s == "ok" for s in pred.status)
    assert np.all(np.diff(pred.tpot_s) >= 0) and np.all(np.diff(pred.ttft_s) >= 0)
    assert np.all(np.isfinite(pred.ttft_s)) and np.all(np.isfinite(pred.tpot_s))


def test_clients_beyond_kv_capacity_wait_for_a_slot():
    # Llama 3.1 70B BF16 on 4 H100: weights take 141 of 288 usable GB, so ~50 8K-token sequences fit. Past
    # that capacity TPOT stops growing (the batch is full) and TTFT grows with the queue (Little's law).
    rows = [
        row(i, model="llama-3.1-70b", c=c, tp=4, isl=4000, osl=4000) for i, c in enumerate((32, 256, 1024))
    ]
    pred = predict_fleet(runs_of(*rows))
    assert pred.status == ("ok",) * 3
    assert pred.tpot_s[2] == pytest.approx(pred.tpot_s[1], rel=1e-6)
    assert pred.ttft_s[2] > 3 * pred.ttft_s[1]


def test_statuses_name_what_is_missing():
    pred = predict_fleet(
        runs_of(
            row(0, model="acme/NoSuchModel-7B"),
            row(1, system="tpu_v9"),
            row(2, model="llama-3.1-70b", tp=1),  # 141 GB of BF16 weights on one 80 GB GPU
            row(3, model="mixtral-8x7b", tp=2, moe_tp=2, moe_ep=2),  # 2 × 2 ≠ 2 GPUs
            row(4, model="mixtral-8x7b", tp=4, adp=2, moe_tp=8, moe_ep=1),
        )
    )
    s = pred.status
    assert s[0].startswith("unsupported: model 'acme/NoSuchModel-7B': not found")
    assert s[1] == "unsupported: system 'tpu_v9' is not in the catalog"
    assert s[2].startswith("infeasible: ") and "KV cache" in s[2]
    assert s[3].startswith("unsupported: moe_tp × moe_ep = 2 × 2 ≠ tp × attention_dp = 2 × 1")
    assert s[4].startswith("unsupported: attention_dp=2 with tp=4: partial attention data parallelism")
    assert np.isnan(pred.ttft_s).all()


@pytest.mark.skipif(not HF.is_dir(), reason="shared configs not present")
def test_models_are_found_by_config_file_catalog_and_base_id():
    spec, how = find_model("Qwen/Qwen3-32B", [HF])
    assert how.startswith("config ") and spec.n_layers == 64
    spec, how = find_model("Qwen/Qwen3-32B")  # the catalog alias
    assert how == "catalog Qwen/Qwen3-32B"
    # A quantized variant without a file of its own is its base model, at the row's precision.
    spec, how = find_model("meta-llama/Llama-3.1-8B-Instruct-FP8", [HF])
    assert "Llama-3.1-8B-Instruct_config.json" in how
    with pytest.raises(SpecError, match="not found"):
        find_model("acme/none")


def test_precision_columns_set_weights_and_gemm_rates():
    ideal = ProfileTerms()  # no fixed overheads: the bytes alone
    base = predict_fleet(runs_of(row(0, c=8)), terms=ideal)
    fp8 = predict_fleet(runs_of(row(0, c=8, precision="fp8", gemm="fp8")), terms=ideal)
    # FP8 weights halve the weight bytes of a memory-bound decode step (and FP8 KV halves the KV bytes).
    assert 0.45 < fp8.tpot_s[0] / base.tpot_s[0] < 0.6
    (status,) = FleetModel(runs_of(row(0, gemm="fp3"))).predict()[2]
    assert status.startswith("unsupported: quantization 'fp3': expected one of fp8")


def test_generations():
    assert [generation(s) for s in ("h100_sxm", "h200_sxm", "b200_sxm", "gb200", "gb300", "mi355x")] == [
        "hopper", "hopper", "blackwell", "blackwell", "blackwell", "cdna4"]  # fmt: skip


def test_predict_cli_writes_every_input_column_plus_the_contract(tmp_path, capsys):
    src = tmp_path / "runs.csv"
    src.write_text("\n".join((HEADER, row(0), row(1, c=16, tp=2), row(2, model="acme/none"))) + "\n")
    out = tmp_path / "pred.csv"
    assert main(["predict", str(src), "--out", str(out), "--uncalibrated"]) == 0
    printed = capsys.readouterr().out
    assert "MAPE" in printed and "vllm" in printed
    with open(out, newline="") as fh:
        recs = list(csv.DictReader(fh))
    assert len(recs) == 3
    assert list(recs[0])[: len(HEADER.split(","))] == HEADER.split(",")
    assert set(PREDICTION_COLUMNS) <= set(recs[0])
    assert [r["status"] for r in recs][:2] == ["ok", "ok"] and recs[2]["status"].startswith("unsupported:")
    lo, mid, hi = (
        float(recs[0][k]) for k in ("predicted_tpot_ms_lo", "predicted_tpot_ms", "predicted_tpot_ms_hi")
    )
    assert lo < mid < hi
    assert recs[2]["predicted_ttft_ms"] == ""


def test_predict_cli_bad_paths_are_one_line_errors(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "none.csv"), "--out", str(tmp_path / "p.csv")]) == 1
    assert "file not found" in capsys.readouterr().err
    src = tmp_path / "runs.csv"
    src.write_text(HEADER + "\n" + row(0) + "\n")
    assert main(["predict", str(src), "--out", str(tmp_path / "p.txt")]) == 1
    assert "expected one of csv" in capsys.readouterr().err
    assert (
        main(["predict", str(src), "--out", str(tmp_path / "p.csv"), "--configs", str(tmp_path / "x")]) == 1
    )
    assert "not a folder" in capsys.readouterr().err


def test_profile_files_round_trip_and_bad_values_are_refused(tmp_path):
    from infereco.calibration.fleet import ProfileTerms

    terms = ProfileTerms(weight_bandwidth_fraction=0.8, step_overhead_s=1e-3)
    interval = {"ttft": (-0.3, 0.4), "tpot": (-0.1, 0.1)}
    p = Profile("vllm", "hopper", terms, {"weight_bandwidth_fraction": 0.05}, 10, interval)
    path = save_profiles(FleetProfiles((p,)), tmp_path / "p.yaml", data="x.csv")
    back = load_profiles(path)
    assert back.profiles[0].terms == p.terms and back.meta["data"] == "x.csv"
    # Lookup falls back to the engine's pooled profile, then the global one; none = uncalibrated.
    assert back.find(("vllm", "hopper")) is back.profiles[0]
    assert back.find(("sglang", "hopper")) is None
    pred = predict_fleet(runs_of(row(0)), profiles=back)
    theory = predict_fleet(runs_of(row(0)), terms=ProfileTerms())
    assert pred.tpot_s[0] > theory.tpot_s[0]  # 80% of the bandwidth and a 1 ms step overhead
    assert pred.tpot_lo_s[0] == pytest.approx(pred.tpot_s[0] * math.exp(-0.1))
    bad = path.read_text().replace("weight_bandwidth_fraction: 0.8", "weight_bandwidth_fraction: 7.0")
    (tmp_path / "bad.yaml").write_text(bad)
    with pytest.raises(SpecError, match="weight_bandwidth_fraction = 7.0: expected 0.4 to 1"):
        load_profiles(tmp_path / "bad.yaml")
    (tmp_path / "other.yaml").write_text("a: 1\n")
    with pytest.raises(SpecError, match="kind: infereco-engine-profiles"):
        load_profiles(tmp_path / "other.yaml")


@pytest.mark.skipif(not FLEET_CSV.is_file(), reason="shared fleet data not present")
def test_every_shared_row_is_predicted_or_says_why():
    pred = predict_fleet(FLEET_CSV, configs=[HF])
    assert all(s == "ok" or s.startswith(("unsupported: ", "infeasible: ")) for s in pred.status)
    ok = pred.ok
    assert ok.mean() > 0.95
    assert np.all(np.isfinite(pred.ttft_s[ok])) and np.all(pred.tpot_s[ok] > 0)


def test_uncalibrated_theory_is_the_nominal_terms_the_priors_centre_on():
    nominal = ProfileTerms.nominal()
    assert {k: PRIORS[k].median for k in PRIORS} == dict(vars(nominal))
    ideal = predict_fleet(runs_of(row(0, c=8)), terms=ProfileTerms())
    unc = predict_fleet(runs_of(row(0, c=8)))
    # 80% of peak bandwidth and 1 ms per step: TPOT above the ideal machine's by more than 1/0.8.
    assert unc.tpot_s[0] > ideal.tpot_s[0] / 0.8 and unc.ttft_s[0] > ideal.ttft_s[0] + 0.01
    with pytest.raises(SpecError, match="not both"):
        predict_fleet(runs_of(row(0)), terms=ProfileTerms(), profiles=FleetProfiles(()))


DISAGG_HEADER = HEADER.replace(
    "batch_size,tp_size,pp_size,attention_dp_size,moe_tp_size,moe_ep_size",
    "prefill_batch_size,prefill_num_workers,prefill_tp_size,prefill_moe_ep_size,decode_batch_size,"
    "decode_num_workers,decode_tp_size,decode_moe_ep_size",
)


def test_disaggregated_row_without_prefill_workers_sizes_the_pool_to_the_decode_demand():
    # DeepSeek-V3 shapes are heavy; use Mixtral on H100: prefill pool tp 2, decode pool tp 2, C clients.
    def disagg(i, c, workers=""):
        return f"d{i},trtllm,mixtral-8x7b,h100_sxm,,disagg,1000,1000,,,1,{workers},2,,,,2,,100,6"

    text = "\n".join((DISAGG_HEADER.replace("id,backend", "id,backend"), disagg(0, 1), disagg(1, 1, "1")))
    text = text.replace(",disagg,1000,1000,,,1,", ",disagg,1000,1000,,,1,")
    runs = read_fleet_runs(io.StringIO(text + "\n"), where="t.csv")
    assert runs[0].prefill.workers is None and runs[1].prefill.workers == 1
    # Concurrency comes from silicon_concurrency for disagg rows; none here: C = 1, one worker suffices.
    pred = predict_fleet(runs)
    assert pred.status == ("ok", "ok")
    assert "assumed 1 prefill worker(s) sized to the decode pool" in pred.assumptions[0]
    assert pred.ttft_s[0] == pytest.approx(pred.ttft_s[1], rel=1e-9)
