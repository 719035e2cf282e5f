"""Hardware spec: one accelerator's arithmetic, memory, interconnect, latency and price."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from infereco.errors import SpecError
from infereco.specs._base import FrozenSpec
from infereco.specs.fabric import accepted_fabrics, fabric_name
from infereco.specs.terms import TERMS
from infereco.units import MIN_PRICE_USD_PER_HOUR

_B = {k: t.pydantic_bounds() for k, t in TERMS.items()}  # calibration terms' valid ranges (one registry)

# Smallest price per accelerator-hour accepted anywhere a price enters (hardware specs, scenarios, the
# economics `price_usd_per_hour`): one millionth of a dollar an hour is far below any real rental or ownership
# cost (a datacentre GPU is $0.1-$10/h), so anything smaller is a unit slip or an underflow (1e-320 is a
# subnormal float whose costs per token would be meaningless).


class NcclProtocol(FrozenSpec):
    """Latency and bandwidth of one NCCL protocol (LL, LL128, Simple), from NCCL's tuning tables.

    latency = m·((ranks/nodes − 1)·intra_hop_s + inter_hop_s·log2(nodes)) + base_s, with m = 2 for all-reduce.
    """

    name: str
    base_s: float = Field(ge=0, le=1.0)
    intra_hop_s: float = Field(ge=0, le=1.0)
    inter_hop_s: float = Field(ge=0, le=1.0)
    bandwidth_factor: float = Field(gt=0, le=1)


def default_nccl_protocols(fabric: str = "nvlink") -> tuple[NcclProtocol, ...]:
    """NCCL's LL / LL128 / Simple tree all-reduce model (Erdil 2025 §3.3, Eq. 23; NCCL tuning.cc), seconds.

    `fabric` 'pcie' gives NCCL's PCI row of the tree hop latencies (LL 1.0 µs, Simple 28 µs) and drops LL128,
    which NCCL enables by default only where GPUs talk over NVLink (tuning.cc: "Enable LL128 by default only
    on Volta/Ampere/Hopper+NVLink"). Every other fabric gets the NVLink row (RCCL, AMD's port of NCCL, uses
    the same protocols; its constants are taken as NVIDIA's).

    >>> [p.name for p in default_nccl_protocols("pcie")]
    ['LL', 'Simple']
    >>> default_nccl_protocols("pcie")[0].intra_hop_s
    1e-06
    """
    if fabric == "pcie":
        return (
            NcclProtocol(
                name="LL", base_s=6.8e-6, intra_hop_s=1.0e-6, inter_hop_s=5e-6, bandwidth_factor=0.5
            ),
            NcclProtocol(
                name="Simple", base_s=0.0, intra_hop_s=28e-6, inter_hop_s=28e-6, bandwidth_factor=1.0
            ),
        )
    return (
        NcclProtocol(name="LL", base_s=6.8e-6, intra_hop_s=0.6e-6, inter_hop_s=5e-6, bandwidth_factor=0.5),
        NcclProtocol(
            name="LL128", base_s=14e-6, intra_hop_s=1.25e-6, inter_hop_s=8.5e-6, bandwidth_factor=0.95
        ),
        NcclProtocol(name="Simple", base_s=0.0, intra_hop_s=28e-6, inter_hop_s=28e-6, bandwidth_factor=1.0),
    )


class HardwareSpec(FrozenSpec):
    """One accelerator (GPU, TPU chip, LPU), its node, and its rental price.

    `flop_per_s` maps operand bits (4, 8, 16) to *dense* peak FLOP/s. Bandwidths are per accelerator and
    per direction, in bytes/s. Utilization caps scale peak FLOP/s and HBM bandwidth to sustained rates.

    >>> h = HardwareSpec(name="toy", flop_per_s={16: 1e15}, hbm_bandwidth_bytes_per_s=3.3e12,
    ...                  hbm_capacity_bytes=80e9)
    >>> h.sustained_flop_per_s(16)
    1000000000000000.0
    """

    edge_name: ClassVar[str] = "hardware"

    name: str = "custom"
    flop_per_s: dict[int, float] = Field(
        description="Dense peak FLOP/s by operand bits, e.g. {16: 9.89e14, 8: 1.98e15}."
    )
    hbm_bandwidth_bytes_per_s: float = Field(gt=0, allow_inf_nan=False, description="HBM bandwidth, bytes/s.")
    hbm_capacity_bytes: float = Field(
        gt=0, allow_inf_nan=False, description="HBM capacity per accelerator, bytes."
    )
    hbm_visible_bytes: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Memory the driver reports per accelerator (nvidia-smi memory.total, what serving "
        "engines size their KV cache from), bytes; None = hbm_capacity_bytes.",
    )
    l2_bytes: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="L2 / on-chip SRAM per accelerator, bytes."
    )
    intra_node_bandwidth_bytes_per_s: float = Field(
        default=float("inf"),
        gt=0,
        description="Per-accelerator scale-up bandwidth the collective model uses, bytes/s.",
    )
    inter_node_bandwidth_bytes_per_s: float = Field(
        default=float("inf"), gt=0, description="Per-accelerator scale-out bandwidth, bytes/s."
    )
    node_size: int = Field(
        default=8, gt=0, le=1_000_000, description="Accelerators per scale-up domain (node)."
    )
    kernel_launch_s: float = Field(
        default=4e-6, ge=0, le=1.0, allow_inf_nan=False, description="Latency of one serial kernel, s."
    )
    collectives: str = Field(
        default="nvlink",
        description=f"Interconnect fabric, which names the collective time model: {accepted_fabrics()}.",
    )
    nccl_protocols: tuple[NcclProtocol, ...] = Field(
        default_factory=lambda: default_nccl_protocols("nvlink"), min_length=1
    )
    ring_hop_s: float = Field(
        default=1e-6,
        ge=0,
        le=1.0,
        allow_inf_nan=False,
        description="Per-hop latency of the hop-counting fabrics (ring, ici-torus, neuronlink, gaudi-roce), "
        "s.",
    )
    torus_dimensions: int = Field(
        default=1,
        ge=1,
        le=6,
        description="Dimensions of the chip torus (ici-torus, neuronlink): 3 for a 3D torus, 2 for 2D; 1 = a "
        "ring.",
    )
    flop_utilization: float = Field(
        default=1.0, **_B["flop_utilization"], description="Sustained fraction of peak FLOP/s."
    )
    bandwidth_utilization: float = Field(
        default=1.0, **_B["bandwidth_utilization"], description="Sustained fraction of HBM bandwidth."
    )
    price_usd_per_hour: float = Field(
        default=2.0, gt=0, le=1e6, allow_inf_nan=False, description="Price per accelerator-hour, USD."
    )
    price_tiers_usd_per_hour: dict[str, float] = Field(
        default_factory=dict,
        description="Named all-in prices per accelerator-hour, USD (e.g. hyperscaler, neocloud, rental-3y); "
        "`price_usd_per_hour='neocloud'` picks one.",
    )
    # Calibration terms (0 / 1 in the catalog; fitted by infereco.calibration from measured runs).
    step_overhead_s: float = Field(
        default=0.0,
        **_B["step_overhead_s"],
        allow_inf_nan=False,
        description="Fixed time per step (scheduler, sampling, launches not modelled), s.",
    )
    layer_overhead_s: float = Field(
        default=0.0,
        **_B["layer_overhead_s"],
        allow_inf_nan=False,
        description="Extra time per layer per step (small kernels), s.",
    )
    collective_latency_scale: float = Field(
        default=1.0,
        **_B["collective_latency_scale"],
        allow_inf_nan=False,
        description="Multiplier on collective latency.",
    )
    prefill_flop_utilization: float | None = Field(
        default=None,
        **_B["prefill_flop_utilization"],
        description="Sustained fraction of peak FLOP/s in prefill; None = flop_utilization.",
    )
    attention_bandwidth_utilization: float | None = Field(
        default=None,
        **_B["attention_bandwidth_utilization"],
        description="Sustained fraction of HBM bandwidth when attention kernels read the KV cache "
        "(paged-attention kernels often reach less than weight-streaming GEMMs); None = "
        "bandwidth_utilization.",
    )
    memory_compute_overlap: float = Field(
        default=1.0,
        **_B["memory_compute_overlap"],
        allow_inf_nan=False,
        description="How far a step's memory traffic and arithmetic overlap: 1 = fully (step time "
        "max(memory, compute), the roofline of the paper); 0 = not at all (memory + compute). A step takes "
        "max + (1 − overlap)·min.",
    )
    power_kw: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="Typical board power, kW (economics)."
    )
    sources: dict[str, str] = Field(default_factory=dict, description="Where each number comes from.")

    @model_validator(mode="before")
    @classmethod
    def _fabric_protocols(cls, data):
        # The NCCL protocol table depends on the fabric (PCIe has no LL128); a file giving its own keeps it.
        if isinstance(data, dict) and "nccl_protocols" not in data and "collectives" in data:
            try:
                fabric = fabric_name(data["collectives"])
            except ValueError:
                return data  # the field validator reports it
            if fabric != "nvlink":
                data = {**data, "nccl_protocols": default_nccl_protocols(fabric)}
        return data

    @field_validator("collectives", mode="before")
    @classmethod
    def _known_fabric(cls, v):
        return fabric_name(v)

    @field_validator("price_usd_per_hour")
    @classmethod
    def _price_floor(cls, v: float) -> float:
        if v < MIN_PRICE_USD_PER_HOUR:
            raise ValueError(
                f"expected at least {MIN_PRICE_USD_PER_HOUR:g} USD per accelerator-hour "
                "(a smaller price is a unit slip or an underflow, not a price)"
            )
        return v

    @field_validator("price_tiers_usd_per_hour", mode="before")
    @classmethod
    def _tiers_are_numbers(cls, v):
        # pydantic would read a YAML `yes` as 1.0 USD per hour, or "1.5" as a number.
        for tier, price in dict(v).items() if isinstance(v, dict) else ():
            if isinstance(price, (bool, str)):
                raise ValueError(f"tier {tier!r} = {price!r}: expected a number of USD per accelerator-hour")
        return v

    @field_validator("price_tiers_usd_per_hour")
    @classmethod
    def _check_tiers(cls, v: dict[str, float]) -> dict[str, float]:
        for tier, price in v.items():
            if not (isinstance(tier, str) and tier and tier.replace("-", "").replace("_", "").isalnum()):
                raise ValueError(f"tier {tier!r}: expected a name such as 'neocloud' or 'rental-3y'")
            if not (MIN_PRICE_USD_PER_HOUR <= price <= 1e6):
                raise ValueError(f"tier {tier!r} = {price!r}: expected a price in USD per accelerator-hour")
        return v

    def tier_price_usd_per_hour(self, tier: str) -> float:
        """The price of a named tier, or a `SpecError` listing the tiers this accelerator has.

        >>> HardwareSpec(name="toy", flop_per_s={16: 1e15}, hbm_bandwidth_bytes_per_s=3e12,
        ...              hbm_capacity_bytes=8e10, price_tiers_usd_per_hour={"neocloud": 1.5}
        ...              ).tier_price_usd_per_hour("neocloud")
        1.5
        """
        if tier not in self.price_tiers_usd_per_hour:
            known = ", ".join(sorted(self.price_tiers_usd_per_hour)) or "none (give a number of USD per hour)"
            raise SpecError(
                f"price_usd_per_hour={tier!r}: {self.name} has no such price tier; tiers: {known}"
            )
        return float(self.price_tiers_usd_per_hour[tier])

    @field_validator("flop_per_s")
    @classmethod
    def _check_flops(cls, v: dict[int, float]) -> dict[int, float]:
        if not v:
            raise ValueError("expected at least one precision, e.g. {16: 1e15}")
        for bits, rate in v.items():
            if bits not in (4, 8, 16, 32):
                raise ValueError(f"precision {bits} bits is not one of 4, 8, 16, 32")
            if not rate > 0 or rate != rate or rate == float("inf"):
                raise ValueError(
                    f"FLOP/s for {bits}-bit operands must be a positive finite number, got {rate}"
                )
        return v

    @model_validator(mode="after")
    def _check_units(self) -> "HardwareSpec":
        # A bandwidth below 1e6 bytes/s is almost certainly given in GB/s or TB/s by mistake.
        for field in (
            "hbm_bandwidth_bytes_per_s",
            "intra_node_bandwidth_bytes_per_s",
            "inter_node_bandwidth_bytes_per_s",
        ):
            v = getattr(self, field)
            if v < 1e6:
                raise ValueError(
                    f"{field}={v:g} looks like GB/s or TB/s; expected bytes/s (e.g. 3.35e12 for 3.35 TB/s)"
                )
        if self.hbm_capacity_bytes < 1e6:
            raise ValueError(
                f"hbm_capacity_bytes={self.hbm_capacity_bytes:g} looks like GB; expected bytes (e.g. 80e9)"
            )
        if self.hbm_visible_bytes is not None and self.hbm_visible_bytes < 1e6:
            raise ValueError(
                f"hbm_visible_bytes={self.hbm_visible_bytes:g} looks like GB or MiB; expected bytes (e.g. "
                "85.52e9 for nvidia-smi's 81559 MiB)"
            )
        for bits, rate in self.flop_per_s.items():
            if rate < 1e9:
                raise ValueError(
                    f"flop_per_s[{bits}]={rate:g} looks like TFLOP/s; expected FLOP/s (e.g. 9.89e14)"
                )
        return self

    def peak_flop_per_s(self, bits: int) -> float:
        """Dense peak FLOP/s for operands of `bits` bits: the entry for the smallest listed precision ≥
        bits."""
        for b in sorted(self.flop_per_s):
            if b >= bits:
                return float(self.flop_per_s[b])
        raise ValueError(
            f"{self.name}: flop_per_s lists no rate for {bits}-bit operands or wider (listed: "
            f"{sorted(self.flop_per_s)}); add one, e.g. flop_per_s: {{{bits}: 1.0e15}}"
        )

    def sustained_flop_per_s(self, bits: int) -> float:
        return self.peak_flop_per_s(bits) * self.flop_utilization

    @property
    def sustained_hbm_bandwidth_bytes_per_s(self) -> float:
        return self.hbm_bandwidth_bytes_per_s * self.bandwidth_utilization

    @property
    def engine_memory_bytes(self) -> float:
        """Memory a serving engine sizes its KV cache from, bytes: `hbm_visible_bytes` (what the driver
        reports) where known, else the marketing `hbm_capacity_bytes`.

        >>> HardwareSpec(name="toy", flop_per_s={16: 1e15}, hbm_bandwidth_bytes_per_s=3e12,
        ...              hbm_capacity_bytes=80e9, hbm_visible_bytes=85.52e9).engine_memory_bytes
        85520000000.0
        >>> HardwareSpec(name="toy", flop_per_s={16: 1e15}, hbm_bandwidth_bytes_per_s=3e12,
        ...              hbm_capacity_bytes=80e9).engine_memory_bytes
        80000000000.0
        """
        v = self.hbm_visible_bytes
        return float(self.hbm_capacity_bytes if v is None else v)

    @property
    def kv_read_time_scale(self) -> float:
        """Time to read a KV-cache byte relative to a weight byte (bandwidth_utilization over
        attention_bandwidth_utilization; 1 when the latter is unset)."""
        a = self.attention_bandwidth_utilization
        return 1.0 if a is None else self.bandwidth_utilization / a
