"""Serving modes: how a decode frontier becomes the frontier of whole requests (prompt and answer).

Each mode is a small frozen object with `apply(deployment, decode_frontier) -> Frontier`:

- `DecodeOnly`: the decode frontier as it is, plus per point the input-token price of prefilling a batch of
  prompts on the same instance, the TTFT of one prompt on an idle instance, and the end-to-end latency.
- `Colocated`: the decode instance also prefills (`colocated_prefill_batch` prompts at a time), stalling
  decode.
- `Disaggregated`: a separate prefill pool sized to the decode pool's request rate; TTFT adds the KV transfer.

Without request lengths in the workload every mode returns the decode frontier unchanged.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from infereco.frontier import Frontier
from infereco.physics.prefill import prefill_time
from infereco.physics.requests import DeploymentArrays
from infereco.serving.disaggregation import compare_serving
from infereco.specs.deployment import Deployment
from infereco.specs.serving import ServingSpec


@dataclasses.dataclass(frozen=True)
class DecodeOnly:
    """Decode-only pricing: input tokens priced beside the decode frontier (prefill on the point's
    instance)."""

    name: str = "decode_only"

    def apply(self, dep: Deployment, f: Frontier) -> Frontier:
        lengths = dep.workload.lengths()
        if lengths is None or f.empty:
            return f
        arrays = DeploymentArrays.of(dep)
        n = np.asarray(f.columns["n_gpu"], float)
        prompt = lengths.mean_input_tokens

        def prefill(batch):
            return prefill_time(
                arrays.arrays,
                arrays.prefill_hw_arrays,
                arrays.conventions,
                n,
                batch,
                float(prompt),
                dep.workload.prefill_chunk_tokens,
                0.0,
                dep.model.parallel_attention,
                xp=np,
            )

        # Input tokens are priced with the instance prefilling a whole batch of prompts at once (throughput);
        # TTFT is that of one prompt arriving at an idle instance (no queueing).
        batch_pf, single = prefill(np.asarray(f.columns["batch_size"], float)), prefill(1.0)
        ttft = np.broadcast_to(np.asarray(single.time_s, float), n.shape)
        return f.replace(
            columns={
                **f.columns,
                "gpu_s_per_input_token": np.broadcast_to(
                    np.asarray(batch_pf.gpu_s_per_token, float), n.shape
                ),
                "gpu_s_per_output_token": np.asarray(f.columns["gpu_s_per_token"], float),
                "ttft_s": ttft,
                "prefill_mfu": np.broadcast_to(np.asarray(batch_pf.mfu, float), n.shape),
                "e2e_latency_s": ttft
                + lengths.mean_output_tokens * np.asarray(f.columns["latency_s"], float),
            },
            meta={
                **f.meta,
                "serving": "decode_only",
                "mean_input_tokens": lengths.mean_input_tokens,
                "mean_output_tokens": lengths.mean_output_tokens,
            },
        )


@dataclasses.dataclass(frozen=True)
class _PrefillServing:
    """Co-located or disaggregated prefill (see `infereco.serving.disaggregation`)."""

    name: str
    colocated_prefill_batch: float = 1.0
    kv_transfer_bandwidth_bytes_per_s: float | None = None

    def apply(self, dep: Deployment, f: Frontier) -> Frontier:
        lengths = dep.workload.lengths()
        if lengths is None or f.empty:
            return f
        cmp = compare_serving(
            f,
            dep,
            dep.hardware,
            lengths,
            chunk_tokens=dep.workload.prefill_chunk_tokens,
            max_ttft_s=dep.workload.max_ttft_s,
            colocated_prefill_batch=self.colocated_prefill_batch,
            kv_transfer_bandwidth_bytes_per_s=self.kv_transfer_bandwidth_bytes_per_s,
        )
        chosen = cmp.colocated if self.name == "colocated" else cmp.disaggregated
        meta = {**f.meta, **chosen.meta, "serving": self.name}
        if self.name == "disaggregated":
            meta["prefill_pool"] = cmp.prefill.to_dict()
        return chosen.replace(meta=meta)


def Colocated(colocated_prefill_batch: float = 1.0) -> _PrefillServing:  # noqa: N802 (a mode, like a class)
    """The co-located serving mode."""
    return _PrefillServing("colocated", colocated_prefill_batch=colocated_prefill_batch)


def Disaggregated(kv_transfer_bandwidth_bytes_per_s: float | None = None) -> _PrefillServing:  # noqa: N802
    """The disaggregated serving mode."""
    return _PrefillServing(
        "disaggregated", kv_transfer_bandwidth_bytes_per_s=kv_transfer_bandwidth_bytes_per_s
    )


def serving_mode(spec: ServingSpec) -> DecodeOnly | _PrefillServing:
    """The mode object of a validated `ServingSpec`.

    >>> serving_mode(ServingSpec.validated("colocated")).name
    'colocated'
    """
    if spec.mode == "decode_only":
        return DecodeOnly()
    if spec.mode == "colocated":
        return Colocated(spec.colocated_prefill_batch)
    return Disaggregated(spec.kv_transfer_bandwidth_bytes_per_s)
