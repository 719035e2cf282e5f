"""Presets: named sets of assumptions (hardware numbers, prices, conventions, search) that users can override.

- `default`: the catalog's datasheet numbers with the library's conventions.
- `erdil-2024`: the reference notebook (ege-erdil/inference-economics @ 589a102) exactly: its GPU numbers and
  prices, utilization caps of 1, NCCL bandwidth halved twice (all-reduce bandwidth 900/4 GB/s and the LL
  factor), the bonus-token speculative-decoding convention, 2D/1D TP and pipeline degrees {1, 2, 4, 6}, α = 4.
- `erdil-paper`: the paper's text (Erdil 2025 §3–4): 70% FLOP and 75% bandwidth caps, $2/h H100, NVLink 450
  GB/s per direction, Eq. 46 speculative decoding, α = 3, parallel attention halves the serial all-reduces.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, Mapping

from infereco.errors import SpecError
from infereco.specs.catalog import _index, normalise_id
from infereco.specs.conventions import Conventions
from infereco.specs.fabric import NODE_FABRICS
from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    description: str
    conventions: Conventions
    search: str
    alpha: float
    operand_bits_rule: Literal["weights", "max"]
    hardware_overrides: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    hardware_defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # Scale applied to catalog scale-up/scale-out bandwidths of hardware the preset has no entry for, so that
    # catalog-only hardware follows the preset's bandwidth convention.
    bandwidth_scale: float = 1.0
    # Model numbers the preset's source used where they differ from the catalog (by catalog id).
    model_overrides: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    def apply_model(self, model: ModelSpec, requested_id: str | None = None) -> ModelSpec:
        """The catalog model as this preset's source defined it."""
        key = _canonical(normalise_id(requested_id or model.name), kind="model")
        changes = self.model_overrides.get(key)
        return model.replace(**changes) if changes else model

    def apply(self, hw: HardwareSpec, requested_id: str | None = None) -> HardwareSpec:
        """The hardware as this preset sees it: its own numbers for known ids, else the catalog's,
        adjusted."""
        key = normalise_id(requested_id or hw.name)
        cid = _canonical(key)
        changes: dict[str, Any] = dict(self.hardware_defaults)
        if cid in self.hardware_overrides:
            changes.update(self.hardware_overrides[cid])
        elif self.bandwidth_scale != 1.0 and hw.collectives in NODE_FABRICS:
            changes["intra_node_bandwidth_bytes_per_s"] = (
                hw.intra_node_bandwidth_bytes_per_s * self.bandwidth_scale
            )
            changes["inter_node_bandwidth_bytes_per_s"] = (
                hw.inter_node_bandwidth_bytes_per_s * self.bandwidth_scale
            )
        if not changes:
            return hw
        return hw.replace(**changes)

    def operand_bits(self, weight_bits: int, activation_bits: int) -> int:
        """Precision whose FLOP/s applies: the weights' (the reference's rule) or the wider operand."""
        return weight_bits if self.operand_bits_rule == "weights" else max(weight_bits, activation_bits)


def _canonical(key: str, kind: str = "hardware") -> str:
    idx = _index(kind)
    return idx[key][1][0] if key in idx else key


_NB_PRICE_H100 = 3.15 * 2 / 3  # notebook: cheapest rental less one third markup

_ERDIL_2024_HW: dict[str, dict[str, Any]] = {
    "h100-sxm": dict(
        flop_per_s={4: 2e15, 8: 2e15, 16: 1e15},
        hbm_bandwidth_bytes_per_s=3.3e12,
        hbm_capacity_bytes=8e10,
        intra_node_bandwidth_bytes_per_s=9e11 / 4,
        inter_node_bandwidth_bytes_per_s=5e10 / 2,
        node_size=8,
        price_usd_per_hour=_NB_PRICE_H100,
        kernel_launch_s=4e-6,
        collectives="nccl",
        l2_bytes=2.5e7,
    ),
    "h200": dict(
        flop_per_s={4: 2e15, 8: 2e15, 16: 1e15},
        hbm_bandwidth_bytes_per_s=4.8e12,
        hbm_capacity_bytes=1.41e11,
        intra_node_bandwidth_bytes_per_s=9e11 / 4,
        inter_node_bandwidth_bytes_per_s=5e10 / 2,
        node_size=8,
        price_usd_per_hour=_NB_PRICE_H100,
        kernel_launch_s=4e-6,
        collectives="nccl",
        l2_bytes=2.5e7,
    ),
    "a100-sxm-80g": dict(
        flop_per_s={8: 6.24e14, 16: 3.12e14},
        hbm_bandwidth_bytes_per_s=2e12,
        hbm_capacity_bytes=8e10,
        intra_node_bandwidth_bytes_per_s=6e11 / 4,
        inter_node_bandwidth_bytes_per_s=2.5e10 / 2,
        node_size=8,
        price_usd_per_hour=2.26 * 2 / 3,
        kernel_launch_s=4e-6,
        collectives="nccl",
    ),
    "v100": dict(
        flop_per_s={8: 1e14, 16: 1e14},
        hbm_bandwidth_bytes_per_s=9e11,
        hbm_capacity_bytes=1.6e10,
        intra_node_bandwidth_bytes_per_s=3e11 / 4,
        inter_node_bandwidth_bytes_per_s=1.25e10 / 2,
        node_size=8,
        price_usd_per_hour=0.63 * 2 / 3,
        kernel_launch_s=4e-6,
        collectives="nccl",
    ),
    "tpu-v4": dict(
        flop_per_s={8: 2.6e14, 16: 2.6e14},
        hbm_bandwidth_bytes_per_s=1.6e12,
        hbm_capacity_bytes=3.2e10,
        intra_node_bandwidth_bytes_per_s=float("inf"),
        inter_node_bandwidth_bytes_per_s=2.5e11,
        node_size=1,
        price_usd_per_hour=1.0,
        kernel_launch_s=4e-6,
        collectives="ring",
        ring_hop_s=1e-6,
    ),
    "groq-lpu": dict(
        flop_per_s={8: 7.5e14, 16: 1.88e14},
        hbm_bandwidth_bytes_per_s=8e13,
        hbm_capacity_bytes=2.3e8,
        intra_node_bandwidth_bytes_per_s=float("inf"),
        inter_node_bandwidth_bytes_per_s=3.3e11 / 2,
        node_size=1,
        price_usd_per_hour=1.0,
        kernel_launch_s=4e-6,
        collectives="ring",
        ring_hop_s=1e-6,
    ),
}

_ERDIL_PAPER_HW: dict[str, dict[str, Any]] = {
    # Erdil 2025 §4: 1e15 FP16, 2e15 FP8/INT8, 3.3 TB/s, 80 GB, NVLink 450 GB/s per direction, 50 GB/s per GPU
    # between nodes, 4 µs launches, $2/h.
    "h100-sxm": dict(
        flop_per_s={4: 2e15, 8: 2e15, 16: 1e15},
        hbm_bandwidth_bytes_per_s=3.3e12,
        hbm_capacity_bytes=8e10,
        intra_node_bandwidth_bytes_per_s=4.5e11,
        inter_node_bandwidth_bytes_per_s=5e10,
        node_size=8,
        price_usd_per_hour=2.0,
        kernel_launch_s=4e-6,
        collectives="nccl",
        l2_bytes=5e7,
    ),
    # GPU-generation comparison (Table 4): A100 $1.5/h, V100 $0.42/h.
    "a100-sxm-80g": dict(price_usd_per_hour=1.5),
    "v100": dict(price_usd_per_hour=0.42),
}

PRESETS: dict[str, Preset] = {
    "default": Preset(
        name="default",
        description="Catalog datasheet numbers, the library's conventions (parallel attention halves serial "
        "collectives; FLOP rate of the wider operand).",
        conventions=Conventions(),
        search="discrete",
        alpha=3.0,
        operand_bits_rule="max",
    ),
    "erdil-2024": Preset(
        name="erdil-2024",
        description="The reference notebook's assumptions (ege-erdil/inference-economics @ 589a102).",
        conventions=Conventions(
            parallel_attention_merges_collectives=False,
            spec_convention="notebook",
            reference_qkv_bytes=True,
            draft_shares_memory=False,
        ),
        search="erdil-grid",
        alpha=4.0,
        operand_bits_rule="weights",
        hardware_overrides=_ERDIL_2024_HW,
        hardware_defaults=dict(flop_utilization=1.0, bandwidth_utilization=1.0),
        bandwidth_scale=0.5,
        # The notebook gives Llama 3.1 405B a GQA group of 8 (16 KV heads); its config.json has 8 KV heads.
        model_overrides={"llama-3.1-405b": {"n_kv_heads": 16}},
    ),
    "erdil-paper": Preset(
        name="erdil-paper",
        description="The paper's text (Erdil 2025): 70% FLOP and 75% HBM caps, $2/h H100, Eq. 46 speculative "
        "decoding, α = 3.",
        conventions=Conventions(parallel_attention_merges_collectives=True, spec_convention="paper"),
        search="erdil-grid",
        alpha=3.0,
        operand_bits_rule="weights",
        hardware_overrides=_ERDIL_PAPER_HW,
        hardware_defaults=dict(flop_utilization=0.7, bandwidth_utilization=0.75),
    ),
}


# The reference notebook's model and GPU names (as in its output files) → catalog ids and overrides, so that
# its frontiers can be recomputed with preset 'erdil-2024'.
ERDIL_2024_MODELS: dict[str, str | dict[str, Any]] = {
    "LLaMa 3 70B": "llama-3-70b",
    "LLaMa 3 8B": "llama-3-8b",
    "LLaMa 3 70B 8-bit": {"base": "llama-3-70b", "weight_bits": 8},
    "LLaMa 3 70B 4-bit": {"base": "llama-3-70b", "weight_bits": 4},
    "LLaMa 3 405B": "llama-3.1-405b",
    "LLaMa 3 8B MQA": "llama-3-8b-mqa",
    "LLaMa 3 70B MQA": "llama-3-70b-mqa",
    "Mixtral 8x22B": "mixtral-8x22b",
    "Mistral Large 2": "mistral-large-2",
    "GPT-3": "gpt-3",
    "GPT-4": "gpt-4",
    "PaLM 540B": "palm-540b",
    "PaLM 8B": "palm-8b",
}
ERDIL_2024_HARDWARE: dict[str, str] = {
    "H100": "h100-sxm",
    "H200": "h200",
    "A100": "a100-sxm-80g",
    "V100": "v100",
    "TPU v4": "tpu-v4",
    "Groq LPU": "groq-lpu",
}


def get_preset(name: str | Preset) -> Preset:
    """The preset named `name` ('default', 'erdil-2024', 'erdil-paper')."""
    if isinstance(name, Preset):
        return name
    key = normalise_id(name)
    if key not in PRESETS:
        raise SpecError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}")
    return PRESETS[key]
