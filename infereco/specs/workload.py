"""Workload spec: what is being served (context, demand)."""

from __future__ import annotations

from pydantic import Field

from infereco.specs._base import FrozenSpec


class WorkloadSpec(FrozenSpec):
    """The traffic a deployment serves.

    `context_length` is the number of tokens already in the KV cache while decoding (the reference model's
    ℓ_input). `max_throughput_tokens_per_s` caps total demand: a configuration whose batch / latency exceeds it
    cannot be filled (None = unlimited).

    >>> WorkloadSpec(context_length=1000).context_length
    1000
    """

    context_length: int = Field(default=1000, ge=0, le=100_000_000, description="Tokens in context, ℓ_input.")
    max_throughput_tokens_per_s: float | None = Field(
        default=None, gt=0, allow_inf_nan=False,
        description="Total demand cap across all requests, tokens/s (None = no cap)."
    )
