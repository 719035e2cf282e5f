"""`infereco catalog`: list and show the catalog's models and accelerators, with sources.

Parser only; the handler is infereco/cli/_run_catalog.py."""

from __future__ import annotations

from infereco.cli._common import add_config_options, catalog_id, check_config
from infereco.errors import SpecError


def register(sub) -> None:
    p = sub.add_parser(
        "catalog",
        help="list or show catalog models and hardware (with sources)",
        description="infereco catalog models | hardware | show ID | show --config CONFIG_JSON",
    )
    p.add_argument("what", choices=["models", "hardware", "show"], help="what to list, or show one id")
    one = p.add_mutually_exclusive_group()
    one.add_argument("id", nargs="?", type=catalog_id, help="the id to show (with 'show')")
    add_config_options(
        p, one, "with 'show': the model spec derived from a Hugging Face config.json (or its folder)"
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    p.set_defaults(func="infereco.cli._run_catalog:run", check=check)


def check(args) -> None:
    if args.what == "show":
        if not args.id and not args.config:
            raise SpecError("show: give an id or --config, e.g. infereco catalog show h100-sxm")
    elif args.id or args.config:
        given = f"--config {args.config}" if args.config else repr(args.id)
        raise SpecError(
            f"{args.what}: lists the whole catalog and takes no id; got {given}; "
            f"use infereco catalog show ID (or show --config CONFIG_JSON)"
        )
    check_config(args.config, args.weight_bits)
