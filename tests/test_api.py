"""The public API: pareto_frontier, Frontier methods, evaluate_point, scenario files, validation errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import infereco
from infereco import (
    CatalogError,
    InfeasibleError,
    ScenarioError,
    SpecError,
    evaluate_point,
    load_hardware,
    load_model,
    pareto_frontier,
)
from infereco.api import frontier_from_scenario


@pytest.fixture(scope="module")
def f70():
    return pareto_frontier(load_model("llama-3-70b"), load_hardware("h100-sxm"), context_length=1000)


def test_frontier_points_have_the_promised_fields(f70):
    p = f70.max_speed()
    for field in (
        "tokens_per_s_per_request",
        "usd_per_million_tokens",
        "n_gpu",
        "batch_size",
        "mfu",
        "bound",
        "tp",
        "pp",
        "tp_2d",
    ):
        assert field in p.to_dict()
    assert p.bound in ("memory", "compute", "network", "latency")
    assert 0 < p.mfu < 1
    assert p.tokens_per_s_per_request == f70.columns["tokens_per_s_per_request"].max()


def test_preferred_maximises_speed_power_over_price(f70):
    x = f70.columns["tokens_per_s_per_request"]
    y = f70.columns["usd_per_million_tokens"]
    for alpha in (0, 1, 3, 4, 8):
        p = f70.preferred(alpha=alpha)
        assert p.tokens_per_s_per_request**alpha / p.usd_per_million_tokens == pytest.approx(
            np.max(x**alpha / y), rel=1e-12
        )
    assert f70.preferred(alpha=0).usd_per_million_tokens == pytest.approx(y.min())


def test_records_are_json_ready_and_finite(f70):
    recs = f70.to_records()
    text = json.dumps(recs, allow_nan=False)
    assert len(json.loads(text)) == len(f70)
    for r in recs:
        for k, v in r.items():
            if isinstance(v, float):
                assert math.isfinite(v), k


def test_cost_at_speed_interpolates_and_is_inf_beyond_max(f70):
    top = f70.max_speed().tokens_per_s_per_request
    assert f70.cost_at_speed(top * 1.01) == math.inf
    mid = f70.cost_at_speed(top / 2)
    assert f70.min_cost().usd_per_million_tokens <= mid <= f70.max_speed().usd_per_million_tokens


def test_evaluate_point_reevaluates_a_frontier_point(f70):
    p = f70.preferred()
    q = evaluate_point(
        "llama-3-70b",
        "h100-sxm",
        tp=int(p.tp),
        ep=int(p.ep),
        pp=int(p.pp),
        tp_2d=p.tp_2d,
        batch_size=p.batch_size,
        context_length=1000,
    )
    assert q["tokens_per_s_per_request"] == pytest.approx(p.tokens_per_s_per_request, rel=1e-12)
    assert q["usd_per_million_tokens"] == pytest.approx(p.usd_per_million_tokens, rel=1e-12)


def test_evaluate_point_raises_infeasible_instead_of_a_number():
    # One contract with cost_elasticities: an infeasible deployment raises InfeasibleError with its reason.
    with pytest.raises(InfeasibleError, match="does not fit"):
        evaluate_point("llama-3-70b", "h100-sxm", n_gpu=1, batch_size=1)
    with pytest.raises(InfeasibleError, match="does not fit"):
        evaluate_point("llama-3-70b", "h100-sxm", tp=1, batch_size=1)
    with pytest.raises(InfeasibleError, match="not a valid layout"):
        evaluate_point("llama-3-70b", "h100-sxm", tp=3, batch_size=1)


def test_model_that_fits_nowhere_gives_an_empty_frontier_with_a_reason():
    tiny_hbm = {"base": "h100-sxm", "hbm_capacity_bytes": 1e6}
    f = pareto_frontier("llama-3-70b", tiny_hbm, context_length=1_000_000)
    assert f.empty and "does not fit" in f.reason
    with pytest.raises(InfeasibleError):
        f.max_speed()
    out = json.loads(f.to_json())
    assert out["points"] == [] and out["max_speed"] is None


def test_demand_cap_shrinks_the_frontier():
    capped = pareto_frontier(
        "llama-3-8b",
        "h100-sxm",
        context_length=1,
        max_throughput_tokens_per_s=1e4,
        preset="erdil-2024",
        search="erdil-grid",
    )
    free = pareto_frontier(
        "llama-3-8b", "h100-sxm", context_length=1, preset="erdil-2024", search="erdil-grid"
    )
    assert capped.min_cost().usd_per_million_tokens >= free.min_cost().usd_per_million_tokens
    assert np.all(capped.columns["throughput_tokens_per_s"] <= 1e4 * (1 + 1e-12))


def test_price_scales_cost_exactly():
    a = pareto_frontier("llama-3-8b", "h100-sxm", price_usd_per_hour=2.0, search="continuous")
    b = pareto_frontier("llama-3-8b", "h100-sxm", price_usd_per_hour=5.0, search="continuous")
    np.testing.assert_allclose(
        b.columns["usd_per_million_tokens"], 2.5 * a.columns["usd_per_million_tokens"], rtol=1e-12
    )


# ---- bad input: one line naming the field ------------------------------------------------------------------
@pytest.mark.parametrize(
    "override,field",
    [
        ({"hbm_bandwidth_bytes_per_s": -3.3e12}, "hbm_bandwidth_bytes_per_s"),
        ({"hbm_bandwidth_bytes_per_s": 3.35}, "hbm_bandwidth_bytes_per_s"),  # TB/s where bytes/s is expected
        ({"node_size": 0}, "node_size"),
        ({"flop_per_s": {16: -1}}, "flop_per_s"),
        ({"hbm_bandwith_bytes_per_s": 3e12}, "hbm_bandwith_bytes_per_s"),  # typo
    ],
)
def test_bad_hardware_names_the_field(override, field):
    with pytest.raises(SpecError) as exc:
        pareto_frontier("llama-3-8b", {"base": "h100-sxm", **override})
    msg = str(exc.value)
    assert field in msg and "\n" not in msg


@pytest.mark.parametrize(
    "override,field",
    [
        ({"n_layers": 0}, "n_layers"),
        ({"n_kv_heads": 5}, "n_kv_heads"),
        ({"d_model": -4096}, "d_model"),
        ({"weight_bits": 7}, "weight_bits"),
        ({"n_layer": 32}, "n_layer"),
    ],
)
def test_bad_model_names_the_field(override, field):
    with pytest.raises(SpecError) as exc:
        pareto_frontier({"base": "llama-3-8b", **override}, "h100-sxm")
    assert field in str(exc.value) and "\n" not in str(exc.value)


def test_typo_suggests_the_right_key():
    with pytest.raises(SpecError, match="did you mean 'n_layers'"):
        pareto_frontier({"base": "llama-3-8b", "n_layer": 32}, "h100-sxm")


def test_unknown_ids_list_the_known_ones():
    with pytest.raises(CatalogError) as exc:
        load_model("llama-9-1t")
    assert "llama-3-70b" in str(exc.value)
    with pytest.raises(CatalogError) as exc:
        load_hardware("h1000")
    assert "h100-sxm" in str(exc.value) and "Did you mean" in str(exc.value)


def test_unknown_preset_and_search():
    with pytest.raises(SpecError, match="known presets"):
        pareto_frontier("llama-3-8b", "h100-sxm", preset="erdil-2023")
    with pytest.raises(SpecError, match="known searches"):
        pareto_frontier("llama-3-8b", "h100-sxm", search="grid-of-dreams")


# ---- scenario files ----------------------------------------------------------------------------------------
SCENARIO = """
preset: erdil-2024
search: erdil-grid
model: {base: llama-3-70b, weight_bits: 8}
hardware: h100-sxm
workload: {context_length: 1000, max_throughput_tokens_per_s: 1.0e6}
"""


def test_scenario_file_and_mapping_agree(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    a = frontier_from_scenario(path)
    b = infereco.frontier_from_scenario(
        {
            "preset": "erdil-2024",
            "search": "erdil-grid",
            "model": {"base": "llama-3-70b", "weight_bits": 8},
            "hardware": "h100-sxm",
            "workload": {"context_length": 1000, "max_throughput_tokens_per_s": 1e6},
        }
    )
    np.testing.assert_array_equal(a.columns["usd_per_million_tokens"], b.columns["usd_per_million_tokens"])


def test_scenario_typo_names_file_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(SCENARIO.replace("workload:", "workoad:"))
    with pytest.raises(ScenarioError) as exc:
        frontier_from_scenario(path)
    assert str(path) in str(exc.value) and "workoad" in str(exc.value)


def test_scenario_bad_override_names_file_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(SCENARIO.replace("weight_bits: 8", "weight_bits: 8, n_layers: -3"))
    with pytest.raises(ScenarioError) as exc:
        frontier_from_scenario(path)
    assert str(path) in str(exc.value) and "n_layers" in str(exc.value)


def test_scenario_with_speculative_decoding():
    f = frontier_from_scenario(
        {
            "preset": "erdil-2024",
            "search": "erdil-grid",
            "model": "llama-3-70b",
            "hardware": "h100-sxm",
            "workload": {"context_length": 1},
            "speculative": {
                "draft": {"base": "llama-3-8b", "n_kv_heads": 1},
                "acceptance": 0.8,
                "max_draft_tokens": 6,
            },
        }
    )
    plain = pareto_frontier(
        "llama-3-70b", "h100-sxm", context_length=1, preset="erdil-2024", search="erdil-grid"
    )
    assert f.max_speed().tokens_per_s_per_request > 1.3 * plain.max_speed().tokens_per_s_per_request
    assert 1 <= f.max_speed().gamma <= 6


def test_draft_and_target_share_hbm_outside_the_reference_preset():
    # Llama 3 70B (141 GB) + Llama 3 8B draft (16 GB) on 70.8 GB accelerators: with speculative decoding an
    # instance needs at least (141.1 + 16.1) / 70.8 ≈ 2.22 of them; the erdil-2024 preset (like the notebook)
    # checks each model on its own, so 141.1 / 70.8 ≈ 1.99 is enough there.
    hw = {"base": "h100-sxm", "hbm_capacity_bytes": 70.8e9}
    spec = {"draft": "llama-3-8b", "acceptance": 0.8, "max_draft_tokens": 4}
    smallest = {}
    for preset in ("default", "erdil-2024"):
        f = pareto_frontier(
            "llama-3-70b", hw, context_length=1, search="continuous", preset=preset, speculative=spec
        )
        smallest[preset] = min(p.n_gpu for p in f if p.gamma > 0)
    both = (
        load_model("llama-3-70b").weight_memory_bytes + load_model("llama-3-8b").weight_memory_bytes
    ) / 70.8e9
    assert smallest["default"] >= both
    assert smallest["erdil-2024"] < both
