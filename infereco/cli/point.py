"""`infereco point`: evaluate one named deployment (model, hardware, TP/EP/PP, batch).

Parser only; the handler is infereco/cli/_run_point.py."""

from __future__ import annotations

from infereco.cli._common import (
    add_config_options,
    add_output_options,
    catalog_id,
    check_config,
    check_plot_file,
    price_arg,
)


def register(sub) -> None:
    p = sub.add_parser(
        "point",
        help="evaluate one deployment: speed, cost, MFU and where the time goes",
        description="Evaluate one deployment. Example: infereco point --model llama-3-70b "
        "--hardware h100-sxm --tp 8 --batch 64 --context-length 4000. MFU is in percent in the "
        "table and a fraction of peak in --json / --csv.",
    )
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--model", type=catalog_id, help="catalog model id")
    add_config_options(p, model)
    p.add_argument("--hardware", type=catalog_id, required=True, help="catalog hardware id")
    p.add_argument("--tp", type=int, default=None, help="tensor-parallel degree per expert group")
    p.add_argument("--ep", type=int, default=1, help="expert-parallel degree")
    p.add_argument("--pp", type=int, default=1, help="pipeline-parallel degree")
    p.add_argument("--tp-2d", action="store_true", help="2D tensor parallelism (stage size a perfect square)")
    p.add_argument("--attn-dp", action="store_true", help="data-parallel attention (MLA models)")
    p.add_argument("--n-gpu", type=float, default=None, help="instead of a layout: GPUs (continuous model)")
    p.add_argument("--batch", type=float, required=True, help="concurrent sequences")
    p.add_argument("--context-length", type=int, default=1000, help="tokens in context")
    p.add_argument("--preset", type=catalog_id, default="default", help="default, erdil-2024, erdil-paper")
    p.add_argument(
        "--engine", type=catalog_id, default="vllm", help="memory-fit rule: vllm, sglang, trtllm, ideal"
    )
    p.add_argument(
        "--price",
        type=price_arg,
        default=None,
        help="USD per accelerator-hour, or a price tier of the accelerator (e.g. hyperscaler, neocloud)",
    )
    p.add_argument(
        "--tornado",
        metavar="FILE",
        help="write a tornado plot of the elasticities of $/M tokens "
        "(jax.grad) with respect to price, bandwidths, FLOP/s, latencies and utilization",
    )
    add_output_options(p)
    p.set_defaults(func="infereco.cli._run_point:run", check=check)


def check(args) -> None:
    check_config(args.config, args.weight_bits)
    check_plot_file(args.plot)
    check_plot_file(args.tornado, "--tornado")
