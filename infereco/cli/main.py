"""`infereco` entry point.

Each subcommand has a parser module `infereco/cli/<name>.py` with `register(subparsers)`, which imports
nothing of the library (so `--help` and usage errors answer before JAX is imported), and a handler module
`infereco/cli/_run_<name>.py` with `run(args) -> int`, which does. The parser names its handler by
`set_defaults(func="infereco.cli._run_<name>:run")` and may give `check=callable(args)`, a cheap check of the
paths the command reads and writes; this module, the one lazy dispatch point, runs the check and then imports
and calls the handler.

Exit codes: 0 success, 1 a library error (bad input; the message says what to change), 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Callable

from infereco.cli import calibrate, catalog, compare, cost, frontier, plan, point, predict, sweep
from infereco.errors import InferecoError

# Subcommand parser modules, in the order `--help` lists them.
SUBCOMMANDS = (frontier, point, compare, sweep, plan, cost, calibrate, predict, catalog)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infereco",
        description="What LLM inference costs and how fast it can be: Pareto frontiers of $/M tokens against "
        "tokens/s per request, hardware economics and calibration to measured runs.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def resolve(target: str) -> Callable:
    """'package.module:function' -> the function (imports the module)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        check = getattr(args, "check", None)
        if check is not None:
            check(args)
        run = resolve(args.func) if isinstance(args.func, str) else args.func
        return int(run(args) or 0)
    except InferecoError as exc:
        print(f"infereco {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
