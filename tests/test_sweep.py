"""sweep(): a tidy table of frontiers over models × hardware × contexts × prices."""

from __future__ import annotations

import numpy as np
import pytest

from infereco import pareto_frontier
from infereco.sweep import sweep


def test_sweep_rows_match_individual_frontiers():
    r = sweep(
        ["llama-3-8b", "mixtral-8x7b"],
        ["h100-sxm", "a100-sxm-80g"],
        [1000, 16000],
        [1.0, 3.0],
        progress=False,
    )
    assert len(r) == 2 * 2 * 2 * 2
    row = next(
        x
        for x in r.rows
        if x["model"] == "mixtral-8x7b"
        and x["hardware"] == "a100-sxm-80g"
        and x["context_length"] == 16000
        and x["price_usd_per_hour"] == 3.0
    )
    f = pareto_frontier("mixtral-8x7b", "a100-sxm-80g", context_length=16000, price_usd_per_hour=3.0)
    assert row["preferred_usd_per_million_tokens"] == pytest.approx(
        f.preferred().usd_per_million_tokens, rel=1e-12
    )
    assert row["max_speed_tokens_per_s_per_request"] == pytest.approx(
        f.max_speed().tokens_per_s_per_request, rel=1e-12
    )
    assert row["min_cost_usd_per_million_tokens"] == pytest.approx(
        f.min_cost().usd_per_million_tokens, rel=1e-12
    )


def test_sweep_price_scales_cost_exactly():
    r = sweep("llama-3-70b", "h100-sxm", 1000, [1.0, 2.5], progress=False)
    a, b = r.rows
    assert b["min_cost_usd_per_million_tokens"] == pytest.approx(
        2.5 * a["min_cost_usd_per_million_tokens"], rel=1e-12
    )
    fa, fb = r.frontiers.values()
    np.testing.assert_allclose(
        fb.columns["usd_per_million_tokens"], 2.5 * fa.columns["usd_per_million_tokens"], rtol=1e-12
    )
    np.testing.assert_array_equal(
        fb.columns["tokens_per_s_per_request"], fa.columns["tokens_per_s_per_request"]
    )


def test_sweep_reports_infeasible_rows_with_a_reason():
    r = sweep("llama-3.1-405b", {"base": "h100-sxm", "hbm_capacity_bytes": 1e8}, 1000, progress=False)
    assert r.rows[0]["n_points"] == 0 and "does not fit" in r.rows[0]["reason"]
