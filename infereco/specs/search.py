"""Options of the discrete search (`DiscreteSpace`, a frontier's `space=` argument, a scenario's `discrete:` key),
checked at the edge with bounds that keep one search within memory and time.

`validate_discrete_space(mapping)` returns the cleaned keyword arguments of
`infereco.search.discrete.DiscreteSpace`; every error is one `SpecError` line naming the field, the value and
what was expected. Bounds:

- `n_batch`: integer batch sizes tried per layout, 1 to 4096 (each is one more configuration per layout);
- `max_batch`: largest batch, 1 to 2**20; `max_gpus_per_instance`: 1 to 4096;
- `max_configs_per_call`: configurations per jitted call, 1 to 2**24;
- `gpu_memory_utilization`: a number in (0, 1] (not a string) or None (the engine's default);
- `pp_degrees`: a non-empty list of distinct integers from 1 to 4096;
- `allow_2d`, `pp_bubble`, `attention_dp`: true or false;
- `engine`: one of the engines of `infereco.search.engines.ENGINES`.

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
KNOWN_KEYS = ("max_gpus_per_instance", "pp_degrees", "allow_2d", "n_batch", "max_batch", "engine",
              "gpu_memory_utilization", "pp_bubble", "max_configs_per_call", "attention_dp")


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _integer(value: Any, name: str, lo: int, hi: int) -> int:
    """An integer in [lo, hi]: Python / numpy integers, or a float with an integer value; never a bool or str."""
    expected = f"expected an integer from {lo} to {hi}"
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
        what = "a boolean" if isinstance(value, bool) else type(value).__name__
        raise SpecError(f"{name} = {_short(value)}: {expected}, got {what}"
                        + (" (YAML reads 1e6 without a dot as a string: write 1.0e6)" if isinstance(value, str)
                           and _looks_numeric(value) else ""))
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
    """Cleaned keyword arguments of `DiscreteSpace` from a mapping of its fields (or a `DiscreteSpace`, or None:
    no options). Raises `SpecError` naming `where.field`, the value and the expected range.

    >>> validate_discrete_space({"pp_degrees": [1, 2, 4], "gpu_memory_utilization": 0.85})
    {'pp_degrees': (1, 2, 4), 'gpu_memory_utilization': 0.85}
    """
    where = where or "discrete"
    if mapping is None:
        return {}
    if dataclasses.is_dataclass(mapping) and not isinstance(mapping, type):
        mapping = {f.name: getattr(mapping, f.name) for f in dataclasses.fields(mapping)}
    if not isinstance(mapping, Mapping):
        raise SpecError(f"{where} = {_short(mapping)}: expected a mapping of search options "
                        f"({', '.join(KNOWN_KEYS[:4])}, ...), got {type(mapping).__name__}")
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
                raise SpecError(f"{name} = {_short(value)}: expected true or false, got {type(value).__name__}")
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
    from infereco.search.engines import ENGINES, EngineMemory

    if isinstance(value, EngineMemory):
        return value
    known = ", ".join(ENGINES)
    if not isinstance(value, str):
        raise SpecError(f"{name} = {_short(value)}: expected an engine name ({known}), got {type(value).__name__}")
    key = value.strip().lower()
    if key not in ENGINES:
        close = difflib.get_close_matches(key, list(ENGINES), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SpecError(f"{name} = {_short(value)}: unknown engine; {hint}known engines: {known}")
    return key
