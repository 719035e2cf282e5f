"""The calibration terms: one registry of every efficiency term that measured runs can calibrate.

Each `CalibrationTerm` carries its name, unit, valid range (what a `HardwareSpec` / `EngineConfig` accepts),
the box the fit searches (strictly positive: the fit works on log-parameters), the catalog default and a
description. Everything that needs a term's bounds or meaning reads them from here: the `HardwareSpec` field
validation, the serving model's parameter checks, the fit, `infereco calibrate --help` and the table in
docs/validation.md (a test checks the docs list every term).

It lives in `specs` (the lowest layer that needs it: `HardwareSpec` validates its calibration fields with
these ranges), so physics and calibration can both import it.

>>> TERMS["step_overhead_s"].unit
's'
>>> TERMS["flop_utilization"].accepts(1.5)
False
"""

from __future__ import annotations

import dataclasses
import math

__all__ = [
    "CALIBRATION_TERMS",
    "ENGINE_TERMS",
    "HARDWARE_TERMS",
    "TERMS",
    "CalibrationTerm",
    "markdown_table",
]


@dataclasses.dataclass(frozen=True)
class CalibrationTerm:
    """One calibration term.

    - `lo`, `hi`: valid range; `lo_open` / `hi_open` exclude the end (an open `hi` of inf means "finite").
    - `fit_lo`, `fit_hi`: the box the fit searches (log-parameters, so `fit_lo` > 0), inside the valid range.
    - `default`: the catalog's value (None = unset: `attention_bandwidth_utilization` and
      `prefill_flop_utilization` then follow `bandwidth_utilization` / `flop_utilization`).
    - `owner`: "hardware" (a `HardwareSpec` field) or "engine" (an `EngineConfig` serving term).
    """

    name: str
    unit: str
    lo: float
    hi: float
    lo_open: bool
    hi_open: bool
    fit_lo: float
    fit_hi: float
    default: float | None
    owner: str
    description: str

    @property
    def expected(self) -> str:
        """What a valid value is, in words (for error messages)."""
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        hi = "inf" if math.isinf(self.hi) else f"{self.hi:g}"
        kind = {"": "a number", "s": "seconds", "fraction": "a fraction", "x": "a multiplier"}[self.unit]
        return f"{kind} in {left}{self.lo:g}, {hi}{right}" + (", finite" if math.isinf(self.hi) else "")

    def accepts(self, value: float) -> bool:
        """True when `value` lies in the valid range (nan never does)."""
        v = float(value)
        if math.isnan(v):
            return False
        above = v > self.lo if self.lo_open else v >= self.lo
        below = v < self.hi if self.hi_open else v <= self.hi
        return above and below

    def pydantic_bounds(self) -> dict[str, float]:
        """`gt`/`ge`, `lt`/`le` keywords for a pydantic `Field` with this range."""
        out = {("gt" if self.lo_open else "ge"): self.lo}
        if not math.isinf(self.hi):
            out[("lt" if self.hi_open else "le")] = self.hi
        return out


def _fraction(name, description, *, closed_lo=False, default=1.0):
    return CalibrationTerm(
        name, "fraction", 0.0, 1.0, not closed_lo, False, 1e-3, 1.0, default, "hardware", description
    )


HARDWARE_TERMS: tuple[CalibrationTerm, ...] = (
    _fraction(
        "bandwidth_utilization",
        "achieved fraction of peak memory bandwidth (weight reads; KV reads too unless the next is set)",
    ),
    _fraction(
        "attention_bandwidth_utilization",
        "achieved fraction of peak memory bandwidth when attention kernels read the KV cache "
        "(unset: as bandwidth_utilization)",
        default=None,
    ),
    _fraction("flop_utilization", "achieved fraction of peak FLOP/s in decode steps"),
    _fraction(
        "prefill_flop_utilization",
        "achieved fraction of peak FLOP/s in prefill (unset: as flop_utilization)",
        default=None,
    ),
    _fraction(
        "memory_compute_overlap",
        "how far a step's memory traffic and arithmetic overlap: 1 = max(memory, compute) (the paper), "
        "0 = memory + compute; fitted only when named",
        closed_lo=True,
    ),
    CalibrationTerm(
        "step_overhead_s",
        "s",
        0.0,
        10.0,
        False,
        False,
        1e-7,
        10.0,
        0.0,
        "hardware",
        "fixed time per engine step (scheduler, sampling, Python, launches not modelled)",
    ),
    CalibrationTerm(
        "layer_overhead_s",
        "s",
        0.0,
        1.0,
        False,
        False,
        1e-9,
        1.0,
        0.0,
        "hardware",
        "extra time per layer per step (small kernels)",
    ),
    CalibrationTerm(
        "collective_latency_scale",
        "x",
        0.0,
        1e3,
        True,
        False,
        1e-2,
        1e3,
        1.0,
        "hardware",
        "multiplier on the modelled collective latency (seen at TP > 1 only)",
    ),
)
ENGINE_TERMS: tuple[CalibrationTerm, ...] = (
    CalibrationTerm(
        "request_overhead_s",
        "s",
        0.0,
        math.inf,
        False,
        True,
        1e-6,
        100.0,
        0.0,
        "engine",
        "per-request time outside the engine's steps (client, HTTP, tokenisation, scheduling)",
    ),
    CalibrationTerm(
        "first_token_delay_s",
        "s",
        0.0,
        math.inf,
        False,
        True,
        1e-6,
        100.0,
        0.0,
        "engine",
        "client-side delay of the first token, made up by a burst later (moves time from TPOT to TTFT)",
    ),
)
CALIBRATION_TERMS: tuple[CalibrationTerm, ...] = HARDWARE_TERMS + ENGINE_TERMS
TERMS: dict[str, CalibrationTerm] = {t.name: t for t in CALIBRATION_TERMS}


def markdown_table() -> str:
    """The terms as a Markdown table (docs/validation.md carries it; a test keeps the two equal)."""
    rows = ["| term | unit | valid range | fit range | default | meaning |", "|---|---|---|---|---|---|"]
    for t in CALIBRATION_TERMS:
        left = "(" if t.lo_open else "["
        right = ")" if t.hi_open else "]"
        hi = "∞" if math.isinf(t.hi) else f"{t.hi:g}"
        default = "unset" if t.default is None else f"{t.default:g}"
        rows.append(
            f"| `{t.name}` | {t.unit or '—'} | {left}{t.lo:g}, {hi}{right} | [{t.fit_lo:g}, {t.fit_hi:g}] "
            f"| {default} | {t.description} |"
        )
    return "\n".join(rows)
