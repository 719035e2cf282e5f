"""Request lengths, serving modes and observed points through pareto_frontier, scenarios and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import infereco
from infereco import ScenarioError, SpecError, WorkloadSpec, pareto_frontier
from infereco.specs.yaml_io import load_yaml_mapping

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCENARIO_FILES = sorted(p for p in EXAMPLES.glob("*.yaml") if "model" in load_yaml_mapping(p))


def test_decode_context_defaults_to_the_steady_state_mean():
    # E[O·(P + (O − 1)/2)] / E[O] = 2000 + 299/2 = 2149.5 → 2150 for fixed lengths.
    w = WorkloadSpec.validated({"input_tokens": 2000, "output_tokens": 300})
    assert w.context_length == 2150
    assert (
        WorkloadSpec.validated(
            {"input_tokens": 2000, "output_tokens": 300, "context_length": 7}
        ).context_length
        == 7
    )


@pytest.mark.parametrize(
    "bad,field",
    [
        ({"input_tokens": 1000}, "input_tokens and output_tokens"),
        ({"input_tokens": 0, "output_tokens": 5}, "input_tokens"),
        ({"input_tokens": [1, 2], "output_tokens": [1, 2, 3]}, "samples"),
        ({"input_tokens": 10, "output_tokens": 10, "prefill_chunk_tokens": 0}, "prefill_chunk_tokens"),
    ],
)
def test_bad_lengths_name_the_field(bad, field):
    with pytest.raises(SpecError, match=field):
        WorkloadSpec.validated(bad)


def test_lengths_add_input_price_ttft_and_e2e_latency():
    f = pareto_frontier("llama-3-70b", "h100-sxm", workload={"input_tokens": 2000, "output_tokens": 300})
    c = f.columns
    for col in ("usd_per_million_input_tokens", "usd_per_million_output_tokens", "ttft_s", "e2e_latency_s"):
        assert col in c and np.all(np.isfinite(c[col])) and np.all(c[col] > 0)
    np.testing.assert_allclose(c["e2e_latency_s"], c["ttft_s"] + 300 * c["latency_s"], rtol=1e-12)
    # Prefill is arithmetic-bound and batched over the prompt: input tokens are cheaper than output tokens.
    assert np.all(c["usd_per_million_input_tokens"] < c["usd_per_million_output_tokens"])


def test_disaggregated_costs_more_per_output_token_than_decode_alone():
    w = {"input_tokens": 2000, "output_tokens": 300, "max_ttft_s": 1.0}
    decode = pareto_frontier("llama-3-70b", "h100-sxm", workload=w)
    dis = pareto_frontier("llama-3-70b", "h100-sxm", workload=w, serving={"mode": "disaggregated"})
    col = pareto_frontier("llama-3-70b", "h100-sxm", workload=w, serving={"mode": "colocated"})
    assert dis.meta["serving"] == "disaggregated" and col.meta["serving"] == "colocated"
    # Prefill GPUs are counted too, so the cheapest disaggregated point costs more than decode alone.
    assert dis.min_cost().usd_per_million_tokens > decode.min_cost().usd_per_million_tokens
    assert dis.meta["prefill_pool"]["time_s"] <= 1.0
    # Co-located prefill stalls decode: never faster than decode alone.
    assert col.max_speed().tokens_per_s_per_request <= decode.max_speed().tokens_per_s_per_request * (
        1 + 1e-9
    )


def test_serving_errors():
    with pytest.raises(SpecError, match="serving.mode"):
        pareto_frontier(
            "llama-3-8b",
            "h100-sxm",
            workload={"input_tokens": 10, "output_tokens": 10},
            serving={"mode": "teleport"},
        )
    with pytest.raises(SpecError, match="needs request lengths"):
        pareto_frontier("llama-3-8b", "h100-sxm", serving={"mode": "disaggregated"})


def test_observed_points_in_a_scenario():
    # Erdil §4: the Llama 3 70B provider point (150 tok/s, $0.90/M) lies beyond the 8-bit frontier without
    # speculative decoding.
    f = infereco.frontier_from_scenario(
        {
            "preset": "erdil-2024",
            "search": "erdil-grid",
            "model": {"base": "llama-3-70b", "weight_bits": 8},
            "hardware": "h100-sxm",
            "workload": {"context_length": 1000},
            "observed": "paper",
        }
    )
    (o,) = f.meta["observed"]
    assert o["name"].startswith("Llama 3 70B") and o["placement"] == "beyond"
    with pytest.raises(ScenarioError, match="observed"):
        infereco.frontier_from_scenario(
            {"model": "llama-3-8b", "hardware": "h100-sxm", "observed": [{"name": "x"}]}
        )


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.name for p in SCENARIO_FILES])
def test_example_scenarios_run(path):
    f = infereco.frontier_from_scenario(path)
    assert not f.empty
    assert np.all(np.isfinite(f.columns["usd_per_million_tokens"]))
