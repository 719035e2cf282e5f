"""The fleet serving-run schema: good rows read as the README says, malformed rows name row and column."""

from __future__ import annotations

import collections
import io

import pytest

from infereco.calibration.readers import is_fleet_csv, load_fleet_runs
from infereco.calibration.readers.fleet import read_fleet_runs
from infereco.errors import SpecError
from tests.conftest import SHARED

FLEET_CSV = SHARED / "reference" / "measured" / "fleet" / "serving_runs.csv"
HEADER = (
    "id,silicon_data_source,backend,backend_version,model_path,system,precision,mode,isl,osl,"
    "gemm_quant_mode,moe_quant_mode,batch_size,tp_size,pp_size,attention_dp_size,moe_tp_size,moe_ep_size,"
    "prefill_batch_size,prefill_num_workers,prefill_tp_size,prefill_pp_size,prefill_attention_dp_size,"
    "prefill_moe_tp_size,prefill_moe_ep_size,decode_batch_size,decode_num_workers,decode_tp_size,"
    "decode_pp_size,decode_attention_dp_size,decode_moe_tp_size,decode_moe_ep_size,silicon_ttft_ms,"
    "silicon_tpot_ms"
)
AGG = (
    "a1,db-dump/2026-04-27; config_id=1; silicon_concurrency=32,trtllm,1.2.0,deepseek-ai/DeepSeek-R1,"
    "b200_sxm,fp4,agg,1024,1024,nvfp4,nvfp4,16,8,1,8,1,8,,,,,,,,,,,,,,,1500.5,20.25"
)
DISAGG = (
    "d1,db-dump; silicon_concurrency=2048,sglang,0.5.8,deepseek-ai/DeepSeek-V3,gb200,fp4,disagg,1024,1024,"
    "nvfp4,nvfp4,,,,,,,1,4,1,1,4,1,4,64,1,1,1,32,1,32,1226.7,16.98"
)


def read(*rows, header=HEADER, **kw):
    return read_fleet_runs(io.StringIO("\n".join((header, *rows)) + "\n"), where="t.csv", **kw)


def with_column(row: str, column: str, value: str) -> str:
    """`row` (a CSV line of HEADER) with one column replaced."""
    names = HEADER.split(",")
    cells = row.split(",")
    cells[names.index(column)] = value
    return ",".join(cells)


def test_aggregated_row_reads_its_layout_lengths_and_latencies():
    (r,) = read(AGG)
    assert (r.mode, r.backend, r.system, r.model_path) == (
        "agg",
        "trtllm",
        "b200_sxm",
        "deepseek-ai/DeepSeek-R1",
    )
    assert len(r.workers) == 1 and r.prefill is r.decode
    p = r.prefill
    assert (p.tp, p.pp, p.attention_dp, p.moe_tp, p.moe_ep, p.batch) == (8, 1, 8, 1, 8, 16)
    # silicon_concurrency in the source wins over batch_size (the README's note).
    assert r.concurrency == 32
    assert r.ttft_s == pytest.approx(1.5005) and r.tpot_s == pytest.approx(0.02025)
    assert r.input_range == (pytest.approx(819.2), 1024.0)
    assert r.columns["id"] == "a1" and r.columns["silicon_ttft_ms"] == "1500.5"


def test_disaggregated_row_has_two_pools():
    (r,) = read(DISAGG)
    assert r.mode == "disagg" and len(r.workers) == 2
    pre, dec = r.prefill, r.decode
    assert (pre.batch, pre.workers, pre.tp, pre.attention_dp, pre.moe_ep) == (1, 4, 1, 4, 4)
    assert (dec.batch, dec.workers, dec.tp, dec.attention_dp, dec.moe_tp, dec.moe_ep) == (64, 1, 1, 32, 1, 32)
    assert r.concurrency == 2048


def test_zero_and_blank_layout_sizes_are_unspecified():
    row = with_column(with_column(AGG, "moe_ep_size", "0"), "attention_dp_size", "")
    (r,) = read(row)
    assert r.prefill.moe_ep is None and r.prefill.attention_dp is None
    # Without silicon_concurrency the agg batch is the concurrency.
    (r,) = read(with_column(AGG, "silicon_data_source", "db-dump"))
    assert r.concurrency == 16


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("tp_size", "four", "column 'tp_size' = 'four': expected a whole number"),
        ("tp_size", "2.5", "column 'tp_size' = '2.5': expected a whole number"),
        ("tp_size", "-2", "column 'tp_size' = '-2': expected a whole number from 1"),
        ("mode", "aggregated", "column 'mode' = 'aggregated': expected 'agg' or 'disagg'"),
        ("mode", "dissagg", "did you mean 'disagg'?"),
        ("isl", "", "column 'isl' is blank"),
        ("osl", "0", "column 'osl' = '0': expected a whole number from 1"),
        ("silicon_ttft_ms", "-3", "column 'silicon_ttft_ms' = '-3': expected milliseconds"),
        ("silicon_tpot_ms", "nan", "column 'silicon_tpot_ms' = 'nan': expected milliseconds"),
        ("silicon_tpot_ms", "fast", "column 'silicon_tpot_ms' = 'fast': expected milliseconds"),
        ("model_path", "", "column 'model_path' is blank"),
    ],
)
def test_malformed_row_names_row_id_and_column(column, value, expected):
    bad = with_column(AGG.replace("a1,", "b7,", 1), column, value)
    with pytest.raises(SpecError) as e:
        read(AGG, bad)
    msg = str(e.value)
    assert msg.startswith("t.csv row 2 (id b7): ")
    assert expected in msg


def test_skip_mode_keeps_good_rows_and_says_why_for_the_rest():
    bad = with_column(AGG.replace("a1,", "b7,", 1), "tp_size", "x")
    runs = read(AGG, bad, DISAGG, on_error="skip")
    assert [r.id for r in runs] == ["a1", "d1"]
    assert runs.skipped == (("t.csv row 2 (id b7)", "column 'tp_size' = 'x': expected a whole number"),)


def test_file_level_errors():
    with pytest.raises(SpecError, match=r"missing column\(s\) 'system' \(is 'systems' it\?\)"):
        read(AGG, header=HEADER.replace(",system,", ",systems,"))
    with pytest.raises(SpecError, match="empty file"):
        read_fleet_runs(io.StringIO(""), where="t.csv")
    with pytest.raises(SpecError, match="repeats an earlier row"):
        read(AGG, AGG)
    with pytest.raises(SpecError, match="fields, the header has"):
        read(AGG + ",extra")
    with pytest.raises(SpecError, match="no such file"):
        load_fleet_runs("/nonexistent/runs.csv")
    with pytest.raises(SpecError, match="on_error="):
        read(AGG, on_error="ignore")


def test_header_detection():
    assert is_fleet_csv(HEADER.split(","))
    assert not is_fleet_csv(["model", "input_len", "output_len", "mean_ttft_s"])


@pytest.mark.skipif(not FLEET_CSV.is_file(), reason="shared fleet data not present")
def test_the_shared_fleet_file_reads_whole_and_matches_its_readme():
    runs = load_fleet_runs(FLEET_CSV)
    assert len(runs) == 2439 and runs.skipped == ()
    # Counts the README beside the file states.
    modes = collections.Counter(r.mode for r in runs)
    assert modes == {"agg": 1658, "disagg": 781}
    systems = collections.Counter(r.system for r in runs)
    assert systems == {"b200_sxm": 927, "h100_sxm": 609, "h200_sxm": 517, "gb200": 386}
    models = collections.Counter(r.model_path for r in runs)
    assert models["deepseek-ai/DeepSeek-R1"] == 941 and models["openai/gpt-oss-120b"] == 340
    # "637 disaggregated rows give each pool's layout but not the worker counts or batches".
    unsized = [r for r in runs if r.mode == "disagg" and r.decode.batch is None and r.prefill.workers is None]
    assert len(unsized) == 637
    assert all(r.ttft_s > 0 and r.tpot_s > 0 for r in runs)


def test_squared_attention_dp_encoding_reads_as_the_layout_it_stands_for():
    # One dump writes DP-attention runs as attention_dp = moe_tp × moe_ep (64 = 8 × 8 on an 8-GPU node) with a
    # batch 8× too small; the same run appears elsewhere as tp 1, attention_dp 8, moe_ep 8, batch 32.
    row = AGG.replace(",16,8,1,8,1,8,", ",4,1,1,64,8,8,").replace(
        "silicon_concurrency=32", "silicon_concurrency=256"
    )
    (r,) = read(row)
    p = r.prefill
    assert (p.tp, p.attention_dp, p.moe_tp, p.moe_ep, p.batch) == (1, 8, 1, 8, 32)
    assert p.batch * p.attention_dp == r.concurrency
    assert r.notes and "read as attention_dp 8" in r.notes[0]
    # A layout that is not of that form is left as written.
    (q,) = read(AGG.replace(",16,8,1,8,1,8,", ",32,1,1,8,1,8,"))
    assert (q.prefill.attention_dp, q.prefill.moe_ep, q.prefill.batch) == (8, 8, 32) and not q.notes
