"""Handler of `infereco catalog` (parser: infereco/cli/catalog.py)."""

from __future__ import annotations

from infereco.cli._common import print_json, print_records_csv, table
from infereco.cli._run_common import describe_model
from infereco.specs.catalog import list_hardware, list_models, load_hardware, load_model
from infereco.specs.hf_config import load_hf_config


def _model_row(i):
    m = load_model(i)
    return {
        "id": i,
        "name": m.name,
        "params_b": round(m.total_params / 1e9, 2),
        "active_b": round(m.active_params / 1e9, 2),
        "layers": m.n_layers,
        "d_model": m.d_model,
        "heads": m.n_heads,
        "kv_heads": m.n_kv_heads,
        "experts": f"{m.n_active_experts}/{m.n_experts}" if m.n_experts > 1 else "dense",
        "attention": m.attention_kind,
        "weight_bits": m.weight_bits,
        "kv_kb_per_token": round(m.kv_cache_bytes_per_token / 1e3, 1),
    }


def _hw_row(i):
    h = load_hardware(i)
    return {
        "id": i,
        "name": h.name,
        "bf16_tflops": h.flop_per_s.get(16, 0) / 1e12,
        "fp8_tflops": h.flop_per_s.get(8, 0) / 1e12,
        "hbm_tb_s": h.hbm_bandwidth_bytes_per_s / 1e12,
        "hbm_gb": h.hbm_capacity_bytes / 1e9,
        "node_size": h.node_size,
        "collectives": h.collectives,
        "usd_per_hour": h.price_usd_per_hour,
    }


def run(args) -> int:
    if args.what == "show":
        if args.config:
            spec = load_hf_config(args.config, weight_bits=args.weight_bits)
            header = describe_model(spec, args.config)
        else:
            try:
                spec, header = load_hardware(args.id), None
            except KeyError:
                spec = load_model(args.id)
                header = describe_model(spec, f"the catalog ({args.id})")
        data = spec.model_dump()
        if args.json:
            print_json(data)
        else:
            if header:
                print(header)
            # Free text (the source notes) goes below the table, so that the table stays narrow.
            rows = [[k, v] for k, v in data.items() if k not in ("sources", "nccl_protocols", "source")]
            print(table(rows, ["field", "value"]))
            for k, v in (data.get("sources") or {}).items():
                print(f"  source of {k}: {v}")
            if data.get("source"):
                print(f"  source: {data['source']}")
        return 0
    rows = (
        [_model_row(i) for i in list_models()]
        if args.what == "models"
        else [_hw_row(i) for i in list_hardware()]
    )
    if args.json:
        print_json(rows)
    elif args.csv:
        print_records_csv(rows)
    else:
        print(table([list(r.values()) for r in rows], list(rows[0])))
    return 0
