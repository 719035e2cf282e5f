"""One resolver: whatever a user passes (catalog ids, `{base: id, ...}` mappings, specs, HF configs) becomes
one frozen, validated `Deployment`, the input of every search, serving mode and economics function.

>>> d = resolve("llama-3-70b", "h100-sxm", context_length=8000)
>>> d.model.name, d.hardware.name, d.workload.context_length, d.search
('Llama 3 70B', 'NVIDIA H100 SXM5 80GB', 8000, 'discrete')
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from typing import Any

from infereco.errors import SpecError
from infereco.specs.catalog import resolve_hardware, resolve_model
from infereco.specs.conventions import Conventions
from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec
from infereco.specs.presets import Preset, get_preset
from infereco.specs.serving import ServingSpec
from infereco.specs.space import DiscreteSpace, GridSpec, discrete_space
from infereco.specs.speculative import SpeculativeSpec, mtp_draft
from infereco.specs.workload import WorkloadSpec
from infereco.units import MAX_PRICE_USD_PER_HOUR, MIN_PRICE_USD_PER_HOUR

SEARCHES = ("discrete", "erdil-grid", "continuous")


@dataclasses.dataclass(frozen=True)
class Deployment:
    """Everything one evaluation needs, validated once at the edge.

    `model`, `hardware` (at its price), `workload`, `preset`, `speculative` (or None), the `search` strategy's
    name with its space (`space` for 'discrete', `grid` for the grid searches), the `serving` mode and the
    preference exponent `alpha`.
    """

    model: ModelSpec
    hardware: HardwareSpec
    workload: WorkloadSpec
    preset: Preset
    search: str
    speculative: SpeculativeSpec | None
    alpha: float
    serving: ServingSpec = ServingSpec()
    space: DiscreteSpace = DiscreteSpace()
    grid: GridSpec = GridSpec()

    @property
    def conventions(self) -> Conventions:
        """The preset's physics conventions, with this hardware's collectives and the draft's convention."""
        changes: dict[str, Any] = {"collectives": self.hardware.collectives}
        if self.speculative is not None and self.speculative.convention is not None:
            changes["spec_convention"] = self.speculative.convention
        return dataclasses.replace(self.preset.conventions, **changes)

    @property
    def price_usd_per_hour(self) -> float:
        return float(self.hardware.price_usd_per_hour)

    @property
    def operand_bits(self) -> int:
        """Precision whose FLOP/s applies to the model's GEMMs under the preset's rule."""
        return self.preset.operand_bits(self.model.weight_bits, self.model.activation_bits)

    def replace(self, **changes: Any) -> Deployment:
        return dataclasses.replace(self, **changes)

    def meta(self) -> dict[str, Any]:
        """What a result records about its inputs (JSON-ready)."""
        s = self.speculative
        return {
            "model": self.model.name,
            "hardware": self.hardware.name,
            "context_length": self.workload.context_length,
            "max_throughput_tokens_per_s": self.workload.max_throughput_tokens_per_s,
            "price_usd_per_hour": self.price_usd_per_hour,
            "preset": self.preset.name,
            "search": self.search,
            "speculative": None
            if s is None
            else {
                "draft": s.draft.name,
                "acceptance": s.acceptance,
                "acceptance_by_position": None
                if s.acceptance_by_position is None
                else list(s.acceptance_by_position),
                "max_draft_tokens": s.max_draft_tokens,
                "convention": self.conventions.spec_convention,
            },
            "alpha": self.alpha,
        }


def positive_number(
    name: str, value: Any, *, upper: float = math.inf, integer: bool = False, lower: float = 0.0
) -> float:
    """`value` as a float in (0, upper] (and ≥ `lower`); a `SpecError` naming `name` otherwise (bools and
    strings rejected).

    >>> positive_number("batch_size", 8)
    8.0
    >>> positive_number("tp", 1.5, integer=True)
    Traceback (most recent call last):
    ...
    infereco.errors.SpecError: tp=1.5: expected a positive integer
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    v = float(value) if ok else math.nan
    if not (0 < v <= upper and v >= lower and math.isfinite(v)) or (integer and v != int(v)):
        kind = "a positive integer" if integer else "a positive finite number"
        bound = (f" from {lower:g}" if lower > 0 else "") + (
            f" up to {upper:g}" if math.isfinite(upper) else ""
        )
        raise SpecError(f"{name}={value!r}: expected {kind}{bound}")
    return v


def _workload(workload, context_length, max_throughput_tokens_per_s) -> WorkloadSpec:
    extra = {
        k: v
        for k, v in (
            ("context_length", context_length),
            ("max_throughput_tokens_per_s", max_throughput_tokens_per_s),
        )
        if v is not None
    }
    if workload is None:
        workload = {}
    if isinstance(workload, WorkloadSpec):
        return workload.replace(**extra) if extra else workload
    if not isinstance(workload, Mapping):
        raise SpecError(
            f"workload = {workload!r}: expected a mapping such as {{context_length: 1000}} or a WorkloadSpec"
        )
    return WorkloadSpec.validated({**dict(workload), **extra}, where="workload")


def _speculative(speculative, preset: Preset, model: ModelSpec) -> SpeculativeSpec | None:
    if speculative is None or isinstance(speculative, SpeculativeSpec):
        return speculative
    if not isinstance(speculative, Mapping):
        raise SpecError(
            f"speculative: expected a mapping or SpeculativeSpec, got {type(speculative).__name__}"
        )
    data = dict(speculative)
    if "draft" not in data:
        raise SpecError("speculative.draft: missing; expected a catalog id or {base: id, ...}")
    if isinstance(data["draft"], str) and data["draft"].strip().lower() == "mtp":
        data["draft"] = mtp_draft(model)  # the target's own multi-token-prediction block
    else:
        data["draft"] = resolve_model(
            data["draft"], where="speculative.draft", base_override=preset.apply_model
        )
    return SpeculativeSpec.validated(data, where="speculative")


def resolve(
    model: ModelSpec | str | Mapping,
    hardware: HardwareSpec | str | Mapping,
    *,
    context_length: int | None = None,
    max_throughput_tokens_per_s: float | None = None,
    workload: WorkloadSpec | Mapping | None = None,
    preset: str | Preset = "default",
    search: str | None = None,
    speculative: SpeculativeSpec | Mapping | None = None,
    price_usd_per_hour: float | None = None,
    alpha: float | None = None,
    space: DiscreteSpace | Mapping | None = None,
    grid: GridSpec | None = None,
    serving: ServingSpec | Mapping | str | None = None,
) -> Deployment:
    """Validate and resolve every input of a frontier, point or plan into one frozen `Deployment`.

    `model`, `hardware`: catalog ids, specs, or `{base: id, field: override}` mappings (a calibrated profile's
    hardware is a spec too). `price_usd_per_hour`: USD per accelerator-hour, or the name of one of the
    accelerator's price tiers (`HardwareSpec.price_tiers_usd_per_hour`, e.g. 'neocloud');
    economics.price_usd_per_hour turns ownership and rental costs into a number. Errors name the field, the
    value and what was expected.
    """
    p = get_preset(preset)
    m = resolve_model(model, base_override=p.apply_model)
    hw = resolve_hardware(hardware, base_override=p.apply)
    if isinstance(hardware, HardwareSpec) and p.hardware_defaults:
        hw = p.apply(hw)
    if isinstance(price_usd_per_hour, str):  # a named tier of the accelerator's catalog prices
        price_usd_per_hour = hw.tier_price_usd_per_hour(price_usd_per_hour)
    if price_usd_per_hour is not None:
        hw = hw.replace(
            price_usd_per_hour=positive_number(
                "price_usd_per_hour",
                price_usd_per_hour,
                lower=MIN_PRICE_USD_PER_HOUR,
                upper=MAX_PRICE_USD_PER_HOUR,
            )
        )
    w = _workload(workload, context_length, max_throughput_tokens_per_s)
    spec = _speculative(speculative, p, m)
    s = search or p.search
    if s not in SEARCHES:
        raise SpecError(f"search={s!r}: unknown search; known searches: {', '.join(SEARCHES)}")
    a = p.alpha if alpha is None else alpha
    if isinstance(a, bool) or not isinstance(a, numbers.Real) or not (math.isfinite(a) and a >= 0):
        raise SpecError(
            f"alpha={alpha!r}: expected a finite number >= 0 (the preference exponent; paper 3, notebook 4)"
        )
    try:
        hw.peak_flop_per_s(p.operand_bits(m.weight_bits, m.activation_bits))
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    if grid is not None and not isinstance(grid, GridSpec):
        raise SpecError(f"grid = {grid!r}: expected a GridSpec")
    serving_spec = ServingSpec.validated(serving)
    if serving_spec.mode != "decode_only" and w.lengths() is None:
        raise SpecError(
            "serving: needs request lengths; add workload.input_tokens and workload.output_tokens"
        )
    return Deployment(
        m,
        hw,
        w,
        p,
        s,
        spec,
        float(a),
        serving_spec,
        discrete_space(space) or DiscreteSpace(),
        grid or GridSpec(),
    )
