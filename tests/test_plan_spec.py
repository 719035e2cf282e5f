"""Plan files: traffic, SLOs with tails and candidates, validated with one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infereco import load_model
from infereco.errors import SpecError
from infereco.specs.plan import Lengths, PlanSpec

BASE = {
    "model": "deepseek-r1",
    "traffic": {"requests_per_s": 40, "input_tokens": {"uniform": [800, 1000]}, "output_tokens": 300},
    "slo": {"ttft_s": {"p90": 1.0, "p99": 3.0}, "tpot_s": {"p90": 0.05}},
    "candidates": {"hardware": ["h100-sxm", "b200"], "engines": ["vllm", "sglang"], "max_gpus": 64},
}


def test_the_issue_example_reads():
    p = PlanSpec.validated(BASE)
    assert p.traffic.peak_requests_per_s == 40.0
    assert p.traffic.input_tokens.mean == 900.0 and p.traffic.output_tokens.bounds == (300.0, 300.0)
    assert p.slo.targets() == [("ttft_s", "p90", 1.0), ("ttft_s", "p99", 3.0), ("tpot_s", "p90", 0.05)]
    assert p.candidates.modes == ("aggregated", "disaggregated") and p.candidates.price == "catalog"


@pytest.mark.parametrize(
    "change,message",
    [
        ({"trafic": {}}, "unknown key 'trafic'; did you mean 'traffic'?"),
        ({"slo": {"ttft_s": {"p90": 2.0, "p99": 1.0}}}, "ttft_s.p99 = 1 s is below ttft_s.p90 = 2 s"),
        ({"slo": {"ttfts": {"p90": 1.0}}}, "did you mean 'ttft_s'?"),
        ({"slo": {}}, "no targets"),
        ({"traffic": {**BASE["traffic"], "requests_per_s": 0}}, "expected a positive finite rate"),
        ({"traffic": {**BASE["traffic"], "requests_per_s": [1.0] * 23}}, "23 hourly rates"),
        ({"traffic": {**BASE["traffic"], "output_tokens": {"uniform": [0, 5]}}}, "expected 1 ≤ lo ≤ hi"),
        ({"candidates": {"max_gpu": 8}}, "did you mean 'max_gpus'?"),
        ({"candidates": {"price": {"b200": -1}}}, "price['b200'] = -1"),
    ],
)
def test_bad_plans_are_one_line(change, message):
    with pytest.raises(SpecError, match=None) as exc:
        PlanSpec.validated({**BASE, **change})
    text = str(exc.value)
    assert message in text and "\n" not in text


def test_lengths_above_the_context_window():
    p = PlanSpec.validated({**BASE, "traffic": {**BASE["traffic"], "input_tokens": 200_000}})
    with pytest.raises(SpecError, match="above the model's context of 163,840 tokens"):
        p.check_context(load_model("deepseek-r1").max_context_tokens)


def test_daily_profile_peak():
    rates = [1.0 + h for h in range(24)]
    p = PlanSpec.validated({**BASE, "traffic": {**BASE["traffic"], "requests_per_s": rates}})
    assert p.traffic.peak_requests_per_s == 24.0 and len(p.traffic.hourly_requests_per_s) == 24


@given(lo=st.integers(1, 5000), width=st.integers(0, 5000), seed=st.integers(0, 99))
@settings(max_examples=40, deadline=None)
def test_uniform_draws_stay_in_bounds_and_are_integers(lo, width, seed):
    L = Lengths.validated({"uniform": [lo, lo + width]})
    x = L.draw(np.random.default_rng(seed), 200)
    assert x.min() >= lo and x.max() <= lo + width and np.all(x == np.round(x))
    assert L.mean == lo + width / 2
