"""`infereco catalog`: list and show the catalog's models and accelerators, with sources."""

from __future__ import annotations

from infereco.cli._common import print_json, print_records_csv, table
from infereco.specs.catalog import list_hardware, list_models, load_hardware, load_model


def register(sub) -> None:
    p = sub.add_parser("catalog", help="list or show catalog models and hardware (with sources)",
                       description="infereco catalog models | hardware | show ID")
    p.add_argument("what", choices=["models", "hardware", "show"], help="what to list, or show one id")
    p.add_argument("id", nargs="?", help="the id to show (with 'show')")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    p.set_defaults(func=run)


def _model_row(i):
    m = load_model(i)
    return {"id": i, "name": m.name, "params_b": round(m.total_params / 1e9, 2), "active_b": round(m.active_params / 1e9, 2),
            "layers": m.n_layers, "d_model": m.d_model, "heads": m.n_heads, "kv_heads": m.n_kv_heads,
            "experts": f"{m.n_active_experts}/{m.n_experts}" if m.n_experts > 1 else "dense",
            "attention": "MLA" if m.is_mla else "GQA", "weight_bits": m.weight_bits,
            "kv_kb_per_token": round(m.kv_cache_bytes_per_token / 1e3, 1)}


def _hw_row(i):
    h = load_hardware(i)
    return {"id": i, "name": h.name, "bf16_tflops": h.flop_per_s.get(16, 0) / 1e12, "fp8_tflops": h.flop_per_s.get(8, 0) / 1e12,
            "hbm_tb_s": h.hbm_bandwidth_bytes_per_s / 1e12, "hbm_gb": h.hbm_capacity_bytes / 1e9,
            "node_size": h.node_size, "collectives": h.collectives, "usd_per_hour": h.price_usd_per_hour}


def run(args) -> int:
    if args.what == "show":
        if not args.id:
            print("infereco catalog show: give an id, e.g. infereco catalog show h100-sxm")
            return 2
        try:
            spec = load_hardware(args.id)
        except KeyError:
            spec = load_model(args.id)
        data = spec.model_dump()
        if args.json:
            print_json(data)
        else:
            rows = [[k, v] for k, v in data.items() if k not in ("sources", "nccl_protocols")]
            print(table(rows, ["field", "value"]))
            for k, v in (data.get("sources") or {}).items():
                print(f"  source of {k}: {v}")
            if data.get("source"):
                print(f"  source: {data['source']}")
        return 0
    rows = [_model_row(i) for i in list_models()] if args.what == "models" else [_hw_row(i) for i in list_hardware()]
    if args.json:
        print_json(rows)
    elif args.csv:
        print_records_csv(rows)
    else:
        print(table([list(r.values()) for r in rows], list(rows[0])))
    return 0
