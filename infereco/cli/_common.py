"""Shared CLI helpers: output options, tables, number formatting."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from typing import Any, Iterable, Sequence


def add_output_options(parser: argparse.ArgumentParser, plot_default: str | None = None) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print JSON instead of a table")
    group.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    parser.add_argument("--plot", metavar="FILE", default=plot_default,
                        help=f"write a PNG plot to FILE{f' (default: {plot_default})' if plot_default else ''}")
    if plot_default:
        parser.add_argument("--no-plot", action="store_true", help="do not write a plot")


def fmt(value: Any, digits: int = 3) -> str:
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
