"""The one run record of every reader: `Measurement` (one measured serving run, SI units), the
`MeasurementTable` that holds them, the `Scenario` that groups them, and `serving_runs`, which turns records
into the serving model's `ServingRuns`.

All times are in **seconds** and all rates **per second** in the records, whatever the file used (vLLM writes
`mean_ttft_ms` etc.; other tools convert to seconds and drop the `_ms` suffix: both are read). Unlimited
concurrency and an infinite request rate are `math.inf`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infereco.errors import SpecError
from infereco.physics.serving import ServingRuns

__all__ = [
    "BURST_ITL_RATIO",
    "PER_REQUEST_FIELDS",
    "SCALAR_FIELDS",
    "Measurement",
    "MeasurementTable",
    "Scenario",
    "serving_runs",
]

# A run whose median inter-token latency is below this share of its mean TPOT streamed in bursts
# (`Measurement.bursty_streaming`).
BURST_ITL_RATIO = 0.25


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
        median inter-token latency far below the mean TPOT (below `BURST_ITL_RATIO` of it; an engine that
        keeps up has a median ITL near the decode step, ≥ 0.5·TPOT even when prefills stall some steps).
        End-to-end latency and throughputs do not depend on the split and stay valid.

        >>> Measurement("x", "m", 128, 64, mean_tpot_s=2e-4, median_itl_s=0.0).bursty_streaming.startswith(
        ...     "tokens arrived in bursts"
        ... )
        True
        >>> Measurement("x", "m", 128, 64, mean_tpot_s=2e-4, median_itl_s=2e-4).bursty_streaming is None
        True
        """
        itl, tpot = self.median_itl_s, self.mean_tpot_s
        if itl is None or tpot is None or not (tpot > 0 and math.isfinite(tpot)) or self.output_len < 3:
            return None
        if itl < BURST_ITL_RATIO * tpot:
            return (
                f"tokens arrived in bursts (median ITL {itl * 1e3:.3g} ms < {BURST_ITL_RATIO:g} × mean TPOT "
                f"{tpot * 1e3:.3g} ms): TTFT and TPOT time the client, not the engine"
            )
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


# --------------------------------------------------------------------------------------- to the serving model
def serving_runs(
    table: Iterable[Measurement],
    *,
    tp: int | None = None,
    static: bool | Sequence[bool] = False,
    drop_bursty: bool = True,
) -> ServingRuns:
    """Runs of the serving model from `Measurement` records (a `MeasurementTable` or a list); `tp` overrides
    the records' TP.

    `drop_bursty`: leave out (nan) the TTFT and TPOT of runs whose tokens reached the client in bursts
    (`Measurement.bursty_streaming`; their throughputs stay); `excluded` says which and why."""
    recs = list(table)
    if not recs:
        raise SpecError("serving runs: no measurements given")

    def col(name):
        return np.array([np.nan if getattr(r, name) is None else float(getattr(r, name)) for r in recs])

    measured = {
        "tpot_s": col("mean_tpot_s"),
        "ttft_s": col("mean_ttft_s"),
        "output_throughput_tokens_per_s": col("output_throughput_tokens_per_s"),
        "request_throughput_per_s": col("request_throughput_per_s"),
    }
    excluded = []
    if drop_bursty:
        for i, r in enumerate(recs):
            why = r.bursty_streaming
            if why:
                measured["tpot_s"][i] = measured["ttft_s"][i] = np.nan
                excluded.append((_label(r), why))
    runs = ServingRuns.make(
        col("input_len"),
        col("output_len"),
        concurrency=col("max_concurrency"),
        request_rate=col("request_rate"),
        tp=tp if tp is not None else np.array([r.tp for r in recs], float),
        static=static,
        num_prompts=np.array([np.inf if r.num_prompts is None else float(r.num_prompts) for r in recs]),
        measured=measured,
        labels=[_label(r) for r in recs],
        models=[str(r.model) for r in recs],
    )
    return dataclasses.replace(runs, excluded=tuple(excluded))


def _label(r: Measurement) -> str:
    src = str(r.source)
    name = Path(src.split(" (")[0]).name if src.endswith(".json") else src
    conc = "inf" if math.isinf(r.max_concurrency) else f"{r.max_concurrency:g}"
    return f"{r.model} in{r.input_len:.0f}/out{r.output_len:.0f} C={conc} ({name})"
