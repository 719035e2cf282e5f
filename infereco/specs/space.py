"""The configuration spaces the searches cover: integer layouts (`DiscreteSpace`) and the reference's continuous
grid (`GridSpec`). Frozen, validated where they come in (`discrete_space`), bounded so that no input can ask
for hours of work or more memory than the machine has."""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from typing import Any

from infereco.errors import SpecError
from infereco.specs.engines import get_engine

DEFAULT_PP = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64)


@dataclasses.dataclass(frozen=True)
class DiscreteSpace:
    """Bounds of the discrete search.

    - `max_gpus_per_instance`: largest tp·ep·pp considered.
    - `pp_degrees`: pipeline degrees tried (uneven layer splits allowed; bubble-free unless `pp_bubble`).
    - `allow_2d`: also try 2D tensor parallelism where the stage size is a perfect square ≥ 4.
    - `n_batch`, `max_batch`: integer batches, log-spaced from 1 up to the largest KV-cache capacity (capped).
    - `engine`, `gpu_memory_utilization`: memory-fit rule ('vllm', 'sglang', 'trtllm', 'ideal').
    - `attention_dp`: for MLA models also try data-parallel attention with expert parallelism (how DeepSeek
      models are served), since tensor-parallel MLA replicates the latent cache on every rank.
    """

    max_gpus_per_instance: int = 1024
    pp_degrees: tuple[int, ...] = DEFAULT_PP
    allow_2d: bool = True
    n_batch: int = 96
    max_batch: int = 1 << 16
    engine: str = "vllm"
    gpu_memory_utilization: float | None = None
    pp_bubble: bool = False
    max_configs_per_call: int = 1 << 22  # layouts × batches evaluated per jitted call (memory bound)
    attention_dp: bool = True  # for MLA models, also try data-parallel attention layouts

    def __post_init__(self):
        get_engine(self.engine, self.gpu_memory_utilization)  # validates both


@dataclasses.dataclass(frozen=True)
class GridSpec:
    n_batch: int = 400
    n_gpu: int = 400
    max_log2_batch: float = 18.0  # plus log2 of the MoE sparsity
    max_log2_gpu: float = 18.0
    n_thresholds: int = 600
    min_log10_threshold_s: float = -4.0
    max_log10_threshold_s: float = 0.0


# Inclusive bounds of the integer options: beyond them a search takes minutes and gigabytes for nothing.
INTEGER_BOUNDS: dict[str, tuple[int, int]] = {
    "max_gpus_per_instance": (1, 4096),
    "n_batch": (1, 4096),
    "max_batch": (1, 1 << 20),
    "max_configs_per_call": (1, 1 << 24),
}


def discrete_space(space: DiscreteSpace | Mapping[str, Any] | None, where: str = "discrete") -> DiscreteSpace | None:
    """A validated `DiscreteSpace` from a mapping of its fields; errors name the field, the value and the range.

    >>> discrete_space({"engine": "sglang", "n_batch": 32}).n_batch
    32
    >>> discrete_space({"n_batch": 10**8})
    Traceback (most recent call last):
    ...
    infereco.errors.SpecError: discrete.n_batch = 100000000: expected an integer from 1 to 4096
    """
    if space is None or isinstance(space, DiscreteSpace):
        return space
    if not isinstance(space, Mapping):
        raise SpecError(f"{where}: expected a mapping of search options, got {type(space).__name__}")
    fields = [f.name for f in dataclasses.fields(DiscreteSpace)]
    data = dict(space)
    for key, value in data.items():
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SpecError(f"{where}.{key}: unknown option{hint}; known options: {', '.join(fields)}")
    if "pp_degrees" in data:
        pp = data["pp_degrees"]
        if (not isinstance(pp, (list, tuple)) or not pp or len(pp) > 64
                or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1024 for v in pp)):
            raise SpecError(f"{where}.pp_degrees = {pp!r}: expected a list of up to 64 integers from 1 to 1024, "
                            "e.g. [1, 2, 4]")
        data["pp_degrees"] = tuple(sorted(set(pp)))
    for key, (lo, hi) in INTEGER_BOUNDS.items():
        if key in data:
            v = data[key]
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise SpecError(f"{where}.{key} = {data[key]!r}: expected an integer from {lo} to {hi}")
            data[key] = v
    for key in ("allow_2d", "pp_bubble", "attention_dp"):
        if key in data and not isinstance(data[key], bool):
            raise SpecError(f"{where}.{key} = {data[key]!r}: expected true or false")
    if "engine" in data and not isinstance(data["engine"], str):
        raise SpecError(f"{where}.engine = {data['engine']!r}: expected an engine name (vllm, sglang, trtllm, ideal)")
    if data.get("gpu_memory_utilization") is not None:
        u = data["gpu_memory_utilization"]
        if isinstance(u, bool) or not isinstance(u, (int, float)) or not (0 < u <= 1 and math.isfinite(u)):
            raise SpecError(f"{where}.gpu_memory_utilization = {u!r}: expected a number in (0, 1], "
                            "the fraction of HBM the engine may use")
        data["gpu_memory_utilization"] = float(u)
    try:
        return DiscreteSpace(**data)
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None
