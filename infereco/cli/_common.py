"""Shared CLI helpers: argument types, checks of the paths a command reads and writes, tables, number
formatting.

Cheap to import (standard library and `infereco.errors` only): the parser modules use it before any of the
library, or JAX, is loaded.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import re
import sys
from typing import Any, Callable, Iterable, Sequence

from infereco.errors import SpecError

# Image formats matplotlib's savefig writes without extra software (a subset of
# matplotlib.backend_bases.FigureCanvasBase.get_supported_filetypes(); checked in tests/test_cli_hostile.py).
PLOT_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")

MFU_UNITS = "MFU is a fraction of peak FLOP/s in JSON and CSV, a percentage in tables"


def add_output_options(parser: argparse.ArgumentParser, plot_default: str | None = None) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print JSON instead of a table (mfu: a fraction)")
    group.add_argument("--csv", action="store_true", help="print CSV instead of a table (mfu: a fraction)")
    parser.add_argument(
        "--plot",
        metavar="FILE",
        default=plot_default,
        help=f"write a plot to FILE, format from the extension ({', '.join(PLOT_FORMATS[:3])}, ...)"
        f"{f' (default: {plot_default})' if plot_default else ''}",
    )
    if plot_default:
        parser.add_argument("--no-plot", action="store_true", help="do not write a plot")


# ---- argument types (argparse turns their errors into usage errors, exit 2) --------------------------------
def catalog_id(text: str) -> str:
    """A non-empty id or path (`--model ''` must not silently mean the default)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a catalog id or a file, got {text!r}")
    return text.strip()


def id_list(text: str) -> list[str]:
    """Comma-separated non-empty ids."""
    items = [x.strip() for x in text.split(",")]
    if not any(items):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated ids, e.g. llama-3-8b,llama-3-70b; got {text!r}"
        )
    if not all(items):
        raise argparse.ArgumentTypeError(
            f"empty item in {text!r}: expected comma-separated ids without blanks"
        )
    return items


def _number_list(
    text: str, cast: Callable[[str], float], what: str, example: str, a: str = "a number"
) -> list:
    items = [x.strip() for x in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected comma-separated {what}, e.g. {example}; got {text!r}")
    out = []
    for item in items:
        try:
            value = cast(item)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{item!r} is not {a}: expected comma-separated {what}, e.g. {example}"
            ) from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(
                f"{item!r}: expected comma-separated positive {what}, e.g. {example}"
            )
        out.append(value)
    return out


def context_list(text: str) -> list[int]:
    return _number_list(text, int, "context lengths in tokens", "1000,32000", "an integer")


_TIER_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def price_arg(text: str) -> float | str:
    """--price: USD per accelerator-hour, or the name of one of the accelerator's price tiers (e.g.
    'neocloud'; `infereco catalog --hardware` lists each part's tiers)."""
    t = text.strip()
    try:
        value = float(t)
    except ValueError:
        if _TIER_NAME.match(t.lower()):
            return t.lower()
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected USD per accelerator-hour (e.g. 2.5) or a price tier name (e.g. neocloud)"
        ) from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive, finite USD per accelerator-hour")
    return value


def price_list(text: str) -> list[float | str]:
    """--prices: comma-separated USD per accelerator-hour or tier names ('2,3.5', 'hyperscaler,neocloud')."""
    items = [x.strip() for x in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated USD per accelerator-hour or tier names, e.g. 2,3.5; got {text!r}"
        )
    return [price_arg(x) for x in items]


# ---- paths, checked before anything is computed (SpecError: exit 1) ----------------------------------------
def check_input_file(path: str | None, what: str) -> None:
    """An existing regular file (not a folder)."""
    if path is None:
        return
    if os.path.isdir(path):
        raise SpecError(f"{what} {path}: is a folder; expected a file")
    if not os.path.exists(path):
        raise SpecError(f"{what} {path}: file not found")


def check_config(path: str | None, weight_bits: int | None = None) -> None:
    """--config: a Hugging Face config.json, or a folder holding one; --weight-bits only goes with it."""
    if path is None:
        if weight_bits is not None:
            raise SpecError(
                f"--weight-bits {weight_bits}: applies to a --config model only; for a catalog model use a "
                "scenario with model: {base: ID, weight_bits: N}"
            )
        return
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "config.json")):
            raise SpecError(
                f"--config {path}: folder has no config.json; give a Hugging Face config.json or its folder"
            )
    elif not os.path.exists(path):
        raise SpecError(f"--config {path}: file not found")


def check_output_file(
    path: str | None, flag: str, formats: Sequence[str] | None = None, formats_are: str = ""
) -> None:
    """A file the command will write: its folder must exist (nothing creates it), it must not be a folder, and
    with `formats` its extension must be one of them."""
    if path is None:
        return
    if not path or os.path.isdir(path):
        raise SpecError(f"{flag} {path!r}: is a folder; expected a file name")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise SpecError(f"{flag} {path}: folder {folder} does not exist; create it first or write elsewhere")
    if formats is not None:
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        if ext not in formats:
            got = f"unsupported extension .{ext}" if ext else "no file extension"
            raise SpecError(f"{flag} {path}: {got}; expected one of {', '.join(formats)}{formats_are}")


def check_plot_file(path: str | None, flag: str = "--plot") -> None:
    check_output_file(path, flag, PLOT_FORMATS, " (formats matplotlib writes)")


def plot_path(args: argparse.Namespace) -> str | None:
    """The --plot file, unless --no-plot."""
    return None if getattr(args, "no_plot", False) else getattr(args, "plot", None)


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value == 0:
            return "0"
        a = abs(value)
        if a >= 1e5 or a < 1e-3:
            return f"{value:.{digits}g}"
        if a >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], marks: Sequence[str] | None = None) -> str:
    """A plain aligned text table; `marks` prefixes each row (e.g. '*' for the preferred point)."""
    cells = [[fmt(v) for v in row] for row in rows]
    if marks is not None:
        headers = [""] + list(headers)
        cells = [[m] + r for m, r in zip(marks, cells)]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda r: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    out = [line(headers), line(["─" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def print_records_csv(records: Iterable[dict], out=None) -> None:
    records = list(records)
    out = out or sys.stdout
    if not records:
        return
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(records[0]))
    w.writeheader()
    w.writerows(records)
    out.write(buf.getvalue())


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=1, allow_nan=False))


def add_config_options(
    parser, group, help_text: str = "a Hugging Face config.json (or its folder) as the model"
):
    """`--config CONFIG_JSON` (in `group`, exclusive with the model id) and `--weight-bits` (on `parser`)."""
    group.add_argument("--config", metavar="CONFIG_JSON", type=catalog_id, help=help_text)
    parser.add_argument(
        "--weight-bits",
        type=int,
        choices=(4, 8, 16),
        help="with --config: the weights' bits, for a quantization format the loader cannot read",
    )
