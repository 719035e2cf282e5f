"""The search protocol: a strategy turns a `Deployment` into the `Candidates` it selects.

A strategy is a small frozen object with a `name` and `run(deployment, backend) -> Candidates`; the frontier
layer prices the candidates. `get_search` maps the names a user writes ('discrete', 'erdil-grid',
'continuous') to strategies, so no code dispatches on the string itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from infereco.errors import SpecError
from infereco.specs.deployment import Deployment

BACKENDS = ("jax", "numpy")


@dataclasses.dataclass(frozen=True)
class Candidates:
    """The configurations a search selected, as flat arrays with one entry per point, fastest first.

    `evaluation`: the physics' `Evaluation` at each point (accelerator-seconds per token already at the demand
    served); `n_gpu`, `batch_size`; `extra`: layout columns (tp, ep, pp, attn_dp, max_batch, ...);
    `served_cap_tokens_per_s`: the demand cap the points serve (None = none); `rejected`: counts of rejected
    combinations by reason; `configurations`: how many were evaluated; `reason`: why nothing was selected.
    """

    evaluation: Any
    n_gpu: np.ndarray
    batch_size: np.ndarray
    extra: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    served_cap_tokens_per_s: float | None = None
    rejected: Mapping[str, int] = dataclasses.field(default_factory=dict)
    configurations: int = 0
    reason: str | None = None
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.n_gpu)


@runtime_checkable
class SearchStrategy(Protocol):
    """What every search is: a name and a pure `run`."""

    name: str

    def run(self, deployment: Deployment, backend: str = "jax") -> Candidates: ...


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise SpecError(
            f"backend={backend!r}: expected 'jax' (jitted, default) or 'numpy' (the reference backend)"
        )
    return backend


def no_point_reason(dep: Deployment, any_feasible: bool, largest_n_gpu: float) -> str:
    """Why a search selected nothing: the demand cap, or the memory the model needs against the largest
    instance searched."""
    m, hw, w = dep.model, dep.hardware, dep.workload
    if any_feasible:
        return (
            "every feasible configuration exceeds the demand cap of "
            f"{w.max_throughput_tokens_per_s:g} tokens/s"
        )
    kv = (
        f" plus {m.kv_cache_bytes_per_sequence(w.context_length) / 1e9:.3g} GB of KV cache per sequence"
        if w.context_length
        else ""
    )
    return (
        f"{m.name} does not fit: weights need {m.weight_memory_bytes / 1e9:.3g} GB{kv}, "
        f"and the largest instance searched has {largest_n_gpu * hw.hbm_capacity_bytes / 1e9:.3g} GB of HBM"
    )


def served_at_demand(ev, gpu_s_per_token, batch, cap):
    """Cost and MFU of configurations at the demand they serve: an instance faster than the demand cap is paid
    for all the time but serves only `cap` tokens/s (cost per token at least n_gpu / cap, MFU scaled down)."""
    if cap is None:
        return ev
    lat = np.asarray(ev.latency_s, float)
    served = np.minimum(1.0, cap * lat / np.asarray(batch, float))
    return ev._replace(
        gpu_s_per_token=np.asarray(gpu_s_per_token, float), mfu=np.asarray(ev.mfu, float) * served
    )
