"""Number parsing shared by the readers: one value of a file's key as a float, or a `SpecError` naming the
file (`where`) and the key."""

from __future__ import annotations

import math
from typing import Any

from infereco.errors import SpecError

_INF_WORDS = {"inf", "+inf", "infinity", "+infinity", "unlimited", "none_limit"}


def _as_float(value: Any, *, where: str, key: str, allow_inf: bool = True) -> float:
    """A JSON/CSV number as float; SpecError naming `where` and `key` otherwise."""
    if isinstance(value, bool) or value is None:
        raise SpecError(f"{where}: key {key!r} = {value!r}: expected a number")
    if isinstance(value, (int, float)):
        x = float(value)
    elif isinstance(value, str):
        s = value.strip().replace(",", "")
        if s.lower() in _INF_WORDS:
            x = math.inf
        else:
            try:
                x = float(s)
            except ValueError:
                raise SpecError(f"{where}: key {key!r} = {value!r}: expected a number") from None
    else:
        raise SpecError(
            f"{where}: key {key!r} = {_short(value)}: expected a number, got {type(value).__name__}"
        )
    if math.isnan(x):
        raise SpecError(f"{where}: key {key!r} = {value!r}: expected a number, got NaN")
    if math.isinf(x) and not allow_inf:
        raise SpecError(f"{where}: key {key!r} = {value!r}: expected a finite number")
    return x


def _as_int(value: Any, *, where: str, key: str) -> int:
    x = _as_float(value, where=where, key=key, allow_inf=False)
    if math.isnan(x) or x != int(x):
        raise SpecError(f"{where}: key {key!r} = {value!r}: expected a whole number")
    return int(x)


def _short(value: Any) -> str:
    s = repr(value)
    return s if len(s) <= 60 else s[:57] + "..."


# What each measured value of the run record may be (field of `Measurement` → rule): "positive" (> 0) or
# "nonneg" (≥ 0). Unlisted numeric fields are only checked to be numbers. A TPOT of 0 is allowed for runs of
# one output token (no inter-token time to measure); a median ITL of 0 is the sign of bursty streaming, not an
# error.
_POSITIVE = (
    "input_len",
    "output_len",
    "tp",
    "pp",
    "n_gpu",
    "num_prompts",
    "completed",
    "duration_s",
    "max_concurrency",
    "request_rate",
    "request_throughput_per_s",
    "output_throughput_tokens_per_s",
    "total_token_throughput",
    "total_input_tokens",
    "total_output_tokens",
    *(f"{s}_{m}_s" for m in ("ttft", "tpot", "e2el") for s in ("mean", "median", "p99")),
)
_NONNEG = (
    "failed",
    *(f"{s}_itl_s" for s in ("mean", "median", "p99")),
    *(f"std_{m}_s" for m in ("ttft", "tpot", "itl", "e2el")),
)
_TPOT = tuple(f"{s}_tpot_s" for s in ("mean", "median", "p99"))


def check_run_values(
    values: dict[str, tuple[Any, str, Any]], *, where: str, output_len: float | None = None
) -> None:
    """SpecError naming `where` and the file's key for the first value out of range.

    `values` maps a field of the run record to (its value in SI units or None, the key as the file spells it,
    the value as the file gives it)."""
    for name, (x, key, v) in values.items():
        if x is None or isinstance(x, str):
            continue
        x = float(x)
        rule = "positive" if name in _POSITIVE else "nonneg" if name in _NONNEG else None
        if name in _TPOT and output_len is not None and output_len <= 1:
            rule = "nonneg"
        if math.isnan(x):
            raise SpecError(f"{where}: key {key!r} = nan: expected a number, got NaN")
        if rule == "positive" and not x > 0:
            raise SpecError(f"{where}: key {key!r} = {v!r}: expected a positive number")
        if rule == "nonneg" and not x >= 0:
            raise SpecError(f"{where}: key {key!r} = {v!r}: expected a number ≥ 0")
