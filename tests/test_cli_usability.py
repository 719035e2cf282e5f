"""What a newcomer to the command line tripped over: EP and attention-DP columns, what a --config model is,
a cost file given to `frontier`, and MFU in one unit per output (percent in tables, a fraction in
JSON/CSV)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from infereco import load_model
from infereco.cli.main import main
from infereco.specs.hf_config import load_hf_config

DATA = Path(__file__).parent / "data"
CONFIGS = DATA / "hf_configs"
COST_FILE = Path(__file__).resolve().parents[1] / "examples" / "a800_zhuang2025.yaml"


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _table(out: str) -> tuple[list[str], list[list[str]]]:
    """Header cells and data rows of the first aligned table in the output (cells split on 2+ spaces)."""
    lines = out.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.lstrip().startswith("─"))
    split = lambda s: [c for c in re.split(r"\s{2,}", s.strip()) if c]  # noqa: E731
    rows = []
    for line in lines[rule + 1 :]:
        if not line.strip():
            break
        rows.append(split(line.lstrip("* ")))
    return split(lines[rule - 1]), rows


def test_frontier_table_shows_ep_and_attention_dp(capsys):
    code, out, _ = run(capsys, "frontier", "--model", "llama-3-8b", "--no-plot")
    assert code == 0
    heads, rows = _table(out)
    assert "EP" in heads and "attn DP" in heads and "MFU %" in heads
    i = heads.index("attn DP")
    assert rows and all(r[i] in ("yes", "no") for r in rows)


def test_frontier_json_of_the_discrete_search_has_ep_and_attn_dp(capsys):
    code, out, _ = run(capsys, "frontier", "--model", "llama-3-8b", "--json", "--no-plot")
    assert code == 0
    for p in json.loads(out)["points"]:
        assert p["ep"] >= 1 and isinstance(p["attn_dp"], bool)


@pytest.mark.parametrize("name", ["qwen3-8b.json", "mixtral-8x7b.json"])
def test_config_model_header_names_its_parameters_and_bits(name, capsys):
    cfg = CONFIGS / name
    spec = load_hf_config(cfg)
    code, out, _ = run(
        capsys, "frontier", "--config", str(cfg), "--hardware", "h100-sxm", "--no-plot", "--rows", "3"
    )
    assert code == 0
    header = out.splitlines()[0]
    assert str(cfg) in header
    assert f"{spec.total_params / 1e9:.3g} B parameters" in header
    assert f"{spec.active_params / 1e9:.3g} B active per token" in header
    assert f"weights {spec.weight_bits}-bit" in header and "KV cache" in header
    if spec.n_experts > 1:
        assert spec.active_params < spec.total_params and f"of {spec.n_experts} experts" in header


def test_point_and_catalog_show_accept_config(capsys):
    cfg = CONFIGS / "qwen3-8b.json"
    spec = load_hf_config(cfg)
    code, out, _ = run(capsys, "point", "--config", str(cfg), "--hardware", "h100-sxm", "--batch", "8")
    assert code == 0 and out.startswith(f"model {spec.name} from {cfg}:") and "tokens/s per request" in out
    code, out, _ = run(capsys, "catalog", "show", "--config", str(cfg))
    assert code == 0 and out.startswith(f"model {spec.name} from {cfg}:")
    assert f"{spec.total_params / 1e9:.3g} B parameters" in out and "n_layers" in out
    code, out, _ = run(capsys, "catalog", "show", "--config", str(cfg), "--json")
    assert code == 0 and json.loads(out)["n_layers"] == spec.n_layers


def test_point_of_a_config_equals_the_same_spec_in_python(capsys):
    from infereco import evaluate_point

    cfg = CONFIGS / "qwen3-8b.json"
    code, out, _ = run(
        capsys, "point", "--config", str(cfg), "--hardware", "h100-sxm", "--batch", "8", "--json"
    )
    assert code == 0
    q = evaluate_point(load_hf_config(cfg), "h100-sxm", batch_size=8, tp=1, context_length=1000)
    assert json.loads(out)["tokens_per_s_per_request"] == pytest.approx(
        q["tokens_per_s_per_request"], rel=1e-12
    )


@pytest.mark.parametrize("text", [None, "kind: rental\nname: cloud H100\nprice_usd_per_hour: 2.5\n"])
def test_frontier_of_a_cost_file_points_to_infereco_cost(text, tmp_path, capsys):
    path = COST_FILE
    if text:
        path = tmp_path / "rental.yaml"
        path.write_text(text)
    code, out, err = run(capsys, "frontier", str(path), "--no-plot")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "cost file" in err and f"infereco cost {path}" in err


def test_the_cost_file_works_with_infereco_cost(capsys):
    code, out, _ = run(capsys, "cost", str(COST_FILE))
    assert code == 0 and "0.7866" in out


def test_mfu_is_percent_in_tables_and_a_fraction_in_json_and_csv(capsys):
    argv = ["point", "--model", "llama-3-8b", "--hardware", "h100-sxm", "--tp", "1", "--batch", "64"]
    code, out, _ = run(capsys, *argv, "--json")
    mfu = json.loads(out)["mfu"]
    assert code == 0 and 0 < mfu < 1
    code, out, _ = run(capsys, *argv, "--csv")
    assert float(next(csv.DictReader(io.StringIO(out)))["mfu"]) == pytest.approx(mfu)
    code, out, _ = run(capsys, *argv)
    row = next(line for line in out.splitlines() if line.startswith("MFU %"))
    assert float(row.split()[-1]) == pytest.approx(100 * mfu, rel=1e-2)

    code, out, _ = run(capsys, "frontier", "--model", "llama-3-8b", "--no-plot", "--rows", "0")
    heads, rows = _table(out)
    pct = [float(r[heads.index("MFU %")]) for r in rows]
    code, js, _ = run(capsys, "frontier", "--model", "llama-3-8b", "--json", "--no-plot")
    frac = [p["mfu"] for p in json.loads(js)["points"]]
    assert max(frac) <= 1 and len(pct) == len(frac)
    assert pct == pytest.approx([100 * f for f in frac], rel=1e-2, abs=1e-3)
    pref = re.search(r"MFU ([\d.]+)%", out)
    assert pref and 0 < float(pref.group(1)) <= 100


def test_model_line_names_component_bits_layers_and_trillions():
    from infereco.cli._run_common import describe_model
    from infereco.specs.model import ModelSpec

    # A 4-bit MoE with 16-bit attention and embeddings, over a trillion parameters, with a hybrid layer
    # mix and an MTP block: the line shows each component's bits, the stored size, the layer kinds.
    big = load_model("kimi-k2").model_copy(
        update={"expert_weight_bits": 4, "attention_weight_bits": 16, "embedding_weight_bits": 16}
    )
    line = describe_model(big, "test")
    assert f"{big.total_params / 1e12:.3g} T parameters" in line
    assert "attention 16, experts 4, embeddings 16-bit" in line
    assert f"({big.weight_memory_bytes / 1e9:.4g} GB)" in line
    hybrid = load_model("qwen3.5-27b")
    assert isinstance(hybrid, ModelSpec) and "layers: 16 full, 48 linear" in describe_model(hybrid, "t")
    assert "1 MTP layer(s)" in describe_model(load_model("deepseek-r1"), "t")
