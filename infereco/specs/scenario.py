"""Scenario files: one YAML (or mapping) that says which frontier to compute.

Keys: `preset`, `search`, `model`, `hardware`, `workload`, `speculative`, and optionally `name`, `alpha`,
`price_usd_per_hour`, `discrete` (search options, `infereco.specs.space`), `serving` (a mode name or a
mapping, `infereco.specs.serving`) and `observed`. `model`, `hardware` and `speculative.draft` are a catalog
id or a mapping with an optional `base:` catalog id plus field overrides; `hardware` (or its `base`) may also
be a hardware YAML file such as a calibrated profile (`infereco calibrate --out PROFILE.yaml`), relative to
the scenario file's folder.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import Field, ValidationError, field_validator

from infereco.errors import ScenarioError, SpecError
from infereco.specs._base import FrozenSpec, format_validation_error
from infereco.specs.catalog import is_hardware_file
from infereco.specs.serving import ServingSpec
from infereco.specs.space import validate_discrete_space
from infereco.specs.yaml_io import load_yaml_mapping, parse_yaml_text
from infereco.units import MIN_PRICE_USD_PER_HOUR

DEFAULT_SCENARIO: dict[str, Any] = {
    "name": "Llama 3 70B on H100 SXM",
    "preset": "default",
    "model": "llama-3-70b",
    "hardware": "h100-sxm",
    "workload": {"context_length": 1000},
}


class Scenario(FrozenSpec):
    """A validated scenario (still holding ids/mappings; resolved when the frontier is built)."""

    name: str | None = None
    preset: str = "default"
    search: str | None = None
    model: str | dict[str, Any]
    hardware: str | dict[str, Any]
    workload: dict[str, Any] = Field(default_factory=dict)
    speculative: dict[str, Any] | None = None
    alpha: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    # USD per accelerator-hour, or the name of one of the hardware's price tiers (e.g. 'neocloud').
    price_usd_per_hour: float | str | None = Field(default=None)
    discrete: dict[str, Any] | None = (
        None  # options of the discrete search: engine, gpu_memory_utilization, ...
    )
    serving: dict[str, Any] | None = (
        None  # {mode: decode_only | colocated | disaggregated, ...} or a mode name
    )
    observed: str | list[dict[str, Any]] | None = (
        None  # 'paper' or [{name, tokens_per_s, usd_per_million_tokens}]
    )

    @field_validator("model", "hardware", mode="before")
    @classmethod
    def _id_or_mapping(cls, v: Any) -> Any:
        # one clear message instead of one per member of the union
        if not isinstance(v, (str, Mapping)):
            raise ValueError(
                f"expected a catalog id string or a mapping such as {{base: <id>, <field>: <value>}}, "
                f"got {type(v).__name__}"
            )
        return v

    @field_validator("serving", mode="before")
    @classmethod
    def _mode_shorthand(cls, v: Any) -> Any:
        # `serving: disaggregated` is shorthand for `serving: {mode: disaggregated}`
        if v is not None and not isinstance(v, (str, Mapping)):
            raise ValueError(
                "expected a mode name (decode_only, colocated, disaggregated) or a mapping such as "
                f"{{mode: colocated, colocated_prefill_batch: 8}}, got {type(v).__name__}"
            )
        return {"mode": v} if isinstance(v, str) else v

    @field_validator("discrete", mode="before")
    @classmethod
    def _discrete_mapping(cls, v: Any) -> Any:
        if v is not None and not isinstance(v, Mapping):
            raise ValueError(
                "expected a mapping of search options such as {engine: sglang, n_batch: 64}, "
                f"got {type(v).__name__}"
            )
        return v

    @field_validator("price_usd_per_hour")
    @classmethod
    def _price_floor(cls, v: float | str | None) -> float | str | None:
        if isinstance(v, str):
            if not v.strip():
                raise ValueError("expected USD per accelerator-hour or a price tier name, got ''")
            return v.strip().lower()
        if v is not None and not (math.isfinite(v) and v > 0):
            raise ValueError("expected a positive, finite USD per accelerator-hour or a price tier name")
        if v is not None and v < MIN_PRICE_USD_PER_HOUR:
            raise ValueError(
                f"expected at least {MIN_PRICE_USD_PER_HOUR:g} USD per accelerator-hour "
                "(a smaller price is a unit slip or an underflow, not a price)"
            )
        return v

    def frontier_kwargs(self) -> dict[str, Any]:
        return dict(
            model=self.model,
            hardware=self.hardware,
            workload=self.workload,
            preset=self.preset,
            search=self.search,
            speculative=self.speculative,
            alpha=self.alpha,
            price_usd_per_hour=self.price_usd_per_hour,
            space=self.discrete,
            serving=self.serving,
        )

    def to_yaml(self) -> str:
        """YAML text that `load_scenario` reads back to an identical scenario."""
        return yaml.safe_dump(self.model_dump(exclude_none=True), sort_keys=False, allow_unicode=True)

    def save(self, path) -> None:
        """Write the scenario as YAML (load → save → load gives an identical scenario)."""
        Path(path).write_text(self.to_yaml(), encoding="utf-8")


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """A `Scenario` from a YAML path, YAML text or a mapping; errors name the file and the key.

    A `hardware:` file path (or `hardware.base`) in a scenario file is read relative to that file's folder.
    """
    where = "scenario"
    folder: Path | None = None
    if isinstance(source, Mapping):
        data = dict(source)
    elif not isinstance(source, (str, os.PathLike)):
        raise ScenarioError(
            f"scenario = {type(source).__name__}: expected a YAML file path, YAML text or a mapping"
        )
    else:
        text_or_path = os.fspath(source)
        if isinstance(text_or_path, bytes):
            raise ScenarioError("scenario: expected a YAML file path as str or Path, got bytes")
        if not text_or_path.strip() and not isinstance(source, os.PathLike):
            raise ScenarioError("scenario = '': empty; expected a YAML file path, YAML text or a mapping")
        if isinstance(source, os.PathLike) or (
            "\n" not in text_or_path
            and (Path(text_or_path).suffix in (".yaml", ".yml", ".json") or Path(text_or_path).exists())
        ):
            where = text_or_path
            if Path(text_or_path).is_dir():
                raise ScenarioError(f"{where}: is a folder; expected a scenario YAML file")
            folder = Path(text_or_path).parent
            try:
                data = load_yaml_mapping(text_or_path)
            except SpecError as exc:
                raise ScenarioError(str(exc)) from None
        else:
            try:
                data = parse_yaml_text(text_or_path, where)
            except SpecError as exc:
                raise ScenarioError(str(exc)) from None
            if not isinstance(data, dict):
                raise ScenarioError(f"{where}: expected a YAML mapping of keys to values")
    if folder is not None:
        data = _hardware_file_relative_to(data, folder)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, Scenario, where)) from None
    _check_options(scenario, where)
    return scenario


def _hardware_file_relative_to(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """`hardware: profile.yaml` (or `hardware: {base: profile.yaml, ...}`) read relative to the scenario's
    folder."""

    def rebase(value: Any) -> Any:
        # absolute, so that the scenario saved elsewhere (Scenario.save) still points at the same file
        if is_hardware_file(value) and isinstance(value, str) and not Path(value).expanduser().is_absolute():
            return os.path.abspath(folder / value)
        return value

    hw = data.get("hardware")
    if isinstance(hw, str):
        return {**data, "hardware": rebase(hw)}
    if isinstance(hw, Mapping) and "base" in hw:
        return {**data, "hardware": {**hw, "base": rebase(hw["base"])}}
    return data


def _check_options(scenario: Scenario, where: str) -> None:
    """The `serving` and `discrete` options, checked now rather than when the frontier is built."""
    try:
        if scenario.serving is not None:
            ServingSpec.validated(scenario.serving, where="serving")
        if scenario.discrete is not None:
            validate_discrete_space(scenario.discrete, where="discrete")
    except SpecError as exc:
        raise ScenarioError(f"{where}: {exc}") from None
