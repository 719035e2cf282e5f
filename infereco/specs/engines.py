"""Memory fit per serving engine: how much of each accelerator's HBM holds weights and KV cache.

Each engine reserves memory differently; the presets follow the engines' documented defaults:

- `vllm`: `--gpu-memory-utilization` 0.9 of total HBM for weights, activations and KV cache together; the
  activation peak is profiled at start-up (we reserve `activation_reserve_bytes`).
- `sglang`: `--mem-fraction-static` (≈0.88 on 80 GB GPUs) of HBM for weights and KV cache; the rest is left
  for activations and CUDA graphs.
- `trtllm`: `kv_cache_free_gpu_mem_fraction` 0.9 of the memory left after weights and activations goes to KV.
- `ideal`: all HBM for weights and KV (the Erdil papers' fit rule).

Plus a fixed per-accelerator runtime reserve (CUDA context, NCCL buffers, CUDA graphs).
"""

from __future__ import annotations

import dataclasses

from infereco.errors import SpecError


@dataclasses.dataclass(frozen=True)
class EngineMemory:
    """How an engine splits one accelerator's HBM. Bytes per accelerator."""

    name: str
    usable_fraction: (
        float  # of total HBM usable for weights + KV (+ activations where `fraction_after_weights`)
    )
    activation_reserve_bytes: float
    runtime_reserve_bytes: float
    fraction_after_weights: bool = False  # TensorRT-LLM applies its fraction to memory left after weights

    def kv_budget_bytes(self, hbm_capacity_bytes, weights_per_gpu_bytes):
        """Bytes per accelerator left for the KV cache (may be negative: the layout does not fit)."""
        free = hbm_capacity_bytes - self.runtime_reserve_bytes - self.activation_reserve_bytes
        if self.fraction_after_weights:
            return self.usable_fraction * (free - weights_per_gpu_bytes)
        return (
            self.usable_fraction * hbm_capacity_bytes
            - self.runtime_reserve_bytes
            - self.activation_reserve_bytes
            - weights_per_gpu_bytes
        )


ENGINES: dict[str, EngineMemory] = {
    "vllm": EngineMemory(
        "vllm", usable_fraction=0.9, activation_reserve_bytes=1.0e9, runtime_reserve_bytes=0.5e9
    ),
    "sglang": EngineMemory(
        "sglang", usable_fraction=0.88, activation_reserve_bytes=0.0, runtime_reserve_bytes=0.5e9
    ),
    "trtllm": EngineMemory(
        "trtllm",
        usable_fraction=0.9,
        activation_reserve_bytes=1.0e9,
        runtime_reserve_bytes=0.5e9,
        fraction_after_weights=True,
    ),
    "ideal": EngineMemory(
        "ideal", usable_fraction=1.0, activation_reserve_bytes=0.0, runtime_reserve_bytes=0.0
    ),
}


def get_engine(name: str | EngineMemory, gpu_memory_utilization: float | None = None) -> EngineMemory:
    """An engine memory rule by name ('vllm', 'sglang', 'trtllm', 'ideal'), optionally with another
    fraction."""
    if isinstance(name, EngineMemory):
        engine = name
    else:
        key = str(name).lower()
        if key not in ENGINES:
            raise SpecError(f"engine={name!r}: unknown engine; known engines: {', '.join(ENGINES)}")
        engine = ENGINES[key]
    if gpu_memory_utilization is not None:
        if not 0 < gpu_memory_utilization <= 1:
            raise SpecError(f"gpu_memory_utilization={gpu_memory_utilization}: expected a fraction in (0, 1]")
        engine = dataclasses.replace(engine, usable_fraction=float(gpu_memory_utilization))
    return engine
