"""The outcome of a calibration: `CalibrationResult` (fitted terms with standard errors, fit statistics,
predictions with intervals), its YAML form (`save_yaml`, read back by `load_calibrated_hardware`), and the
prediction intervals of `PredictionTable`.

Prediction intervals (every predicted quantity): in log space, var = g·Cov·gᵀ + σ_q² with g the gradient of
log(prediction) w.r.t. the fitted log-parameters and σ_q² the quantity's residual variance in the fit; the
interval is exp(log pred ± t_{ν,(1+level)/2}·√var) with ν = n − p (see `infereco.calibration.fit`).

The gradients are central finite differences: the serving model (`infereco.physics.serving`) is numpy code
with discrete queueing (cohort counts ⌈C·P/B⌉, prefill chunk counts, a mean-value-analysis loop over the
cohorts, a bisection for the open-loop step), so it is neither JAX-traceable nor differentiable everywhere; a
difference over ±1e-4 in log-parameter averages over those steps, which is what an interval should see.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import stats

from infereco.calibration.deploy import resolve_model_arg, serving_model
from infereco.calibration.readers import Measurement, load_measurements, serving_runs
from infereco.errors import SpecError
from infereco.physics.serving import (
    CALIBRATION_PARAMS,
    HARDWARE_PARAMS,
    SERVING_PARAMS,
    EngineConfig,
    MultiServingModel,
    ServingModel,
    ServingPrediction,
    ServingRuns,
)
from infereco.specs.catalog import load_hardware_file, resolve_hardware
from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec
from infereco.specs.terms import TERMS

__all__ = [
    "FIT_QUANTITIES",
    "PREDICTED",
    "QUANTITY_LABELS",
    "CalibrationResult",
    "PredictionTable",
    "load_calibrated_hardware",
    "resolve_hardware_arg",
]

FIT_QUANTITIES = ("tpot_s", "ttft_s", "output_throughput_tokens_per_s")
PREDICTED = ("tpot_s", "ttft_s", "output_throughput_tokens_per_s", "request_throughput_per_s")
QUANTITY_LABELS = {
    "tpot_s": "mean TPOT",
    "ttft_s": "mean TTFT",
    "output_throughput_tokens_per_s": "output throughput",
    "request_throughput_per_s": "request throughput",
}
QUANTITY_UNITS = {
    "tpot_s": "s",
    "ttft_s": "s",
    "output_throughput_tokens_per_s": "tok/s",
    "request_throughput_per_s": "req/s",
}


# --------------------------------------------------------------------------------------------- inputs
def resolve_hardware_arg(value: str | os.PathLike | Mapping | HardwareSpec) -> HardwareSpec:
    """Hardware from a catalog id, a spec, a `{base: ...}` mapping or a hardware YAML file (catalog format,
    e.g. one written by `CalibrationResult.save_yaml`): `infereco.specs.catalog.resolve_hardware`."""
    return resolve_hardware(value, where="hardware")


def load_calibrated_hardware(path: str | os.PathLike) -> HardwareSpec:
    """A `HardwareSpec` from a hardware YAML file in the catalog's format (`{value, source}` numbers; `id`,
    `aliases`, `description`, `notes` ignored), e.g. one written by `CalibrationResult.save_yaml`.

    The same file dropped into `hardware_specs/` is a catalog entry (`load_hardware(id)`); every function that
    takes a hardware id takes the file's path too.
    """
    return load_hardware_file(path)


def as_runs(measurements, tp, static) -> tuple[ServingRuns, list[str]]:
    """`ServingRuns` (and the data files they came from) from runs, records, a table or result paths."""
    files: list[str] = []
    if isinstance(measurements, ServingRuns):
        return measurements, files
    if isinstance(measurements, (str, os.PathLike)) or (
        isinstance(measurements, (list, tuple))
        and measurements
        and isinstance(measurements[0], (str, os.PathLike))
    ):
        measurements = load_measurements(measurements)
    recs = list(measurements)
    if not recs or not all(isinstance(r, Measurement) for r in recs):
        raise SpecError(
            "calibrate: expected Measurement records, a MeasurementTable, ServingRuns or result paths"
        )
    files = sorted({str(r.source).split(" (")[0] for r in recs})
    return serving_runs(recs, tp=tp, static=static), files


# --------------------------------------------------------------------------------------------- predictions
@dataclasses.dataclass(frozen=True)
class PredictionTable:
    """Predictions with intervals for a set of runs: `pred[q]`, `lo[q]`, `hi[q]` (arrays), measured (nan if
    not), and the raw `ServingPrediction`."""

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
        """True where the measured value lies in the interval (False/nan-safe: only measured entries are
        real)."""
        m = self.measured(q)
        return (m >= self.lo[q]) & (m <= self.hi[q])

    def summary(self, quantities: Sequence[str] = FIT_QUANTITIES) -> dict[str, dict[str, float]]:
        """Per quantity: n, median |% error|, MAPE, fraction inside the interval."""
        out = {}
        for q in quantities:
            m = self.measured(q)
            ok = np.isfinite(m) & np.isfinite(self.pred[q])
            e = np.abs(self.pct_error(q)[ok])
            out[q] = {
                "n": int(ok.sum()),
                "median_abs_pct_error": float(np.median(e)) if e.size else math.nan,
                "mape": float(np.mean(e)) if e.size else math.nan,
                "coverage": float(np.mean(self.inside(q)[ok])) if e.size else math.nan,
            }
        return out

    def to_records(self) -> list[dict[str, Any]]:
        rows = []
        for i in range(len(self.runs)):
            row: dict[str, Any] = {
                "run": self.runs.labels[i],
                "input_len": float(self.runs.input_len[i]),
                "output_len": float(self.runs.output_len[i]),
                "concurrency": float(self.runs.concurrency[i]),
                "request_rate": float(self.runs.request_rate[i]),
                "tp": float(self.runs.tp[i]),
            }
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
            heads += [
                f"{_short_q(q)} meas {_unit(u)}",
                f"{_short_q(q)} pred [{int(self.level * 100)}% PI]",
                "err %",
            ]
        rows = []
        for i in range(len(self.runs)):
            row = [self.runs.labels[i]]
            for q in quantities:
                sc = _scale(QUANTITY_UNITS[q])
                m = self.measured(q)[i]
                row += [
                    _num(m * sc),
                    (
                        f"{_num(self.pred[q][i] * sc)} [{_num(self.lo[q][i] * sc)}, "
                        f"{_num(self.hi[q][i] * sc)}]"
                    ),
                    _num(self.pct_error(q)[i], pct=True),
                ]
            rows.append(row)
        return _text_table(rows, heads)


def _short_q(q):
    return {
        "tpot_s": "TPOT",
        "ttft_s": "TTFT",
        "output_throughput_tokens_per_s": "out tok/s",
        "request_throughput_per_s": "req/s",
    }[q]


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

    def fmt(r):
        return "  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r))

    return "\n".join([fmt(heads), fmt(["-" * x for x in w])] + [fmt(r) for r in cells])


# --------------------------------------------------------------------------------------------- result
@dataclasses.dataclass
class CalibrationResult:
    """A fitted serving model: parameters with standard errors, fit statistics, predictions with intervals.

    `params` holds every calibration term (fitted and fixed), `stderr` the fitted ones' standard errors (nan
    for fixed), `fitted` their names. `predict(...)` gives predictions with prediction intervals, `report()` a
    text table, `hardware_spec()` the calibrated `HardwareSpec` (use it anywhere a hardware spec is accepted:
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
    models: dict[str, ModelSpec] = dataclasses.field(
        default_factory=dict
    )  # run key -> model (several models)
    _serving: MultiServingModel | None = dataclasses.field(default=None, repr=False)

    # -- predictions
    @property
    def serving_model(self) -> MultiServingModel:
        if self._serving is None:
            models = self.models or {"": self.model}
            self._serving = MultiServingModel(
                {
                    k: serving_model(m, self.base_hardware, engine=self.engine, preset=self.preset)
                    for k, m in models.items()
                }
            )
        return self._serving

    def predict(
        self,
        runs=None,
        *,
        model=None,
        engine: EngineConfig | None = None,
        level: float = 0.9,
        tp: int | None = None,
        static=False,
        **run_kwargs: Any,
    ) -> PredictionTable:
        """Predictions with `level` prediction intervals for `runs` (ServingRuns, Measurement records or
        result paths) or for runs given as keywords
        (`input_len=, output_len=, concurrency=, request_rate=, tp=`).

        `model` predicts another model (id, spec, path) on the calibrated hardware with the fitted terms
        (their covariance propagates as for the calibrated model); `engine` another engine configuration."""
        if runs is None:
            if tp is not None:
                run_kwargs["tp"] = tp
            runs = ServingRuns.make(static=static, **run_kwargs)
        elif not isinstance(runs, ServingRuns):
            runs, _ = as_runs(runs, tp, static)
        sm = self.serving_model
        if model is not None or engine is not None:
            m = resolve_model_arg(model) if model is not None else self.model
            sm = MultiServingModel(
                {"": serving_model(m, self.base_hardware, engine=engine or self.engine, preset=self.preset)}
            )
            runs = dataclasses.replace(runs, models=("",) * len(runs))
        return predict_with_intervals(
            sm, runs, self.params, self.fitted, self.covariance_log, self.sigma, self.dof, level
        )

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
            return (
                f"calibrated by infereco.calibration ({self.created[:10]}): {self.params[k]:.6g} ± {se:.2g} "
                f"(1 s.e.) from {len(self.train.runs)} runs ({', '.join(self._file_names()) or 'in memory'})"
            )
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
            "model": self.model_names,
            "hardware": self.base_hardware.name,
            "params": {k: f(v) for k, v in self.params.items()},
            "fitted": list(self.fitted),
            "stderr": {k: f(self.stderr.get(k)) for k in self.fitted},
            "bootstrap_stderr": None
            if self.bootstrap_stderr is None
            else {k: f(v) for k, v in self.bootstrap_stderr.items()},
            "at_bound": list(self.at_bound),
            "not_identifiable": dict(self.auto_dropped),
            "residual_sigma_log": {k: f(v) for k, v in self.sigma.items()},
            "fit": {q: {k: f(v) for k, v in s.items()} for q, s in self.fit_summary().items()},
            "n_runs": len(self.train.runs),
            "n_residuals": self.n_residuals,
            "dof": self.dof,
            "cost": f(self.cost),
            "success": bool(self.success),
            "message": self.message,
            "loss": self.loss,
            "weights": dict(self.weights),
            "engine": dataclasses.asdict(self.engine),
            "data_files": list(self.data_files),
            "created": self.created,
        }

    def report(self, *, runs: bool = True) -> str:
        """Text report: fitted parameters with standard errors, fit quality per quantity, and per-run
        residuals."""
        lines = [
            (
                f"Calibration of {self.model_names} on {self.base_hardware.name}: "
                f"{len(self.train.runs)} runs, "
                f"{self.n_residuals} residuals, {len(self.fitted)} fitted parameters "
                f"(loss {self.loss}, {'converged' if self.success else 'NOT converged: ' + self.message})"
            ),
            "",
        ]
        rows = []
        for k in CALIBRATION_PARAMS:
            v = self.params[k]
            unit = TERMS[k].unit
            sc, u = (1e3, "ms") if unit == "s" else (1.0, "")
            if k in self.fitted:
                se = self.stderr[k]
                rel = se / v * 100 if v else math.nan
                bs = (
                    "" if self.bootstrap_stderr is None else _num(self.bootstrap_stderr.get(k, math.nan) * sc)
                )
                status = "fitted" + (" (at bound)" if k in self.at_bound else "")
                rows.append(
                    [k, _num(v * sc) + (f" {u}" if u else ""), _num(se * sc), f"{rel:.0f}%", bs, status]
                )
            else:
                why = self.auto_dropped.get(k, "fixed")
                rows.append([k, _num(v * sc) + (f" {u}" if u else ""), "", "", "", why])
        heads = [
            "parameter",
            "value",
            "s.e.",
            "rel. s.e.",
            "bootstrap s.e." if self.bootstrap_stderr else "",
            "status",
        ]
        lines.append(_text_table(rows, heads))
        lines.append("")
        qrows = []
        for q, s in self.fit_summary().items():
            qrows.append(
                [
                    QUANTITY_LABELS[q],
                    s["n"],
                    f"{s['median_abs_pct_error']:.1f}",
                    f"{s['mape']:.1f}",
                    f"{self.sigma[q]:.3f}",
                    f"{s['coverage'] * 100:.0f}%",
                ]
            )
        lines.append(
            _text_table(
                qrows,
                [
                    "quantity",
                    "n",
                    "median |err| %",
                    "MAPE %",
                    "σ(log)",
                    f"in {int(self.train.level * 100)}% PI",
                ],
            )
        )
        missing = [q for q in FIT_QUANTITIES if q not in self.sigma_fitted]
        if missing:
            lines.append(
                f"not measured in the fit: {', '.join(QUANTITY_LABELS[q] for q in missing)} "
                "(intervals use the largest fitted σ; uncalibrated terms stay at their starting values)"
            )
        if runs:
            lines += ["", self.train.table([q for q in FIT_QUANTITIES if q in self.sigma_fitted])]
        return "\n".join(lines)

    def save_yaml(self, path: str | os.PathLike, *, id: str | None = None) -> Path:
        """Write the calibrated hardware spec as catalog-format YAML with its provenance under `notes`.

        Read it back with `load_calibrated_hardware(path)` (or `infereco calibrate ... --hardware path`), or
        drop it into `hardware_specs/` to make it a catalog id.
        """
        p = output_path(path)
        hw = self.hardware_spec()
        data = hw.model_dump()
        sources = data.pop("sources", {}) or {}
        out: dict[str, Any] = {
            "id": id or _slug(f"{self.base_hardware.name.split(' (')[0]}-calibrated"),
            "name": hw.name,
            "description": f"{self.base_hardware.name} calibrated against measured runs of "
            f"{self.model_names} (infereco.calibration)",
        }
        for k, v in data.items():
            if k in HARDWARE_PARAMS:
                out[k] = {"value": v, "source": sources.pop(k, self._source_text(k))}
            else:
                out[k] = v
        out["sources"] = sources
        notes = self.to_dict()
        notes["serving_terms"] = {k: self.params[k] for k in SERVING_PARAMS}
        out["notes"] = {"calibration": notes}
        p.write_text(yaml.safe_dump(_plain(out), sort_keys=False, allow_unicode=True), encoding="utf-8")
        return p


def output_path(path: str | os.PathLike) -> Path:
    """`path` to write, when its folder exists: no folders are created that the user did not make."""
    p = Path(path)
    if p.is_dir():
        raise SpecError(f"output {p}: is a directory; expected a YAML file path")
    if not p.parent.is_dir():
        raise SpecError(f"output {p}: folder {p.parent} does not exist; create it first or write elsewhere")
    return p


def _slug(s: str) -> str:
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
def log_pred(sm: ServingModel, runs: ServingRuns, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    pr = sm.predict(runs, params, check=False)  # finite differences may step just past a bound
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for q in PREDICTED:
            v = pr.quantity(q)
            out[q] = np.where(np.isfinite(v) & (v > 0), np.log(np.where(v > 0, v, 1.0)), np.nan)
    return out


def grad_log_pred(sm, runs, params, fitted, h=1e-4) -> dict[str, np.ndarray]:
    """d log(pred_q)/d log(θ_j), central differences: {q: (n_runs, n_fitted)}."""
    g = {q: np.zeros((len(runs), len(fitted))) for q in PREDICTED}
    for j, k in enumerate(fitted):
        up, dn = dict(params), dict(params)
        up[k] = params[k] * math.exp(h)
        dn[k] = params[k] * math.exp(-h)
        a, b = log_pred(sm, runs, up), log_pred(sm, runs, dn)
        for q in PREDICTED:
            g[q][:, j] = np.nan_to_num((a[q] - b[q]) / (2 * h))
    return g


def predict_with_intervals(sm, runs, params, fitted, cov, sigma, dof, level) -> PredictionTable:
    raw = sm.predict(runs, params)
    grads = (
        grad_log_pred(sm, runs, params, fitted)
        if fitted
        else {q: np.zeros((len(runs), 0)) for q in PREDICTED}
    )
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
