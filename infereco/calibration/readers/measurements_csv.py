"""Reader of the project's own measurements CSV: one row per run, the `Measurement` fields as columns."""

from __future__ import annotations

import csv
import difflib
import os
from pathlib import Path
from typing import Any

from infereco.calibration.readers._numbers import _as_float, _as_int, check_run_values
from infereco.calibration.readers.record import _INT_FIELDS, _STR_FIELDS, Measurement, MeasurementTable
from infereco.calibration.readers.vllm import _LATENCIES, _STATS
from infereco.errors import SpecError

__all__ = ["CSV_COLUMNS", "load_measurements_csv"]

CSV_COLUMNS: dict[str, str] = {
    "source": "where the figure comes from (default: FILE:LINE)",
    "model": "model id (required)",
    "input_len": "mean input tokens per request (required)",
    "output_len": "mean output tokens per request (required)",
    "hardware": "hardware id, e.g. h100-sxm",
    "tp": "tensor-parallel degree (default 1)",
    "pp": "pipeline-parallel degree (default 1)",
    "max_concurrency": "max concurrent requests; blank or 'inf' = unlimited",
    "request_rate": "requests per second offered; blank or 'inf' = all at once",
    "precision": "e.g. bf16, fp8",
    "engine": "e.g. vllm",
    "n_gpu": "accelerators used (default tp*pp)",
    "model_id": "model id as the engine named it",
    "date": "when it ran",
    "num_prompts": "requests sent",
    "completed": "requests completed",
    "failed": "requests failed",
    "duration_s": "wall time of the run, s",
    "request_throughput_per_s": "completed requests per second",
    "output_throughput_tokens_per_s": "output tokens per second",
    "total_token_throughput": "input+output tokens per second",
    **{f"{s}_{m}_s": f"{s} {m.upper()}, s" for m in _LATENCIES for s in _STATS},
}


def load_measurements_csv(path: str | os.PathLike, **defaults: Any) -> MeasurementTable:
    """Read a plain CSV of measurements (one row per run) into a `MeasurementTable`.

    Columns (header names; only `model`, `input_len`, `output_len` are required, any other may be absent or
    left blank):

    - scenario: `source` (default `FILE:LINE`), `model`, `input_len`, `output_len` (mean tokens per request),
      `hardware`, `tp` (1), `pp` (1), `max_concurrency` (blank/`inf` = unlimited), `request_rate`
      (blank/`inf`),
      `precision`, `engine`, `n_gpu` (tp*pp), `model_id`, `date`;
    - counts: `num_prompts`, `completed`, `failed`, `duration_s`;
    - rates: `request_throughput_per_s`, `output_throughput_tokens_per_s`, `total_token_throughput`
      (tokens/s);
    - latencies in seconds: `{mean,median,p99,std}_{ttft,tpot,itl,e2el}_s`. The same names ending in `_ms`
      instead of `_s` are read as milliseconds.

    `defaults` fill columns the file lacks (e.g. `hardware="cpu"`). Unknown columns raise `SpecError` with the
    closest known name; a cell that does not parse raises `SpecError` naming file, line and column.
    """
    path = Path(path)
    try:
        fh = open(path, newline="", encoding="utf-8")  # noqa: SIM115 - closed by `with fh` below
    except FileNotFoundError:
        raise SpecError(f"{path}: no such CSV file") from None
    with fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        if not header:
            raise SpecError(f"{path}: empty CSV (no header row)")
        colmap: dict[str, tuple[str, float]] = {}  # header -> (field, scale)
        for h in header:
            if h in CSV_COLUMNS:
                colmap[h] = (h, 1.0)
            elif h.endswith("_ms") and h[:-3] + "_s" in CSV_COLUMNS:
                colmap[h] = (h[:-3] + "_s", 1e-3)
            else:
                close = difflib.get_close_matches(h, list(CSV_COLUMNS), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise SpecError(
                    f"{path}: unknown column {h!r}; {hint}known columns: {', '.join(CSV_COLUMNS)}"
                )
        for bad in set(defaults) - set(CSV_COLUMNS):
            raise SpecError(f"load_measurements_csv: unknown default {bad!r}")
        fields_present = {f for f, _ in colmap.values()} | set(defaults)
        for req in ("model", "input_len", "output_len"):
            if req not in fields_present:
                raise SpecError(f"{path}: missing required column {req!r}")
        records = []
        for lineno, row in enumerate(reader, start=2):
            where = f"{path}:{lineno}"
            vals: dict[str, Any] = dict(defaults)
            cells: dict[str, tuple[str, str]] = {}  # field -> (column, cell) as the file has them
            for h_raw, cell in row.items():
                if h_raw is None:
                    raise SpecError(f"{where}: more cells than header columns")
                h = h_raw.strip()
                name, scale = colmap[h]
                cell = (cell or "").strip()
                if cell == "":
                    continue
                if name in _STR_FIELDS:
                    vals[name] = cell
                    continue
                if name in _INT_FIELDS:
                    vals[name] = _as_int(cell, where=where, key=h)
                else:
                    vals[name] = _as_float(cell, where=where, key=h) * scale
                cells[name] = (h, cell)
            if not any(vals.get(k) is not None for k in ("model", "input_len", "output_len")):
                continue  # blank line
            for req in ("model", "input_len", "output_len"):
                if vals.get(req) is None:
                    raise SpecError(f"{where}: column {req!r} is blank")
            check_run_values(
                {k: (vals[k], h, c) for k, (h, c) in cells.items()},
                where=where,
                output_len=vals.get("output_len"),
            )
            vals.setdefault("source", where)
            vals = {k: v for k, v in vals.items() if v is not None}
            try:
                rec = Measurement(**vals)
            except TypeError as exc:  # pragma: no cover - guarded by colmap
                raise SpecError(f"{where}: {exc}") from None
            if rec.n_gpu is None:
                rec = rec.replace(n_gpu=rec.tp * rec.pp)
            records.append(rec)
    return MeasurementTable(records)
