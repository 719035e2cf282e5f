"""Serving options: how prefill is served alongside decode (a frontier's `serving=` argument, a scenario's
`serving:` key).

- `mode`: 'decode_only' (prefill priced separately, the default), 'colocated' (prefill batches run on the
  decode instances) or 'disaggregated' (a separate prefill pool hands the KV cache over).
- `colocated_prefill_batch`: prompts prefilled together on a co-located instance, a number ≥ 1 (default 1).
- `kv_transfer_bandwidth_bytes_per_s`: bandwidth of the prefill → decode KV-cache transfer of the
  disaggregated mode, bytes/s, positive and finite; None (default) = the transfer is not modelled.

`ServingSpec.validated(value)` accepts None (the defaults), a mode name (`"disaggregated"` is shorthand for
`{mode: disaggregated}`) or a mapping; errors are one-line `SpecError`s naming the field.

>>> ServingSpec.validated("disaggregated").mode
'disaggregated'
>>> ServingSpec.validated({"mode": "colocated", "colocated_prefill_batch": 8}).options()
{'colocated_prefill_batch': 8.0}
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from infereco.errors import SpecError
from infereco.specs._base import FrozenSpec

SERVING_MODES = ("decode_only", "colocated", "disaggregated")
# Prompts prefilled together on one co-located instance: far above any engine's batch, low enough to be a
# count.
MAX_COLOCATED_PREFILL_BATCH = 1_000_000
# A KV link slower than 1 MB/s is almost surely given in GB/s or Gb/s; faster than 1e15 B/s is not a real
# link.
MIN_KV_TRANSFER_BYTES_PER_S = 1e6
MAX_KV_TRANSFER_BYTES_PER_S = 1e15


def _number(value: Any, expected: str) -> Any:
    """Reject strings, lists and the like before pydantic's lax mode reads '8' as 8."""
    if value is None or isinstance(value, bool):
        return value  # None: the field's own rule; booleans: FrozenSpec's message
    if isinstance(value, str) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ValueError(f"expected {expected}, got {type(value).__name__}")
    return value


class ServingSpec(FrozenSpec):
    """Validated serving options (frozen). Build with `ServingSpec.validated(None | mode | mapping)`."""

    edge_name: ClassVar[str] = "serving"

    mode: Literal["decode_only", "colocated", "disaggregated"] = Field(
        default="decode_only", description="decode_only | colocated | disaggregated."
    )
    colocated_prefill_batch: float = Field(
        default=1.0,
        ge=1.0,
        le=MAX_COLOCATED_PREFILL_BATCH,
        allow_inf_nan=False,
        description="Prompts prefilled together on a co-located instance (≥ 1).",
    )
    kv_transfer_bandwidth_bytes_per_s: float | None = Field(
        default=None,
        gt=0,
        le=MAX_KV_TRANSFER_BYTES_PER_S,
        allow_inf_nan=False,
        description="Prefill → decode KV-cache transfer bandwidth, bytes/s (None = not modelled).",
    )

    @field_validator("mode", mode="before")
    @classmethod
    def _known_mode(cls, v: Any) -> Any:
        if isinstance(v, str) and v not in SERVING_MODES:
            close = difflib.get_close_matches(
                v.strip().lower().replace("-", "_"), SERVING_MODES, n=1, cutoff=0.5
            )
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"unknown serving mode; {hint}expected one of {', '.join(SERVING_MODES)}")
        if not isinstance(v, str):
            raise ValueError(f"expected one of {', '.join(SERVING_MODES)}, got {type(v).__name__}")
        return v

    @field_validator("colocated_prefill_batch", mode="before")
    @classmethod
    def _batch_is_a_number(cls, v: Any) -> Any:
        return _number(v, "a number of prompts ≥ 1")

    @field_validator("kv_transfer_bandwidth_bytes_per_s", mode="before")
    @classmethod
    def _bandwidth_is_a_number(cls, v: Any) -> Any:
        return _number(v, "a positive number of bytes/s (e.g. 5.0e10 for 50 GB/s) or null")

    @field_validator("kv_transfer_bandwidth_bytes_per_s")
    @classmethod
    def _bandwidth_units(cls, v: float | None) -> float | None:
        if v is not None and v < MIN_KV_TRANSFER_BYTES_PER_S:
            raise ValueError(f"{v:g} looks like GB/s or Gb/s; expected bytes/s (e.g. 5.0e10 for 50 GB/s)")
        return v

    @model_validator(mode="after")
    def _options_need_prefill(self) -> "ServingSpec":
        if self.mode == "decode_only" and self.options():
            raise ValueError(
                f"options {', '.join(sorted(self.options()))} apply to modes colocated and "
                "disaggregated only; set mode"
            )
        return self

    def options(self) -> dict[str, float]:
        """The options given (not left at their defaults), as keyword arguments of `compare_serving`."""
        out: dict[str, float] = {}
        if self.colocated_prefill_batch != 1.0:
            out["colocated_prefill_batch"] = float(self.colocated_prefill_batch)
        if self.kv_transfer_bandwidth_bytes_per_s is not None:
            out["kv_transfer_bandwidth_bytes_per_s"] = float(self.kv_transfer_bandwidth_bytes_per_s)
        return out

    def to_mapping(self) -> dict[str, Any]:
        """`{mode: ..., <options given>}`: what `pareto_frontier(serving=...)` takes."""
        return {"mode": self.mode, **self.options()}

    @classmethod
    def validated(cls, data: Any = None, *, where: str | None = "serving") -> "ServingSpec":
        """A `ServingSpec` from None (defaults), a mode name, a mapping or a `ServingSpec`."""
        where = where or "serving"
        if data is None:
            return cls()
        if isinstance(data, ServingSpec):
            return data
        if isinstance(data, str):
            data = {"mode": data}
        if not isinstance(data, Mapping):
            raise SpecError(
                f"{where} = {_short(data)}: expected a mode name ({', '.join(SERVING_MODES)}) or a "
                f"mapping such as {{mode: colocated, colocated_prefill_batch: 8}}, "
                f"got {type(data).__name__}"
            )
        bad = [k for k in data if not isinstance(k, str)]
        if bad:
            raise SpecError(f"{where}: key {bad[0]!r}: expected option names ({', '.join(cls.model_fields)})")
        spec = super().validated(data, where=where)
        for name in ("colocated_prefill_batch", "kv_transfer_bandwidth_bytes_per_s"):
            v = getattr(spec, name)
            if v is not None and not math.isfinite(v):  # pragma: no cover - allow_inf_nan already refuses
                raise SpecError(f"{where}.{name} = {v!r}: expected a finite number")
        return spec


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
