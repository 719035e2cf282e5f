"""Hostile command lines: each gets one error line naming the argument, the value and what was expected, exit
1 (a bad file or folder) or 2 (an argparse usage error), before anything is computed, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from infereco.cli import main as cli_main
from infereco.cli._common import PLOT_FORMATS
from infereco.cli.main import main

DATA = Path(__file__).parent / "data"
QWEN = DATA / "hf_configs" / "qwen3-8b.json"
CAL = DATA / "calibration"


@pytest.fixture
def no_compute(monkeypatch):
    """Fails the test if a handler (the library, JAX, any computation) is reached."""

    def refuse(target):
        raise AssertionError(f"the handler {target} ran; the error must come first")

    monkeypatch.setattr(cli_main, "resolve", refuse)


def _fails(capsys, argv, code):
    if code == 2:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        rc = exc.value.code
    else:
        rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == code, (rc, out, err)
    assert out == "" and "Traceback" not in err
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1, err
    if code == 1:
        assert err.count("\n") == 1, err  # no usage text for a bad value: just the line
    return error_lines[0]


# ---- files and folders (exit 1) ----------------------------------------------------------------------------
def test_a_folder_as_the_scenario(tmp_path, capsys, no_compute):
    line = _fails(capsys, ["frontier", str(tmp_path)], 1)
    assert line.startswith("infereco frontier: error: ") and str(tmp_path) in line and "folder" in line


def test_a_missing_scenario_file(tmp_path, capsys, no_compute):
    line = _fails(capsys, ["frontier", str(tmp_path / "nowhere.yaml")], 1)
    assert "nowhere.yaml" in line and "not found" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["frontier", "--plot", "{missing}/f.png"],
        ["frontier", "--model", "llama-3-8b", "--plot", "{missing}/f.png", "--plot-kind", "mfu"],
        [
            "point",
            "--model",
            "llama-3-8b",
            "--hardware",
            "h100-sxm",
            "--batch",
            "8",
            "--tornado",
            "{missing}/t.png",
        ],
        [
            "point",
            "--model",
            "llama-3-8b",
            "--hardware",
            "h100-sxm",
            "--batch",
            "8",
            "--plot",
            "{missing}/p.png",
        ],
        ["compare", "llama-3-8b@h100-sxm", "--plot", "{missing}/c.png"],
        ["sweep", "--models", "llama-3-8b", "--hardware", "h100-sxm", "--plot", "{missing}/s.png"],
        [
            "cost",
            "--purchase-price",
            "1000",
            "--years",
            "3",
            "--power-kw",
            "0.4",
            "--electricity-price",
            "0.1",
            "--plot",
            "{missing}/c.png",
        ],
    ],
)
def test_plot_into_a_missing_folder(argv, tmp_path, capsys, no_compute):
    missing = tmp_path / "no-such-folder"
    argv = [a.replace("{missing}", str(missing)) for a in argv]
    line = _fails(capsys, argv, 1)
    flag = "--tornado" if "--tornado" in argv else "--plot"
    assert f"{flag} {missing}" in line and "does not exist" in line
    assert not missing.exists()


@pytest.mark.parametrize("name", ["x.xyz", "plot"])
def test_plot_with_an_unsupported_extension_names_the_supported_ones(name, tmp_path, capsys, no_compute):
    line = _fails(capsys, ["frontier", "--plot", str(tmp_path / name)], 1)
    assert name in line and "png, pdf, svg" in line and "matplotlib" in line
    assert not list(tmp_path.iterdir())


def test_plot_formats_are_ones_matplotlib_writes():
    from matplotlib.backend_bases import FigureCanvasBase

    assert set(PLOT_FORMATS) <= set(FigureCanvasBase.get_supported_filetypes())


def test_plot_to_a_folder(tmp_path, capsys, no_compute):
    line = _fails(capsys, ["frontier", "--plot", str(tmp_path)], 1)
    assert "--plot" in line and "folder" in line


def test_a_missing_config(tmp_path, capsys, no_compute):
    line = _fails(capsys, ["frontier", "--config", str(tmp_path / "config.json")], 1)
    assert "--config" in line and "not found" in line
    line = _fails(capsys, ["point", "--config", str(tmp_path), "--hardware", "h100-sxm", "--batch", "1"], 1)
    assert "--config" in line and "config.json" in line


def test_calibrate_out_into_a_missing_folder_creates_nothing(tmp_path, capsys, no_compute):
    out = tmp_path / "a" / "b" / "calibrated.yaml"
    line = _fails(
        capsys,
        [
            "calibrate",
            str(DATA / "vllm_cpu_runs"),
            "--model",
            str(CAL / "tiny-llama.yaml"),
            "--hardware",
            str(CAL / "cpu-2core-sandbox.yaml"),
            "--engine",
            "vllm-cpu",
            "--out",
            str(out),
        ],
        1,
    )
    assert line.startswith("infereco calibrate: error: --out ") and "does not exist" in line
    assert not (tmp_path / "a").exists()


def test_calibrate_out_must_be_yaml(tmp_path, capsys, no_compute):
    line = _fails(
        capsys,
        ["calibrate", "runs.json", "--model", "m", "--hardware", "h", "--out", str(tmp_path / "x.txt")],
        1,
    )
    assert "--out" in line and "yaml" in line


def test_calibrate_out_at_the_root_of_a_missing_absolute_path(capsys, no_compute):
    assert not Path("/nonexistent").exists()
    line = _fails(
        capsys,
        ["calibrate", "runs.json", "--model", "m", "--hardware", "h", "--out", "/nonexistent/x.yaml"],
        1,
    )
    assert "/nonexistent" in line
    assert not Path("/nonexistent").exists()


def test_cost_file_missing(tmp_path, capsys, no_compute):
    line = _fails(capsys, ["cost", str(tmp_path / "gpu.yaml")], 1)
    assert "gpu.yaml" in line and "not found" in line


# ---- compare items -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "item, expect",
    [
        ("m@h:abc", "'abc'"),
        ("m@h:0", "positive integer"),
        ("m@h:", "positive integer"),
        ("@h100-sxm", "a model and a hardware id"),
        ("llama-3-8b@", "a model and a hardware id"),
    ],
)
def test_compare_bad_items_are_usage_errors(item, expect, capsys, no_compute):
    line = _fails(capsys, ["compare", item], 2)
    assert item in line and expect in line and "MODEL@HARDWARE[:CONTEXT]" in line


def test_compare_without_the_at_form_explains_it(capsys, no_compute):
    line = _fails(capsys, ["compare", "llama-3-70b", "h200"], 1)
    assert "MODEL@HARDWARE" in line and "did you mean llama-3-70b@h200?" in line


def test_compare_a_folder(tmp_path, capsys, no_compute):
    line = _fails(capsys, ["compare", str(tmp_path)], 1)
    assert "folder" in line and "MODEL@HARDWARE" in line


# ---- argument values (argparse usage errors, exit 2) -------------------------------------------------------
@pytest.mark.parametrize(
    "argv, expect",
    [
        (
            ["sweep", "--models", "llama-3-8b", "--hardware", "h100-sxm", "--contexts", "abc"],
            "--contexts: 'abc'",
        ),
        (["sweep", "--models", "llama-3-8b", "--hardware", "h100-sxm", "--contexts", "1000,-5"], "positive"),
        (["sweep", "--models", "llama-3-8b", "--hardware", "h100-sxm", "--contexts", "1000,"], "--contexts"),
        (["sweep", "--models", "llama-3-8b", "--hardware", "h100-sxm", "--prices", "2,-1"], "--prices: '-1'"),
        (["sweep", "--models", "", "--hardware", "h100-sxm"], "--models"),
        (["sweep", "--models", "llama-3-8b,,llama-3-70b", "--hardware", "h100-sxm"], "empty item"),
        (["sweep", "--models", "llama-3-8b", "--hardware", ""], "--hardware"),
        (["frontier", "--hardware", ""], "--hardware"),
        (["frontier", "--model", " "], "--model"),
        (["point", "--model", "llama-3-8b", "--hardware", "", "--batch", "1"], "--hardware"),
        (["frontier", "--config", str(QWEN), "--model", "llama-3-8b"], "not allowed with"),
        (
            [
                "point",
                "--config",
                str(QWEN),
                "--model",
                "llama-3-8b",
                "--hardware",
                "h100-sxm",
                "--batch",
                "1",
            ],
            "not allowed with",
        ),
        (["catalog", "show", "h100-sxm", "--config", str(QWEN)], "not allowed with"),
    ],
)
def test_bad_argument_values(argv, expect, capsys, no_compute):
    line = _fails(capsys, argv, 2)
    assert line.startswith(f"infereco {argv[0]}: error: argument ") and expect in line


def test_catalog_list_takes_no_id(capsys, no_compute):
    line = _fails(capsys, ["catalog", "models", "h100-sxm"], 1)
    assert "show" in line and "h100-sxm" in line
    line = _fails(capsys, ["catalog", "show"], 1)
    assert "give an id" in line


def test_compare_unknown_id_names_the_item(capsys):
    line = _fails(capsys, ["compare", "llama-3-8b@no-such-gpu", "--no-plot"], 1)
    assert line.startswith("infereco compare: error: llama-3-8b@no-such-gpu: ") and "h100-sxm" in line


def test_contexts_must_be_integers(capsys, no_compute):
    line = _fails(
        capsys, ["sweep", "--models", "llama-3-8b", "--hardware", "h100-sxm", "--contexts", "1e3"], 2
    )
    assert "'1e3' is not an integer" in line
