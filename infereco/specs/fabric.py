"""Interconnect fabrics: the names a hardware spec's `collectives` field accepts, one per collective model.

The physics (`infereco.physics.collectives.COLLECTIVE_MODELS`) has one time model per name here; the specs
layer sits below the physics, so the names live here and the physics imports them.

>>> fabric_name("NCCL")   # the old name of the NVLink model, kept as an alias
'nvlink'
>>> fabric_name("mpi")
Traceback (most recent call last):
    ...
ValueError: unknown fabric; expected one of nvlink (alias nccl), xgmi, ici-torus, neuronlink, ...
"""

from __future__ import annotations

import difflib

# Canonical fabric name -> what it models (shown in errors and in docs/catalog.md).
FABRICS: dict[str, str] = {
    "nvlink": "NVLink / NVSwitch scale-up node, NCCL's LL / LL128 / Simple tree model",
    "xgmi": "AMD Infinity Fabric (xGMI): GPUs of a node fully connected point to point, RCCL",
    "ici-torus": "Google TPU inter-chip interconnect: 2D / 3D torus, ring all-reduce along each dimension",
    "neuronlink": "AWS NeuronLink torus inside a Trainium node, EFA between nodes",
    "gaudi-roce": "Intel Gaudi integrated RoCE: cards of a node fully connected, RoCE scale-out",
    "pcie": "PCIe through the host or a PCIe switch, NCCL without LL128 and with PCIe hop latencies",
    "ring": "generic ring over the scale-out bandwidth (Erdil 2025 §2.2: TPU v4, Groq)",
}

# Older names accepted for the same model: catalog files and scenarios written before fabrics were named.
FABRIC_ALIASES: dict[str, str] = {"nccl": "nvlink"}

# Fabrics with a scale-up node of `node_size` accelerators and scale-out NICs between nodes (the two
# bandwidths a preset's `bandwidth_scale` convention adjusts); the others put every chip in its own node.
NODE_FABRICS: frozenset[str] = frozenset({"nvlink", "xgmi", "pcie", "gaudi-roce", "neuronlink"})

# Fabrics whose time model uses NCCL-style protocol tables (`HardwareSpec.nccl_protocols`); the others use
# `ring_hop_s` per hop.
PROTOCOL_FABRICS: frozenset[str] = frozenset({"nvlink", "xgmi", "pcie"})


def accepted_fabrics() -> str:
    """The accepted names, for messages: 'nvlink (alias nccl), xgmi, ...'.

    >>> accepted_fabrics().split(", ")[:2]
    ['nvlink (alias nccl)', 'xgmi']
    """
    aliases: dict[str, list[str]] = {}
    for alias, name in FABRIC_ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    return ", ".join(f"{n} (alias {', '.join(aliases[n])})" if n in aliases else n for n in FABRICS)


def fabric_name(value: object) -> str:
    """The canonical fabric name of `value` (case, spaces and underscores forgiven; aliases resolved), or a
    ValueError naming the accepted names.

    >>> fabric_name("ICI_torus")
    'ici-torus'
    """
    key = str(value).strip().lower().replace("_", "-").replace(" ", "-") if isinstance(value, str) else None
    if key in FABRICS:
        return key
    if key in FABRIC_ALIASES:
        return FABRIC_ALIASES[key]
    close = difflib.get_close_matches(key, [*FABRICS, *FABRIC_ALIASES], n=1) if key else []
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ValueError(f"unknown fabric; {hint}expected one of {accepted_fabrics()}")
