"""`infereco compare`: several scenarios (files or MODEL@HARDWARE[:CONTEXT] items) on one frontier plot.

Parser only; the handler is infereco/cli/_run_compare.py."""

from __future__ import annotations

import argparse
import os

from infereco.cli._common import add_output_options, check_plot_file, plot_path
from infereco.errors import SpecError

FORM = "MODEL@HARDWARE[:CONTEXT]"
EXAMPLE = "llama-3-70b@h200:8000"


def is_spec_item(item: str) -> bool:
    """MODEL@HARDWARE[:CONTEXT] rather than a scenario file."""
    return "@" in item and not item.endswith((".yaml", ".yml", ".json")) and not os.path.exists(item)


def split_item(item: str) -> tuple[str, str, int | None]:
    """'MODEL@HARDWARE[:CONTEXT]' -> (model, hardware, context or None); ValueError says what is wrong."""
    model, _, rest = item.partition("@")
    hardware, colon, ctx = rest.partition(":")
    if not model.strip() or not hardware.strip():
        raise ValueError(f"{item!r}: expected {FORM} with a model and a hardware id, e.g. {EXAMPLE}")
    context = None
    if colon:
        if not ctx.strip().isdigit() or int(ctx) <= 0:
            raise ValueError(
                f"{item!r}: the suffix after ':' must be the context length, a positive integer "
                f"of tokens ({FORM}, e.g. {EXAMPLE}); got {ctx!r}"
            )
        context = int(ctx)
    return model.strip(), hardware.strip(), context


def compare_item(text: str) -> str:
    """argparse type: a scenario file, or a well-formed MODEL@HARDWARE[:CONTEXT]."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"empty item: expected a scenario file or {FORM}, e.g. {EXAMPLE}")
    if is_spec_item(text):
        try:
            split_item(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def register(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="compare several scenarios on one plot",
        description=f"Each item is a scenario YAML file or {FORM}, e.g. "
        "infereco compare llama-3-70b@h100-sxm llama-3-70b@h200 llama-3-70b@b200:8000",
    )
    p.add_argument("items", nargs="+", type=compare_item, help=f"scenario files or {FORM}")
    p.add_argument("--preset", default=None, help="preset for MODEL@HARDWARE items")
    p.add_argument("--alpha", type=float, default=None, help="preference exponent")
    add_output_options(p, plot_default="infereco-compare.png")
    p.set_defaults(func="infereco.cli._run_compare:run", check=check)


def check(args) -> None:
    items = args.items
    for i, item in enumerate(items):
        if is_spec_item(item) or os.path.isfile(item):
            continue
        if os.path.isdir(item):
            raise SpecError(f"{item}: is a folder; expected a scenario file or {FORM}, e.g. {EXAMPLE}")
        hint = f"e.g. {EXAMPLE}"
        nxt = items[i + 1] if i + 1 < len(items) else None
        if nxt is not None and "@" not in nxt and not os.path.exists(nxt):
            hint = f"did you mean {item}@{nxt}?"
        raise SpecError(
            f"{item!r} is not a scenario file: compare takes scenario files or {FORM} items; {hint}"
        )
    check_plot_file(plot_path(args))
