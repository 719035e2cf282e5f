"""Speculative decoding spec: a draft model, its acceptance rate and how many tokens it may draft."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

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
