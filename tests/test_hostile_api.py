"""Hostile arguments to the Python API: every bad argument gives an `InferecoError` subclass, never a bare
TypeError/ValueError from deep inside, and never a frontier holding NaN."""

from __future__ import annotations

import math

import pytest

from infereco import InferecoError, SpecError, evaluate_point, load_hf_config, pareto_frontier
from infereco.economics.hourly_cost import (
    OwnershipCost,
    RentalCost,
    hourly_cost,
    price_usd_per_hour,
    zhuang2025_a800,
)
from infereco.economics.ownership import breakeven_utilization, capex_vs_opex
from infereco.specs.catalog import resolve_hardware
from infereco.specs.scenario import load_scenario
from infereco.specs.serving import ServingSpec
from infereco.specs.space import validate_discrete_space
from infereco.specs.workload import WorkloadSpec
from tests.test_properties_strategies import SMALL_GRID

FAST = dict(search="continuous", grid=SMALL_GRID, backend="numpy")


def _frontier(**kw):
    return pareto_frontier("llama-3-8b", "h100-sxm", **{**FAST, **kw})


CASES = {
    "pareto_frontier(workload=[])": lambda: _frontier(workload=[]),
    "negative context": lambda: _frontier(context_length=-1),
    "string context": lambda: _frontier(context_length="long"),
    "nan price": lambda: _frontier(price_usd_per_hour=math.nan),
    "zero price": lambda: _frontier(price_usd_per_hour=0.0),
    "negative demand": lambda: _frontier(max_throughput_tokens_per_s=-5.0),
    "unknown preset": lambda: _frontier(preset="erdil-2023"),
    "unknown search": lambda: pareto_frontier("llama-3-8b", "h100-sxm", search="exhaustive"),
    "unknown model": lambda: pareto_frontier("llama-4", "h100-sxm", **FAST),
    "model is a number": lambda: pareto_frontier(70, "h100-sxm", **FAST),
    "hardware base is a list": lambda: pareto_frontier("llama-3-8b", {"base": ["h100-sxm"]}, **FAST),
    "speculative without draft": lambda: _frontier(speculative={"acceptance": 0.8}),
    "speculative acceptance 2": lambda: _frontier(speculative={"draft": "llama-3-8b", "acceptance": 2.0}),
    "evaluate_point nan GPUs": lambda: evaluate_point("llama-3-8b", "h100-sxm", n_gpu=math.nan, batch_size=1),
    "evaluate_point batch 0": lambda: evaluate_point("llama-3-8b", "h100-sxm", n_gpu=1, batch_size=0),
    "evaluate_point infinite batch": lambda: evaluate_point(
        "llama-3-8b", "h100-sxm", n_gpu=1, batch_size=math.inf
    ),
    "evaluate_point negative GPUs": lambda: evaluate_point("llama-3-8b", "h100-sxm", n_gpu=-1, batch_size=1),
    "alpha inf": lambda: _frontier(alpha=math.inf).preferred(),
    "alpha nan": lambda: _frontier(alpha=math.nan).preferred(),
    "alpha negative": lambda: _frontier(alpha=-1.0).preferred(),
    "preferred(alpha=-2)": lambda: _frontier().preferred(alpha=-2.0),
    "unknown backend": lambda: _frontier(backend="torch"),
    "evaluate_point GPUs as a string": lambda: evaluate_point(
        "llama-3-8b", "h100-sxm", n_gpu="eight", batch_size=1
    ),
    # "One pipeline", item 6
    "load_scenario('')": lambda: load_scenario(""),
    "load_scenario(a folder)": lambda: load_scenario("tests"),
    "load_scenario(None)": lambda: load_scenario(None),
    "serving batch 'many'": lambda: ServingSpec.validated(
        {"mode": "colocated", "colocated_prefill_batch": "many"}
    ),
    "serving batch 0": lambda: ServingSpec.validated({"mode": "colocated", "colocated_prefill_batch": 0}),
    "serving batch -1": lambda: ServingSpec.validated({"mode": "colocated", "colocated_prefill_batch": -1}),
    "serving KV bandwidth -5": lambda: ServingSpec.validated(
        {"mode": "disaggregated", "kv_transfer_bandwidth_bytes_per_s": -5}
    ),
    "serving KV bandwidth [None]": lambda: ServingSpec.validated(
        {"mode": "disaggregated", "kv_transfer_bandwidth_bytes_per_s": [None]}
    ),
    "discrete n_batch 1e6": lambda: validate_discrete_space({"n_batch": 1e6}),
    "discrete n_batch 1e8": lambda: validate_discrete_space({"n_batch": 10**8}),
    "discrete n_batch True": lambda: validate_discrete_space({"n_batch": True}),
    "discrete memory '0.9'": lambda: validate_discrete_space({"gpu_memory_utilization": "0.9"}),
    "HF zero heads": lambda: load_hf_config(
        {
            "architectures": ["LlamaForCausalLM"],
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_hidden_layers": 32,
            "num_attention_heads": 0,
            "vocab_size": 128256,
        }
    ),
    "load_hf_config(None)": lambda: load_hf_config(None),
    "HF unreadable quantization": lambda: load_hf_config(
        {
            "architectures": ["LlamaForCausalLM"],
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "vocab_size": 128256,
            "quantization_config": {"quant_method": "hqq"},
        }
    ),
    "subnormal price": lambda: _frontier(price_usd_per_hour=1e-320),
    "subnormal hardware price": lambda: resolve_hardware({"base": "h100-sxm", "price_usd_per_hour": 1e-320}),
    "price_usd_per_hour(1e-320)": lambda: price_usd_per_hour(1e-320),
    "RentalCost price 1e-320": lambda: RentalCost(price_usd_per_hour=1e-320),
    "RentalCost price 0": lambda: RentalCost(price_usd_per_hour=0),
    "OwnershipCost(purchase_price=-1)": lambda: OwnershipCost(
        purchase_price=-1, depreciation_years=3, power_kw=0.4, electricity_price_per_kwh=0.1
    ),
    "OwnershipCost utilization 0": lambda: zhuang2025_a800(utilization=0),
    "OwnershipCost depreciation 0": lambda: zhuang2025_a800(depreciation_years=0),
    "hourly_cost depreciation 1e-320": lambda: hourly_cost(zhuang2025_a800(depreciation_years=1e-320)),
    "hourly_cost utilization 1e-320": lambda: hourly_cost(zhuang2025_a800(utilization=1e-320)),
    "breakeven at a cloud price 0": lambda: breakeven_utilization(zhuang2025_a800(), 0.0),
    "breakeven at a subnormal cloud price": lambda: breakeven_utilization(zhuang2025_a800(), 1e-320),
    "capex_vs_opex utilization 0": lambda: capex_vs_opex(zhuang2025_a800(), 2.0, 3.0, 0.0),
    "WorkloadSpec.validated([])": lambda: WorkloadSpec.validated([]),
    "resolve_hardware(missing profile)": lambda: resolve_hardware("no-such-profile.yaml"),
}
XFAIL: dict = {}  # every case above is closed; a case still open goes here with its reason


@pytest.mark.parametrize(
    "case",
    [pytest.param(k, id=k) for k in CASES]
    + [
        pytest.param(k, id=k, marks=pytest.mark.xfail(strict=True, reason=why))
        for k, (_, why) in XFAIL.items()
    ],
)
def test_bad_arguments_raise_a_library_error(case):
    fn = CASES[case] if case in CASES else XFAIL[case][0]
    with pytest.raises(InferecoError) as info:
        fn()
    assert "\n" not in str(info.value) and str(info.value)


def test_spec_classes_raise_spec_errors_not_pydantic_errors():
    import pydantic

    for make in (
        lambda: OwnershipCost(purchase_price=-1),
        lambda: RentalCost(price_usd_per_hour=-2.0),
        lambda: WorkloadSpec(context_length=-1),
        lambda: ServingSpec(mode="both"),
    ):
        with pytest.raises(SpecError) as info:
            make()
        assert not isinstance(info.value, pydantic.ValidationError)
        assert "\n" not in str(info.value)


def test_spec_errors_are_value_errors_too():
    """Callers that catch ValueError (pydantic's habit) keep working."""
    with pytest.raises(ValueError):
        _frontier(context_length=-1)
    assert issubclass(SpecError, ValueError)
