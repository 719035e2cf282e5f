"""The 2026 fleet in the hardware catalog (project issue "The 2026 fleet", item 5): every new accelerator
loads, its aliases resolve, its numbers sit in sane ranges, and one hand check per part family ties a stored
number back to the datasheet figure it was derived from."""

from __future__ import annotations

import pytest

from infereco import pareto_frontier
from infereco.specs.catalog import hardware_dir, load_hardware, normalise_id
from infereco.specs.yaml_io import load_yaml_mapping

FLEET = [
    "b300",
    "gb200-nvl72",
    "gb300-nvl72",
    "h20",
    "h100-pcie",
    "a100-sxm-40g",
    "a100-pcie-80g",
    "l4",
    "rtx-pro-6000",
    "mi325x",
    "mi355x",
    "tpu-v5p",
    "tpu-v6e",
    "tpu-v7",
    "trainium2",
    "gaudi3",
]
# Parts with FP4 tensor cores: Blackwell (data-centre and RTX PRO) and CDNA 4.
FP4_PARTS = {"b300", "gb200-nvl72", "gb300-nvl72", "rtx-pro-6000", "mi355x"}
# Gaudi 3 runs FP8 at its BF16 matrix rate (1,835 TFLOP/s both); every other part doubles.
FP8_EQUALS_BF16 = {"gaudi3"}
# The interconnect each part's collectives run over (issue 13): SXM/NVL parts NVLink, cards without NVLink
# PCIe, AMD Instinct Infinity Fabric, TPUs the ICI torus, Trainium NeuronLink, Gaudi its integrated RoCE.
FABRIC = {
    **dict.fromkeys(["b300", "gb200-nvl72", "gb300-nvl72", "h20", "a100-sxm-40g"], "nvlink"),
    **dict.fromkeys(["h100-pcie", "a100-pcie-80g", "l4", "rtx-pro-6000"], "pcie"),
    **dict.fromkeys(["mi325x", "mi355x"], "xgmi"),
    **dict.fromkeys(["tpu-v5p", "tpu-v6e", "tpu-v7"], "ici-torus"),
    "trainium2": "neuronlink",
    "gaudi3": "gaudi-roce",
}


def _aliases(cid: str) -> list[str]:
    raw = load_yaml_mapping(hardware_dir() / f"{cid}.yaml")
    return [normalise_id(a) for a in raw.get("aliases", []) or []]


@pytest.mark.parametrize("cid", FLEET)
def test_fleet_part_loads_with_aliases(cid: str):
    h = load_hardware(cid)
    assert h.name and h.name != "custom"
    aliases = _aliases(cid)
    assert aliases, f"{cid}: give it at least one alias"
    for alias in aliases:
        assert load_hardware(alias) == h


@pytest.mark.parametrize("cid", FLEET)
def test_fleet_part_has_fp8_and_bf16(cid: str):
    h = load_hardware(cid)
    assert 8 in h.flop_per_s and 16 in h.flop_per_s
    if cid in FP8_EQUALS_BF16:
        assert h.flop_per_s[8] == h.flop_per_s[16]
    else:
        assert h.flop_per_s[8] > h.flop_per_s[16]
    if cid in FP4_PARTS:
        assert h.flop_per_s[4] > h.flop_per_s[8]
    else:
        assert 4 not in h.flop_per_s


@pytest.mark.parametrize("cid", FLEET)
def test_fleet_part_sanity_ranges(cid: str):
    h = load_hardware(cid)
    assert 16e9 <= h.hbm_capacity_bytes <= 400e9
    assert 0.2e12 <= h.hbm_bandwidth_bytes_per_s <= 10e12
    assert 1e13 < h.flop_per_s[16] < 1e16
    assert h.price_usd_per_hour > 0
    assert h.collectives == FABRIC[cid]
    for key in ("price_usd_per_hour", "hbm_bandwidth_bytes_per_s", "flop_per_s.8", "flop_per_s.16"):
        assert h.sources.get(key, "").strip(), f"{cid}: {key} has no source"


def test_nvl72_parts_are_one_72_gpu_nvlink_domain():
    for cid in ("gb200-nvl72", "gb300-nvl72"):
        h = load_hardware(cid)
        assert h.node_size == 72
        assert h.intra_node_bandwidth_bytes_per_s == 900e9  # 130 TB/s NVLink per rack ≈ 1.8 TB/s per GPU
    assert load_hardware("b300").node_size == 8


@pytest.mark.parametrize("cid", ["b300", "gb200-nvl72", "gb300-nvl72", "mi355x", "tpu-v7", "gaudi3", "l4"])
def test_fleet_part_has_a_llama_70b_frontier(cid: str):
    f = pareto_frontier("llama-3-70b", cid, context_length=1000, space={"max_gpus_per_instance": 8})
    assert len(f) > 0


# ---- one hand check per part family ------------------------------------------------------------------------


def test_gb200_per_gpu_numbers_are_the_rack_over_72():
    # NVIDIA GB200 NVL72: 576 TB/s HBM3e, 13.4 TB HBM3e, 1,440 PFLOP/s FP4 with sparsity per rack.
    h = load_hardware("gb200-nvl72")
    assert h.hbm_bandwidth_bytes_per_s == pytest.approx(576e12 / 72)
    assert h.hbm_capacity_bytes == pytest.approx(13.4e12 / 72, rel=0.01)
    assert h.flop_per_s[4] == pytest.approx(1440e15 / 72 / 2)  # dense = half the sparse figure
    assert h.price_usd_per_hour == 2.75  # InferenceX neocloud tier


def test_gb300_dense_fp4_is_the_rack_figure_over_72():
    # NVIDIA GB300 NVL72: 1,080 PFLOP/s dense FP4 per rack; 20 TB HBM3e at 576 TB/s.
    h = load_hardware("gb300-nvl72")
    assert h.flop_per_s[4] == pytest.approx(1080e15 / 72)
    assert h.hbm_bandwidth_bytes_per_s == pytest.approx(576e12 / 72)
    assert h.hbm_capacity_bytes == pytest.approx(20e12 / 72, rel=0.01)


def test_b300_per_gpu_numbers_are_the_hgx_board_over_8():
    # NVIDIA HGX B300: 108 PFLOP/s dense FP4 and 2.3 TB HBM3e per 8 GPUs.
    h = load_hardware("b300")
    assert h.flop_per_s[4] == pytest.approx(108e15 / 8)
    assert h.hbm_capacity_bytes == pytest.approx(2.3e12 / 8, rel=0.01)
    assert h.inter_node_bandwidth_bytes_per_s == 800e9 / 8  # one 800 Gb/s ConnectX-8 per GPU


def test_hopper_and_ampere_variants():
    # H20: same NVLink 4 as the H100 SXM, about 15% of its BF16 tensor rate.
    h20, h100 = load_hardware("h20"), load_hardware("h100-sxm")
    assert h20.intra_node_bandwidth_bytes_per_s == h100.intra_node_bandwidth_bytes_per_s
    assert h20.flop_per_s[16] / h100.flop_per_s[16] == pytest.approx(0.15, abs=0.01)
    # PCIe parts talk over PCIe: Gen5 128 GB/s and Gen4 64 GB/s bidirectional, halved per direction.
    assert load_hardware("h100-pcie").intra_node_bandwidth_bytes_per_s == 128e9 / 2
    assert load_hardware("a100-pcie-80g").intra_node_bandwidth_bytes_per_s == 64e9 / 2
    # The A100s share tensor cores; only memory differs.
    a40, a80p, a80 = load_hardware("a100-sxm-40g"), load_hardware("a100-pcie-80g"), load_hardware("a100")
    assert a40.flop_per_s == a80p.flop_per_s == a80.flop_per_s
    assert (a40.hbm_capacity_bytes, a40.hbm_bandwidth_bytes_per_s) == (40e9, 1.555e12)


def test_ada_and_rtx_pro_cards():
    # L4: 485 TFLOP/s FP8 with sparsity, so 242.5 dense; 24 GB at 300 GB/s; 72 W.
    l4 = load_hardware("l4")
    assert l4.flop_per_s[8] == pytest.approx(485e12 / 2)
    assert (l4.hbm_capacity_bytes, l4.power_kw) == (24e9, 0.072)
    # RTX PRO 6000: 4 PFLOP/s FP4 with sparsity, so 2 dense; no NVLink (PCIe Gen5).
    r = load_hardware("rtx-pro-6000")
    assert r.flop_per_s[4] == pytest.approx(4e15 / 2)
    assert r.intra_node_bandwidth_bytes_per_s == 64e9


def test_amd_instinct_family():
    # MI325X is MI300X compute with 256 GB HBM3E at 6 TB/s.
    m325, m300 = load_hardware("mi325x"), load_hardware("mi300x")
    assert m325.flop_per_s == m300.flop_per_s
    assert (m325.hbm_capacity_bytes, m325.hbm_bandwidth_bytes_per_s) == (256e9, 6e12)
    # MI355X: 7 Infinity Fabric links × 153.6 GB/s bidirectional, halved per direction; FP4 = 2 × FP8.
    m355 = load_hardware("mi355x")
    assert m355.intra_node_bandwidth_bytes_per_s == pytest.approx(7 * 153.6e9 / 2)
    assert m355.flop_per_s[4] == pytest.approx(2 * m355.flop_per_s[8], rel=1e-3)
    assert m355.price_usd_per_hour == 1.9  # InferenceX neocloud tier


def test_tpus_are_torus_chips_with_half_the_bidirectional_ici():
    # Google Cloud TPU docs: bidirectional ICI per chip v5p 1,200 GB/s, v6e 800 GB/s, TPU7x 1.2 TB/s; v5p and
    # TPU7x pods are 3D tori, v6e a 16×16 2D torus.
    for cid, ici_bidir, dims in (("tpu-v5p", 1200e9, 3), ("tpu-v6e", 800e9, 2), ("tpu-v7", 1200e9, 3)):
        h = load_hardware(cid)
        assert (h.collectives, h.node_size, h.ring_hop_s, h.torus_dimensions) == ("ici-torus", 1, 1e-6, dims)
        assert h.inter_node_bandwidth_bytes_per_s == ici_bidir / 2
    v7 = load_hardware("tpu-v7")
    assert v7.flop_per_s == {16: 2.307e15, 8: 4.614e15}
    assert v7.hbm_capacity_bytes == pytest.approx(192 * 2**30, rel=1e-3)  # 192 GiB


def test_trainium2_and_gaudi3():
    t = load_hardware("trainium2")
    assert t.flop_per_s[8] == 1.299e15 and t.flop_per_s[16] == 6.67e14
    assert t.hbm_capacity_bytes == pytest.approx(96 * 2**30, rel=1e-3)  # 96 GiB
    # NeuronLink-v3 1.28 TB/s per chip inside a 16-chip 4×4 torus; EFAv3 3.2 Tb/s per 16 chips between.
    assert (t.node_size, t.torus_dimensions) == (16, 2)
    assert t.intra_node_bandwidth_bytes_per_s == 1.28e12 / 2
    assert t.inter_node_bandwidth_bytes_per_s == 3.2e12 / 8 / 16
    g = load_hardware("gaudi3")
    assert g.node_size == 8
    assert g.intra_node_bandwidth_bytes_per_s == 21 * 200e9 / 8  # 21 × 200 GbE scale-up ports, bytes/s
    assert g.inter_node_bandwidth_bytes_per_s == 3 * 200e9 / 8  # 3 × 200 GbE scale-out ports
    assert (g.hbm_capacity_bytes, g.hbm_bandwidth_bytes_per_s) == (128e9, 3.7e12)
