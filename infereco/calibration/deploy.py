"""From what a user names (catalog ids, specs, `{base: ...}` mappings, YAML files, HF config.json) to the
serving model of `infereco.physics.serving`, which takes resolved deployments only.

`deployment` is the calibration layer's one call of the deployment resolver; everything here that needs a
resolved deployment goes through it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from infereco.physics.requests import DeploymentArrays, resolve_deployment
from infereco.physics.serving import EngineConfig, ServingModel, ServingPrediction, predict_runs
from infereco.specs.catalog import resolve_hardware, resolve_model
from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec

__all__ = ["deployment", "predict_serving", "resolve_model_arg", "serving_model"]


def deployment(
    model: ModelSpec | str | Mapping, hardware: HardwareSpec | str | Mapping, *, preset: Any = "default"
) -> DeploymentArrays:
    """The resolved deployment of `model` on `hardware` under `preset` (the one place calibration
    resolves)."""
    return resolve_deployment(model, hardware, preset=preset)


def serving_model(
    model: ModelSpec | str | Mapping,
    hardware: HardwareSpec | str | Mapping,
    *,
    engine: EngineConfig | None = None,
    preset: Any = "default",
) -> ServingModel:
    """The serving model of `model` on `hardware` (catalog ids, specs or mappings) with `engine`'s
    settings."""
    return ServingModel(deployment(model, hardware, preset=preset), engine=engine)


def predict_serving(
    model,
    hardware,
    *,
    input_len,
    output_len,
    concurrency=math.inf,
    request_rate=math.inf,
    tp=1,
    static=False,
    num_prompts=math.inf,
    engine: EngineConfig | None = None,
    preset="default",
    params: Mapping[str, float] | None = None,
) -> ServingPrediction:
    """Predict mean TPOT, TTFT, output and request throughput of benchmark runs (arrays broadcast).

    `model`/`hardware`: catalog ids, specs or `{base: id, ...}` mappings (a calibrated spec works unchanged).
    `concurrency` C (closed loop, `--max-concurrency`), or `request_rate` λ (open loop, Poisson);
    `static=True` for an offline static batch of C prompts. `params` overrides calibration terms
    (`infereco.specs.terms`).

    >>> p = predict_serving("llama-3-8b", "h100-sxm", input_len=1000, output_len=200, concurrency=[1, 16])
    >>> bool(p.tpot_s[1] > p.tpot_s[0])
    True
    """
    m = resolve_model(model, where="model")
    hw = resolve_hardware(hardware, where="hardware")
    return predict_runs(
        deployment(m, hw, preset=preset),
        input_len=input_len,
        output_len=output_len,
        concurrency=concurrency,
        request_rate=request_rate,
        tp=tp,
        static=static,
        num_prompts=num_prompts,
        engine=engine,
        params=params,
    )


def resolve_model_arg(value: str | os.PathLike | Mapping | ModelSpec) -> ModelSpec:
    """A model from a catalog id, a spec, a `{base: ...}` mapping, a model YAML file or a HF `config.json`
    (`infereco.specs.catalog.resolve_model`, which every entry point uses)."""
    return resolve_model(value, where="model")
