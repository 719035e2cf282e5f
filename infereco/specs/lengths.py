"""Request lengths: the prompt and output token counts a workload's requests carry (paired samples,
weights)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from infereco.errors import SpecError


def _positive_array(name: str, values) -> np.ndarray:
    a = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    if a.size == 0:
        raise SpecError(f"{name}: expected at least one value")
    bad = ~(np.isfinite(a) & (a > 0))
    if bad.any():
        raise SpecError(f"{name} = {a[bad][0]!r}: expected positive finite token counts")
    return a


@dataclasses.dataclass(frozen=True)
class RequestLengths:
    """Input and output lengths of the requests a deployment serves: paired samples (P_i, O_i) with weights.

    >>> w = RequestLengths.fixed(1000, 200)
    >>> w.mean_input_tokens, w.mean_output_tokens, w.decode_context_tokens
    (1000.0, 200.0, 1099.5)
    """

    input_tokens: np.ndarray
    output_tokens: np.ndarray
    weights: np.ndarray  # normalised to sum 1

    @classmethod
    def fixed(cls, input_tokens: float, output_tokens: float) -> RequestLengths:
        return cls.from_samples(input_tokens, output_tokens)

    @classmethod
    def from_samples(cls, input_tokens, output_tokens, weights=None) -> RequestLengths:
        """Paired samples; a scalar on either side is broadcast (e.g. sampled prompts, fixed output
        length)."""
        p = _positive_array("input_tokens", input_tokens)
        o = _positive_array("output_tokens", output_tokens)
        if p.size != o.size and 1 not in (p.size, o.size):
            raise SpecError(
                f"input_tokens has {p.size} samples and output_tokens {o.size}: expected equal "
                "counts (paired samples) or a single value on one side"
            )
        p, o = np.broadcast_arrays(p, o)
        if weights is None:
            w = np.full(p.size, 1.0 / p.size)
        else:
            w = np.atleast_1d(np.asarray(weights, dtype=float)).ravel()
            if w.size != p.size or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
                raise SpecError(f"weights: expected {p.size} non-negative finite numbers with a positive sum")
            w = w / w.sum()
        return cls(p.copy(), o.copy(), w)

    @classmethod
    def coerce(cls, value: RequestLengths | Mapping[str, Any] | tuple) -> RequestLengths:
        """From a `RequestLengths`, `{input_tokens, output_tokens[, weights]}` or an `(input, output)`
        pair."""
        if isinstance(value, RequestLengths):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"input_tokens", "output_tokens", "weights"}
            if unknown:
                raise SpecError(
                    f"request lengths: unknown keys {sorted(unknown)}; expected input_tokens, "
                    "output_tokens, weights"
                )
            if "input_tokens" not in value or "output_tokens" not in value:
                raise SpecError("request lengths: expected both input_tokens and output_tokens")
            return cls.from_samples(value["input_tokens"], value["output_tokens"], value.get("weights"))
        if isinstance(value, tuple) and len(value) == 2:
            return cls.from_samples(*value)
        raise SpecError(
            f"request lengths: expected RequestLengths, a mapping or (input, output), got {value!r}"
        )

    def expect(self, per_sample) -> float:
        """Weighted mean of per-sample values."""
        return float(np.sum(self.weights * np.asarray(per_sample, dtype=float)))

    @property
    def mean_input_tokens(self) -> float:
        return self.expect(self.input_tokens)

    @property
    def mean_output_tokens(self) -> float:
        return self.expect(self.output_tokens)

    @property
    def decode_context_tokens(self) -> float:
        """Mean KV context of a steady-state decode batch: E[O·(P + (O − 1)/2)] / E[O]."""
        p, o = self.input_tokens, self.output_tokens
        return self.expect(o * (p + (o - 1.0) / 2.0)) / self.mean_output_tokens
