"""Number parsing shared by the readers: one value of a file's key as a float, or a `SpecError` naming the file
(`where`) and the key."""

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

