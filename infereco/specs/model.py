"""Model spec: the architecture numbers that set FLOP, bytes and collectives of a transformer."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from infereco.specs._base import FrozenSpec
from infereco.specs.layers import MixerGroup

_BITS = Literal[4, 8, 16, 32]
# Upper bound on every count (widths, layers, heads, experts, vocabulary): far above any real model, low
# enough that parameter counts stay finite floats (10**400 would overflow).
MAX_COUNT = 10**9
_COUNT_FIELDS = (
    "d_model",
    "d_ff",
    "n_layers",
    "n_heads",
    "n_kv_heads",
    "d_head",
    "vocab_size",
    "n_experts",
    "n_active_experts",
    "n_shared_experts",
    "n_dense_layers",
    "d_ff_dense",
    "kv_lora_rank",
    "q_lora_rank",
    "qk_rope_head_dim",
    "sliding_window",
    "n_sliding_layers",
    "n_ffn_layers",
    "d_ff_shared",
)


class ModelSpec(FrozenSpec):
    """A decoder-only transformer, dense or mixture-of-experts, GQA or MLA attention.

    Sizes are counts (no units); precisions are bits per element. `n_kv_heads` has the Hugging Face
    `num_key_value_heads` meaning (K and V heads are *not* counted twice here).

    >>> m = ModelSpec(name="tiny", d_model=512, d_ff=1408, n_layers=4, n_heads=8, n_kv_heads=2,
    ...               vocab_size=4096)
    >>> round(m.total_params / 1e6,
    ...       2)   # 4 × (0.655 M attention + 2.163 M FFN) + 2 × 4096 × 512 untied embeddings
    15.47
    """

    edge_name: ClassVar[str] = "model"

    name: str = Field(default="custom", description="Human-readable name.")
    d_model: int = Field(gt=0, description="Residual stream width.")
    d_ff: int = Field(gt=0, description="FFN hidden width (per expert for MoE).")
    ffn_matrices: tuple[int, int] = Field(
        default=(2, 1), description="FFN matrix count (up, down): SwiGLU = (2, 1), plain MLP = (1, 1)."
    )
    n_layers: int = Field(gt=0, description="Transformer blocks.")
    n_heads: int = Field(gt=0, description="Query heads.")
    n_kv_heads: int = Field(gt=0, description="Distinct key/value heads (HF num_key_value_heads).")
    d_head: int | None = Field(default=None, gt=0, description="Head dimension; default d_model // n_heads.")
    vocab_size: int = Field(default=0, ge=0, description="Vocabulary size (embedding and unembedding).")
    n_experts: int = Field(default=1, gt=0, description="Routed FFN experts per MoE layer (1 = dense).")
    n_active_experts: int = Field(default=1, gt=0, description="Routed experts each token uses.")
    n_shared_experts: int = Field(default=0, ge=0, description="Always-active shared experts (DeepSeek).")
    n_dense_layers: int = Field(default=0, ge=0, description="Leading layers with a dense FFN (DeepSeek).")
    d_ff_dense: int | None = Field(default=None, gt=0, description="FFN width of the dense layers.")
    parallel_attention: bool = Field(default=False, description="PaLM-style parallel attention and FFN.")
    tie_word_embeddings: bool = Field(
        default=False, description="Unembedding shares the embedding matrix (stored, and counted, once)."
    )
    weight_bits: _BITS = Field(default=16, description="Bits per weight.")
    activation_bits: _BITS = Field(default=16, description="Bits per activation (and matmul operand).")
    kv_cache_bits: _BITS | None = Field(
        default=None, description="Bits per KV-cache element; default activation_bits."
    )
    # Per-component weight precision (mixed checkpoints: FP8 attention beside NVFP4 experts, 16-bit lm_head);
    # None = weight_bits. Block-scale overhead in extra bits per weight of the 4- and 8-bit components (NVFP4:
    # an FP8 scale per 16 values, 0.5; MXFP4: an E8M0 scale per 32, 0.25; FP8 128×128 blocks, 32/16384).
    attention_weight_bits: _BITS | None = Field(default=None, description="Bits per token-mixer weight.")
    ffn_weight_bits: _BITS | None = Field(
        default=None, description="Bits per dense-FFN / shared-expert weight."
    )
    expert_weight_bits: _BITS | None = Field(default=None, description="Bits per routed-expert weight.")
    embedding_weight_bits: _BITS | None = Field(
        default=None, description="Bits per embedding / lm_head weight."
    )
    fp4_scale_bits: float = Field(
        default=0.0, ge=0, le=16, description="Scale bits per weight of the 4-bit components."
    )
    fp8_scale_bits: float = Field(
        default=0.0, ge=0, le=16, description="Scale bits per weight of the 8-bit components."
    )
    # W·A formats (FP8 W8A8, NVFP4 W4A4) quantize a GEMM's input too, so its math runs at the narrow rate;
    # weight-only formats (INT4 AWQ/GPTQ, W4A16) dequantize and multiply at activation_bits.
    gemm_input_bits: _BITS | None = Field(
        default=None,
        description="Bits the quantized GEMMs quantize their inputs to (FP8: 8, NVFP4: 4); None = "
        "weight-only or unquantized (math at activation_bits).",
    )
    max_context_tokens: int | None = Field(
        default=None,
        gt=0,
        le=100_000_000,
        description="Context window, tokens (config max_position_embeddings).",
    )
    # Multi-token-prediction blocks (DeepSeek-V3 §2.2): not in the parameter counts (model cards exclude
    # them); `speculative: {draft: mtp}` drafts with them.
    n_mtp_layers: int = Field(default=0, ge=0, le=16, description="Multi-token-prediction blocks shipped.")
    # Under expert parallelism the busiest rank sets the step: its routed-expert traffic, FLOP and all-to-all
    # bytes are this factor over the mean (EPLB-style balancing brings measured skews to ~1.1-1.3).
    expert_load_imbalance: float = Field(
        default=1.0,
        ge=1.0,
        le=16.0,
        allow_inf_nan=False,
        description="Tokens on the busiest expert-parallel rank over the mean (1 = balanced routing).",
    )
    # Multi-head latent attention (DeepSeek-V2/V3). kv_lora_rank set means MLA.
    kv_lora_rank: int | None = Field(default=None, gt=0, description="MLA latent KV width (d_latent).")
    q_lora_rank: int | None = Field(default=None, gt=0, description="MLA compressed query width.")
    qk_rope_head_dim: int = Field(default=0, ge=0, description="MLA decoupled RoPE key width per layer.")
    # Sliding-window attention (Mistral, Gemma, gpt-oss, MiMo): a windowed layer attends to, reads and caches
    # at most the last `sliding_window` positions of each sequence; the other layers are full attention.
    sliding_window: int | None = Field(
        default=None, gt=0, description="Attention window of the windowed layers, tokens (None = no window)."
    )
    n_sliding_layers: int = Field(
        default=0, ge=0, description="How many of the n_layers use the sliding window (the rest are full)."
    )
    # Heterogeneous token mixers (hybrids): when set, these groups replace the uniform attention above for
    # weights, KV/state bytes and attention FLOPs (n_heads, n_kv_heads, d_head still describe the
    # full-attention
    # layers, for activation sizes and KV replication under tensor parallelism).
    mixers: tuple[MixerGroup, ...] = Field(
        default=(),
        description="Token-mixer layer groups of a hybrid model (specs.layers); () = uniform attention.",
    )
    n_ffn_layers: int | None = Field(
        default=None,
        gt=0,
        description="Layers with an FFN (dense or MoE); default n_layers (Nemotron-H: fewer).",
    )
    d_ff_shared: int | None = Field(
        default=None, gt=0, description="Hidden width of each shared expert; default d_ff."
    )
    other_dense_params: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Always-active weights outside attention, FFN and embeddings (latent-MoE projections).",
    )
    source: str | None = Field(default=None, description="Where the numbers come from.")

    @field_validator(*_COUNT_FIELDS)
    @classmethod
    def _not_absurd(cls, v: int | None) -> int | None:
        if v is not None and v > MAX_COUNT:
            raise ValueError(f"implausibly large for a count (limit {MAX_COUNT:.0e})")
        return v

    @model_validator(mode="after")
    def _check(self) -> "ModelSpec":
        if self.d_head is None and self.d_model < self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} is smaller than n_heads={self.n_heads}, so the default head "
                "dimension d_model // n_heads is 0; expected d_model >= n_heads or an explicit d_head"
            )
        if self.n_heads % self.n_kv_heads != 0:
            raise ValueError(
                f"n_heads={self.n_heads} is not divisible by n_kv_heads={self.n_kv_heads}; "
                "expected n_kv_heads to divide n_heads (GQA groups of equal size)"
            )
        if self.n_active_experts > self.n_experts:
            raise ValueError(
                f"n_active_experts={self.n_active_experts} exceeds n_experts={self.n_experts}; "
                "expected 1 <= n_active_experts <= n_experts"
            )
        if self.n_dense_layers >= self.ffn_layers and self.n_dense_layers > 0:
            raise ValueError(
                f"n_dense_layers={self.n_dense_layers} must be below the {self.ffn_layers} FFN layers"
            )
        if self.mixers:
            if self.sliding_window is not None:
                raise ValueError(
                    "sliding_window with mixers: expected the window on the 'sliding' mixer groups only"
                )
            for attr in ("window", "top_k"):
                values = {getattr(g, attr) for g in self.mixers} - {None}
                if len(values) > 1:
                    raise ValueError(
                        f"mixers with different {attr}s {sorted(values)}: expected one per model"
                    )
        if self.n_sliding_layers > self.n_layers:
            raise ValueError(
                f"n_sliding_layers={self.n_sliding_layers} exceeds n_layers={self.n_layers}; "
                "expected 0 <= n_sliding_layers <= n_layers"
            )
        if (self.sliding_window is None) != (self.n_sliding_layers == 0):
            raise ValueError(
                f"sliding_window={self.sliding_window} with n_sliding_layers={self.n_sliding_layers}: "
                "expected both set (a window and at least one windowed layer) or neither"
            )
        if any(m < 1 or m > 64 for m in self.ffn_matrices):
            raise ValueError(
                f"ffn_matrices={self.ffn_matrices}: expected two counts from 1 to 64, e.g. [2, 1]"
            )
        return self

    # ---- derived sizes (pure functions of the fields) -------------------------------------------------
    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank is not None

    @property
    def attention_kind(self) -> str:
        """'MLA' (latent KV cache), 'MHA' (a KV head per query head), 'MQA' (one KV head) or 'GQA' (groups).

        >>> ModelSpec(name="m", n_layers=2, d_model=64, n_heads=8, n_kv_heads=1, d_ff=128,
        ...           vocab_size=100).attention_kind
        'MQA'
        """
        if self.is_mla:
            return "MLA"
        if self.n_kv_heads == self.n_heads:
            return "MHA"
        return "MQA" if self.n_kv_heads == 1 else "GQA"

    @property
    def head_dim(self) -> int:
        return self.d_head if self.d_head is not None else self.d_model // self.n_heads

    @property
    def group_size(self) -> int:
        """GQA group g = query heads per KV head (g = n_heads is MQA)."""
        return self.n_heads // self.n_kv_heads

    @property
    def sparsity(self) -> int:
        """MoE sparsity s = n_experts // n_active_experts (integer, as in the reference notebook)."""
        return self.n_experts // self.n_active_experts

    @property
    def weight_bytes(self) -> float:
        return self.weight_bits / 8

    def _stored_bytes(self, bits: int | None) -> float:
        b = self.weight_bits if bits is None else bits
        scale = self.fp4_scale_bits if b == 4 else self.fp8_scale_bits if b == 8 else 0.0
        return (b + scale) / 8

    @property
    def attention_weight_bytes(self) -> float:
        """Bytes per token-mixer weight, block scales included."""
        return self._stored_bytes(self.attention_weight_bits)

    @property
    def ffn_weight_bytes(self) -> float:
        """Bytes per dense-FFN / shared-expert weight, block scales included."""
        return self._stored_bytes(self.ffn_weight_bits)

    @property
    def expert_weight_bytes(self) -> float:
        """Bytes per routed-expert weight (all FFN weights of a dense model), block scales included."""
        return self._stored_bytes(self.expert_weight_bits)

    @property
    def embedding_weight_bytes(self) -> float:
        """Bytes per embedding / lm_head weight, block scales included."""
        return self._stored_bytes(self.embedding_weight_bits)

    @property
    def is_uniform_precision(self) -> bool:
        """Every weight at `weight_bits` with no scale overhead (the reference's single precision)."""
        return (
            {
                self.attention_weight_bits,
                self.ffn_weight_bits,
                self.expert_weight_bits,
                self.embedding_weight_bits,
            }
            <= {None, self.weight_bits}
            and not (self.weight_bits == 4 and self.fp4_scale_bits)
            and not (self.weight_bits == 8 and self.fp8_scale_bits)
        )

    @property
    def activation_bytes(self) -> float:
        return self.activation_bits / 8

    @property
    def kv_bytes(self) -> float:
        return (self.kv_cache_bits or self.activation_bits) / 8

    @property
    def ffn_layers(self) -> int:
        """Layers with an FFN: `n_ffn_layers`, else every layer."""
        return self.n_ffn_layers or self.n_layers

    @property
    def attention_params_per_layer(self) -> float:
        """Token-mixer weights per layer (the mixer groups' total spread over n_layers for a hybrid)."""
        if self.mixers:
            return float(sum(g.n_layers * g.params for g in self.mixers)) / self.n_layers
        d, h, dh = self.d_model, self.n_heads, self.head_dim
        if self.is_mla:
            r_kv, r_q = self.kv_lora_rank, self.q_lora_rank or 0
            rope = self.qk_rope_head_dim
            q = (d * r_q + r_q * h * (dh + rope)) if r_q else d * h * (dh + rope)
            kv = d * (r_kv + rope) + r_kv * h * 2 * dh
            return float(q + kv + h * dh * d)
        kv_total = 2 * self.n_kv_heads
        return float((h + kv_total) * dh * d + dh * h * d)

    @property
    def ffn_params_per_expert_layer(self) -> float:
        return float(sum(self.ffn_matrices) * self.d_model * self.d_ff)

    @property
    def n_moe_layers(self) -> int:
        return self.ffn_layers - self.n_dense_layers

    @property
    def dense_ffn_params(self) -> float:
        """FFN parameters that every token uses: dense leading layers and shared experts."""
        dense = self.n_dense_layers * sum(self.ffn_matrices) * self.d_model * (self.d_ff_dense or self.d_ff)
        shared = (
            self.n_moe_layers
            * self.n_shared_experts
            * sum(self.ffn_matrices)
            * self.d_model
            * (self.d_ff_shared or self.d_ff)
        )
        return float(dense + shared) + self.other_dense_params

    @property
    def routed_ffn_params(self) -> float:
        """FFN parameters of routed experts (all experts, all MoE layers); for a dense model, all FFN."""
        return float(self.n_moe_layers * self.n_experts * self.ffn_params_per_expert_layer)

    @property
    def embedding_params(self) -> float:
        """Embedding plus unembedding as used per token (2·V·d, as in the reference, tied or not)."""
        return float(2 * self.vocab_size * self.d_model)

    @property
    def stored_embedding_params(self) -> float:
        """Embedding and unembedding weights as stored: V·d when tied (one matrix), else 2·V·d."""
        return float((1 if self.tie_word_embeddings else 2) * self.vocab_size * self.d_model)

    @property
    def total_params(self) -> float:
        """Stored parameters (a tied embedding counted once); sets the weight memory.

        >>> m = ModelSpec(name="t", d_model=64, d_ff=128, n_layers=1, n_heads=4, n_kv_heads=4,
        ...               vocab_size=1000)
        >>> m.model_copy(update={"tie_word_embeddings": True}).total_params == m.total_params - 1000 * 64
        True
        """
        return (
            self.n_layers * self.attention_params_per_layer
            + self.routed_ffn_params
            + self.dense_ffn_params
            + self.stored_embedding_params
        )

    @property
    def active_params(self) -> float:
        """Parameters used per token; routed FFN divided by the integer sparsity (reference convention).

        The embedding counts 2·V·d even when tied: the matrix serves both the lookup and the unembedding
        (the FLOP convention of the reference), so tying changes `total_params`, not `active_params`."""
        routed_active = (
            (self.routed_ffn_params // self.sparsity) if self.sparsity > 1 else self.routed_ffn_params
        )
        return (
            self.n_layers * self.attention_params_per_layer
            + routed_active
            + self.dense_ffn_params
            + self.embedding_params
        )

    @property
    def kv_cache_bytes_per_token(self) -> float:
        """KV-cache bytes per context token over all layers (MLA: latent + RoPE key; sparse attention: plus
        its
        indexer keys), as if every layer held it; windowed layers hold at most their window
        (`kv_cache_tokens`), recurrent layers hold a state instead (`state_bytes_per_sequence`)."""
        if self.mixers:
            kv = sum(g.n_layers * g.kv_elements_per_token for g in self.mixers) * self.kv_bytes
            return float(kv + sum(g.n_layers * g.index_bytes_per_token for g in self.mixers))
        if self.is_mla:
            return float((self.kv_lora_rank + self.qk_rope_head_dim) * self.n_layers * self.kv_bytes)
        return float(2 * self.n_kv_heads * self.head_dim * self.n_layers * self.kv_bytes)

    def _kv_bytes_of(self, kind: str) -> float:
        return (
            float(sum(g.n_layers * g.kv_elements_per_token for g in self.mixers if g.kind == kind))
            * self.kv_bytes
        )

    @property
    def window_tokens(self) -> int | None:
        """The attention window of the windowed layers (`sliding_window`, or the mixers' common window)."""
        if self.mixers:
            return next((g.window for g in self.mixers if g.window is not None), None)
        return self.sliding_window

    @property
    def sparse_top_k(self) -> int | None:
        """Positions a sparse-attention layer attends to per query (None without sparse attention)."""
        return next((g.top_k for g in self.mixers if g.top_k is not None), None)

    @property
    def sliding_fraction(self) -> float:
        """Share of the KV bytes per token that sits on windowed layers: the windowed layers / n_layers for a
        uniform model (0 without a window)."""
        if self.mixers:
            total = self.kv_cache_bytes_per_token
            return self._kv_bytes_of("sliding") / total if total else 0.0
        return self.n_sliding_layers / self.n_layers

    @property
    def sparse_fraction(self) -> float:
        """Share of the KV bytes per token read only at the top-k selected positions (sparse layers' main
        cache; their indexer keys are read in full)."""
        total = self.kv_cache_bytes_per_token
        return self._kv_bytes_of("sparse") / total if self.mixers and total else 0.0

    @property
    def attention_flop_per_position(self) -> float:
        """Attention FLOP per new token per attended position over all layers (4·width·h·L when uniform)."""
        if self.mixers:
            return float(
                sum(
                    g.n_layers * (g.attention_flop_per_position + g.index_flop_per_position)
                    for g in self.mixers
                )
            )
        width = self.kv_lora_rank if self.is_mla else self.head_dim
        return float(4 * width * self.n_heads * self.n_layers)

    def _flop_share(self, kind: str) -> float:
        total = self.attention_flop_per_position
        part = sum(g.n_layers * g.attention_flop_per_position for g in self.mixers if g.kind == kind)
        return float(part) / total if total else 0.0

    @property
    def sliding_flop_fraction(self) -> float:
        """Share of the attention FLOP per position on windowed layers (the layer share when uniform)."""
        return self._flop_share("sliding") if self.mixers else self.sliding_fraction

    @property
    def sparse_flop_fraction(self) -> float:
        """Share of the attention FLOP per position capped at top-k (sparse layers' attention, not
        indexer)."""
        return self._flop_share("sparse") if self.mixers else 0.0

    @property
    def state_bytes_per_sequence(self) -> float:
        """Recurrent state (linear attention, state-space layers) per sequence, bytes, at any context."""
        return float(sum(g.n_layers * g.state_bytes for g in self.mixers))

    @property
    def mixer_flop_per_token(self) -> float:
        """Context-independent mixer FLOP per token beyond 2 per weight (recurrences), over all layers."""
        return float(sum(g.n_layers * g.flop_per_token for g in self.mixers))

    def kv_cache_tokens(self, context_tokens):
        """KV positions held per sequence at `context_tokens`, averaged over the KV bytes: c on full and
        sparse
        layers, min(c, window) on windowed ones, i.e. c − f·max(c − window, 0) with f the sliding fraction.
        Exactly c without a window; works on floats and numpy arrays alike.

        >>> m = ModelSpec(name="w", d_model=64, d_ff=128, n_layers=4, n_heads=4, n_kv_heads=4,
        ...               sliding_window=100, n_sliding_layers=2)
        >>> m.kv_cache_tokens(50.0), m.kv_cache_tokens(1000.0)   # (2·1000 + 2·100) / 4
        (50.0, 550.0)
        """
        window = self.window_tokens
        if window is None:
            return context_tokens
        excess = context_tokens - float(window)
        return context_tokens - self.sliding_fraction * (excess * (excess > 0))

    def kv_cache_bytes_per_sequence(self, context_tokens):
        """KV cache plus recurrent state of one sequence at `context_tokens`, bytes (windowed layers hold at
        most the window)."""
        kv = self.kv_cache_bytes_per_token * self.kv_cache_tokens(context_tokens)
        return kv + self.state_bytes_per_sequence if self.mixers else kv

    def gemm_operand_bits(self) -> dict[str, int]:
        """Operand precision of each component's GEMMs: max(its weight bits, the GEMM input bits), the input
        bits being `gemm_input_bits` for a W·A format, else `activation_bits` (weight-only formats
        dequantize to 16-bit math). Components: attention, ffn (dense layers and shared experts), expert
        (routed experts; a dense model's FFN), embedding (lm_head).

        >>> m = ModelSpec(name="t", d_model=64, d_ff=128, n_layers=1, n_heads=4, n_kv_heads=4,
        ...               vocab_size=1000, weight_bits=4, attention_weight_bits=16, embedding_weight_bits=16,
        ...               gemm_input_bits=4)
        >>> m.gemm_operand_bits()
        {'attention': 16, 'ffn': 4, 'expert': 4, 'embedding': 16}
        >>> m.model_copy(update={"gemm_input_bits": None}).gemm_operand_bits()["expert"]   # W4A16
        16
        """
        a = self.gemm_input_bits or self.activation_bits
        bits = {
            "attention": self.attention_weight_bits,
            "ffn": self.ffn_weight_bits,
            "expert": self.expert_weight_bits,
            "embedding": self.embedding_weight_bits,
        }
        return {k: max(v or self.weight_bits, a) for k, v in bits.items()}

    def gemm_active_params(self) -> dict[str, float]:
        """Parameters each token multiplies, per component (they sum to `active_params`)."""
        attention = self.n_layers * self.attention_params_per_layer
        return {
            "attention": attention,
            "ffn": self.dense_ffn_params,
            "expert": self.active_params - attention - self.dense_ffn_params - self.embedding_params,
            "embedding": self.embedding_params,
        }

    @property
    def weight_memory_bytes(self) -> float:
        """Bytes of the stored weights: each component at its own precision, block scales included.

        >>> m = ModelSpec(name="t", d_model=64, d_ff=128, n_layers=1, n_heads=4, n_kv_heads=4,
        ...               vocab_size=1000, weight_bits=4, fp4_scale_bits=0.5, embedding_weight_bits=16)
        >>> m.weight_memory_bytes == 4.5 / 8 * (4 * 64 * 64 + 3 * 64 * 128) + 2 * 2 * 1000 * 64
        True
        """
        if self.is_uniform_precision:
            return self.weight_bytes * self.total_params
        return (
            self.attention_weight_bytes * self.n_layers * self.attention_params_per_layer
            + self.expert_weight_bytes * self.routed_ffn_params
            + self.ffn_weight_bytes * self.dense_ffn_params
            + self.embedding_weight_bytes * self.stored_embedding_params
        )
