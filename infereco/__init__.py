"""infereco: analytical models of LLM inference speed and cost.

>>> from infereco import pareto_frontier
>>> f = pareto_frontier("llama-3-70b", "h100-sxm", context_length=1000)

The package is lazy (PEP 562): `import infereco` loads only this file and `infereco.errors`; each public name
below is imported from its submodule on first use, so the command line answers `--help` without importing
JAX. JAX runs in float64 everywhere in infereco: `infereco._jaxconfig` is applied before any infereco
submodule other than the JAX-free ones (`errors`, `cli`, `__main__`) is imported, whether through a name of
this package or directly (`from infereco.physics.latency import step_time`), and at once by `import infereco`
when JAX is already imported.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from infereco.errors import CatalogError, InfeasibleError, InferecoError, ScenarioError, SpecError

__version__ = "0.1.0"

# public name -> submodule that defines it, grouped as in __all__.
_LAZY: dict[str, str] = {
    # pipeline: frontiers, points, sweeps
    "pareto_frontier": "infereco.api",
    "evaluate_point": "infereco.api",
    "layouts": "infereco.api",
    "frontier_from_scenario": "infereco.api",
    "load_scenario": "infereco.specs.scenario",
    "sweep": "infereco.sweep",
    "plan": "infereco.planning",
    "PlanSpec": "infereco.specs.plan",
    "resolve": "infereco.specs.deployment",
    "Deployment": "infereco.specs.deployment",
    # results
    "Frontier": "infereco.frontier",
    "FrontierPoint": "infereco.frontier",
    "SweepResult": "infereco.sweep",
    # specs & catalog
    "ModelSpec": "infereco.specs.model",
    "HardwareSpec": "infereco.specs.hardware",
    "WorkloadSpec": "infereco.specs.workload",
    "SpeculativeSpec": "infereco.specs.speculative",
    "PRESETS": "infereco.specs.presets",
    "get_preset": "infereco.specs.presets",
    "list_models": "infereco.specs.catalog",
    "list_hardware": "infereco.specs.catalog",
    "load_model": "infereco.specs.catalog",
    "load_hardware": "infereco.specs.catalog",
    "load_hf_config": "infereco.specs.hf_config",
    # economics
    "OwnershipCost": "infereco.economics",
    "RentalCost": "infereco.economics",
    "hourly_cost": "infereco.economics",
    "price_usd_per_hour": "infereco.economics",
    "breakeven_utilization": "infereco.economics",
    "capex_vs_opex": "infereco.economics",
    "workload_cost": "infereco.economics",
    "sla_optimal_concurrency": "infereco.economics",
    "reprice_frontier": "infereco.economics",
    "production_frontier": "infereco.economics",
    "cost_effectiveness_zone": "infereco.economics",
    "Elasticities": "infereco.economics",
    "cost_elasticities": "infereco.economics",
    "sensitivity_ranges": "infereco.economics",
    "CostUncertainty": "infereco.economics",
    "cost_uncertainty": "infereco.economics",
    "MeasuredRun": "infereco.economics",
    "modelled_runs": "infereco.economics",
    # calibration
    "calibrate": "infereco.calibration.fit",
    "CalibrationResult": "infereco.calibration.result",
    "load_calibrated_hardware": "infereco.calibration.result",
    "EngineConfig": "infereco.physics.serving",
    "predict_serving": "infereco.calibration.deploy",
    "predict_runs": "infereco.calibration.runs",
    "calibrate_runs": "infereco.calibration.runs",
    # serving: tail latencies of one replica under Poisson arrivals
    "EngineModel": "infereco.serving",
    "engine_from_deployment": "infereco.serving",
    "simulate": "infereco.serving",
    "latency_quantiles": "infereco.serving",
}

__all__ = [
    # pipeline
    "pareto_frontier",
    "evaluate_point",
    "layouts",
    "frontier_from_scenario",
    "load_scenario",
    "sweep",
    "plan",
    "PlanSpec",
    "resolve",
    "Deployment",
    # results
    "Frontier",
    "FrontierPoint",
    "SweepResult",
    # specs & catalog
    "ModelSpec",
    "HardwareSpec",
    "WorkloadSpec",
    "SpeculativeSpec",
    "PRESETS",
    "get_preset",
    "list_models",
    "list_hardware",
    "load_model",
    "load_hardware",
    "load_hf_config",
    # economics
    "OwnershipCost",
    "RentalCost",
    "hourly_cost",
    "price_usd_per_hour",
    "breakeven_utilization",
    "capex_vs_opex",
    "workload_cost",
    "sla_optimal_concurrency",
    "reprice_frontier",
    "production_frontier",
    "cost_effectiveness_zone",
    "Elasticities",
    "cost_elasticities",
    "sensitivity_ranges",
    "CostUncertainty",
    "cost_uncertainty",
    "MeasuredRun",
    "modelled_runs",
    # calibration
    "calibrate",
    "CalibrationResult",
    "load_calibrated_hardware",
    "EngineConfig",
    "predict_serving",
    "predict_runs",
    "calibrate_runs",
    # serving: tail latencies
    "EngineModel",
    "engine_from_deployment",
    "simulate",
    "latency_quantiles",
    # errors
    "InferecoError",
    "SpecError",
    "ScenarioError",
    "CatalogError",
    "InfeasibleError",
]

# Submodules that import no JAX (and may load before float64 is set).
_JAX_FREE = (
    "infereco.errors",
    "infereco._jaxconfig",
    "infereco.cli",
    "infereco.__main__",
    "infereco.units",
    "infereco.specs",
)  # the specs use no JAX


def _needs_x64(fullname: str) -> bool:
    return fullname.startswith("infereco.") and not any(
        fullname == m or fullname.startswith(m + ".") for m in _JAX_FREE
    )


class _X64BeforeSubmodules:
    """Meta-path hook: applies `infereco._jaxconfig` (float64) before the first JAX-using infereco submodule
    is imported. It finds nothing itself (returns None), so the normal finders load the module."""

    done = False

    def find_spec(self, fullname, path=None, target=None):
        if not self.done and _needs_x64(fullname):
            self.done = True
            importlib.import_module("infereco._jaxconfig")
        return None


if not any(type(f).__name__ == _X64BeforeSubmodules.__name__ for f in sys.meta_path):  # once, even on reload
    sys.meta_path.insert(0, _X64BeforeSubmodules())
if "jax" in sys.modules:  # JAX is loaded already: float64 now costs nothing (as before the package was lazy)
    importlib.import_module("infereco._jaxconfig")


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'infereco' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """`infereco.sweep` is the function, although `infereco/sweep.py` is also a submodule: importing the
    submodule (which binds it on the package) must not replace the public name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _LAZY and value.__name__ == f"{__name__}.{name}":
            return  # the submodule stays reachable in sys.modules["infereco.sweep"]
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names above load lazily
    from infereco.api import evaluate_point, frontier_from_scenario, layouts, pareto_frontier
    from infereco.calibration.deploy import predict_serving
    from infereco.calibration.fit import calibrate
    from infereco.calibration.result import CalibrationResult, load_calibrated_hardware
    from infereco.calibration.runs import calibrate_runs, predict_runs
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
    from infereco.frontier import Frontier, FrontierPoint
    from infereco.planning import plan
    from infereco.specs.catalog import list_hardware, list_models, load_hardware, load_model
    from infereco.specs.deployment import Deployment, resolve
    from infereco.specs.hardware import HardwareSpec
    from infereco.specs.hf_config import load_hf_config
    from infereco.specs.model import ModelSpec
    from infereco.specs.plan import PlanSpec
    from infereco.specs.presets import PRESETS, get_preset
    from infereco.specs.scenario import load_scenario
    from infereco.specs.speculative import SpeculativeSpec
    from infereco.specs.workload import WorkloadSpec
    from infereco.sweep import SweepResult, sweep
