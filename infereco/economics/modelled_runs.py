"""Modelled workload runs: the serving model predicts what a concurrency sweep would measure, so measured and
predicted runs go through the same cost analysis (Zhuang et al. §6) and sit on one chart."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from infereco.economics.workload_cost import MeasuredRun
from infereco.errors import SpecError
from infereco.physics.requests import resolve_deployment
from infereco.physics.serving import predict_runs


def modelled_runs(
    model,
    hardware,
    concurrencies: Sequence[int],
    *,
    n_requests: int,
    input_tokens: float,
    output_tokens: float,
    tp: int = 1,
    preset: str = "default",
    engine=None,
    params=None,
    label: str = "",
) -> list[MeasuredRun]:
    """Predicted `MeasuredRun`s (source 'predicted') for a closed-loop sweep of `n_requests` requests with
    `input_tokens` / `output_tokens` each, served by one instance of `tp` accelerators at each concurrency.

    Uses the serving model `infereco.physics.serving.predict_runs` (TPOT, TTFT, throughput); total time =
    requests / request throughput. `hardware` may be a calibrated spec; `params` passes serving-level fitted
    terms.

    >>> runs = modelled_runs("llama-3-8b", "a800-80g", [8, 48], n_requests=2993, input_tokens=440,
    ...                      output_tokens=280)
    >>> runs[1].total_time_s < runs[0].total_time_s
    True
    """
    conc = np.asarray(list(concurrencies), dtype=float)
    if conc.size == 0 or np.any(conc < 1) or np.any(conc != np.round(conc)):
        raise SpecError(f"concurrencies = {list(concurrencies)}: expected positive integers")
    if not (isinstance(n_requests, int) and n_requests >= 1):
        raise SpecError(f"n_requests = {n_requests!r}: expected a positive integer")
    for name, v in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
        if not (v >= 1 and math.isfinite(v)):
            raise SpecError(f"{name} = {v!r}: expected a token count ≥ 1")
    pred = predict_runs(
        resolve_deployment(model, hardware, preset=preset),
        input_len=float(input_tokens),
        output_len=float(output_tokens),
        concurrency=conc,
        tp=tp,
        engine=engine,
        params=params,
        num_prompts=float(n_requests),
    )
    runs = []
    for i, c in enumerate(conc):
        req_per_s = float(np.asarray(pred.request_throughput_per_s).ravel()[i])
        if not (req_per_s > 0 and math.isfinite(req_per_s)):
            raise SpecError(
                f"concurrency {int(c)}: the serving model has no finite prediction (does the model fit "
                f"on {tp} accelerator(s)?)"
            )
        runs.append(
            MeasuredRun(
                concurrency=int(c),
                total_time_s=n_requests / req_per_s,
                n_requests=n_requests,
                mean_ttft_s=float(np.asarray(pred.ttft_s).ravel()[i]),
                output_throughput_tokens_per_s=float(
                    np.asarray(pred.output_throughput_tokens_per_s).ravel()[i]
                ),
                total_input_tokens=float(input_tokens) * n_requests,
                total_output_tokens=float(output_tokens) * n_requests,
                per_request_tokens_per_s=1.0 / float(np.asarray(pred.tpot_s).ravel()[i]),
                source="predicted",
                label=label or (model if isinstance(model, str) else getattr(model, "name", "model")),
            )
        )
    return runs
