"""Fleet-schema runs from Python: `predict_runs` and `calibrate_runs` (what `infereco predict` and `infereco
calibrate RUNS.csv` do), on a CSV path, `FleetRuns`, or an in-memory table (records or a DataFrame).

>>> table = [{"id": "a", "model_path": "meta-llama/Llama-3.1-8B-Instruct", "system": "h100_sxm",
...           "backend": "vllm", "mode": "agg", "precision": "bf16", "tp_size": 1, "batch_size": 4,
...           "isl": 1024, "osl": 1024, "silicon_ttft_ms": 40.0, "silicon_tpot_ms": 7.0}]
>>> pred = predict_runs(table, uncalibrated=True)
>>> pred.records()[0]["status"]
'ok'
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

from infereco.calibration.fleet import FleetModel, FleetPrediction, predict_fleet
from infereco.calibration.profiles import FleetProfiles, calibrate_fleet, default_profiles_path, load_profiles
from infereco.calibration.readers.fleet import FleetRuns, load_fleet_runs, read_fleet_runs
from infereco.errors import SpecError

__all__ = ["as_fleet_runs", "calibrate_runs", "predict_runs"]


def as_fleet_runs(runs: Any, *, on_error: str = "raise") -> FleetRuns:
    """`FleetRuns` from a fleet-schema CSV path, `FleetRuns`, a list of row mappings or a pandas DataFrame."""
    if isinstance(runs, FleetRuns):
        return runs
    if isinstance(runs, (str, os.PathLike)):
        return load_fleet_runs(runs, on_error=on_error)
    if hasattr(runs, "to_dict") and hasattr(runs, "columns"):  # a DataFrame, without importing pandas
        runs = runs.to_dict(orient="records")
    if isinstance(runs, Sequence) and runs and all(isinstance(r, Mapping) for r in runs):
        header: list[str] = []
        for r in runs:
            header.extend(k for k in r if k not in header)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=header)
        writer.writeheader()
        for r in runs:
            writer.writerow({k: "" if v is None else v for k, v in r.items()})
        buf.seek(0)
        return read_fleet_runs(buf, where="<table>", on_error=on_error)
    raise SpecError(
        f"runs = {type(runs).__name__}: expected a fleet-schema CSV path, FleetRuns, a list of row mappings "
        "or a DataFrame"
    )


def predict_runs(
    runs: Any,
    *,
    profiles: FleetProfiles | str | os.PathLike | None = None,
    uncalibrated: bool = False,
    configs: Sequence[str | os.PathLike] = (),
) -> FleetPrediction:
    """Predicted TTFT and TPOT (with 90% intervals and a status per row) of fleet-schema runs.

    `profiles`: fitted engine profiles (a `FleetProfiles` or its YAML path); default the profiles shipped with
    the package when there are any, else nominal theory; `uncalibrated=True` forces nominal theory.
    `configs`: folders of `ORG--MODEL_config.json` files to find models the catalog lacks.
    """
    if uncalibrated and profiles is not None:
        raise SpecError("predict_runs: give profiles=... or uncalibrated=True, not both")
    if isinstance(profiles, (str, os.PathLike)):
        profiles = load_profiles(profiles)
    elif profiles is None and not uncalibrated and default_profiles_path().is_file():
        profiles = load_profiles()
    return predict_fleet(FleetModel(as_fleet_runs(runs), tuple(configs)), profiles=profiles)


def calibrate_runs(
    runs: Any, *, configs: Sequence[str | os.PathLike] = (), fit: Sequence[str] | None = None
) -> FleetProfiles:
    """Engine profiles (backend × GPU generation, with pooled fallbacks) fitted to fleet-schema runs."""
    return calibrate_fleet(
        FleetModel(as_fleet_runs(runs), tuple(configs)), fit=None if fit is None else list(fit)
    )
