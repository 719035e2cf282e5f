"""Readers of measured serving runs: one module per input format, one run record (`Measurement`) for all.

- `vllm`: the JSON result files of `vllm bench serve --save-result` and the older `benchmark_serving.py`;
- `measurements_csv`: the project's own plain CSV of the same quantities (columns = `Measurement` fields);
- `public`: the long-format public measurements table, pivoted on demand into `Measurement` records;
- `fleet`: the fleet serving-run schema (AIConfigurator's silicon sample: agg / disagg rows with each pool's
  layout), read into `FleetRun` rows (`load_fleet_runs`);
- `record`: the run record `Measurement`, its `MeasurementTable`, and `serving_runs` (records →
  `ServingRuns`).

`load_measurements(paths)` picks the reader by file suffix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from infereco.calibration.readers.fleet import FleetRun, FleetRuns, Pool, is_fleet_csv, load_fleet_runs
from infereco.calibration.readers.measurements_csv import CSV_COLUMNS, load_measurements_csv
from infereco.calibration.readers.public import (
    PUBLIC_MEASUREMENTS_ENV,
    PublicMeasurement,
    PublicMeasurements,
    load_public_measurements,
)
from infereco.calibration.readers.record import (
    BURST_ITL_RATIO,
    Measurement,
    MeasurementTable,
    Scenario,
    serving_runs,
)
from infereco.calibration.readers.vllm import load_vllm_results
from infereco.errors import SpecError

__all__ = [
    "BURST_ITL_RATIO",
    "CSV_COLUMNS",
    "FleetRun",
    "FleetRuns",
    "PUBLIC_MEASUREMENTS_ENV",
    "Pool",
    "Measurement",
    "MeasurementTable",
    "PublicMeasurement",
    "PublicMeasurements",
    "Scenario",
    "is_fleet_csv",
    "load_fleet_runs",
    "load_measurements",
    "load_measurements_csv",
    "load_public_measurements",
    "load_vllm_results",
    "serving_runs",
]


def load_measurements(
    paths: str | os.PathLike | Iterable[str | os.PathLike], **kwargs: Any
) -> MeasurementTable:
    """Measurements from result files: `*.json` (vLLM result files, or directories of them) and `*.csv` (plain
    CSV); `kwargs` go to the loader (`model=`, `hardware=`, `tp=` for JSON; column defaults for CSV)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    table = MeasurementTable()
    json_paths = []
    for p in paths:
        p = Path(p)
        if p.suffix.lower() == ".csv":
            table = table + load_measurements_csv(p, **{k: v for k, v in kwargs.items() if v is not None})
        else:
            json_paths.append(p)
    if json_paths:
        table = table + load_vllm_results(json_paths, **{k: v for k, v in kwargs.items() if v is not None})
    if len(table) == 0:
        raise SpecError("no measurements found in " + ", ".join(map(str, paths)))
    return table
