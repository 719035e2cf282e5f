"""Collectives are named per interconnect fabric (issue 13, "Accelerators"): every fabric's all-reduce time
checked against a hand derivation from its formula and the datasheet numbers, the catalog names only known
fabrics, and an unknown name is one clear error line.

Expected values are computed here from the formulas in the docstrings of `infereco.physics.collectives` and
from datasheet figures written out below, never by calling the model under test.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from infereco import SpecError
from infereco.physics.collectives import (
    COLLECTIVE_MODELS,
    collective_time_s,
    gaudi_roce_time_s,
    ici_torus_time_s,
    nccl_time_s,
    neuronlink_time_s,
    nvlink_time_s,
    pcie_time_s,
    ring_time_s,
    xgmi_time_s,
)
from infereco.physics.structs import hardware_arrays
from infereco.specs.catalog import hardware_dir, list_hardware, load_hardware, load_hardware_file
from infereco.specs.fabric import FABRIC_ALIASES, FABRICS
from infereco.specs.hardware import HardwareSpec
from infereco.specs.yaml_io import load_yaml_mapping

US = 1e-6
M = 1e8  # bytes each rank contributes to the all-reduce (100 MB)

# NCCL tuning.cc, tree algorithm, microseconds: base latency and hop latency by link type, per protocol
# (LL, LL128, Simple), with the bandwidth fraction each protocol reaches (Erdil 2025 §3.3, Eq. 23).
NCCL_BASE = {"LL": 6.8, "LL128": 14.0, "Simple": 0.0}
NCCL_NVLINK_HOP = {"LL": 0.6, "LL128": 1.25, "Simple": 28.0}
NCCL_PCI_HOP = {"LL": 1.0, "LL128": 1.9, "Simple": 28.0}
NCCL_NET_HOP = {"LL": 5.0, "LL128": 8.5, "Simple": 28.0}
NCCL_FACTOR = {"LL": 0.5, "LL128": 0.95, "Simple": 1.0}


def _hw(cid: str):
    return hardware_arrays(load_hardware(cid), 16)


def _tree_allreduce_by_hand(g, nodes, b_intra, b_inter, hop_intra, protocols):
    """Best (latency, bandwidth) over `protocols` of the NCCL tree all-reduce: g GPUs per node."""
    best = None
    for p in protocols:
        lat = 2 * ((g - 1) * hop_intra[p] + NCCL_NET_HOP[p] * math.log2(nodes)) * US + NCCL_BASE[p] * US
        bw = (nodes * (g - 1) / b_intra + (nodes - 1) / b_inter) * M / (g * nodes) / NCCL_FACTOR[p]
        if best is None or lat + bw < best[0] + best[1]:
            best = (lat, bw)
    return best


def _check(got, want):
    np.testing.assert_allclose([float(got[0]), float(got[1])], want, rtol=1e-12, atol=0)


# ---- all-reduce by hand, one fabric at a time --------------------------------------------------------------


def test_nvlink_allreduce_two_h100_nodes():
    # DGX H100: NVLink 900 GB/s bidirectional, one 400 Gb/s NIC per GPU; 16 GPUs on 2 nodes.
    want = _tree_allreduce_by_hand(8, 2, 900e9 / 2, 400e9 / 8, NCCL_NVLINK_HOP, ("LL", "LL128", "Simple"))
    _check(nvlink_time_s(16.0, 2.0, M, _hw("h100-sxm"), xp=np), want)
    # The old name is the same model, number for number.
    assert nccl_time_s is nvlink_time_s and COLLECTIVE_MODELS["nccl"] is nvlink_time_s


def test_xgmi_allreduce_uses_one_link_per_peer():
    # MI300X: 7 Infinity Fabric links of 128 GB/s bidirectional, 64 GB/s per direction each. Four GPUs of the
    # node reach their 3 peers over 3 links: 192 GB/s, not the 448 GB/s of all 7.
    link = 128e9 / 2
    hw = _hw("mi300x")
    want = _tree_allreduce_by_hand(4, 1, 3 * link, 50e9, NCCL_NVLINK_HOP, ("LL", "LL128", "Simple"))
    _check(xgmi_time_s(4.0, 1.0, M, hw, xp=np), want)
    two = _tree_allreduce_by_hand(2, 1, link, 50e9, NCCL_NVLINK_HOP, ("LL", "LL128", "Simple"))
    _check(xgmi_time_s(2.0, 1.0, M, hw, xp=np), two)
    # All eight use all seven links: then the mesh moves data as fast as a switch of 7 × 64 GB/s would.
    eight = _tree_allreduce_by_hand(8, 1, 7 * link, 50e9, NCCL_NVLINK_HOP, ("LL", "LL128", "Simple"))
    _check(xgmi_time_s(8.0, 1.0, M, hw, xp=np), eight)


def test_pcie_allreduce_has_pci_hops_and_no_ll128():
    # L4: PCIe Gen4 x16, 64 GB/s bidirectional = 32 GB/s per direction; 8 GPUs in one server.
    hw = _hw("l4")
    for message in (M, 1e4):  # Simple wins the large message, LL the small one
        best = None
        for p in ("LL", "Simple"):
            lat = (2 * 7 * NCCL_PCI_HOP[p] + NCCL_BASE[p]) * US
            bw = 7 / 8 * message / (64e9 / 2) / NCCL_FACTOR[p]
            if best is None or lat + bw < sum(best):
                best = (lat, bw)
        _check(pcie_time_s(8.0, 1.0, message, hw, xp=np), best)


def test_ici_torus_allreduce_counts_hops_per_dimension():
    # TPU v5p: ICI 1,200 GB/s bidirectional per chip (600 GB/s per direction), 3D torus, 1 µs per hop.
    hw = _hw("tpu-v5p")
    # slices 2×2 (4 chips), 2×2×2 (8), 4×4×4 (64): 1 + 1, 1 + 1 + 1, 3 + 3 + 3 ring steps per phase.
    for chips, hops in ((4, 2), (8, 3), (64, 9)):
        want = (2 * hops * US, (chips - 1) / chips * M / (1200e9 / 2))
        _check(ici_torus_time_s(float(chips), float(chips), M, hw, xp=np), want)
    # TPU v6e: 2D torus, 800 GB/s bidirectional; a 4×4 slice takes 3 + 3 steps (a ring of 16 takes 15).
    _check(ici_torus_time_s(16.0, 16.0, M, _hw("tpu-v6e"), xp=np), (2 * 6 * US, 15 / 16 * M / (800e9 / 2)))


def test_neuronlink_allreduce_two_trn2_instances():
    # trn2.48xlarge: 16 chips, 4×4 2D NeuronLink torus (1.28 TB/s per chip, taken as bidirectional), EFAv3
    # 3.2 Tb/s per instance = 25 GB/s per chip; 32 chips on 2 instances, 1 µs per hop.
    b_nl, b_efa = 1.28e12 / 2, 3.2e12 / 8 / 16
    hops = 3 + 3 + 1  # the 4×4 torus, then one step between the two instances
    want = (2 * hops * US, (2 * 15 / b_nl + 1 / b_efa) * M / 32)
    _check(neuronlink_time_s(32.0, 2.0, M, _hw("trainium2"), xp=np), want)


def test_gaudi_roce_allreduce_one_step_inside_the_node():
    # Gaudi 3: 3 × 200 GbE ports to each of 7 peers (75 GB/s per direction per peer), 3 × 200 GbE scale-out.
    link, out = 3 * 200e9 / 8, 3 * 200e9 / 8
    hw = _hw("gaudi3")
    # Two nodes of 8: one direct step inside the node and one between nodes, per phase.
    _check(gaudi_roce_time_s(16.0, 2.0, M, hw, xp=np), (2 * 2 * US, (2 * 7 / (7 * link) + 1 / out) * M / 16))
    # Two cards of one node share a single 75 GB/s peer link.
    _check(gaudi_roce_time_s(2.0, 1.0, M, hw, xp=np), (2 * 1 * US, 1 / link * M / 2))


def test_ring_allreduce_groq():
    # Erdil 2025 reference notebook: 1.65e11 B/s chip to chip, 1 µs per ring hop; 8 chips.
    _check(ring_time_s(8.0, 8.0, M, _hw("groq-lpu"), xp=np), (2 * 7 * US, 7 / 8 * M / 1.65e11))


# ---- every fabric: numpy and JAX agree, nothing below zero, nothing for one rank ---------------------------


@pytest.mark.parametrize("fabric", sorted(FABRICS))
def test_every_fabric_model_runs_on_numpy_and_jax(fabric):
    part = {"nvlink": "h100-sxm", "xgmi": "mi300x", "ici-torus": "tpu-v5p", "neuronlink": "trainium2"}
    part |= {"gaudi-roce": "gaudi3", "pcie": "l4", "ring": "groq-lpu"}
    hw = _hw(part[fabric])
    ranks = np.array([1.0, 1.5, 2.0, 2.83, 4.0, 8.0, 16.0, 64.0])
    nodes = np.ceil(ranks / hw.node_size)
    for collective in ("allreduce", "all-to-all", "p2p"):
        got_np = collective_time_s(fabric, ranks, nodes, 1e6, hw, collective, xp=np)
        got_jax = collective_time_s(fabric, jnp.asarray(ranks), jnp.asarray(nodes), 1e6, hw, collective)
        for a, b in zip(got_np, got_jax):
            np.testing.assert_allclose(np.asarray(b), a, rtol=1e-12)
            assert np.all(a >= 0.0) and np.all(np.isfinite(a))
        assert got_np[0][0] == 0.0 and got_np[1][0] == 0.0  # one rank: no collective


def test_every_fabric_has_a_model_and_nothing_else_does():
    assert set(COLLECTIVE_MODELS) == set(FABRICS) | set(FABRIC_ALIASES)
    with pytest.raises(ValueError, match=r"collectives='mpi': unknown fabric; expected one of nvlink"):
        collective_time_s("mpi", 2.0, 1.0, 1.0, _hw("h100-sxm"))


# ---- the catalog names real fabrics ------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(hardware_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_every_catalog_part_names_a_known_fabric_with_a_source(path: Path):
    entry = load_yaml_mapping(path)["collectives"]
    assert isinstance(entry, dict) and str(entry.get("source", "")).strip(), (
        f"{path.name}: fabric needs a source"
    )
    # The file spells the canonical name (not an alias), and the spec keeps it.
    assert entry["value"] in FABRICS, f"{path.name}: {entry['value']!r} is not a fabric name"
    assert load_hardware(path.stem).collectives == entry["value"]


def test_nccl_is_read_as_nvlink():
    fields = dict(flop_per_s={16: 1e15}, hbm_bandwidth_bytes_per_s=3e12, hbm_capacity_bytes=8e10)
    old = HardwareSpec(**fields, collectives="nccl")
    assert old.collectives == "nvlink" and old == HardwareSpec(**fields, collectives="nvlink")
    assert HardwareSpec(**fields).collectives == "nvlink"  # the default


def test_pcie_parts_get_the_pcie_protocol_table():
    for cid in ("h100-pcie", "a100-pcie-80g", "l4", "l40s", "rtx-pro-6000"):
        h = load_hardware(cid)
        assert h.collectives == "pcie"
        assert [(p.name, p.intra_hop_s) for p in h.nccl_protocols] == [("LL", 1.0e-6), ("Simple", 28e-6)]
    assert [p.name for p in load_hardware("h100-sxm").nccl_protocols] == ["LL", "LL128", "Simple"]


# ---- an unknown fabric in a user's file --------------------------------------------------------------------


def _user_file(tmp_path: Path, fabric: str) -> Path:
    path = tmp_path / "my-accelerator.yaml"
    path.write_text(
        "name: My accelerator\nflop_per_s: {16: 1.0e15}\nhbm_bandwidth_bytes_per_s: 3.35e12\n"
        f"hbm_capacity_bytes: 80.0e9\ncollectives: {{value: {fabric}, source: my notes}}\n",
        encoding="utf-8",
    )
    return path


def test_unknown_fabric_in_a_user_file_is_one_clear_line(tmp_path):
    with pytest.raises(SpecError) as info:
        load_hardware_file(_user_file(tmp_path, "infiniband"))
    msg = str(info.value)
    assert "\n" not in msg
    assert "my-accelerator.yaml" in msg and "collectives = 'infiniband'" in msg
    for name in FABRICS:
        assert name in msg, f"the message does not list {name!r}: {msg}"
    assert "nccl" in msg  # the alias is accepted, so it is listed too
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_near_miss_fabric_suggests_the_name(tmp_path):
    with pytest.raises(SpecError, match=r"collectives = 'nvlnk': unknown fabric; did you mean 'nvlink'\?"):
        load_hardware_file(_user_file(tmp_path, "nvlnk"))
    assert load_hardware_file(_user_file(tmp_path, "ICI_Torus")).collectives == "ici-torus"


# ---- the command line shows the fabric ---------------------------------------------------------------------


def test_catalog_hardware_lists_the_fabric(capsys):
    from infereco.cli.main import main

    assert main(["catalog", "hardware", "--json"]) == 0
    rows = {r["id"]: r["collectives"] for r in json.loads(capsys.readouterr().out)}
    assert rows.keys() == set(list_hardware())
    assert (rows["h100-sxm"], rows["mi300x"], rows["tpu-v5p"], rows["l4"]) == (
        "nvlink",
        "xgmi",
        "ici-torus",
        "pcie",
    )
    assert (rows["trainium2"], rows["gaudi3"], rows["groq-lpu"]) == ("neuronlink", "gaudi-roce", "ring")
