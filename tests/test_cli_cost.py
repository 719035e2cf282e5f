"""`infereco cost`: the A800 breakdown from the example YAML file and from flags, JSON and CSV output, the
break-even utilization, and bad input as exit code 1 with a message naming the field."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from infereco.cli.main import main

EXAMPLE = str(Path(__file__).resolve().parent.parent / "examples" / "a800_zhuang2025.yaml")
FLAGS = [
    "--purchase-price",
    "120000",
    "--currency",
    "CNY",
    "--currency-per-usd",
    "7.09",
    "--years",
    "3",
    "--utilization",
    "1",
    "--power-kw",
    "0.4",
    "--pue",
    "1.5",
    "--electricity-price",
    "1.0",
    "--maintenance-rate",
    "0.03",
    "--n-gpus",
    "2",
]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["cost", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_text_from_file(capsys):
    rc, out, _ = run_cli(capsys, EXAMPLE)
    assert rc == 0
    assert "depreciation" in out and "0.6440" in out and "0.0846" in out and "0.0580" in out
    assert "0.7866" in out and "1.5732" in out


def test_json_from_flags_matches_the_file(capsys):
    rc, out, _ = run_cli(capsys, *FLAGS, "--json")
    assert rc == 0
    doc = json.loads(out)
    assert round(doc["per_gpu_usd_per_hour"], 3) == 0.787
    assert round(doc["total_usd_per_hour"], 2) == 1.57
    comps = doc["components_usd_per_gpu_hour"]
    assert [round(comps[k], 3) for k in ("depreciation", "power", "maintenance")] == [0.644, 0.085, 0.058]
    assert doc["inputs"]["currency"] == "CNY" and doc["breakeven"] == []
    rc, out_file, _ = run_cli(capsys, EXAMPLE, "--json")
    assert json.loads(out_file)["total_usd_per_hour"] == pytest.approx(doc["total_usd_per_hour"])


def test_csv(capsys):
    rc, out, _ = run_cli(capsys, *FLAGS, "--csv", "--cloud-usd-per-hour", "2.82")
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["component"] for r in rows] == ["depreciation", "power", "maintenance", "total", "breakeven"]
    assert round(float(rows[3]["usd_per_gpu_hour"]), 3) == 0.787
    assert round(float(rows[4]["breakeven_utilization"]), 3) == 0.241


def test_breakeven_lines(capsys):
    rc, out, _ = run_cli(
        capsys,
        EXAMPLE,
        "--cloud-usd-per-hour",
        "2.82",
        "--cloud-usd-per-hour",
        "5.64",
        "--cloud-usd-per-hour",
        "0.5",
        "--cloud-usd-per-hour",
        "0.1",
    )
    assert rc == 0
    assert "u* = 0.241" in out and "u* = 0.117" in out
    assert "owning costs more even at full use" in out
    assert "never" in out
    rc, out, _ = run_cli(capsys, EXAMPLE, "--json", "--cloud-usd-per-hour", "0.1")
    assert json.loads(out)["breakeven"] == [{"cloud_usd_per_hour": 0.1, "breakeven_utilization": None}]


def test_flags_override_the_file(capsys):
    rc, out, _ = run_cli(capsys, EXAMPLE, "--utilization", "0.8", "--json")
    assert rc == 0
    doc = json.loads(out)
    assert doc["utilization"] == 0.8 and round(doc["per_gpu_usd_per_hour"], 2) == 0.95


def test_rental_file(tmp_path, capsys):
    f = tmp_path / "cloud.yaml"
    f.write_text("kind: rental\nname: cloud card\nprice_usd_per_hour: 2.82\nn_gpus: 2\n", encoding="utf-8")
    rc, out, _ = run_cli(capsys, str(f))
    assert rc == 0 and "rent" in out and "5.6400" in out
    rc, _, err = run_cli(capsys, str(f), "--cloud-usd-per-hour", "3")
    assert rc == 1 and "ownership" in err


@pytest.mark.parametrize(
    "argv, needle",
    [
        (
            ["--purchase-price", "-1", "--years", "3", "--power-kw", "0.4", "--electricity-price", "1"],
            "purchase_price",
        ),
        ([*FLAGS, "--utilization", "0"], "utilization"),
        ([*FLAGS, "--utilization", "1.5"], "utilization"),
        (
            [
                "--purchase-price",
                "1000",
                "--currency",
                "CNY",
                "--years",
                "3",
                "--power-kw",
                "0.4",
                "--electricity-price",
                "1",
            ],
            "currency_per_usd",
        ),
        (["--purchase-price", "1000"], "--years"),
        ([*FLAGS, "--cloud-usd-per-hour", "-3"], "cloud_usd_per_hour"),
        (["/nonexistent/cost.yaml"], "file not found"),
    ],
)
def test_bad_input_exits_1_naming_the_problem(capsys, argv, needle):
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 1 and out == ""
    assert err.startswith("infereco cost: error:") and needle in err


def test_bad_yaml_key(tmp_path, capsys):
    f = tmp_path / "typo.yaml"
    f.write_text("purchase_prise: 1\n", encoding="utf-8")
    rc, _, err = run_cli(capsys, str(f))
    assert rc == 1 and "purchase_prise" in err and "purchase_price" in err and str(f) in err


def test_json_and_csv_are_exclusive(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["cost", EXAMPLE, "--json", "--csv"])
    assert exc.value.code == 2
