"""Scenario files: one YAML (or mapping) that says which frontier to compute.

Keys: `preset`, `search`, `model`, `hardware`, `workload`, `speculative`, and optionally `name`, `alpha`,
`price_usd_per_hour`. `model`, `hardware` and `speculative.draft` are a catalog id or a mapping with an optional
`base:` catalog id plus field overrides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from pydantic import Field, ValidationError, field_validator

from infereco.errors import ScenarioError, SpecError
from infereco.specs._base import FrozenSpec, format_validation_error
from infereco.specs.yaml_io import load_yaml_mapping, parse_yaml_text

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
    price_usd_per_hour: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    discrete: dict[str, Any] | None = None  # options of the discrete search: engine, gpu_memory_utilization, ...
    serving: dict[str, Any] | None = None  # {mode: decode_only | colocated | disaggregated, ...}
    observed: str | list[dict[str, Any]] | None = None  # 'paper' or [{name, tokens_per_s, usd_per_million_tokens}]

    @field_validator("model", "hardware", mode="before")
    @classmethod
    def _id_or_mapping(cls, v: Any) -> Any:
        # one clear message instead of one per member of the union
        if not isinstance(v, (str, Mapping)):
            raise ValueError(f"expected a catalog id string or a mapping such as {{base: <id>, <field>: <value>}}, "
                             f"got {type(v).__name__}")
        return v

    def frontier_kwargs(self) -> dict[str, Any]:
        return dict(model=self.model, hardware=self.hardware, workload=self.workload, preset=self.preset,
                    search=self.search, speculative=self.speculative, alpha=self.alpha,
                    price_usd_per_hour=self.price_usd_per_hour, space=self.discrete, serving=self.serving)

    def to_yaml(self) -> str:
        """YAML text that `load_scenario` reads back to an identical scenario."""
        import yaml

        return yaml.safe_dump(self.model_dump(exclude_none=True), sort_keys=False, allow_unicode=True)

    def save(self, path) -> None:
        """Write the scenario as YAML (load → save → load gives an identical scenario)."""
        Path(path).write_text(self.to_yaml(), encoding="utf-8")


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """A `Scenario` from a YAML path, YAML text or a mapping; errors name the file and the key."""
    where = "scenario"
    if isinstance(source, Mapping):
        data = dict(source)
    else:
        text_or_path = str(source)
        if "\n" not in text_or_path and (Path(text_or_path).suffix in (".yaml", ".yml", ".json") or Path(text_or_path).exists()):
            where = text_or_path
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
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, Scenario, where)) from None
