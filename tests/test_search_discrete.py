"""The default search: integer TP × EP × PP layouts, integer batches, engine memory fit, reasons for
rejection."""

from __future__ import annotations

import numpy as np
import pytest

from infereco import evaluate_point, load_model, pareto_frontier
from infereco.api import solve
from infereco.physics.latency import explicit_step_time, layout_step_time
from infereco.search.discrete import DiscreteSpace, batch_sizes, enumerate_layouts
from infereco.search.evaluate import deployment_arrays
from infereco.specs.deployment import resolve
from infereco.specs.space import GridSpec


@pytest.mark.parametrize("model", ["llama-3-8b", "llama-3-70b", "mixtral-8x22b", "deepseek-v3"])
def test_default_search_returns_feasible_integer_layouts(model):
    f = pareto_frontier(model, "h200", context_length=2000)
    m = load_model(model)
    assert f.meta["search"] == "discrete" and len(f) > 10
    for p in f:
        for v in (p.tp, p.ep, p.pp, p.batch_size):
            assert v == int(v) and v >= 1
        assert p.n_gpu == p.tp * p.ep * p.pp
        if not p.extra.get("attn_dp"):  # DP attention does not split heads
            assert m.n_heads % (p.tp * p.ep) == 0
        assert m.n_experts % p.ep == 0
        assert p.batch_size <= p.extra["max_batch"]
        assert p.bound in ("memory", "compute", "network", "latency")
    assert sum(f.meta["rejected"].values()) > 0  # the reasons are kept


def test_explicit_layout_equals_reference_layout_for_dense_models():
    # With ep = 1, an even pipeline split and no KV replication the explicit-layout physics is the
    # reference's.
    p = resolve("llama-3-70b", "h100-sxm", preset="erdil-2024")
    ma, ha, _ = deployment_arrays(p)
    b = np.array([1.0, 3.0, 17.0, 64.0, 311.0])
    for two_d in (False, True):
        for pp in (1.0, 2.0, 4.0):
            for tp in (1.0, 4.0, 16.0, 64.0):
                ref = layout_step_time(
                    ma, ha, p.conventions, tp * pp, b, 1.0, 1000.0, two_d, pp, False, xp=np
                )
                got = explicit_step_time(
                    ma, ha, p.conventions, tp, 1.0, pp, float(two_d), b, 1.0, 1000.0, 1.0, 1.0, xp=np
                )
                ok = np.isfinite(ref.latency_s)
                np.testing.assert_allclose(got.latency_s[ok], ref.latency_s[ok], rtol=1e-12)


@pytest.mark.parametrize("model", ["llama-3-8b", "llama-3-70b"])
def test_discrete_frontier_against_continuous_on_one_node(model):
    # Same assumptions (ideal memory fit, ≤ 8 GPUs, no pipeline), two searches: integer layouts and batches vs
    # the reference's continuous grid (exact frontier of its points). The discrete frontier may beat the
    # continuous one only by the grid's sampling (400 points per axis: adjacent GPU counts differ by ≈1.6%,
    # batches by ≈3.2%), and must come within 15% of its cost at the continuous preferred point.
    p_disc = resolve(
        model,
        "h100-sxm",
        context_length=1000,
        search="discrete",
        space=DiscreteSpace(max_gpus_per_instance=8, pp_degrees=(1,), engine="ideal"),
    )
    p_cont = resolve(
        model, "h100-sxm", context_length=1000, search="continuous", grid=GridSpec(max_log2_gpu=3.0)
    )
    d = solve(p_disc)
    c = solve(p_cont)
    x = d.columns["tokens_per_s_per_request"]
    y = d.columns["usd_per_million_tokens"]
    inside = x <= c.max_speed().tokens_per_s_per_request
    cont_cost = np.array([c.cost_at_speed(v) for v in x[inside]])
    assert np.all(y[inside] >= cont_cost * (1 - 0.03))  # measured: ≥ 0.979 for 70B, ≥ 0.999 for 8B
    assert d.max_speed().tokens_per_s_per_request <= c.max_speed().tokens_per_s_per_request * 1.02
    q = c.preferred()
    assert d.cost_at_speed(q.tokens_per_s_per_request) == pytest.approx(q.usd_per_million_tokens, rel=0.15)


def test_jax_and_numpy_backends_agree_on_the_discrete_frontier():
    a = pareto_frontier("mixtral-8x7b", "a100-sxm-80g", context_length=4000)
    b = pareto_frontier("mixtral-8x7b", "a100-sxm-80g", context_length=4000, backend="numpy")
    assert len(a) == len(b)
    for col in ("usd_per_million_tokens", "tokens_per_s_per_request", "mfu"):
        np.testing.assert_allclose(a.columns[col], b.columns[col], rtol=1e-9)


def test_engine_memory_rules_order_capacity():
    m = load_model("llama-3-70b")
    caps = {}
    for engine in ("ideal", "vllm", "sglang", "trtllm"):
        t = enumerate_layouts(m, 80e9, 8000, DiscreteSpace(engine=engine, pp_degrees=(1,)))
        caps[engine] = t.max_batch[(t.tp == 8) & (t.two_d == 0)][0]
    assert caps["ideal"] > caps["vllm"] > 0 and caps["ideal"] > caps["sglang"] > 0
    low = enumerate_layouts(
        m, 80e9, 8000, DiscreteSpace(engine="vllm", gpu_memory_utilization=0.7, pp_degrees=(1,))
    )
    assert low.max_batch[(low.tp == 8) & (low.two_d == 0)][0] < caps["vllm"]
    # Hand check of the vLLM rule at TP 8: 0.9·80 GB − 1.5 GB reserve − 141.1 GB / 8 of weights, per
    # 8000-token sequence of 327,680 B/token spread over 8 GPUs.
    kv_budget = 0.9 * 80e9 - 1.5e9 - m.weight_memory_bytes / 8
    assert caps["vllm"] == np.floor(kv_budget / (m.kv_cache_bytes_per_token * 8000 / 8))


def test_kv_heads_are_replicated_beyond_their_count():
    m = load_model("llama-3-8b")  # 8 KV heads
    t = enumerate_layouts(m, 80e9, 1000, DiscreteSpace(pp_degrees=(1,), allow_2d=False))
    tp_attention = t.attn_dp < 0.5  # DP attention never copies KV heads
    rep = dict(zip(t.tp[tp_attention], t.kv_replication[tp_attention]))
    assert rep[8.0] == 1.0 and rep[16.0] == 2.0 and rep[32.0] == 4.0


def test_uneven_pipeline_split_is_allowed_and_costs_imbalance():
    m = load_model("llama-3-70b")  # 80 layers
    t = enumerate_layouts(m, 80e9, 1000, DiscreteSpace(pp_degrees=(3, 4), allow_2d=False))
    imb = dict(zip(t.pp, t.stage_imbalance))
    assert imb[4.0] == 1.0 and imb[3.0] == pytest.approx(3 * 27 / 80)


def test_batch_sizes_are_distinct_integers_from_one():
    b = batch_sizes(1000, 40)
    assert b[0] == 1 and b[-1] == 1000 and np.all(np.diff(b) > 0) and np.all(b == np.round(b))


def test_model_too_big_for_any_layout_gives_empty_frontier_with_reason():
    f = pareto_frontier("llama-3.1-405b", {"base": "h100-sxm", "hbm_capacity_bytes": 1e8})
    assert f.empty and "does not fit" in f.reason


def test_chunked_evaluation_gives_the_same_frontier():
    p = resolve("mixtral-8x22b", "h100-sxm", context_length=2000)
    whole = solve(p)
    chunked = solve(p.replace(space=DiscreteSpace(max_configs_per_call=64 * 96)))
    np.testing.assert_array_equal(
        whole.columns["usd_per_million_tokens"], chunked.columns["usd_per_million_tokens"]
    )


def test_scenario_discrete_options_and_layout_table():
    import infereco

    f = infereco.frontier_from_scenario(
        {
            "model": "llama-3-70b",
            "hardware": "h100-sxm",
            "discrete": {"engine": "sglang", "max_gpus_per_instance": 16},
        }
    )
    assert f.meta["engine"] == "sglang" and f.columns["n_gpu"].max() <= 16
    with pytest.raises(infereco.ScenarioError, match="discrete.engin"):
        infereco.frontier_from_scenario(
            {"model": "llama-3-70b", "hardware": "h100-sxm", "discrete": {"engin": "x"}}
        )
    rows = infereco.layouts("llama-3-70b", "h100-sxm", context_length=8000)
    one_gpu = next(r for r in rows if r["n_gpu"] == 1)
    assert not one_gpu["fits"] and one_gpu["max_batch"] == 0  # 141 GB of weights on one 80 GB GPU
    tp8 = next(r for r in rows if r["tp"] == 8 and r["pp"] == 1 and not r["tp_2d"])
    assert tp8["fits"] and tp8["kv_capacity_tokens"] >= 8000 * tp8["max_batch"]


def test_dp_attention_makes_mla_serving_cheaper_and_reevaluates():
    # Tensor-parallel MLA replicates the latent cache on every rank; DP attention (each rank its own
    # sequences) does not, so the cost floor of DeepSeek-V3 must drop when the search may use it.
    tp_only = pareto_frontier("deepseek-v3", "h200", context_length=4000, space={"attention_dp": False})
    with_dp = pareto_frontier("deepseek-v3", "h200", context_length=4000)
    assert with_dp.min_cost().usd_per_million_tokens < 0.5 * tp_only.min_cost().usd_per_million_tokens
    p = with_dp.min_cost()
    assert p["attn_dp"] and p.batch_size >= p.n_gpu / p.pp
    q = evaluate_point(
        "deepseek-v3",
        "h200",
        tp=int(p.tp),
        ep=int(p.ep),
        pp=int(p.pp),
        attn_dp=True,
        batch_size=p.batch_size,
        context_length=4000,
    )
    assert q["usd_per_million_tokens"] == pytest.approx(p.usd_per_million_tokens, rel=1e-12)
