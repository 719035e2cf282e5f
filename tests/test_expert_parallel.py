"""Expert-parallel load imbalance and data-parallel attention for every model, hand-derived."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infereco import load_model, pareto_frontier
from infereco.physics.latency import explicit_step_time
from infereco.physics.memory import routed_expert_bytes
from infereco.search.discrete import DiscreteSpace, enumerate_layouts
from infereco.search.evaluate import deployment_arrays
from infereco.specs.deployment import resolve


def _step(model, ep, batch, imbalance=1.0, tp=1.0):
    dep = resolve({"base": model, "expert_load_imbalance": imbalance}, "b200")
    ma, ha, _ = deployment_arrays(dep)
    st_ = explicit_step_time(
        ma, ha, dep.conventions, tp, ep, 1.0, 0.0, batch, 1.0, 1000.0, 1.0, 1.0, xp=np, attn_dp=1.0
    )
    return ma, ha, st_


def test_busiest_rank_scales_the_routed_expert_terms_by_hand():
    b = np.array([1.0, 64.0, 4096.0])
    ma, ha, base = _step("deepseek-r1", 8.0, b)
    _, _, skew = _step("deepseek-r1", 8.0, b, imbalance=1.25)
    n_gpu = 8.0
    # Memory: 0.25 × the routed experts' bytes (weights hit + their activations), over 8 GPUs' bandwidth.
    extra_bytes = 0.25 * routed_expert_bytes(ma, b, 8.0, 1.0, xp=np)
    np.testing.assert_allclose(
        skew.memory_s - base.memory_s, extra_bytes / (n_gpu * ha.hbm_bandwidth_bytes_per_s), rtol=1e-9
    )
    # Arithmetic: 0.25 × 2 FLOP per routed active parameter per token, at the experts' (FP8) rate.
    m = load_model("deepseek-r1")
    routed_active = m.gemm_active_params()["expert"]
    extra_s = 0.25 * 2 * routed_active * b / ha.expert_flop_scale / (n_gpu * ha.flop_per_s)
    np.testing.assert_allclose(skew.compute_s - base.compute_s, extra_s, rtol=1e-9)
    # Dispatch + combine: the busiest rank receives 1.25× the mean bytes (bandwidth term only).
    assert np.all(skew.network_bandwidth_s > base.network_bandwidth_s)
    assert np.all(skew.network_latency_s == base.network_latency_s)


def test_no_expert_parallelism_no_skew():
    b = np.array([1.0, 256.0])
    _, _, base = _step("deepseek-r1", 1.0, b, tp=8.0)
    _, _, skew = _step("deepseek-r1", 1.0, b, imbalance=2.0, tp=8.0)
    np.testing.assert_array_equal(skew.latency_s, base.latency_s)


@given(f=st.floats(1.0, 4.0), batch=st.floats(1.0, 8192.0))
@settings(max_examples=30, deadline=None)
def test_more_imbalance_is_never_faster(f, batch):
    _, _, a = _step("qwen3-235b-a22b", 8.0, np.array([batch]), imbalance=f)
    _, _, b = _step("qwen3-235b-a22b", 8.0, np.array([batch]), imbalance=f * 1.1)
    assert float(b.latency_s[0]) >= float(a.latency_s[0])


def test_dense_models_get_data_parallel_attention_layouts():
    m = load_model("llama-3-70b")
    rows = enumerate_layouts(m, 80e9, 8000, DiscreteSpace(max_gpus_per_instance=8))
    dp = rows.attn_dp > 0.5
    assert dp.any() and set(rows.ep[dp]) == {1.0}
    # 8 KV heads at TP 16 are copied twice under TP attention; DP attention never copies them.
    rows16 = enumerate_layouts(m, 80e9, 8000, DiscreteSpace(max_gpus_per_instance=16))
    tp16 = (rows16.n_gpu == 16) & (rows16.attn_dp < 0.5) & (rows16.pp == 1)
    assert set(rows16.kv_replication[tp16]) == {2.0}
    assert set(rows16.kv_replication[rows16.attn_dp > 0.5]) == {1.0}


def test_dense_attention_dp_at_long_context_is_no_worse_than_tp_only():
    # GQA with 8 KV heads on 16 GPUs: DP attention keeps one KV copy; the search may only gain from it.
    kw = dict(context_length=32000, space={"max_gpus_per_instance": 16})
    both = pareto_frontier("llama-3-70b", "h100-sxm", **kw)
    tp_only = pareto_frontier(
        "llama-3-70b",
        "h100-sxm",
        context_length=32000,
        space={"max_gpus_per_instance": 16, "attention_dp": False},
    )
    assert both.min_cost().usd_per_million_tokens <= tp_only.min_cost().usd_per_million_tokens * (1 + 1e-12)


def test_imbalance_out_of_range_is_one_line():
    from infereco.errors import SpecError

    with pytest.raises(SpecError, match="expert_load_imbalance"):
        resolve({"base": "deepseek-r1", "expert_load_imbalance": 0.5}, "b200")
