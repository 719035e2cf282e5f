"""infereco: analytical models of LLM inference speed and cost.

>>> from infereco import pareto_frontier
>>> f = pareto_frontier("llama-3-70b", "h100-sxm", context_length=1000)
"""

from infereco import _jaxconfig  # noqa: F401  (float64 before anything is traced)
from infereco.api import evaluate_point, frontier_from_scenario, layouts, pareto_frontier
from infereco.calibration.deploy import predict_serving
from infereco.calibration.fit import calibrate
from infereco.calibration.result import CalibrationResult, load_calibrated_hardware
from infereco.physics.serving import EngineConfig
from infereco.economics import (
    CostUncertainty,
    Elasticities,
    MeasuredRun,
    OwnershipCost,
    RentalCost,
    breakeven_utilization,
    capex_vs_opex,
    cost_effectiveness_zone,
    cost_elasticities,
    cost_uncertainty,
    hourly_cost,
    modelled_runs,
    price_usd_per_hour,
    production_frontier,
    reprice_frontier,
    sensitivity_ranges,
    sla_optimal_concurrency,
    workload_cost,
)
from infereco.errors import CatalogError, InfeasibleError, InferecoError, ScenarioError, SpecError
from infereco.frontier import Frontier, FrontierPoint
from infereco.specs.catalog import list_hardware, list_models, load_hardware, load_model
from infereco.specs.hardware import HardwareSpec
from infereco.specs.hf_config import load_hf_config
from infereco.specs.model import ModelSpec
from infereco.specs.presets import PRESETS, get_preset
from infereco.specs.scenario import load_scenario
from infereco.specs.speculative import SpeculativeSpec
from infereco.specs.workload import WorkloadSpec
from infereco.sweep import SweepResult, sweep

__version__ = "0.1.0"

__all__ = [
    "CalibrationResult", "CatalogError", "CostUncertainty", "EngineConfig", "Elasticities", "Frontier", "FrontierPoint", "HardwareSpec", "InfeasibleError", "InferecoError", "MeasuredRun",
    "ModelSpec", "OwnershipCost", "PRESETS", "RentalCost", "ScenarioError", "SpecError", "SpeculativeSpec",
    "WorkloadSpec", "breakeven_utilization", "calibrate", "capex_vs_opex", "cost_effectiveness_zone", "cost_elasticities", "cost_uncertainty", "evaluate_point",
    "frontier_from_scenario", "get_preset", "hourly_cost", "layouts", "list_hardware", "list_models", "load_hardware",
    "load_calibrated_hardware", "load_hf_config", "load_model", "load_scenario", "modelled_runs", "pareto_frontier", "predict_serving", "price_usd_per_hour", "production_frontier",
    "reprice_frontier", "sensitivity_ranges", "sla_optimal_concurrency", "SweepResult", "sweep", "workload_cost",
]
