"""Ingest measured serving runs into one tidy table of `Measurement` records.

Three sources:

- `load_vllm_results`: the JSON result files written by `vllm bench serve --save-result` (new schema) and the
  older `benchmarks/benchmark_serving.py` (old schema, e.g. Lambda's 2024 study), one or many at once;
- `load_measurements_csv`: a plain CSV of the same quantities (columns documented there);
- `load_public_measurements`: the long-format public table (`source, engine, model, precision, gpu, n_gpu, tp,
  pp, isl, osl, concurrency, metric, value, unit`), kept long (`PublicMeasurement`) and pivoted on demand into
  `Measurement` records (`PublicMeasurements.to_table()`).

All times are in **seconds** and all rates **per second** in the records, whatever the file used (vLLM writes
`mean_ttft_ms` etc.; other tools convert to seconds and drop the `_ms` suffix: both are read). Unlimited
concurrency and an infinite request rate are `math.inf`.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infereco.errors import SpecError

__all__ = [
    "BURST_ITL_RATIO",
    "CSV_COLUMNS",
    "PUBLIC_MEASUREMENTS_ENV",
    "Measurement",
    "MeasurementTable",
    "PublicMeasurement",
    "PublicMeasurements",
    "Scenario",
    "load_measurements_csv",
    "load_public_measurements",
    "load_vllm_results",
]

PUBLIC_MEASUREMENTS_ENV = "INFERECO_PUBLIC_MEASUREMENTS"
# A run whose median inter-token latency is below this share of its mean TPOT streamed in bursts
# (`Measurement.bursty_streaming`).
BURST_ITL_RATIO = 0.25

_STATS = ("mean", "median", "p99", "std")
_LATENCIES = ("ttft", "tpot", "itl", "e2el")


def _matches(record, criteria: dict) -> bool:
    """True when every `field=want` holds: want a value (equal), a set or list (member), or a callable (true;
    a missing value never matches a callable)."""
    for name, want in criteria.items():
        got = getattr(record, name)
        if callable(want):
            if got is None or not want(got):
                return False
        elif isinstance(want, (set, frozenset, list)):
            if got not in want:
                return False
        elif got != want:
            return False
    return True


# --------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Measurement:
    """One measured serving run (one point of a sweep), in SI units (seconds, per second).

    Scenario fields say what was run; metric fields what was measured (None: not reported by the source).
    `max_concurrency` and `request_rate` are `math.inf` when unlimited. `input_len`/`output_len` are the
    mean tokens per completed request (`total_*_tokens / completed` for vLLM files). Per-request arrays are
    kept when the source file had them (vLLM writes them already in seconds).
    """

    source: str
    model: str
    input_len: float
    output_len: float
    hardware: str | None = None
    tp: int = 1
    pp: int = 1
    max_concurrency: float = math.inf
    request_rate: float = math.inf
    precision: str | None = None
    engine: str | None = None
    n_gpu: int | None = None
    model_id: str | None = None
    date: str | None = None
    num_prompts: int | None = None
    completed: int | None = None
    failed: int | None = None
    duration_s: float | None = None
    request_throughput_per_s: float | None = None
    output_throughput_tokens_per_s: float | None = None
    total_token_throughput: float | None = None
    mean_ttft_s: float | None = None
    median_ttft_s: float | None = None
    p99_ttft_s: float | None = None
    std_ttft_s: float | None = None
    mean_tpot_s: float | None = None
    median_tpot_s: float | None = None
    p99_tpot_s: float | None = None
    std_tpot_s: float | None = None
    mean_itl_s: float | None = None
    median_itl_s: float | None = None
    p99_itl_s: float | None = None
    std_itl_s: float | None = None
    mean_e2el_s: float | None = None
    median_e2el_s: float | None = None
    p99_e2el_s: float | None = None
    std_e2el_s: float | None = None
    # Per-request arrays (seconds / tokens), when the file has them; excluded from equality and hashing.
    input_lens: tuple[int, ...] | None = field(default=None, compare=False, repr=False)
    output_lens: tuple[int, ...] | None = field(default=None, compare=False, repr=False)
    ttfts_s: tuple[float, ...] | None = field(default=None, compare=False, repr=False)
    latencies_s: tuple[float, ...] | None = field(default=None, compare=False, repr=False)
    queue_times_s: tuple[float, ...] | None = field(default=None, compare=False, repr=False)
    itls_s: tuple[tuple[float, ...], ...] | None = field(default=None, compare=False, repr=False)

    @property
    def unlimited_concurrency(self) -> bool:
        return math.isinf(self.max_concurrency)

    @property
    def bursty_streaming(self) -> str | None:
        """Why this run's TTFT and TPOT do not time the engine (None when they do, or cannot be checked).

        A streaming client times each chunk as it reads it. When the client or the API server is short of CPU,
        chunks queue up and are read in a burst: most inter-token gaps are ~0, the first token's time absorbs
        the decode time that went unread, and TPOT = (latency − TTFT)/(output − 1) shrinks. The sign is a
        median inter-token latency far below the mean TPOT (below `BURST_ITL_RATIO` of it; an engine that keeps
        up has a median ITL near the decode step, ≥ 0.5·TPOT even when prefills stall some steps). End-to-end
        latency and throughputs do not depend on the split and stay valid.

        >>> Measurement("x", "m", 128, 64, mean_tpot_s=2e-4, median_itl_s=0.0).bursty_streaming[:33]
        'tokens arrived in bursts (median'
        """
        itl, tpot = self.median_itl_s, self.mean_tpot_s
        if itl is None or tpot is None or not (tpot > 0 and math.isfinite(tpot)) or self.output_len < 3:
            return None
        if itl < BURST_ITL_RATIO * tpot:
            return (f"tokens arrived in bursts (median ITL {itl * 1e3:.3g} ms < {BURST_ITL_RATIO:g} × mean TPOT "
                    f"{tpot * 1e3:.3g} ms): TTFT and TPOT time the client, not the engine")
        return None

    def scenario(self, keys: Sequence[str] | None = None) -> Scenario:
        """This run's scenario, lengths rounded to whole tokens (`MeasurementTable.scenarios` groups runs)."""
        keys = tuple(keys or Scenario.DEFAULT_KEYS)
        return Scenario(
            **{k: getattr(self, k) for k in keys},
            input_len=float(round(self.input_len)),
            output_len=float(round(self.output_len)),
        )

    def replace(self, **changes: Any) -> Measurement:
        return dataclasses.replace(self, **changes)


PER_REQUEST_FIELDS = ("input_lens", "output_lens", "ttfts_s", "latencies_s", "queue_times_s", "itls_s")
SCALAR_FIELDS = tuple(f.name for f in dataclasses.fields(Measurement) if f.name not in PER_REQUEST_FIELDS)
_INT_FIELDS = ("tp", "pp", "n_gpu", "num_prompts", "completed", "failed")
_STR_FIELDS = ("source", "model", "hardware", "precision", "engine", "model_id", "date")


@dataclass(frozen=True)
class Scenario:
    """What a group of runs has in common: model, hardware, parallelism, precision and the two lengths."""

    DEFAULT_KEYS = ("model", "hardware", "tp", "pp", "precision")

    model: str | None = None
    hardware: str | None = None
    tp: int | None = None
    pp: int | None = None
    precision: str | None = None
    engine: str | None = None
    input_len: float | None = None
    output_len: float | None = None

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in dataclasses.asdict(self).items() if v is not None]
        return "Scenario(" + ", ".join(parts) + ")"


class MeasurementTable(Sequence[Measurement]):
    """An immutable, ordered collection of `Measurement` records (a `Sequence`: len, iterate, index).

    `skipped` lists `(where, why)` for inputs that were left out (e.g. `load_vllm_results(on_error="skip")`).
    """

    def __init__(self, records: Iterable[Measurement] = (), *, skipped: Iterable[tuple[str, str]] = ()):
        self._records: tuple[Measurement, ...] = tuple(records)
        for r in self._records:
            if not isinstance(r, Measurement):
                raise TypeError(f"MeasurementTable holds Measurement records, got {type(r).__name__}")
        self.skipped: tuple[tuple[str, str], ...] = tuple(skipped)

    # Sequence protocol
    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return MeasurementTable(self._records[i])
        return self._records[i]

    def __iter__(self) -> Iterator[Measurement]:
        return iter(self._records)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MeasurementTable):
            return self._records == other._records
        if isinstance(other, (list, tuple)):
            return list(self._records) == list(other)
        return NotImplemented

    def __add__(self, other: MeasurementTable | Iterable[Measurement]) -> MeasurementTable:
        extra = other.skipped if isinstance(other, MeasurementTable) else ()
        return MeasurementTable([*self._records, *other], skipped=[*self.skipped, *extra])

    def __repr__(self) -> str:
        return f"MeasurementTable({len(self)} records, {len(self.scenarios())} scenarios)"

    @property
    def records(self) -> tuple[Measurement, ...]:
        return self._records

    def filter(
        self, predicate: Callable[[Measurement], bool] | None = None, **criteria: Any
    ) -> MeasurementTable:
        """Records matching every criterion.

        Each keyword names a `Measurement` field; its value is matched by equality, by membership when it is a
        set/frozenset/list, or called when it is callable (e.g. `max_concurrency=lambda c: c <= 8`).
        `predicate` (optional) is called with the whole record.
        """
        for name in criteria:
            if name not in SCALAR_FIELDS and name not in PER_REQUEST_FIELDS:
                close = difflib.get_close_matches(name, SCALAR_FIELDS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise SpecError(f"MeasurementTable.filter: unknown field {name!r}{hint}")

        def ok(rec: Measurement) -> bool:
            return _matches(rec, criteria) and (predicate(rec) if predicate is not None else True)

        return MeasurementTable([r for r in self._records if ok(r)], skipped=self.skipped)

    def column(self, name: str) -> np.ndarray:
        """One scalar field as a float array (None → nan)."""
        if name not in SCALAR_FIELDS:
            raise SpecError(f"MeasurementTable.column: unknown field {name!r}")
        vals = [getattr(r, name) for r in self._records]
        try:
            return np.array([np.nan if v is None else float(v) for v in vals], dtype=float)
        except (TypeError, ValueError):
            return np.array(vals, dtype=object)

    def to_records(self, *, per_request: bool = False) -> list[dict[str, Any]]:
        """Plain dicts, one per record (per-request arrays only when `per_request=True`)."""
        out = []
        for r in self._records:
            d = {k: getattr(r, k) for k in SCALAR_FIELDS}
            if per_request:
                d.update({k: getattr(r, k) for k in PER_REQUEST_FIELDS})
            out.append(d)
        return out

    def sorted(self, *keys: str) -> MeasurementTable:
        keys = keys or ("model", "hardware", "tp", "input_len", "output_len", "max_concurrency")
        return MeasurementTable(
            sorted(self._records, key=lambda r: tuple(_sort_key(getattr(r, k)) for k in keys)),
            skipped=self.skipped,
        )

    def scenarios(
        self, keys: Sequence[str] | None = None, *, length_rtol: float = 0.05
    ) -> dict[Scenario, MeasurementTable]:
        """Group records into scenarios.

        Records are grouped by the `keys` fields (default: model, hardware, tp, pp, precision) and then by
        their input/output lengths, which are joined when both lie within `length_rtol` (relative) of a
        group's first record (measured mean lengths vary a little from run to run). A scenario's lengths are
        the median of its
        records', rounded to whole tokens. Within a scenario records are sorted by concurrency, then rate.
        """
        keys = tuple(keys or Scenario.DEFAULT_KEYS)
        bad = [k for k in keys if k not in ("model", "hardware", "tp", "pp", "precision", "engine")]
        if bad:
            raise SpecError(
                f"MeasurementTable.scenarios: cannot group by {bad}; "
                "use model, hardware, tp, pp, precision, engine"
            )
        buckets: dict[tuple, list[list[Measurement]]] = {}
        for r in self._records:
            clusters = buckets.setdefault(tuple(getattr(r, k) for k in keys), [])
            for cl in clusters:
                first = cl[0]
                if _close(r.input_len, first.input_len, length_rtol) and _close(
                    r.output_len, first.output_len, length_rtol
                ):
                    cl.append(r)
                    break
            else:
                clusters.append([r])
        out: dict[Scenario, MeasurementTable] = {}
        for key, clusters in buckets.items():
            for cl in clusters:
                sc = Scenario(
                    **dict(zip(keys, key)),
                    input_len=float(round(float(np.median([r.input_len for r in cl])))),
                    output_len=float(round(float(np.median([r.output_len for r in cl])))),
                )
                recs = sorted(cl, key=lambda r: (r.max_concurrency, r.request_rate))
                if sc in out:  # two clusters rounding to the same lengths
                    out[sc] = out[sc] + recs
                else:
                    out[sc] = MeasurementTable(recs)
        return out


def _sort_key(v: Any) -> tuple:
    if v is None:
        return (1, "")
    if isinstance(v, (int, float)):
        return (0, "", float(v))
    return (0, str(v))


def _close(a: float, b: float, rtol: float) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1e-12)


# --------------------------------------------------------------------------------------------- number parsing
_INF_WORDS = {"inf", "+inf", "infinity", "+infinity", "unlimited", "none_limit"}


def _as_float(value: Any, *, where: str, key: str, allow_inf: bool = True) -> float:
    """A JSON/CSV number as float; SpecError naming `where` and `key` otherwise."""
    if isinstance(value, bool) or value is None:
        raise SpecError(f"{where}: key {key!r} = {value!r}: expected a number")
    if isinstance(value, (int, float)):
        x = float(value)
    elif isinstance(value, str):
        s = value.strip().replace(",", "")
        if s.lower() in _INF_WORDS:
            x = math.inf
        else:
            try:
                x = float(s)
            except ValueError:
                raise SpecError(f"{where}: key {key!r} = {value!r}: expected a number") from None
    else:
        raise SpecError(
            f"{where}: key {key!r} = {_short(value)}: expected a number, got {type(value).__name__}"
        )
    if math.isinf(x) and not allow_inf:
        raise SpecError(f"{where}: key {key!r} = {value!r}: expected a finite number")
    return x


def _as_int(value: Any, *, where: str, key: str) -> int:
    x = _as_float(value, where=where, key=key, allow_inf=False)
    if math.isnan(x) or x != int(x):
        raise SpecError(f"{where}: key {key!r} = {value!r}: expected a whole number")
    return int(x)


def _short(value: Any) -> str:
    s = repr(value)
    return s if len(s) <= 60 else s[:57] + "..."


# --------------------------------------------------------------------------------------------- vLLM JSON
_VLLM_REQUIRED_COUNTS = ("num_prompts", "completed", "total_input_tokens", "total_output_tokens", "duration")
_VLLM_REQUIRED_RATES = ("request_throughput", "output_throughput")
_VLLM_REQUIRED_LATENCIES = tuple(
    f"{s}_{m}" for m in ("ttft", "tpot", "itl") for s in ("mean", "median", "p99")
)


def _expand_paths(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(p.glob("*.json"))
            if not found:
                raise SpecError(f"{p}: directory has no *.json result files")
            out.extend(found)
        else:
            out.append(p)
    if not out:
        raise SpecError("load_vllm_results: no paths given")
    return out


def _latency(d: Mapping[str, Any], base: str, *, where: str, required: bool) -> float | None:
    """`base` (e.g. 'mean_ttft') in seconds: from `base_ms` (ms) or `base_s` / `base` (already seconds)."""
    for key, scale in ((f"{base}_ms", 1e-3), (f"{base}_s", 1.0), (base, 1.0)):
        if key in d:
            if d[key] is None and not required:
                return None
            return _as_float(d[key], where=where, key=key) * scale
    if required:
        raise SpecError(f"{where}: missing required key {base + '_ms'!r} (or {base!r} in seconds)")
    return None


def _opt(d: Mapping[str, Any], key: str, *, where: str, kind: str = "float") -> Any:
    if key not in d or d[key] is None:
        return None
    if kind == "int":
        return _as_int(d[key], where=where, key=key)
    return _as_float(d[key], where=where, key=key)


def _seq(d: Mapping[str, Any], key: str, *, where: str, nested: bool = False) -> tuple | None:
    """A per-request list as a tuple (nested lists for ITLs); None when absent; SpecError if not a list."""
    if key not in d or d[key] is None:
        return None
    v = d[key]
    if not isinstance(v, list):
        raise SpecError(
            f"{where}: key {key!r} should be a list of per-request values, got {type(v).__name__}"
        )
    try:
        if nested:
            return tuple(tuple(float(x) for x in (item or [])) for item in v)
        return tuple(float(x) if not isinstance(x, int) else x for x in v)
    except (TypeError, ValueError):
        raise SpecError(f"{where}: key {key!r} holds non-numeric per-request values") from None


def _parse_vllm_run(
    d: Any,
    *,
    where: str,
    model: str | None,
    hardware: str | None,
    tp: int,
    pp: int,
    precision: str | None,
    engine: str | None,
) -> Measurement:
    if not isinstance(d, Mapping):
        raise SpecError(f"{where}: expected a JSON object with benchmark results, got {type(d).__name__}")
    for key in _VLLM_REQUIRED_COUNTS + _VLLM_REQUIRED_RATES:
        if key not in d:
            raise SpecError(f"{where}: missing required key {key!r}")
    num_prompts = _as_int(d["num_prompts"], where=where, key="num_prompts")
    completed = _as_int(d["completed"], where=where, key="completed")
    tin = _as_float(d["total_input_tokens"], where=where, key="total_input_tokens", allow_inf=False)
    tout = _as_float(d["total_output_tokens"], where=where, key="total_output_tokens", allow_inf=False)
    duration = _as_float(d["duration"], where=where, key="duration", allow_inf=False)
    if completed <= 0:
        raise SpecError(f"{where}: key 'completed' = {completed}: no request completed, nothing to measure")
    if duration <= 0:
        raise SpecError(f"{where}: key 'duration' = {duration}: expected a positive number of seconds")
    req_thr = _as_float(d["request_throughput"], where=where, key="request_throughput")
    out_thr = _as_float(d["output_throughput"], where=where, key="output_throughput")
    if "total_token_throughput" in d and d["total_token_throughput"] is not None:
        tot_thr = _as_float(d["total_token_throughput"], where=where, key="total_token_throughput")
    elif "input_throughput" in d and d["input_throughput"] is not None:  # old schema
        tot_thr = _as_float(d["input_throughput"], where=where, key="input_throughput") + out_thr
    else:
        tot_thr = (tin + tout) / duration
    lat: dict[str, float | None] = {}
    for m in _LATENCIES:
        for s in _STATS:
            base = f"{s}_{m}"
            req = base in _VLLM_REQUIRED_LATENCIES
            val = _latency(d, base, where=where, required=req)
            if val is None and m == "e2el":  # old schema calls end-to-end latency "latency"
                val = _latency(d, f"{s}_latency", where=where, required=False)
            lat[f"{base}_s"] = val
    rate = d.get("request_rate", "inf")
    rate = math.inf if rate is None else _as_float(rate, where=where, key="request_rate")
    conc = d.get("max_concurrency")
    conc = math.inf if conc is None else _as_float(conc, where=where, key="max_concurrency")
    if conc <= 0:
        raise SpecError(f"{where}: key 'max_concurrency' = {conc}: expected a positive number or null")
    model_id = d.get("model_id")
    if model is None:
        if not isinstance(model_id, str) or not model_id:
            raise SpecError(f"{where}: missing required key 'model_id' (or pass model=...)")
        model_name = model_id
    else:
        model_name = model
    date = d.get("date")
    backend = d.get("backend")
    return Measurement(
        source=where,
        model=model_name,
        model_id=model_id if isinstance(model_id, str) else None,
        hardware=hardware,
        tp=tp,
        pp=pp,
        n_gpu=tp * pp,
        precision=precision,
        engine=engine if engine is not None else (backend if isinstance(backend, str) else None),
        date=str(date) if date is not None else None,
        input_len=tin / completed,
        output_len=tout / completed,
        max_concurrency=conc,
        request_rate=rate,
        num_prompts=num_prompts,
        completed=completed,
        failed=_opt(d, "failed", where=where, kind="int"),
        duration_s=duration,
        request_throughput_per_s=req_thr,
        output_throughput_tokens_per_s=out_thr,
        total_token_throughput=tot_thr,
        **lat,
        input_lens=_seq(d, "input_lens", where=where),
        output_lens=_seq(d, "output_lens", where=where),
        ttfts_s=_seq(d, "ttfts", where=where),
        latencies_s=_seq(d, "latencies", where=where),
        queue_times_s=_seq(d, "queue_times", where=where),
        itls_s=_seq(d, "itls", where=where, nested=True),
    )


def load_vllm_results(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    model: str | None = None,
    hardware: str | None = None,
    tp: int = 1,
    pp: int = 1,
    precision: str | None = None,
    engine: str | None = None,
    on_error: str = "raise",
) -> MeasurementTable:
    """Read `vllm bench serve` / `benchmark_serving.py` result JSON files into a `MeasurementTable`.

    `paths`: one file, a directory (its `*.json`), or an iterable of either. A file may hold one run (an
    object) or several (a list of objects, or one object per line). `model` overrides the file's `model_id`
    (which is kept in `Measurement.model_id`); `hardware`, `tp`, `pp`, `precision` say where it ran (files do
    not record them); `engine` defaults to the file's `backend`.

    Required keys: num_prompts, completed, total_input_tokens, total_output_tokens, duration,
    request_throughput, output_throughput, and mean/median/p99 of ttft, tpot and itl, as `*_ms` (milliseconds)
    or as the bare name / `*_s` (seconds). A missing or non-numeric required key raises `SpecError` naming the
    file and the key; malformed JSON names the file. Extra keys are ignored; per-request lists (input_lens,
    output_lens, ttfts, itls, latencies, queue_times) are kept when present. `request_rate` "inf" and
    `max_concurrency` null mean unlimited (`math.inf`). With `on_error="skip"` bad files are left out and
    listed in the table's `skipped`.
    """
    if on_error not in ("raise", "skip"):
        raise SpecError(f"load_vllm_results: on_error = {on_error!r}: expected 'raise' or 'skip'")
    tp_i = _as_int(tp, where="load_vllm_results", key="tp")
    pp_i = _as_int(pp, where="load_vllm_results", key="pp")
    if tp_i < 1 or pp_i < 1:
        raise SpecError(f"load_vllm_results: tp = {tp}, pp = {pp}: expected whole numbers >= 1")
    records: list[Measurement] = []
    skipped: list[tuple[str, str]] = []
    for path in _expand_paths(paths):
        try:
            runs = _read_json_runs(path)
            for i, run in enumerate(runs):
                where = str(path) if len(runs) == 1 else f"{path}[{i}]"
                records.append(
                    _parse_vllm_run(
                        run,
                        where=where,
                        model=model,
                        hardware=hardware,
                        tp=tp_i,
                        pp=pp_i,
                        precision=precision,
                        engine=engine,
                    )
                )
        except SpecError as exc:
            if on_error == "raise":
                raise
            skipped.append((str(path), str(exc)))
    return MeasurementTable(records, skipped=skipped)


def _read_json_runs(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such result file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read result file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # JSON Lines (one run per line) is also accepted.
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) > 1:
            try:
                return [json.loads(ln) for ln in lines]
            except json.JSONDecodeError:
                pass
        raise SpecError(
            f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if isinstance(data, list):
        if not data:
            raise SpecError(f"{path}: empty list, no benchmark results")
        return data
    return [data]


# --------------------------------------------------------------------------------------------- plain CSV
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
                elif name in _INT_FIELDS:
                    vals[name] = _as_int(cell, where=where, key=h)
                else:
                    vals[name] = _as_float(cell, where=where, key=h) * scale
            if not any(vals.get(k) is not None for k in ("model", "input_len", "output_len")):
                continue  # blank line
            for req in ("model", "input_len", "output_len"):
                if vals.get(req) is None:
                    raise SpecError(f"{where}: column {req!r} is blank")
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


# --------------------------------------------------------------------------------------------- public table
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

        return PublicMeasurements(self.path, tuple(r for r in self.rows if _matches(r, criteria)), self.skipped)

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
    here = Path(__file__).resolve()
    for base in (Path.cwd().parent, Path.cwd(), *here.parents):
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
    found beside the working directory or the source tree; `SpecError` when none is found.
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
