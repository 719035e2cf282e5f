"""The configuration spaces the searches cover: integer layouts (`DiscreteSpace`) and the reference's
continuous grid (`GridSpec`). Frozen, validated where they come in (`discrete_space`,
`validate_discrete_space`), bounded so that no input can ask for hours of work or more memory than the machine
has:

- `n_batch`: integer batch sizes tried per layout, 1 to 4096 (each is one more configuration per layout);
- `max_batch`: largest batch, 1 to 2**20; `max_gpus_per_instance`: 1 to 4096;
- `max_configs_per_call`: configurations per jitted call, 1 to 2**24;
- `gpu_memory_utilization`: a number in (0, 1] (not a string) or None (the engine's default);
- `pp_degrees`: a non-empty list of distinct integers from 1 to 4096;
- `allow_2d`, `pp_bubble`, `attention_dp`: true or false;
- `engine`: one of the engines of `infereco.specs.engines.ENGINES`.

Booleans are not integers here: `n_batch: true` is an error, not one batch size.

>>> validate_discrete_space({"n_batch": 32, "engine": "SGLang"})
{'n_batch': 32, 'engine': 'sglang'}
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from collections.abc import Mapping
from typing import Any

from infereco.errors import SpecError
from infereco.specs.engines import ENGINES, EngineMemory, get_engine

DEFAULT_PP = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64)


@dataclasses.dataclass(frozen=True)
class DiscreteSpace:
    """Bounds of the discrete search.

    - `max_gpus_per_instance`: largest tp·ep·pp considered.
    - `pp_degrees`: pipeline degrees tried (uneven layer splits allowed; bubble-free unless `pp_bubble`).
    - `allow_2d`: also try 2D tensor parallelism where the stage size is a perfect square ≥ 4.
    - `n_batch`, `max_batch`: integer batches, log-spaced from 1 up to the largest KV-cache capacity (capped).
    - `engine`, `gpu_memory_utilization`: memory-fit rule ('vllm', 'sglang', 'trtllm', 'ideal').
    - `attention_dp`: also try data-parallel attention (every model; with expert parallelism for MoE, how
      DeepSeek models are served), since tensor-parallel attention replicates the KV cache on every rank
      beyond the KV heads (MLA: its one latent head).
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
    attention_dp: bool = True  # also try data-parallel attention layouts

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


MAX_N_BATCH = 4096
MAX_BATCH = 1 << 20
MAX_GPUS_PER_INSTANCE = 4096
MAX_CONFIGS_PER_CALL = 1 << 24
MAX_PP_DEGREE = 4096

# field -> (smallest, largest) for the integer options
_INTEGER_BOUNDS: dict[str, tuple[int, int]] = {
    "max_gpus_per_instance": (1, MAX_GPUS_PER_INSTANCE),
    "n_batch": (1, MAX_N_BATCH),
    "max_batch": (1, MAX_BATCH),
    "max_configs_per_call": (1, MAX_CONFIGS_PER_CALL),
}
_BOOLEANS = ("allow_2d", "pp_bubble", "attention_dp")
KNOWN_KEYS = (
    "max_gpus_per_instance",
    "pp_degrees",
    "allow_2d",
    "n_batch",
    "max_batch",
    "engine",
    "gpu_memory_utilization",
    "pp_bubble",
    "max_configs_per_call",
    "attention_dp",
)


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _integer(value: Any, name: str, lo: int, hi: int) -> int:
    """An integer in [lo, hi]: Python / numpy integers, or a float with an integer value; never a bool or
    str."""
    expected = f"expected an integer from {lo} to {hi}"
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
        what = "a boolean" if isinstance(value, bool) else type(value).__name__
        raise SpecError(
            f"{name} = {_short(value)}: {expected}, got {what}"
            + (
                " (YAML reads 1e6 without a dot as a string: write 1.0e6)"
                if isinstance(value, str) and _looks_numeric(value)
                else ""
            )
        )
    if isinstance(value, numbers.Integral):
        v = int(value)
    else:
        f = float(value)
        if not (math.isfinite(f) and f.is_integer()):
            raise SpecError(f"{name} = {_short(value)}: {expected}")
        v = int(f)
    if not lo <= v <= hi:
        raise SpecError(f"{name} = {_short(value)}: {expected}")
    return v


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def validate_discrete_space(mapping: Any, where: str = "discrete") -> dict[str, Any]:
    """Cleaned keyword arguments of `DiscreteSpace` from a mapping of its fields (or a `DiscreteSpace`, or
    None: no options). Raises `SpecError` naming `where.field`, the value and the expected range.

    >>> validate_discrete_space({"pp_degrees": [1, 2, 4], "gpu_memory_utilization": 0.85})
    {'pp_degrees': (1, 2, 4), 'gpu_memory_utilization': 0.85}
    """
    where = where or "discrete"
    if mapping is None:
        return {}
    if dataclasses.is_dataclass(mapping) and not isinstance(mapping, type):
        mapping = {f.name: getattr(mapping, f.name) for f in dataclasses.fields(mapping)}
    if not isinstance(mapping, Mapping):
        raise SpecError(
            f"{where} = {_short(mapping)}: expected a mapping of search options "
            f"({', '.join(KNOWN_KEYS[:4])}, ...), got {type(mapping).__name__}"
        )
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{where}.{key}"
        if not isinstance(key, str) or key not in KNOWN_KEYS:
            close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            shown = key if isinstance(key, str) and key.isprintable() and len(key) <= 60 else _short(key)
            raise SpecError(f"{where}.{shown}: unknown option; {hint}known options: {', '.join(KNOWN_KEYS)}")
        if key in _INTEGER_BOUNDS:
            out[key] = _integer(value, name, *_INTEGER_BOUNDS[key])
        elif key in _BOOLEANS:
            if not isinstance(value, bool):
                raise SpecError(
                    f"{name} = {_short(value)}: expected true or false, got {type(value).__name__}"
                )
            out[key] = value
        elif key == "pp_degrees":
            out[key] = _pp_degrees(value, name)
        elif key == "gpu_memory_utilization":
            out[key] = _fraction(value, name)
        elif key == "engine":
            out[key] = _engine(value, name)
    return out


def _pp_degrees(value: Any, name: str) -> tuple[int, ...]:
    expected = f"expected a non-empty list of distinct integers from 1 to {MAX_PP_DEGREE}, e.g. [1, 2, 4]"
    if not isinstance(value, (list, tuple)) or not value:
        raise SpecError(f"{name} = {_short(value)}: {expected}")
    if len(value) > MAX_PP_DEGREE:
        raise SpecError(f"{name}: {len(value)} entries; {expected}")
    degrees = [_integer(v, f"{name}[{i}]", 1, MAX_PP_DEGREE) for i, v in enumerate(value)]
    if len(set(degrees)) != len(degrees):
        dup = next(d for d in degrees if degrees.count(d) > 1)
        raise SpecError(f"{name} = {_short(value)}: {dup} appears twice; {expected}")
    return tuple(degrees)


def _fraction(value: Any, name: str) -> float | None:
    expected = "expected a number in (0, 1], e.g. 0.9 (or null for the engine's default)"
    if value is None:
        return None
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
        what = "a boolean" if isinstance(value, bool) else type(value).__name__
        raise SpecError(f"{name} = {_short(value)}: {expected}; got {what}")
    v = float(value)
    if not (math.isfinite(v) and 0 < v <= 1):
        raise SpecError(f"{name} = {_short(value)}: {expected}")
    return v


def _engine(value: Any, name: str):
    if isinstance(value, EngineMemory):
        return value
    known = ", ".join(ENGINES)
    if not isinstance(value, str):
        raise SpecError(
            f"{name} = {_short(value)}: expected an engine name ({known}), got {type(value).__name__}"
        )
    key = value.strip().lower()
    if key not in ENGINES:
        close = difflib.get_close_matches(key, list(ENGINES), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SpecError(f"{name} = {_short(value)}: unknown engine; {hint}known engines: {known}")
    return key


def discrete_space(
    space: DiscreteSpace | Mapping[str, Any] | None, where: str = "discrete"
) -> DiscreteSpace | None:
    """A validated `DiscreteSpace` from a mapping of its fields; errors name the field, the value and the
    range.

    >>> discrete_space({"engine": "sglang", "n_batch": 32}).n_batch
    32
    >>> discrete_space({"n_batch": 10**8})
    Traceback (most recent call last):
    ...
    infereco.errors.SpecError: discrete.n_batch = 100000000: expected an integer from 1 to 4096
    """
    if space is None or isinstance(space, DiscreteSpace):
        return space
    return DiscreteSpace(**validate_discrete_space(space, where))
