"""Helpers shared by the subcommand handlers (these import the library; the parser modules do not)."""

from __future__ import annotations

from pathlib import Path

from infereco.economics.hourly_cost import OwnershipCost, RentalCost
from infereco.errors import SpecError
from infereco.specs.model import ModelSpec
from infereco.specs.scenario import Scenario
from infereco.specs.yaml_io import load_yaml_mapping

# Keys only a cost file has (not a scenario).
_COST_KEYS = (set(OwnershipCost.model_fields) | set(RentalCost.model_fields)) - set(Scenario.model_fields)


def describe_model(spec: ModelSpec, source: str) -> str:
    """One line: where a model spec came from, its derived parameter counts and bit widths."""
    kv_bits = spec.kv_cache_bits or spec.activation_bits
    experts = f", {spec.n_active_experts} of {spec.n_experts} experts per token" if spec.n_experts > 1 else ""
    return (
        f"model {spec.name} from {source}: {spec.total_params / 1e9:.3g} B parameters, "
        f"{spec.active_params / 1e9:.3g} B active per token{experts}; weights {spec.weight_bits}-bit, "
        f"activations {spec.activation_bits}-bit, KV cache {kv_bits}-bit"
    )


def reject_cost_file(path: str, command: str) -> None:
    """A scenario argument that is an hourly cost file (ownership or rental) says to use `infereco cost`.

    Files that do not parse are left to the scenario loader, whose message names the file and the problem."""
    if Path(path).suffix not in (".yaml", ".yml", ".json"):
        return
    try:
        data = load_yaml_mapping(path)
    except SpecError:
        return
    if "model" in data:
        return
    kind = data.get("kind")
    if kind in ("ownership", "rental") or _COST_KEYS & set(data):
        what = f"an hourly cost file (kind: {kind})" if kind else "an hourly cost file"
        raise SpecError(
            f"{path}: {what}, not a scenario for `infereco {command}`; use `infereco cost {path}`"
        )
