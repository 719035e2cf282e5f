"""Reader of the JSON result files written by `vllm bench serve --save-result` (new schema) and the older
`benchmarks/benchmark_serving.py` (old schema, e.g. Lambda's 2024 study), one or many at once."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from infereco.calibration.readers._numbers import _as_float, _as_int, check_run_values
from infereco.calibration.readers.record import Measurement, MeasurementTable
from infereco.errors import SpecError

__all__ = ["load_vllm_results"]

_STATS = ("mean", "median", "p99", "std")
_LATENCIES = ("ttft", "tpot", "itl", "e2el")
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


def _latency(
    d: Mapping[str, Any], base: str, *, where: str, required: bool, used: dict[str, str] | None = None
) -> float | None:
    """`base` (e.g. 'mean_ttft') in seconds: from `base_ms` (ms) or `base_s` / `base` (already seconds);
    `used` (optional) records which key it came from."""
    for key, scale in ((f"{base}_ms", 1e-3), (f"{base}_s", 1.0), (base, 1.0)):
        if key in d:
            if d[key] is None and not required:
                return None
            if used is not None:
                used[base] = key
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
    used: dict[str, str] = {}
    for m in _LATENCIES:
        for s in _STATS:
            base = f"{s}_{m}"
            req = base in _VLLM_REQUIRED_LATENCIES
            val = _latency(d, base, where=where, required=req, used=used)
            if val is None and m == "e2el":  # old schema calls end-to-end latency "latency"
                val = _latency(d, f"{s}_latency", where=where, required=False, used=used)
                if f"{s}_latency" in used:
                    used[base] = used[f"{s}_latency"]
            lat[f"{base}_s"] = val
    rate = d.get("request_rate", "inf")
    rate = math.inf if rate is None else _as_float(rate, where=where, key="request_rate")
    conc = d.get("max_concurrency")
    conc = math.inf if conc is None else _as_float(conc, where=where, key="max_concurrency")
    if conc <= 0:
        raise SpecError(f"{where}: key 'max_concurrency' = {conc}: expected a positive number or null")
    raw = {
        "num_prompts": num_prompts,
        "total_input_tokens": tin,
        "total_output_tokens": tout,
        "request_rate": rate,
        "request_throughput": req_thr,
        "output_throughput": out_thr,
    }
    values = {k: (v, k, v) for k, v in raw.items()}
    values["request_throughput_per_s"] = values.pop("request_throughput")
    values["output_throughput_tokens_per_s"] = values.pop("output_throughput")
    tot_key = "total_token_throughput" if d.get("total_token_throughput") is not None else "input_throughput"
    values["total_token_throughput"] = (tot_thr, tot_key, d.get(tot_key, tot_thr))
    for name, v in lat.items():
        key = used.get(name[:-2])
        if key is not None:
            values[name] = (v, key, d[key])
    check_run_values(values, where=where, output_len=tout / completed)
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
