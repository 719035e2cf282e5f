"""Prompt processing (prefill): the time to run a batch of prompts through the model, whole or in chunks.

Prefill is the decode step with many new tokens per sequence, so it reuses the layout machinery unchanged:
one prefill step of `batch` prompts of `t` tokens each, `c` tokens already in the KV cache, is
`step_time(m, hw, conv, n_gpu, batch, seq_len=t, context_tokens=c)`. A chunked prefill of a P-token prompt
with chunk size k is ⌈P/k⌉ such steps, chunk j having seq_len min(k, P − j·k) and context c₀ + j·k; its time
is the sum of the chunks' step times (each step pays its own kernel launches, collective latencies and weight
reads).

What `step_time` counts for a step of t new tokens, and why it fits prefill (checked in
tests/test_prefill.py):

- **FLOP** (arithmetic.step_flop): 2·N_active·b·t for the matmuls plus 4·width·h·L·b·t·c̄ for attention with
  c̄ = c + (t − 1)/2, the mean number of earlier positions each new token attends to. Summed over a causal
  prompt that is 4·width·h·L·b·(t·c + t(t − 1)/2): about half the square, as causal masking allows. The chunks
  of a chunked prefill add up to exactly the unchunked FLOP (`prefill_flop`).
- **Bytes** (memory.step_bytes): weights once per step (so chunking re-reads them ⌈P/k⌉ times), the KV cache
  of the c earlier positions once per step, and matmul activations of all b·t tokens. Not counted: writing the
  t new positions' K/V (kv_bytes_per_token·b·t bytes; ≪ 0.1% of the step's FLOP/byte budget for any prompt
  worth prefilling) and attention among the chunk's own tokens (on-chip in a fused kernel).
- **Sliding windows**: a windowed layer attends to, reads and caches at most `sliding_window` positions
  (`ModelSpec.n_sliding_layers` of the L layers); FLOP, KV bytes and the memory fit use the layer-averaged
  context (memory.kv_context_tokens, arithmetic.window_excess_positions).
- **Collectives**: the all-reduced activations scale with b·t, so long prompts on many GPUs become
  network-bandwidth bound, as they should.
- **Memory fit**: `step_time` checks the KV cache of the context *before* the step; prefill also needs room
  for the prompt's own KV, so `prefill_time` requires weights + KV of c₀ + P positions to fit.
- **Embedding FLOP**: the reference counts embedding and unembedding as 2·V·d matmul parameters used by every
  token. In prefill only the last position needs logits; `count_embedding_flop=False` drops the 4·V·d FLOP per
  token (the last token's logits, 2·V·d·b FLOP per prompt, are then left out too: ≤ 1/P of what is dropped).
  The default keeps the reference accounting so that input and output tokens are costed alike.

All functions are xp-generic (numpy or jax.numpy) and broadcast over `n_gpu` and `batch`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from infereco.physics.arithmetic import sparse_excess_positions, window_excess_positions
from infereco.physics.latency import bound_term, step_time
from infereco.physics.memory import fits_in_memory
from infereco.physics.structs import Conventions, HardwareArrays, ModelArrays


class PrefillTime(NamedTuple):
    """Prefill of one batch of prompts. Seconds are summed over chunks; `time_s` is inf where infeasible."""

    time_s: object  # wall time to prefill the whole batch (the prefill part of TTFT)
    compute_s: object
    memory_s: object
    network_latency_s: object
    network_bandwidth_s: object
    launch_s: object
    flop: object  # total FLOP of the batch's prefill
    mfu: object  # flop / (n_gpu · peak FLOP/s · time_s)
    gpu_s_per_token: object  # n_gpu · time_s / (batch · prompt tokens): accelerator-seconds per input token
    n_chunks: int


def prefill_chunks(prompt_tokens: float, chunk_tokens: float | None = None, context_tokens: float = 0.0):
    """(seq_lens, contexts) of the steps of a prefill: ⌈P/k⌉ chunks of k tokens, the last one shorter.

    >>> prefill_chunks(10, 4, 100)
    (array([4., 4., 2.]), array([100., 104., 108.]))
    """
    p = float(prompt_tokens)
    if not (p > 0 and math.isfinite(p)):
        raise ValueError(f"prompt_tokens={prompt_tokens}: expected a positive finite number of tokens")
    if chunk_tokens is None or float(chunk_tokens) >= p:
        return np.array([p]), np.array([float(context_tokens)])
    k = float(chunk_tokens)
    if not k >= 1:
        raise ValueError(f"chunk_tokens={chunk_tokens}: expected at least 1 token per chunk")
    n = math.ceil(p / k)
    starts = k * np.arange(n, dtype=float)
    seq = np.minimum(k, p - starts)
    return seq, float(context_tokens) + starts


def prefill_flop(m: ModelArrays, batch, prompt_tokens, context_tokens=0.0, xp=jnp):
    """FLOP of prefilling `batch` prompts of P tokens after c₀ cached ones (closed form,
    chunking-independent): 2·N_active·b·P + 4·width·h·L·b·(P·c₀ + P(P − 1)/2), less the positions beyond
    the window on sliding-window layers (`window_excess_positions`).

    Equals `step_flop(m, batch, P, c₀)` and the sum of `step_flop` over any chunking.
    """
    p = prompt_tokens
    attended = (
        p * context_tokens
        + p * (p - 1.0) / 2.0
        - window_excess_positions(m, p, context_tokens, xp)
        - sparse_excess_positions(m, p, context_tokens, xp)
    )
    return (
        2.0 * m.active_params * batch * p
        + 4.0 * m.attention_width * m.n_heads * m.n_layers * batch * attended
        + m.mixer_flop_per_token * batch * p
    )


def without_embedding_flop(m: ModelArrays) -> ModelArrays:
    """`m` with the embedding and unembedding (2·V·d parameters) left out of the per-token matmul FLOP."""
    return dataclasses.replace(
        m,
        active_params=m.active_params - 2.0 * m.vocab_size * m.d_model,
        embedding_flop_params=m.embedding_flop_params * 0.0,
    )


def prefill_time(
    m: ModelArrays,
    hw: HardwareArrays,
    conv: Conventions,
    n_gpu,
    batch,
    prompt_tokens: float,
    chunk_tokens: float | None = None,
    context_tokens: float = 0.0,
    parallel_attention: bool = False,
    count_embedding_flop: bool = True,
    xp=jnp,
) -> PrefillTime:
    """Time to prefill `batch` prompts of `prompt_tokens` each on an instance of `n_gpu` accelerators.

    `chunk_tokens` None = the whole prompt in one step; else chunked prefill with that chunk size.
    `context_tokens` = positions already in the KV cache (e.g. a cached system prompt). Each chunk takes the
    fastest layout `conv` allows (`step_time`). `prompt_tokens` and `chunk_tokens` are concrete numbers (the
    chunk count sets an array shape); `n_gpu` and `batch` broadcast and may be traced.

    >>> from infereco.physics.requests import resolve_deployment
    >>> d = resolve_deployment("llama-3-8b", "h100-sxm")
    >>> t = prefill_time(d.arrays, d.hw_arrays, d.conventions, 1.0, 1.0, 2000.0, xp=np)
    >>> round(float(t.time_s) * 1e3, 1), t.n_chunks, round(float(t.flop) / 1e12, 2)   # ms, chunks, TFLOP
    (34.0, 1, 33.17)
    >>> c = prefill_time(d.arrays, d.hw_arrays, d.conventions, 1.0, 1.0, 2000.0, chunk_tokens=512, xp=np)
    >>> c.n_chunks, bool(c.time_s > t.time_s), bool(c.flop == t.flop)   # same FLOP, weights read 4 times
    (4, True, True)
    """
    seq, ctx = prefill_chunks(prompt_tokens, chunk_tokens, context_tokens)
    mm = m if count_embedding_flop else without_embedding_flop(m)
    n_gpu = xp.asarray(n_gpu, dtype=xp.float64)
    batch = xp.asarray(batch, dtype=xp.float64)
    n_e, b_e = n_gpu[..., None], batch[..., None]
    st = step_time(mm, hw, conv, n_e, b_e, xp.asarray(seq), xp.asarray(ctx), parallel_attention, xp=xp)

    def total(a):
        return xp.sum(xp.broadcast_to(a, xp.broadcast_shapes(xp.shape(a), xp.shape(st.latency_s))), axis=-1)

    time_s = total(st.latency_s)
    # The prompt's own KV must fit beside the weights at the end of the prefill.
    fits = fits_in_memory(
        m, n_gpu, batch, float(context_tokens) + float(prompt_tokens), hw.hbm_capacity_bytes, xp
    )
    time_s = xp.where(fits, time_s, xp.inf)
    flop = prefill_flop(mm, batch, float(prompt_tokens), float(context_tokens), xp)
    finite = xp.isfinite(time_s)
    safe = xp.where(finite, time_s, 1.0)
    mfu = xp.where(finite, flop / (n_gpu * hw.peak_flop_per_s * safe), 0.0)
    gpu_s = xp.where(finite, n_gpu * time_s / (batch * float(prompt_tokens)), xp.inf)
    return PrefillTime(
        time_s,
        total(st.compute_s),
        total(st.memory_s),
        total(st.network_latency_s),
        total(st.network_bandwidth_s),
        total(st.launch_s),
        flop,
        mfu,
        gpu_s,
        int(seq.size),
    )


def prefill_bound(p: PrefillTime):
    """Name of the term that bounds a prefill (memory, compute, network or latency), numpy strings."""
    return bound_term(
        np.asarray(p.memory_s),
        np.asarray(p.compute_s),
        np.asarray(p.network_bandwidth_s),
        np.asarray(p.network_latency_s),
        np.asarray(p.launch_s),
    )
