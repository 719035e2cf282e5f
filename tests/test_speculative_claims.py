"""Speculative decoding claims (Erdil 2025 §4.1, Fig. 7, Table 5): at acceptance α = 0.8 with a Llama 3 8B
draft, ≈ +66% speed for Llama 3 70B and ≈ 2× for Llama 3.1 405B at equal cost per token (all 16-bit, H100,
short context). The reference notebook gives +54% / ×1.9 (max speeds, an Aug 2024 commit).

"At equal cost" is measured as the ratio of the two frontiers' speeds at the same $/M
(`speed_ratio_at_equal_cost`), over costs from 3× the no-speculation cost floor up to the no-speculation
max-speed cost (near the floor both frontiers are compute-bound and speculation cannot help; the ratio there
falls to 1).

Measured (context 0, search erdil-grid):
- erdil-2024 (notebook convention: (1 − α^(γ+1))/(1 − α) tokens, γ + 1-token verification): 70B median ×1.62
  (range 1.53–1.69), 405B median ×2.1 (range 1.97–2.42); max-speed ratios ×1.61 and ×1.97.
- erdil-paper (Eq. 46: (1 − α^γ)/(1 − α) tokens, no bonus token; 70%/75% caps): 70B median ×1.42, 405B ×2.0.
Held: notebook convention 70B within ±10% of 1.66, 405B within ±15% of 2; Eq. 46 405B within ±10% of 2. The
paper's +66% for 70B is NOT reproduced under its own Eq. 46 (×1.42, −15%); it matches the bonus-token
convention, which is what the paper's published code implements.
"""

from __future__ import annotations

import numpy as np
import pytest

from infereco import pareto_frontier
from infereco.observed import speed_at_cost, speed_ratio_at_equal_cost
from infereco.physics.speculative import expected_tokens_per_pass, target_tokens_per_pass

SPEC = {"draft": "llama-3-8b", "acceptance": 0.8}


def test_conventions_by_hand():
    # α = 0.8, γ = 4: notebook (1 − 0.8^5)/0.2 = 3.3616 tokens per 5-token pass; paper (1 − 0.8^4)/0.2 = 2.952
    # per 4-token pass.
    assert float(expected_tokens_per_pass(0.8, 4, "notebook")) == pytest.approx(3.3616, rel=1e-12)
    assert float(expected_tokens_per_pass(0.8, 4, "paper")) == pytest.approx(2.952, rel=1e-12)
    assert target_tokens_per_pass(4, "notebook") == 5 and target_tokens_per_pass(4, "paper") == 4
    assert float(expected_tokens_per_pass(1.0, 4, "paper")) == 4.0


def _ratios(preset, model):
    kw = {"context_length": 0, "preset": preset, "search": "erdil-grid"}
    plain = pareto_frontier(model, "h100-sxm", **kw)
    spec = pareto_frontier(model, "h100-sxm", speculative=SPEC, **kw)
    lo = 3 * plain.min_cost().usd_per_million_tokens
    hi = plain.max_speed().usd_per_million_tokens
    costs = np.geomspace(lo, hi, 25)
    r = speed_ratio_at_equal_cost(spec, plain, costs)
    return (
        r,
        spec.max_speed().tokens_per_s_per_request / plain.max_speed().tokens_per_s_per_request,
        spec,
        plain,
    )


@pytest.fixture(scope="module")
def notebook_70b():
    return _ratios("erdil-2024", "llama-3-70b")


@pytest.fixture(scope="module")
def notebook_405b():
    return _ratios("erdil-2024", "llama-3.1-405b")


def test_70b_plus_66_percent_notebook_convention(notebook_70b):
    r, max_ratio, spec, _plain = notebook_70b
    assert np.all(np.isfinite(r)) and np.all(r >= 1.0)
    assert np.median(r) == pytest.approx(1.66, rel=0.10)
    assert max_ratio == pytest.approx(1.66, rel=0.10)
    # Notebook's own max-speed ratio (+54%, older commit) within 10% too.
    assert max_ratio == pytest.approx(1.54, rel=0.10)
    # The speculative frontier drafts: its fast points use γ ≥ 1.
    assert spec.max_speed().gamma >= 1


def test_405b_about_2x_notebook_convention(notebook_405b):
    r, max_ratio, _, _ = notebook_405b
    assert np.median(r) == pytest.approx(2.0, rel=0.15)
    assert max_ratio == pytest.approx(1.9, rel=0.10)


def test_paper_convention_eq46():
    r70, _, _, _ = _ratios("erdil-paper", "llama-3-70b")
    r405, _, _, _ = _ratios("erdil-paper", "llama-3.1-405b")
    assert np.median(r405) == pytest.approx(2.0, rel=0.10)
    # Documented deviation: Eq. 46 (no bonus token) gives ≈ +42% for 70B, not +66%.
    assert 1.3 <= np.median(r70) <= 1.6
    assert np.median(r70) < np.median(r405)


def test_speed_at_cost_is_the_inverse_of_cost_at_speed(notebook_70b):
    _, _, spec, plain = notebook_70b
    for f in (spec, plain):
        for s in np.geomspace(20, 0.9 * f.max_speed().tokens_per_s_per_request, 7):
            c = f.cost_at_speed(s)
            assert speed_at_cost(f, c) == pytest.approx(s, rel=0.03)
        assert speed_at_cost(f, 0.5 * f.min_cost().usd_per_million_tokens) == 0.0
        assert speed_at_cost(f, 1e9) == pytest.approx(f.max_speed().tokens_per_s_per_request)
