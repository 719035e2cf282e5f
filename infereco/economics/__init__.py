"""Economics (Zhuang et al. 2025): hourly GPU cost, self-host vs cloud, workload cost, production frontier,
and the sensitivity and uncertainty of a deployment's cost (elasticities by jax AD, Monte Carlo by jax.vmap).

>>> from infereco.economics import hourly_cost, zhuang2025_a800
>>> round(hourly_cost(zhuang2025_a800()).per_gpu_usd_per_hour, 3)
0.787
"""

from infereco.economics.hourly_cost import (
    HOURS_PER_YEAR,
    HourlyCostBreakdown,
    OwnershipCost,
    RentalCost,
    cost_from_mapping,
    hourly_cost,
    load_cost,
    price_usd_per_hour,
    reprice_frontier,
    zhuang2025_a800,
)
from infereco.economics.modelled_runs import modelled_runs
from infereco.economics.ownership import (
    CapexOpexCurves,
    breakeven_utilization,
    calendar_and_running_usd_per_hour,
    capex_vs_opex,
)
from infereco.economics.production_frontier import (
    CostEffectivenessZone,
    DominatedEntry,
    FrontierEntry,
    ProductionFrontier,
    cost_effectiveness_zone,
    dominates,
    production_frontier,
    zhuang2025_wingpt_entries,
)
from infereco.economics.sensitivity import (
    Elasticities,
    SensitivityRanges,
    cost_elasticities,
    sensitivity_ranges,
)
from infereco.economics.uncertainty import CostUncertainty, Interval, cost_uncertainty
from infereco.economics.workload_cost import (
    MeasuredRun,
    SlaCheck,
    SlaChoice,
    WorkloadCostRow,
    WorkloadCostTable,
    sla_optimal_concurrency,
    workload_cost,
)

__all__ = [
    "modelled_runs",
    "HOURS_PER_YEAR",
    "CapexOpexCurves",
    "CostEffectivenessZone",
    "CostUncertainty",
    "DominatedEntry",
    "Elasticities",
    "FrontierEntry",
    "HourlyCostBreakdown",
    "Interval",
    "MeasuredRun",
    "OwnershipCost",
    "ProductionFrontier",
    "RentalCost",
    "SensitivityRanges",
    "SlaCheck",
    "SlaChoice",
    "WorkloadCostRow",
    "WorkloadCostTable",
    "breakeven_utilization",
    "calendar_and_running_usd_per_hour",
    "capex_vs_opex",
    "cost_effectiveness_zone",
    "cost_elasticities",
    "cost_from_mapping",
    "cost_uncertainty",
    "dominates",
    "hourly_cost",
    "load_cost",
    "price_usd_per_hour",
    "production_frontier",
    "reprice_frontier",
    "sensitivity_ranges",
    "sla_optimal_concurrency",
    "workload_cost",
    "zhuang2025_a800",
    "zhuang2025_wingpt_entries",
]
