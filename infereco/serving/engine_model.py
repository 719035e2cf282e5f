"""One replica's serving engine as a few functions of the batch: the common input of the discrete-event
simulation (`infereco.serving.simulate`) and the queueing model (`infereco.serving.queueing`).

An `EngineModel` is frozen and holds plain numbers (seconds, tokens):

- **decode step** t_dec(b): seconds of one decode step of b sequences, linear interpolation in a table
  (`decode_batch`, `decode_step_s`; extrapolated linearly beyond its ends). `EngineModel.linear` builds the
  two-point table of t_dec(b) = `decode_base_s` + `decode_per_seq_s`·b.
- **prefill**: a prompt of P tokens prefilled alone takes
  t_pre(P) = `prefill_base_s` + P·`prefill_s_per_token`.
- **KV capacity**: at most `max_seqs` sequences hold a KV slot at once (prefilling or decoding); a request
  takes a slot when its prefill starts and frees it when its last token is out.
- **scheduling** (continuous batching, first come first served):

  * `chunk_tokens=None` (no chunked prefill, prefill first): whenever a request waits and a slot is free
    the engine prefills the oldest waiting prompt alone in one step of t_pre(P), stalling the decodes;
    otherwise it runs a decode step of every admitted sequence.
  * `chunk_tokens=B` (chunked prefill): every step carries the b decoding sequences (one token each) and up
    to B − b prompt tokens taken from the waiting prompts in arrival order (a prompt longer than the room is
    split over several steps); the step takes t_dec(b) + k·`prefill_s_per_token` for k prompt tokens, so
    prefill chunks stretch the decode step they join.

  In both, a prompt's last prefill step emits its first token (TTFT), and each later decode step one more,
  so a request of O output tokens finishes O − 1 steps after its first token: E2E = TTFT + (O − 1)·TPOT.

`engine_from_deployment` fills the numbers from infereco's physics for a resolved deployment.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from infereco.errors import SpecError

__all__ = ["EngineModel", "TokenLengths", "engine_from_deployment"]


def _positive(name: str, value, *, allow_zero: bool = False, integer: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0) and (not integer or v == int(v))
    if not ok:
        want = "a whole number" if integer else "a finite number"
        raise SpecError(f"{name} = {value!r}: expected {want} {'≥ 0' if allow_zero else '> 0'}")
    return v


@dataclasses.dataclass(frozen=True)
class TokenLengths:
    """A distribution of token counts as a probability table (`tokens`, `probs`), from a number, a uniform
    range `{"uniform": [lo, hi]}` (every whole number from lo to hi alike) or an array of samples (drawn with
    replacement).

    >>> d = TokenLengths.coerce({"uniform": [800, 1000]}, "input_tokens")
    >>> d.mean, d.tokens.size
    (900.0, 201)
    >>> TokenLengths.coerce([100, 100, 300], "output_tokens").mean
    166.66666666666666
    """

    tokens: np.ndarray
    probs: np.ndarray

    @classmethod
    def coerce(cls, value, name: str) -> TokenLengths:
        if isinstance(value, TokenLengths):
            return value
        if isinstance(value, dict):
            if set(value) != {"uniform"}:
                raise SpecError(f"{name} = {value!r}: expected a number, {{'uniform': [lo, hi]}} or samples")
            try:
                lo, hi = (float(x) for x in value["uniform"])
            except (TypeError, ValueError):
                lo = hi = math.nan
            if not (
                math.isfinite(lo) and math.isfinite(hi) and 1 <= lo <= hi and lo == int(lo) and hi == int(hi)
            ):
                raise SpecError(f"{name} = {value!r}: expected uniform bounds 1 ≤ lo ≤ hi, whole tokens")
            t = np.arange(int(lo), int(hi) + 1, dtype=float)
            return cls(t, np.full(t.size, 1.0 / t.size))
        try:
            a = np.asarray(value, dtype=float).ravel()
        except (TypeError, ValueError):
            raise SpecError(
                f"{name} = {value!r}: expected a number, {{'uniform': [lo, hi]}} or samples"
            ) from None
        if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 1) or np.any(a != np.round(a)):
            raise SpecError(f"{name} = {value!r}: expected whole token counts ≥ 1")
        t, counts = np.unique(a, return_counts=True)
        return cls(t, counts / counts.sum())

    @property
    def mean(self) -> float:
        return float(self.tokens @ self.probs)

    def moment(self, f) -> float:
        """E[f(tokens)] for a vectorised f."""
        return float(np.asarray(f(self.tokens), dtype=float) @ self.probs)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.tokens.size == 1:
            return np.full(n, self.tokens[0])
        return self.tokens[rng.choice(self.tokens.size, size=n, p=self.probs)]


@dataclasses.dataclass(frozen=True)
class EngineModel:
    """One replica's engine: decode step time as a table over the batch, an affine prefill time, a KV-slot cap
    and the chunked-prefill setting (see the module docstring). Seconds and tokens.

    >>> e = EngineModel.linear(decode_base_s=0.02, decode_per_seq_s=1e-4, prefill_base_s=0.01,
    ...                        prefill_tokens_per_s=20000, max_seqs=64)
    >>> round(e.decode_step_s_at(10), 4), round(e.prefill_s(1000), 3)   # s at batch 10, s for 1000 tokens
    (0.021, 0.06)
    """

    decode_batch: tuple[float, ...]
    decode_step_s: tuple[float, ...]
    prefill_base_s: float
    prefill_s_per_token: float
    max_seqs: int = 256
    chunk_tokens: int | None = None

    def __post_init__(self):
        b = np.asarray(self.decode_batch, dtype=float)
        t = np.asarray(self.decode_step_s, dtype=float)
        if b.ndim != 1 or b.size < 2 or b.shape != t.shape:
            raise SpecError(
                f"decode_batch / decode_step_s of sizes {b.size} / {t.size}: expected two tables of one "
                "length ≥ 2"
            )
        if not (np.all(np.isfinite(b)) and np.all(np.diff(b) > 0) and b[0] >= 0):
            raise SpecError(f"decode_batch = {self.decode_batch!r}: expected increasing batches ≥ 0")
        if not (np.all(np.isfinite(t)) and np.all(t > 0)):
            raise SpecError(f"decode_step_s = {self.decode_step_s!r}: expected finite step times > 0 s")
        object.__setattr__(self, "decode_batch", tuple(float(x) for x in b))
        object.__setattr__(self, "decode_step_s", tuple(float(x) for x in t))
        object.__setattr__(
            self, "prefill_base_s", _positive("prefill_base_s", self.prefill_base_s, allow_zero=True)
        )
        object.__setattr__(
            self, "prefill_s_per_token", _positive("prefill_s_per_token", self.prefill_s_per_token)
        )
        object.__setattr__(self, "max_seqs", int(_positive("max_seqs", self.max_seqs, integer=True)))
        if self.chunk_tokens is not None:
            k = int(_positive("chunk_tokens", self.chunk_tokens, integer=True))
            if k <= self.max_seqs:
                raise SpecError(
                    f"chunk_tokens = {self.chunk_tokens!r}: expected more than max_seqs = {self.max_seqs} "
                    "(decodes take one token of the budget each; prefill would starve)"
                )
            object.__setattr__(self, "chunk_tokens", k)
        if self.decode_step_s_at(self.max_seqs) <= 0:
            raise SpecError(f"decode_step_s: the table extrapolates to ≤ 0 s at max_seqs = {self.max_seqs}")

    # -- constructors
    @classmethod
    def linear(
        cls,
        *,
        decode_base_s: float,
        decode_per_seq_s: float,
        prefill_base_s: float,
        prefill_tokens_per_s: float,
        max_seqs: int = 256,
        chunk_tokens: int | None = None,
    ) -> EngineModel:
        """t_dec(b) = decode_base_s + decode_per_seq_s·b, t_pre(P) = prefill_base_s + P/prefill_tokens_per_s.

        >>> EngineModel.linear(decode_base_s=0.01, decode_per_seq_s=0.0, prefill_base_s=0.0,
        ...                    prefill_tokens_per_s=1e4).decode_step_s_at([1, 100])
        array([0.01, 0.01])
        """
        base = _positive("decode_base_s", decode_base_s)
        per = _positive("decode_per_seq_s", decode_per_seq_s, allow_zero=True)
        rate = _positive("prefill_tokens_per_s", prefill_tokens_per_s)
        return cls((0.0, 1.0), (base, base + per), prefill_base_s, 1.0 / rate, max_seqs, chunk_tokens)

    @classmethod
    def from_table(
        cls,
        decode_batch,
        decode_step_s,
        *,
        prefill_base_s: float,
        prefill_tokens_per_s: float,
        max_seqs: int = 256,
        chunk_tokens: int | None = None,
    ) -> EngineModel:
        """Decode step times measured or modelled at some batches (seconds), interpolated linearly.

        >>> e = EngineModel.from_table([1, 8, 64], [0.010, 0.011, 0.020], prefill_base_s=0.005,
        ...                            prefill_tokens_per_s=1e4, max_seqs=64)
        >>> round(e.decode_step_s_at(36), 4)
        0.0155
        """
        rate = _positive("prefill_tokens_per_s", prefill_tokens_per_s)
        return cls(
            tuple(np.ravel(decode_batch)),
            tuple(np.ravel(decode_step_s)),
            prefill_base_s,
            1.0 / rate,
            max_seqs,
            chunk_tokens,
        )

    def replace(self, **changes) -> EngineModel:
        return dataclasses.replace(self, **changes)

    # -- step times
    @property
    def chunked(self) -> bool:
        return self.chunk_tokens is not None

    def decode_step_s_at(self, batch):
        """Seconds of a decode step of `batch` sequences (array-valued; linear beyond the table's ends)."""
        b = np.asarray(batch, dtype=float)
        xs, ys = np.asarray(self.decode_batch), np.asarray(self.decode_step_s)
        lo = ys[0] + (b - xs[0]) * (ys[1] - ys[0]) / (xs[1] - xs[0])
        hi = ys[-1] + (b - xs[-1]) * (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        out = np.where(b < xs[0], lo, np.where(b > xs[-1], hi, np.interp(b, xs, ys)))
        return float(out) if out.ndim == 0 else out

    def prefill_s(self, prompt_tokens):
        """Seconds to prefill one prompt of `prompt_tokens` alone (array-valued)."""
        out = self.prefill_base_s + np.asarray(prompt_tokens, dtype=float) * self.prefill_s_per_token
        return float(out) if np.ndim(out) == 0 else out

    def decode_table(self) -> np.ndarray:
        """t_dec(b) for b = 0, 1, …, max_seqs (seconds), the lookup table of the simulation."""
        return np.asarray(self.decode_step_s_at(np.arange(self.max_seqs + 1, dtype=float)), dtype=float)

    # -- capacity
    def capacity_requests_per_s(self, mean_input_tokens: float, mean_output_tokens: float) -> float:
        """The highest request rate (requests/s) the engine sustains for these mean lengths: the engine busy
        all the time at the best decode batch allowed (≤ `max_seqs`; with chunked prefill the batch and the
        prompt tokens share the token budget in the ratio of the lengths).

        >>> e = EngineModel.linear(decode_base_s=0.02, decode_per_seq_s=0.0, prefill_base_s=0.0,
        ...                        prefill_tokens_per_s=1e4, max_seqs=10)
        >>> round(e.capacity_requests_per_s(1000, 11), 3)   # 1 / (0.1 s prefill + 10 steps of 0.02 s / 10)
        8.333
        """
        p = _positive("mean_input_tokens", mean_input_tokens)
        d = _positive("mean_output_tokens", mean_output_tokens) - 1.0  # decode steps per request
        b = np.arange(1, self.max_seqs + 1, dtype=float)
        if d <= 0:  # first token from prefill only
            if self.chunked:
                return float(
                    self.chunk_tokens
                    / (p * self.decode_step_s_at(0.0) + p * self.chunk_tokens * self.prefill_s_per_token)
                )
            return float(1.0 / self.prefill_s(p))
        if not self.chunked:
            return float(1.0 / (self.prefill_s(p) + d * np.min(self.decode_step_s_at(b) / b)))
        # Chunked: b decodes and k = b·p/d prompt tokens per step, b + k ≤ chunk_tokens.
        k = b * p / d
        ok = b + k <= self.chunk_tokens
        b_full = self.chunk_tokens * d / (p + d)  # the budget exactly full (fractional batch)
        b = np.append(b[ok], min(b_full, self.max_seqs))
        k = b * p / d
        return float(np.max(b / (d * (self.decode_step_s_at(b) + k * self.prefill_s_per_token))))


def engine_from_deployment(
    deployment,
    *,
    n_gpu: float = 1.0,
    input_tokens: float = 1000.0,
    output_tokens: float = 200.0,
    max_seqs: int | None = None,
    chunk_tokens: int | None = None,
    batches=None,
) -> EngineModel:
    """An `EngineModel` from infereco's physics for a resolved deployment on `n_gpu` accelerators.

    `deployment`: a `DeploymentArrays` (`infereco.physics.requests.resolve_deployment`), a `Deployment`, or a
    (model, hardware) pair of catalog ids. Decode steps are `physics.requests.decode_step_time_s` at the
    workload's token-weighted decode context P + (O − 1)/2, tabulated over `batches` (default powers of two up
    to `max_seqs`); the prefill line is a least-squares fit of `physics.requests.prefill_times_s` (one prompt)
    over prompt lengths from P/4 to 2P. `max_seqs` defaults to the sequences of P + O tokens whose KV cache
    fits beside the weights (`ServingModel.kv_capacity_seqs`), at most 1024 and below `chunk_tokens`.

    >>> e = engine_from_deployment(("llama-3-8b", "h100-sxm"), input_tokens=2000, output_tokens=300)
    >>> e.max_seqs, round(e.prefill_s(2000) * 1e3, 1), round(e.decode_step_s_at(1) * 1e3, 2)  # ms
    (185, 34.9, 5.08)
    """
    from infereco.physics.requests import (
        DeploymentArrays,
        decode_step_time_s,
        prefill_times_s,
        resolve_deployment,
    )
    from infereco.physics.serving import ServingModel, ServingRuns

    if isinstance(deployment, tuple):
        dep = resolve_deployment(*deployment)
    elif isinstance(deployment, DeploymentArrays):
        dep = deployment
    else:
        dep = resolve_deployment(deployment, None)
    p = _positive("input_tokens", input_tokens)
    o = _positive("output_tokens", output_tokens)
    if max_seqs is None:
        runs = ServingRuns.make(p, o, tp=float(n_gpu))
        cap = float(ServingModel(dep).kv_capacity_seqs(runs)[0])
        if cap < 1:
            raise SpecError(
                f"{dep.model.name} on {n_gpu:g} {dep.hardware.name}: no KV slot for a "
                f"{p:g}+{o:g}-token request"
            )
        max_seqs = int(min(cap, 1024, math.inf if chunk_tokens is None else chunk_tokens - 1))
    if batches is None:
        batches = np.unique(np.append(2.0 ** np.arange(0, math.ceil(math.log2(max_seqs)) + 1), max_seqs))
        batches = batches[batches <= max_seqs]
    batches = np.asarray(batches, dtype=float)
    t_dec = np.asarray(decode_step_time_s(dep, float(n_gpu), batches, p + (o - 1.0) / 2.0), dtype=float)
    lengths = np.linspace(p / 4.0, 2.0 * p, 8).round()
    t_pre = np.asarray(prefill_times_s(dep, float(n_gpu), 1.0, lengths), dtype=float).ravel()
    if not (np.all(np.isfinite(t_dec)) and np.all(np.isfinite(t_pre))):
        raise SpecError(f"{dep.model.name} does not fit on {n_gpu:g} {dep.hardware.name} for this workload")
    slope, base = np.polyfit(lengths, t_pre, 1)
    if batches.size == 1:
        batches, t_dec = np.array([0.0, batches[0]]), np.array([t_dec[0], t_dec[0]])
    return EngineModel(
        tuple(batches),
        tuple(t_dec),
        max(float(base), 0.0),
        float(slope),
        int(max_seqs),
        chunk_tokens,
    )
