"""Generate docs/catalog.md: every catalog model and accelerator, with the source of every number.

    python scripts/gen_catalog_docs.py           # write docs/catalog.md
    python scripts/gen_catalog_docs.py --check   # exit 1 if docs/catalog.md is out of date (CI)
    python scripts/gen_catalog_docs.py --stdout  # print instead of writing

Everything comes from the public API (`list_models`, `list_hardware`, `load_model`, `load_hardware`) and the
presets (`PRESETS`), so the page shows exactly what the library loads.
"""

from __future__ import annotations

import argparse
import difflib
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "catalog.md"

# Hardware fields in display order: (field, label, formatter).
_SI = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si(value: float, unit: str) -> str:
    """3.35e12, 'B/s' -> '3.35 TB/s'."""
    if value is None:
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    for scale, prefix in _SI:
        if abs(value) >= scale:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:.4g} {unit}"


def micro(value: float) -> str:
    return f"{value * 1e6:.3g} µs"


HW_FIELDS = [
    ("hbm_bandwidth_bytes_per_s", "HBM bandwidth", lambda v: si(v, "B/s")),
    ("hbm_capacity_bytes", "HBM capacity", lambda v: si(v, "B")),
    ("hbm_visible_bytes", "memory the driver reports (engines' memory fit)", lambda v: si(v, "B")),
    ("l2_bytes", "L2 / on-chip SRAM", lambda v: si(v, "B") if v else "—"),
    ("intra_node_bandwidth_bytes_per_s", "scale-up bandwidth (per direction)", lambda v: si(v, "B/s")),
    ("inter_node_bandwidth_bytes_per_s", "scale-out bandwidth (per direction)", lambda v: si(v, "B/s")),
    ("node_size", "accelerators per node", str),
    ("kernel_launch_s", "kernel launch latency", micro),
    ("collectives", "fabric (collective model)", str),
    ("ring_hop_s", "hop latency (ring, ici-torus, neuronlink, gaudi-roce)", micro),
    ("torus_dimensions", "torus dimensions (ici-torus, neuronlink)", str),
    ("flop_utilization", "sustained FLOP fraction", lambda v: f"{v:g}"),
    ("bandwidth_utilization", "sustained HBM fraction", lambda v: f"{v:g}"),
    ("price_usd_per_hour", "price", lambda v: f"${v:.3g}/h"),
    ("power_kw", "board power", lambda v: "—" if v is None else f"{v * 1e3:.0f} W"),
]


def cell(text) -> str:
    """Markdown-table-safe text."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def flops_summary(hw) -> str:
    return ", ".join(f"{b}-bit {si(r, 'FLOP/s')}" for b, r in sorted(hw.flop_per_s.items()))


def models_section() -> list[str]:
    from infereco import list_models, load_model

    ids = list_models()
    out = [
        "## Models",
        "",
        (
            f"{len(ids)} models in `infereco/data/models/*.yaml`. Load one with `load_model(id)`, or "
            "override fields with `{base: id, field: value}` (e.g. `{base: llama-3-70b, weight_bits: 8}`). "
            "Parameter counts and the KV cache are derived by `ModelSpec` (embedding and unembedding counted "
            "separately, as in the reference notebook); `n_kv_heads` has the Hugging Face meaning (K and V "
            "heads are not counted twice)."
        ),
        "",
        (
            "| id | name | d_model | d_ff | FFN (up, down) | layers | heads (q / kv) | d_head | vocab "
            "| experts (routed / active / shared) | attention | weight / act. bits | params total / active "
            "| KV cache per token |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i in ids:
        m = load_model(i)
        experts = (
            "dense" if m.n_experts == 1 else f"{m.n_experts} / {m.n_active_experts} / {m.n_shared_experts}"
        )
        if m.n_dense_layers:
            experts += f" ({m.n_dense_layers} dense layers, d_ff {m.d_ff_dense})"
        if m.is_mla:
            attn = f"MLA (latent {m.kv_lora_rank} + RoPE {m.qk_rope_head_dim})"
        elif m.n_kv_heads == 1:
            attn = "MQA"
        elif m.n_kv_heads == m.n_heads:
            attn = "MHA"
        else:
            attn = f"GQA (g = {m.group_size})"
        if m.parallel_attention:
            attn += ", parallel block"
        out.append(
            f"| `{i}` | {cell(m.name)} | {m.d_model:,} | {m.d_ff:,} "
            f"| {m.ffn_matrices[0]}, {m.ffn_matrices[1]} | {m.n_layers} | {m.n_heads} / {m.n_kv_heads} "
            f"| {m.head_dim} | {m.vocab_size:,} | {experts} | {attn} | {m.weight_bits} / {m.activation_bits} "
            f"| {m.total_params / 1e9:,.1f} B / {m.active_params / 1e9:,.1f} B "
            f"| {si(m.kv_cache_bytes_per_token, 'B')} |"
        )
    out += ["", "### Model sources", "", "| id | source |", "|---|---|"]
    for i in ids:
        m = load_model(i)
        out.append(f"| `{i}` | {cell(m.source or '— (no source recorded)')} |")
    return out


def hardware_section() -> list[str]:
    from infereco import list_hardware, load_hardware
    from infereco.specs.fabric import FABRICS, PROTOCOL_FABRICS

    ids = list_hardware()
    out = [
        "## Accelerators",
        "",
        (
            f"{len(ids)} accelerators in `hardware_specs/*.yaml`. Load one with `load_hardware(id)`; "
            "`spec.sources` maps each field to its source. FLOP/s are dense peaks (no 2:4 sparsity); "
            "bandwidths are per accelerator and per direction. These are the numbers of the `default` "
            "preset; the `erdil-*` presets replace some of them (see [below](#preset-overrides))."
        ),
        "",
        (
            "`collectives` names the interconnect fabric, and with it the collective time model "
            "(`infereco/physics/collectives.py`): "
            + "; ".join(f"`{name}`: {what}" for name, what in FABRICS.items())
            + " (`nccl` is accepted for `nvlink`)."
        ),
        "",
        (
            "| id | name | dense peak FLOP/s | HBM | capacity | scale-up | scale-out | node | collectives "
            "| price |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i in ids:
        h = load_hardware(i)
        out.append(
            f"| `{i}` | {cell(h.name)} | {flops_summary(h)} | {si(h.hbm_bandwidth_bytes_per_s, 'B/s')} | "
            f"{si(h.hbm_capacity_bytes, 'B')} | {si(h.intra_node_bandwidth_bytes_per_s, 'B/s')} | "
            f"{si(h.inter_node_bandwidth_bytes_per_s, 'B/s')} | {h.node_size} | {h.collectives} | "
            f"${h.price_usd_per_hour:.3g}/h |"
        )
    for i in ids:
        h = load_hardware(i)
        out += ["", f"### `{i}`: {h.name}", "", "| field | value | source |", "|---|---|---|"]
        for bits, rate in sorted(h.flop_per_s.items()):
            src = h.sources.get(f"flop_per_s.{bits}", "—")
            out.append(f"| peak FLOP/s, {bits}-bit operands | {si(rate, 'FLOP/s')} | {cell(src)} |")
        for field, label, fmt in HW_FIELDS:
            v = getattr(h, field)
            if field == "ring_hop_s" and h.collectives in PROTOCOL_FABRICS:
                continue
            if field == "torus_dimensions" and h.collectives not in ("ici-torus", "neuronlink"):
                continue
            if field == "hbm_visible_bytes" and v is None:
                continue
            src = h.sources.get(
                field,
                "—"
                if field not in ("flop_utilization", "bandwidth_utilization")
                else "library default: datasheet peak (calibration fits sustained fractions)",
            )
            out.append(f"| {label} | {fmt(v)} | {cell(src)} |")
        if h.collectives in PROTOCOL_FABRICS:
            protos = ", ".join(
                f"{p.name} {micro(p.base_s)} + hops {micro(p.intra_hop_s)} / {micro(p.inter_hop_s)}, "
                f"bandwidth ×{p.bandwidth_factor:g}"
                for p in h.nccl_protocols
            )
            out.append(
                f"| NCCL protocols (base + intra/inter-node hop) | {protos} | NCCL `src/graph/tuning.cc` "
                "as in Erdil 2025 §3.3 (Eq. 23) and the reference notebook"
                + (" (PCI hop row; LL128 only over NVLink)" if h.collectives == "pcie" else "")
                + " |"
            )
    return out


def presets_section() -> list[str]:
    from infereco import PRESETS

    out = [
        "## Preset overrides",
        "",
        (
            "The presets that reproduce the papers replace catalog numbers with their source's numbers. "
            "Fields not listed keep the catalog value; accelerators not listed get the preset's defaults "
            "only."
        ),
        "",
    ]
    for name, p in PRESETS.items():
        out += [f"### `{name}`", "", p.description, ""]
        rows = []
        for field, v in p.hardware_defaults.items():
            rows.append(("every accelerator", field, v))
        if p.bandwidth_scale != 1.0:
            rows.append(
                (
                    "accelerators without an entry below (NCCL)",
                    "scale-up and scale-out bandwidth",
                    f"× {p.bandwidth_scale:g}",
                )
            )
        for hw, fields in p.hardware_overrides.items():
            for field, v in fields.items():
                rows.append((f"`{hw}`", field, v))
        for model, fields in p.model_overrides.items():
            for field, v in fields.items():
                rows.append((f"model `{model}`", field, v))
        if not rows:
            out += ["No overrides: the catalog numbers as listed above.", ""]
            continue
        out += ["| applies to | field | value |", "|---|---|---|"]
        for who, field, v in rows:
            if isinstance(v, dict):
                v = ", ".join(f"{k}-bit {si(r, 'FLOP/s')}" for k, r in sorted(v.items()))
            elif isinstance(v, float) and field.endswith("_bytes_per_s"):
                v = si(v, "B/s")
            elif isinstance(v, float) and field.endswith("_bytes"):
                v = si(v, "B")
            elif isinstance(v, float) and field.endswith("_s"):
                v = micro(v)
            elif isinstance(v, float) and field == "price_usd_per_hour":
                v = f"${v:.4g}/h"
            out.append(f"| {who} | {field} | {cell(v)} |")
        out.append("")
    return out


def generate() -> str:
    lines = [
        "# Catalog",
        "",
        "<!-- Generated by scripts/gen_catalog_docs.py from the library's catalog; do not edit by hand. -->",
        "",
        (
            "Every model and accelerator infereco ships, with the source of every number. Regenerate this "
            "page with `python scripts/gen_catalog_docs.py` after editing `hardware_specs/*.yaml` or "
            "`infereco/data/models/*.yaml`. From the command line, `infereco catalog` lists the same entries."
        ),
        "",
    ]
    lines += models_section() + [""] + hardware_section() + [""] + presets_section()
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true", help="exit 1 if docs/catalog.md differs from the catalog")
    g.add_argument("--stdout", action="store_true", help="print the page instead of writing it")
    args = ap.parse_args(argv)
    text = generate()
    if args.stdout:
        sys.stdout.write(text)
        return 0
    if args.check:
        old = OUT.read_text() if OUT.exists() else ""
        if old == text:
            print(f"{OUT.relative_to(REPO)} is up to date")
            return 0
        diff = difflib.unified_diff(
            old.splitlines(), text.splitlines(), "committed", "generated", lineterm="", n=0
        )
        print("\n".join(list(diff)[:40]))
        print(
            f"{OUT.relative_to(REPO)} is out of date: run python scripts/gen_catalog_docs.py", file=sys.stderr
        )
        return 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
