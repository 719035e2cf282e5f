"""Laws every frontier must obey (hypothesis), through the public API
`pareto_frontier(..., search='continuous')`.

A small grid (40 GPU counts × 40 batches) keeps each example fast. Checked:

- the frontier is exactly the non-dominated set of the configurations searched (recomputed independently,
  O(n²), from the grid), sorted fastest first with cost falling along it;
- every point is feasible, finite, and re-evaluates to the same numbers through `evaluate_point` (1e-9);
- an empty frontier carries a reason, raises `InfeasibleError` only when asked for a point, serialises to
  JSON without NaN, and happens exactly when no searched configuration is feasible;
- a higher price scales cost exactly; every term slower never lowers the cost floor or raises the top speed;
  a faster term never lowers the top speed or raises the cost floor; more HBM never empties a frontier;
- the JAX and numpy backends give the same frontier; results are deterministic run to run.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("hypothesis")
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from infereco import InfeasibleError, evaluate_point, pareto_frontier  # noqa: E402
from infereco.physics.structs import hardware_arrays, model_arrays  # noqa: E402
from infereco.search import erdil_grid  # noqa: E402
from infereco.search.evaluate import SpecArrays, evaluate  # noqa: E402
from infereco.specs.deployment import resolve  # noqa: E402
from tests.test_properties_physics import IMPROVEMENTS, improve, slow_everything  # noqa: E402
from tests.test_properties_strategies import (  # noqa: E402
    SMALL_GRID,
    context_lengths,
    examples,
    hardware_specs,
    log_uniform,
    model_specs,
    tiny_model,
    two_trillion_moe,
)

PRESETS = ("default", "erdil-2024", "erdil-paper")
COMPARED = (
    "tokens_per_s_per_request",
    "usd_per_million_tokens",
    "mfu",
    "latency_s",
    "gpu_s_per_token",
    "throughput_tokens_per_s",
    "memory_s",
    "compute_s",
    "network_bandwidth_s",
    "network_latency_s",
    "launch_s",
    "draft_s",
    "gamma",
    "pp",
)


@st.composite
def frontier_inputs(
    draw, jax_structure: bool = False, cap: bool | None = None, capacity=None, max_context=1_000_000
):
    """Keyword arguments of `pareto_frontier` for a random valid problem (numpy backend unless
    jax_structure)."""
    kw = dict(
        model=draw(model_specs(parallel_attention=False if jax_structure else None)),
        hardware=draw(hardware_specs(jax_structure=jax_structure, capacity=capacity)),
        context_length=draw(context_lengths(max_context)),
        preset="default" if jax_structure else draw(st.sampled_from(PRESETS)),
        search="continuous",
        grid=SMALL_GRID,
        backend="jax" if jax_structure else "numpy",
    )
    if cap or (cap is None and draw(st.integers(0, 3)) == 0):
        kw["max_throughput_tokens_per_s"] = draw(log_uniform(1.0, 1e7))
    if not jax_structure and draw(st.integers(0, 4)) == 0:
        kw["speculative"] = {
            "draft": draw(model_specs(kind="dense", max_params=2e10)),
            "acceptance": draw(st.floats(0.05, 1.0)),
            "max_draft_tokens": draw(st.integers(1, 4)),
        }
    return kw


def brute_force(kw) -> dict[str, np.ndarray]:
    """Every configuration of the grid, evaluated directly (numpy), with the demand cap applied."""
    problem = resolve(
        kw["model"],
        kw["hardware"],
        context_length=kw["context_length"],
        preset=kw["preset"],
        search="continuous",
        speculative=kw.get("speculative"),
        max_throughput_tokens_per_s=kw.get("max_throughput_tokens_per_s"),
    )
    m, hw, p = problem.model, problem.hardware, problem.preset
    n_axis, b_axis = erdil_grid.grid_axes(
        m.weight_memory_bytes, hw.hbm_capacity_bytes, m.sparsity, kw["grid"]
    )
    n = np.repeat(n_axis, b_axis.size)
    b = np.tile(b_axis, n_axis.size)
    spec = None
    if problem.speculative is not None:
        d = problem.speculative.draft
        spec = SpecArrays(
            model_arrays(d),
            hardware_arrays(hw, p.operand_bits(d.weight_bits, d.activation_bits)),
            problem.speculative.acceptance,
            problem.speculative.max_draft_tokens,
        )
    ev = evaluate(
        model_arrays(m),
        hardware_arrays(hw, p.operand_bits(m.weight_bits, m.activation_bits)),
        problem.conventions,
        n,
        b,
        float(kw["context_length"]),
        spec=spec,
        backend="numpy",
    )
    lat = ev.latency_s.copy()
    cap = kw.get("max_throughput_tokens_per_s")
    feasible_before_cap = np.isfinite(lat)
    gpu_s = ev.gpu_s_per_token
    if cap is not None:
        # Served below capacity: at least n_gpu / cap accelerator-seconds per token (the continuous search's
        # rule; only the reference's erdil-grid drops configurations over the cap).
        gpu_s = np.maximum(gpu_s, n / cap)
    return dict(
        latency_s=lat,
        gpu_s=np.where(np.isfinite(lat), gpu_s, np.inf),
        n_gpu=n,
        batch=b,
        any_fit=feasible_before_cap.any(),
    )


def non_dominated_mask(lat: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """O(n²) definition: no other point is at least as fast and as cheap, and strictly better in one."""
    ok = np.isfinite(lat) & np.isfinite(cost)
    L, C = lat[ok], cost[ok]
    dominated = (
        (L[None, :] <= L[:, None])
        & (C[None, :] <= C[:, None])
        & ((L[None, :] < L[:, None]) | (C[None, :] < C[:, None]))
    ).any(axis=1)
    mask = np.zeros(lat.shape, bool)
    mask[np.flatnonzero(ok)[~dominated]] = True
    return mask


def check_frontier(f, kw, reevaluate: int = 6) -> None:
    cols = f.columns
    text = f.to_json()  # allow_nan=False inside: raises on NaN/inf
    payload = json.loads(text)
    if f.empty:
        assert isinstance(f.reason, str) and f.reason, "an empty frontier must say why"
        assert "does not fit" in f.reason or "demand cap" in f.reason, f.reason
        assert payload["points"] == [] and payload["reason"] == f.reason
        for ask in (f.max_speed, f.min_cost, f.preferred):
            with pytest.raises(InfeasibleError):
                ask()
        return
    assert f.reason is None
    for rec in f.to_records():
        for k, v in rec.items():
            assert not (isinstance(v, float) and not math.isfinite(v)), f"{k} = {v} in a frontier point"
    speed, usd = cols["tokens_per_s_per_request"], cols["usd_per_million_tokens"]
    assert (
        (speed > 0).all()
        and (usd > 0).all()
        and (cols["n_gpu"] > 0).all()
        and (cols["batch_size"] >= 1).all()
    )
    assert (np.diff(cols["latency_s"]) > 0).all(), "frontier not sorted fastest first"
    assert (np.diff(cols["gpu_s_per_token"]) < 0).all(), "cost does not fall along the frontier"
    assert (np.diff(usd) <= 0).all()
    assert ((cols["mfu"] > 0) & (cols["mfu"] <= 1 + 1e-12)).all()
    cap = kw.get("max_throughput_tokens_per_s")
    if cap is not None:
        assert (cols["throughput_tokens_per_s"] <= cap * (1 + 1e-12)).all()
    # the re-evaluation law: each point through the single-configuration API
    idx = sorted({0, len(f) - 1, *np.linspace(0, len(f) - 1, reevaluate).round().astype(int)})
    for i in idx:
        p = f.point(i)
        q = evaluate_point(
            kw["model"],
            kw["hardware"],
            n_gpu=p.n_gpu,
            batch_size=p.batch_size,
            context_length=kw["context_length"],
            preset=kw["preset"],
            speculative=kw.get("speculative"),
            backend=kw["backend"],
            max_throughput_tokens_per_s=kw.get("max_throughput_tokens_per_s"),
        )
        assert q["tokens_per_s_per_request"] > 0, q
        for k in COMPARED:
            assert q[k] == pytest.approx(p[k], rel=1e-9, abs=0), (
                f"point {i}: {k} {p[k]!r} re-evaluates to {q[k]!r}"
            )
        assert q["bound"] == p.bound and q["tp_2d"] == p.tp_2d


def assert_is_the_pareto_set(f, kw) -> None:
    brute = brute_force(kw)
    expect = non_dominated_mask(brute["latency_s"], brute["gpu_s"])
    assert f.empty == (not expect.any()), (f.reason, expect.sum())
    if f.empty:
        if not brute["any_fit"]:
            assert "does not fit" in f.reason
        return
    got = {
        (round(float(n), 9), round(float(b), 9)) for n, b in zip(f.columns["n_gpu"], f.columns["batch_size"])
    }
    # duplicate (latency, cost) pairs are one frontier point: compare on (latency, cost) values
    want_pairs = {(float(a), float(c)) for a, c in zip(brute["latency_s"][expect], brute["gpu_s"][expect])}
    got_pairs = {(float(a), float(c)) for a, c in zip(f.columns["latency_s"], f.columns["gpu_s_per_token"])}
    assert got_pairs == want_pairs, (
        f"frontier has {len(got_pairs)} points, the grid's Pareto set {len(want_pairs)}"
    )
    assert len(got) == len(f), "a configuration appears twice on the frontier"


@settings(max_examples=examples(15, 1_000))
@given(kw=frontier_inputs())
@example(
    kw=dict(
        model=two_trillion_moe(),
        hardware=None,
        context_length=1_000_000,
        preset="default",
        search="continuous",
        grid=SMALL_GRID,
        backend="numpy",
    )
)
@example(
    kw=dict(
        model=tiny_model(),
        hardware=None,
        context_length=0,
        preset="erdil-2024",
        search="continuous",
        grid=SMALL_GRID,
        backend="numpy",
    )
)
def test_frontier_is_sorted_non_dominated_finite_and_re_evaluates(kw):
    if kw["hardware"] is None:  # the @examples: catalog hardware
        from infereco import load_hardware

        kw = {**kw, "hardware": load_hardware("h100-sxm")}
    f = pareto_frontier(**kw)
    check_frontier(f, kw)
    assert_is_the_pareto_set(f, kw)


@settings(max_examples=examples(15, 1_000))
@given(kw=frontier_inputs(capacity=log_uniform(1e6, 1e9), max_context=100_000_000))
def test_frontier_is_empty_exactly_when_nothing_fits_and_says_why(kw):
    """Tiny HBM and contexts up to 1e8 tokens make many problems infeasible: never an exception, never NaN."""
    f = pareto_frontier(**kw)
    check_frontier(f, kw, reevaluate=2)
    assert_is_the_pareto_set(f, kw)


@settings(max_examples=examples(15, 1_000))
@given(kw=frontier_inputs(), factor=log_uniform(1e-3, 1e3))
def test_price_scales_cost_exactly(kw, factor):
    f1 = pareto_frontier(**kw)
    price = resolve(kw["model"], kw["hardware"], preset=kw["preset"]).hardware.price_usd_per_hour
    f2 = pareto_frontier(**kw, price_usd_per_hour=price * factor)
    assert len(f1) == len(f2)
    for k in ("n_gpu", "batch_size", "latency_s", "gpu_s_per_token"):
        np.testing.assert_array_equal(f1.columns[k], f2.columns[k])
    np.testing.assert_allclose(
        f2.columns["usd_per_million_tokens"], f1.columns["usd_per_million_tokens"] * factor, rtol=1e-12
    )


def _floor_and_top(f):
    if f.empty:
        return math.inf, 0.0
    return float(f.columns["gpu_s_per_token"].min()), float(f.columns["tokens_per_s_per_request"].max())


@settings(max_examples=examples(15, 1_000))
@given(kw=frontier_inputs(), factor=log_uniform(1.001, 1e3))
def test_every_term_slower_never_lowers_the_cost_floor_or_raises_the_top_speed(kw, factor):
    base = pareto_frontier(**kw)
    slow = pareto_frontier(**{**kw, "hardware": slow_everything(kw["hardware"], factor)})
    floor_b, top_b = _floor_and_top(base)
    floor_s, top_s = _floor_and_top(slow)
    assert floor_s >= floor_b and top_s <= top_b
    # pointwise: whatever the slow frontier offers, the base one offers at least as fast and as cheap
    if not slow.empty:
        for s, c in zip(slow.columns["latency_s"], slow.columns["gpu_s_per_token"]):
            assert (base.columns["gpu_s_per_token"][base.columns["latency_s"] <= s] <= c).any()


@settings(max_examples=examples(15, 1_000))
@given(kw=frontier_inputs(), which=st.sampled_from(IMPROVEMENTS), factor=log_uniform(1.001, 1e3))
def test_a_faster_term_never_lowers_the_top_speed_or_raises_the_cost_floor(kw, which, factor):
    base = pareto_frontier(**kw)
    fast = pareto_frontier(**{**kw, "hardware": improve(kw["hardware"], which, factor)})
    floor_b, top_b = _floor_and_top(base)
    floor_f, top_f = _floor_and_top(fast)
    assert top_f >= top_b and floor_f <= floor_b
    assert fast.empty == base.empty


@settings(max_examples=examples(15, 1_000))
@given(
    kw=frontier_inputs(capacity=log_uniform(1e6, 1e11), max_context=100_000_000),
    factor=log_uniform(1.001, 1e4),
)
def test_more_hbm_never_empties_a_frontier(kw, factor):
    small = pareto_frontier(**kw)
    hw = kw["hardware"]
    big = pareto_frontier(**{**kw, "hardware": hw.replace(hbm_capacity_bytes=hw.hbm_capacity_bytes * factor)})
    assert small.empty or not big.empty, (small.reason, big.reason)


@settings(max_examples=examples(8, 1_000))
@given(kw=frontier_inputs(jax_structure=True))
def test_jax_frontier_equals_numpy_frontier(kw):
    """Default preset, NCCL, no parallel attention, no speculative decoding: the JAX path compiles once for
    all examples (the same 40 × 40 shapes as tests/test_properties_physics.py)."""
    fj = pareto_frontier(**kw)
    fn = pareto_frontier(**{**kw, "backend": "numpy"})
    assert fj.empty == fn.empty and fj.reason == fn.reason
    if fj.empty:
        return

    # near-ties in (latency, cost) may keep a different one of two equivalent points: match each point of one
    # frontier to a point of the other within 1e-9, or to one that dominates it within 1e-9
    def covered(a, b):
        la, ca = a.columns["latency_s"], a.columns["gpu_s_per_token"]
        lb, cb = b.columns["latency_s"], b.columns["gpu_s_per_token"]
        for x, y in zip(la, ca):
            assert ((lb <= x * (1 + 1e-9)) & (cb <= y * (1 + 1e-9))).any(), (x, y)

    covered(fj, fn)
    covered(fn, fj)

    # the same configuration on both frontiers has the same numbers (configurations on a cost plateau, where
    # cost ties to the last bit, may differ between backends; `covered` has checked those)
    def key(f):
        return {
            (round(float(n), 9), round(float(b), 9)): i
            for i, (n, b) in enumerate(zip(f.columns["n_gpu"], f.columns["batch_size"]))
        }

    kj, kn = key(fj), key(fn)
    common = sorted(set(kj) & set(kn))
    # ... and where both picked the same layout, the same breakdown (layouts tied in step time to rounding may
    # differ, as in tests/test_properties_physics.py::_assert_backends_agree)
    same_layout = [
        c
        for c in common
        if fj.columns["tp_2d"][kj[c]] == fn.columns["tp_2d"][kn[c]]
        and fj.columns["pp"][kj[c]] == fn.columns["pp"][kn[c]]
    ]
    for k in COMPARED:
        rows = (
            common
            if k
            in (
                "tokens_per_s_per_request",
                "usd_per_million_tokens",
                "mfu",
                "latency_s",
                "gpu_s_per_token",
                "throughput_tokens_per_s",
            )
            else same_layout
        )
        a = np.array([fj.columns[k][kj[c]] for c in rows], float)
        b = np.array([fn.columns[k][kn[c]] for c in rows], float)
        np.testing.assert_allclose(a, b, rtol=1e-9, err_msg=k)


@settings(max_examples=examples(5, 200))
@given(kw=frontier_inputs())
def test_frontiers_are_deterministic(kw):
    assert pareto_frontier(**kw).to_json() == pareto_frontier(**kw).to_json()


# ---- the demand cap ----------------------------------------------------------------------------------------
# With `max_throughput_tokens_per_s`, configurations whose throughput (batch / latency) exceeds the cap are
# served below capacity and costed at the demand they serve: gpu_s_per_token = max(n_gpu · latency / batch,
# n_gpu / cap), throughput_tokens_per_s = min(batch / latency, cap), so cost is monotone in every latency term
# and faster hardware never empties a frontier. (Only the reference's erdil-grid drops them, for conformance.)


def _h100_times(k: float):
    from infereco import load_hardware

    h = load_hardware("h100-sxm")
    return h.replace(
        hbm_bandwidth_bytes_per_s=h.hbm_bandwidth_bytes_per_s * k,
        flop_per_s={b: r * k for b, r in h.flop_per_s.items()},
    )


def test_a_low_demand_cap_does_not_empty_the_frontier_of_fast_hardware():
    kw = dict(
        context_length=1000,
        max_throughput_tokens_per_s=10.0,
        search="continuous",
        grid=SMALL_GRID,
        backend="numpy",
    )
    slow = pareto_frontier("llama-3-8b", _h100_times(0.01), **kw)
    assert not slow.empty  # an H100 100× slower serves 10 tokens/s ...
    fast = pareto_frontier("llama-3-8b", _h100_times(1.0), **kw)
    assert not fast.empty, fast.reason  # ... but the real one "exceeds the demand cap" and serves nothing


def test_faster_hardware_is_never_dearer_under_a_demand_cap():
    kw = dict(
        context_length=1000,
        max_throughput_tokens_per_s=100.0,
        search="continuous",
        grid=SMALL_GRID,
        backend="numpy",
    )
    slow = (
        pareto_frontier("llama-3-8b", _h100_times(0.01), **kw).min_cost().usd_per_million_tokens
    )  # ≈ $7.6/M
    fast = (
        pareto_frontier("llama-3-8b", _h100_times(1.0), **kw).min_cost().usd_per_million_tokens
    )  # ≈ $497,000/M
    assert fast <= slow


# ---- the discrete search (the default) ---------------------------------------------------------------------
@settings(max_examples=examples(8, 500))
@given(kw=frontier_inputs())
def test_discrete_frontier_is_sorted_finite_and_re_evaluates(kw):
    """The default search (integer TP × EP × PP layouts): the same laws, each point re-evaluated through
    `evaluate_point(tp=..., ep=..., pp=..., tp_2d=...)`."""
    kw = {k: v for k, v in kw.items() if k != "grid"}
    kw["search"] = "discrete"
    f = pareto_frontier(**kw)
    json.loads(f.to_json())
    if f.empty:
        assert isinstance(f.reason, str) and f.reason
        return
    cols = f.columns
    assert (np.diff(cols["latency_s"]) > 0).all() and (np.diff(cols["gpu_s_per_token"]) < 0).all()
    for rec in f.to_records():
        for k, v in rec.items():
            assert not (isinstance(v, float) and not math.isfinite(v)), f"{k} = {v} in a frontier point"
    for i in sorted({0, len(f) - 1, *np.linspace(0, len(f) - 1, 4).round().astype(int)}):
        p = f.point(i).to_dict()
        layout = dict(tp=int(p["tp"]), ep=int(p["ep"]), pp=int(p["pp"]), tp_2d=bool(p["tp_2d"]))
        if "attn_dp" in p:
            layout["attn_dp"] = bool(p["attn_dp"])
        q = evaluate_point(
            kw["model"],
            kw["hardware"],
            batch_size=p["batch_size"],
            context_length=kw["context_length"],
            preset=kw["preset"],
            speculative=kw.get("speculative"),
            backend="numpy",
            max_throughput_tokens_per_s=kw.get("max_throughput_tokens_per_s"),
            **layout,
        )
        assert q["tokens_per_s_per_request"] > 0, layout
        for k in ("tokens_per_s_per_request", "usd_per_million_tokens", "mfu", "n_gpu", "latency_s"):
            assert q[k] == pytest.approx(p[k], rel=1e-9, abs=0), (
                f"point {i} {layout}: {k} {p[k]!r} -> {q[k]!r}"
            )
