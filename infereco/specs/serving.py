"""How requests are served: decode-only pricing, co-located prefill, or disaggregated prefill and decode pools."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infereco.errors import SpecError

SERVING_MODES = ("decode_only", "colocated", "disaggregated")


@dataclass(frozen=True)
class ServingSpec:
    """Serving mode and its options, validated.

    - `mode`: 'decode_only' (prefill priced beside the decode frontier), 'colocated' (the decode instance also
      prefills, stalling decode) or 'disaggregated' (a separate prefill pool).
    - `colocated_prefill_batch`: prompts a co-located instance prefills at once (≥ 1).
    - `kv_transfer_bandwidth_bytes_per_s`: bandwidth that moves a prompt's KV cache between pools (None = free).

    >>> ServingSpec.validated("disaggregated").mode
    'disaggregated'
    """

    mode: str = "decode_only"
    colocated_prefill_batch: float = 1.0
    kv_transfer_bandwidth_bytes_per_s: float | None = None

    @classmethod
    def validated(cls, data: ServingSpec | Mapping[str, Any] | str | None, where: str = "serving") -> ServingSpec:
        if data is None:
            return cls()
        if isinstance(data, ServingSpec):
            return data
        if isinstance(data, str):
            data = {"mode": data}
        if not isinstance(data, Mapping):
            raise SpecError(f"{where} = {data!r}: expected a mode name ({', '.join(SERVING_MODES)}) or a mapping "
                            "with mode and its options")
        known = ("mode", "colocated_prefill_batch", "kv_transfer_bandwidth_bytes_per_s")
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise SpecError(f"{where}.{key}: unknown option{hint}; known: {', '.join(known)}")
        mode = data.get("mode", "decode_only")
        if mode not in SERVING_MODES:
            raise SpecError(f"{where}.mode = {mode!r}: expected one of {', '.join(SERVING_MODES)}")
        batch = data.get("colocated_prefill_batch", 1.0)
        if isinstance(batch, bool) or not isinstance(batch, (int, float)) or not (1 <= batch <= 1e6):
            raise SpecError(f"{where}.colocated_prefill_batch = {batch!r}: expected a number of prompts from 1 to 1e6")
        bw = data.get("kv_transfer_bandwidth_bytes_per_s")
        if bw is not None and (isinstance(bw, bool) or not isinstance(bw, (int, float))
                               or not (1e6 <= bw < math.inf)):
            raise SpecError(f"{where}.kv_transfer_bandwidth_bytes_per_s = {bw!r}: expected a finite bandwidth "
                            "of at least 1e6 bytes/s (e.g. 5e10 for 400 Gb/s), or omit it")
        options = {k: v for k, v in data.items() if k != "mode"}
        if mode == "decode_only" and options:
            raise SpecError(f"{where}: options {sorted(options)} apply to modes colocated and disaggregated only")
        return cls(mode, float(batch), None if bw is None else float(bw))
