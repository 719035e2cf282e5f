"""The `infereco` command: frontier (scenario contract), point, compare, sweep, catalog; exit codes and
errors."""

from __future__ import annotations

import json

import pytest

from infereco.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_default_frontier_prints_a_table_and_writes_a_plot(tmp_path, capsys):
    png = tmp_path / "f.png"
    code, out, _ = run(capsys, "frontier", "--plot", str(png))
    assert code == 0
    assert "Llama 3 70B" in out and "$/M tok" in out and "preferred:" in out
    assert png.stat().st_size > 10_000


def test_scenario_json_contract(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(
        "preset: erdil-2024\nsearch: erdil-grid\nmodel: {base: llama-3-70b, weight_bits: 8}\n"
        "hardware: h100-sxm\nworkload: {context_length: 1000, max_throughput_tokens_per_s: 1.0e6}\n"
    )
    code, out, _ = run(capsys, "frontier", str(path), "--json", "--alpha", "4", "--no-plot")
    assert code == 0
    data = json.loads(out)
    assert {"points", "max_speed", "preferred"} <= set(data)
    for key in ("tokens_per_s_per_request", "usd_per_million_tokens", "n_gpu", "batch_size", "mfu"):
        assert key in data["points"][0] and key in data["preferred"]
    speeds = [p["tokens_per_s_per_request"] for p in data["points"]]
    assert data["max_speed"]["tokens_per_s_per_request"] == max(speeds)
    score = [p["tokens_per_s_per_request"] ** 4 / p["usd_per_million_tokens"] for p in data["points"]]
    assert (
        data["preferred"]["usd_per_million_tokens"]
        == data["points"][score.index(max(score))]["usd_per_million_tokens"]
    )


def test_bad_scenario_exits_1_with_one_line(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("model: llama-3-70b\nhardware: h100-sxm\nworkload: {context_lenght: 1000}\n")
    code, out, err = run(capsys, "frontier", str(path), "--no-plot")
    assert code == 1 and "context_lenght" in err and err.count("\n") == 1


def test_unknown_model_lists_known_ids(capsys):
    code, _, err = run(capsys, "frontier", "--model", "llama-9", "--no-plot")
    assert code == 1 and "llama-3-70b" in err


def test_point_and_infeasible_point(capsys):
    code, out, _ = run(
        capsys, "point", "--model", "llama-3-70b", "--hardware", "h100-sxm", "--tp", "8", "--batch", "64"
    )
    assert code == 0 and "tokens/s per request" in out
    code, out, _ = run(
        capsys, "point", "--model", "llama-3-70b", "--hardware", "h100-sxm", "--tp", "1", "--batch", "1"
    )
    assert code == 3 and "does not fit" in out


def test_compare_sweep_catalog(tmp_path, capsys):
    code, out, _ = run(
        capsys,
        "compare",
        "llama-3-8b@h100-sxm",
        "llama-3-8b@a100-sxm-80g:4000",
        "--plot",
        str(tmp_path / "c.png"),
    )
    assert code == 0 and (tmp_path / "c.png").exists()
    code, out, _ = run(capsys, "sweep", "--models", "llama-3-8b", "--hardware", "h100-sxm,h200", "--csv")
    assert code == 0 and out.count("\n") == 3
    code, out, _ = run(capsys, "catalog", "models", "--json")
    assert code == 0 and any(r["id"] == "deepseek-v3" for r in json.loads(out))
    code, out, _ = run(capsys, "catalog", "show", "h100-sxm")
    assert code == 0 and "source of hbm_bandwidth_bytes_per_s" in out


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("frontier", "point", "compare", "sweep", "cost", "catalog"):
        assert cmd in out


def test_frontier_of_a_hugging_face_config(tmp_path, capsys):
    from pathlib import Path

    cfg = Path(__file__).parent / "data" / "hf_configs" / "qwen3-8b.json"
    code, out, _ = run(
        capsys, "frontier", "--config", str(cfg), "--hardware", "h100-sxm", "--plot", str(tmp_path / "q.png")
    )
    assert code == 0 and "preferred:" in out and (tmp_path / "q.png").exists()


@pytest.mark.parametrize("kind", ["mfu", "breakdown"])
def test_frontier_plot_kinds(tmp_path, capsys, kind):
    png = tmp_path / f"{kind}.png"
    code, _, _ = run(capsys, "frontier", "--model", "llama-3-8b", "--plot", str(png), "--plot-kind", kind)
    assert code == 0 and png.stat().st_size > 10_000


def test_cost_plot_production_frontier_and_tornado(tmp_path, capsys):
    entries = tmp_path / "models.yaml"
    entries.write_text(
        "entries:\n  - {name: WiNGPT-3.5, quality_score: 76.2, cost_usd: 0.34}\n"
        "  - {name: WiNGPT-3.0, quality_score: 69.6, cost_usd: 3.47}\n"
    )
    code, out, _ = run(capsys, "cost", "--production", str(entries), "--plot", str(tmp_path / "p.png"))
    assert code == 0 and "dominated by WiNGPT-3.5" in out and (tmp_path / "p.png").stat().st_size > 5_000
    code, out, _ = run(
        capsys,
        "cost",
        "--purchase-price",
        "120000",
        "--currency",
        "CNY",
        "--currency-per-usd",
        "7.09",
        "--years",
        "3",
        "--power-kw",
        "0.4",
        "--pue",
        "1.5",
        "--electricity-price",
        "1",
        "--maintenance-rate",
        "0.03",
        "--cloud-usd-per-hour",
        "2.82",
        "--plot",
        str(tmp_path / "c.png"),
    )
    assert code == 0 and "0.7866" in out and (tmp_path / "c.png").stat().st_size > 5_000
    code, out, _ = run(
        capsys,
        "point",
        "--model",
        "llama-3-8b",
        "--hardware",
        "h100-sxm",
        "--tp",
        "1",
        "--batch",
        "8",
        "--tornado",
        str(tmp_path / "t.png"),
    )
    assert code == 0 and (tmp_path / "t.png").stat().st_size > 5_000
