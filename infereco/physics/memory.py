"""Bytes moved through HBM in one step, and whether weights plus KV cache fit."""

from __future__ import annotations

import jax.numpy as jnp

from infereco.physics.structs import ModelArrays


def experts_touched_fraction(m: ModelArrays, tokens, xp=jnp):
    """Expected fraction of routed experts hit by `tokens` i.i.d. uniformly routed tokens: 1 − (1 − 1/s)^n
    with s = E/k (Eq. 22), i.e. E·(1 − (1 − k/E)^n) distinct experts of E, each token picking k.

    >>> import numpy as np
    >>> from infereco.physics.structs import model_arrays
    >>> from infereco.specs.model import ModelSpec
    >>> v2 = ModelSpec(name="v2-like", d_model=64, d_ff=32, n_layers=2, n_heads=4, n_kv_heads=4,
    ...                n_experts=160, n_active_experts=6)
    >>> round(160 * float(experts_touched_fraction(model_arrays(v2), 4.0, xp=np)), 3)  # 160(1-(1-6/160)^4)
    22.683
    """
    # −expm1(n·log1p(−1/s)) avoids the cancellation of 1 − (1 − 1/s)^n when 1/s is small; s = 1 (dense) hits
    # every expert for any n ≥ 1 (and the reference's 0^n is 1 − 0 = 1 as well).
    s = xp.maximum(m.sparsity, 1.0)
    safe = xp.where(s > 1.0, s, 2.0)
    frac = -xp.expm1(tokens * xp.log1p(-1.0 / safe))
    return xp.where(s > 1.0, frac, 1.0)


def kv_held_tokens(m: ModelArrays, context_tokens, xp=jnp):
    """KV positions held per sequence, averaged over the KV bytes: c on full and sparse layers, min(c, window)
    on sliding-window ones, i.e. c − f·max(c − window, 0) with f = `m.sliding_fraction`."""
    return context_tokens - m.sliding_fraction * xp.maximum(context_tokens - m.sliding_window, 0.0)


def kv_context_tokens(m: ModelArrays, context_tokens, xp=jnp):
    """KV positions read per sequence in a step, averaged over the KV bytes: the held positions
    (`kv_held_tokens`) less, on sparse-attention layers, those beyond the top-k selected ones,
    f_s·max(c − k, 0).

    Exactly c without a window or sparse layers (f = f_s = 0), so full-attention models are unchanged bit for
    bit.
    """
    held = kv_held_tokens(m, context_tokens, xp)
    return held - m.sparse_fraction * xp.maximum(context_tokens - m.sparse_top_k, 0.0)


def kv_cache_bytes(m: ModelArrays, batch, context_tokens, xp=jnp):
    """KV cache and recurrent state held for `batch` sequences at `context_tokens` each (windowed layers hold
    at most their window)."""
    return (
        m.kv_cache_bytes_per_token * kv_held_tokens(m, context_tokens, xp) * batch
        + m.state_bytes_per_sequence * batch
    )


def kv_read_bytes(m: ModelArrays, batch, context_tokens, xp=jnp):
    """KV-cache and state bytes one step moves for `batch` sequences: the cache read at the attended
    positions (`kv_context_tokens`), and every recurrent state read and written back once."""
    return (
        m.kv_cache_bytes_per_token * kv_context_tokens(m, context_tokens, xp) * batch
        + 2.0 * m.state_bytes_per_sequence * batch
    )


def routed_expert_bytes(m: ModelArrays, tokens, split_in, split_out, xp=jnp):
    """HBM bytes of the routed experts in one step of `tokens` tokens, all MoE layers: the weights of the
    experts hit (`experts_touched_fraction`) plus the activations of the n/s tokens each expert sees."""
    ap = m.activation_bytes
    d, f = m.d_model, m.d_ff
    per_expert_matrix = (
        m.expert_weight_bytes * d * f
        + split_out * ap * d * tokens / m.sparsity
        + split_in * ap * f * tokens / m.sparsity
    )
    routed = experts_touched_fraction(m, tokens, xp) * m.n_experts * (m.m_up + m.m_down) * per_expert_matrix
    return m.n_moe_layers * routed


def step_bytes(
    m: ModelArrays, batch, seq_len, context_tokens, split_in, split_out, xp=jnp, qkv_out_bytes=None
):
    """HBM bytes read and written in one step of `batch` sequences × `seq_len` tokens (Erdil Eqs. 31–35).

    `split_in`, `split_out` are how many times matmul activations are re-read under tensor parallelism: 2D TP
    reads each activation √N_TP times on both sides, 1D TP N_TP times on the input side (the reference
    notebook's accounting). Weights are read once per step: attention, the routed experts that are hit
    (Eq. 22), dense FFN parts (shared experts, dense layers) and the unembedding. `qkv_out_bytes` is the size
    of one QKV-projection output element: the activation precision, or 1 to match the reference notebook,
    which omits that factor (`Conventions.reference_qkv_bytes`).
    """
    ap = m.activation_bytes
    n = batch * seq_len
    d, f = m.d_model, m.d_ff
    # Dense FFN parts (DeepSeek shared experts, dense first layers): all weights, all tokens.
    dense_ffn = m.dense_weight_bytes * m.dense_ffn_params + (m.dense_ffn_params / (d * f)) * (
        split_out * ap * d * n + split_in * ap * f * n
    )
    qkv_width = (m.n_heads + m.kv_heads_total) * m.d_head
    qkv_out = ap if qkv_out_bytes is None else qkv_out_bytes
    attn_io = (
        split_out * ap * d * n
        + split_in * qkv_out * qkv_width * n
        + ap * (split_out * d * n + split_in * m.d_head * m.n_heads * n)
    )
    attn = m.attention_weight_bytes * m.attention_params_per_layer + attn_io
    unembedding = m.embedding_weight_bytes * m.vocab_size * d
    return (
        kv_read_bytes(m, batch, context_tokens, xp)
        + routed_expert_bytes(m, n, split_in, split_out, xp)
        + m.n_layers * attn
        + dense_ffn
        + unembedding
    )


def fits_in_memory(m: ModelArrays, n_gpu, batch, context_tokens, hbm_capacity_bytes, xp=jnp):
    """True where weights plus the KV cache fit in `n_gpu` accelerators' HBM (Erdil §3.6)."""
    return n_gpu * hbm_capacity_bytes >= kv_cache_bytes(m, batch, context_tokens, xp) + m.weight_memory_bytes
