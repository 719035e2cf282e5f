"""`--config` models on the command line: a quantization the loader cannot read names the flag that fixes it,
`--weight-bits` fixes it, and the catalog labels each attention kind."""

from __future__ import annotations

import json

import pytest

from infereco import ModelSpec, list_models, load_model
from infereco.cli.main import main

LLAMA = {
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "torch_dtype": "bfloat16",
}


@pytest.fixture
def odd_quant(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**LLAMA, "quantization_config": {"quant_method": "exl3", "bits": 3.5}}))
    return path


def test_unreadable_quantization_names_the_flag(odd_quant, capsys):
    code = main(["catalog", "show", "--config", str(odd_quant)])
    err = capsys.readouterr().err
    assert code == 1 and "'exl3'" in err and "--weight-bits" in err and "\n" not in err.strip()


def test_weight_bits_states_the_precision(odd_quant, capsys):
    assert main(["catalog", "show", "--config", str(odd_quant), "--weight-bits", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["weight_bits"] == 4
    assert (
        main(
            [
                "point",
                "--config",
                str(odd_quant),
                "--weight-bits",
                "4",
                "--hardware",
                "h100-sxm",
                "--batch",
                "8",
                "--json",
            ]
        )
        == 0
    )
    point = json.loads(capsys.readouterr().out)
    # 4-bit weights of an 8 B-parameter model (about 4 GB) fit on one GPU.
    assert point["tokens_per_s_per_request"] > 0 and point["n_gpu"] == 1
    with pytest.raises(SystemExit) as exc:  # argparse: a usage error, exit 2
        main(["frontier", "--config", str(odd_quant), "--weight-bits", "5"])  # not 4, 8 or 16
    assert exc.value.code == 2


@pytest.mark.parametrize("n_kv_heads, kind", [(8, "MHA"), (1, "MQA"), (2, "GQA")])
def test_attention_kind_from_head_counts(n_kv_heads, kind):
    m = ModelSpec(
        name="m", n_layers=2, d_model=512, n_heads=8, n_kv_heads=n_kv_heads, d_ff=1024, vocab_size=100
    )
    assert m.attention_kind == kind


def test_catalog_labels_attention_kinds(capsys):
    assert main(["catalog", "models", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["gpt-3"]["attention"] == "MHA"  # 96 KV heads for 96 query heads
    assert rows["palm-540b"]["attention"] == "MQA"
    assert rows["llama-3-70b"]["attention"] == "GQA"
    assert rows["deepseek-v3"]["attention"] == "MLA"
    assert {r["attention"] for r in rows.values()} <= {"MHA", "MQA", "GQA", "MLA"}
    assert set(rows) == set(list_models()) and load_model("gpt-3").n_kv_heads == 96


def test_weight_bits_without_config_is_refused(capsys):
    code = main(
        ["point", "--model", "llama-3-8b", "--hardware", "h100-sxm", "--batch", "8", "--weight-bits", "4"]
    )
    err = capsys.readouterr().err
    assert code == 1 and "--weight-bits 4" in err and "--config" in err
