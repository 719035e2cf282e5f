"""One pipeline: resolve → search → price → serve. Every entry point returns the same columns for the same
inputs, results are immutable, and re-pricing can never leave a $ column stale."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from infereco import (
    cost_elasticities,
    cost_uncertainty,
    evaluate_point,
    pareto_frontier,
    reprice_frontier,
    sweep,
)
from infereco.errors import InfeasibleError, SpecError
from infereco.frontier import USD_COLUMNS, Frontier
from infereco.search.base import SearchStrategy
from infereco.search.strategies import STRATEGIES, get_search
from infereco.specs.deployment import Deployment, resolve
from infereco.units import SECONDS_PER_HOUR

LENGTHS = {"input_tokens": 1500, "output_tokens": 300}
SPACE = {"max_gpus_per_instance": 8}


@pytest.fixture(scope="module")
def with_lengths():
    return pareto_frontier("llama-3-8b", "h100-sxm", workload=LENGTHS, space=SPACE)


def test_resolve_gives_one_frozen_deployment():
    d = resolve(
        "llama-3-8b", "h100-sxm", context_length=2000, space=SPACE, serving="colocated", workload=LENGTHS
    )
    assert (
        isinstance(d, Deployment) and d.workload.context_length == 2000 and d.space.max_gpus_per_instance == 8
    )
    assert d.serving.mode == "colocated"
    with pytest.raises(AttributeError):
        d.model = None  # frozen


def test_search_strategies_share_one_protocol():
    assert set(STRATEGIES) == {"discrete", "erdil-grid", "continuous"}
    for s in STRATEGIES.values():
        assert isinstance(s, SearchStrategy)
    with pytest.raises(SpecError, match="known searches"):
        get_search("exhaustive")


def test_every_usd_column_is_gpu_seconds_times_price(with_lengths):
    f = with_lengths
    price = f.price_usd_per_hour
    present = [u for u in USD_COLUMNS if u in f.columns]
    assert {"usd_per_million_tokens", "usd_per_million_input_tokens", "usd_per_million_output_tokens"} <= set(
        present
    )
    for usd in present:
        gpu_s = f.columns[USD_COLUMNS[usd]]
        np.testing.assert_allclose(f.columns[usd], gpu_s * price / SECONDS_PER_HOUR * 1e6, rtol=1e-15)


@pytest.mark.parametrize("how", ["with_price", "reprice_frontier"])
def test_repricing_scales_every_usd_column(with_lengths, how):
    f = with_lengths
    g = (
        f.with_price(2.5 * f.price_usd_per_hour)
        if how == "with_price"
        else reprice_frontier(f, 2.5 * f.price_usd_per_hour)
    )
    for usd in USD_COLUMNS:
        if usd in f.columns:  # before the fix, usd_per_million_output_tokens stayed at the old price
            np.testing.assert_allclose(g.columns[usd], 2.5 * f.columns[usd], rtol=1e-14)
    np.testing.assert_array_equal(
        g.columns["tokens_per_s_per_request"], f.columns["tokens_per_s_per_request"]
    )
    assert g.meta["price_usd_per_hour"] == pytest.approx(2.5 * f.price_usd_per_hour)


def test_frontier_is_immutable(with_lengths):
    f = with_lengths
    with pytest.raises((TypeError, ValueError)):
        f.columns["tp"] = np.zeros(len(f))
    with pytest.raises(ValueError):
        f.columns["tp"][0] = 99.0
    with pytest.raises(TypeError):
        f.meta["model"] = "x"
    with pytest.raises(AttributeError):
        f.reason = "x"
    g = f.with_meta(note="copy")
    assert g.meta["note"] == "copy" and "note" not in f.meta


def test_frontier_pickles(with_lengths):
    g = pickle.loads(pickle.dumps(with_lengths))
    assert isinstance(g, Frontier) and len(g) == len(with_lengths)
    np.testing.assert_array_equal(
        g.columns["usd_per_million_input_tokens"], with_lengths.columns["usd_per_million_input_tokens"]
    )


def test_a_usd_column_without_a_price_is_refused():
    with pytest.raises(SpecError, match="price_usd_per_hour"):
        Frontier({"tokens_per_s_per_request": [1.0], "usd_per_million_tokens": [2.0]})


def test_sweep_frontier_point_and_sensitivities_agree(with_lengths):
    f = with_lengths
    p = f.preferred()
    r = sweep(
        "llama-3-8b",
        "h100-sxm",
        [with_lengths.meta["context_length"]],
        workload=LENGTHS,
        space=SPACE,
        progress=False,
    )
    row = r.rows[0]
    for k, v in p.to_dict().items():  # same columns, same numbers (counts as integers)
        got = row[f"preferred_{k}"]
        assert got == pytest.approx(v, rel=1e-12) if isinstance(v, float) else got == v, k
    assert "preferred_usd_per_million_input_tokens" in row  # the sweep used to drop input prices
    q = evaluate_point(
        "llama-3-8b",
        "h100-sxm",
        tp=int(p.tp),
        ep=int(p.ep),
        pp=int(p.pp),
        tp_2d=p.tp_2d,
        batch_size=p.batch_size,
        workload=LENGTHS,
    )
    for k in (
        "usd_per_million_tokens",
        "usd_per_million_input_tokens",
        "usd_per_million_output_tokens",
        "ttft_s",
        "e2e_latency_s",
        "tokens_per_s_per_request",
        "mfu",
        "bound",
    ):
        assert q[k] == pytest.approx(p[k], rel=1e-12) if isinstance(q[k], float) else q[k] == p[k], k
    ctx = with_lengths.meta["context_length"]
    e = cost_elasticities("llama-3-8b", "h100-sxm", point=p, context_length=ctx)
    assert e.nominal_usd_per_million_tokens == pytest.approx(p.usd_per_million_tokens, rel=1e-9)
    u = cost_uncertainty(
        "llama-3-8b",
        "h100-sxm",
        point=p,
        context_length=ctx,
        distributions={"price_usd_per_hour": ("uniform", 2.0, 3.0)},
        n_samples=64,
    )
    assert u.nominal_usd_per_million_tokens == pytest.approx(p.usd_per_million_tokens, rel=1e-9)


def test_sweep_takes_search_options_and_checks_inputs_first():
    r = sweep(
        ["llama-3-8b"],
        ["h100-sxm"],
        [1000],
        space={"max_gpus_per_instance": 2, "engine": "sglang"},
        progress=False,
    )
    assert r.rows[0]["max_speed_n_gpu"] <= 2
    with pytest.raises(SpecError, match="max_gpus_per_instance"):
        sweep(["llama-3-8b"], ["h100-sxm"], [1000], space={"max_gpus_per_instance": "8"}, progress=False)


# ---- hostile input at the Python edge: the library's one-line error, before any computing -----------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"batch_size": 1e300, "tp": 1}, "batch_size"),
        ({"batch_size": float("nan"), "tp": 1}, "batch_size"),
        ({"batch_size": 8, "tp": float("nan")}, "tp"),
        ({"batch_size": 8, "tp": float("inf")}, "tp"),
        ({"batch_size": 8, "tp": 1.5}, "tp"),
        ({"batch_size": 8, "tp": True}, "tp"),
        ({"batch_size": 8}, "exactly one of"),
        ({"batch_size": 8, "tp": 1, "n_gpu": 1}, "exactly one of"),
        ({"batch_size": 8, "n_gpu": float("inf")}, "n_gpu"),
        ({"batch_size": 8, "tp": 1, "tp_2d": "yes"}, "tp_2d"),
    ],
)
def test_evaluate_point_rejects_hostile_numbers(kwargs, match):
    with pytest.raises(SpecError, match=match):
        evaluate_point("llama-3-8b", "h100-sxm", **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"workload": []}, "workload"),
        ({"workload": "long"}, "workload"),
        ({"space": {"gpu_memory_utilization": "0.9"}}, "gpu_memory_utilization"),
        ({"space": {"n_batch": 10**6}}, "n_batch"),
        ({"space": {"n_batch": 1e8}}, "n_batch"),
        ({"space": {"n_batch": True}}, "n_batch"),
        ({"space": {"max_gpus_per_instance": 10**9}}, "max_gpus_per_instance"),
        ({"space": {"engine": "tgi"}}, "engine"),
        ({"space": {"n_bacth": 8}}, "did you mean 'n_batch'"),
        ({"space": "fast"}, "discrete"),
        ({"serving": "disaggregated"}, "request lengths"),
        ({"serving": "split", "workload": LENGTHS}, "serving.mode"),
        (
            {"serving": {"mode": "colocated", "colocated_prefill_batch": "many"}, "workload": LENGTHS},
            "colocated_prefill_batch",
        ),
        (
            {"serving": {"mode": "colocated", "colocated_prefill_batch": 0}, "workload": LENGTHS},
            "colocated_prefill_batch",
        ),
        (
            {"serving": {"mode": "colocated", "colocated_prefill_batch": -1}, "workload": LENGTHS},
            "colocated_prefill_batch",
        ),
        (
            {
                "serving": {"mode": "disaggregated", "kv_transfer_bandwidth_bytes_per_s": -5},
                "workload": LENGTHS,
            },
            "kv_transfer_bandwidth_bytes_per_s",
        ),
        (
            {
                "serving": {"mode": "disaggregated", "kv_transfer_bandwidth_bytes_per_s": [None]},
                "workload": LENGTHS,
            },
            "kv_transfer_bandwidth_bytes_per_s",
        ),
        ({"price_usd_per_hour": 1e-320}, "price_usd_per_hour"),
        ({"alpha": float("nan")}, "alpha"),
        ({"search": "exhaustive"}, "search"),
        ({"backend": "torch"}, "backend"),
    ],
)
def test_pareto_frontier_rejects_hostile_options(kwargs, match):
    with pytest.raises(SpecError, match=match):
        pareto_frontier("llama-3-8b", "h100-sxm", **kwargs)


def test_disaggregated_serving_as_a_string_is_accepted():
    f = pareto_frontier("llama-3-8b", "h100-sxm", workload=LENGTHS, space=SPACE, serving="disaggregated")
    assert f.meta["serving"] == "disaggregated" and np.all(f.columns["ttft_s"] > 0)
    g = pareto_frontier(
        "llama-3-8b",
        "h100-sxm",
        workload=LENGTHS,
        space=SPACE,
        serving={"mode": "disaggregated", "kv_transfer_bandwidth_bytes_per_s": 5e10},
    )
    assert np.all(g.columns["ttft_s"] >= f.columns["ttft_s"].min())  # the KV transfer only adds time


def test_infeasible_point_raises_with_its_reason():
    with pytest.raises(InfeasibleError, match="does not fit"):
        evaluate_point("llama-3-70b", "h100-sxm", tp=1, batch_size=1)


def test_resolve_takes_every_form_of_model_and_hardware():
    data = Path(__file__).resolve().parent / "data"
    config = data / "hf_configs" / "qwen3-8b.json"
    by_path = resolve(str(config), "h100-sxm")
    by_mapping = resolve({"config": str(config), "weight_bits": 8}, "h100-sxm")
    assert by_path.model.n_layers == 36 and by_path.model.weight_bits == 16  # Qwen3-8B: 36 layers, bf16
    assert by_mapping.model.weight_bits == 8
    profile = data / "calibration" / "cpu-2core-sandbox.yaml"
    d = resolve(data / "calibration" / "tiny-llama.yaml", str(profile))
    assert d.model.d_model == 512 and d.hardware.node_size == 1
    with pytest.raises(SpecError, match="base or config"):
        resolve({"config": str(config), "base": "llama-3-8b"}, "h100-sxm")


def test_an_explicit_context_wins_over_the_workload_in_evaluate_point():
    at_8k = evaluate_point("llama-3-8b", "h100-sxm", tp=1, batch_size=8, context_length=8000)
    both = evaluate_point("llama-3-8b", "h100-sxm", tp=1, batch_size=8, context_length=8000, workload=LENGTHS)
    own = evaluate_point("llama-3-8b", "h100-sxm", tp=1, batch_size=8, workload=LENGTHS)
    assert both["latency_s"] == pytest.approx(at_8k["latency_s"], rel=1e-12)
    # Without one, the workload's steady-state context E[O·(P + (O − 1)/2)] / E[O] = 1500 + 149.5 applies.
    at_own = evaluate_point("llama-3-8b", "h100-sxm", tp=1, batch_size=8, context_length=1650)
    assert (
        own["latency_s"] == pytest.approx(at_own["latency_s"], rel=1e-3)
        and own["latency_s"] < both["latency_s"]
    )
