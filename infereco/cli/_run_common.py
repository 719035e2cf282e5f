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


def _count(n: float) -> str:
    """A parameter count in B, or T from a trillion up (3 significant digits)."""
    return f"{n / 1e12:.3g} T" if n >= 1e12 else f"{n / 1e9:.3g} B"


def describe_model(spec: ModelSpec, source: str) -> str:
    """One line: where a model spec came from, its derived parameter counts and bit widths."""
    kv_bits = spec.kv_cache_bits or spec.activation_bits
    experts = f", {spec.n_active_experts} of {spec.n_experts} experts per token" if spec.n_experts > 1 else ""
    if spec.is_uniform_precision:
        weights = f"weights {spec.weight_bits}-bit"
    else:
        stored = {
            "attention": spec.attention_weight_bits,
            "dense FFN": spec.ffn_weight_bits if spec.dense_ffn_params else None,
            "experts" if spec.n_experts > 1 else "FFN": spec.expert_weight_bits,
            "embeddings": spec.embedding_weight_bits,
        }
        parts = [f"{k} {v or spec.weight_bits}" for k, v in stored.items() if k != "dense FFN" or v]
        weights = f"weights {', '.join(parts)}-bit ({spec.weight_memory_bytes / 1e9:.4g} GB)"
    gemm = f", GEMM inputs {spec.gemm_input_bits}-bit" if spec.gemm_input_bits else ""
    layers = ""
    if spec.mixers:
        kinds = ", ".join(f"{g.n_layers} {g.kind}" for g in spec.mixers)
        layers = f"; layers: {kinds}"
    mtp = f"; {spec.n_mtp_layers} MTP layer(s)" if spec.n_mtp_layers else ""
    return (
        f"model {spec.name} from {source}: {_count(spec.total_params)} parameters, "
        f"{_count(spec.active_params)} active per token{experts}; {weights}, "
        f"activations {spec.activation_bits}-bit{gemm}, KV cache {kv_bits}-bit{layers}{mtp}"
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
