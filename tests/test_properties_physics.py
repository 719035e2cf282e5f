"""Laws the physics must obey for *every* valid model, accelerator and configuration (hypothesis).

Checked on `infereco.search.evaluate.evaluate` over (GPUs × batch) outer products, numpy backend (exact, fast)
for the laws, JAX backend against numpy for agreement. The laws:

- more HBM bandwidth, FLOP/s, scale-up or scale-out bandwidth, higher utilization, or less kernel-launch or
  collective latency never makes any configuration slower, and never changes which configurations are
  feasible;
- cost per token (accelerator-seconds per token) never falls when every term gets slower;
- feasibility is monotone in HBM capacity, and capacity does not change the speed of a feasible configuration;
- no NaN anywhere, no infinity in a feasible configuration's numbers; infeasible = latency inf, cost inf,
  MFU 0;
- MFU is in [0, 1];
- JAX and numpy agree to 1e-9 relative.

The monotone laws hold *exactly* in floating point on the numpy backend (each term is a monotone expression of
one input: IEEE rounding is monotone, and min/max/+ preserve it), so they are checked without tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from infereco.physics.structs import Conventions  # noqa: E402
from infereco.specs.hardware import HardwareSpec  # noqa: E402
from tests.test_properties_strategies import (  # noqa: E402
    PhysicsCase,
    examples,
    log_uniform,
    physics_cases,
    profile_name,
)

FIELDS = (
    "latency_s",
    "gpu_s_per_token",
    "mfu",
    "memory_s",
    "compute_s",
    "network_latency_s",
    "network_bandwidth_s",
    "launch_s",
    "draft_s",
    "tp_2d",
    "pp_degree",
    "gamma",
)

# Each "improvement" makes one hardware term faster by `factor` > 1.
IMPROVEMENTS = (
    "hbm_bandwidth",
    "flop",
    "intra_node_bandwidth",
    "inter_node_bandwidth",
    "kernel_launch",
    "nccl_latency",
    "ring_hop",
    "flop_utilization",
    "bandwidth_utilization",
)
# calibration terms (fixed overheads, collective-latency multiplier), where this version of the spec has them
CALIBRATION_LATENCIES = tuple(
    f
    for f in ("step_overhead_s", "layer_overhead_s", "collective_latency_scale")
    if f in HardwareSpec.model_fields
)
IMPROVEMENTS += CALIBRATION_LATENCIES
# achieved fractions that count towards 1: KV reads in attention kernels, memory/compute overlap
CALIBRATION_FRACTIONS = tuple(
    f for f in ("attention_bandwidth_utilization", "memory_compute_overlap") if f in HardwareSpec.model_fields
)
IMPROVEMENTS += CALIBRATION_FRACTIONS


def improve(hw: HardwareSpec, which: str, factor: float) -> HardwareSpec:
    """`hw` with one term `factor` times faster (bandwidth/FLOP up, latency down, utilization towards 1)."""
    if which == "hbm_bandwidth":
        return hw.replace(hbm_bandwidth_bytes_per_s=hw.hbm_bandwidth_bytes_per_s * factor)
    if which == "flop":
        return hw.replace(flop_per_s={b: r * factor for b, r in hw.flop_per_s.items()})
    if which == "intra_node_bandwidth":
        return hw.replace(intra_node_bandwidth_bytes_per_s=hw.intra_node_bandwidth_bytes_per_s * factor)
    if which == "inter_node_bandwidth":
        return hw.replace(inter_node_bandwidth_bytes_per_s=hw.inter_node_bandwidth_bytes_per_s * factor)
    if which == "kernel_launch":
        return hw.replace(kernel_launch_s=hw.kernel_launch_s / factor)
    if which == "nccl_latency":
        protocols = [
            dict(
                p.model_dump(),
                base_s=p.base_s / factor,
                intra_hop_s=p.intra_hop_s / factor,
                inter_hop_s=p.inter_hop_s / factor,
            )
            for p in hw.nccl_protocols
        ]
        return hw.replace(nccl_protocols=protocols)
    if which == "ring_hop":
        return hw.replace(ring_hop_s=hw.ring_hop_s / factor)
    if which == "flop_utilization":
        return hw.replace(flop_utilization=1.0 - (1.0 - hw.flop_utilization) / factor)
    if which == "bandwidth_utilization":
        return hw.replace(bandwidth_utilization=1.0 - (1.0 - hw.bandwidth_utilization) / factor)
    if which in CALIBRATION_LATENCIES:
        return hw.replace(**{which: getattr(hw, which) / factor})
    if which in CALIBRATION_FRACTIONS:
        v = getattr(hw, which)
        v = hw.bandwidth_utilization if v is None else v  # unset attention bandwidth = the streaming one
        return hw.replace(**{which: 1.0 - (1.0 - v) / factor})
    raise AssertionError(which)


def slow_everything(hw: HardwareSpec, factor: float) -> HardwareSpec:
    """Every rate divided by `factor`, every latency multiplied by it (within the spec's bounds).

    `factor` is capped so that rates stay above the spec's unit-mistake floors (FLOP/s >= 1e9,
    bandwidths >= 1e6 bytes/s), which would otherwise (rightly) reject the slowed accelerator."""
    # (4× margin: presets may halve bandwidths, and rounding must not land just below a floor)
    floors = [
        min(hw.flop_per_s.values()) / 4e9,
        hw.hbm_bandwidth_bytes_per_s / 4e6,
        hw.intra_node_bandwidth_bytes_per_s / 4e6,
        hw.inter_node_bandwidth_bytes_per_s / 4e6,
    ]
    factor = max(1.0, min(factor, *floors))
    limits = {f: HardwareSpec.model_fields[f].metadata for f in CALIBRATION_LATENCIES}
    calibration = {}
    for f in CALIBRATION_LATENCIES:
        le = min((c.le for c in limits[f] if hasattr(c, "le")), default=float("inf"))
        calibration[f] = min(getattr(hw, f) * factor, le)
    return hw.replace(
        **calibration,
        flop_per_s={b: r / factor for b, r in hw.flop_per_s.items()},
        hbm_bandwidth_bytes_per_s=hw.hbm_bandwidth_bytes_per_s / factor,
        intra_node_bandwidth_bytes_per_s=hw.intra_node_bandwidth_bytes_per_s / factor,
        inter_node_bandwidth_bytes_per_s=hw.inter_node_bandwidth_bytes_per_s / factor,
        kernel_launch_s=hw.kernel_launch_s * factor,
        ring_hop_s=hw.ring_hop_s * factor,
        nccl_protocols=[
            dict(
                p.model_dump(),
                base_s=p.base_s * factor,
                intra_hop_s=p.intra_hop_s * factor,
                inter_hop_s=p.inter_hop_s * factor,
            )
            for p in hw.nccl_protocols
        ],
    )


def _assert_clean(ev, case: PhysicsCase) -> None:
    """No NaN anywhere; feasible entries finite; infeasible ones marked (latency inf, cost inf, MFU 0)."""
    for name in FIELDS:
        a = np.asarray(getattr(ev, name))
        assert not np.isnan(a).any(), f"NaN in {name} for {case.model.name} on {case.hardware.name}"
    feasible = np.isfinite(ev.latency_s)
    for name in FIELDS:
        a = np.broadcast_to(np.asarray(getattr(ev, name)), feasible.shape)
        assert np.isfinite(a[feasible]).all(), f"non-finite {name} in a feasible configuration"
    assert (ev.latency_s[feasible] > 0).all()
    assert np.isposinf(ev.latency_s[~feasible]).all()
    assert np.isposinf(ev.gpu_s_per_token[~feasible]).all()
    assert (ev.mfu[~feasible] == 0).all()
    assert ((ev.mfu >= 0) & (ev.mfu <= 1 + 1e-12)).all(), "MFU outside [0, 1]"


@settings(max_examples=examples(30))
@given(case=physics_cases(), which=st.sampled_from(IMPROVEMENTS), factor=log_uniform(1.001, 1e3))
def test_a_faster_term_never_makes_a_configuration_slower(case, which, factor):
    base = case.evaluate()
    better = case.evaluate(improve(case.hardware, which, factor))
    np.testing.assert_array_equal(
        np.isfinite(better.latency_s), np.isfinite(base.latency_s), err_msg=f"{which} changed feasibility"
    )
    worse = better.latency_s > base.latency_s
    assert not worse.any(), (
        f"{which} ×{factor:.4g} made {worse.sum()} configurations slower, e.g. "
        f"{base.latency_s[worse][0]!r} -> {better.latency_s[worse][0]!r}"
    )
    assert (better.gpu_s_per_token <= base.gpu_s_per_token).all()


@settings(max_examples=examples(15, 5_000))
@given(case=physics_cases(), factor=log_uniform(1.001, 1e3))
def test_cost_per_token_never_falls_when_every_term_gets_slower(case, factor):
    base = case.evaluate()
    slow = case.evaluate(slow_everything(case.hardware, factor))
    assert (slow.latency_s >= base.latency_s).all()
    assert (slow.gpu_s_per_token >= base.gpu_s_per_token).all()


@settings(max_examples=examples(15, 5_000))
@given(case=physics_cases(), factor=log_uniform(1.001, 1e4))
def test_feasibility_is_monotone_in_hbm_capacity(case, factor):
    small = case.evaluate()
    big = case.evaluate(case.hardware.replace(hbm_capacity_bytes=case.hardware.hbm_capacity_bytes * factor))
    fits_small, fits_big = np.isfinite(small.latency_s), np.isfinite(big.latency_s)
    assert not (fits_small & ~fits_big).any(), "more HBM made a configuration infeasible"
    assert (big.latency_s <= small.latency_s).all(), "more HBM made a configuration slower"
    if case.draft is None:
        # capacity only decides fit; a configuration that fits either way runs at the same speed (with a draft
        # model, more HBM can make room for the draft's KV cache and so for speculative decoding: faster)
        np.testing.assert_array_equal(small.latency_s[fits_small], big.latency_s[fits_small])


@settings(max_examples=examples(30))
@given(case=physics_cases())
def test_no_nan_and_infeasible_is_marked(case):
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        ev = case.evaluate()
    _assert_clean(ev, case)
    # batch 0 (first column of every case whose smallest batch is 0) is infeasible, never NaN
    if case.batch[0, 0] == 0.0:
        assert np.isposinf(ev.latency_s[:, 0]).all() and np.isposinf(ev.gpu_s_per_token[:, 0]).all()


# ---- JAX against numpy -------------------------------------------------------------------------------------
def _assert_backends_agree(case: PhysicsCase, conv: Conventions | None = None) -> None:
    """Latency, cost and MFU agree to 1e-9 everywhere. The breakdown (memory_s, compute_s, ...) belongs to the
    chosen layout; where two layouts tie in latency to rounding (e.g. compute-bound with free collectives,
    where every layout has the same step time) either backend may pick either, so the breakdown is compared
    only where both picked the same layout, and elsewhere the tie itself is checked."""
    ev_np = case.evaluate(backend="numpy", conv=conv)
    ev_jx = case.evaluate(backend="jax", conv=conv)
    shape = ev_np.latency_s.shape
    get = lambda ev, name: np.broadcast_to(np.asarray(getattr(ev, name)), shape)  # noqa: E731
    same_layout = (
        (get(ev_np, "tp_2d") == get(ev_jx, "tp_2d"))
        & (get(ev_np, "pp_degree") == get(ev_jx, "pp_degree"))
        & (get(ev_np, "gamma") == get(ev_jx, "gamma"))
    )
    for name in FIELDS:
        a, b = get(ev_np, name), get(ev_jx, name)
        assert b.dtype == np.float64, f"{name} came back as {b.dtype}"
        np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b), err_msg=name)
        check = np.isfinite(a) & (
            same_layout if name not in ("latency_s", "gpu_s_per_token", "mfu") else True
        )
        np.testing.assert_allclose(b[check], a[check], rtol=1e-9, atol=0, err_msg=name)
        np.testing.assert_array_equal(a[~np.isfinite(a)], b[~np.isfinite(a)], err_msg=name)


@settings(max_examples=examples(15, 5_000))
@given(case=physics_cases(structure="jax-default"))
def test_jax_and_numpy_agree(case):
    """One compiled structure (NCCL, default conventions, 40 × 40) serves every example."""
    _assert_backends_agree(case)


# Other compiled structures (ring collectives, parallel attention, unmerged collectives, speculative decoding)
# cost one JAX compilation each (5–20 s on a loaded 2-core machine), so CI skips them; the long profile draws
# from all 16 structures.
@pytest.mark.skipif(
    profile_name() == "ci", reason="JAX compilations per structure; run with HYPOTHESIS_PROFILE=long"
)
@settings(max_examples=examples(2, 200))
@given(case=physics_cases(structure="jax-variants"))
def test_jax_and_numpy_agree_on_every_compiled_structure(case):
    _assert_backends_agree(case)


# ---- bugs these laws found (fixed; the tests guard the fixes) ---------------------------------------------
def test_nccl_latency_is_never_negative():
    from infereco import load_model
    from infereco.specs.hardware import NcclProtocol

    hw = HardwareSpec(
        name="one-GPU nodes",
        flop_per_s={16: 1e15},
        hbm_bandwidth_bytes_per_s=3e12,
        hbm_capacity_bytes=80e9,
        node_size=1,
        kernel_launch_s=0.0,
        intra_node_bandwidth_bytes_per_s=1e12,
        inter_node_bandwidth_bytes_per_s=1e11,
        nccl_protocols=[
            NcclProtocol(
                name="slow-intra", base_s=0.0, intra_hop_s=1e-4, inter_hop_s=0.0, bandwidth_factor=1.0
            )
        ],
    )
    case = PhysicsCase(
        model=load_model("llama-3-8b"),
        hardware=hw,
        conv=Conventions(),
        context=0.0,
        n_gpu=np.array([[1.5], [2.5], [3.5]]),
        batch=np.array([[1.0, 16.0]]),
    )
    ev = case.evaluate()
    assert (ev.network_latency_s >= 0).all(), ev.network_latency_s
    assert (ev.latency_s > 0).all(), ev.latency_s


def test_collective_latency_scale_keeps_faster_hops_faster():
    from infereco import load_model
    from infereco.specs.hardware import NcclProtocol

    if "collective_latency_scale" not in HardwareSpec.model_fields:
        pytest.skip("this version has no collective_latency_scale")

    def accelerator(hop_s: float) -> HardwareSpec:
        return HardwareSpec(
            name="calibrated",
            flop_per_s={16: 1e15},
            hbm_bandwidth_bytes_per_s=3e12,
            hbm_capacity_bytes=80e9,
            node_size=8,
            kernel_launch_s=0.0,
            intra_node_bandwidth_bytes_per_s=1e11,
            inter_node_bandwidth_bytes_per_s=1e10,
            nccl_protocols=[
                NcclProtocol(
                    name="A", base_s=0.0, intra_hop_s=hop_s, inter_hop_s=hop_s, bandwidth_factor=1.0
                ),
                NcclProtocol(name="B", base_s=0.0, intra_hop_s=0.0, inter_hop_s=0.0, bandwidth_factor=0.5),
            ],
            collective_latency_scale=10.0,
        )

    case = PhysicsCase(
        model=load_model("llama-3-8b"),
        hardware=accelerator(1e-6),
        conv=Conventions(),
        context=0.0,
        n_gpu=np.array([[8.0]]),
        batch=np.geomspace(1.0, 1e4, 200)[None, :],
    )
    slow_hops = case.evaluate(accelerator(1e-6)).latency_s
    fast_hops = case.evaluate(accelerator(0.5e-6)).latency_s
    assert (fast_hops <= slow_hops).all(), (
        f"up to {(fast_hops / slow_hops).max():.3f}× slower with faster hops"
    )
