"""Hostile serving and search options, scenario sources, speculative limits ("One pipeline", item 6).

`ServingSpec` (infereco/specs/serving.py) and `validate_discrete_space` (infereco/specs/search.py) are checked
directly and through `load_scenario`; every error is one `SpecError` / `ScenarioError` line naming the field,
the value and what was expected.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pydantic
import pytest

from infereco import InferecoError, ScenarioError, SpecError, pareto_frontier
from infereco.search.discrete import DiscreteSpace
from infereco.specs.scenario import load_scenario
from infereco.specs.serving import SERVING_MODES, ServingSpec
from infereco.specs.space import KNOWN_KEYS, MAX_N_BATCH, validate_discrete_space
from infereco.specs.workload import WorkloadSpec


def _one_line(exc: BaseException, *needles: str) -> None:
    msg = str(exc)
    assert msg and "\n" not in msg, repr(msg)
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)


# ---- ServingSpec -------------------------------------------------------------------------------------------
def test_serving_accepts_none_a_mode_name_or_a_mapping():
    assert ServingSpec.validated(None) == ServingSpec() and ServingSpec().mode == "decode_only"
    assert ServingSpec.validated("disaggregated") == ServingSpec.validated({"mode": "disaggregated"})
    for mode in SERVING_MODES:
        assert ServingSpec.validated(mode).to_mapping() == {"mode": mode}
    spec = ServingSpec.validated(
        {"mode": "colocated", "colocated_prefill_batch": 8, "kv_transfer_bandwidth_bytes_per_s": 5e10}
    )
    assert spec.options() == {"colocated_prefill_batch": 8.0, "kv_transfer_bandwidth_bytes_per_s": 5e10}
    assert (
        ServingSpec.validated({"mode": "disaggregated", "kv_transfer_bandwidth_bytes_per_s": None}).options()
        == {}
    )
    with pytest.raises(pydantic.ValidationError):  # frozen
        spec.mode = "decode_only"


BAD_SERVING = {
    "batch 'many'": (
        {"mode": "colocated", "colocated_prefill_batch": "many"},
        ("colocated_prefill_batch", "'many'"),
    ),
    "batch 0": ({"mode": "colocated", "colocated_prefill_batch": 0}, ("colocated_prefill_batch", "1")),
    "batch -1": ({"mode": "colocated", "colocated_prefill_batch": -1}, ("colocated_prefill_batch", "-1")),
    "batch '8'": (
        {"mode": "colocated", "colocated_prefill_batch": "8"},
        ("colocated_prefill_batch", "a number"),
    ),
    "batch true": (
        {"mode": "colocated", "colocated_prefill_batch": True},
        ("colocated_prefill_batch", "boolean"),
    ),
    "batch nan": (
        {"mode": "colocated", "colocated_prefill_batch": math.nan},
        ("colocated_prefill_batch", "finite"),
    ),
    "batch huge": ({"mode": "colocated", "colocated_prefill_batch": 1e300}, ("colocated_prefill_batch",)),
    "kv -5": (
        {"mode": "disaggregated", "kv_transfer_bandwidth_bytes_per_s": -5},
        ("kv_transfer_bandwidth_bytes_per_s", "-5", "greater than 0"),
    ),
    "kv [null]": (
        {"mode": "disaggregated", "kv_transfer_bandwidth_bytes_per_s": [None]},
        ("kv_transfer_bandwidth_bytes_per_s", "[None]"),
    ),
    "kv inf": (
        {"mode": "disaggregated", "kv_transfer_bandwidth_bytes_per_s": math.inf},
        ("kv_transfer_bandwidth_bytes_per_s", "finite"),
    ),
    "kv in GB/s": (
        {"mode": "disaggregated", "kv_transfer_bandwidth_bytes_per_s": 50},
        ("kv_transfer_bandwidth_bytes_per_s", "bytes/s"),
    ),
    "kv subnormal": (
        {"mode": "disaggregated", "kv_transfer_bandwidth_bytes_per_s": 1e-320},
        ("kv_transfer_bandwidth_bytes_per_s",),
    ),
    "unknown key": (
        {"mode": "colocated", "colocated_prefil_batch": 2},
        ("did you mean 'colocated_prefill_batch'",),
    ),
    "unknown mode": ("disagregated", ("mode", "did you mean 'disaggregated'")),
    "mode a number": ({"mode": 3}, ("mode", "decode_only")),
    "options without a mode": ({"colocated_prefill_batch": 4}, ("colocated_prefill_batch", "set mode")),
    "a list": (["colocated"], ("serving", "mode name")),
    "a number": (2, ("serving", "mapping")),
    "a key that is not a string": ({1: 2}, ("serving", "key 1")),
}


@pytest.mark.parametrize("case", list(BAD_SERVING))
def test_bad_serving_options_name_the_field(case):
    value, needles = BAD_SERVING[case]
    with pytest.raises(SpecError) as info:
        ServingSpec.validated(value)
    _one_line(info.value, "serving", *needles)


def test_serving_where_names_the_source():
    with pytest.raises(SpecError, match=r"^run\.yaml: serving"):
        ServingSpec.validated({"mode": "colocated", "colocated_prefill_batch": 0}, where="run.yaml: serving")


@pytest.mark.parametrize(
    "case", ["batch 'many'", "batch 0", "batch -1", "kv -5", "kv [null]", "unknown mode"]
)
def test_load_scenario_checks_serving(case):
    value, needles = BAD_SERVING[case]
    with pytest.raises(ScenarioError) as info:
        load_scenario({"model": "llama-3-8b", "hardware": "h100-sxm", "serving": value})
    _one_line(info.value, "scenario:", *needles)


def test_scenario_serving_shorthand():
    s = load_scenario("model: llama-3-8b\nhardware: h100-sxm\nserving: disaggregated\n")
    assert s.serving == {"mode": "disaggregated"}
    assert load_scenario(s.to_yaml()) == s


# ---- discrete search options -------------------------------------------------------------------------------
def test_discrete_keys_are_the_fields_of_discrete_space():
    assert set(KNOWN_KEYS) == {f.name for f in dataclasses.fields(DiscreteSpace)}


def test_discrete_space_round_trip_and_cleaning():
    assert DiscreteSpace(**validate_discrete_space(DiscreteSpace())) == DiscreteSpace()
    assert validate_discrete_space(None) == {}
    out = validate_discrete_space(
        {
            "n_batch": 64.0,
            "engine": "SGLang",
            "pp_degrees": [1, 2, 4],
            "gpu_memory_utilization": 1,
            "max_batch": np.int64(512),
            "allow_2d": False,
        }
    )
    assert out == {
        "n_batch": 64,
        "engine": "sglang",
        "pp_degrees": (1, 2, 4),
        "gpu_memory_utilization": 1.0,
        "max_batch": 512,
        "allow_2d": False,
    }
    assert type(out["max_batch"]) is int
    DiscreteSpace(**out)
    assert (
        validate_discrete_space(
            {
                "n_batch": MAX_N_BATCH,
                "max_configs_per_call": 2**24,
                "max_gpus_per_instance": 4096,
                "max_batch": 2**20,
            }
        )["n_batch"]
        == 4096
    )


BAD_DISCRETE = {
    "n_batch 1e6": ({"n_batch": 1e6}, ("discrete.n_batch", "4096")),
    "n_batch 1e8": ({"n_batch": 10**8}, ("discrete.n_batch", "100000000", "4096")),
    "n_batch '1e6'": ({"n_batch": "1e6"}, ("discrete.n_batch", "1.0e6")),
    "n_batch True": ({"n_batch": True}, ("discrete.n_batch", "boolean")),
    "n_batch 0": ({"n_batch": 0}, ("discrete.n_batch", "from 1")),
    "n_batch 2.5": ({"n_batch": 2.5}, ("discrete.n_batch", "integer")),
    "n_batch nan": ({"n_batch": math.nan}, ("discrete.n_batch", "integer")),
    "max_batch 2**21": ({"max_batch": 2**21}, ("discrete.max_batch", "1048576")),
    "max_gpus 10**6": ({"max_gpus_per_instance": 10**6}, ("discrete.max_gpus_per_instance", "4096")),
    "max_configs 2**25": ({"max_configs_per_call": 2**25}, ("discrete.max_configs_per_call",)),
    "memory '0.9'": (
        {"gpu_memory_utilization": "0.9"},
        ("discrete.gpu_memory_utilization", "'0.9'", "a number"),
    ),
    "memory 0": ({"gpu_memory_utilization": 0}, ("discrete.gpu_memory_utilization", "(0, 1]")),
    "memory 90": ({"gpu_memory_utilization": 90}, ("discrete.gpu_memory_utilization", "(0, 1]")),
    "memory True": ({"gpu_memory_utilization": True}, ("discrete.gpu_memory_utilization", "boolean")),
    "memory nan": ({"gpu_memory_utilization": math.nan}, ("discrete.gpu_memory_utilization",)),
    "pp empty": ({"pp_degrees": []}, ("discrete.pp_degrees", "non-empty")),
    "pp 0": ({"pp_degrees": [1, 0]}, ("discrete.pp_degrees[1]",)),
    "pp bool": ({"pp_degrees": [True]}, ("discrete.pp_degrees[0]", "boolean")),
    "pp twice": ({"pp_degrees": [2, 2]}, ("discrete.pp_degrees", "twice")),
    "pp a number": ({"pp_degrees": 4}, ("discrete.pp_degrees", "list")),
    "allow_2d 1": ({"allow_2d": 1}, ("discrete.allow_2d", "true or false")),
    "attention_dp 'yes'": ({"attention_dp": "yes"}, ("discrete.attention_dp", "true or false")),
    "pp_bubble None": ({"pp_bubble": None}, ("discrete.pp_bubble", "true or false")),
    "engine vlm": ({"engine": "vlm"}, ("discrete.engine", "did you mean 'vllm'", "sglang")),
    "engine 3": ({"engine": 3}, ("discrete.engine", "engine name")),
    "unknown key": ({"nbatch": 3}, ("discrete.nbatch", "did you mean 'n_batch'")),
    "a list": ([1], ("discrete", "mapping")),
}


@pytest.mark.parametrize("case", list(BAD_DISCRETE))
def test_bad_discrete_options_name_the_field(case):
    value, needles = BAD_DISCRETE[case]
    with pytest.raises(SpecError) as info:
        validate_discrete_space(value)
    _one_line(info.value, *needles)


def test_discrete_where():
    with pytest.raises(SpecError, match=r"^space\.n_batch = 0"):
        validate_discrete_space({"n_batch": 0}, where="space")


@pytest.mark.parametrize("case", ["n_batch 1e6", "n_batch 1e8", "memory '0.9'", "unknown key", "engine vlm"])
def test_load_scenario_checks_discrete(case):
    value, needles = BAD_DISCRETE[case]
    with pytest.raises(ScenarioError) as info:
        load_scenario({"model": "llama-3-8b", "hardware": "h100-sxm", "discrete": value})
    _one_line(info.value, "scenario:", *needles)


# ---- scenario sources --------------------------------------------------------------------------------------
def test_load_scenario_empty_string_folder_and_wrong_types(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario("")
    _one_line(info.value, "empty")
    with pytest.raises(ScenarioError) as info:
        load_scenario("   ")
    _one_line(info.value, "empty")
    for folder in (tmp_path, str(tmp_path), tmp_path / "x.yaml"):
        if str(folder).endswith(".yaml"):
            folder.mkdir()
        with pytest.raises(ScenarioError) as info:
            load_scenario(folder)
        _one_line(info.value, str(folder), "folder")
    for value in (None, 3, b"model: x", ["model"]):
        with pytest.raises(ScenarioError) as info:
            load_scenario(value)
        _one_line(info.value, "scenario")


# ---- workload given a list ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [[], [("context_length", 10)], "1000", 1000, None])
def test_workload_spec_needs_a_mapping(value):
    with pytest.raises(SpecError) as info:
        WorkloadSpec.validated(value)
    _one_line(info.value, "workload", "mapping")


def test_specs_constructed_directly_raise_spec_errors():
    from infereco.specs.hardware import HardwareSpec
    from infereco.specs.model import ModelSpec

    for make in (
        lambda: WorkloadSpec(context_length=-1),
        lambda: ModelSpec(d_model=0),
        lambda: HardwareSpec(flop_per_s={16: 1e15}, hbm_bandwidth_bytes_per_s=-1, hbm_capacity_bytes=8e10),
        lambda: ServingSpec(mode="both"),
    ):
        with pytest.raises(SpecError) as info:
            make()
        _one_line(info.value)


# ---- speculative decoding at the limits α = 0 and α = 1 ----------------------------------------------------
def test_acceptance_zero_is_the_no_speculation_limit():
    plain = pareto_frontier("llama-3-70b", "h100-sxm", context_length=1000)
    spec = pareto_frontier(
        "llama-3-70b", "h100-sxm", context_length=1000, speculative={"draft": "llama-3-8b", "acceptance": 0.0}
    )
    fast, want = spec.max_speed(), plain.max_speed()
    assert fast.gamma == 0
    assert fast.tokens_per_s_per_request == pytest.approx(want.tokens_per_s_per_request, rel=1e-12)
    assert fast.usd_per_million_tokens == pytest.approx(want.usd_per_million_tokens, rel=1e-12)
    assert set(np.asarray(spec.columns["gamma"]).tolist()) == {0}


@pytest.mark.parametrize("convention", ["notebook", "paper"])
@pytest.mark.parametrize("acceptance", [0.0, 1.0])
def test_acceptance_limits_give_finite_frontiers(acceptance, convention):
    from tests.test_properties_strategies import SMALL_GRID

    f = pareto_frontier(
        "llama-3-70b",
        "h100-sxm",
        context_length=1000,
        search="continuous",
        backend="numpy",
        grid=SMALL_GRID,
        speculative={
            "draft": "llama-3-8b",
            "acceptance": acceptance,
            "max_draft_tokens": 4,
            "convention": convention,
        },
    )
    assert not f.empty
    for name in ("latency_s", "usd_per_million_tokens", "tokens_per_s_per_request"):
        assert np.all(np.isfinite(np.asarray(f.columns[name], float))), name
    if acceptance == 1.0:
        assert f.max_speed().gamma > 0


def test_expected_tokens_per_pass_at_the_limits():
    from infereco.physics.speculative import expected_tokens_per_pass

    for xp in (np, None):
        kw = {} if xp is None else {"xp": xp}
        assert float(expected_tokens_per_pass(0.0, 4, "notebook", **kw)) == 1.0
        assert float(expected_tokens_per_pass(0.0, 4, "paper", **kw)) == 1.0
        assert float(expected_tokens_per_pass(1.0, 4, "notebook", **kw)) == 5.0
        assert float(expected_tokens_per_pass(1.0, 4, "paper", **kw)) == 4.0
        near = float(expected_tokens_per_pass(1.0 - 1e-12, 4, "notebook", **kw))
        assert near == pytest.approx(5.0, rel=1e-9)


@pytest.mark.parametrize("acceptance", [-0.1, 1.01, math.nan, math.inf, "high", True, None])
def test_acceptance_out_of_range_is_refused(acceptance):
    with pytest.raises(InferecoError) as info:
        pareto_frontier(
            "llama-3-8b",
            "h100-sxm",
            search="continuous",
            backend="numpy",
            speculative={"draft": "llama-3-8b", "acceptance": acceptance},
        )
    _one_line(info.value, "acceptance")
