"""Hostile input corpus (tests/data/hostile/): every bad file gives exactly one clear error.

For each file: the loader raises exactly the expected `InferecoError` subclass (nothing else, no chained
traceback), on one line, naming the file and the field, with a hint of the fix. Scenario files go through
`infereco.frontier_from_scenario(path)` and the CLI (`infereco frontier FILE` exits 1 with a one-line
message); catalog-style files (`hw_*`, `model_*`) are dropped into a temporary catalog folder and loaded by id
with `load_hardware` / `load_model`, as a user adding a file to `hardware_specs/` would.

Adding a file: put it in tests/data/hostile/ and add its expectation to EXPECT below (a test fails for files
without one).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infereco import CatalogError, InferecoError, ScenarioError, SpecError, frontier_from_scenario
from infereco.specs import catalog

HOSTILE = Path(__file__).parent / "data" / "hostile"

# file -> (error class, substrings the message must contain besides the file name: the field and the fix)
EXPECT: dict[str, tuple[type[InferecoError], tuple[str, ...]]] = {
    # scenario files
    "scenario_wrong_type_context.yaml": (ScenarioError, ("context_length", "valid integer")),
    "scenario_wrong_type_model.yaml": (ScenarioError, ("model", "catalog id string or a mapping")),
    "scenario_negative_layers.yaml": (ScenarioError, ("n_layers", "greater than 0")),
    "scenario_zero_hbm_bandwidth.yaml": (ScenarioError, ("hbm_bandwidth_bytes_per_s", "greater than 0")),
    "scenario_negative_price.yaml": (ScenarioError, ("price_usd_per_hour", "positive")),
    "scenario_zero_demand.yaml": (ScenarioError, ("max_throughput_tokens_per_s", "greater than 0")),
    "scenario_missing_hardware.yaml": (ScenarioError, ("hardware", "missing")),
    "scenario_missing_model_fields.yaml": (ScenarioError, ("d_ff", "missing")),
    "scenario_unknown_top_key.yaml": (ScenarioError, ("modle", "did you mean 'model'")),
    "scenario_unknown_model_key.yaml": (ScenarioError, ("n_layer", "did you mean 'n_layers'")),
    "scenario_unknown_hardware_key.yaml": (
        ScenarioError,
        ("hbm_bandwith_bytes_per_s", "did you mean 'hbm_bandwidth_bytes_per_s'"),
    ),
    "scenario_unknown_workload_key.yaml": (ScenarioError, ("context_len", "did you mean 'context_length'")),
    "scenario_heads_not_divisible.yaml": (ScenarioError, ("n_kv_heads", "divide n_heads")),
    "scenario_head_dim_zero.yaml": (ScenarioError, ("n_heads", "d_head")),
    "scenario_bandwidth_in_gbps.yaml": (ScenarioError, ("hbm_bandwidth_bytes_per_s", "expected bytes/s")),
    "scenario_capacity_in_gb.yaml": (ScenarioError, ("hbm_capacity_bytes", "expected bytes")),
    "scenario_flops_in_tflops.yaml": (ScenarioError, ("flop_per_s", "expected FLOP/s")),
    "scenario_flop_bits_unknown.yaml": (ScenarioError, ("flop_per_s", "4, 8, 16, 32")),
    "scenario_no_rate_for_precision.yaml": (ScenarioError, ("flop_per_s", "16-bit")),
    "scenario_empty.yaml": (ScenarioError, ("empty", "mapping")),
    "scenario_comments_only.yaml": (ScenarioError, ("empty", "mapping")),
    "scenario_yaml_bomb.yaml": (ScenarioError, ("aliases", "line 3")),
    "scenario_huge_float.yaml": (ScenarioError, ("hbm_bandwidth_bytes_per_s", "finite")),
    "scenario_huge_int.yaml": (ScenarioError, ("d_model", "implausibly large")),
    "scenario_huge_price.yaml": (ScenarioError, ("price_usd_per_hour", "up to")),
    "scenario_nan.yaml": (ScenarioError, ("kernel_launch_s", "finite")),
    "scenario_infinite_price.yaml": (ScenarioError, ("price_usd_per_hour", "finite")),
    "scenario_infinite_capacity.yaml": (ScenarioError, ("hbm_capacity_bytes", "finite")),
    "scenario_top_level_list.yaml": (ScenarioError, ("mapping", "list")),
    "scenario_top_level_scalar.yaml": (ScenarioError, ("mapping", "str")),
    "scenario_deeply_nested.yaml": (ScenarioError, ("nested too deeply",)),
    "scenario_nested_junk.yaml": (ScenarioError, ("d_model", "valid integer")),
    "scenario_duplicate_key.yaml": (ScenarioError, ("duplicate key 'model'", "line 4")),
    "scenario_unknown_model_id.yaml": (CatalogError, ("model:", "llama-9-70b", "Known model ids")),
    "scenario_unknown_hardware_id.yaml": (CatalogError, ("hardware:", "h900", "Known hardware ids")),
    "scenario_unknown_draft_id.yaml": (CatalogError, ("speculative.draft:", "llama-3-1b", "Known model ids")),
    "scenario_base_not_a_string.yaml": (ScenarioError, ("hardware.base", "catalog id string")),
    "scenario_bad_preset.yaml": (ScenarioError, ("preset", "known presets")),
    "scenario_bad_search.yaml": (ScenarioError, ("search", "known searches")),
    "scenario_acceptance_out_of_range.yaml": (ScenarioError, ("acceptance", "less than or equal to 1")),
    "scenario_speculative_missing_draft.yaml": (ScenarioError, ("speculative.draft", "missing")),
    "scenario_active_experts_exceed.yaml": (ScenarioError, ("n_active_experts", "n_experts")),
    "scenario_boolean_for_number.yaml": (ScenarioError, ("n_layers", "boolean")),
    "scenario_date_for_number.yaml": (ScenarioError, ("context_length", "valid integer")),
    "scenario_python_tag.yaml": (ScenarioError, ("python/object", "line 2")),
    "scenario_syntax_error.yaml": (ScenarioError, ("not valid YAML", "line 3")),
    "scenario_context_too_long.yaml": (ScenarioError, ("context_length", "less than or equal")),
    "scenario_empty_nccl_protocols.yaml": (ScenarioError, ("nccl_protocols", "at least 1")),
    "scenario_alpha_negative.yaml": (ScenarioError, ("alpha", "greater than or equal to 0")),
    "scenario_ffn_matrices_wrong.yaml": (ScenarioError, ("ffn_matrices",)),
    "scenario_null_hardware.yaml": (ScenarioError, ("hardware", "catalog id string or a mapping")),
    "scenario_weight_bits_unsupported.yaml": (ScenarioError, ("weight_bits", "4, 8, 16 or 32")),
    "scenario_non_utf8.yaml": (ScenarioError, ("UTF-8",)),
    # serving options (infereco.specs.serving), checked when the scenario is read
    "scenario_serving_batch_many.yaml": (ScenarioError, ("colocated_prefill_batch", "'many'", "a number")),
    "scenario_serving_batch_zero.yaml": (
        ScenarioError,
        ("colocated_prefill_batch", "greater than or equal to 1"),
    ),
    "scenario_serving_batch_negative.yaml": (
        ScenarioError,
        ("colocated_prefill_batch", "greater than or equal to 1"),
    ),
    "scenario_serving_negative_kv_bandwidth.yaml": (
        ScenarioError,
        ("kv_transfer_bandwidth_bytes_per_s", "greater than 0"),
    ),
    "scenario_serving_kv_bandwidth_list.yaml": (
        ScenarioError,
        ("kv_transfer_bandwidth_bytes_per_s", "[None]", "bytes/s"),
    ),
    "scenario_serving_kv_bandwidth_in_gbps.yaml": (
        ScenarioError,
        ("kv_transfer_bandwidth_bytes_per_s", "expected bytes/s"),
    ),
    "scenario_serving_unknown_option.yaml": (
        ScenarioError,
        ("colocated_prefil_batch", "did you mean 'colocated_prefill_batch'"),
    ),
    "scenario_serving_unknown_mode.yaml": (ScenarioError, ("disagregated", "did you mean 'disaggregated'")),
    "scenario_serving_not_a_mapping.yaml": (ScenarioError, ("serving", "mode name", "mapping")),
    # discrete search options (infereco.specs.search)
    "scenario_discrete_n_batch_huge.yaml": (ScenarioError, ("discrete.n_batch", "integer from 1 to 4096")),
    "scenario_discrete_n_batch_1e8.yaml": (
        ScenarioError,
        ("discrete.n_batch", "100000000", "integer from 1 to 4096"),
    ),
    "scenario_discrete_n_batch_string.yaml": (ScenarioError, ("discrete.n_batch", "'1e6'", "write 1.0e6")),
    "scenario_discrete_boolean_batch.yaml": (ScenarioError, ("discrete.n_batch", "boolean")),
    "scenario_discrete_memory_string.yaml": (
        ScenarioError,
        ("discrete.gpu_memory_utilization", "'0.9'", "a number"),
    ),
    "scenario_discrete_memory_above_one.yaml": (ScenarioError, ("discrete.gpu_memory_utilization", "(0, 1]")),
    "scenario_discrete_unknown_key.yaml": (ScenarioError, ("discrete.nbatch", "did you mean 'n_batch'")),
    "scenario_discrete_unknown_engine.yaml": (ScenarioError, ("discrete.engine", "did you mean 'vllm'")),
    "scenario_discrete_pp_degrees_zero.yaml": (ScenarioError, ("discrete.pp_degrees[1]", "integer from 1")),
    # prices below the floor MIN_PRICE_USD_PER_HOUR (1e-6 $/h), e.g. subnormal floats
    "scenario_subnormal_price.yaml": (ScenarioError, ("price_usd_per_hour", "1e-320", "at least 1e-06")),
    "scenario_hardware_subnormal_price.yaml": (
        ScenarioError,
        ("price_usd_per_hour", "1e-320", "at least 1e-06"),
    ),
    "scenario_workload_list.yaml": (ScenarioError, ("workload", "valid dictionary")),
    # hardware YAML files (calibrated profiles), read relative to the scenario's folder
    "scenario_hardware_file_missing.yaml": (ScenarioError, ("no-such-profile.yaml", "file not found")),
    "scenario_hardware_file_broken.yaml": (
        ScenarioError,
        ("hw_bandwidth_in_tbps.yaml", "hbm_bandwidth_bytes_per_s", "expected bytes/s"),
    ),
    # catalog-style hardware files
    "hw_missing_capacity.yaml": (SpecError, ("hbm_capacity_bytes", "missing")),
    "hw_bandwidth_in_tbps.yaml": (SpecError, ("hbm_bandwidth_bytes_per_s", "expected bytes/s")),
    "hw_negative_node_size.yaml": (SpecError, ("node_size", "greater than 0")),
    "hw_unknown_key.yaml": (SpecError, ("kernel_lanch_s", "did you mean 'kernel_launch_s'")),
    "hw_aliases_not_a_list.yaml": (SpecError, ("aliases", "list of id strings")),
    "hw_value_wrong_type.yaml": (SpecError, ("flop_per_s", "valid number")),
    "hw_empty.yaml": (SpecError, ("empty", "mapping")),
    "hw_top_level_list.yaml": (SpecError, ("mapping", "list")),
    "hw_flop_per_s_empty.yaml": (SpecError, ("flop_per_s", "at least one precision")),
    "hw_unknown_collectives.yaml": (
        SpecError,
        (
            "collectives",
            "'mpi'",
            "unknown fabric",
            "nvlink (alias nccl)",
            "xgmi",
            "ici-torus",
            "pcie",
            "ring",
        ),
    ),
    "hw_utilization_above_one.yaml": (SpecError, ("flop_utilization", "less than or equal to 1")),
    "hw_huge_node_size.yaml": (SpecError, ("node_size", "less than or equal")),
    "hw_duplicate_key.yaml": (SpecError, ("duplicate key 'hbm_capacity_bytes'",)),
    "hw_subnormal_price.yaml": (SpecError, ("price_usd_per_hour", "at least 1e-06")),
    # catalog-style model files
    "model_zero_layers.yaml": (SpecError, ("n_layers", "greater than 0")),
    "model_heads_not_divisible.yaml": (SpecError, ("n_kv_heads", "divide n_heads")),
    "model_missing_d_ff.yaml": (SpecError, ("d_ff", "missing")),
    "model_hf_key.yaml": (SpecError, ("hidden_size", "unknown key")),
    "model_bits_unsupported.yaml": (SpecError, ("weight_bits", "4, 8, 16 or 32")),
    "model_active_experts_exceed.yaml": (SpecError, ("n_active_experts", "n_experts")),
    "model_negative_vocab.yaml": (SpecError, ("vocab_size", "greater than or equal to 0")),
    "model_non_utf8.yaml": (SpecError, ("UTF-8",)),
}

SCENARIOS = sorted(n for n in EXPECT if n.startswith("scenario_"))
CATALOG_FILES = sorted(n for n in EXPECT if not n.startswith("scenario_"))


def test_every_corpus_file_has_an_expectation():
    on_disk = {p.name for p in HOSTILE.glob("*.yaml")}
    assert on_disk == set(EXPECT), (
        f"missing expectations: {on_disk - set(EXPECT)}; missing files: {set(EXPECT) - on_disk}"
    )


def _check(exc: BaseException, name: str) -> None:
    cls, needles = EXPECT[name]
    assert type(exc) is cls, f"{name}: expected {cls.__name__}, got {type(exc).__name__}: {exc}"
    msg = str(exc)
    assert "\n" not in msg, f"{name}: message is not one line: {msg!r}"
    assert name in msg, f"{name}: message does not name the file: {msg}"
    for needle in needles:
        assert needle in msg, f"{name}: message lacks {needle!r}: {msg}"
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__), (
        f"{name}: chained traceback"
    )


@pytest.mark.parametrize("name", SCENARIOS)
def test_bad_scenario_gives_one_clear_error(name):
    from tests.test_properties_strategies import SMALL_GRID

    with pytest.raises(InferecoError) as info:
        # numpy and a small grid, so that a file wrongly accepted costs milliseconds, not a JAX compile
        frontier_from_scenario(HOSTILE / name, backend="numpy", grid=SMALL_GRID)
    _check(info.value, name)


@pytest.fixture
def temporary_catalog(tmp_path, monkeypatch):
    """A catalog folder that holds only the files a test puts there (hardware and models alike)."""
    monkeypatch.setattr(catalog, "hardware_dir", lambda: tmp_path)
    monkeypatch.setattr(catalog, "models_dir", lambda: tmp_path)
    caches = (catalog._index, catalog.load_hardware, catalog.load_model)
    for c in caches:
        c.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    for c in caches:
        c.cache_clear()


@pytest.mark.parametrize("name", CATALOG_FILES)
def test_bad_catalog_file_gives_one_clear_error(name, temporary_catalog):
    shutil.copy(HOSTILE / name, temporary_catalog / name)
    load = catalog.load_hardware if name.startswith("hw_") else catalog.load_model
    with pytest.raises(InferecoError) as info:
        load(Path(name).stem)
    _check(info.value, name)


def test_one_broken_catalog_file_does_not_hide_the_others(temporary_catalog):
    for name in CATALOG_FILES:
        if name.startswith("hw_"):
            shutil.copy(HOSTILE / name, temporary_catalog / name)
    shutil.copy(catalog._PKG.parent / "hardware_specs" / "h100-sxm.yaml", temporary_catalog / "h100-sxm.yaml")
    assert catalog.load_hardware("h100").hbm_capacity_bytes == 80e9  # alias still resolves
    assert "h100-sxm" in catalog.list_hardware()


def test_oversized_scenario_is_refused_before_parsing(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("model: llama-3-8b\nhardware: h100-sxm\nname: '" + "x" * 2_100_000 + "'\n")
    with pytest.raises(ScenarioError, match="big.yaml.*limit"):
        frontier_from_scenario(big)


def test_missing_scenario_file_names_it(tmp_path):
    with pytest.raises(ScenarioError, match="nowhere.yaml: file not found"):
        frontier_from_scenario(tmp_path / "nowhere.yaml")


# ---- the command line --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SCENARIOS)
def test_cli_exits_1_with_a_one_line_message(name, capsys, tmp_path, monkeypatch):
    from infereco.cli.main import main

    monkeypatch.chdir(tmp_path)  # nothing (no plot) may land in the repository
    rc = main(["frontier", str(HOSTILE / name)])
    out, err = capsys.readouterr()
    assert rc == 1, f"{name}: exit code {rc}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("infereco frontier: error: "), err
    assert "Traceback" not in err and out == ""
    assert not list(tmp_path.iterdir()), "a failed run wrote files"


def test_cli_message_names_the_file_for_errors_found_while_building_the_frontier(
    capsys, tmp_path, monkeypatch
):
    from infereco.cli.main import main

    monkeypatch.chdir(tmp_path)
    name = "scenario_negative_layers.yaml"
    assert main(["frontier", str(HOSTILE / name)]) == 1
    assert name in capsys.readouterr().err


# Hostile command-line arguments (folders, missing output folders, bad extensions, malformed lists and items,
# exclusive options) are in tests/test_cli_hostile.py; here, the corpus through the other commands that read
# scenario files.
@pytest.mark.parametrize("name", SCENARIOS)
def test_cli_compare_exits_1_with_a_one_line_message_naming_the_file(name, capsys, tmp_path, monkeypatch):
    from infereco.cli.main import main

    monkeypatch.chdir(tmp_path)
    rc = main(["compare", str(HOSTILE / name)])
    out, err = capsys.readouterr()
    assert rc == 1, f"{name}: exit code {rc}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("infereco compare: error: ") and name in lines[0], err
    assert "Traceback" not in err and out == ""
    assert not list(tmp_path.iterdir()), "a failed run wrote files"


def test_cli_folder_as_scenario(capsys, tmp_path, monkeypatch):
    from infereco.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["frontier", str(HOSTILE)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a folder" in err and str(HOSTILE) in err
