"""Observed provider points against frontiers (infereco.observed), and the paper's conclusion about the
Llama 3 70B data point (Erdil 2025 §4, §4.1; digest §1.6 #11–#13, §1.11).

The paper: the leading provider's Llama 3 70B point (≈ 150 tok/s at $0.90/M) lies outside the 8-bit frontier
without speculative decoding, and inside it with a Llama 3 8B draft at α = 0.8.

Which preset: `erdil-2024` (the notebook that draws the paper's figures: no utilization caps, $2.10/h) holds
the conclusion with wide margins at a 1,000-token context: without speculation the frontier needs $3.98/M at
150 tok/s (the point is 4.4× cheaper: beyond); with it, $0.49/M (the point is 1.8× dearer: inside).
`erdil-paper` (70%/75% caps, $2/h, Eq. 46) also holds it at context 0: the no-speculation maximum is 139 tok/s
(150 is beyond by speed), and the speculative frontier costs $0.68/M at 150 tok/s (inside by 24%) — but at a
1,000-token context that frontier costs $1.06/M at 150 tok/s and the point would be beyond it, so the
paper-text preset is sensitive.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from infereco import pareto_frontier
from infereco.frontier import Frontier
from infereco.observed import (
    NOTEBOOK_LLAMA_3_70B_8BIT,
    PAPER_POINTS,
    ObservedPoint,
    classify,
    overlay,
    placement,
    speed_at_cost,
)

SPEC = {"draft": "llama-3-8b", "acceptance": 0.8}
LLAMA_70B_8BIT = {"base": "llama-3-70b", "weight_bits": 8}


def _toy_frontier():
    # Three points: 10 tok/s at $1, 50 tok/s at $2, 100 tok/s at $8 (fastest first, as frontiers are stored).
    return Frontier(
        {
            "tokens_per_s_per_request": np.array([100.0, 50.0, 10.0]),
            "usd_per_million_tokens": np.array([8.0, 2.0, 1.0]),
        },
        price_usd_per_hour=2.0,
    )


def test_paper_points():
    by_model = {p.model_id: p for p in PAPER_POINTS}
    assert (by_model["llama-3-70b"].tokens_per_s, by_model["llama-3-70b"].usd_per_million_tokens) == (
        150.0,
        0.90,
    )
    assert (by_model["llama-3-8b"].tokens_per_s, by_model["llama-3-8b"].usd_per_million_tokens) == (
        400.0,
        0.20,
    )
    assert (by_model["mixtral-8x22b"].tokens_per_s, by_model["mixtral-8x22b"].usd_per_million_tokens) == (
        89.0,
        1.20,
    )
    assert (by_model["gpt-4"].tokens_per_s, by_model["gpt-4"].usd_per_million_tokens) == (21.0, 37.5)
    assert (NOTEBOOK_LLAMA_3_70B_8BIT.tokens_per_s, NOTEBOOK_LLAMA_3_70B_8BIT.usd_per_million_tokens) == (
        158.0,
        0.90,
    )
    assert all(p.source for p in PAPER_POINTS)
    with pytest.raises(ValueError, match="tokens_per_s"):
        ObservedPoint("x", "llama-3-8b", -1.0, 1.0, "s")


def test_classify_by_hand():
    f = _toy_frontier()
    # Frontier cost at 50 tok/s is $2 (a frontier point). Tolerance 5%.
    assert classify(f, (50.0, 2.0)) == "on"
    assert classify(f, (50.0, 2.09)) == "on"
    assert classify(f, (50.0, 2.2)) == "inside"
    assert classify(f, (50.0, 1.85)) == "beyond"
    # Log-log between (50, $2) and (100, $8): at 70.7 tok/s (geometric mean) the frontier costs $4.
    assert f.cost_at_speed(math.sqrt(50 * 100)) == pytest.approx(4.0)
    assert classify(f, (math.sqrt(50 * 100), 3.5)) == "beyond"
    assert classify(f, (math.sqrt(50 * 100), 5.0)) == "inside"
    # Faster than the fastest point: beyond beyond the tolerance, "on" within it unless much cheaper.
    assert classify(f, (110.0, 100.0)) == "beyond"
    assert classify(f, (104.0, 9.0)) == "on"
    assert classify(f, (104.0, 5.0)) == "beyond"
    # Slower than the slowest point: compared with the cost floor.
    assert classify(f, (5.0, 0.9)) == "beyond"
    assert classify(f, (5.0, 1.5)) == "inside"
    # Tolerance is a parameter.
    assert classify(f, (50.0, 2.09), rtol=0.01) == "inside"


def test_speed_at_cost_by_hand():
    f = _toy_frontier()
    assert speed_at_cost(f, 4.0) == pytest.approx(math.sqrt(50 * 100))
    assert speed_at_cost(f, 2.0) == pytest.approx(50.0)
    assert speed_at_cost(f, 100.0) == 100.0
    assert speed_at_cost(f, 0.5) == 0.0


def test_placement_and_overlay_numbers():
    f = _toy_frontier()
    d = placement(f, ObservedPoint("p", "llama-3-8b", 50.0, 1.0, "test"))
    assert d["placement"] == "beyond" and d["cost_ratio"] == pytest.approx(0.5)
    assert d["speed_ratio_to_max"] == pytest.approx(0.5)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    rows = overlay(f, [ObservedPoint("p", "llama-3-8b", 50.0, 1.0, "test")], ax=ax)
    assert rows[0]["placement"] == "beyond" and len(ax.collections) == 1
    plt.close(fig)


@pytest.fixture(scope="module")
def notebook_frontiers():
    kw = {"context_length": 1000, "preset": "erdil-2024", "search": "erdil-grid"}
    return (
        pareto_frontier(LLAMA_70B_8BIT, "h100-sxm", **kw),
        pareto_frontier(LLAMA_70B_8BIT, "h100-sxm", speculative=SPEC, **kw),
    )


def test_llama_70b_point_beyond_without_and_inside_with_speculation(notebook_frontiers):
    plain, spec = notebook_frontiers
    point = PAPER_POINTS[0]
    assert classify(plain, point) == "beyond"
    assert classify(spec, point) == "inside"
    # Margins (see the module docstring): 4.4× below the plain frontier, 1.8× above the speculative one.
    assert placement(plain, point)["cost_ratio"] < 0.5
    assert placement(spec, point)["cost_ratio"] > 1.3
    # The notebook's 158 tok/s measurement: the same verdicts.
    assert classify(plain, NOTEBOOK_LLAMA_3_70B_8BIT) == "beyond"
    assert classify(spec, NOTEBOOK_LLAMA_3_70B_8BIT) == "inside"


def test_llama_70b_point_with_the_paper_text_preset():
    kw = {"context_length": 0, "preset": "erdil-paper", "search": "erdil-grid"}
    plain = pareto_frontier(LLAMA_70B_8BIT, "h100-sxm", **kw)
    spec = pareto_frontier(LLAMA_70B_8BIT, "h100-sxm", speculative=SPEC, **kw)
    point = PAPER_POINTS[0]
    assert plain.max_speed().tokens_per_s_per_request < 150 / 1.05  # beyond by speed (≈ 139 tok/s)
    assert classify(plain, point) == "beyond"
    assert classify(spec, point) == "inside"


def test_llama_8b_point_within_2x_of_max_speed():
    # Erdil §2.2.2: providers serve within 2× of the maximum speed. (On cost, the full model puts the 8B point
    # beyond its frontier: $0.20/M against ≈ $0.24–0.44/M at 400 tok/s, depending on the preset.)
    f = pareto_frontier(
        "llama-3-8b", "h100-sxm", context_length=1000, preset="erdil-2024", search="erdil-grid"
    )
    d = placement(f, PAPER_POINTS[1])
    assert 0.5 <= d["speed_ratio_to_max"] <= 1.0
    assert d["placement"] in ("inside", "on", "beyond")
