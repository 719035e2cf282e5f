"""Token-mixer layer types (specs.layers) and what the physics does with them: hand-derived terms per kind,
and properties over random hybrids (more context is never cheaper; a window caps the KV term; a recurrent
state does not grow with the context; sparse attention caps what a step reads)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infereco.errors import SpecError
from infereco.physics.arithmetic import step_flop
from infereco.physics.memory import kv_cache_bytes, kv_read_bytes
from infereco.physics.structs import model_arrays
from infereco.specs.layers import (
    MixerGroup,
    attention_group,
    gated_delta_group,
    mamba2_group,
    mla_group,
)
from infereco.specs.model import ModelSpec

BASE = dict(
    name="hybrid", d_model=1024, d_ff=4096, n_layers=8, n_heads=8, n_kv_heads=2, d_head=128, vocab_size=1000
)


def _hybrid(**kw) -> ModelSpec:
    full = attention_group(2, 1024, 8, 2, 128)
    lin = gated_delta_group(6, 1024, 4, 8, 128, 128, 4)
    return ModelSpec(**(BASE | {"mixers": (full, lin)} | kw))


def test_linear_layers_hold_a_state_not_a_cache():
    m = _hybrid()
    # KV: 2 full layers × 2 KV heads × (128 + 128) × 2 bytes per token
    assert m.kv_cache_bytes_per_token == 2 * 2 * 256 * 2
    # State: 6 layers × (8 value heads × 128 × 128 × 4 bytes + conv (2·4·128 + 8·128)·3 × 2 bytes)
    state = 6 * (8 * 128 * 128 * 4 + (2 * 4 * 128 + 8 * 128) * 3 * 2)
    assert m.state_bytes_per_sequence == state
    assert m.kv_cache_bytes_per_sequence(1000.0) == 1000 * 2048 + state
    a = model_arrays(m)
    # held: cache at the context plus the state; a step reads the cache and reads + writes the state
    assert float(kv_cache_bytes(a, 3.0, 1000.0, xp=np)) == 3 * (1000 * 2048 + state)
    assert float(kv_read_bytes(a, 3.0, 1000.0, xp=np)) == 3 * (1000 * 2048 + 2 * state)


def test_attention_flop_counts_only_attention_layers_and_adds_the_recurrence():
    m = _hybrid()
    a = model_arrays(m)
    # 2 full layers × 2·h·(d_qk + d_v) = 2 × 2·8·256 per position; 6 × 7·8·128·128 recurrence per token
    per_position = 2 * 2 * 8 * 256
    recurrence = 6 * 7 * 8 * 128 * 128
    extra = float(step_flop(a, 1.0, 1.0, 500.0, xp=np) - step_flop(a, 1.0, 1.0, 0.0, xp=np))
    assert extra == pytest.approx(per_position * 500, rel=1e-12)
    assert float(step_flop(a, 1.0, 1.0, 0.0, xp=np)) == pytest.approx(
        2 * m.active_params + recurrence, rel=1e-12
    )


def test_sliding_group_caps_kv_at_the_window():
    local = attention_group(3, 1024, 8, 4, 128, window=256)
    glob = attention_group(1, 1024, 8, 1, 256, k_eq_v=True)  # keys double as values: one 256-wide head
    m = ModelSpec(**(BASE | {"n_layers": 4, "mixers": (local, glob)}))
    per_tok_local, per_tok_global = 3 * 4 * 256 * 2, 1 * 256 * 2
    for c in (100.0, 256.0, 5000.0):
        assert m.kv_cache_bytes_per_sequence(c) == pytest.approx(
            per_tok_local * min(c, 256) + per_tok_global * c
        )


def test_sparse_attention_holds_everything_and_reads_top_k_plus_the_indexer():
    g = mla_group(4, 1024, 8, 512, 256, 64, 32, 64, top_k=2048, index_heads=4, index_head_dim=64)
    m = ModelSpec(**(BASE | {"n_layers": 4, "kv_lora_rank": 512, "qk_rope_head_dim": 32, "mixers": (g,)}))
    main, index = 4 * (512 + 32) * 2, 4 * (64 + 4)
    a = model_arrays(m)
    c = 10_000.0
    assert float(kv_cache_bytes(a, 1.0, c, xp=np)) == pytest.approx((main + index) * c)
    assert float(kv_read_bytes(a, 1.0, c, xp=np)) == pytest.approx(main * 2048 + index * c)
    # attention FLOP per decode token: 2·h·(r + rope) + 2·h·r per selected position, 2·H·d_i per scored one
    d_flop = float(step_flop(a, 1.0, 1.0, c, xp=np) - step_flop(a, 1.0, 1.0, 0.0, xp=np))
    assert d_flop == pytest.approx(4 * ((2 * 8 * 544 + 2 * 8 * 512) * 2048 + 2 * 4 * 64 * c), rel=1e-9)


def test_mamba_layer_by_hand():
    g = mamba2_group(1, 256, 8, 32, 16, 2, 4, state_bits=32)
    d_in, conv = 8 * 32, 8 * 32 + 2 * 2 * 16
    assert g.params == 256 * (2 * d_in + 2 * 2 * 16 + 8) + conv * 4 + 3 * 8 + d_in + d_in * 256
    assert g.state_bytes == 8 * 32 * 16 * 4 + conv * 3 * 2
    assert g.flop_per_token == 5 * 8 * 32 * 16


@pytest.mark.parametrize(
    "fields,needle",
    [
        ({"kind": "sliding", "n_layers": 1, "params": 1.0}, "window"),
        ({"kind": "linear", "n_layers": 1, "params": 1.0, "kv_elements_per_token": 5.0}, "state"),
        ({"kind": "full", "n_layers": 1, "params": 1.0, "top_k": 5}, "top_k"),
        ({"kind": "full", "n_layers": 1, "params": -1.0}, "params"),
    ],
)
def test_bad_groups_are_refused_with_the_field(fields, needle):
    with pytest.raises(SpecError, match=needle):
        MixerGroup.validated(fields, where="test")


def test_two_windows_in_one_model_are_refused():
    a = attention_group(1, 1024, 8, 2, 128, window=128)
    b = attention_group(1, 1024, 8, 2, 128, window=512)
    with pytest.raises(SpecError, match="windows"):
        ModelSpec.validated(BASE | {"mixers": (a, b)}, where="test")


def test_per_component_precision_sets_the_weight_bytes():
    m = _hybrid(weight_bits=8, expert_weight_bits=4, embedding_weight_bits=16, fp4_scale_bits=0.5)
    attention = sum(g.n_layers * g.params for g in m.mixers)
    ffn = 8 * 3 * 1024 * 4096
    assert m.weight_memory_bytes == pytest.approx(attention * 1 + ffn * 4.5 / 8 + 2 * 1000 * 1024 * 2)


@settings(max_examples=40, deadline=None)
@given(
    n_full=st.integers(0, 4),
    n_window=st.integers(0, 4),
    n_linear=st.integers(0, 4),
    window=st.integers(16, 4096),
    c=st.floats(0.0, 1e5),
    dc=st.floats(0.0, 1e5),
)
def test_more_context_is_never_cheaper_and_state_is_flat(n_full, n_window, n_linear, window, c, dc):
    groups = []
    if n_full:
        groups.append(attention_group(n_full, 1024, 8, 2, 128))
    if n_window:
        groups.append(attention_group(n_window, 1024, 8, 4, 64, window=window))
    if n_linear:
        groups.append(gated_delta_group(n_linear, 1024, 4, 8, 64, 64, 4))
    if not groups:
        return
    m = ModelSpec(**(BASE | {"mixers": tuple(groups)}))
    a = model_arrays(m)
    for f in (
        lambda x: kv_cache_bytes(a, 1.0, x, xp=np),
        lambda x: kv_read_bytes(a, 1.0, x, xp=np),
        lambda x: step_flop(a, 1.0, 1.0, x, xp=np),
    ):
        assert float(f(c + dc)) >= float(f(c)) * (1 - 1e-12)
    if not n_full:  # windows and states only: bounded by the window whatever the context
        assert float(kv_cache_bytes(a, 1.0, c + window + 10.0, xp=np)) == pytest.approx(
            float(kv_cache_bytes(a, 1.0, float(window), xp=np))
        )
