"""Hostile arguments to the Python API: every bad argument gives an `InferecoError` subclass, never a bare
TypeError/ValueError from deep inside, and never a frontier holding NaN."""

from __future__ import annotations

import math

import pytest

from infereco import InferecoError, SpecError, evaluate_point, pareto_frontier
from tests.test_properties_strategies import SMALL_GRID

FAST = dict(search="continuous", grid=SMALL_GRID, backend="numpy")



def _frontier(**kw):
    return pareto_frontier("llama-3-8b", "h100-sxm", **{**FAST, **kw})


CASES = {
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
    "evaluate_point infinite batch": lambda: evaluate_point("llama-3-8b", "h100-sxm", n_gpu=1, batch_size=math.inf),
    "evaluate_point negative GPUs": lambda: evaluate_point("llama-3-8b", "h100-sxm", n_gpu=-1, batch_size=1),
    "alpha inf": lambda: _frontier(alpha=math.inf).preferred(),
    "alpha nan": lambda: _frontier(alpha=math.nan).preferred(),
    "alpha negative": lambda: _frontier(alpha=-1.0).preferred(),
    "preferred(alpha=-2)": lambda: _frontier().preferred(alpha=-2.0),
    "unknown backend": lambda: _frontier(backend="torch"),
    "evaluate_point GPUs as a string": lambda: evaluate_point("llama-3-8b", "h100-sxm", n_gpu="eight", batch_size=1),
}
XFAIL: dict = {}


@pytest.mark.parametrize("case", [pytest.param(k, id=k) for k in CASES] + [
    pytest.param(k, id=k, marks=pytest.mark.xfail(strict=True, reason=why)) for k, (_, why) in XFAIL.items()])
def test_bad_arguments_raise_a_library_error(case):
    fn = CASES[case] if case in CASES else XFAIL[case][0]
    with pytest.raises(InferecoError) as info:
        fn()
    assert "\n" not in str(info.value) and str(info.value)


def test_spec_errors_are_value_errors_too():
    """Callers that catch ValueError (pydantic's habit) keep working."""
    with pytest.raises(ValueError):
        _frontier(context_length=-1)
    assert issubclass(SpecError, ValueError)
