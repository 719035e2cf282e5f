"""Multi-token-prediction heads as a built-in draft with per-position acceptance, hand-derived."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infereco import evaluate_point, load_model, pareto_frontier
from infereco.errors import SpecError
from infereco.physics.speculative import expected_tokens_per_pass
from infereco.specs.hf_config import load_hf_config
from infereco.specs.speculative import SpeculativeSpec, mtp_draft

CONFIGS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "hf_configs"


def test_tokens_per_pass_by_position_by_hand():
    s = SpeculativeSpec(draft=load_model("llama-3-8b"), acceptance_by_position=(0.9, 0.5, 0.2))
    # γ = 0, 1, 2, 3: 1; 1 + .9; 1 + .9 + .45; 1 + .9 + .45 + .09
    assert s.tokens_per_pass() == pytest.approx((1.0, 1.9, 2.35, 2.44))
    # Erdil Eq. 46 counts one accepted position fewer: γ = 1 gives 1 token, γ = 2 gives 1.9.
    assert s.tokens_per_pass("paper") == pytest.approx((1.0, 1.0, 1.9, 2.35))
    assert s.acceptance == 0.9 and s.draft_limit == 3


@given(alpha=st.floats(0.0, 0.999), gamma=st.integers(1, 12))
@settings(max_examples=50, deadline=None)
def test_equal_positions_reduce_to_the_geometric_series(alpha, gamma):
    s = SpeculativeSpec(draft=load_model("llama-3-8b"), acceptance_by_position=(alpha,) * gamma)
    for conv in ("notebook", "paper"):
        table = s.tokens_per_pass(conv)
        want = float(expected_tokens_per_pass(alpha, float(gamma), conv, xp=np))
        assert table[gamma] == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_acceptance_out_of_range_names_the_position():
    with pytest.raises(SpecError, match=r"acceptance_by_position\[1\] = 1.5"):
        SpeculativeSpec.validated(
            {"draft": load_model("llama-3-8b"), "acceptance_by_position": [0.8, 1.5]}, where="speculative"
        )


def test_mtp_draft_is_one_block_of_the_target():
    r1 = load_model("deepseek-r1")
    d = mtp_draft(r1)
    # One MLA block with the MoE FFN (256 routed + 1 shared expert), plus the 2d×d projection of
    # [embedding; hidden]; embedding and lm_head shared (stored once: V·d).
    assert (d.n_layers, d.n_experts, d.n_active_experts, d.n_shared_experts) == (1, 256, 8, 1)
    assert d.kv_lora_rank == r1.kv_lora_rank and d.attention_params_per_layer == r1.attention_params_per_layer
    ffn = 3 * r1.d_model * r1.d_ff
    assert d.total_params == pytest.approx(
        r1.attention_params_per_layer + 257 * ffn + 2 * r1.d_model**2 + r1.vocab_size * r1.d_model
    )
    # The deepseek-ai/DeepSeek-V3 model card: 685B on the Hub = 671B main model + 14B MTP module, which stores
    # its own embedding and head copies (2·V·d); the block as drafted here plus those within 5%.
    with_copies = d.total_params - d.vocab_size * d.d_model + 2 * d.vocab_size * d.d_model
    assert with_copies == pytest.approx(14e9, rel=0.05)


def test_mtp_needs_mtp_layers():
    with pytest.raises(SpecError, match="no multi-token-prediction layers"):
        pareto_frontier("llama-3-70b", "h100-sxm", speculative={"draft": "mtp", "acceptance": 0.8})


def test_mtp_decoding_is_faster_at_batch_one_and_caps_gamma():
    plain = evaluate_point("deepseek-r1", "b200", tp=8, batch_size=1)
    spec = {"draft": "mtp", "acceptance_by_position": [0.85, 0.6]}
    mtp = pareto_frontier("deepseek-r1", "b200", speculative=spec)
    fast = mtp.max_speed()
    assert fast.gamma <= 2  # no acceptance known beyond the second position
    # At batch 1 a (γ + 1)-token pass costs about one token's weights read: ≥ 1.5× the plain speed.
    assert fast.tokens_per_s_per_request > 1.5 * plain["tokens_per_s_per_request"]


@pytest.mark.skipif(not CONFIGS.is_dir(), reason="shared/ reference configs absent")
@pytest.mark.parametrize(
    "stem,n",
    [
        ("deepseek-ai--DeepSeek-V3", 1),  # num_nextn_predict_layers
        ("Qwen--Qwen3.5-27B", 1),  # text_config.mtp_num_hidden_layers
        ("stepfun-ai--Step-3.7-Flash", 3),
        ("meta-llama--Llama-3.1-70B", 0),
    ],
)
def test_configs_name_their_mtp_layers(stem, n):
    assert load_hf_config(CONFIGS / f"{stem}_config.json").n_mtp_layers == n
