"""Hourly GPU cost: owning (depreciation + power + maintenance, Zhuang et al. 2025 App. A) or renting.

The paper's decomposition, per GPU, in the purchase currency, converted to USD at an explicit exchange rate:

    depreciation = P / (Y · 8760 · u)          P purchase price, Y years, u utilization (0 < u ≤ 1)
    power        = kW · PUE · E                E electricity price per kWh
    maintenance  = P · m / 8760                m maintenance fee, fraction of P per year

What "per hour" means here: the result is the cost of one *utilized* GPU-hour. Costs that run on calendar time
whether or not the GPU works (depreciation, and the optional cost of capital and host/network share) are
spread over the 8760·u utilized hours of a year, so they are divided by u. Power and maintenance are charged
per utilized hour exactly as the paper writes them (not divided by u). At u = 1 both readings agree, which is
the paper's $0.79/h baseline.

>>> round(hourly_cost(zhuang2025_a800()).per_gpu_usd_per_hour, 3)
0.787
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from infereco.errors import SpecError
from infereco.specs._base import FrozenSpec
from infereco.specs.yaml_io import load_yaml_mapping
from infereco.units import HOURS_PER_YEAR, MIN_PRICE_USD_PER_HOUR

# Relative tolerance for "currency_per_usd and usd_per_currency are reciprocals" (rates are often quoted
# to 4 significant digits, so 1e-3 accepts 7.09 with 0.141 but rejects a swapped pair).
_FX_RECIPROCAL_RTOL = 1e-3


class OwnershipCost(FrozenSpec):
    """Owning GPUs: purchase price, depreciation, utilization, power, maintenance, optional extras.

    Money fields are in `currency` (per GPU); `currency_per_usd` (e.g. 7.09 for CNY) or `usd_per_currency`
    converts them to USD and is required unless currency is 'USD'. Rates per year are fractions (0.03 = 3%).

    >>> c = OwnershipCost(purchase_price=120_000, currency="CNY", currency_per_usd=7.09, depreciation_years=3,
    ...                   power_kw=0.4, pue=1.5, electricity_price_per_kwh=1.0,
    ...                   maintenance_rate_per_year=0.03)
    """

    kind: Literal["ownership"] = "ownership"
    name: str = "custom"
    purchase_price: float = Field(gt=0, allow_inf_nan=False, description="Price of one GPU, in `currency`.")
    currency: str = Field(default="USD", description="ISO 4217 code of every money field, e.g. 'CNY', 'USD'.")
    currency_per_usd: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Units of `currency` per US dollar (7.09 for CNY).",
    )
    usd_per_currency: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="US dollars per unit of `currency` (0.141 for CNY).",
    )
    depreciation_years: float = Field(
        gt=0, allow_inf_nan=False, description="Straight-line depreciation, years."
    )
    utilization: float = Field(
        default=1.0,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="Fraction of calendar hours the GPU works, u.",
    )
    power_kw: float = Field(
        ge=0, allow_inf_nan=False, description="Average power draw per GPU while working, kW."
    )
    pue: float = Field(
        default=1.0, ge=1, allow_inf_nan=False, description="Data-centre power usage effectiveness."
    )
    electricity_price_per_kwh: float = Field(ge=0, allow_inf_nan=False, description="Per kWh, in `currency`.")
    maintenance_rate_per_year: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Maintenance per year, fraction of purchase price.",
    )
    cost_of_capital_rate_per_year: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Interest on the purchase price per year, fraction.",
    )
    host_and_network_share_per_hour: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="Per GPU per calendar hour, in `currency`."
    )
    n_gpus: int = Field(default=1, ge=1, le=10_000_000, description="GPUs in the deployment.")
    sources: dict[str, str] = Field(default_factory=dict, description="Where each number comes from.")

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, v: str) -> str:
        code = str(v).strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise ValueError("expected a three-letter ISO 4217 code such as 'USD' or 'CNY'")
        return code

    @field_validator("maintenance_rate_per_year", "cost_of_capital_rate_per_year")
    @classmethod
    def _check_fraction(cls, v: float, info) -> float:
        # 3 instead of 0.03 is the usual slip; a real rate above 100% a year is not plausible.
        if v > 1:
            raise ValueError(
                f"{info.field_name}={v:g} looks like a percentage; expected a fraction (0.03 for 3%)"
            )
        return v

    @model_validator(mode="after")
    def _check_exchange_rate(self) -> OwnershipCost:
        cpu, upc = self.currency_per_usd, self.usd_per_currency
        if self.currency == "USD":
            for field, rate in (("currency_per_usd", cpu), ("usd_per_currency", upc)):
                if rate is not None and abs(rate - 1.0) > 1e-12:
                    raise ValueError(f"{field}={rate:g} but currency is 'USD'; expected 1 or leave it out")
        elif cpu is None and upc is None:
            raise ValueError(
                f"currency_per_usd: missing: currency {self.currency!r} needs an explicit exchange rate; "
                f"give currency_per_usd (units of {self.currency} per USD, e.g. 7.09 for CNY) "
                "or usd_per_currency"
            )
        elif cpu is not None and upc is not None and abs(cpu * upc - 1.0) > _FX_RECIPROCAL_RTOL:
            raise ValueError(
                f"currency_per_usd={cpu:g} and usd_per_currency={upc:g} are not reciprocals "
                f"(product {cpu * upc:.4g}); expected one of them, or both with product 1"
            )
        return self

    @property
    def usd_per_unit(self) -> float:
        """US dollars per unit of `currency` (1.0 for USD)."""
        if self.currency == "USD":
            return 1.0
        if self.currency_per_usd is not None:
            return 1.0 / self.currency_per_usd
        return float(self.usd_per_currency)  # type: ignore[arg-type]

    def to_usd(self, amount: float) -> float:
        """`amount` in `currency` converted to USD."""
        return amount * self.usd_per_unit

    @property
    def purchase_price_usd(self) -> float:
        return self.to_usd(self.purchase_price)


class RentalCost(FrozenSpec):
    """Renting GPUs at a flat price per GPU-hour, in USD (cloud, on demand: paid only for hours rented).

    >>> RentalCost(price_usd_per_hour=2.82).price_usd_per_hour
    2.82
    """

    kind: Literal["rental"] = "rental"
    name: str = "cloud"
    price_usd_per_hour: float = Field(gt=0, allow_inf_nan=False, description="Price per GPU-hour, USD.")
    n_gpus: int = Field(default=1, ge=1, le=10_000_000, description="GPUs in the deployment.")
    sources: dict[str, str] = Field(default_factory=dict, description="Where each number comes from.")

    @field_validator("price_usd_per_hour")
    @classmethod
    def _price_floor(cls, v: float) -> float:
        if v < MIN_PRICE_USD_PER_HOUR:
            raise ValueError(
                f"expected at least {MIN_PRICE_USD_PER_HOUR:g} USD per GPU-hour "
                "(a smaller price is a unit slip or an underflow, not a price)"
            )
        return v


# Components in display order, with the label each gets in tables.
_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("depreciation", "depreciation"),
    ("power", "power"),
    ("maintenance", "maintenance"),
    ("cost_of_capital", "cost of capital"),
    ("host_and_network", "host and network"),
    ("rent", "rent"),
)


@dataclass(frozen=True)
class HourlyCostBreakdown:
    """Cost of one utilized GPU-hour by component, in USD per GPU-hour; totals for `n_gpus` GPUs.

    >>> b = hourly_cost(zhuang2025_a800(n_gpus=2))
    >>> round(b.depreciation_usd_per_hour, 3), round(b.total_usd_per_hour, 2)
    (0.644, 1.57)
    """

    depreciation_usd_per_hour: float = 0.0
    power_usd_per_hour: float = 0.0
    maintenance_usd_per_hour: float = 0.0
    cost_of_capital_usd_per_hour: float = 0.0
    host_and_network_usd_per_hour: float = 0.0
    rent_usd_per_hour: float = 0.0
    n_gpus: int = 1
    utilization: float | None = None  # None for rental: renters pay per rented hour
    name: str = "custom"
    kind: str = "ownership"

    @property
    def per_gpu_usd_per_hour(self) -> float:
        """Sum of the components: cost of one utilized GPU-hour, USD."""
        return sum(getattr(self, f"{key}_usd_per_hour") for key, _ in _COMPONENTS)

    @property
    def total_usd_per_hour(self) -> float:
        """Cost of one utilized hour of all `n_gpus` GPUs, USD."""
        return self.per_gpu_usd_per_hour * self.n_gpus

    def components(self) -> dict[str, float]:
        """Component name -> USD per GPU-hour, for the components that apply (the paper's three always for
        ownership; extras only when non-zero)."""
        out: dict[str, float] = {}
        for key, _ in _COMPONENTS:
            value = getattr(self, f"{key}_usd_per_hour")
            always = (
                (key == "rent") if self.kind == "rental" else key in ("depreciation", "power", "maintenance")
            )
            if always or value != 0.0:
                out[key] = value
        return out

    def shares(self) -> dict[str, float]:
        """Component name -> fraction of the per-GPU total (sums to 1)."""
        total = self.per_gpu_usd_per_hour
        return {k: (v / total if total > 0 else 0.0) for k, v in self.components().items()}

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per component plus a 'total' row: usd_per_gpu_hour, usd_per_hour_all_gpus, share."""
        shares = self.shares()
        rows = [
            {
                "component": key,
                "usd_per_gpu_hour": value,
                "usd_per_hour_all_gpus": value * self.n_gpus,
                "share": shares[key],
            }
            for key, value in self.components().items()
        ]
        rows.append(
            {
                "component": "total",
                "usd_per_gpu_hour": self.per_gpu_usd_per_hour,
                "usd_per_hour_all_gpus": self.total_usd_per_hour,
                "share": 1.0,
            }
        )
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: components, shares and totals."""
        return {
            "name": self.name,
            "kind": self.kind,
            "n_gpus": self.n_gpus,
            "utilization": self.utilization,
            "components_usd_per_gpu_hour": self.components(),
            "shares": self.shares(),
            "per_gpu_usd_per_hour": self.per_gpu_usd_per_hour,
            "total_usd_per_hour": self.total_usd_per_hour,
        }

    def __str__(self) -> str:
        labels = dict(_COMPONENTS)
        u = "" if self.utilization is None else f", u = {self.utilization:g}"
        all_col = f"all {self.n_gpus} GPUs"
        lines = [
            f"Hourly cost of {self.name}: {self.kind}{u}; USD per utilized hour",
            f"{'component':<18}{'per GPU':>10}{all_col:>16}{'share':>8}",
        ]
        for rec in self.to_records():
            label = labels.get(rec["component"], rec["component"])
            lines.append(
                f"{label:<18}{rec['usd_per_gpu_hour']:>10.4f}{rec['usd_per_hour_all_gpus']:>16.4f}"
                f"{rec['share']:>8.1%}"
            )
        return "\n".join(lines)


def hourly_cost(spec: OwnershipCost | RentalCost) -> HourlyCostBreakdown:
    """Decompose the cost of one utilized GPU-hour of `spec` into components, in USD.

    Ownership: depreciation P/(Y·8760·u), power kW·PUE·E, maintenance P·m/8760 (Zhuang et al. 2025), plus
    cost of capital P·r/(8760·u) and host/network share h/u, all converted with the spec's exchange rate.
    Rental: one 'rent' component equal to the flat price.

    >>> round(hourly_cost(RentalCost(price_usd_per_hour=2.82)).per_gpu_usd_per_hour, 2)
    2.82
    """
    if isinstance(spec, RentalCost):
        return HourlyCostBreakdown(
            rent_usd_per_hour=spec.price_usd_per_hour, n_gpus=spec.n_gpus, name=spec.name, kind="rental"
        )
    if not isinstance(spec, OwnershipCost):
        raise SpecError(f"hourly_cost: spec = {type(spec).__name__}; expected an OwnershipCost or RentalCost")
    s, u = spec, spec.utilization
    out = HourlyCostBreakdown(
        depreciation_usd_per_hour=s.to_usd(s.purchase_price / (s.depreciation_years * HOURS_PER_YEAR * u)),
        power_usd_per_hour=s.to_usd(s.power_kw * s.pue * s.electricity_price_per_kwh),
        maintenance_usd_per_hour=s.to_usd(s.purchase_price * s.maintenance_rate_per_year / HOURS_PER_YEAR),
        # Interest and the host share accrue on calendar time, like depreciation, so spread over utilized
        # hours.
        cost_of_capital_usd_per_hour=s.to_usd(
            s.purchase_price * s.cost_of_capital_rate_per_year / (HOURS_PER_YEAR * u)
        ),
        host_and_network_usd_per_hour=s.to_usd(s.host_and_network_share_per_hour / u),
        n_gpus=s.n_gpus,
        utilization=u,
        name=s.name,
        kind="ownership",
    )
    _check_finite_components(out, s)
    return out


# Which inputs set each ownership component (named in the error when a component overflows).
_COMPONENT_INPUTS = {
    "depreciation": "purchase_price / (depreciation_years · 8760 · utilization)",
    "power": "power_kw · pue · electricity_price_per_kwh",
    "maintenance": "purchase_price · maintenance_rate_per_year / 8760",
    "cost_of_capital": "purchase_price · cost_of_capital_rate_per_year / (8760 · utilization)",
    "host_and_network": "host_and_network_share_per_hour / utilization",
}


def _check_finite_components(b: HourlyCostBreakdown, s: OwnershipCost) -> None:
    """Every component a finite number: extreme inputs (depreciation_years=1e-320, utilization=1e-310, ...)
    pass their own `> 0` checks but overflow the quotients; name the inputs instead of returning inf."""
    for key, formula in _COMPONENT_INPUTS.items():
        value = getattr(b, f"{key}_usd_per_hour")
        total = value * b.n_gpus
        if not (math.isfinite(value) and math.isfinite(total)):
            inputs = {
                f: getattr(s, f)
                for f in (
                    "purchase_price",
                    "depreciation_years",
                    "utilization",
                    "power_kw",
                    "pue",
                    "electricity_price_per_kwh",
                    "maintenance_rate_per_year",
                    "cost_of_capital_rate_per_year",
                    "host_and_network_share_per_hour",
                )
                if f in formula
            }
            shown = ", ".join(f"{k}={v!r}" for k, v in inputs.items())
            raise SpecError(
                f"hourly_cost: {key} = {formula} is not a finite number of USD per GPU-hour with {shown}; "
                "expected realistic inputs (depreciation_years and utilization far from 0)"
            )


def price_usd_per_hour(
    cost: OwnershipCost | RentalCost | HourlyCostBreakdown | Mapping[str, Any] | float | os.PathLike,
) -> float:
    """Price of one GPU-hour in USD, from an ownership decomposition, a rental, a breakdown or a plain number.

    This is the per-accelerator `price_usd_per_hour` a frontier takes (not the total for n_gpus). Accepted:
    `OwnershipCost`, `RentalCost`, `HourlyCostBreakdown`; a real number (Python, numpy scalar, 0-d array);
    a mapping of a cost spec (`cost_from_mapping`, e.g. a YAML block with `kind: ownership`); a path
    (`pathlib.Path`) to a cost YAML file (`load_cost`). Strings and booleans are rejected (a string is
    ambiguous between a number and a path: convert it, or pass `Path(...)`).

    >>> (round(price_usd_per_hour(zhuang2025_a800()), 3),
    ...  price_usd_per_hour(RentalCost(price_usd_per_hour=2.0)))
    (0.787, 2.0)
    """
    expected = (
        "expected OwnershipCost, RentalCost, HourlyCostBreakdown, a cost mapping, a Path to a cost YAML "
        "file, or a number of USD per GPU-hour"
    )
    if isinstance(cost, HourlyCostBreakdown):
        value = cost.per_gpu_usd_per_hour
    elif isinstance(cost, (OwnershipCost, RentalCost)):
        value = hourly_cost(cost).per_gpu_usd_per_hour
    elif isinstance(cost, Mapping):
        value = hourly_cost(cost_from_mapping(cost, where="price_usd_per_hour")).per_gpu_usd_per_hour
    elif isinstance(cost, os.PathLike):
        value = hourly_cost(load_cost(cost)).per_gpu_usd_per_hour
    elif isinstance(cost, (bool, np.bool_, str, bytes)) or cost is None:
        raise SpecError(f"price_usd_per_hour: cost = {cost!r}; {expected}")
    elif isinstance(cost, numbers.Real):
        value = float(cost)
    elif getattr(cost, "shape", None) == () and getattr(getattr(cost, "dtype", None), "kind", "") in "fiu":
        value = float(cost)  # a 0-d numpy or JAX array
    else:
        raise SpecError(f"price_usd_per_hour: cost = {type(cost).__name__}; {expected}")
    if not (math.isfinite(value) and value > 0):
        raise SpecError(f"price_usd_per_hour: cost = {value!r}; expected a positive finite USD per GPU-hour")
    if value < MIN_PRICE_USD_PER_HOUR:
        raise SpecError(
            f"price_usd_per_hour: cost = {value!r}; expected at least {MIN_PRICE_USD_PER_HOUR:g} USD "
            "per GPU-hour (a smaller price is a unit slip or an underflow, not a price)"
        )
    return value


def reprice_frontier(frontier, cost) -> Any:
    """The same `Frontier` at another price per GPU-hour (a number or any cost `price_usd_per_hour` accepts).

    Exact, not an approximation: the price multiplies every configuration's cost alike, so the Pareto set, the
    preferred point and every speed are unchanged; every $ column (output, input, blended) scales alike.
    `meta` records the new price (and the breakdown when a decomposition is given).

    >>> from infereco import pareto_frontier
    >>> f0 = pareto_frontier("llama-3-8b", "a800-80g", space={"max_gpus_per_instance": 8})
    >>> f = reprice_frontier(f0, zhuang2025_a800())   # CNY ownership cost -> USD per GPU-hour
    >>> round(f.price_usd_per_hour, 3), len(f) == len(f0)
    (0.787, True)
    """
    if not hasattr(frontier, "with_price") or not hasattr(frontier, "with_meta"):
        raise SpecError(f"reprice_frontier: frontier = {type(frontier).__name__}; expected a Frontier")
    price = price_usd_per_hour(cost)
    if frontier.price_usd_per_hour is None:  # an empty frontier: nothing to re-price, record the price
        return frontier.with_meta(price_usd_per_hour=price)
    f = frontier.with_price(price)
    if isinstance(cost, (OwnershipCost, RentalCost, HourlyCostBreakdown)):
        f = f.with_meta(
            hourly_cost=(cost if isinstance(cost, HourlyCostBreakdown) else hourly_cost(cost)).to_dict()
        )
    return f


def _strip_sources(data: Mapping[str, Any]) -> dict[str, Any]:
    """Accept the catalog's `{key: {value: v, source: s}}` form; sources go to the `sources` field."""
    out: dict[str, Any] = {}
    given = data.get("sources") or {}
    if not isinstance(given, Mapping):
        raise SpecError(
            f"sources = {given!r}: expected a mapping of field name to where the number comes from"
        )
    sources: dict[str, str] = {str(k): str(v) for k, v in given.items()}
    for key, val in data.items():
        if key == "sources":
            continue
        if isinstance(val, Mapping) and "value" in val and set(val) <= {"value", "source", "note"}:
            out[key] = val["value"]
            if "source" in val:
                sources[str(key)] = str(val["source"]) + (f" ({val['note']})" if "note" in val else "")
        else:
            out[key] = val
    if sources:
        out["sources"] = sources
    return out


def cost_from_mapping(data: Mapping[str, Any], *, where: str | None = None) -> OwnershipCost | RentalCost:
    """Build an OwnershipCost (default) or RentalCost (`kind: rental`) from a mapping such as a YAML file."""
    fields = _strip_sources(data)
    kind = fields.get("kind", "ownership")
    if kind == "rental":
        return RentalCost.validated(fields, where=where)
    if kind == "ownership":
        return OwnershipCost.validated(fields, where=where)
    prefix = f"{where}: " if where else ""
    raise SpecError(f"{prefix}kind = {kind!r}: expected 'ownership' or 'rental'")


def load_cost(path) -> OwnershipCost | RentalCost:
    """Read a cost YAML file (see examples/a800_zhuang2025.yaml)."""
    return cost_from_mapping(load_yaml_mapping(path), where=str(path))


def zhuang2025_a800(**changes: Any) -> OwnershipCost:
    """The paper's self-hosted A800 80G (Zhuang et al. 2025, App. A, via a secondary reproduction), u = 1.

    >>> zhuang2025_a800(n_gpus=2).n_gpus
    2
    """
    base = {
        "name": "A800 80G (Zhuang et al. 2025)",
        "purchase_price": 120_000.0,
        "currency": "CNY",
        "currency_per_usd": 7.09,
        "depreciation_years": 3.0,
        "utilization": 1.0,
        "power_kw": 0.4,
        "pue": 1.5,
        "electricity_price_per_kwh": 1.0,
        "maintenance_rate_per_year": 0.03,
        "n_gpus": 1,
    }
    base.update(changes)
    return OwnershipCost.validated(base)
