"""`infereco` entry point. Each subcommand lives in its own module with `register(subparsers)`.

Exit codes: 0 success, 1 a library error (bad input; the message says what to change), 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from infereco.errors import InferecoError

# Subcommand modules, in the order `--help` lists them. Each defines register(subparsers) which adds a parser
# and calls parser.set_defaults(func=run) with run(args) -> int.
SUBCOMMANDS = ("frontier", "point", "compare", "sweep", "cost", "calibrate", "catalog")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infereco",
        description="What LLM inference costs and how fast it can be: Pareto frontiers of $/M tokens against "
        "tokens/s per request, hardware economics and calibration to measured runs.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"infereco.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"infereco.cli.{name}":
                continue  # not implemented in this build
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except InferecoError as exc:
        print(f"infereco {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
