"""Token-mixer layer types: what one layer of each kind reads, holds and computes per token.

A `MixerGroup` is the cost sheet of `n_layers` identical token-mixer layers (the attention-like half of a
block): weights read per step, KV bytes held per context token, attention FLOPs per attended position, and for
recurrent layers a fixed-size state per sequence. Hybrid models (Qwen3.5 gated delta-net, Nemotron-H Mamba,
Gemma 4 local/global, MiMo-V2 sliding-window, DeepSeek V4 compressed sparse attention) are a tuple of groups
on `ModelSpec.mixers`; the physics reads their sums (`ModelSpec` derived sizes), so a new layer type is a new
builder here, not a new code path.

Kinds, as functions of the context c (positions before the new token):

- ``full``: attends to all c positions; holds and reads kv·c elements.
- ``sliding``: attends to, holds and reads min(c, window).
- ``sparse``: holds all c, attends to and reads min(c, top_k) selected positions (DeepSeek sparse attention,
  V3.2 / GLM-5 / V4), plus an indexer that holds and reads its own keys for all c positions.
- ``linear``: no KV; a state of `state_bytes` per sequence, read and written every step (gated delta-net,
  Kimi delta attention, Mamba-2), and `flop_per_token` for the recurrence.

Builders take the config's shapes and return a group; every formula is written out in its docstring.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from infereco.specs._base import FrozenSpec

MixerKind = Literal["full", "sliding", "sparse", "linear"]


class MixerGroup(FrozenSpec):
    """`n_layers` identical token-mixer layers and what each costs (per layer, per token / per sequence).

    >>> g = MixerGroup(kind="sliding", n_layers=2, params=1e6, kv_elements_per_token=2048,
    ...                attention_flop_per_position=16384, window=128)
    >>> g.kv_elements_held(1000.0)   # 2 layers × 2048 elements × min(1000, 128) positions
    524288.0
    """

    edge_name: ClassVar[str] = "mixer group"

    kind: MixerKind = Field(description="full | sliding | sparse | linear.")
    n_layers: int = Field(gt=0, le=10**6, description="Layers of this kind.")
    params: float = Field(ge=0, allow_inf_nan=False, description="Weights per layer.")
    kv_elements_per_token: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="KV-cache elements per context token, per layer."
    )
    attention_flop_per_position: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Score + value FLOP per new token per attended position.",
    )
    window: int | None = Field(default=None, gt=0, description="Sliding window, tokens (kind 'sliding').")
    top_k: int | None = Field(default=None, gt=0, description="Positions selected per query (kind 'sparse').")
    index_bytes_per_token: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="Sparse-attention indexer key bytes per token."
    )
    index_flop_per_position: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="Indexer scoring FLOP per new token per position."
    )
    state_bytes: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Recurrent state per sequence, bytes (kind 'linear').",
    )
    flop_per_token: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Context-independent FLOP per token beyond 2·params.",
    )
    note: str = Field(default="", description="What the group is (for display).")

    @model_validator(mode="after")
    def _kind_fields(self) -> "MixerGroup":
        k = self.kind
        if (k == "sliding") != (self.window is not None):
            raise ValueError(
                f"kind={k!r} with window={self.window}: a window is set exactly on 'sliding' groups"
            )
        if (k == "sparse") != (self.top_k is not None):
            raise ValueError(f"kind={k!r} with top_k={self.top_k}: top_k is set exactly on 'sparse' groups")
        if k != "sparse" and (self.index_bytes_per_token or self.index_flop_per_position):
            raise ValueError(f"kind={k!r}: indexer terms belong to 'sparse' groups")
        if k == "linear" and (self.kv_elements_per_token or self.attention_flop_per_position):
            raise ValueError("kind='linear': a recurrent layer holds a state, not a KV cache")
        if k != "linear" and self.state_bytes:
            raise ValueError(f"kind={k!r}: state_bytes belong to 'linear' groups")
        return self

    def kv_elements_held(self, context_tokens):
        """KV elements this group holds for one sequence at `context_tokens` (all its layers)."""
        c = context_tokens
        if self.window is not None:
            c = c - _excess(c, self.window)
        return self.n_layers * self.kv_elements_per_token * c


def _excess(c, cap):
    """max(c − cap, 0) for floats and numpy arrays alike."""
    e = c - float(cap)
    return e * (e > 0)


# ---- builders: config shapes -> cost sheets -------------------------------------------------------------


def attention_group(
    n_layers: int,
    d_model: int,
    n_heads: int,
    n_kv_heads: int,
    d_qk: int,
    d_v: int | None = None,
    *,
    window: int | None = None,
    k_eq_v: bool = False,
    output_gate: bool = False,
    note: str = "",
) -> MixerGroup:
    """Softmax attention (MHA/GQA/MQA), full or sliding-window.

    Weights per layer: Q d·h·d_qk (doubled with a sigmoid output gate, Qwen3-Next/3.5), K d·g·d_qk, V d·g·d_v
    (none when keys double as values, Gemma 4 `attention_k_eq_v`), O h·d_v·d. KV elements per token:
    g·(d_qk + d_v), or g·d_qk when K = V. FLOP per attended position: 2·h·d_qk (scores) + 2·h·d_v (values).

    >>> g = attention_group(1, 4096, 32, 8, 128)          # Llama-3-8B layer
    >>> g.params == 4096 * 128 * (32 + 8 + 8 + 32), g.kv_elements_per_token, g.attention_flop_per_position
    (True, 2048.0, 16384.0)
    """
    d_v = d_qk if d_v is None else d_v
    q = d_model * n_heads * d_qk * (2 if output_gate else 1)
    kv = d_model * n_kv_heads * (d_qk if k_eq_v else d_qk + d_v)
    o = n_heads * d_v * d_model
    return MixerGroup(
        kind="sliding" if window else "full",
        n_layers=n_layers,
        params=float(q + kv + o),
        kv_elements_per_token=float(n_kv_heads * (d_qk if k_eq_v else d_qk + d_v)),
        attention_flop_per_position=float(2 * n_heads * (d_qk + d_v)),
        window=window,
        note=note,
    )


def mla_group(
    n_layers: int,
    d_model: int,
    n_heads: int,
    kv_lora_rank: int,
    q_lora_rank: int | None,
    qk_nope_dim: int,
    qk_rope_dim: int,
    v_dim: int,
    *,
    output_gate: bool = False,
    top_k: int | None = None,
    index_heads: int = 0,
    index_head_dim: int = 0,
    note: str = "",
) -> MixerGroup:
    """Multi-head latent attention (DeepSeek-V2/V3, Kimi), optionally with DeepSeek sparse attention.

    Weights: Q d·r_q + r_q·h·(nope + rope) (or d·h·(nope + rope) without a query LoRA), KV-down d·(r_kv +
    rope),
    KV-up r_kv·h·(nope + v), O h·v·d (+ d·h·v for an output gate). The cache holds the latent plus the RoPE
    key,
    r_kv + rope elements per token. Absorbed attention scores and reads the latent: 2·h·(r_kv + rope) +
    2·h·r_kv
    FLOP per attended position. With `top_k` (DSA), each query attends to at most top_k positions picked by an
    indexer with `index_heads` heads of `index_head_dim`: its weights (Q r_q·H·d_i, K d·d_i, head weights
    d·H),
    keys held as FP8 with one FP32 scale per token (d_i + 4 bytes), and 2·H·d_i FLOP per position scored.

    >>> g = mla_group(1, 7168, 128, 512, 1536, 128, 64, 128)   # DeepSeek-V3 layer
    >>> int(g.params), g.kv_elements_per_token
    (187105280, 576.0)
    """
    rq = q_lora_rank
    qk = qk_nope_dim + qk_rope_dim
    q = (d_model * rq + rq * n_heads * qk) if rq else d_model * n_heads * qk
    kv = d_model * (kv_lora_rank + qk_rope_dim) + kv_lora_rank * n_heads * (qk_nope_dim + v_dim)
    o = n_heads * v_dim * d_model * (2 if output_gate else 1)
    params = q + kv + o
    index_bytes = index_flop = 0.0
    if top_k is not None and index_heads:
        params += (
            (rq or d_model) * index_heads * index_head_dim + d_model * index_head_dim + d_model * index_heads
        )
        index_bytes = float(index_head_dim + 4)
        index_flop = float(2 * index_heads * index_head_dim)
    return MixerGroup(
        kind="sparse" if top_k is not None else "full",
        n_layers=n_layers,
        params=float(params),
        kv_elements_per_token=float(kv_lora_rank + qk_rope_dim),
        attention_flop_per_position=float(
            2 * n_heads * (kv_lora_rank + qk_rope_dim) + 2 * n_heads * kv_lora_rank
        ),
        top_k=top_k,
        index_bytes_per_token=index_bytes,
        index_flop_per_position=index_flop,
        note=note,
    )


def gated_delta_group(
    n_layers: int,
    d_model: int,
    n_key_heads: int,
    n_value_heads: int,
    d_key: int,
    d_value: int,
    conv_kernel: int,
    *,
    state_bits: int = 32,
    conv_bits: int = 16,
    output_gate: bool = True,
    note: str = "",
) -> MixerGroup:
    """Gated delta-net linear attention (Qwen3-Next / Qwen3.5 / 3.6; Kimi delta attention with `kda=True`
    style
    gates is `kimi_delta_group`).

    Weights: Q and K d·n_k·d_k each, V d·n_v·d_v, output gate z d·n_v·d_v, decay and β gates 2·d·n_v, a causal
    conv over q, k, v of (2·n_k·d_k + n_v·d_v)·kernel, O n_v·d_v·d. State per sequence: n_v·d_k·d_v (FP32 in
    vLLM/SGLang, `mamba_ssm_dtype`) plus the conv window (2·n_k·d_k + n_v·d_v)·(kernel − 1) at 16 bits.
    Recurrence, per value head and token: decay S (d_k·d_v), Sᵀk (2·d_k·d_v), the rank-1 update (2·d_k·d_v)
    and the readout Sᵀq (2·d_k·d_v): 7·d_k·d_v FLOP.

    >>> g = gated_delta_group(1, 2048, 16, 32, 128, 128, 4)   # Qwen3.5-35B-A3B layer
    >>> g.state_bytes, g.flop_per_token                        # 32·128·128·4 + 8192·3·2; 7·32·128·128
    (2146304.0, 3670016.0)
    """
    conv_dim = 2 * n_key_heads * d_key + n_value_heads * d_value
    params = (
        d_model * conv_dim
        + (d_model * n_value_heads * d_value if output_gate else 0)
        + 2 * d_model * n_value_heads
        + conv_dim * conv_kernel
        + n_value_heads * d_value * d_model
    )
    state = n_value_heads * d_key * d_value * state_bits / 8 + conv_dim * (conv_kernel - 1) * conv_bits / 8
    return MixerGroup(
        kind="linear",
        n_layers=n_layers,
        params=float(params),
        state_bytes=float(state),
        flop_per_token=float(7 * n_value_heads * d_key * d_value),
        note=note,
    )


def kimi_delta_group(
    n_layers: int,
    d_model: int,
    n_heads: int,
    d_head: int,
    conv_kernel: int,
    *,
    full_rank_gate: bool = True,
    state_bits: int = 32,
    conv_bits: int = 16,
    note: str = "",
) -> MixerGroup:
    """Kimi delta attention (Kimi Linear / K3): the gated delta rule with a per-channel decay.

    Weights: Q, K, V d·h·d_k each, the channel-wise decay gate d·h·d_k (full rank; low rank d·d_k +
    d_k·h·d_k),
    β d·h, the output gate d·h·d_k, conv (3·h·d_k)·kernel, O h·d_k·d. State: h·d_k² at FP32 plus the conv
    window.
    Recurrence as gated delta-net, 7·d_k² FLOP per head and token.

    >>> kimi_delta_group(1, 7168, 96, 128, 4).flop_per_token   # 7·96·128·128
    11010048.0
    """
    inner = n_heads * d_head
    gate = d_model * inner if full_rank_gate else d_model * d_head + d_head * inner
    params = (
        3 * d_model * inner
        + gate
        + d_model * n_heads
        + d_model * inner
        + 3 * inner * conv_kernel
        + inner * d_model
    )
    state = n_heads * d_head * d_head * state_bits / 8 + 3 * inner * (conv_kernel - 1) * conv_bits / 8
    return MixerGroup(
        kind="linear",
        n_layers=n_layers,
        params=float(params),
        state_bytes=float(state),
        flop_per_token=float(7 * n_heads * d_head * d_head),
        note=note,
    )


def mamba2_group(
    n_layers: int,
    d_model: int,
    n_heads: int,
    d_head: int,
    d_state: int,
    n_groups: int,
    conv_kernel: int,
    *,
    state_bits: int = 16,
    conv_bits: int = 16,
    note: str = "",
) -> MixerGroup:
    """Mamba-2 state-space layer (Nemotron-H, Nemotron 3).

    With d_in = h·d_head: in-projection d·(2·d_in + 2·G·N + h) (x, z, B, C, dt), conv over (d_in +
    2·G·N)·kernel,
    A, D, dt-bias 3·h, gated norm d_in, out-projection d_in·d. State per sequence: h·d_head·N at `state_bits`
    (`mamba_ssm_cache_dtype`) plus the conv window (d_in + 2·G·N)·(kernel − 1). Recurrence, per token: the
    decayed update h·d_head·N·3 (dA·s + dB·x) and readout C·s 2·h·d_head·N, i.e. 5·h·d_head·N FLOP.

    >>> g = mamba2_group(1, 8192, 256, 64, 256, 8, 4)        # Nemotron-H-56B layer
    >>> int(g.params), g.flop_per_token                       # 5·16384·256
    (438403840, 20971520.0)
    """
    d_in = n_heads * d_head
    conv_dim = d_in + 2 * n_groups * d_state
    params = (
        d_model * (2 * d_in + 2 * n_groups * d_state + n_heads)
        + conv_dim * conv_kernel
        + 3 * n_heads
        + d_in
        + d_in * d_model
    )
    state = n_heads * d_head * d_state * state_bits / 8 + conv_dim * (conv_kernel - 1) * conv_bits / 8
    return MixerGroup(
        kind="linear",
        n_layers=n_layers,
        params=float(params),
        state_bytes=float(state),
        flop_per_token=float(5 * n_heads * d_head * d_state),
        note=note,
    )


def linear_replacement_group(n_layers: int, d_model: int, note: str = "") -> MixerGroup:
    """An attention layer replaced by one d×d linear map (DeciLM `replace_with_linear`): d² weights, no cache.

    >>> linear_replacement_group(3, 8).params
    64.0
    """
    return MixerGroup(kind="linear", n_layers=n_layers, params=float(d_model * d_model), note=note)
