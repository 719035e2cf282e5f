"""Workload spec: what is being served (context, demand)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from infereco.errors import SpecError
from infereco.specs._base import FrozenSpec
from infereco.specs.lengths import RequestLengths


class WorkloadSpec(FrozenSpec):
    """The traffic a deployment serves.

    `context_length` is the number of tokens already in the KV cache while decoding (the reference model's
    ℓ_input). `max_throughput_tokens_per_s` caps total demand: a configuration whose batch / latency exceeds
    it cannot be filled (None = unlimited).

    Request lengths (optional) turn on prefill: `input_tokens` and `output_tokens` are each a count or a list
    of paired samples (with optional `weights`); frontiers then also report input and output $/M tokens and
    TTFT. When lengths are given and `context_length` is not, decode runs at the steady-state mean context
    E[O·(P + (O − 1)/2)] / E[O]. `prefill_chunk_tokens` sets chunked prefill; `max_ttft_s` bounds the prefill
    step of a disaggregated prefill pool.

    >>> WorkloadSpec(context_length=1000).context_length
    1000
    """

    edge_name: ClassVar[str] = "workload"

    context_length: int = Field(default=1000, ge=0, le=100_000_000, description="Tokens in context, ℓ_input.")
    max_throughput_tokens_per_s: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Total demand cap across all requests, tokens/s (None = no cap).",
    )
    input_tokens: int | list[int] | None = Field(
        default=None, description="Prompt tokens per request (or samples)."
    )
    output_tokens: int | list[int] | None = Field(
        default=None, description="Output tokens per request (or samples)."
    )
    weights: list[float] | None = Field(default=None, description="Weights of the paired length samples.")
    prefill_chunk_tokens: int | None = Field(
        default=None, gt=0, description="Chunked-prefill chunk size, tokens."
    )
    max_ttft_s: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="TTFT bound, s.")

    @model_validator(mode="before")
    @classmethod
    def _default_context_from_lengths(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and "context_length" not in data
            and data.get("input_tokens") is not None
            and data.get("output_tokens") is not None
        ):
            try:
                lengths = RequestLengths.from_samples(
                    data["input_tokens"], data["output_tokens"], data.get("weights")
                )
            except Exception:
                return data  # field validation below reports the bad lengths
            data = {**data, "context_length": int(round(lengths.decode_context_tokens))}
        return data

    @field_validator("input_tokens", "output_tokens")
    @classmethod
    def _positive_lengths(cls, v):
        values = v if isinstance(v, list) else [v] if v is not None else []
        if isinstance(v, list) and not v:
            raise ValueError("expected at least one sample")
        bad = [x for x in values if x < 1 or x > 100_000_000]
        if bad:
            raise ValueError(f"expected token counts between 1 and 1e8, got {bad[0]}")
        return v

    @model_validator(mode="after")
    def _lengths_pair(self) -> "WorkloadSpec":
        if (self.input_tokens is None) != (self.output_tokens is None):
            raise ValueError("input_tokens and output_tokens go together: give both or neither")
        if self.weights is not None and self.input_tokens is None:
            raise ValueError("weights need input_tokens and output_tokens samples")
        if self.input_tokens is not None:
            try:
                self.lengths()
            except SpecError as exc:
                raise ValueError(str(exc)) from None
        return self

    def lengths(self):
        """The request lengths as `RequestLengths`, or None when the workload has none."""
        if self.input_tokens is None:
            return None
        return RequestLengths.from_samples(self.input_tokens, self.output_tokens, self.weights)
