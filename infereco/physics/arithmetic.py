"""FLOP of one decoding step: parameters times tokens plus attention over the context."""

from __future__ import annotations

from infereco.physics.structs import ModelArrays


def attention_flop(m: ModelArrays, batch, seq_len, context_tokens):
    """Attention score and value FLOP: 4·width·heads·layers·c̄·b·t, with c̄ = c + (t − 1)/2 the mean context.

    width is d_head (GQA) or d_latent (MLA, absorbed attention; Erdil §3.1). Erdil Eq. 37 with d_head
    restored.
    """
    mean_context = context_tokens + (seq_len - 1.0) / 2.0
    return 4.0 * m.attention_width * m.n_heads * m.n_layers * mean_context * batch * seq_len


def step_flop(m: ModelArrays, batch, seq_len=1.0, context_tokens=0.0):
    """Total FLOP of one step of `batch` sequences with `seq_len` new tokens each (Erdil Eqs. 36–38).

    >>> from infereco.physics.requests import resolve_deployment
    >>> m = resolve_deployment("llama-3-8b", "h100-sxm").arrays
    >>> float(step_flop(m, 1.0)) == 2 * m.active_params   # no context: 2 FLOP per active parameter
    True
    >>> round(float(step_flop(m, 1.0, context_tokens=1000.0) - step_flop(m, 1.0)) / 1e6)   # 4·128·32·32·1000
    524
    """
    return 2.0 * m.active_params * batch * seq_len + attention_flop(m, batch, seq_len, context_tokens)
