"""A calibrated hardware YAML (written by `infereco calibrate --out PROFILE.yaml`, i.e.
`CalibrationResult.save_yaml`) is accepted wherever a hardware id is: `resolve_hardware(path)`,
`pareto_frontier(hardware=path)`, a scenario's `hardware:` key (relative to the scenario file's folder) and
`hardware: {base: path, ...}`. The specs read it without importing calibration, and read it exactly as
`load_calibrated_hardware` does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infereco import InferecoError, ScenarioError, SpecError, frontier_from_scenario, pareto_frontier
from infereco.specs.catalog import is_hardware_file, load_hardware_file, resolve_hardware
from infereco.specs.scenario import load_scenario
from tests.test_properties_strategies import SMALL_GRID

DATA = Path(__file__).parent / "data"
TINY_FIELDS = dict(name="tiny", d_model=512, d_ff=1408, n_layers=4, n_heads=8, n_kv_heads=2, vocab_size=4096)
FAST = dict(search="continuous", backend="numpy", grid=SMALL_GRID)


@pytest.fixture(scope="module")
def calibrated_yaml(tmp_path_factory) -> Path:
    """A profile written by the calibration itself (a quick fit of the synthetic runs of
    test_calibration_fit)."""
    from infereco.calibration.fit import calibrate
    from infereco.physics.serving import EngineConfig
    from tests.test_calibration_fit import CPU, FITTED, TINY, _synthetic

    runs, _ = _synthetic(0.03, seed=1)
    result = calibrate(runs, TINY, CPU, engine=EngineConfig.vllm_cpu(), fit=list(FITTED), bootstrap=0, seed=0)
    folder = tmp_path_factory.mktemp("profiles")
    return result.save_yaml(folder / "cpu-calibrated.yaml")


def test_resolve_hardware_reads_a_calibrated_profile_as_calibration_does(calibrated_yaml):
    from infereco.calibration.fit import load_calibrated_hardware

    want = load_calibrated_hardware(calibrated_yaml)
    assert resolve_hardware(str(calibrated_yaml)) == want
    assert resolve_hardware(calibrated_yaml) == want  # a Path too
    assert load_hardware_file(calibrated_yaml) == want
    assert want.step_overhead_s > 0 and "calibrated" in want.sources["step_overhead_s"]
    # the hand-written catalog-format fixture of the CPU runs too
    fixture = DATA / "calibration" / "cpu-2core-sandbox.yaml"
    assert resolve_hardware(str(fixture)) == load_calibrated_hardware(fixture)


def test_specs_read_profiles_without_importing_calibration():
    """infereco.specs sits below calibration (which imports specs); the reading is replicated, not
    imported."""
    import ast

    for path in (Path(__file__).parent.parent / "infereco" / "specs").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.startswith("infereco.calibration") for n in names), (
                f"{path.name} imports calibration"
            )


def test_base_file_with_overrides(calibrated_yaml):
    hw = resolve_hardware({"base": str(calibrated_yaml), "price_usd_per_hour": 3.0})
    assert hw.price_usd_per_hour == 3.0
    assert hw.replace(
        price_usd_per_hour=load_hardware_file(calibrated_yaml).price_usd_per_hour
    ) == load_hardware_file(calibrated_yaml)


def test_pareto_frontier_takes_a_profile_path(calibrated_yaml):
    by_path = pareto_frontier(TINY_FIELDS, str(calibrated_yaml), context_length=500, **FAST)
    by_spec = pareto_frontier(TINY_FIELDS, load_hardware_file(calibrated_yaml), context_length=500, **FAST)
    assert not by_path.empty
    assert json.loads(by_path.to_json())["points"] == json.loads(by_spec.to_json())["points"]


def _scenario(folder: Path, hardware) -> Path:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model": TINY_FIELDS,
                "hardware": hardware,
                "search": "continuous",
                "workload": {"context_length": 500},
            }
        ),
        encoding="utf-8",
    )
    return path


def test_scenario_hardware_file_is_relative_to_the_scenario_folder(calibrated_yaml, tmp_path, monkeypatch):
    import shutil

    shutil.copy(calibrated_yaml, tmp_path / "profile.yaml")
    path = _scenario(tmp_path / "sub", "../profile.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # relative to the scenario, not to the working directory
    f = frontier_from_scenario(path, backend="numpy", grid=SMALL_GRID)
    want = pareto_frontier(TINY_FIELDS, load_hardware_file(calibrated_yaml), context_length=500, **FAST)
    assert json.loads(f.to_json())["points"] == json.loads(want.to_json())["points"]
    # saved elsewhere and read back, the scenario still points at the same file
    scenario = load_scenario(path)
    scenario.save(elsewhere / "copy.yaml")
    assert load_scenario(elsewhere / "copy.yaml") == scenario
    assert Path(scenario.hardware).resolve() == (tmp_path / "profile.yaml").resolve()


def test_scenario_hardware_base_file_with_overrides(calibrated_yaml, tmp_path):
    import shutil

    shutil.copy(calibrated_yaml, tmp_path / "profile.yml")
    path = _scenario(tmp_path, {"base": "profile.yml", "price_usd_per_hour": 4.0})
    f = frontier_from_scenario(path, backend="numpy", grid=SMALL_GRID)
    assert f.meta["price_usd_per_hour"] == 4.0


def test_missing_or_wrong_profile_files(tmp_path):
    with pytest.raises(SpecError, match=r"nowhere\.yaml: file not found"):
        resolve_hardware(str(tmp_path / "nowhere.yaml"))
    with pytest.raises(SpecError, match="expected a hardware YAML file"):
        resolve_hardware(tmp_path / "profile.json")
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(SpecError, match="is a folder"):
        resolve_hardware(str(tmp_path / "folder.yaml"))
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(SpecError, match=r"list\.yaml: expected a YAML mapping"):
        resolve_hardware(str(tmp_path / "list.yaml"))
    with pytest.raises(ScenarioError, match=r"scenario\.yaml: .*nowhere\.yaml: file not found"):
        frontier_from_scenario(_scenario(tmp_path / "s", "nowhere.yaml"), backend="numpy", grid=SMALL_GRID)


def test_catalog_ids_are_not_files():
    assert not is_hardware_file("h100-sxm") and not is_hardware_file(None) and not is_hardware_file(3)
    assert is_hardware_file("my.YAML") and is_hardware_file(Path("x"))
    with pytest.raises(InferecoError, match="Known hardware ids"):
        resolve_hardware("h100-sxm.json")
