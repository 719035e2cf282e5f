"""FLOP of one decoding step: parameters times tokens plus attention over the context."""

from __future__ import annotations

import jax.numpy as jnp

from infereco.physics.structs import ModelArrays


def window_excess_positions(m: ModelArrays, seq_len, context_tokens, xp=jnp):
    """Attended positions a sliding window removes from a step, averaged over the layers.

    New token i (0 ≤ i < t) attends to c + i earlier positions on a full layer and min(c + i, W) on a
    windowed one. The positions beyond the window, Σᵢ max(c + i − W, 0), are the last n terms of
    e, e − 1, … with e = max(c + t − 1 − W, 0) and n = min(⌈e⌉, t): n·e − n(n − 1)/2. Times the sliding
    fraction f; exactly 0 without a window (f = 0).
    """
    return m.sliding_flop_fraction * _excess_positions(m.sliding_window, seq_len, context_tokens, xp)


def _excess_positions(cap, seq_len, context_tokens, xp):
    """Σᵢ max(c + i − cap, 0) over the t new tokens i = 0 … t − 1 (closed form)."""
    top = xp.maximum(context_tokens + seq_len - 1.0 - cap, 0.0)
    n = xp.minimum(xp.ceil(top), xp.maximum(seq_len, 0.0))
    return n * top - n * (n - 1.0) / 2.0


def sparse_excess_positions(m: ModelArrays, seq_len, context_tokens, xp=jnp):
    """Attended positions top-k sparse attention removes from a step (the positions beyond k each new token
    would otherwise attend to), times the sparse layers' share of the attention FLOP; 0 without them."""
    return m.sparse_flop_fraction * _excess_positions(m.sparse_top_k, seq_len, context_tokens, xp)


def attention_flop(m: ModelArrays, batch, seq_len, context_tokens, xp=jnp):
    """Attention score and value FLOP: 4·width·heads·layers·c̄·b·t, with c̄ = c + (t − 1)/2 the mean context.

    width is d_head (GQA) or d_latent (MLA, absorbed attention; Erdil §3.1). Erdil Eq. 37 with d_head
    restored. Sliding-window layers attend to at most their window: c̄ loses the positions beyond it
    (`window_excess_positions`, per new token), so decode at c ≥ W costs W on a windowed layer.
    """
    safe_t = xp.where(seq_len > 0, seq_len, 1.0)
    mean_context = (
        context_tokens
        + (seq_len - 1.0) / 2.0
        - window_excess_positions(m, seq_len, context_tokens, xp) / safe_t
        - sparse_excess_positions(m, seq_len, context_tokens, xp) / safe_t
    )
    return 4.0 * m.attention_width * m.n_heads * m.n_layers * mean_context * batch * seq_len


def step_flop(m: ModelArrays, batch, seq_len=1.0, context_tokens=0.0, xp=jnp):
    """Total FLOP of one step of `batch` sequences with `seq_len` new tokens each (Erdil Eqs. 36–38).

    >>> from infereco.physics.requests import resolve_deployment
    >>> m = resolve_deployment("llama-3-8b", "h100-sxm").arrays
    >>> float(step_flop(m, 1.0)) == 2 * m.active_params   # no context: 2 FLOP per active parameter
    True
    >>> round(float(step_flop(m, 1.0, context_tokens=1000.0) - step_flop(m, 1.0)) / 1e6)   # 4·128·32·32·1000
    524
    """
    return (
        2.0 * m.active_params * batch * seq_len
        + attention_flop(m, batch, seq_len, context_tokens, xp)
        + m.mixer_flop_per_token * batch * seq_len
    )


def step_rate_flop(m: ModelArrays, hw, batch, seq_len=1.0, context_tokens=0.0, xp=jnp):
    """`step_flop` in FLOP at `hw.flop_per_s`: each component's GEMMs count N_c / s_c at the rate of their own
    operands (the scales s_c of `structs.flop_scales`: NVFP4 experts at the FP4 rate beside 16-bit
    attention), attention scores and recurrences / s_score. So a step's arithmetic takes
    `step_rate_flop / (n_gpu · flop_per_s)` seconds; exactly `step_flop` when every scale is 1.

    >>> from infereco.physics.requests import resolve_deployment
    >>> d = resolve_deployment("llama-3-8b", "h100-sxm")
    >>> bool(step_rate_flop(d.arrays, d.hw_arrays, 4.0, 1.0, 100.0) == step_flop(d.arrays, 4.0, 1.0, 100.0))
    True
    """
    tokens = batch * seq_len
    attention_params = m.n_layers * m.attention_params_per_layer
    expert = m.active_params - attention_params - m.dense_ffn_params - m.embedding_flop_params
    # Per component N_c·(1/s_c − 1) parameter-equivalents beyond the plain count (0 at s_c = 1).
    extra = (
        attention_params * (1.0 / hw.attention_flop_scale - 1.0)
        + m.dense_ffn_params * (1.0 / hw.ffn_flop_scale - 1.0)
        + expert * (1.0 / hw.expert_flop_scale - 1.0)
        + m.embedding_flop_params * (1.0 / hw.embedding_flop_scale - 1.0)
    )
    attention = attention_flop(m, batch, seq_len, context_tokens, xp)
    mixer = m.mixer_flop_per_token * batch * seq_len
    # The terms of `step_flop` in its order (bit-identical when every scale is 1), attention computed once.
    plain = 2.0 * m.active_params * batch * seq_len + attention + mixer
    return plain + 2.0 * extra * tokens + (attention + mixer) * (1.0 / hw.score_flop_scale - 1.0)
