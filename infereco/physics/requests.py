"""Requests: time to first token, end-to-end latency, and input/output token accounting over a workload.

A request has `input_tokens` P (the prompt) and `output_tokens` O. On a deployment it costs

- TTFT = queueing + prefill of its prompt batch (`prefill.prefill_time`) + KV transfer (disaggregated
  serving);
- end-to-end latency = TTFT + O · TPOT (the issue's convention: every output token, the first included, is
  charged one decode step; with `first_token_from_prefill=True` the prefill's logits give the first token and
  only O − 1 decode steps follow);
- accelerator-seconds: n_prefill · T_prefill / b_prefill for its prompt, and O · n_decode · TPOT / b_decode
  for its output.

Every sequence of a continuously refilled decode batch sees the same step time, set by the KV cache of all the
sequences in the batch. In steady state a slot holds a request at a uniformly random decode position, requests
weighted by their output length, so the batch's mean context is the *token-weighted* mean
E[O·(P + (O − 1)/2)] / E[O] (`RequestLengths.decode_context_tokens`), and TPOT is the decode step time there.

Workloads carry fixed lengths or a distribution given as (optionally weighted) paired samples of (P, O); the
metrics are expected values over the samples. Prefill time is nonlinear in P (attention is quadratic), so it
is evaluated per distinct prompt length, not at the mean.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from infereco.errors import SpecError
from infereco.physics.latency import step_time
from infereco.physics.prefill import prefill_bound, prefill_flop, prefill_time
from infereco.physics.structs import Conventions, HardwareArrays, ModelArrays, hardware_arrays, model_arrays
from infereco.specs.deployment import Deployment, resolve
from infereco.specs.hardware import HardwareSpec
from infereco.specs.lengths import RequestLengths
from infereco.specs.model import ModelSpec
from infereco.units import SECONDS_PER_HOUR, usd_per_million_tokens


# ---- a model on an accelerator under a preset, flattened for the physics -----------------------------------
@dataclasses.dataclass(frozen=True)
class DeploymentArrays:
    """A resolved `Deployment`'s model, hardware and conventions with the arrays the physics consumes."""

    model: ModelSpec
    hardware: HardwareSpec
    conventions: Conventions
    arrays: ModelArrays
    hw_arrays: HardwareArrays

    @classmethod
    def of(cls, dep: Deployment) -> DeploymentArrays:
        try:
            ha = hardware_arrays(dep.hardware, dep.operand_bits, dep.model)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
        return cls(dep.model, dep.hardware, dep.conventions, model_arrays(dep.model), ha)

    @property
    def price_usd_per_hour(self) -> float:
        return float(self.hardware.price_usd_per_hour)

    @property
    def prefill_hw_arrays(self) -> HardwareArrays:
        """`hw_arrays` with the sustained FLOP/s of prefill: peak × `prefill_flop_utilization` when the
        hardware sets it (a calibration term), else the decode rate."""
        u = getattr(self.hardware, "prefill_flop_utilization", None)
        if u is None:
            return self.hw_arrays
        return dataclasses.replace(self.hw_arrays, flop_per_s=self.hw_arrays.peak_flop_per_s * float(u))


def resolve_deployment(
    model, hardware, *, preset="default", price_usd_per_hour: float | None = None, **kwargs
) -> DeploymentArrays:
    """`infereco.specs.deployment.resolve` followed by the physics arrays (a `Deployment` passes through)."""
    dep = (
        model
        if isinstance(model, Deployment)
        else resolve(model, hardware, preset=preset, price_usd_per_hour=price_usd_per_hour, **kwargs)
    )
    return DeploymentArrays.of(dep)


# ---- pure pieces -------------------------------------------------------------------------------------------
def end_to_end_latency_s(
    ttft_s, time_per_output_token_s, output_tokens, first_token_from_prefill: bool = False
):
    """TTFT + O·TPOT (or TTFT + (O − 1)·TPOT when the prefill's logits give the first token).

    >>> end_to_end_latency_s(0.5, 0.01, 100)
    1.5
    """
    steps = np.asarray(output_tokens, dtype=float) - (1.0 if first_token_from_prefill else 0.0)
    out = np.asarray(ttft_s, dtype=float) + steps * np.asarray(time_per_output_token_s, dtype=float)
    return float(out) if np.ndim(out) == 0 else out


def decode_step_time_s(dep: DeploymentArrays, n_gpu, batch, context_tokens: float) -> np.ndarray | float:
    """Decode step time (no speculative decoding) of `batch` sequences at mean context `context_tokens`.

    For speculative decoding take `latency_s` of a frontier point instead.
    """
    st = step_time(
        dep.arrays,
        dep.hw_arrays,
        dep.conventions,
        np.asarray(n_gpu, float),
        np.asarray(batch, float),
        1.0,
        float(context_tokens),
        dep.model.parallel_attention,
        xp=np,
    )
    out = np.asarray(st.latency_s, dtype=float)
    return float(out) if out.ndim == 0 else out


def prefill_times_s(
    dep: DeploymentArrays,
    n_gpu,
    batch,
    prompt_tokens,
    chunk_tokens: float | None = None,
    context_tokens: float = 0.0,
) -> np.ndarray:
    """Prefill time of a batch of prompts for each prompt length in `prompt_tokens` (axis last), broadcasting
    `n_gpu` and `batch` over the leading axes."""
    lengths = np.atleast_1d(np.asarray(prompt_tokens, dtype=float))
    uniq, inverse = np.unique(lengths, return_inverse=True)
    cols = [
        np.asarray(
            prefill_time(
                dep.arrays,
                dep.prefill_hw_arrays,
                dep.conventions,
                n_gpu,
                batch,
                float(p),
                chunk_tokens,
                context_tokens,
                dep.model.parallel_attention,
                xp=np,
            ).time_s,
            dtype=float,
        )
        for p in uniq
    ]
    return np.stack(cols, axis=-1)[..., inverse]


def ttft_s(
    dep: DeploymentArrays,
    n_gpu,
    prompt_tokens,
    *,
    prefill_batch: float = 1.0,
    chunk_tokens: float | None = None,
    context_tokens: float = 0.0,
    queue_s: float = 0.0,
    kv_transfer_s: float = 0.0,
):
    """Time to first token: queueing + prefill of the request's batch of `prefill_batch` prompts + KV
    transfer."""
    t = (
        prefill_times_s(dep, n_gpu, prefill_batch, prompt_tokens, chunk_tokens, context_tokens)
        + queue_s
        + kv_transfer_s
    )
    return float(t.ravel()[0]) if t.size == 1 else t


def kv_transfer_s(
    model: ModelSpec, prompt_tokens, bandwidth_bytes_per_s: float, n_links: float = 1.0
) -> float:
    """Seconds to move a prompt's KV cache between pools over `n_links` links of the given bandwidth."""
    return model.kv_cache_bytes_per_sequence(np.asarray(prompt_tokens, float)) / (
        bandwidth_bytes_per_s * n_links
    )


# ---- expected metrics of a workload on a deployment --------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class RequestMetrics:
    """Expected per-request numbers for a workload on a deployment (units in the names)."""

    ttft_s: float
    time_per_output_token_s: float
    e2e_latency_s: float
    input_tokens: float
    output_tokens: float
    decode_context_tokens: float
    prefill_gpu_s_per_request: float
    decode_gpu_s_per_request: float
    usd_per_request: float
    usd_per_million_input_tokens: float
    usd_per_million_output_tokens: float
    usd_per_million_tokens: float  # all GPU cost over input + output tokens
    prefill_mfu: float  # accelerator-time-weighted
    ttft_p90_s: float

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    o = np.argsort(values)
    cw = np.cumsum(weights[o])
    return float(values[o][min(int(np.searchsorted(cw, q * cw[-1])), values.size - 1)])


def request_metrics(
    model,
    hardware,
    lengths,
    *,
    decode_n_gpu: float,
    decode_batch: float,
    prefill_n_gpu: float | None = None,
    prefill_batch: float = 1.0,
    chunk_tokens: float | None = None,
    time_per_output_token_s: float | None = None,
    decode_context_tokens: float | None = None,
    first_token_from_prefill: bool = False,
    kv_transfer_s: float = 0.0,
    preset="default",
    price_usd_per_hour: float | None = None,
) -> RequestMetrics:
    """Expected TTFT, TPOT, end-to-end latency and input/output cost of a workload on one deployment.

    `lengths`: `RequestLengths`, `{input_tokens, output_tokens[, weights]}` or `(input, output)`.
    Decode runs `decode_batch` sequences on `decode_n_gpu` accelerators (TPOT from the physics at the
    workload's steady-state context, or `time_per_output_token_s`, e.g. a frontier point's `latency_s`).
    Prefill runs `prefill_batch` prompts at a time on `prefill_n_gpu` (default: the decode instance).
    Accounting is separate: prefill accelerator time is charged to input tokens, decode time to output tokens.

    >>> r = request_metrics("llama-3-8b", "h100-sxm", (2000, 300), decode_n_gpu=1, decode_batch=32)
    >>> round(r.ttft_s * 1e3, 1), round(r.time_per_output_token_s * 1e3, 2)   # ms
    (34.0, 7.73)
    >>> round(r.e2e_latency_s, 2) == round(r.ttft_s + 300 * r.time_per_output_token_s, 2)
    True
    """
    dep = resolve_deployment(model, hardware, preset=preset, price_usd_per_hour=price_usd_per_hour)
    w = RequestLengths.coerce(lengths)
    n_p = float(decode_n_gpu if prefill_n_gpu is None else prefill_n_gpu)
    ctx = w.decode_context_tokens if decode_context_tokens is None else float(decode_context_tokens)
    tpot = (
        time_per_output_token_s
        if time_per_output_token_s is not None
        else decode_step_time_s(dep, decode_n_gpu, decode_batch, ctx)
    )
    t_pre = prefill_times_s(dep, n_p, prefill_batch, w.input_tokens, chunk_tokens)
    if not (np.all(np.isfinite(t_pre)) and math.isfinite(tpot)):
        raise SpecError(
            f"{dep.model.name} does not fit: prefill on {n_p:g} or decode on {decode_n_gpu:g} "
            f"{dep.hardware.name} (batch {decode_batch:g}) is infeasible for this workload"
        )
    ttft = t_pre + kv_transfer_s
    e2e = end_to_end_latency_s(ttft, tpot, w.output_tokens, first_token_from_prefill)
    prefill_gpu_s = n_p * t_pre / prefill_batch
    decode_steps = w.output_tokens - (1.0 if first_token_from_prefill else 0.0)
    decode_gpu_s = decode_steps * float(decode_n_gpu) * tpot / float(decode_batch)
    price = dep.price_usd_per_hour
    e_pre, e_dec = w.expect(prefill_gpu_s), w.expect(decode_gpu_s)
    e_in, e_out = w.mean_input_tokens, w.mean_output_tokens
    flop = prefill_flop(dep.arrays, 1.0, w.input_tokens, 0.0, xp=np)
    mfu = w.expect(flop) / (e_pre * dep.hw_arrays.peak_flop_per_s)
    return RequestMetrics(
        ttft_s=w.expect(ttft),
        time_per_output_token_s=float(tpot),
        e2e_latency_s=w.expect(e2e),
        input_tokens=e_in,
        output_tokens=e_out,
        decode_context_tokens=ctx,
        prefill_gpu_s_per_request=e_pre,
        decode_gpu_s_per_request=e_dec,
        usd_per_request=(e_pre + e_dec) * price / SECONDS_PER_HOUR,
        usd_per_million_input_tokens=usd_per_million_tokens(e_pre / e_in, price),
        usd_per_million_output_tokens=usd_per_million_tokens(e_dec / e_out, price),
        usd_per_million_tokens=usd_per_million_tokens((e_pre + e_dec) / (e_in + e_out), price),
        prefill_mfu=float(mfu),
        ttft_p90_s=_weighted_quantile(np.asarray(ttft, float), w.weights, 0.9),
    )


# ---- the cheapest way to prefill ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PrefillChoice:
    """A prefill configuration: instance size, prompts per step, and what it costs (units in the names)."""

    n_gpu: float
    batch_size: float
    time_s: float  # prefill time of the batch (the prefill part of TTFT)
    gpu_s_per_token: float  # accelerator-seconds per input token
    mfu: float
    requests_per_s: float  # prompts one instance prefills per second
    bound: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def prefill_grid(dep: DeploymentArrays, prompt_tokens: float, n_gpu=None, batch=None):
    """Default search axes for prefill instances: GPU counts 2^v from the weights' minimum to 2^10 (81 values,
    continuous like the reference grid) and prompts per step 2^u, u = 0..8 (33 values)."""
    if n_gpu is None:
        low = math.log2(max(dep.model.weight_memory_bytes / dep.hw_arrays.hbm_capacity_bytes, 1e-9))
        n_gpu = 2.0 ** np.linspace(low, 10.0, 81)
    if batch is None:
        batch = 2.0 ** np.linspace(0.0, 8.0, 33)
    return np.asarray(n_gpu, float).ravel(), np.asarray(batch, float).ravel()


def cheapest_prefill(
    dep: DeploymentArrays,
    prompt_tokens: float,
    *,
    max_ttft_s: float | None = None,
    chunk_tokens: float | None = None,
    n_gpu=None,
    batch=None,
) -> PrefillChoice:
    """The prefill configuration with the fewest accelerator-seconds per input token (ties: shorter TTFT),
    among instance sizes `n_gpu` × prompts per step `batch` (defaults: `prefill_grid`), with prefill time
    ≤ `max_ttft_s` if given."""
    ns, bs = prefill_grid(dep, prompt_tokens, n_gpu, batch)
    pf = prefill_time(
        dep.arrays,
        dep.prefill_hw_arrays,
        dep.conventions,
        ns[:, None],
        bs[None, :],
        float(prompt_tokens),
        chunk_tokens,
        0.0,
        dep.model.parallel_attention,
        xp=np,
    )
    t = np.asarray(pf.time_s, float)
    cost = np.where(np.isfinite(t), np.asarray(pf.gpu_s_per_token, float), np.inf)
    if max_ttft_s is not None:
        cost = np.where(t <= max_ttft_s, cost, np.inf)
    if not np.isfinite(cost).any():
        raise SpecError(
            f"no prefill configuration of {prompt_tokens:g}-token prompts for {dep.model.name} on "
            f"{dep.hardware.name} fits" + (f" within TTFT {max_ttft_s:g} s" if max_ttft_s else "")
        )
    flat = np.lexsort((t.ravel(), cost.ravel()))[0]
    i, j = np.unravel_index(flat, t.shape)

    def pick(a):
        return float(np.broadcast_to(np.asarray(a, float), t.shape)[i, j])

    bound = str(np.broadcast_to(prefill_bound(pf), t.shape)[i, j])
    return PrefillChoice(
        n_gpu=float(ns[i]),
        batch_size=float(bs[j]),
        time_s=pick(pf.time_s),
        gpu_s_per_token=pick(pf.gpu_s_per_token),
        mfu=pick(pf.mfu),
        requests_per_s=float(bs[j]) / pick(pf.time_s),
        bound=bound,
    )
