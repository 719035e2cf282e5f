"""Calibration: fit the efficiency terms of `infereco.specs.terms` to measured serving runs.

- `readers`: one module per input format (vLLM result files, the project's measurements CSV, the public
  long-format table), all giving the one run record `Measurement`;
- `deploy`: ids, specs and files → the serving model of `infereco.physics.serving` (`predict_serving`);
- `fit`: the fit (`calibrate`);
- `result`: `CalibrationResult`, its YAML (`save_yaml` / `load_calibrated_hardware`), prediction intervals;
- `validate`: calibrate-then-predict cases on measured data whose paths the caller gives
  (scripts/validation_report.py runs them all).
"""

from infereco.calibration.deploy import predict_serving, resolve_model_arg, serving_model
from infereco.calibration.fit import calibrate
from infereco.calibration.readers import (
    Measurement,
    MeasurementTable,
    load_measurements,
    load_measurements_csv,
    load_public_measurements,
    load_vllm_results,
    serving_runs,
)
from infereco.calibration.result import CalibrationResult, PredictionTable, load_calibrated_hardware
from infereco.physics.serving import EngineConfig

__all__ = [
    "CalibrationResult",
    "EngineConfig",
    "Measurement",
    "MeasurementTable",
    "PredictionTable",
    "calibrate",
    "load_calibrated_hardware",
    "load_measurements",
    "load_measurements_csv",
    "load_public_measurements",
    "load_vllm_results",
    "predict_serving",
    "resolve_model_arg",
    "serving_model",
    "serving_runs",
]
