"""Transitional re-export for `infereco/__init__.py` (which imports `EngineConfig` and `predict_serving` from
here): the serving model now lives in `infereco.physics.serving`, `predict_serving` in
`infereco.calibration.deploy`. Delete this module once the package root imports them from there."""

from infereco.calibration.deploy import predict_serving
from infereco.physics.serving import EngineConfig

__all__ = ["EngineConfig", "predict_serving"]
