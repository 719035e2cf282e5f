"""Disaggregated serving (separate prefill and decode pools) against co-located serving, on frontier axes.

Start from a decode frontier point: an instance of n_d accelerators decoding b_d sequences at TPOT t_d
(accelerator-seconds per output token g_d = n_d·t_d / b_d). A workload has mean prompt length E[P] and mean
output length E[O]. A decode instance finishes r_d = b_d / (E[O]·t_d) requests per second.

**Disaggregated.** A separate prefill pool runs its own cheapest configuration (`cheapest_prefill`: n_p
accelerators, b_p prompts per step, E[T_p] seconds per step, optionally under a TTFT bound), finishing
r_p = b_p / E[T_p] prompts per second per instance. The pools are sized so that their request rates match:
x = r_d / r_p prefill instances per decode instance (continuous, like the reference's GPU counts). Counted
over all accelerators, per output token:

    GPU-s per output token = (n_d + x·n_p) / (r_d·E[O]) = g_d + n_p·E[T_p] / (b_p·E[O])

and the speed a request sees is the decode speed 1/t_d; TTFT = E[T_p] + KV transfer.

**Co-located.** The decode instance also prefills, b_c prompts at a time on its own n_d accelerators, and
decoding stalls while it does (prefill-priority scheduling without chunked piggybacking). Per decode step
b_d/E[O] requests finish and must be replaced, costing b_d·τ/E[O] seconds of prefill with τ = E[T_p(n_d,
b_c)]/b_c, so

    TPOT = t_d + b_d·τ / E[O],      GPU-s per output token = n_d·TPOT / b_d = g_d + n_d·τ / E[O].

Both are returned as `Frontier`s on the same axes as the decode frontier: x = tokens/s per request (1/TPOT),
y = $ per million *output* tokens with every accelerator's cost (prefill included) charged to output tokens.
Extra columns split the cost into input and output prices and give TTFT, pool sizes and a blended $/M over
input + output tokens. Each set is reduced to its own Pareto frontier.

The decode frontier should be computed at the workload's steady-state context
(`RequestLengths.decode_context_tokens`) with the same model, hardware, preset and price given here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from infereco.errors import InfeasibleError
from infereco.frontier import Frontier
from infereco.physics.requests import (
    PrefillChoice,
    cheapest_prefill,
    kv_transfer_s,
    prefill_times_s,
    resolve_deployment,
)
from infereco.search.select import pareto_indices
from infereco.specs.lengths import RequestLengths


@dataclasses.dataclass(frozen=True)
class ServingComparison:
    """Co-located and disaggregated serving of one workload, each a `Frontier` on the decode frontier's
    axes."""

    colocated: Frontier
    disaggregated: Frontier
    prefill: PrefillChoice  # the disaggregated prefill pool's configuration
    lengths: RequestLengths

    def to_records(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "colocated": self.colocated.to_records(),
            "disaggregated": self.disaggregated.to_records(),
            "prefill": [self.prefill.to_dict()],
        }


def pool_sizes(
    decode_point: dict[str, float],
    prefill: PrefillChoice,
    mean_output_tokens: float,
    requests_per_s: float | None = None,
) -> dict[str, float]:
    """Pool sizes that balance request rates: decode and prefill instances (and accelerators) per decode
    instance, or for a total of `requests_per_s` when given."""
    r_d = decode_point["batch_size"] / (mean_output_tokens * decode_point["latency_s"])
    x = r_d / prefill.requests_per_s
    scale = 1.0 if requests_per_s is None else requests_per_s / r_d
    return {
        "decode_requests_per_s_per_instance": r_d,
        "prefill_requests_per_s_per_instance": prefill.requests_per_s,
        "decode_instances": scale,
        "prefill_instances": scale * x,
        "decode_gpus": scale * decode_point["n_gpu"],
        "prefill_gpus": scale * x * prefill.n_gpu,
    }


def _frontier(cols: dict[str, np.ndarray], meta: dict[str, Any], alpha: float, price: float) -> Frontier:
    idx = pareto_indices(cols["latency_s"], cols["gpu_s_per_token"])
    return Frontier(
        {k: np.asarray(v)[idx] for k, v in cols.items()},
        meta=meta,
        default_alpha=alpha,
        price_usd_per_hour=price,
    )


def _gpu_s_fields(gpu_s_per_token, decode_gpu_s_per_token, prefill_gpu_s_per_request, e_in, e_out):
    """Accelerator-time columns of a serving mode (the Frontier derives each $ column from one): all
    accelerators per output token, the prefill's share per input token, the decode's per output token, and the
    total over input + output tokens."""
    return {
        "gpu_s_per_token": gpu_s_per_token,
        "gpu_s_per_input_token": prefill_gpu_s_per_request / e_in,
        "gpu_s_per_output_token": decode_gpu_s_per_token,
        "gpu_s_per_token_blended": gpu_s_per_token * e_out / (e_in + e_out),
    }


def compare_serving(
    decode_frontier: Frontier,
    model,
    hardware,
    lengths,
    *,
    preset="default",
    price_usd_per_hour: float | None = None,
    colocated_prefill_batch: float = 1.0,
    chunk_tokens: float | None = None,
    max_ttft_s: float | None = None,
    kv_transfer_bandwidth_bytes_per_s: float | None = None,
    prefill: PrefillChoice | None = None,
) -> ServingComparison:
    """Co-located against disaggregated serving of `lengths` for every point of `decode_frontier`.

    `lengths`: `RequestLengths`, `{input_tokens, output_tokens[, weights]}` or `(input, output)`.
    `max_ttft_s` bounds the disaggregated prefill's step time; `prefill` fixes its configuration instead.
    `kv_transfer_bandwidth_bytes_per_s` (e.g. the inter-node bandwidth × prefill GPUs) adds the prompt's KV
    transfer to the disaggregated TTFT (its accelerator time is not charged: transfers overlap compute).
    """
    if decode_frontier.empty:
        raise InfeasibleError(f"the decode frontier is empty: {decode_frontier.reason}")
    dep = resolve_deployment(model, hardware, preset=preset, price_usd_per_hour=price_usd_per_hour)
    w = RequestLengths.coerce(lengths)
    e_in, e_out = w.mean_input_tokens, w.mean_output_tokens
    c = {k: np.asarray(v) for k, v in decode_frontier.columns.items() if not k.startswith("usd_per_million")}
    n_d, b_d = c["n_gpu"].astype(float), c["batch_size"].astype(float)
    t_d, g_d = c["latency_s"].astype(float), c["gpu_s_per_token"].astype(float)

    # ---- disaggregated ----
    pre = prefill or cheapest_prefill(
        dep,
        e_in if w.input_tokens.size > 1 else float(w.input_tokens[0]),
        max_ttft_s=max_ttft_s,
        chunk_tokens=chunk_tokens,
    )
    t_p = w.expect(prefill_times_s(dep, pre.n_gpu, pre.batch_size, w.input_tokens, chunk_tokens).ravel())
    r_p = pre.batch_size / t_p
    pre = dataclasses.replace(pre, time_s=t_p, requests_per_s=r_p)
    prefill_gpu_s_per_request = pre.n_gpu * t_p / pre.batch_size
    r_d = b_d / (e_out * t_d)
    x = r_d / r_p
    g_dis = g_d + prefill_gpu_s_per_request / e_out
    transfer = (
        0.0
        if kv_transfer_bandwidth_bytes_per_s is None
        else w.expect(kv_transfer_s(dep.model, w.input_tokens, kv_transfer_bandwidth_bytes_per_s))
    )
    dis = dict(c)
    dis.update(
        {
            "tokens_per_s_per_request": 1.0 / t_d,
            **_gpu_s_fields(g_dis, g_d, np.full_like(t_d, prefill_gpu_s_per_request), e_in, e_out),
            "latency_s": t_d,
            "ttft_s": np.full_like(t_d, t_p + transfer),
            "e2e_latency_s": t_p + transfer + e_out * t_d,
            "decode_n_gpu": n_d,
            "prefill_n_gpu": np.full_like(t_d, pre.n_gpu),
            "prefill_batch_size": np.full_like(t_d, pre.batch_size),
            "prefill_instances_per_decode_instance": x,
            "n_gpu_total": n_d + x * pre.n_gpu,
            "throughput_tokens_per_s": b_d / t_d,
        }
    )

    # ---- co-located ----
    t_c = (
        prefill_times_s(dep, n_d, colocated_prefill_batch, w.input_tokens, chunk_tokens) @ w.weights
    )  # E over samples
    tau = t_c / colocated_prefill_batch  # instance-seconds of prefill per request
    tpot = t_d + b_d * tau / e_out
    g_col = n_d * tpot / b_d
    col = dict(c)
    col.update(
        {
            "tokens_per_s_per_request": 1.0 / tpot,
            **_gpu_s_fields(g_col, g_d, n_d * tau, e_in, e_out),
            "latency_s": tpot,
            "mfu": c["mfu"] * t_d / tpot if "mfu" in c else np.zeros_like(t_d),
            "ttft_s": t_c,
            "e2e_latency_s": t_c + e_out * tpot,
            "decode_n_gpu": n_d,
            "prefill_n_gpu": n_d,
            "prefill_batch_size": np.full_like(t_d, colocated_prefill_batch),
            "prefill_instances_per_decode_instance": np.zeros_like(t_d),
            "n_gpu_total": n_d,
            "throughput_tokens_per_s": b_d / tpot,
        }
    )
    for d in (dis, col):
        d["latency_s"] = np.where(np.isfinite(d["gpu_s_per_token"]), d["latency_s"], np.inf)
    meta = dict(decode_frontier.meta)
    meta.update(
        input_tokens=e_in,
        output_tokens=e_out,
        decode_context_tokens=w.decode_context_tokens,
        usd_per_million_tokens="all accelerators (prefill included) per million output tokens",
    )
    alpha = decode_frontier.default_alpha
    price = dep.price_usd_per_hour
    return ServingComparison(
        _frontier(col, {**meta, "serving": "colocated"}, alpha, price),
        _frontier(dis, {**meta, "serving": "disaggregated"}, alpha, price),
        pre,
        w,
    )
