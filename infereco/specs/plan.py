"""Capacity-plan inputs: the model, its traffic, latency targets with tails, and the candidates to search.

A plan file (YAML or a mapping):

    model: deepseek-r1                 # catalog id, {config: path}, or a spec mapping
    traffic:
      requests_per_s: 40               # Poisson arrivals at the peak; or 24 hourly rates
      input_tokens: {uniform: [800, 1000]}
      output_tokens: 300
    slo: {ttft_s: {p90: 1.0, p99: 3.0}, tpot_s: {p90: 0.05}}
    candidates:
      hardware: [h100-sxm, h200, b200]  # default: the whole catalog
      price: catalog                   # or a tier name, or {hardware id: USD per hour}
      engines: [vllm, sglang, trtllm]
      modes: [aggregated, disaggregated]
      max_gpus: 512

Every problem is one line naming the key, the value and what was expected (unknown keys get a suggestion).

>>> p = PlanSpec.validated({"model": "llama-3-70b", "traffic": {"requests_per_s": 5, "input_tokens": 1000,
...                         "output_tokens": 200}, "slo": {"ttft_s": {"p90": 1.0}}})
>>> p.traffic.peak_requests_per_s, p.slo.targets()
(5.0, [('ttft_s', 'p90', 1.0)])
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from infereco.errors import SpecError
from infereco.specs._base import FrozenSpec

QUANTITIES = ("ttft_s", "tpot_s", "e2e_s")
PERCENTILES = ("p50", "p90", "p99")
MODES = ("aggregated", "disaggregated")
ENGINES = ("vllm", "sglang", "trtllm")
MAX_TOKENS = 10_000_000


def _suggest(value: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(value), known, n=1, cutoff=0.5)
    return f"did you mean {close[0]!r}? " if close else ""


class _Keyed(FrozenSpec):
    """A plan section: unknown keys get the section's own known keys and a suggestion."""

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key in data:
                if key not in cls.model_fields:
                    raise ValueError(
                        f"unknown key {key!r}; {_suggest(key, tuple(cls.model_fields))}known keys: "
                        f"{', '.join(cls.model_fields)}"
                    )
        return data


class Lengths(FrozenSpec):
    """Token counts per request: a number, `{uniform: [lo, hi]}` (integers drawn uniformly) or
    `{samples: [..]}`."""

    edge_name: ClassVar[str] = "tokens"

    value: float | None = None
    uniform: tuple[float, float] | None = None
    samples: tuple[float, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, data: Any) -> Any:
        if isinstance(data, bool):
            raise ValueError(f"{data!r}: expected a token count, {{uniform: [lo, hi]}} or {{samples: [...]}}")
        if isinstance(data, (int, float)):
            return {"value": data}
        if isinstance(data, (list, tuple)):
            return {"samples": data}
        return data

    @model_validator(mode="after")
    def _one_form(self) -> Lengths:
        given = [k for k in ("value", "uniform", "samples") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("expected one of a token count, {uniform: [lo, hi]} or {samples: [...]}")
        vals = np.asarray(self.draw(np.random.default_rng(0), 1) if self.value is None else [self.value])
        lo, hi = self.bounds
        if not (math.isfinite(lo) and math.isfinite(hi) and 1 <= lo <= hi <= MAX_TOKENS) or vals.size == 0:
            raise ValueError(
                f"token counts from {lo:g} to {hi:g}: expected 1 ≤ lo ≤ hi ≤ {MAX_TOKENS:,} tokens"
            )
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        if self.value is not None:
            return float(self.value), float(self.value)
        if self.uniform is not None:
            return float(self.uniform[0]), float(self.uniform[1])
        return float(min(self.samples)), float(max(self.samples))

    @property
    def mean(self) -> float:
        if self.value is not None:
            return float(self.value)
        if self.uniform is not None:
            return (self.uniform[0] + self.uniform[1]) / 2.0
        return float(np.mean(self.samples))

    def distribution(self) -> float | dict[str, list[float]] | list[float]:
        """The form `serving.engine_model.TokenLengths.coerce` reads: a number, {"uniform": [lo, hi]} or
        samples."""
        if self.value is not None:
            return float(self.value)
        if self.uniform is not None:
            return {"uniform": [float(self.uniform[0]), float(self.uniform[1])]}
        return [float(x) for x in self.samples]

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` token counts (floats holding integers where the form draws integers)."""
        if self.value is not None:
            return np.full(n, float(self.value))
        if self.uniform is not None:
            lo, hi = self.uniform
            return rng.integers(int(math.ceil(lo)), int(math.floor(hi)) + 1, size=n).astype(float)
        return rng.choice(np.asarray(self.samples, float), size=n)


class Traffic(_Keyed):
    """Poisson arrivals at `requests_per_s` (a peak, or 24 hourly rates of a daily profile) with lengths."""

    edge_name: ClassVar[str] = "traffic"

    requests_per_s: float | tuple[float, ...]
    input_tokens: Lengths
    output_tokens: Lengths

    @field_validator("requests_per_s")
    @classmethod
    def _rates(cls, v):
        rates = (v,) if isinstance(v, (int, float)) else tuple(v)
        if isinstance(v, tuple) and len(rates) != 24:
            raise ValueError(
                f"{len(rates)} hourly rates: expected a number or 24 hourly rates (a daily profile)"
            )
        for r in rates:
            if not (math.isfinite(r) and r > 0):
                raise ValueError(f"{r!r}: expected a positive finite rate in requests per second")
        return v

    @property
    def hourly_requests_per_s(self) -> tuple[float, ...]:
        r = self.requests_per_s
        return (float(r),) if isinstance(r, (int, float)) else tuple(float(x) for x in r)

    @property
    def peak_requests_per_s(self) -> float:
        return max(self.hourly_requests_per_s)


class Slo(_Keyed):
    """Latency targets: any of p50 / p90 / p99 of TTFT, TPOT and E2E, seconds."""

    edge_name: ClassVar[str] = "slo"

    ttft_s: dict[Literal["p50", "p90", "p99"], float] | None = None
    tpot_s: dict[Literal["p50", "p90", "p99"], float] | None = None
    e2e_s: dict[Literal["p50", "p90", "p99"], float] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Slo:
        for q in QUANTITIES:
            t = getattr(self, q) or {}
            for p, v in t.items():
                if not (math.isfinite(v) and v > 0):
                    raise ValueError(f"{q}.{p} = {v!r}: expected a positive number of seconds")
            got = [(p, t[p]) for p in PERCENTILES if p in t]
            for (p1, v1), (p2, v2) in zip(got, got[1:]):
                if v2 < v1:
                    raise ValueError(
                        f"{q}.{p2} = {v2:g} s is below {q}.{p1} = {v1:g} s: a higher percentile cannot "
                        "have a tighter target"
                    )
        if not self.targets():
            raise ValueError("no targets: expected at least one of ttft_s, tpot_s, e2e_s with p50/p90/p99")
        return self

    def targets(self) -> list[tuple[str, str, float]]:
        """(quantity, percentile, seconds) of every target."""
        return [(q, p, float(v)) for q in QUANTITIES for p, v in sorted((getattr(self, q) or {}).items())]


class Candidates(_Keyed):
    """What the search may choose from."""

    edge_name: ClassVar[str] = "candidates"

    hardware: tuple[str, ...] | None = None  # None = every catalog accelerator
    price: str | dict[str, float] = "catalog"
    engines: tuple[Literal["vllm", "sglang", "trtllm"], ...] = ENGINES
    modes: tuple[Literal["aggregated", "disaggregated"], ...] = MODES
    max_gpus: int = Field(default=512, ge=1, le=1_000_000)

    @field_validator("price")
    @classmethod
    def _price(cls, v):
        if isinstance(v, dict):
            for k, usd in v.items():
                if (
                    isinstance(usd, bool)
                    or not isinstance(usd, (int, float))
                    or not (math.isfinite(usd) and usd > 0)
                ):
                    raise ValueError(f"price[{k!r}] = {usd!r}: expected a positive USD per accelerator-hour")
        return v


class PlanSpec(_Keyed):
    """A capacity-planning question: serve `model` to `traffic` within `slo`, choosing among `candidates`."""

    edge_name: ClassVar[str] = "plan"

    model: str | dict[str, Any]
    traffic: Traffic
    slo: Slo
    candidates: Candidates = Candidates()

    def check_context(self, max_context_tokens: int | None) -> None:
        """Raise `SpecError` when the longest request exceeds the model's context window."""
        if max_context_tokens is None:
            return
        longest = self.traffic.input_tokens.bounds[1] + self.traffic.output_tokens.bounds[1]
        if longest > max_context_tokens:
            raise SpecError(
                f"traffic: input + output tokens reach {longest:,.0f}, above the model's context of "
                f"{max_context_tokens:,} tokens"
            )
