"""The two step-shape terms of `HardwareSpec` that calibration can set: `attention_bandwidth_utilization`
(KV-cache reads below streaming bandwidth) and `memory_compute_overlap` (max vs sum of memory and arithmetic
time), checked against hand-derived step times of a small model, on both step-time paths (the reference
`layout_step_time` and the vectorised `explicit_step_time`)."""

from __future__ import annotations

import numpy as np
import pytest

from infereco.errors import SpecError
from infereco.physics.latency import explicit_step_time, layout_step_time
from infereco.physics.structs import Conventions, hardware_arrays, model_arrays
from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec

TINY = ModelSpec(name="tiny", d_model=512, d_ff=1408, n_layers=4, n_heads=8, n_kv_heads=2, vocab_size=4096)
CPU = HardwareSpec(
    name="cpu",
    flop_per_s={16: 4e11},
    hbm_bandwidth_bytes_per_s=4e10,
    hbm_capacity_bytes=2e10,
    kernel_launch_s=0.0,
    node_size=1,
    step_overhead_s=1e-3,
    bandwidth_utilization=0.8,
)
CONV = Conventions()
# KV cache per token: 4 layers × (K + V) × 2 KV heads × 64 dims × 2 bytes = 2048 bytes.
KV_PER_TOKEN = 4 * 2 * 2 * 64 * 2


def _explicit(hw, batch, ctx):
    one = np.ones(())
    return explicit_step_time(
        model_arrays(TINY),
        hardware_arrays(hw, 16),
        CONV,
        one,
        one,
        one,
        0 * one,
        np.asarray(batch, float),
        one,
        np.asarray(ctx, float),
        one,
        one,
        False,
        xp=np,
    )


def _layout(hw, batch, ctx):
    return layout_step_time(
        model_arrays(TINY),
        hardware_arrays(hw, 16),
        CONV,
        1.0,
        float(batch),
        1.0,
        float(ctx),
        False,
        1.0,
        False,
        xp=np,
    )


@pytest.mark.parametrize("step", [_explicit, _layout])
def test_attention_bandwidth_slows_only_the_kv_reads(step):
    assert TINY.kv_cache_bytes_per_token == KV_PER_TOKEN
    batch, ctx = 32, 1000
    base = step(CPU, batch, ctx)
    slow = step(CPU.replace(attention_bandwidth_utilization=0.2), batch, ctx)
    # KV bytes 32·1000·2048 read at 0.2 instead of 0.8 of 40 GB/s: (1/8e9 − 1/32e9) s per byte more.
    extra = batch * ctx * KV_PER_TOKEN * (1 / (0.2 * 4e10) - 1 / (0.8 * 4e10))
    assert float(slow.memory_s) - float(base.memory_s) == pytest.approx(extra, rel=1e-12)
    assert float(slow.compute_s) == float(base.compute_s)
    # No context, nothing to read: the term vanishes.
    assert float(step(CPU.replace(attention_bandwidth_utilization=0.2), batch, 0).memory_s) == float(
        step(CPU, batch, 0).memory_s
    )


@pytest.mark.parametrize("step", [_explicit, _layout])
def test_unset_attention_bandwidth_is_bit_identical_to_the_streaming_one(step):
    same = CPU.replace(attention_bandwidth_utilization=CPU.bandwidth_utilization)
    assert CPU.kv_read_time_scale == 1.0 and same.kv_read_time_scale == 1.0
    for batch, ctx in ((1, 10), (64, 4096)):
        assert float(step(same, batch, ctx).latency_s) == float(step(CPU, batch, ctx).latency_s)


@pytest.mark.parametrize("step", [_explicit, _layout])
@pytest.mark.parametrize("overlap", [1.0, 0.5, 0.0])
def test_memory_compute_overlap_interpolates_max_and_sum(step, overlap):
    st = step(CPU.replace(memory_compute_overlap=overlap), 64, 512)
    mem, comp = float(st.memory_s), float(st.compute_s)
    fixed = float(st.launch_s) + float(st.network_latency_s) + float(st.network_bandwidth_s)
    expected = fixed + max(mem, comp) + (1 - overlap) * min(mem, comp)
    assert float(st.latency_s) == pytest.approx(expected, rel=1e-13)
    if overlap == 0.0:
        assert float(st.latency_s) == pytest.approx(fixed + mem + comp, rel=1e-13)


def test_catalog_defaults_keep_the_papers_roofline():
    hw = HardwareSpec(
        name="x", flop_per_s={16: 1e15}, hbm_bandwidth_bytes_per_s=3e12, hbm_capacity_bytes=8e10
    )
    assert hw.memory_compute_overlap == 1.0 and hw.attention_bandwidth_utilization is None


@pytest.mark.parametrize(
    "field,value",
    [
        ("memory_compute_overlap", 1.5),
        ("memory_compute_overlap", -0.1),
        ("attention_bandwidth_utilization", 0.0),
        ("attention_bandwidth_utilization", 2.0),
    ],
)
def test_out_of_range_terms_are_rejected_naming_the_field(field, value):
    with pytest.raises(SpecError, match=field):
        HardwareSpec.validated(dict(CPU.model_dump(), **{field: value}))
