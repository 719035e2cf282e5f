"""Reader of the fleet serving-run schema (AIConfigurator's silicon sample: InferenceX and NVIDIA runs).

One row is one measured serving run: a model (`model_path`, a Hugging Face id), a system (`h100_sxm`,
`b200_sxm`, `gb200`, ...), an engine (`backend`), requested lengths (`isl`, `osl`), a mode (`agg`: one
pool of workers that prefill and decode; `disagg`: separate prefill and decode pools) with each pool's
layout, and the measured `silicon_ttft_ms`, `silicon_tpot_ms`.

Conventions of the source, kept explicit here:
- InferenceX draws each request's lengths uniformly from [0.8·L, L] (`random-range-ratio` 0.8) and runs a
  closed loop at max-concurrency = `batch_size`; `silicon_concurrency=N` in `silicon_data_source` is the
  client's concurrency and wins where given (for disaggregated rows it is the only concurrency).
- Layout sizes of 0 are the source's "not set" and read as unspecified (None), like blanks.
- Some disaggregated rows give each pool's layout but not its worker count or batch: those stay None and a
  prediction must say what it assumed.
- Squared attention-DP encoding: some agg rows (one dump of TensorRT-LLM DP-attention runs) write
  `attention_dp_size` = moe_tp × moe_ep with moe_tp = moe_ep = N > 1 and tp 1 (64 = 8 × 8 on an 8-GPU node),
  and a `batch_size` N times too small; the same runs appear in another dump as tp 1, attention_dp N,
  moe_tp 1, moe_ep N, batch N times larger, with identical TTFT and TPOT. Such a layout is read as the latter
  (N GPUs, attention data-parallel over N, experts over N) and the run's `notes` say so.

Errors name the file, the row (1-based data row, plus the row's `id`) and the column.

>>> import io
>>> text = ("id,silicon_data_source,backend,backend_version,model_path,system,precision,mode,isl,osl,"
...         "gemm_quant_mode,moe_quant_mode,batch_size,tp_size,pp_size,attention_dp_size,moe_tp_size,"
...         "moe_ep_size,silicon_ttft_ms,silicon_tpot_ms\\n"
...         "r1,db-dump; silicon_concurrency=64,sglang,0.5.8,Qwen/Qwen3-32B,h200_sxm,fp8,agg,1024,1024,"
...         "fp8,,64,4,1,1,4,1,210.5,12.25\\n")
>>> runs = read_fleet_runs(io.StringIO(text), where="inline.csv")
>>> r = runs[0]
>>> (r.mode, r.concurrency, r.workers[0].tp, r.ttft_s, r.tpot_s)
('agg', 64, 4, 0.2105, 0.01225)
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from infereco.errors import SpecError

__all__ = [
    "FLEET_COLUMNS",
    "FLEET_REQUIRED_COLUMNS",
    "FleetRun",
    "FleetRuns",
    "Pool",
    "is_fleet_csv",
    "load_fleet_runs",
    "read_fleet_runs",
]

# The layout columns of one pool, by suffix: `tp_size` (agg) or `prefill_tp_size` / `decode_tp_size`.
_POOL_KEYS = ("batch_size", "num_workers", "tp_size", "pp_size", "attention_dp_size", "moe_tp_size",
              "moe_ep_size")  # fmt: skip

FLEET_COLUMNS: dict[str, str] = {
    "id": "run id (unique per row)",
    "silicon_data_source": "provenance; 'silicon_concurrency=N' in it is the client's concurrency",
    "backend": "serving engine: trtllm, sglang, vllm",
    "backend_version": "engine version",
    "model_path": "Hugging Face model id",
    "system": "h100_sxm, h200_sxm, b200_sxm, gb200, ...",
    "precision": "bf16, fp8, fp4, int4 (blank: the checkpoint's)",
    "mode": "agg or disagg",
    "isl": "requested input tokens per request (the top of the [0.8·L, L] range)",
    "osl": "requested output tokens per request (the top of the [0.8·L, L] range)",
    "gemm_quant_mode": "GEMM quantization (fp8, fp8_block, nvfp4, ...)",
    "moe_quant_mode": "MoE expert quantization",
    "batch_size": "agg: concurrency of one worker",
    "tp_size": "agg: tensor-parallel degree (attention)",
    "pp_size": "agg: pipeline-parallel degree",
    "attention_dp_size": "agg: attention data-parallel degree",
    "moe_tp_size": "agg: MoE tensor-parallel degree",
    "moe_ep_size": "agg: MoE expert-parallel degree",
    **{
        f"{p}_{k}": f"disagg: {p} pool {k.replace('_', ' ')}"
        for p in ("prefill", "decode")
        for k in _POOL_KEYS
    },
    "silicon_ttft_ms": "measured time to first token, ms",
    "silicon_tpot_ms": "measured time per output token, ms",
}
FLEET_REQUIRED_COLUMNS = ("model_path", "system", "backend", "mode", "isl", "osl")
_MODES = ("agg", "disagg")
_CONCURRENCY = re.compile(r"silicon_concurrency\s*=\s*(\d+)")
# Limits far above any real run: a value beyond them is a unit or column mix-up, not a deployment.
_MAX_TOKENS = 10_000_000
_MAX_DEGREE = 1_000_000
_MAX_MS = 1e9


@dataclass(frozen=True)
class Pool:
    """One pool of identical workers: its per-worker layout and batch (None: the row does not say).

    `tp` × `pp` × ... are per worker (one engine instance); `workers` is how many such instances serve.
    """

    tp: int | None = None
    pp: int | None = None
    attention_dp: int | None = None
    moe_tp: int | None = None
    moe_ep: int | None = None
    batch: int | None = None
    workers: int | None = None

    @property
    def specified(self) -> bool:
        """True where the row gives the tensor-parallel degree (the least a layout needs)."""
        return self.tp is not None


@dataclass(frozen=True)
class FleetRun:
    """One measured serving run of the fleet schema, in SI units (seconds).

    `workers` holds one `Pool` for `agg` rows and (prefill, decode) for `disagg` rows. `concurrency` is the
    client's concurrency (`silicon_concurrency`, else the agg `batch_size`; None if neither is given).
    `input_range` / `output_range` are the token ranges requests were drawn from ([0.8·L, L]).
    `columns` keeps every input column as read (text), for writing predictions beside them.
    """

    id: str
    row: int
    backend: str
    backend_version: str | None
    model_path: str
    system: str
    precision: str | None
    mode: str
    isl: int
    osl: int
    gemm_quant_mode: str | None
    moe_quant_mode: str | None
    workers: tuple[Pool, ...]
    concurrency: int | None
    ttft_s: float | None
    tpot_s: float | None
    columns: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    notes: tuple[str, ...] = field(default=(), compare=False, repr=False)

    RANGE_RATIO = 0.8  # InferenceX `random-range-ratio`

    @property
    def input_range(self) -> tuple[float, float]:
        return (self.RANGE_RATIO * self.isl, float(self.isl))

    @property
    def output_range(self) -> tuple[float, float]:
        return (self.RANGE_RATIO * self.osl, float(self.osl))

    @property
    def prefill(self) -> Pool:
        """The pool that prefills: the only pool of an agg row."""
        return self.workers[0]

    @property
    def decode(self) -> Pool:
        """The pool that decodes: the only pool of an agg row."""
        return self.workers[-1]

    @property
    def layout_specified(self) -> bool:
        return all(p.specified for p in self.workers)


class FleetRuns(Sequence[FleetRun]):
    """An immutable, ordered collection of `FleetRun` rows; `skipped` lists (where, why) of rows left out."""

    def __init__(self, runs: Iterable[FleetRun] = (), *, columns: Sequence[str] = (), skipped=()):
        self._runs = tuple(runs)
        self.columns: tuple[str, ...] = tuple(columns)
        self.skipped: tuple[tuple[str, str], ...] = tuple(skipped)

    def __len__(self) -> int:
        return len(self._runs)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return FleetRuns(self._runs[i], columns=self.columns)
        return self._runs[i]

    def __iter__(self) -> Iterator[FleetRun]:
        return iter(self._runs)

    def __repr__(self) -> str:
        return f"FleetRuns({len(self)} runs, {len(self.skipped)} skipped)"


def is_fleet_csv(header: Iterable[str]) -> bool:
    """True for a header of the fleet schema (it names `model_path`, `system` and a measured latency)."""
    names = set(header)
    return {"model_path", "system"} <= names and bool(names & {"silicon_ttft_ms", "silicon_tpot_ms"})


def load_fleet_runs(path: str | os.PathLike, *, on_error: str = "raise") -> FleetRuns:
    """Read a fleet-schema CSV file (see module docstring) into `FleetRuns`.

    `on_error="skip"` keeps going past malformed rows and lists them in `.skipped`; "raise" (default) stops
    at the first with a `SpecError` naming the row and the column.
    """
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{p}: no such file (expected a CSV of serving runs)")
    with open(p, newline="", encoding="utf-8") as fh:
        return read_fleet_runs(fh, where=str(p), on_error=on_error)


def read_fleet_runs(fh: io.TextIOBase, *, where: str = "<csv>", on_error: str = "raise") -> FleetRuns:
    """`load_fleet_runs` on an open text stream (`where` names it in errors)."""
    if on_error not in ("raise", "skip"):
        raise SpecError(f"on_error={on_error!r}: expected 'raise' or 'skip'")
    reader = csv.DictReader(fh)
    header = reader.fieldnames or []
    if not header:
        raise SpecError(
            f"{where}: empty file (expected a header row naming {', '.join(FLEET_REQUIRED_COLUMNS)})"
        )
    missing = [c for c in FLEET_REQUIRED_COLUMNS if c not in header]
    if missing:
        hints = []
        for c in missing:
            close = difflib.get_close_matches(c, header, n=1)
            hints.append(f"{c!r}" + (f" (is {close[0]!r} it?)" if close else ""))
        raise SpecError(f"{where}: missing column(s) {', '.join(hints)}; the fleet schema needs "
                        f"{', '.join(FLEET_REQUIRED_COLUMNS)}")  # fmt: skip
    runs, skipped, seen = [], [], set()
    for i, raw in enumerate(reader, start=1):
        run_id = (raw.get("id") or "").strip() or f"row{i}"
        at = f"{where} row {i} (id {run_id})"
        try:
            if None in raw:  # more fields than header columns
                raise SpecError(f"{at}: {len(header) + len(raw[None])} fields, the header has {len(header)}")
            run = _parse_row(raw, i, run_id, at)
            if run.id in seen:
                raise SpecError(f"{at}: column 'id' = {run.id!r} repeats an earlier row")
            seen.add(run.id)
        except SpecError as e:
            if on_error == "raise":
                raise
            skipped.append((at, str(e).removeprefix(at + ": ")))
            continue
        runs.append(run)
    return FleetRuns(runs, columns=header, skipped=skipped)


def _text(raw: dict, key: str) -> str | None:
    v = raw.get(key)
    if v is None:
        return None
    v = v.strip()
    return v or None


def _required(raw: dict, key: str, at: str) -> str:
    v = _text(raw, key)
    if v is None:
        raise SpecError(f"{at}: column {key!r} is blank: expected {FLEET_COLUMNS.get(key, 'a value')}")
    return v


def _count(raw: dict, key: str, at: str, *, limit: int, zero_is_unset: bool = True) -> int | None:
    """A positive whole number, or None for blank (and 0 where the source writes 0 for 'not set')."""
    v = _text(raw, key)
    if v is None:
        return None
    try:
        x = float(v)
    except ValueError:
        raise SpecError(f"{at}: column {key!r} = {v!r}: expected a whole number") from None
    if not math.isfinite(x) or x != int(x):
        raise SpecError(f"{at}: column {key!r} = {v!r}: expected a whole number")
    if x == 0 and zero_is_unset:
        return None
    if x < 1 or x > limit:
        raise SpecError(f"{at}: column {key!r} = {v!r}: expected a whole number from 1 to {limit:,}")
    return int(x)


def _latency_s(raw: dict, key: str, at: str) -> float | None:
    v = _text(raw, key)
    if v is None:
        return None
    try:
        x = float(v)
    except ValueError:
        raise SpecError(f"{at}: column {key!r} = {v!r}: expected milliseconds (a number)") from None
    if not math.isfinite(x) or x <= 0 or x > _MAX_MS:
        raise SpecError(f"{at}: column {key!r} = {v!r}: expected milliseconds, > 0 and finite")
    return x / 1e3


def _pool(raw: dict, prefix: str, at: str, notes: list[str] | None = None) -> Pool:
    def get(k, limit=_MAX_DEGREE):
        return _count(raw, prefix + k, at, limit=limit)

    pool = Pool(
        tp=get("tp_size"),
        pp=get("pp_size"),
        attention_dp=get("attention_dp_size"),
        moe_tp=get("moe_tp_size"),
        moe_ep=get("moe_ep_size"),
        batch=get("batch_size", _MAX_TOKENS),
        workers=get("num_workers"),
    )
    return _unsquare(pool, prefix, notes)


def _unsquare(pool: Pool, prefix: str, notes: list[str] | None) -> Pool:
    """The squared attention-DP encoding (module docstring) read as the layout it stands for."""
    n, adp = pool.moe_ep, pool.attention_dp
    if pool.tp in (None, 1) and n is not None and n > 1 and pool.moe_tp == n and adp == n * n:
        if notes is not None:
            notes.append(
                f"{prefix}attention_dp_size {adp} = moe_tp × moe_ep {n} × {n} read as attention_dp "
                f"{n}, moe_tp 1, moe_ep {n}" + (f", batch {pool.batch} × {n}" if pool.batch else "")
            )
        return Pool(tp=1, pp=pool.pp, attention_dp=n, moe_tp=1, moe_ep=n,
                    batch=None if pool.batch is None else pool.batch * n, workers=pool.workers)  # fmt: skip
    return pool


def _parse_row(raw: dict, i: int, run_id: str, at: str) -> FleetRun:
    mode = _required(raw, "mode", at).lower()
    if mode not in _MODES:
        close = difflib.get_close_matches(mode, _MODES, n=1)
        raise SpecError(f"{at}: column 'mode' = {mode!r}: expected 'agg' or 'disagg'"
                        + (f" (did you mean {close[0]!r}?)" if close else ""))  # fmt: skip
    isl = _count(raw, "isl", at, limit=_MAX_TOKENS, zero_is_unset=False)
    osl = _count(raw, "osl", at, limit=_MAX_TOKENS, zero_is_unset=False)
    if isl is None or osl is None:
        raise SpecError(
            f"{at}: column {'isl' if isl is None else 'osl'!r} is blank: expected tokens per request"
        )
    notes: list[str] = []
    if mode == "agg":
        workers = (_pool(raw, "", at, notes),)
    else:
        workers = (_pool(raw, "prefill_", at, notes), _pool(raw, "decode_", at, notes))
    src = _text(raw, "silicon_data_source") or ""
    m = _CONCURRENCY.search(src)
    concurrency = int(m.group(1)) if m else (workers[0].batch if mode == "agg" else None)
    if concurrency is not None and concurrency < 1:
        raise SpecError(f"{at}: silicon_concurrency={concurrency} in 'silicon_data_source': expected >= 1")
    return FleetRun(
        id=run_id,
        row=i,
        backend=_required(raw, "backend", at).lower(),
        backend_version=_text(raw, "backend_version"),
        model_path=_required(raw, "model_path", at),
        system=_required(raw, "system", at).lower(),
        precision=(_text(raw, "precision") or "").lower() or None,
        mode=mode,
        isl=isl,
        osl=osl,
        gemm_quant_mode=(_text(raw, "gemm_quant_mode") or "").lower() or None,
        moe_quant_mode=(_text(raw, "moe_quant_mode") or "").lower() or None,
        workers=workers,
        concurrency=concurrency,
        ttft_s=_latency_s(raw, "silicon_ttft_ms", at),
        tpot_s=_latency_s(raw, "silicon_tpot_ms", at),
        columns={k: (v if v is not None else "") for k, v in raw.items() if k is not None},
        notes=tuple(notes),
    )
