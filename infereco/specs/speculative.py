"""Speculative decoding spec: a draft model, its acceptance rate and how many tokens it may draft."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from infereco.specs._base import FrozenSpec
from infereco.specs.model import ModelSpec


class SpeculativeSpec(FrozenSpec):
    """Draft model Q proposing up to `max_draft_tokens` tokens per target pass, each accepted with i.i.d.
    probability `acceptance` (Leviathan et al. 2023; Erdil §4.1).

    `convention`: 'notebook' counts the bonus token ((1 − α^(γ+1))/(1 − α) tokens per pass, a (γ+1)-token
    target pass); 'paper' is Erdil Eq. 46 ((1 − α^γ)/(1 − α), a γ-token pass). None = the preset's.

    >>> s = SpeculativeSpec(draft=load_model("llama-3-8b"), acceptance=0.8)
    >>> s.max_draft_tokens, s.draft.name   # the default bound on the draft length
    (20, 'Llama 3 8B')
    """

    edge_name: ClassVar[str] = "speculative"

    draft: ModelSpec
    # α = 0 is the no-speculation limit (every draft rejected: one token per pass, the best γ is 0), where
    # sweeps over α start; α = 1 accepts every draft token (γ + 1 tokens per pass, the geometric-series
    # limit).
    acceptance: float = Field(
        ge=0.0, le=1.0, allow_inf_nan=False, description="Per-token acceptance probability α, 0 ≤ α ≤ 1."
    )
    max_draft_tokens: int = Field(default=20, ge=1, le=64, description="Largest γ tried.")
    convention: Literal["notebook", "paper"] | None = None
    # MTP heads and EAGLE drafts accept later positions less often than the first: α_i is the probability
    # that drafted token i is accepted given tokens 1 … i − 1 were. Given, it replaces the i.i.d. α, caps γ.
    acceptance_by_position: tuple[float, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Conditional acceptance α_i of drafted token i (1-based), each in [0, 1].",
    )

    @model_validator(mode="before")
    @classmethod
    def _acceptance_from_positions(cls, data: Any) -> Any:
        # With per-position acceptances only, α (reported, and the i.i.d. fallback) is the first position's.
        if isinstance(data, dict) and "acceptance" not in data:
            pos = data.get("acceptance_by_position")
            if isinstance(pos, (list, tuple)) and pos and isinstance(pos[0], (int, float)):
                data = {**data, "acceptance": pos[0]}
        return data

    @model_validator(mode="after")
    def _positions_in_range(self) -> SpeculativeSpec:
        for i, a in enumerate(self.acceptance_by_position or ()):
            if not 0.0 <= a <= 1.0:
                raise ValueError(f"acceptance_by_position[{i}] = {a!r}: expected a probability in [0, 1]")
        return self

    @property
    def draft_limit(self) -> int:
        """Largest γ tried: `max_draft_tokens`, capped by the positions with a known acceptance."""
        pos = self.acceptance_by_position
        return self.max_draft_tokens if pos is None else min(self.max_draft_tokens, len(pos))

    def tokens_per_pass(self, convention: str = "notebook") -> tuple[float, ...]:
        """Expected tokens per target pass for γ = 0 … `draft_limit`: 1 + Σ_{i ≤ γ} Π_{j ≤ i} α_j with the
        bonus token ('notebook'), one position fewer for 'paper' (Erdil Eq. 46); the geometric series when α
        is i.i.d.

        >>> s = SpeculativeSpec(draft=load_model("llama-3-8b"), acceptance_by_position=(0.9, 0.8))
        >>> [round(t, 6) for t in s.tokens_per_pass()]   # 1, 1 + 0.9, 1 + 0.9 + 0.9·0.8
        [1.0, 1.9, 2.62]
        """
        pos = self.acceptance_by_position or (self.acceptance,) * self.max_draft_tokens
        out, run, total = [1.0], 1.0, 1.0
        for a in pos[: self.draft_limit]:
            run *= a
            total += run
            out.append(total)
        if convention == "paper":  # γ drafted tokens verify in a γ-token pass: one accepted position fewer
            out = [1.0, *out[:-1]]
        return tuple(out)


def mtp_draft(model: ModelSpec) -> ModelSpec:
    """The built-in draft of a model with multi-token-prediction layers (DeepSeek-V3/R1, GLM, Qwen3.5,
    MiMo, Nemotron 3, ...): one transformer block like the target's last layer (its attention and FFN, MoE
    where the target is MoE) plus the projection of [embedding; hidden] (2·d·d), sharing the target's
    embedding and lm_head (`tie_word_embeddings`: stored once in the draft's count). Hybrids draft with a
    full-attention block. Raises `SpecError` when the model has no MTP layers.

    >>> d = mtp_draft(load_model("deepseek-r1"))
    >>> d.n_layers, d.n_experts, d.n_dense_layers, d.other_dense_params == 7168 * 7168 * 2
    (1, 256, 0, True)
    """
    from infereco.errors import SpecError

    if not model.n_mtp_layers:
        raise SpecError(
            f"speculative.draft = 'mtp': model {model.name!r} has no multi-token-prediction layers "
            "(n_mtp_layers = 0); name a draft model instead"
        )
    full = [g for g in model.mixers if g.kind in ("full", "sparse")]
    data = model.model_dump()
    data.update(
        name=f"{model.name} MTP",
        source=f"{model.name}: its multi-token-prediction block as the draft",
        n_layers=1,
        n_ffn_layers=None,
        n_dense_layers=0,
        mixers=[{**full[0].model_dump(), "n_layers": 1}] if full else [],
        other_dense_params=float(2 * model.d_model * model.d_model),
        tie_word_embeddings=True,
        n_mtp_layers=0,
        sliding_window=None,
        n_sliding_layers=0,
    )
    return ModelSpec.validated(data, where="speculative.draft (mtp)")
