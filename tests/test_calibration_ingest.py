"""Ingest of measured serving runs: vLLM result JSON (new and old schema), plain CSV, the public table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from infereco.calibration.readers import (
    CSV_COLUMNS,
    Measurement,
    MeasurementTable,
    Scenario,
    load_measurements_csv,
    load_public_measurements,
    load_vllm_results,
)
from infereco.errors import SpecError

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
BAD = DATA / "vllm_bad"
CPU_RUNS = DATA / "vllm_cpu_runs"
SHARED = REPO.parent / "shared" / "reference" / "measured"
SAMPLES = SHARED / "vllm-result-files"
PUBLIC_CSV = SHARED / "public_measurements.csv"

needs_shared = pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/reference/measured not present")
needs_public = pytest.mark.skipif(
    not PUBLIC_CSV.is_file(), reason="../shared public_measurements.csv not present"
)

NEW_SCHEMA = "extracted_from_doc_vllm-bench-serve_new-format_Qwen3-VL-8B_1qps.json"
OLD_SCALAR = "lambdalabs_prompt_320_1xH100_Meta-Llama-3.1-8B-FP8_SCALAR_FIELDS_ONLY.json"
OLD_FULL = "lambdalabs_vllm-benchmark_prompt_10_1xH100-80GB-SXM_Meta-Llama-3.1-8B-FP8_tp1_len2048.json"


def _good_run(**over) -> dict:
    d = {
        "date": "20260101-000000",
        "backend": "vllm",
        "model_id": "tiny",
        "num_prompts": 4,
        "request_rate": "inf",
        "max_concurrency": 2,
        "duration": 2.0,
        "completed": 4,
        "failed": 0,
        "total_input_tokens": 512,
        "total_output_tokens": 256,
        "request_throughput": 2.0,
        "output_throughput": 128.0,
        "total_token_throughput": 384.0,
        "mean_ttft_ms": 50.0,
        "median_ttft_ms": 48.0,
        "p99_ttft_ms": 70.0,
        "std_ttft_ms": 5.0,
        "mean_tpot_ms": 10.0,
        "median_tpot_ms": 9.5,
        "p99_tpot_ms": 12.0,
        "mean_itl_ms": 10.0,
        "median_itl_ms": 9.0,
        "p99_itl_ms": 15.0,
    }
    d.update(over)
    return d


def _write(tmp_path: Path, name: str, obj) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(obj))
    return p


# ------------------------------------------------------------------------------------------ shared samples
@needs_shared
def test_new_schema_sample():
    t = load_vllm_results(SAMPLES / NEW_SCHEMA, hardware="unknown-gpu")
    assert isinstance(t, MeasurementTable) and len(t) == 1
    m = t[0]
    assert m.model == "Qwen/Qwen3-VL-8B-Instruct" and m.model_id == m.model
    assert m.hardware == "unknown-gpu" and m.tp == 1 and m.pp == 1 and m.n_gpu == 1
    assert m.input_len == pytest.approx(40000 / 200) and m.output_len == pytest.approx(25600 / 200)
    assert m.request_rate == 1.0 and math.isinf(m.max_concurrency) and m.unlimited_concurrency
    assert m.num_prompts == 200 and m.completed == 200 and m.failed == 0
    assert m.duration_s == pytest.approx(203.5104987300001)
    assert m.output_throughput_tokens_per_s == pytest.approx(125.79203608539055)
    assert m.total_token_throughput == pytest.approx(322.3420924688133)
    assert m.mean_ttft_s == pytest.approx(0.0956344293046277)
    assert m.p99_itl_s == pytest.approx(0.0420829780306667)
    assert m.mean_tpot_s == pytest.approx(0.027911832109121164)
    assert m.engine == "openai" and m.date == "20260722-041843"
    assert m.ttfts_s is None and m.itls_s is None


@needs_shared
def test_old_schema_samples_and_per_request_lists():
    t = load_vllm_results([SAMPLES / OLD_SCALAR, SAMPLES / OLD_FULL], hardware="h100-sxm", precision="fp8")
    assert len(t) == 2
    scalar, full = t
    # Old schema: request_rate "inf", no max_concurrency, no total_token_throughput (input + output used).
    assert math.isinf(scalar.request_rate) and math.isinf(scalar.max_concurrency)
    assert scalar.total_token_throughput == pytest.approx(8540.154707061278 + 5723.953457553819)
    assert scalar.mean_e2el_s == pytest.approx(3.1522803795684467)  # from mean_latency_ms
    assert scalar.input_len == pytest.approx(65578 / 320)
    assert scalar.failed is None
    assert full.input_lens == (13, 25, 27, 10, 329, 29, 399, 328, 4, 205)
    assert full.output_lens[0] == 120 and len(full.ttfts_s) == 10
    assert full.ttfts_s[0] == pytest.approx(0.06464132100518327)  # lists are already in seconds
    assert len(full.itls_s) == 10 and len(full.itls_s[0]) == 12 and full.itls_s[1] == ()
    assert full.mean_tpot_s == pytest.approx(6.018531635219421e-3)
    # Per-request arrays are not part of equality, and to_records drops them unless asked.
    rec = t.to_records()[1]
    assert "itls_s" not in rec and rec["mean_tpot_s"] == pytest.approx(6.018531635219421e-3)
    assert "itls_s" in t.to_records(per_request=True)[1]


@needs_shared
def test_directory_of_samples_and_model_override():
    t = load_vllm_results(SAMPLES, model="llama-3.1-8b", hardware="h100-sxm", tp=2)
    assert len(t) == 3
    assert {m.model for m in t} == {"llama-3.1-8b"}
    assert {m.tp for m in t} == {2} and {m.n_gpu for m in t} == {2}
    assert "neuralmagic/Meta-Llama-3.1-8B-FP8" in {m.model_id for m in t}


# ------------------------------------------------------------------------------------------ errors
def test_missing_key_names_file_and_key():
    with pytest.raises(SpecError) as e:
        load_vllm_results(BAD / "missing_key.json")
    assert "missing_key.json" in str(e.value) and "'completed'" in str(e.value)


def test_malformed_json_names_file():
    with pytest.raises(SpecError) as e:
        load_vllm_results(BAD / "bad_json.json")
    assert "bad_json.json" in str(e.value) and "malformed JSON" in str(e.value)


def test_wrong_type_names_file_and_key():
    with pytest.raises(SpecError) as e:
        load_vllm_results(BAD / "wrong_type.json")
    msg = str(e.value)
    assert "wrong_type.json" in msg and "mean_tpot_ms" in msg and "'fast'" in msg


@pytest.mark.parametrize(
    "key,value",
    [
        ("completed", True),
        ("duration", None),
        ("output_throughput", [1, 2]),
        ("num_prompts", 2.5),
        ("max_concurrency", "many"),
    ],
)
def test_other_bad_values(tmp_path, key, value):
    p = _write(tmp_path, "run.json", _good_run(**{key: value}))
    with pytest.raises(SpecError, match=key):
        load_vllm_results(p)


def test_missing_latency_and_model_id(tmp_path):
    d = _good_run()
    del d["p99_itl_ms"]
    with pytest.raises(SpecError, match="p99_itl"):
        load_vllm_results(_write(tmp_path, "a.json", d))
    d = _good_run()
    del d["model_id"]
    with pytest.raises(SpecError, match="model_id"):
        load_vllm_results(_write(tmp_path, "b.json", d))
    assert load_vllm_results(_write(tmp_path, "c.json", d), model="tiny")[0].model == "tiny"


def test_zero_completed_and_missing_file(tmp_path):
    with pytest.raises(SpecError, match="completed"):
        load_vllm_results(_write(tmp_path, "z.json", _good_run(completed=0)))
    with pytest.raises(SpecError, match="nope.json"):
        load_vllm_results(tmp_path / "nope.json")


# Hostile values: a negative or zero time, NaN (Python's json reads a bare NaN), a negative token count. Each
# is a SpecError naming the file and the key as the file spells it, never a record that poisons a fit.
HOSTILE = [
    ("mean_tpot_ms", -3, "expected a positive number"),
    ("mean_ttft_ms", 0, "expected a positive number"),
    ("mean_ttft_ms", float("nan"), "NaN"),
    ("p99_tpot_ms", float("nan"), "NaN"),
    ("total_input_tokens", -100, "expected a positive number"),
    ("output_throughput", -1.0, "expected a positive number"),
    ("std_ttft_ms", -1.0, "≥ 0"),
    ("duration", float("nan"), "NaN"),
]


@pytest.mark.parametrize("key,value,why", HOSTILE)
def test_hostile_values_name_file_and_key(tmp_path, key, value, why):
    p = _write(tmp_path, "hostile.json", _good_run(**{key: value}))
    with pytest.raises(SpecError) as e:
        load_vllm_results(p)
    msg = str(e.value)
    assert "hostile.json" in msg and repr(key) in msg and why in msg
    assert "\n" not in msg


def test_hostile_csv_cells_name_file_line_and_column(tmp_path):
    head = "model,input_len,output_len,max_concurrency,mean_tpot_ms,mean_ttft_ms,total_token_throughput\n"
    for row, col in (
        ("m,128,64,1,-3,50,10", "mean_tpot_ms"),
        ("m,128,64,1,10,0,10", "mean_ttft_ms"),
        ("m,128,64,1,10,nan,10", "mean_ttft_ms"),
        ("m,-100,64,1,10,50,10", "input_len"),
    ):
        p = tmp_path / "hostile.csv"
        p.write_text(head + row + "\n")
        with pytest.raises(SpecError) as e:
            load_measurements_csv(p)
        assert "hostile.csv:2" in str(e.value) and repr(col) in str(e.value)


def test_one_output_token_may_have_zero_tpot(tmp_path):
    # vLLM reports TPOT 0 when every request produced a single token (no inter-token time to measure).
    run = _good_run(total_output_tokens=4, mean_tpot_ms=0.0, median_tpot_ms=0.0, p99_tpot_ms=0.0)
    assert load_vllm_results(_write(tmp_path, "one.json", run))[0].mean_tpot_s == 0.0
    # A median inter-token latency of 0 is bursty streaming, flagged rather than rejected.
    assert load_vllm_results(_write(tmp_path, "b.json", _good_run(median_itl_ms=0.0)))[0].bursty_streaming


def test_skip_mode_collects_errors(tmp_path):
    good = _write(tmp_path, "good.json", _good_run())
    t = load_vllm_results([good, BAD / "missing_key.json", BAD / "bad_json.json"], on_error="skip")
    assert len(t) == 1 and len(t.skipped) == 2
    assert any("missing_key.json" in w for w, _ in t.skipped)


# ------------------------------------------------------------------------------------------ units, extras
def test_seconds_without_ms_suffix_equals_ms(tmp_path):
    ms = _good_run()
    secs = {k: v for k, v in ms.items() if not k.endswith("_ms")}
    for k, v in ms.items():
        if k.endswith("_ms"):
            secs[k[:-3]] = v / 1000.0
    a = load_vllm_results(_write(tmp_path, "ms.json", ms))[0]
    b = load_vllm_results(_write(tmp_path, "s.json", secs))[0]
    for f in ("mean_ttft_s", "median_ttft_s", "p99_ttft_s", "std_ttft_s", "mean_tpot_s", "p99_itl_s"):
        assert getattr(a, f) == pytest.approx(getattr(b, f))
    assert a.mean_ttft_s == pytest.approx(0.05) and a.mean_tpot_s == pytest.approx(0.010)
    # explicit `_s` suffix too
    s2 = {k.replace("_ms", "_s"): (v / 1000 if k.endswith("_ms") else v) for k, v in ms.items()}
    c = load_vllm_results(_write(tmp_path, "s2.json", s2))[0]
    assert c.p99_ttft_s == pytest.approx(0.070)


def test_extra_keys_lists_and_multi_run_files(tmp_path):
    d = _good_run(
        some_future_key={"a": 1},
        input_lens=[128, 128, 128, 128],
        output_lens=[64] * 4,
        ttfts=[0.05] * 4,
        itls=[[0.01] * 63] * 4,
        latencies=[0.7] * 4,
        queue_times=[0.0] * 4,
        errors=["", "", "", ""],
        generated_texts=["x"] * 4,
        request_rate=8,
        max_concurrency=None,
    )
    m = load_vllm_results(_write(tmp_path, "x.json", d))[0]
    assert m.request_rate == 8.0 and math.isinf(m.max_concurrency)
    assert m.latencies_s == (0.7,) * 4 and len(m.itls_s[0]) == 63
    # a list of runs, and JSON Lines
    t = load_vllm_results(_write(tmp_path, "list.json", [_good_run(), _good_run(max_concurrency=4)]))
    assert [r.max_concurrency for r in t] == [2, 4] and t[1].source.endswith("list.json[1]")
    jl = tmp_path / "runs.jsonl"
    jl.write_text(json.dumps(_good_run()) + "\n" + json.dumps(_good_run(max_concurrency=8)) + "\n")
    assert len(load_vllm_results(jl)) == 2


def test_bad_per_request_list(tmp_path):
    with pytest.raises(SpecError, match="ttfts"):
        load_vllm_results(_write(tmp_path, "x.json", _good_run(ttfts="oops")))


# ------------------------------------------------------------------------------------------ table
def _table(tmp_path) -> MeasurementTable:
    paths = []
    for i, c in enumerate([1, 2, 4, 8]):
        paths.append(_write(tmp_path, f"a{i}.json", _good_run(max_concurrency=c)))
        paths.append(
            _write(
                tmp_path,
                f"b{i}.json",
                _good_run(max_concurrency=c, total_input_tokens=2048 + i, total_output_tokens=512),
            )
        )
    return load_vllm_results(paths, model="tiny-llama", hardware="cpu")


def test_table_filter_scenarios_records(tmp_path):
    t = _table(tmp_path)
    assert len(t) == 8 and len(t.filter(max_concurrency=lambda c: c <= 2)) == 4
    assert len(t.filter(max_concurrency={1, 8})) == 4
    assert len(t.filter(model="other")) == 0
    with pytest.raises(SpecError, match="did you mean 'max_concurrency'"):
        t.filter(max_concurency=1)
    sc = t.scenarios()
    assert len(sc) == 2
    keys = sorted(sc, key=lambda s: s.input_len)
    assert keys[0] == Scenario(
        model="tiny-llama", hardware="cpu", tp=1, pp=1, input_len=128.0, output_len=64.0
    )
    assert keys[1].input_len == 512.0 and keys[1].output_len == 128.0  # 2048..2051 / 4 joined
    assert [m.max_concurrency for m in sc[keys[1]]] == [1, 2, 4, 8]
    recs = t.to_records()
    assert len(recs) == 8 and recs[0]["model"] == "tiny-llama" and "source" in recs[0]
    assert t.column("max_concurrency").tolist() == [1, 1, 2, 2, 4, 4, 8, 8]
    assert (t[:2] + t[2:]) == t and t.sorted("max_concurrency")[0].max_concurrency == 1
    assert t[0].scenario().input_len == 128.0


# ------------------------------------------------------------------------------------------ CSV
def test_example_csv():
    t = load_measurements_csv(DATA / "measurements_example.csv")
    assert len(t) == 4
    first = t[0]
    assert first.model == "tiny-llama-512x4" and first.max_concurrency == 1 and math.isinf(first.request_rate)
    assert first.mean_tpot_s == pytest.approx(0.0079) and first.num_prompts is None and first.n_gpu == 1
    last = t[3]
    assert math.isinf(last.max_concurrency) and last.request_rate == 2.5 and last.tp == 2 and last.n_gpu == 2
    assert last.completed == 400 and last.p99_itl_s == pytest.approx(0.03)
    assert len(t.scenarios()) == 2


def test_csv_ms_columns_defaults_and_errors(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text(
        "model,input_len,output_len,max_concurrency,mean_tpot_ms,mean_ttft_ms\nm,128,64,4,25,1200\n\n"
    )
    t = load_measurements_csv(p, hardware="cpu")
    assert t[0].mean_tpot_s == pytest.approx(0.025) and t[0].mean_ttft_s == pytest.approx(1.2)
    assert t[0].hardware == "cpu" and t[0].source.endswith("m.csv:2")
    p.write_text("model,input_len,output_len,mean_tpot\nm,1,1,2\n")
    with pytest.raises(SpecError, match="unknown column 'mean_tpot'.*mean_tpot_s"):
        load_measurements_csv(p)
    p.write_text("model,input_len\nm,1\n")
    with pytest.raises(SpecError, match="output_len"):
        load_measurements_csv(p)
    p.write_text("model,input_len,output_len,tp\nm,1,1,two\n")
    with pytest.raises(SpecError, match=r"m\.csv:2.*'tp'"):
        load_measurements_csv(p)
    assert "mean_tpot_s" in CSV_COLUMNS and "output_throughput_tokens_per_s" in CSV_COLUMNS


# ------------------------------------------------------------------------------------------ public CSV
@needs_public
def test_public_measurements():
    pub = load_public_measurements(PUBLIC_CSV)
    assert len(pub) + pub.n_skipped == 573  # README: 573 rows
    assert len(pub) > 300 and pub.n_skipped > 0
    # TensorRT-LLM v0.17 max-throughput table, Llama 3.1 8B FP8 on H200, 128/128 (first data row of it).
    row = pub.filter(
        model="Llama-3.1-8B",
        gpu="H200-SXM-141GB",
        isl=128.0,
        osl=128.0,
        tp=1,
        precision="FP8",
        metric="output_throughput",
    ).rows
    assert row and row[0].value == pytest.approx(29526.04) and math.isinf(row[0].concurrency)
    # per-GPU figures become whole-system figures
    per_gpu = pub.filter(metric="output_throughput_per_gpu", n_gpu=2).rows
    assert per_gpu and all(r.value_si == pytest.approx(2 * r.value) for r in per_gpu)
    # ms → s
    itl = pub.filter(metric="median_itl").rows
    assert all(r.value_si == pytest.approx(r.value / 1000) for r in itl)
    # variable-length (ShareGPT) rows are counted out, not guessed
    assert any("ShareGPT" in why for _, why in pub.skipped)
    table = pub.to_table()
    assert isinstance(table, MeasurementTable) and len(table) > 100
    assert all(
        m.output_throughput_tokens_per_s is None or m.output_throughput_tokens_per_s > 0 for m in table
    )
    sc = table.scenarios()
    assert any(s.model == "Llama-3.1-8B" and s.hardware == "H200-SXM-141GB" for s in sc)


def test_public_measurements_parsing(tmp_path):
    p = tmp_path / "pub.csv"
    p.write_text(
        "source,engine,model,precision,gpu,n_gpu,tp,pp,isl,osl,concurrency,metric,value,unit\n"
        "s,e,m,FP8,H100,1,1,1,128,128,batch=64,output_throughput_per_gpu,1000,tok/s/GPU\n"
        "s,e,m,FP8,H100,1,1,1,128,128,batch=64,median_tpot,20,ms\n"
        "s,e,m,FP8,H100,1,1,1,ShareGPT (var),128,max (infinite rate),output_throughput,5,tok/s\n"
        "s,e,m,FP8,H100,1,,1,128,128,batch=1,output_throughput,5,tok/s\n"
        "s,e,m,FP8,H100,1,1,1,128,128,low batch,output_throughput,5,tok/s\n"
        "s,e,m,FP8,H100,1,1,1,128,128,Offline,output_throughput,abc,tok/s\n"
    )
    pub = load_public_measurements(p)
    assert len(pub) == 2 and pub.n_skipped == 4
    assert [ln for ln, _ in pub.skipped] == [4, 5, 6, 7]
    t = pub.to_table()
    assert len(t) == 1
    m = t[0]
    assert m.max_concurrency == 64 and m.output_throughput_tokens_per_s == 1000 and m.median_tpot_s == 0.02
    with pytest.raises(SpecError, match="no such CSV"):
        load_public_measurements(tmp_path / "missing.csv")


# ------------------------------------------------------------------------------------------ real CPU runs
CPU_FILES = sorted(CPU_RUNS.glob("*.json")) if CPU_RUNS.is_dir() else []


@pytest.mark.skipif(not CPU_FILES, reason="no committed vLLM CPU runs")
def test_ingest_every_committed_cpu_run():
    """Every file scripts/measure_vllm_cpu.py produced (see tests/data/vllm_cpu_runs/README.md) ingests."""
    t = load_vllm_results(CPU_FILES, model="tiny-llama-512x4", hardware="cpu-2core", precision="bf16")
    assert len(t) == len(CPU_FILES) and not t.skipped
    for m in t:
        # file names are in{I}_out{O}_c{C}[_r{K}].json
        name = Path(m.source).stem.split("_")
        isl, osl, conc = int(name[0][2:]), int(name[1][3:]), int(name[2][1:])
        assert m.max_concurrency == conc and math.isinf(m.request_rate)
        assert m.input_len == pytest.approx(isl, rel=0.05)
        assert m.output_len == pytest.approx(osl, abs=0.01)  # --ignore-eos: exact output lengths
        assert m.completed == m.num_prompts and m.failed == 0
        assert m.output_throughput_tokens_per_s > 0 and 0 < m.mean_tpot_s < 10 and 0 < m.mean_ttft_s < 600
        assert m.latencies_s is not None and len(m.latencies_s) == m.completed
        assert m.model_id.endswith("tiny-llama")
    sc = t.scenarios()
    assert len(sc) == 2
    for s, runs in sc.items():
        assert (s.input_len, s.output_len) in {(128.0, 64.0), (512.0, 128.0)}
        assert sorted({m.max_concurrency for m in runs}) == [1, 2, 4, 8, 16, 32]
        assert [m.max_concurrency for m in runs] == sorted(m.max_concurrency for m in runs)


def test_bursty_streaming_is_recognised_from_itl_and_tpot():
    # Tokens read in a burst: median ITL ~0 while the mean TPOT is not.
    burst = Measurement("x", "m", 128, 64, mean_tpot_s=2e-4, median_itl_s=0.0)
    assert burst.bursty_streaming and "median ITL 0 ms" in burst.bursty_streaming
    # A client that keeps up: median ITL near the decode step, even with prefills stalling some steps.
    assert Measurement("x", "m", 512, 128, mean_tpot_s=17.5e-3, median_itl_s=11.3e-3).bursty_streaming is None
    # Cannot be checked without both numbers, or with one or two output tokens.
    assert Measurement("x", "m", 128, 64, mean_tpot_s=2e-3).bursty_streaming is None
    assert Measurement("x", "m", 128, 2, mean_tpot_s=2e-3, median_itl_s=0.0).bursty_streaming is None


@pytest.mark.skipif(not CPU_FILES, reason="no committed vLLM CPU runs")
def test_committed_runs_flag_only_the_bursty_ones():
    from infereco.calibration.readers import serving_runs

    t = load_vllm_results(CPU_FILES)
    flagged = sorted(Path(m.source).name for m in t if m.bursty_streaming)
    # The README beside the files lists these two with median ITL 0.00 ms and mean TPOT 0.2 / 0.4 ms.
    assert flagged == ["in128_out64_c1_r2.json", "in128_out64_c1_r3.json"]
    runs = serving_runs(t)
    bad = np.array([bool(m.bursty_streaming) for m in t])
    assert np.isnan(runs.measured["tpot_s"][bad]).all() and np.isnan(runs.measured["ttft_s"][bad]).all()
    assert np.isfinite(runs.measured["output_throughput_tokens_per_s"]).all()  # throughput stays
    assert np.isfinite(runs.measured["tpot_s"][~bad]).all()
    assert [why for _, why in runs.excluded] == [m.bursty_streaming for m in t if m.bursty_streaming]
    kept = serving_runs(t, drop_bursty=False)
    assert np.isfinite(kept.measured["tpot_s"]).all() and not kept.excluded
