"""Self-host vs cloud: the break-even utilization, and CapEx vs OpEx cumulative cost over a horizon.

Per wall-clock (calendar) hour vs per utilized hour, the convention of `hourly_cost`:

- calendar costs run whether or not the GPU works: depreciation P/(Y·8760), cost of capital P·r/8760 and the
  host/network share, in USD per calendar hour; call their sum F;
- running costs are paid per utilized hour: power kW·PUE·E and maintenance P·m/8760 (as the paper writes
  them); call their sum R;
- owning therefore costs F/u + R per *utilized* GPU-hour at utilization u;
- the cloud is rented on demand, only for the hours used, so it costs its rate c per utilized GPU-hour.

Owning beats renting when F/u + R < c, i.e. above the break-even utilization u* = F / (c − R).

>>> from infereco.economics.hourly_cost import zhuang2025_a800
>>> round(breakeven_utilization(zhuang2025_a800(), 20 / 7.09), 4)   # ¥20/h cloud card
0.2405
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from infereco.economics.hourly_cost import HOURS_PER_YEAR, OwnershipCost, hourly_cost
from infereco.errors import SpecError
from infereco.specs.hardware import MIN_PRICE_USD_PER_HOUR


def _check_rate(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{name} = {value!r}: expected a positive number of USD per GPU-hour") from None
    if isinstance(value, (bool, str, bytes)):
        raise SpecError(
            f"{name} = {value!r}: expected a positive number of USD per GPU-hour, got {type(value).__name__}"
        )
    if not (math.isfinite(v) and v > 0):
        raise SpecError(f"{name} = {value!r}: expected a positive finite number of USD per GPU-hour")
    if v < MIN_PRICE_USD_PER_HOUR:
        raise SpecError(
            f"{name} = {value!r}: expected at least {MIN_PRICE_USD_PER_HOUR:g} USD per GPU-hour "
            "(a smaller price is a unit slip or an underflow, not a price)"
        )
    return v


def _check_ownership(spec: object, where: str) -> OwnershipCost:
    if not isinstance(spec, OwnershipCost):
        raise SpecError(f"{where}: ownership_spec = {type(spec).__name__}; expected an OwnershipCost")
    return spec


def calendar_and_running_usd_per_hour(spec: OwnershipCost) -> tuple[float, float]:
    """(F, R) per GPU in USD: F the calendar costs per calendar hour, R the running costs per utilized hour.

    >>> from infereco.economics.hourly_cost import zhuang2025_a800
    >>> [round(x, 4) for x in calendar_and_running_usd_per_hour(zhuang2025_a800())]
    [0.644, 0.1426]
    """
    spec = _check_ownership(spec, "calendar_and_running_usd_per_hour")
    at_full_use = hourly_cost(spec.replace(utilization=1.0))
    calendar = (
        at_full_use.depreciation_usd_per_hour
        + at_full_use.cost_of_capital_usd_per_hour
        + at_full_use.host_and_network_usd_per_hour
    )
    running = at_full_use.power_usd_per_hour + at_full_use.maintenance_usd_per_hour
    return calendar, running


def breakeven_utilization(ownership_spec: OwnershipCost, cloud_usd_per_hour: float) -> float:
    """Utilization u* at which owning costs the cloud rate per utilized GPU-hour: u* = F / (c − R).

    `cloud_usd_per_hour` is per GPU-hour, paid only for hours used. The spec's own `utilization` is ignored
    (it is what is solved for). Above u* owning is cheaper. A result above 1 means owning never wins even at
    full use; `math.inf` (an answer, not an error) means the cloud rate does not even cover the running costs
    R, so no utilization breaks even. Inputs whose quotient overflows (a margin c − R of 1e-320) raise
    `SpecError` naming them rather than return a meaningless inf.
    Consistency: for u* ≤ 1, hourly_cost(spec with utilization=u*).per_gpu_usd_per_hour == cloud_usd_per_hour.

    >>> from infereco.economics.hourly_cost import zhuang2025_a800
    >>> round(breakeven_utilization(zhuang2025_a800(), 40 / 7.09), 4)   # ¥40/h cloud card
    0.1171
    """
    spec = _check_ownership(ownership_spec, "breakeven_utilization")
    cloud = _check_rate("cloud_usd_per_hour", cloud_usd_per_hour)
    calendar, running = calendar_and_running_usd_per_hour(spec)
    margin = cloud - running
    if margin <= 0:
        return math.inf
    u_star = calendar / margin
    if not math.isfinite(u_star):
        raise SpecError(
            f"breakeven_utilization: calendar costs {calendar!r} / (cloud_usd_per_hour {cloud!r} − "
            f"running costs {running!r}) overflows; expected a cloud_usd_per_hour clearly above or "
            "below the running costs"
        )
    return u_star


@dataclass(frozen=True)
class CapexOpexCurves:
    """Cumulative cost of owning vs renting the same utilized hours, for all GPUs, in USD over time in years.

    Owning: purchase price (CapEx) paid at t = 0 and, with replacement, again as each depreciation period
    ends; OpEx (running costs per utilized hour × u, plus cost of capital and host share per calendar hour)
    accrues linearly. Cloud: rate × utilized hours. `crossover_years` is the first time owning's cumulative
    cost falls to the cloud's (math.inf if it never does, e.g. not within one depreciation period when
    replacing).
    """

    time_years: np.ndarray
    owning_cumulative_usd: np.ndarray
    cloud_cumulative_usd: np.ndarray
    crossover_years: float
    capex_usd: float  # one purchase of all GPUs
    owning_opex_usd_per_year: float
    cloud_usd_per_year: float
    utilization: float
    cloud_usd_per_hour: float
    n_gpus: int
    depreciation_years: float
    replace_at_end_of_life: bool
    name: str = "custom"

    @property
    def horizon_years(self) -> float:
        return float(self.time_years[-1])

    @property
    def savings_at_horizon_usd(self) -> float:
        """Cloud minus owning cumulative cost at the horizon (positive: owning was cheaper)."""
        return float(self.cloud_cumulative_usd[-1] - self.owning_cumulative_usd[-1])

    def owning_cumulative_usd_at(self, t_years: float | np.ndarray) -> np.ndarray:
        """Owning's cumulative cost at any time(s), USD. With replacement, the GPUs for life k (k·Y, (k+1)·Y]
        count once t passes k·Y, so a horizon that ends exactly at end of life buys nothing more."""
        t = np.asarray(t_years, dtype=float)
        if self.replace_at_end_of_life:
            purchases = np.maximum(1.0, np.ceil(t / self.depreciation_years - 1e-12))
        else:
            purchases = np.ones_like(t)
        return purchases * self.capex_usd + self.owning_opex_usd_per_year * t

    def cloud_cumulative_usd_at(self, t_years: float | np.ndarray) -> np.ndarray:
        return self.cloud_usd_per_year * np.asarray(t_years, dtype=float)


def capex_vs_opex(
    ownership_spec: OwnershipCost,
    cloud_usd_per_hour: float,
    horizon_years: float,
    utilization: float | None = None,
    *,
    n_points: int = 241,
    replace_at_end_of_life: bool = True,
) -> CapexOpexCurves:
    """Cumulative USD of owning `ownership_spec.n_gpus` GPUs vs renting them at `cloud_usd_per_hour` each.

    `utilization` (default: the spec's) is the fraction of calendar hours the GPUs work; the cloud is rented
    for those hours only. With `replace_at_end_of_life`, the GPUs are bought again every `depreciation_years`.

    >>> from infereco.economics.hourly_cost import zhuang2025_a800
    >>> round(capex_vs_opex(zhuang2025_a800(), 20 / 7.09, 3.0, 0.5).crossover_years, 3)
    1.443
    """
    spec = _check_ownership(ownership_spec, "capex_vs_opex")
    cloud = _check_rate("cloud_usd_per_hour", cloud_usd_per_hour)
    try:
        horizon = float(horizon_years)
    except (TypeError, ValueError):
        horizon = float("nan")
    if not (math.isfinite(horizon) and horizon > 0):
        raise SpecError(f"horizon_years = {horizon_years!r}: expected a positive finite number of years")
    u = spec.utilization if utilization is None else utilization
    try:
        u = float(u)
    except (TypeError, ValueError):
        u = float("nan")
    if not (0 < u <= 1):
        raise SpecError(f"utilization = {utilization!r}: expected a fraction of calendar hours, 0 < u ≤ 1")
    if int(n_points) < 2:
        raise SpecError(f"n_points = {n_points!r}: expected at least 2")

    n = spec.n_gpus
    at_full_use = hourly_cost(spec.replace(utilization=1.0))
    capex = spec.purchase_price_usd * n
    calendar_opex = at_full_use.cost_of_capital_usd_per_hour + at_full_use.host_and_network_usd_per_hour
    running = at_full_use.power_usd_per_hour + at_full_use.maintenance_usd_per_hour
    owning_opex_per_year = HOURS_PER_YEAR * n * (u * running + calendar_opex)
    cloud_per_year = HOURS_PER_YEAR * n * u * cloud

    # owning(t) = k·capex + a·t, cloud(t) = b·t: in the first life they meet at capex/(b − a); a later life
    # starts k times as far behind with the same slopes, so if the first life misses, every later one does.
    gap = cloud_per_year - owning_opex_per_year
    crossover = capex / gap if gap > 0 else math.inf
    if replace_at_end_of_life and crossover > spec.depreciation_years:
        crossover = math.inf

    grid = np.linspace(0.0, horizon, int(n_points))
    if replace_at_end_of_life:
        # Put the end-of-life instants on the grid so plots show the steps where they happen.
        k = np.arange(1, int(np.ceil(horizon / spec.depreciation_years)))
        grid = np.unique(np.concatenate([grid, k * spec.depreciation_years]))
    curves = CapexOpexCurves(
        time_years=grid,
        owning_cumulative_usd=np.zeros_like(grid),
        cloud_cumulative_usd=np.zeros_like(grid),
        crossover_years=float(crossover),
        capex_usd=capex,
        owning_opex_usd_per_year=owning_opex_per_year,
        cloud_usd_per_year=cloud_per_year,
        utilization=u,
        cloud_usd_per_hour=cloud,
        n_gpus=n,
        depreciation_years=spec.depreciation_years,
        replace_at_end_of_life=replace_at_end_of_life,
        name=spec.name,
    )
    # The dataclass is frozen; fill the curves from its own formulas so arrays and `_at` methods agree.
    object.__setattr__(curves, "owning_cumulative_usd", curves.owning_cumulative_usd_at(grid))
    object.__setattr__(curves, "cloud_cumulative_usd", curves.cloud_cumulative_usd_at(grid))
    return curves
