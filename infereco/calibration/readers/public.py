"""Reader of the long-format public measurements table (`source, engine, model, precision, gpu, n_gpu, tp, pp,
isl, osl, concurrency, metric, value, unit`), kept long (`PublicMeasurement`) and pivoted on demand into the
run record (`PublicMeasurements.to_table()` gives `Measurement` records)."""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infereco.calibration.readers.record import Measurement, MeasurementTable, _matches
from infereco.errors import SpecError

__all__ = ["PUBLIC_MEASUREMENTS_ENV", "PublicMeasurement", "PublicMeasurements", "load_public_measurements"]

PUBLIC_MEASUREMENTS_ENV = "INFERECO_PUBLIC_MEASUREMENTS"

PUBLIC_COLUMNS = (
    "source",
    "engine",
    "model",
    "precision",
    "gpu",
    "n_gpu",
    "tp",
    "pp",
    "isl",
    "osl",
    "concurrency",
    "metric",
    "value",
    "unit",
)

# metric name (text before any " (") -> (Measurement field, how the value becomes SI)
_PUBLIC_METRICS: dict[str, str] = {
    "output_throughput": "output_throughput_tokens_per_s",
    "output_throughput_per_gpu": "output_throughput_tokens_per_s",
    "tokens_per_second": "output_throughput_tokens_per_s",
    "completed_tokens_per_second": "output_throughput_tokens_per_s",
    "samples_per_second": "request_throughput_per_s",
    "mean_ttft": "mean_ttft_s",
    "median_ttft": "median_ttft_s",
    "p99_ttft": "p99_ttft_s",
    "first_token_latency": "mean_ttft_s",
    "mean_tpot": "mean_tpot_s",
    "median_tpot": "median_tpot_s",
    "p99_tpot": "p99_tpot_s",
    "decode_latency_per_token": "mean_tpot_s",
    "mean_itl": "mean_itl_s",
    "median_itl": "median_itl_s",
    "p99_itl": "p99_itl_s",
}
_UNIT_SCALE = {
    "ms": 1e-3,
    "s": 1.0,
    "us": 1e-6,
    "tok/s": 1.0,
    "samples/s": 1.0,
    "req/s": 1.0,
    "%": 0.01,
    "tok/s/gpu": 1.0,
}


@dataclass(frozen=True)
class PublicMeasurement:
    """One row of the public long-format table, with its numbers parsed.

    `concurrency` is a number: `batch=N` gives N; `max (infinite rate)`, `Offline`, `... rps=inf ...` give
    `math.inf`.
    `value_si` is `value` in seconds (for ms/s/us) or per second; a `tok/s/GPU` figure is multiplied by
    `n_gpu` so that `value_si` is always the whole system's figure. `ambiguous` marks rows whose metric text
    carries a caveat in parentheses (they are not pivoted into `Measurement` records).
    """

    line: int
    source: str
    engine: str
    model: str
    precision: str
    gpu: str
    n_gpu: int
    tp: int
    pp: int
    isl: float
    osl: float
    concurrency: float
    concurrency_text: str
    metric: str
    value: float
    unit: str
    value_si: float
    ambiguous: bool

    @property
    def metric_key(self) -> str:
        return self.metric.split(" (")[0].strip()


@dataclass(frozen=True)
class PublicMeasurements:
    """The parsed public table: `rows` whose numbers parsed, and `skipped` = [(line, reason)] for the rest."""

    path: str
    rows: tuple[PublicMeasurement, ...]
    skipped: tuple[tuple[int, str], ...] = ()

    @property
    def n_skipped(self) -> int:
        return len(self.skipped)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[PublicMeasurement]:
        return iter(self.rows)

    def filter(self, **criteria: Any) -> PublicMeasurements:
        """Rows matching every criterion (equality, membership in a set/list, or a callable)."""
        names = {f.name for f in dataclasses.fields(PublicMeasurement)} | {"metric_key"}
        for k in criteria:
            if k not in names:
                raise SpecError(f"PublicMeasurements.filter: unknown field {k!r}")

        return PublicMeasurements(
            self.path, tuple(r for r in self.rows if _matches(r, criteria)), self.skipped
        )

    def to_table(self) -> MeasurementTable:
        """Pivot into `Measurement` records: one per (source, engine, model, precision, gpu, n_gpu, tp, pp,
        isl, osl, concurrency), with each known metric in its field (see `_PUBLIC_METRICS`). Rows with an
        ambiguous or unknown metric are left out of the pivot (listed in the table's `skipped`). When two rows
        give the same field for one run, the first is kept and the other listed in `skipped`."""
        groups: dict[tuple, dict[str, Any]] = {}
        skipped: list[tuple[str, str]] = []
        for r in self.rows:
            where = f"{self.path}:{r.line}"
            fld = _PUBLIC_METRICS.get(r.metric_key)
            if r.ambiguous or fld is None:
                skipped.append((where, f"metric {r.metric!r} not pivoted"))
                continue
            key = (
                r.source,
                r.engine,
                r.model,
                r.precision,
                r.gpu,
                r.n_gpu,
                r.tp,
                r.pp,
                r.isl,
                r.osl,
                r.concurrency_text,
            )
            g = groups.setdefault(
                key,
                {
                    "source": f"{r.source} ({self.path}:{r.line})",
                    "engine": r.engine,
                    "model": r.model,
                    "precision": r.precision,
                    "hardware": r.gpu,
                    "n_gpu": r.n_gpu,
                    "tp": r.tp,
                    "pp": r.pp,
                    "input_len": r.isl,
                    "output_len": r.osl,
                    "max_concurrency": r.concurrency,
                },
            )
            if fld in g:
                skipped.append((where, f"second value for {fld} in the same run"))
                continue
            g[fld] = r.value_si
        return MeasurementTable([Measurement(**g) for g in groups.values()], skipped=skipped)


def _default_public_path() -> Path | None:
    env = os.environ.get(PUBLIC_MEASUREMENTS_ENV)
    if env:
        return Path(env)
    rel = Path("shared") / "reference" / "measured" / "public_measurements.csv"
    # Relative to the working directory only (never to this file: an installed package has no data beside it).
    for base in (Path.cwd(), Path.cwd().parent):
        cand = base / rel
        if cand.is_file():
            return cand
    return None


_INT_RE = re.compile(r"^\s*(\d+)\s*$")
_NUM_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*$")
_BATCH_RE = re.compile(r"^\s*(?:batch|concurrency|max[-_ ]concurrency)\s*[=:]\s*(\d+)\s*$", re.IGNORECASE)


def _public_int(text: str, name: str, default: int | None = None) -> int:
    if text.strip() == "" and default is not None:
        return default
    m = _INT_RE.match(text)
    if not m:
        raise ValueError(f"{name} {text!r} is not a whole number")
    return int(m.group(1))


def _public_num(text: str, name: str) -> float:
    m = _NUM_RE.match(text.replace(",", ""))
    if not m:
        raise ValueError(f"{name} {text!r} is not a number")
    return float(m.group(1))


def _public_concurrency(text: str) -> float:
    t = text.strip()
    m = _BATCH_RE.match(t)
    if m:
        return float(m.group(1))
    if _NUM_RE.match(t):
        return float(t)
    low = t.lower()
    if low.startswith("max (infinite rate)") or low == "offline" or "rps=inf" in low.replace(" ", ""):
        return math.inf
    raise ValueError(f"concurrency {text!r} is not a number, batch=N or an unlimited rate")


def load_public_measurements(path: str | os.PathLike | None = None) -> PublicMeasurements:
    """Read the public long-format measurements CSV (columns: source, engine, model, precision, gpu, n_gpu,
    tp,
    pp, isl, osl, concurrency, metric, value, unit).

    Rows whose numbers parse are kept as `PublicMeasurement`: n_gpu, tp and pp whole numbers, isl/osl plain
    numbers, concurrency `batch=N`, a number, or an unlimited rate
    (`max (infinite rate)`, `Offline`, `rps=inf`), value a number in a known unit. The others (variable
    lengths such as `ShareGPT (var)`, approximate figures, free-text settings) are left out and counted:
    `result.skipped` lists `(line, reason)`.

    `path` defaults to `$INFERECO_PUBLIC_MEASUREMENTS`, else
    `shared/reference/measured/public_measurements.csv`
    found in the working directory or its parent; `SpecError` when none is found.
    """
    p = Path(path) if path is not None else _default_public_path()
    if p is None:
        raise SpecError(
            "load_public_measurements: no path given and no shared/reference/measured/"
            f"public_measurements.csv found; pass path= or set ${PUBLIC_MEASUREMENTS_ENV}"
        )
    try:
        fh = open(p, newline="", encoding="utf-8")  # noqa: SIM115 - closed by `with fh` below
    except FileNotFoundError:
        raise SpecError(f"{p}: no such CSV file") from None
    rows: list[PublicMeasurement] = []
    skipped: list[tuple[int, str]] = []
    with fh:
        reader = csv.DictReader(fh)
        missing = [c for c in PUBLIC_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SpecError(f"{p}: missing column(s) {missing}; expected {', '.join(PUBLIC_COLUMNS)}")
        for lineno, row in enumerate(reader, start=2):
            try:
                get = {k: (row.get(k) or "").strip() for k in PUBLIC_COLUMNS}
                n_gpu = _public_int(get["n_gpu"], "n_gpu")
                tp = _public_int(get["tp"], "tp")
                pp = _public_int(get["pp"], "pp")
                isl = _public_num(get["isl"], "isl")
                osl = _public_num(get["osl"], "osl")
                conc = _public_concurrency(get["concurrency"])
                value = _public_num(get["value"], "value")
                unit = get["unit"]
                scale = _UNIT_SCALE.get(unit.lower())
                if scale is None:
                    raise ValueError(f"unit {unit!r} is not one of {sorted(_UNIT_SCALE)}")
                value_si = value * scale * (n_gpu if unit.lower() == "tok/s/gpu" else 1)
            except ValueError as exc:
                skipped.append((lineno, str(exc)))
                continue
            rows.append(
                PublicMeasurement(
                    line=lineno,
                    source=get["source"],
                    engine=get["engine"],
                    model=get["model"],
                    precision=get["precision"],
                    gpu=get["gpu"],
                    n_gpu=n_gpu,
                    tp=tp,
                    pp=pp,
                    isl=isl,
                    osl=osl,
                    concurrency=conc,
                    concurrency_text=get["concurrency"],
                    metric=get["metric"],
                    value=value,
                    unit=unit,
                    value_si=value_si,
                    ambiguous="(" in get["metric"],
                )
            )
    return PublicMeasurements(str(p), tuple(rows), tuple(skipped))
