"""Separate prices for input (prompt) and output (generated) tokens.

A token's price is the accelerator time it takes times the hourly price: $/M = GPU-s per token · $/h / 3600 ·
1e6. Input tokens are processed in prefill, many per sequence per step, so prefill runs near the compute
roofline; output tokens are produced one per sequence per decode step, usually far below it. With the FLOP per
token F alike for both (short context), GPU-s per token = F / (u · C) and

    output price / input price = (F_out / u_decode) / (F_in / u_prefill) ≈ u_prefill / u_decode.

Erdil (2025) §4.3: at ≥ 50% prefill utilization against ≈ 17% decode utilization (his Table 6 Llama 3 70B
point), input tokens are ≈ 3× cheaper, as GPT-4o's pricing has it. `token_prices_at_utilization` is that
argument; `token_prices` prices a concrete deployment: output from a frontier point (its GPU-s per token and
MFU), input from the prefill physics (`infereco.physics.prefill`) or a stated prefill utilization.

Utilizations here are fractions of *peak* FLOP/s (MFU, as `Frontier` reports). The paper's "$0.11/M at 100%
utilization" for Llama 3 70B uses the 70%-capped rate (0.7 PFLOP/s), i.e. 70% MFU; ratios do not depend on it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from infereco.physics.arithmetic import step_flop
from infereco.physics.prefill import prefill_flop, prefill_time
from infereco.physics.requests import DeploymentArrays, resolve_deployment
from infereco.units import usd_per_million_tokens


def gpu_s_per_token_at_utilization(flop_per_token, peak_flop_per_s: float, utilization):
    """Accelerator-seconds per token at a FLOP utilization (fraction of peak): F / (u · C_peak).

    >>> float(gpu_s_per_token_at_utilization(2e9, 1e15, 0.5))   # 2 GFLOP at half of 1 PFLOP/s
    4e-06
    """
    u = np.asarray(utilization, float)
    if np.any(~(u > 0)) or np.any(u > 1):
        raise ValueError(f"utilization={utilization}: expected a fraction of peak FLOP/s in (0, 1]")
    return np.asarray(flop_per_token, float) / (u * peak_flop_per_s)


def decode_flop_per_token(dep: DeploymentArrays, context_tokens: float) -> float:
    """FLOP to generate one token at `context_tokens` of context: 2·N_active + 4·width·h·L·c."""
    return float(step_flop(dep.arrays, 1.0, 1.0, float(context_tokens), np))


def prefill_flop_per_token(dep: DeploymentArrays, prompt_tokens: float, context_tokens: float = 0.0) -> float:
    """Mean FLOP per prompt token of a causal prefill: 2·N_active + 4·width·h·L·(c₀ + (P − 1)/2)."""
    return float(prefill_flop(dep.arrays, 1.0, float(prompt_tokens), float(context_tokens), np)) / float(
        prompt_tokens
    )


@dataclasses.dataclass(frozen=True)
class TokenPrices:
    """Input and output token prices of one deployment (units in the names)."""

    input_usd_per_million_tokens: float
    output_usd_per_million_tokens: float
    input_gpu_s_per_token: float
    output_gpu_s_per_token: float
    prefill_utilization: float  # MFU of the prefill
    decode_utilization: float  # MFU of the decode
    price_usd_per_hour: float

    @property
    def output_to_input_ratio(self) -> float:
        """How many times dearer an output token is than an input token."""
        return self.output_usd_per_million_tokens / self.input_usd_per_million_tokens

    def blended_usd_per_million_tokens(self, input_tokens: float, output_tokens: float) -> float:
        """Price per million tokens of any kind for a request mix of `input_tokens` : `output_tokens`."""
        total = (
            self.input_usd_per_million_tokens * input_tokens
            + self.output_usd_per_million_tokens * output_tokens
        )
        return total / (input_tokens + output_tokens)

    def to_dict(self) -> dict[str, float]:
        d = dataclasses.asdict(self)
        d["output_to_input_ratio"] = self.output_to_input_ratio
        return d


def token_prices_at_utilization(
    model,
    hardware,
    *,
    decode_utilization: float,
    prefill_utilization: float = 0.5,
    input_tokens: float = 1000.0,
    decode_context_tokens: float | None = None,
    preset="default",
    price_usd_per_hour: float | None = None,
) -> TokenPrices:
    """Input and output prices from FLOP per token and utilizations alone (Erdil §4.3's argument).

    `decode_context_tokens` defaults to `input_tokens` (output tokens attend to the prompt).

    >>> p = token_prices_at_utilization("llama-3-70b", "h100-sxm", decode_utilization=0.17,
    ...                                 preset="erdil-paper")
    >>> round(p.output_to_input_ratio,
    ...       2)   # ≈ 0.5 / 0.17 = 2.94, a little more: decode attends to all 1000 tokens
    2.97
    """
    dep = resolve_deployment(model, hardware, preset=preset, price_usd_per_hour=price_usd_per_hour)
    peak = dep.hw_arrays.peak_flop_per_s
    ctx = float(input_tokens if decode_context_tokens is None else decode_context_tokens)
    gin = float(
        gpu_s_per_token_at_utilization(prefill_flop_per_token(dep, input_tokens), peak, prefill_utilization)
    )
    gout = float(gpu_s_per_token_at_utilization(decode_flop_per_token(dep, ctx), peak, decode_utilization))
    price = dep.price_usd_per_hour
    return TokenPrices(
        float(usd_per_million_tokens(gin, price)),
        float(usd_per_million_tokens(gout, price)),
        gin,
        gout,
        float(prefill_utilization),
        float(decode_utilization),
        price,
    )


def _point_fields(point) -> dict[str, float]:
    d = point.to_dict() if hasattr(point, "to_dict") else dict(point)
    need = ("n_gpu", "batch_size", "gpu_s_per_token", "mfu")
    missing = [k for k in need if k not in d]
    if missing:
        raise ValueError(
            f"point: missing {missing}; expected a FrontierPoint or a mapping with {', '.join(need)}"
        )
    return {k: float(d[k]) for k in need}


def token_prices(
    model,
    hardware,
    point: Any,
    *,
    input_tokens: float,
    prefill_utilization: float | None = None,
    prefill_n_gpu: float | None = None,
    prefill_batch: float = 1.0,
    chunk_tokens: float | None = None,
    preset="default",
    price_usd_per_hour: float | None = None,
) -> TokenPrices:
    """Input and output prices of a deployment whose decode runs at frontier `point`.

    Output: the point's accelerator-seconds per token (its MFU is the decode utilization). Input: with
    `prefill_utilization`, F_in / (u · C_peak); otherwise the prefill physics: `prefill_batch` prompts of
    `input_tokens` on `prefill_n_gpu` accelerators (default: the point's instance), chunked if `chunk_tokens`.
    `model`, `hardware`, `preset`, `price_usd_per_hour` must be those the frontier was computed with.

    >>> f = pareto_frontier("llama-3-8b", "h100-sxm", space={"max_gpus_per_instance": 8})
    >>> t = token_prices("llama-3-8b", "h100-sxm", f.preferred(), input_tokens=1000)
    >>> t.output_usd_per_million_tokens == f.preferred().usd_per_million_tokens, t.output_to_input_ratio > 1
    (True, True)
    """
    dep = resolve_deployment(model, hardware, preset=preset, price_usd_per_hour=price_usd_per_hour)
    pt = _point_fields(point)
    price = dep.price_usd_per_hour
    if prefill_utilization is not None:
        gin = float(
            gpu_s_per_token_at_utilization(
                prefill_flop_per_token(dep, input_tokens), dep.hw_arrays.peak_flop_per_s, prefill_utilization
            )
        )
        u_in = float(prefill_utilization)
    else:
        n = pt["n_gpu"] if prefill_n_gpu is None else float(prefill_n_gpu)
        pf = prefill_time(
            dep.arrays,
            dep.prefill_hw_arrays,
            dep.conventions,
            n,
            prefill_batch,
            float(input_tokens),
            chunk_tokens,
            0.0,
            dep.model.parallel_attention,
            xp=np,
        )
        gin, u_in = float(pf.gpu_s_per_token), float(pf.mfu)
        if not np.isfinite(gin):
            raise ValueError(
                f"prefill of {prefill_batch:g} × {input_tokens:g} tokens does not fit on {n:g} "
                f"{dep.hardware.name}"
            )
    gout = pt["gpu_s_per_token"]
    return TokenPrices(
        float(usd_per_million_tokens(gin, price)),
        float(usd_per_million_tokens(gout, price)),
        gin,
        gout,
        u_in,
        pt["mfu"],
        price,
    )
