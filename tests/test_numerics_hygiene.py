"""Numerical hygiene: float64 throughout the traced code, no division by zero at batch 0 or one GPU, stable
log-space where ranges span decades, and results that are identical run to run.

What batch 0 means: no sequences, hence no tokens to spread the step over; the configuration is *infeasible*
(latency = cost = +inf, MFU = 0), never NaN. A batch below one sequence (0 < b < 1) is infeasible likewise
(the pipeline-degree rule pp <= batch fails for every layout), and so is a fraction of a GPU (n_gpu < 1).
`evaluate_point` refuses batch_size <= 0 and n_gpu <= 0 with a SpecError.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import infereco  # noqa: F401  (enables float64)
from infereco import evaluate_point, list_hardware, list_models, load_hardware, load_model, pareto_frontier
from infereco.physics.memory import experts_touched_fraction
from infereco.physics.structs import Conventions, hardware_arrays, model_arrays
from infereco.search import erdil_grid
from infereco.search.evaluate import SpecArrays, evaluate, evaluate_configs
from infereco.search.select import pareto_candidates, threshold_select
from tests.test_properties_strategies import SMALL_GRID

ALLOWED = {np.dtype("float64"), np.dtype("bool"), np.dtype("int32"), np.dtype("int64"), np.dtype("uint32")}


def _jaxpr_dtypes(jaxpr) -> set:
    """Every dtype of every variable and literal in a (closed) jaxpr, sub-jaxprs included."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    seen = set()
    for v in (*jaxpr.invars, *jaxpr.outvars, *jaxpr.constvars):
        if hasattr(v, "aval") and hasattr(v.aval, "dtype"):
            seen.add(np.dtype(v.aval.dtype))
    for eqn in jaxpr.eqns:
        for v in (*eqn.invars, *eqn.outvars):
            if hasattr(v, "aval") and hasattr(v.aval, "dtype"):
                seen.add(np.dtype(v.aval.dtype))
        for p in eqn.params.values():
            for sub in p if isinstance(p, (list, tuple)) else [p]:
                if hasattr(sub, "eqns") or hasattr(getattr(sub, "jaxpr", None), "eqns"):  # (Closed)Jaxpr
                    seen |= _jaxpr_dtypes(sub)
    return seen


@pytest.fixture(scope="module")
def arrays():
    m = load_model("mixtral-8x7b")  # MoE: exercises the experts-touched path
    hw = load_hardware("h100-sxm")
    return m, model_arrays(m), hardware_arrays(hw, 16), hw


def test_x64_is_enabled_at_import():
    assert jax.config.jax_enable_x64
    assert jnp.zeros(1).dtype == jnp.float64


@pytest.mark.parametrize("path", ["continuous", "speculative", "ring-parallel-attention", "explicit-layout"])
def test_traced_evaluation_is_float64_throughout(arrays, path):
    m, ma, ha, hw = arrays
    n = jnp.geomspace(1.0, 4096.0, 8)[:, None]
    b = jnp.geomspace(1.0, 1e5, 8)[None, :]
    conv, spec, layout = Conventions(), None, None
    if path == "speculative":
        d = load_model("llama-3-8b")
        spec = SpecArrays(model_arrays(d), hardware_arrays(hw, 16), 0.8, 3)
    elif path == "ring-parallel-attention":
        conv = Conventions(collectives="ring", parallel_attention_merges_collectives=True)
    elif path == "explicit-layout":
        from infereco.search.evaluate import Layout

        k = 4
        layout = Layout(
            *(
                jnp.asarray(v, jnp.float64)[:, None]
                for v in (
                    [1, 2, 4, 8],
                    [1, 1, 2, 8],
                    [1, 2, 1, 1],
                    [0, 0, 0, 0],
                    [1, 1, 1, 1],
                    [1, 1, 1, 1],
                    [1, 1, 1, 1],
                )
            )
        )
        n = None
        b = jnp.geomspace(1.0, 1e5, k)[None, :]
    f = functools.partial(evaluate_configs, conv=conv, spec=spec, xp=jnp, layout=layout)
    closed = jax.make_jaxpr(lambda ma, ha, n, b, c: f(ma, ha, n_gpu=n, batch=b, context_tokens=c))(
        ma, ha, n, b, jnp.float64(1000.0)
    )
    dtypes = _jaxpr_dtypes(closed)
    assert dtypes <= ALLOWED, f"non-float64 dtypes in the traced evaluation: {dtypes - ALLOWED}"
    assert all(np.dtype(a.dtype) == np.float64 for a in closed.out_avals)


def test_float32_inputs_are_promoted(arrays):
    m, ma, ha, hw = arrays
    ev = evaluate(ma, ha, Conventions(), np.float32([[8.0]]), np.float32([[64.0]]), np.float32(1000.0))
    assert all(np.asarray(a).dtype == np.float64 for a in ev)


def test_frontier_selection_is_float64():
    lat = jnp.geomspace(1e-3, 1.0, 64)
    cost = 1.0 / lat
    for fn, args in (
        (threshold_select, (lat, cost, jnp.asarray(erdil_grid.thresholds_s(SMALL_GRID)))),
        (pareto_candidates, (lat, cost)),
    ):
        dtypes = _jaxpr_dtypes(jax.make_jaxpr(fn)(*args))
        assert not {d for d in dtypes if d.kind == "f"} - {np.dtype("float64")}, (fn.__name__, dtypes)


# ---- batch 0 and one GPU -----------------------------------------------------------------------------------
@pytest.mark.parametrize("model", list_models())
def test_batch_zero_and_one_gpu_divide_nothing_by_zero(model):
    m = load_model(model)
    for hw_id in list_hardware():
        hw = load_hardware(hw_id)
        bits = max(m.weight_bits, m.activation_bits)
        try:
            ha = hardware_arrays(hw, bits)
        except ValueError:  # no FLOP/s listed for this precision on this accelerator
            continue
        n = np.array([[1.0], [1.0], [0.5], [8.0]])
        b = np.array([[0.0, 1.0, 0.5, 1e-300]])
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            ev = evaluate(
                model_arrays(m), ha, Conventions(collectives=hw.collectives), n, b, 0.0, backend="numpy"
            )
        for name, a in ev._asdict().items():
            assert not np.isnan(a).any(), f"{model} on {hw_id}: NaN in {name}"
        # batch 0, a fractional batch and a fractional GPU are infeasible: inf latency and cost, zero MFU
        for i, j in ((0, 0), (1, 0), (0, 2), (2, 1), (3, 0), (3, 3)):
            assert np.isposinf(ev.latency_s[i, j]) and np.isposinf(ev.gpu_s_per_token[i, j]), (
                model,
                hw_id,
                i,
                j,
            )
            assert ev.mfu[i, j] == 0.0
        # one GPU, one sequence: feasible exactly when the weights fit, and then finite
        fits = m.weight_memory_bytes <= hw.hbm_capacity_bytes
        assert np.isfinite(ev.latency_s[0, 1]) == fits, (model, hw_id)


def test_batch_zero_on_the_jax_backend_is_infeasible_not_nan():
    m = load_model("llama-3-8b")
    hw = load_hardware("h100-sxm")
    n = np.geomspace(1.0, 4096.0, 40)[:, None]  # the shapes of the property tests: one compilation for both
    b = np.concatenate([[0.0], np.geomspace(1.0, 1e5, 39)])[None, :]
    ev = evaluate(model_arrays(m), hardware_arrays(hw, 16), Conventions(), n, b, 1000.0)
    assert not any(np.isnan(np.asarray(a)).any() for a in ev)
    assert np.isposinf(ev.latency_s[:, 0]).all() and (np.asarray(ev.mfu)[:, 0] == 0).all()
    assert np.isfinite(ev.latency_s[0, 1])  # one GPU, one sequence


@pytest.mark.parametrize("n_gpu,batch", [(0.0, 1.0), (1.0, 0.0), (-1.0, 4.0), (1.0, -2.0)])
def test_evaluate_point_refuses_empty_deployments(n_gpu, batch):
    with pytest.raises(infereco.SpecError):
        evaluate_point("llama-3-8b", "h100-sxm", n_gpu=n_gpu, batch_size=batch, backend="numpy")


def test_one_gpu_one_sequence_is_a_clean_point():
    p = evaluate_point("llama-3-8b", "h100-sxm", n_gpu=1, batch_size=1, context_length=0, backend="numpy")
    assert p["tp"] == 1.0 and p["network_latency_s"] == 0.0 and p["network_bandwidth_s"] == 0.0
    assert all(np.isfinite(v) for v in p.values() if isinstance(v, float))


# ---- log space ---------------------------------------------------------------------------------------------
def test_search_grid_is_geometric_over_many_decades():
    m = load_model("llama-3.1-405b")
    n, b = erdil_grid.grid_axes(m.weight_memory_bytes, 1e9, m.sparsity, erdil_grid.GridSpec())
    for axis in (n, b):
        steps = np.diff(np.log(axis))
        np.testing.assert_allclose(steps, steps[0], rtol=1e-9)
    assert n.max() / n.min() > 1e2 and b.max() / b.min() > 1e5


def test_preferred_point_is_computed_in_log_space():
    """speed^α overflows float64 for α ≳ 100 at 1000 tok/s; the log-space score does not."""
    f = pareto_frontier(
        "llama-3-8b", "h100-sxm", context_length=1000, search="continuous", grid=SMALL_GRID, backend="numpy"
    )
    with np.errstate(over="raise"):
        assert f.preferred(alpha=500.0).tokens_per_s_per_request == f.max_speed().tokens_per_s_per_request
    assert f.preferred(alpha=0.0).usd_per_million_tokens == f.min_cost().usd_per_million_tokens
    with np.errstate(over="ignore"):  # the naive score speed**alpha would overflow
        assert np.float64(f.columns["tokens_per_s_per_request"].max()) ** 500 == np.inf


def test_experts_touched_fraction_is_accurate_for_high_sparsity():
    for s in (2.0, 8.0, 256.0, 1e4, 1e6):
        m = dataclasses.replace(model_arrays(load_model("mixtral-8x7b")), sparsity=s)
        for n in (1.0, 3.0, 1e3, 1e6):
            exact = -np.expm1(n * np.log1p(-1.0 / s))
            got = float(experts_touched_fraction(m, n, xp=np))
            assert got == pytest.approx(exact, rel=1e-12, abs=0), (s, n, got, exact)


# ---- determinism -------------------------------------------------------------------------------------------
def test_jax_frontier_is_bitwise_deterministic_in_process():
    kw = dict(context_length=1000, search="continuous", grid=SMALL_GRID)
    a = pareto_frontier("llama-3-70b", "h100-sxm", **kw).to_json()
    b = pareto_frontier("llama-3-70b", "h100-sxm", **kw).to_json()
    assert a == b


_SNIPPET = """
import json, sys
from infereco import pareto_frontier
from infereco.search.erdil_grid import GridSpec
f = pareto_frontier("mixtral-8x22b", "h200", context_length=4000, search="continuous", backend="numpy",
                    grid=GridSpec(n_batch=40, n_gpu=40, n_thresholds=60), preset="erdil-2024")
sys.stdout.write(f.to_json())
"""


def test_frontier_is_identical_in_a_fresh_process():
    """Two fresh interpreters (numpy backend) print the same bytes. (Compared with each other rather than with
    this process, so that a library edited on disk during a long test run cannot make it fail.)"""
    cwd = str(infereco.__file__).rsplit("/infereco/", 1)[0]
    runs = [
        subprocess.run(
            [sys.executable, "-c", _SNIPPET], capture_output=True, text=True, check=True, cwd=cwd, timeout=300
        ).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert json.loads(runs[0])["points"], "the fixture frontier should not be empty"
