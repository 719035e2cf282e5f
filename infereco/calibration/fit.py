"""Fit interpretable calibration terms to measured serving runs, with standard errors and prediction intervals.

Parameters (`CALIBRATION_PARAMS`; every one has a physical meaning and a unit):

| name | meaning |
|---|---|
| `bandwidth_utilization` | achieved fraction of peak memory bandwidth (weight reads; KV reads too unless the next is set) |
| `attention_bandwidth_utilization` | achieved fraction of peak memory bandwidth when attention kernels read the KV cache |
| `memory_compute_overlap` | 1 = a step takes max(memory, compute) (the paper), 0 = memory + compute; fitted only when named |
| `flop_utilization` | achieved fraction of peak FLOP/s in decode steps |
| `prefill_flop_utilization` | achieved fraction of peak FLOP/s in prefill |
| `step_overhead_s` | fixed time per engine step (scheduler, sampling, Python), s |
| `layer_overhead_s` | extra time per layer per step (small kernels), s |
| `collective_latency_scale` | multiplier on the modelled collective latency (TP > 1 only) |
| `request_overhead_s` | per-request time outside the engine's steps (client, HTTP, tokenisation), s |
| `first_token_delay_s` | client-side delay of the first token, made up by a burst later (moves time from TPOT to TTFT), s |

Which are fitted: `fit="auto"` keeps, in the priority order step overhead, decode FLOP fraction, prefill FLOP
fraction, attention bandwidth fraction, bandwidth fraction, request overhead, layer overhead, collective scale, each
parameter whose column of the (weighted, log–log) Jacobian — stacked over the starting point and perturbed
points (each utilisation ×0.3 in turn; all overheads ×0.2) — has at least `identify_tol` (default 10%) of its norm
outside the span of the columns kept before it; then, while a fitted one is poorly determined (s.e. of its log
> 0.5, or at a bound), it fixes the lowest-priority such one and refits. The rest stay at their starting value
(the hardware spec's value, or `init`). E.g. with one model the weight-read time is a constant per step, so the
bandwidth fraction is collinear with the step overhead once the attention term carries the context-dependent KV
reads; one model's step and per-layer overheads are exactly collinear (only their sum·L is seen), collective
latency is invisible at TP = 1, and the request overhead needs TTFT. `memory_compute_overlap` and
`first_token_delay_s` are structural and stay at the spec's / engine's value unless named (`NAMED_ONLY`).
`fit=[names]` fixes the choice by hand.

Fit: `scipy.optimize.least_squares` (trust-region reflective, bounds) over log-parameters on log residuals
log(pred/measured) of mean TPOT, mean TTFT and output throughput, with a robust `soft_l1` loss by default.
Weights: in two stages — first each quantity weighted by `weights` (default 1), then by 1/σ_q where σ_q is the
robust scatter (1.4826·MAD) of that quantity's stage-one log residuals, so that a noisy quantity (TTFT) does not
dominate a tight one (TPOT) and the whitened residuals are ~N(0, 1), the scale `soft_l1` (f_scale = 1) assumes.

Uncertainty: the covariance of the fitted log-parameters is s²·(JᵀJ)⁻¹ (J the central-difference Jacobian of the
whitened residuals at the optimum, s² = Σr²/(n − p) with the raw, non-robust residuals); standard errors of the
parameters follow by the delta method (se(θ) = θ·se(log θ)). These are local (Gauss–Newton) errors: on synthetic
data with 36 values they cover the truth as they should (tests/test_calibration_fit.py), with a dozen values and
four parameters they run ~1.3× optimistic. `bootstrap=N` adds a case-resampling bootstrap (runs resampled with
replacement, refitted) and reports its standard deviations beside, as a check.

Prediction intervals (every predicted quantity): in log space, var = g·Cov·gᵀ + σ_q² with g the gradient of
log(prediction) w.r.t. the fitted log-parameters and σ_q² the quantity's residual variance in the fit
(Σr_q²/(n_q − p·n_q/n), raw residuals); the interval is exp(log pred ± t_{ν,(1+level)/2}·√var) with ν = n − p.
A quantity not measured in the fit (e.g. TTFT from throughput-only data) takes the largest σ_q of the fitted ones,
and the report says so.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, stats

from infereco.calibration.ingest import (
    Measurement,
    MeasurementTable,
    load_measurements_csv,
    load_vllm_results,
)
from infereco.calibration.serving import (
    CALIBRATION_PARAMS,
    HARDWARE_PARAMS,
    SERVING_PARAMS,
    EngineConfig,
    MultiServingModel,
    ServingModel,
    ServingPrediction,
    ServingRuns,
)
from infereco.errors import SpecError
from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec

__all__ = [
    "FIT_QUANTITIES",
    "PARAM_BOUNDS",
    "CalibrationResult",
    "PredictionTable",
    "calibrate",
    "load_calibrated_hardware",
    "load_measurements",
    "resolve_hardware_arg",
    "resolve_model_arg",
]

FIT_QUANTITIES = ("tpot_s", "ttft_s", "output_throughput_tokens_per_s")
PREDICTED = ("tpot_s", "ttft_s", "output_throughput_tokens_per_s", "request_throughput_per_s")
QUANTITY_LABELS = {
    "tpot_s": "mean TPOT",
    "ttft_s": "mean TTFT",
    "output_throughput_tokens_per_s": "output throughput",
    "request_throughput_per_s": "request throughput",
}
QUANTITY_UNITS = {"tpot_s": "s", "ttft_s": "s", "output_throughput_tokens_per_s": "tok/s",
                  "request_throughput_per_s": "req/s"}
PARAM_BOUNDS: dict[str, tuple[float, float]] = {
    "bandwidth_utilization": (1e-3, 1.0),
    "attention_bandwidth_utilization": (1e-3, 1.0),
    "memory_compute_overlap": (1e-3, 1.0),
    "flop_utilization": (1e-3, 1.0),
    "prefill_flop_utilization": (1e-3, 1.0),
    "step_overhead_s": (1e-7, 10.0),
    "layer_overhead_s": (1e-9, 1.0),
    "collective_latency_scale": (1e-2, 1e3),
    "request_overhead_s": (1e-6, 100.0),
    "first_token_delay_s": (1e-6, 100.0),
}
PARAM_UNITS = {"step_overhead_s": "s", "layer_overhead_s": "s", "request_overhead_s": "s",
               "first_token_delay_s": "s"}
AUTO_PRIORITY = ("step_overhead_s", "flop_utilization", "prefill_flop_utilization", "attention_bandwidth_utilization",
                 "bandwidth_utilization", "memory_compute_overlap",
                 "request_overhead_s", "first_token_delay_s", "layer_overhead_s", "collective_latency_scale")
# Terms fit="auto" leaves at their spec/engine value: structural choices (how far memory and compute overlap is
# a property of how the hardware executes a step, set in the spec from that) and the client-side burst delay
# (for data whose streaming is suspect); `fit=[...]` can still name them.
NAMED_ONLY = ("memory_compute_overlap", "first_token_delay_s")
_PENALTY = 10.0  # log-residual used where a prediction is not finite (an infeasible parameter region)


# --------------------------------------------------------------------------------------------- inputs
def load_measurements(paths: str | os.PathLike | Iterable[str | os.PathLike], **kwargs: Any) -> MeasurementTable:
    """Measurements from result files: `*.json` (vLLM result files, or directories of them) and `*.csv` (plain
    CSV); `kwargs` go to the loader (`model=`, `hardware=`, `tp=` for JSON; column defaults for CSV)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    table = MeasurementTable()
    json_paths = []
    for p in paths:
        p = Path(p)
        if p.suffix.lower() == ".csv":
            table = table + load_measurements_csv(p, **{k: v for k, v in kwargs.items() if v is not None})
        else:
            json_paths.append(p)
    if json_paths:
        table = table + load_vllm_results(json_paths, **{k: v for k, v in kwargs.items() if v is not None})
    if len(table) == 0:
        raise SpecError("no measurements found in " + ", ".join(map(str, paths)))
    return table


def _is_model_map(value: Any) -> bool:
    """True for {run model name: model} (several models), False for one model's `{base: id, ...}` mapping."""
    if not isinstance(value, Mapping) or not value:
        return False
    return not (set(value) & (set(ModelSpec.model_fields) | {"base"}))


def _yaml_spec_fields(path: Path) -> dict[str, Any]:
    from infereco.specs.catalog import _spec_fields

    fields, sources = _spec_fields(path)
    return fields | ({"__sources__": sources} if sources else {})


def resolve_model_arg(value: str | os.PathLike | Mapping | ModelSpec) -> ModelSpec:
    """A model from a catalog id, a spec, a `{base: ...}` mapping, a model YAML file or a HF `config.json`."""
    from infereco.specs.catalog import resolve_model
    from infereco.specs.hf_config import load_hf_config

    if isinstance(value, (str, os.PathLike)):
        p = Path(value)
        if p.suffix.lower() == ".json" or p.is_dir():
            return load_hf_config(p)
        if p.suffix.lower() in (".yaml", ".yml"):
            fields = _yaml_spec_fields(p)
            src = fields.pop("__sources__", None)
            if src and "source" not in fields:
                fields["source"] = "; ".join(f"{k}: {v}" for k, v in src.items())
            return ModelSpec.validated(fields, where=str(p))
    return resolve_model(value, where="model")


def resolve_hardware_arg(value: str | os.PathLike | Mapping | HardwareSpec) -> HardwareSpec:
    """Hardware from a catalog id, a spec, a `{base: ...}` mapping or a hardware YAML file (catalog format, e.g.
    one written by `CalibrationResult.save_yaml`)."""
    from infereco.specs.catalog import resolve_hardware

    if isinstance(value, (str, os.PathLike)) and Path(value).suffix.lower() in (".yaml", ".yml"):
        return load_calibrated_hardware(value)
    return resolve_hardware(value, where="hardware")


def load_calibrated_hardware(path: str | os.PathLike) -> HardwareSpec:
    """A `HardwareSpec` from a hardware YAML file in the catalog's format (`{value, source}` numbers; `id`,
    `aliases`, `description`, `notes` ignored), e.g. one written by `CalibrationResult.save_yaml`.

    The same file dropped into `hardware_specs/` is a catalog entry (`load_hardware(id)`).
    """
    p = Path(path)
    fields = _yaml_spec_fields(p)
    sources = fields.pop("__sources__", {})
    fields["sources"] = {**sources, **(fields.get("sources") or {})}
    return HardwareSpec.validated(fields, where=str(p))


def _as_runs(measurements, tp, static) -> tuple[ServingRuns, list[str]]:
    files: list[str] = []
    if isinstance(measurements, ServingRuns):
        return measurements, files
    if isinstance(measurements, (str, os.PathLike)) or (
        isinstance(measurements, (list, tuple)) and measurements and isinstance(measurements[0], (str, os.PathLike))
    ):
        measurements = load_measurements(measurements)
    recs = list(measurements)
    if not recs or not all(isinstance(r, Measurement) for r in recs):
        raise SpecError("calibrate: expected Measurement records, a MeasurementTable, ServingRuns or result paths")
    files = sorted({str(r.source).split(" (")[0] for r in recs})
    return ServingRuns.from_measurements(recs, tp=tp, static=static), files


# --------------------------------------------------------------------------------------------- predictions
@dataclasses.dataclass(frozen=True)
class PredictionTable:
    """Predictions with intervals for a set of runs: `pred[q]`, `lo[q]`, `hi[q]` (arrays), measured (nan if not),
    and the raw `ServingPrediction`."""

    runs: ServingRuns
    pred: dict[str, np.ndarray]
    lo: dict[str, np.ndarray]
    hi: dict[str, np.ndarray]
    level: float
    raw: ServingPrediction

    def measured(self, q: str) -> np.ndarray:
        return self.runs.measured.get(q, np.full(len(self.runs), np.nan))

    def pct_error(self, q: str) -> np.ndarray:
        """100·(pred − measured)/measured (nan where not measured)."""
        m = self.measured(q)
        return 100.0 * (self.pred[q] - m) / m

    def inside(self, q: str) -> np.ndarray:
        """True where the measured value lies in the interval (False/nan-safe: only measured entries are real)."""
        m = self.measured(q)
        return (m >= self.lo[q]) & (m <= self.hi[q])

    def summary(self, quantities: Sequence[str] = FIT_QUANTITIES) -> dict[str, dict[str, float]]:
        """Per quantity: n, median |% error|, MAPE, fraction inside the interval."""
        out = {}
        for q in quantities:
            m = self.measured(q)
            ok = np.isfinite(m) & np.isfinite(self.pred[q])
            e = np.abs(self.pct_error(q)[ok])
            out[q] = {"n": int(ok.sum()),
                      "median_abs_pct_error": float(np.median(e)) if e.size else math.nan,
                      "mape": float(np.mean(e)) if e.size else math.nan,
                      "coverage": float(np.mean(self.inside(q)[ok])) if e.size else math.nan}
        return out

    def to_records(self) -> list[dict[str, Any]]:
        rows = []
        for i in range(len(self.runs)):
            row: dict[str, Any] = {"run": self.runs.labels[i], "input_len": float(self.runs.input_len[i]),
                                   "output_len": float(self.runs.output_len[i]),
                                   "concurrency": float(self.runs.concurrency[i]),
                                   "request_rate": float(self.runs.request_rate[i]), "tp": float(self.runs.tp[i])}
            for q in PREDICTED:
                row[q] = float(self.pred[q][i])
                row[q + "_lo"] = float(self.lo[q][i])
                row[q + "_hi"] = float(self.hi[q][i])
                row[q + "_measured"] = float(self.measured(q)[i])
            rows.append(row)
        return rows

    def table(self, quantities: Sequence[str] = FIT_QUANTITIES) -> str:
        """Text table: run, then per quantity measured, predicted [lo, hi], error %."""
        heads = ["run"]
        for q in quantities:
            u = QUANTITY_UNITS[q]
            heads += [f"{_short_q(q)} meas {_unit(u)}", f"{_short_q(q)} pred [{int(self.level * 100)}% PI]", "err %"]
        rows = []
        for i in range(len(self.runs)):
            row = [self.runs.labels[i]]
            for q in quantities:
                sc = _scale(QUANTITY_UNITS[q])
                m = self.measured(q)[i]
                row += [_num(m * sc), (f"{_num(self.pred[q][i] * sc)} [{_num(self.lo[q][i] * sc)}, "
                        f"{_num(self.hi[q][i] * sc)}]"), _num(self.pct_error(q)[i], pct=True)]
            rows.append(row)
        return _text_table(rows, heads)


def _short_q(q):
    return {"tpot_s": "TPOT", "ttft_s": "TTFT", "output_throughput_tokens_per_s": "out tok/s",
            "request_throughput_per_s": "req/s"}[q]


def _unit(u):
    return {"s": "ms", "tok/s": "", "req/s": ""}[u]


def _scale(u):
    return 1e3 if u == "s" else 1.0


def _num(x, pct=False) -> str:
    if x is None or not np.isfinite(x):
        return "—"
    if pct:
        return f"{x:+.1f}"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def _text_table(rows, heads) -> str:
    cells = [[str(c) for c in r] for r in rows]
    w = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(heads)]
    fmt = lambda r: "  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r))
    return "\n".join([fmt(heads), fmt(["-" * x for x in w])] + [fmt(r) for r in cells])


# --------------------------------------------------------------------------------------------- result
@dataclasses.dataclass
class CalibrationResult:
    """A fitted serving model: parameters with standard errors, fit statistics, predictions with intervals.

    `params` holds every calibration term (fitted and fixed), `stderr` the fitted ones' standard errors (nan for
    fixed), `fitted` their names. `predict(...)` gives predictions with prediction intervals, `report()` a text
    table, `hardware_spec()` the calibrated `HardwareSpec` (use it anywhere a hardware spec is accepted:
    `pareto_frontier(model, result.hardware_spec())`), `save_yaml(path)` writes it with its provenance.
    """

    model: ModelSpec
    base_hardware: HardwareSpec
    engine: EngineConfig
    preset: Any
    params: dict[str, float]
    fitted: tuple[str, ...]
    stderr: dict[str, float]
    covariance_log: np.ndarray  # of the fitted log-parameters, order = `fitted`
    sigma: dict[str, float]  # residual SD of log(pred/measured) per quantity
    sigma_fitted: tuple[str, ...]  # quantities whose sigma comes from the data
    dof: int
    n_residuals: int
    cost: float
    success: bool
    message: str
    loss: str
    weights: dict[str, float]
    train: PredictionTable
    data_files: tuple[str, ...] = ()
    bootstrap_stderr: dict[str, float] | None = None
    at_bound: tuple[str, ...] = ()
    auto_dropped: dict[str, str] = dataclasses.field(default_factory=dict)
    created: str = dataclasses.field(default_factory=lambda: _dt.datetime.now().isoformat(timespec="seconds"))
    models: dict[str, ModelSpec] = dataclasses.field(default_factory=dict)  # run key -> model (several models)
    _serving: MultiServingModel | None = dataclasses.field(default=None, repr=False)

    # -- predictions
    @property
    def serving_model(self) -> MultiServingModel:
        if self._serving is None:
            models = self.models or {"": self.model}
            self._serving = MultiServingModel({k: ServingModel(m, self.base_hardware, engine=self.engine,
                                                               preset=self.preset) for k, m in models.items()})
        return self._serving

    def predict(self, runs=None, *, model=None, engine: EngineConfig | None = None, level: float = 0.9,
                tp: int | None = None, static=False, **run_kwargs: Any) -> PredictionTable:
        """Predictions with `level` prediction intervals for `runs` (ServingRuns, Measurement records or result
        paths) or for runs given as keywords (`input_len=, output_len=, concurrency=, request_rate=, tp=`).

        `model` predicts another model (id, spec, path) on the calibrated hardware with the fitted terms (their
        covariance propagates as for the calibrated model); `engine` another engine configuration."""
        if runs is None:
            if tp is not None:
                run_kwargs["tp"] = tp
            runs = ServingRuns.make(static=static, **run_kwargs)
        elif not isinstance(runs, ServingRuns):
            runs, _ = _as_runs(runs, tp, static)
        sm = self.serving_model
        if model is not None or engine is not None:
            m = resolve_model_arg(model) if model is not None else self.model
            sm = MultiServingModel({"": ServingModel(m, self.base_hardware, engine=engine or self.engine,
                                                     preset=self.preset)})
            runs = dataclasses.replace(runs, models=("",) * len(runs))
        return _predict_with_intervals(sm, runs, self.params, self.fitted, self.covariance_log,
                                       self.sigma, self.dof, level)

    @property
    def model_names(self) -> str:
        return ", ".join(m.name for m in self.models.values()) if self.models else self.model.name

    # -- outputs
    def hardware_spec(self) -> HardwareSpec:
        """The calibrated hardware spec (calibration fields set; sources say where each came from)."""
        hw = self.serving_model.hardware_spec(self.params)
        sources = dict(hw.sources)
        for k in HARDWARE_PARAMS:
            sources[k] = self._source_text(k)
        name = hw.name if hw.name.endswith("(calibrated)") else f"{hw.name} (calibrated)"
        return hw.replace(name=name, sources=sources)

    def _source_text(self, k: str) -> str:
        if k in self.fitted:
            se = self.stderr.get(k, math.nan)
            return (f"calibrated by infereco.calibration ({self.created[:10]}): {self.params[k]:.6g} ± {se:.2g} "
                    f"(1 s.e.) from {len(self.train.runs)} runs ({', '.join(self._file_names()) or 'in memory'})")
        if not math.isfinite(self.params[k]):  # an unset, tied term (attention bandwidth = bandwidth)
            return f"left unset during calibration ({self.created[:10]}): KV reads at bandwidth_utilization"
        return f"fixed during calibration ({self.created[:10]}) at {self.params[k]:.6g}"

    def _file_names(self, n: int = 4) -> list[str]:
        names = [Path(f).name for f in self.data_files]
        return names if len(names) <= n else names[:n] + [f"… {len(names) - n} more"]

    def fit_summary(self) -> dict[str, dict[str, float]]:
        return self.train.summary([q for q in FIT_QUANTITIES if np.isfinite(self.train.measured(q)).any()])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: parameters, standard errors, fit statistics and provenance."""
        def f(x):
            return None if x is None or not np.isfinite(x) else float(x)

        return {
            "model": self.model_names, "hardware": self.base_hardware.name,
            "params": {k: f(v) for k, v in self.params.items()},
            "fitted": list(self.fitted),
            "stderr": {k: f(self.stderr.get(k)) for k in self.fitted},
            "bootstrap_stderr": None if self.bootstrap_stderr is None else {
                k: f(v) for k, v in self.bootstrap_stderr.items()},
            "at_bound": list(self.at_bound), "not_identifiable": dict(self.auto_dropped),
            "residual_sigma_log": {k: f(v) for k, v in self.sigma.items()},
            "fit": {q: {k: f(v) for k, v in s.items()} for q, s in self.fit_summary().items()},
            "n_runs": len(self.train.runs), "n_residuals": self.n_residuals, "dof": self.dof,
            "cost": f(self.cost), "success": bool(self.success), "message": self.message, "loss": self.loss,
            "weights": dict(self.weights),
            "engine": dataclasses.asdict(self.engine), "data_files": list(self.data_files), "created": self.created,
        }

    def report(self, *, runs: bool = True) -> str:
        """Text report: fitted parameters with standard errors, fit quality per quantity, and per-run residuals."""
        lines = [(f"Calibration of {self.model_names} on {self.base_hardware.name}: {len(self.train.runs)} runs, "
                 f"{self.n_residuals} residuals, {len(self.fitted)} fitted parameters "
                 f"(loss {self.loss}, {'converged' if self.success else 'NOT converged: ' + self.message})"), ""]
        rows = []
        for k in CALIBRATION_PARAMS:
            v = self.params[k]
            unit = PARAM_UNITS.get(k, "")
            sc, u = (1e3, "ms") if unit == "s" else (1.0, "")
            if k in self.fitted:
                se = self.stderr[k]
                rel = se / v * 100 if v else math.nan
                bs = "" if self.bootstrap_stderr is None else _num(self.bootstrap_stderr.get(k, math.nan) * sc)
                status = "fitted" + (" (at bound)" if k in self.at_bound else "")
                rows.append([k, _num(v * sc) + (f" {u}" if u else ""), _num(se * sc), f"{rel:.0f}%", bs, status])
            else:
                why = self.auto_dropped.get(k, "fixed")
                rows.append([k, _num(v * sc) + (f" {u}" if u else ""), "", "", "", why])
        heads = ["parameter", "value", "s.e.", "rel. s.e.", "bootstrap s.e." if self.bootstrap_stderr else "", "status"]
        lines.append(_text_table(rows, heads))
        lines.append("")
        qrows = []
        for q, s in self.fit_summary().items():
            qrows.append([QUANTITY_LABELS[q], s["n"], f"{s['median_abs_pct_error']:.1f}", f"{s['mape']:.1f}",
                          f"{self.sigma[q]:.3f}", f"{s['coverage'] * 100:.0f}%"])
        lines.append(_text_table(qrows, ["quantity", "n", "median |err| %", "MAPE %", "σ(log)",
                                         f"in {int(self.train.level * 100)}% PI"]))
        missing = [q for q in FIT_QUANTITIES if q not in self.sigma_fitted]
        if missing:
            lines.append(f"not measured in the fit: {', '.join(QUANTITY_LABELS[q] for q in missing)} "
                         "(intervals use the largest fitted σ; uncalibrated terms stay at their starting values)")
        if runs:
            lines += ["", self.train.table([q for q in FIT_QUANTITIES if q in self.sigma_fitted])]
        return "\n".join(lines)

    def save_yaml(self, path: str | os.PathLike, *, id: str | None = None) -> Path:
        """Write the calibrated hardware spec as catalog-format YAML with its provenance under `notes`.

        Read it back with `load_calibrated_hardware(path)` (or `infereco calibrate ... --hardware path`), or drop
        it into `hardware_specs/` to make it a catalog id.
        """
        import yaml

        p = Path(path)
        hw = self.hardware_spec()
        data = hw.model_dump()
        sources = data.pop("sources", {}) or {}
        out: dict[str, Any] = {"id": id or _slug(f"{self.base_hardware.name.split(' (')[0]}-calibrated"),
                               "name": hw.name,
                               "description": f"{self.base_hardware.name} calibrated against measured runs of "
                               f"{self.model_names} (infereco.calibration)"}
        for k, v in data.items():
            if k in HARDWARE_PARAMS:
                out[k] = {"value": v, "source": sources.pop(k, self._source_text(k))}
            else:
                out[k] = v
        out["sources"] = sources
        notes = self.to_dict()
        notes["serving_terms"] = {k: self.params[k] for k in SERVING_PARAMS}
        out["notes"] = {"calibration": notes}
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(yaml.safe_dump(_plain(out), sort_keys=False, allow_unicode=True), encoding="utf-8")
        return p


def _slug(s: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def _plain(x):
    if isinstance(x, dict):
        return {str(k) if not isinstance(k, int) else k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if np.isfinite(x) else (None if np.isnan(x) else float(x))
    if isinstance(x, np.integer):
        return int(x)
    return x


# --------------------------------------------------------------------------------------------- machinery
def _log_pred(sm: ServingModel, runs: ServingRuns, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    pr = sm.predict(runs, params, check=False)  # finite differences may step just past a bound
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for q in PREDICTED:
            v = pr.quantity(q)
            out[q] = np.where(np.isfinite(v) & (v > 0), np.log(np.where(v > 0, v, 1.0)), np.nan)
    return out


def _grad_log_pred(sm, runs, params, fitted, h=1e-4) -> dict[str, np.ndarray]:
    """d log(pred_q)/d log(θ_j), central differences: {q: (n_runs, n_fitted)}."""
    g = {q: np.zeros((len(runs), len(fitted))) for q in PREDICTED}
    for j, k in enumerate(fitted):
        up, dn = dict(params), dict(params)
        up[k] = params[k] * math.exp(h)
        dn[k] = params[k] * math.exp(-h)
        a, b = _log_pred(sm, runs, up), _log_pred(sm, runs, dn)
        for q in PREDICTED:
            g[q][:, j] = np.nan_to_num((a[q] - b[q]) / (2 * h))
    return g


def _predict_with_intervals(sm, runs, params, fitted, cov, sigma, dof, level) -> PredictionTable:
    raw = sm.predict(runs, params)
    grads = _grad_log_pred(sm, runs, params, fitted) if fitted else {q: np.zeros((len(runs), 0)) for q in PREDICTED}
    tq = float(stats.t.ppf(0.5 + level / 2.0, max(dof, 1)))
    pred, lo, hi = {}, {}, {}
    for q in PREDICTED:
        v = raw.quantity(q)
        g = grads[q]
        if g.shape[1]:
            finite = np.isfinite(cov)
            var_p = np.einsum("ij,jk,ik->i", g, np.where(finite, cov, 0.0), g)
            null = ~np.isfinite(np.diag(cov))  # undetermined parameters: infinite where they matter
            if null.any():
                var_p = np.where(np.any(np.abs(g[:, null]) > 1e-12, axis=1), np.inf, var_p)
        else:
            var_p = np.zeros(len(runs))
        s = sigma.get(q, max(sigma.values()) if sigma else 0.0)
        half = tq * np.sqrt(np.maximum(var_p, 0.0) + s**2)
        pred[q] = v
        with np.errstate(over="ignore", invalid="ignore"):
            lo[q] = v * np.exp(-half)
            hi[q] = v * np.exp(half)
    return PredictionTable(runs, pred, lo, hi, level, raw)


def _auto_select(sm, runs, start, candidates, meas_q, wq, tol) -> tuple[list[str], dict[str, str]]:
    """Greedy identifiability check (see module docstring): returns (kept, {dropped: reason})."""
    # Sensitivities at the starting point and at two perturbed points (utilisations ×0.3, overheads ×0.2), stacked:
    # a parameter counts as visible if it matters anywhere in that plausible region, and as collinear only if it
    # is collinear everywhere there.
    points = [dict(start)]
    for k in ("flop_utilization", "prefill_flop_utilization", "bandwidth_utilization",
              "attention_bandwidth_utilization"):
        points.append({**start, k: start[k] * 0.3})
    points.append({k: (v * 0.2 if k.endswith("overhead_s") else v) for k, v in start.items()})
    cols = []
    for pt in points:
        grads = _grad_log_pred(sm, runs, pt, candidates, h=1e-3)
        for q, mask in meas_q.items():
            cols.append(grads[q][mask] * wq[q])
    J = np.vstack(cols) if cols else np.zeros((0, len(candidates)))
    norms = np.linalg.norm(J, axis=0)
    kept: list[str] = []
    dropped: dict[str, str] = {}
    basis: list[np.ndarray] = []
    top = norms.max() if norms.size else 0.0
    for name in AUTO_PRIORITY:
        if name not in candidates:
            continue
        j = candidates.index(name)
        v = J[:, j]
        if norms[j] <= 1e-6 * max(top, 1e-300) or norms[j] == 0:
            dropped[name] = "not identifiable (no effect on the measured runs)"
            continue
        r = v.copy()
        for b in basis:
            r = r - (r @ b) * b
        if np.linalg.norm(r) < tol * norms[j]:
            dropped[name] = "not identifiable (collinear with " + ", ".join(kept[:2]) + (", …" if len(kept) > 2 else "") + ")"
            continue
        basis.append(r / np.linalg.norm(r))
        kept.append(name)
    return kept, dropped


def _log_bounds(names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([math.log(PARAM_BOUNDS[k][0]) for k in names]),
            np.array([math.log(PARAM_BOUNDS[k][1]) for k in names]))


def _initial(sm: ServingModel, runs: ServingRuns, init: Mapping[str, float] | None) -> dict[str, float]:
    start = sm.params()
    tpot = runs.measured.get("tpot_s", np.array([np.nan]))
    ttft = runs.measured.get("ttft_s", np.array([np.nan]))
    # Utilisation caps start from the paper's (70% FLOP, 75% bandwidth) where the spec leaves them at 1.
    if start["flop_utilization"] >= 1.0:
        start["flop_utilization"] = 0.7
    if start["prefill_flop_utilization"] >= 1.0:
        start["prefill_flop_utilization"] = start["flop_utilization"]
    if start["bandwidth_utilization"] >= 1.0:
        start["bandwidth_utilization"] = 0.75
    if start["memory_compute_overlap"] >= 1.0:  # the paper's full overlap is a bound; start half-way
        start["memory_compute_overlap"] = 0.5
    if not math.isfinite(start["attention_bandwidth_utilization"]):  # unset: start where it is tied to
        start["attention_bandwidth_utilization"] = start["bandwidth_utilization"]
    if start["step_overhead_s"] <= 0:
        ok = np.isfinite(tpot)
        if ok.any():  # a third of the mean TPOT at the lowest concurrency measured
            c = runs.concurrency[ok]
            start["step_overhead_s"] = float(np.mean(tpot[ok][c == c.min()])) / 3.0
        else:
            start["step_overhead_s"] = 1e-4
    if start["layer_overhead_s"] <= 0:
        start["layer_overhead_s"] = 0.05 * start["step_overhead_s"] / max(sm.model.n_layers, 1)
    if start["request_overhead_s"] <= 0:
        finite = ttft[np.isfinite(ttft)]
        start["request_overhead_s"] = 0.25 * float(np.median(finite)) if finite.size else 1e-3
    if start["first_token_delay_s"] <= 0:
        start["first_token_delay_s"] = 0.5 * start["request_overhead_s"]
    for k, v in (init or {}).items():
        if k not in start:
            raise SpecError(f"calibrate: init has unknown parameter {k!r}; known: {', '.join(CALIBRATION_PARAMS)}")
        start[k] = float(v)
    for k, (lo, hi) in PARAM_BOUNDS.items():
        start[k] = float(np.clip(start[k], lo * 1.0000001, hi))
    return start


def calibrate(measurements, model, hardware, *, tp: int | None = None, engine: EngineConfig | None = None,
              preset="default", fit: str | Sequence[str] = "auto", fixed: Mapping[str, float] | None = None,
              init: Mapping[str, float] | None = None, weights: Mapping[str, float] | None = None,
              quantities: Sequence[str] = FIT_QUANTITIES, loss: str = "soft_l1", f_scale: float = 1.0,
              static: bool | Sequence[bool] = False, bootstrap: int = 0, seed: int = 0, level: float = 0.9,
              identify_tol: float = 0.1, max_se_log: float = 0.5,
              data_files: Sequence[str] | None = None) -> CalibrationResult:
    """Fit calibration terms to measured runs (see the module docstring for the method).

    `measurements`: a `MeasurementTable`, Measurement records, `ServingRuns` with `measured`, or result file
    paths. `model`, `hardware`: catalog ids, specs, mappings or YAML paths (a model may also be a HF
    config.json). `tp` overrides the runs' tensor-parallel degree. `engine`: the engine's token budget etc.
    (default `EngineConfig()`). `fit`: "auto" or the names to fit; `fixed` pins values (never fitted);
    `init` sets starting values. `weights` per quantity (default 1). `static` marks static-batch runs.

    >>> r = calibrate("tests/data/vllm_cpu_runs", "tiny.yaml", "cpu.yaml")   # doctest: +SKIP
    >>> print(r.report()); r.save_yaml("calibrated.yaml")                     # doctest: +SKIP
    """
    hw = resolve_hardware_arg(hardware)
    runs, files = _as_runs(measurements, tp, static)
    if data_files is not None:
        files = list(data_files)
    if _is_model_map(model):
        models = {str(k): resolve_model_arg(v) for k, v in model.items()}
        missing = sorted(set(runs.models) - set(models))
        if missing:
            raise SpecError(f"calibrate: no model given for runs of {', '.join(map(repr, missing))}; "
                            f"the model mapping has {', '.join(map(repr, models))}")
        models = {k: v for k, v in models.items() if k in set(runs.models)}
    else:
        models = {"": resolve_model_arg(model)}
        runs = dataclasses.replace(runs, models=("",) * len(runs))
    m = next(iter(models.values()))
    sm = MultiServingModel({k: ServingModel(v, hw, engine=engine, preset=preset) for k, v in models.items()})
    for q in quantities:
        if q not in FIT_QUANTITIES:
            raise SpecError(f"calibrate: cannot fit quantity {q!r}; choose from {', '.join(FIT_QUANTITIES)}")
    w_user = {q: 1.0 for q in quantities}
    for q, w in (weights or {}).items():
        if q not in FIT_QUANTITIES:
            raise SpecError(f"calibrate: weights has unknown quantity {q!r}; choose from {', '.join(FIT_QUANTITIES)}")
        w_user[q] = float(w)
    meas_q: dict[str, np.ndarray] = {}
    logm: dict[str, np.ndarray] = {}
    for q in quantities:
        v = runs.measured.get(q)
        if v is None:
            continue
        mask = np.isfinite(v) & (v > 0)
        if mask.any() and w_user[q] > 0:
            meas_q[q] = mask
            logm[q] = np.log(np.where(mask, v, 1.0))
    if not meas_q:
        raise SpecError("calibrate: the runs report none of " + ", ".join(QUANTITY_LABELS[q] for q in quantities))
    n_res = int(sum(mk.sum() for mk in meas_q.values()))
    for what, values in (("init", init), ("fixed", fixed)):
        try:
            sm.params(values)  # names and ranges checked once, here at the edge
        except SpecError as exc:
            raise SpecError(f"calibrate: {what}: {exc}") from None
    start = _initial(sm, runs, init)
    fixed = dict(fixed or {})
    for k, v in fixed.items():
        if k not in start:
            raise SpecError(f"calibrate: fixed has unknown parameter {k!r}; known: {', '.join(CALIBRATION_PARAMS)}")
        start[k] = float(v)
    # Candidates: what the data can possibly see.
    cand = [k for k in CALIBRATION_PARAMS if k not in fixed]
    dropped: dict[str, str] = {}
    if np.all(runs.tp == 1):
        dropped["collective_latency_scale"] = "not identifiable (no run with TP > 1)"
    if "ttft_s" not in meas_q or np.all(runs.static):
        dropped["request_overhead_s"] = "not identifiable (no TTFT of served requests measured)"
        dropped["first_token_delay_s"] = "not identifiable (no TTFT of served requests measured)"
    elif "tpot_s" not in meas_q:
        dropped["first_token_delay_s"] = "not identifiable (needs TPOT and TTFT)"
    if fit == "auto":
        for k in NAMED_ONLY:
            dropped.setdefault(k, "structural term: kept at the spec's value unless named in fit=[...]")
        cand = [k for k in cand if k not in dropped]
        wq0 = {q: w_user[q] for q in meas_q}
        names, more = _auto_select(sm, runs, start, cand, meas_q, wq0, identify_tol)
        dropped.update(more)
        for k in names[max(n_res - 1, 1):]:  # keep at least one degree of freedom (priority order decides)
            dropped[k] = "fixed: too few measured values to fit it too"
        names = names[:max(n_res - 1, 1)]
    else:
        names = list(fit)
        for k in names:
            if k not in CALIBRATION_PARAMS:
                raise SpecError(f"calibrate: cannot fit {k!r}; known: {', '.join(CALIBRATION_PARAMS)}")
        dropped = {}
    if len(names) > n_res:
        raise SpecError(f"calibrate: {len(names)} parameters but only {n_res} measured values")
    # Parameters not fitted (or dropped below) keep the hardware spec's / engine's value, or `init` / `fixed`;
    # fitted ones start from the data-driven guesses of `_initial`.
    base = sm.params()
    base_values = {k: float(fixed.get(k, (init or {}).get(k, base[k]))) for k in CALIBRATION_PARAMS}
    fit_starts = dict(start)

    def resid_fn(names_, sub_runs, sub_mask, sub_logm, wq):
        def f(x):
            p = {**base_values, **{k: math.exp(xi) for k, xi in zip(names_, x)}}
            lp = _log_pred(sm, sub_runs, p)
            parts = []
            for q, mk in sub_mask.items():
                r = lp[q][mk] - sub_logm[q][mk]
                parts.append(wq[q] * np.where(np.isfinite(r), r, _PENALTY))
            return np.concatenate(parts) if parts else np.zeros(0)
        return f

    def solve(names_, f, x_init):
        if not names_:
            return x_init, True, "nothing to fit", float(0.5 * np.sum(f(x_init) ** 2))
        lb_, ub_ = _log_bounds(names_)
        res = optimize.least_squares(f, np.clip(x_init, lb_, ub_), bounds=(lb_, ub_), loss=loss, f_scale=f_scale,
                                     x_scale=1.0, method="trf", max_nfev=400 * max(len(names_), 1))
        return res.x, bool(res.success), str(res.message), float(res.cost)

    def fit_once(names_):
        # Stage 1: user weights. Stage 2: whiten each quantity by its robust residual scatter.
        x0_ = np.log([fit_starts[k] for k in names_]) if names_ else np.zeros(0)
        wq_ = {q: w_user[q] for q in meas_q}
        x1_, *_ = solve(names_, resid_fn(names_, runs, meas_q, logm, wq_), x0_)
        lp1 = _log_pred(sm, runs, {**base_values, **{k: math.exp(v) for k, v in zip(names_, x1_)}})
        for q, mk in meas_q.items():
            r = lp1[q][mk] - logm[q][mk]
            r = r[np.isfinite(r)]
            mad = 1.4826 * float(np.median(np.abs(r - np.median(r)))) if r.size else 1.0
            wq_[q] = w_user[q] / max(mad, 0.01)
        f2_ = resid_fn(names_, runs, meas_q, logm, wq_)
        xh, ok_, msg_, cost_ = solve(names_, f2_, x1_)
        # Covariance of log-parameters from the whitened residuals' Jacobian (central differences).
        pn = len(names_)
        rh = f2_(xh)
        if pn:
            J = np.zeros((rh.size, pn))
            for jj in range(pn):
                xp, xm = xh.copy(), xh.copy()
                xp[jj] += 1e-4
                xm[jj] -= 1e-4
                J[:, jj] = (f2_(xp) - f2_(xm)) / 2e-4
            cov_ = float(np.sum(rh**2) / max(n_res - pn, 1)) * np.linalg.pinv(J.T @ J)
            # A parameter with no effect at the optimum is not determined at all (pinv would say "exactly").
            norms = np.linalg.norm(J, axis=0)
            null = norms <= 1e-8 * max(float(norms.max()), 1e-300)
            cov_[null, :] = 0.0
            cov_[:, null] = 0.0
            cov_[null, null] = np.inf
        else:
            cov_ = np.zeros((0, 0))
        return xh, ok_, msg_, cost_, cov_, wq_

    # Backward elimination (fit="auto"): while a fitted parameter is poorly determined — se(log θ) > max_se_log
    # or at a bound — fix the lowest-priority such parameter at its spec value and refit.
    while True:
        x_hat, ok, msg, cost, cov, wq = fit_once(names)
        lb, ub = _log_bounds(names)
        se_log = np.sqrt(np.maximum(np.diag(cov), 0.0)) if names else np.zeros(0)
        at_bound = tuple(k for k, xi, lo_, hi_ in zip(names, x_hat, lb, ub)
                         if xi <= lo_ + 1e-6 or xi >= hi_ - 1e-6)
        poor = [k for k, s_ in zip(names, se_log) if s_ > max_se_log or k in at_bound]
        if fit != "auto" or not poor:
            break
        worst = max(poor, key=lambda k: AUTO_PRIORITY.index(k))
        names = [k for k in names if k != worst]
        dropped[worst] = ("not identifiable from these data (" + ("at a bound" if worst in at_bound else
                          f"s.e. of log > {max_se_log:g}") + " when fitted); fixed")
    p_hat = {**base_values, **{k: math.exp(v) for k, v in zip(names, x_hat)}}
    p_n = len(names)
    dof = max(n_res - p_n, 1)
    stderr = {k: p_hat[k] * float(s) for k, s in zip(names, se_log)}
    # Residual scatter per quantity (raw log residuals, dof-corrected) for prediction intervals.
    lp = _log_pred(sm, runs, p_hat)
    sigma: dict[str, float] = {}
    for q, mk in meas_q.items():
        r = lp[q][mk] - logm[q][mk]
        r = r[np.isfinite(r)]
        nq = r.size
        share = p_n * nq / max(n_res, 1)
        sigma[q] = float(math.sqrt(np.sum(r**2) / max(nq - share, 1.0))) if nq else math.nan
    sigma_fitted = tuple(sigma)
    big = max(sigma.values()) if sigma else 0.0
    for q in PREDICTED:
        if q not in sigma:
            sigma[q] = sigma["output_throughput_tokens_per_s"] if (
                q == "request_throughput_per_s" and "output_throughput_tokens_per_s" in sigma) else big
    boot = None
    if bootstrap and p_n:
        rng = np.random.default_rng(seed)
        draws = []
        for _ in range(int(bootstrap)):
            idx = rng.integers(0, len(runs), len(runs))
            sub = runs.subset(idx)
            sub_mask = {q: mk[idx] for q, mk in meas_q.items()}
            sub_logm = {q: v[idx] for q, v in logm.items()}
            if sum(mk.sum() for mk in sub_mask.values()) <= p_n:
                continue
            xb, *_ = solve(names, resid_fn(names, sub, sub_mask, sub_logm, wq), x_hat)
            draws.append([math.exp(v) for v in xb])
        if len(draws) >= 2:
            arr = np.array(draws)
            boot = {k: float(np.std(arr[:, j], ddof=1)) for j, k in enumerate(names)}
    train = _predict_with_intervals(sm, runs, p_hat, tuple(names), cov, sigma, dof, level)
    return CalibrationResult(
        model=m, base_hardware=hw, engine=sm.engine, preset=preset, params=p_hat, fitted=tuple(names),
        stderr=stderr, covariance_log=cov, sigma=sigma, sigma_fitted=sigma_fitted, dof=dof, n_residuals=n_res,
        cost=cost, success=ok, message=msg, loss=loss,
        weights={q: float(wq[q]) for q in wq}, train=train, data_files=tuple(files), bootstrap_stderr=boot,
        at_bound=at_bound, auto_dropped={k: v for k, v in dropped.items() if k not in names},
        models=models if len(models) > 1 or "" not in models else {}, _serving=sm,
    )
