"""Fit interpretable calibration terms to measured serving runs, with standard errors and prediction
intervals.

Parameters: the calibration terms of `infereco.specs.terms` (name, unit, valid range, fit range, default and
meaning of each; the table is in docs/validation.md). The fit searches each term's `fit_lo`..`fit_hi` box.

Which are fitted: `fit="auto"` keeps, in the priority order step overhead, decode FLOP fraction, prefill FLOP
fraction, attention bandwidth fraction, bandwidth fraction, request overhead, layer overhead, collective
scale, each parameter whose column of the (weighted, log–log) Jacobian — stacked over the starting point and
perturbed points (each utilization ×0.3 in turn; all overheads ×0.2) — has at least `identify_tol` (default
10%) of its norm outside the span of the columns kept before it; then, while a fitted one is poorly determined
(s.e. of its log > 0.5, or at a bound), it fixes the lowest-priority such one and refits. The rest stay at
their starting value (the hardware spec's value, or `init`). E.g. with one model the weight-read time is a
constant per step, so the bandwidth fraction is collinear with the step overhead once the attention term
carries the context-dependent KV reads; one model's step and per-layer overheads are exactly collinear (only
their sum·L is seen), collective latency is invisible at TP = 1, and the request overhead needs TTFT.
`memory_compute_overlap` and `first_token_delay_s` are structural and stay at the spec's / engine's value
unless named (`NAMED_ONLY`). `fit=[names]` fixes the choice by hand.

Fit: `scipy.optimize.least_squares` (trust-region reflective, bounds) over log-parameters on log residuals
log(pred/measured) of mean TPOT, mean TTFT and output throughput, with a robust `soft_l1` loss by default.
Weights: in two stages — first each quantity weighted by `weights` (default 1), then by 1/σ_q where σ_q is the
robust scatter (1.4826·MAD) of that quantity's stage-one log residuals, so that a noisy quantity (TTFT) does
not dominate a tight one (TPOT) and the whitened residuals are ~N(0, 1), the scale `soft_l1` (f_scale = 1)
assumes.

Uncertainty: the covariance of the fitted log-parameters is s²·(JᵀJ)⁻¹ (J the central-difference Jacobian of
the whitened residuals at the optimum, s² = Σr²/(n − p) with the raw, non-robust residuals); standard errors
of the parameters follow by the delta method (se(θ) = θ·se(log θ)). These are local (Gauss–Newton) errors: on
synthetic data with 36 values they cover the truth as they should (tests/test_calibration_fit.py), with a
dozen values and four parameters they run ~1.3× optimistic. `bootstrap=N` adds a case-resampling bootstrap
(runs resampled with replacement, refitted) and reports its standard deviations beside, as a check.

Prediction intervals (every predicted quantity): in log space, var = g·Cov·gᵀ + σ_q² with g the gradient of
log(prediction) w.r.t. the fitted log-parameters and σ_q² the quantity's residual variance in the fit
(Σr_q²/(n_q − p·n_q/n), raw residuals); the interval is exp(log pred ± t_{ν,(1+level)/2}·√var) with ν = n − p.
A quantity not measured in the fit (e.g. TTFT from throughput-only data) takes the largest σ_q of the fitted
ones, and the report says so.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import optimize

from infereco.calibration.deploy import resolve_model_arg, serving_model
from infereco.calibration.result import (
    FIT_QUANTITIES,
    PREDICTED,
    QUANTITY_LABELS,
    CalibrationResult,
    as_runs,
    grad_log_pred,
    load_calibrated_hardware,
    log_pred,
    predict_with_intervals,
    resolve_hardware_arg,
)
from infereco.errors import SpecError
from infereco.physics.serving import (
    CALIBRATION_PARAMS,
    EngineConfig,
    MultiServingModel,
    ServingModel,
    ServingRuns,
)
from infereco.specs.model import ModelSpec
from infereco.specs.terms import TERMS

__all__ = [
    "AUTO_PRIORITY",
    "FIT_QUANTITIES",
    "NAMED_ONLY",
    "PARAM_BOUNDS",
    "calibrate",
    "load_calibrated_hardware",
]
# `CalibrationResult` and `load_calibrated_hardware` live in `infereco.calibration.result`; the package root
# still imports them from here (imported above).

# The fit's search box per term (from the registry, `infereco.specs.terms`).
PARAM_BOUNDS: dict[str, tuple[float, float]] = {k: (t.fit_lo, t.fit_hi) for k, t in TERMS.items()}
AUTO_PRIORITY = (
    "step_overhead_s",
    "flop_utilization",
    "prefill_flop_utilization",
    "attention_bandwidth_utilization",
    "bandwidth_utilization",
    "memory_compute_overlap",
    "request_overhead_s",
    "first_token_delay_s",
    "layer_overhead_s",
    "collective_latency_scale",
)
# Terms fit="auto" leaves at their spec/engine value: structural choices (how far memory and compute overlap
# is a property of how the hardware executes a step, set in the spec from that) and the client-side burst
# delay (for data whose streaming is suspect); `fit=[...]` can still name them.
NAMED_ONLY = ("memory_compute_overlap", "first_token_delay_s")
_PENALTY = 10.0  # log-residual used where a prediction is not finite (an infeasible parameter region)


def _is_model_map(value: Any) -> bool:
    """True for {run model name: model} (several models), False for one model's `{base: id, ...}` mapping."""
    if not isinstance(value, Mapping) or not value:
        return False
    return not (set(value) & (set(ModelSpec.model_fields) | {"base"}))


def _auto_select(sm, runs, start, candidates, meas_q, wq, tol) -> tuple[list[str], dict[str, str]]:
    """Greedy identifiability check (see module docstring): returns (kept, {dropped: reason})."""
    # Sensitivities at the starting point and at two perturbed points (utilizations ×0.3, overheads ×0.2),
    # stacked: a parameter counts as visible if it matters anywhere in that plausible region, and as collinear
    # only if it is collinear everywhere there.
    points = [dict(start)]
    for k in (
        "flop_utilization",
        "prefill_flop_utilization",
        "bandwidth_utilization",
        "attention_bandwidth_utilization",
    ):
        points.append({**start, k: start[k] * 0.3})
    points.append({k: (v * 0.2 if k.endswith("overhead_s") else v) for k, v in start.items()})
    cols = []
    for pt in points:
        grads = grad_log_pred(sm, runs, pt, candidates, h=1e-3)
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
            dropped[name] = (
                "not identifiable (collinear with "
                + ", ".join(kept[:2])
                + (", …" if len(kept) > 2 else "")
                + ")"
            )
            continue
        basis.append(r / np.linalg.norm(r))
        kept.append(name)
    return kept, dropped


def _log_bounds(names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([math.log(PARAM_BOUNDS[k][0]) for k in names]),
        np.array([math.log(PARAM_BOUNDS[k][1]) for k in names]),
    )


def _initial(sm: ServingModel, runs: ServingRuns, init: Mapping[str, float] | None) -> dict[str, float]:
    start = sm.params()
    tpot = runs.measured.get("tpot_s", np.array([np.nan]))
    ttft = runs.measured.get("ttft_s", np.array([np.nan]))
    # Utilization caps start from the paper's (70% FLOP, 75% bandwidth) where the spec leaves them at 1.
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
            raise SpecError(
                f"calibrate: init has unknown parameter {k!r}; known: {', '.join(CALIBRATION_PARAMS)}"
            )
        start[k] = float(v)
    for k, (lo, hi) in PARAM_BOUNDS.items():
        start[k] = float(np.clip(start[k], lo * 1.0000001, hi))
    return start


def calibrate(
    measurements,
    model=None,
    hardware=None,
    *,
    tp: int | None = None,
    engine: EngineConfig | None = None,
    preset="default",
    fit: str | Sequence[str] = "auto",
    fixed: Mapping[str, float] | None = None,
    init: Mapping[str, float] | None = None,
    weights: Mapping[str, float] | None = None,
    quantities: Sequence[str] = FIT_QUANTITIES,
    loss: str = "soft_l1",
    f_scale: float = 1.0,
    static: bool | Sequence[bool] = False,
    bootstrap: int = 0,
    seed: int = 0,
    level: float = 0.9,
    identify_tol: float = 0.1,
    max_se_log: float = 0.5,
    data_files: Sequence[str] | None = None,
    configs: Sequence[str] = (),
):
    """Fit calibration terms to measured runs (see the module docstring for the method).

    `measurements`: a `MeasurementTable`, Measurement records, `ServingRuns` with `measured`, or result file
    paths. Without `model` and `hardware`, fleet-schema runs (a CSV path, `FleetRuns`, row mappings or a
    DataFrame; `configs` = folders of `ORG--MODEL_config.json` files) give engine profiles
    (`calibration.runs.calibrate_runs`). `model`, `hardware`: catalog ids, specs, mappings or YAML paths (a
    model may also be a HF config.json). `tp` overrides the runs' tensor-parallel degree. `engine`: the
    engine's token budget etc. (default `EngineConfig()`). `fit`: "auto" or the names to fit; `fixed` pins
    values (never fitted); `init` sets starting values. `weights` per quantity (default 1). `static` marks
    static-batch runs.

    Synthetic runs of a tiny model on a CPU, made with a 2 ms step overhead, give that overhead back:

    >>> from infereco.calibration.readers.record import Measurement
    >>> tiny = ModelSpec(name="tiny", d_model=512, d_ff=1408, n_layers=4, n_heads=8, n_kv_heads=2,
    ...                  vocab_size=4096)
    >>> cpu = HardwareSpec(name="cpu", flop_per_s={16: 4e11}, hbm_bandwidth_bytes_per_s=3e10,
    ...                    hbm_capacity_bytes=2e10, kernel_launch_s=0.0, node_size=1)
    >>> cs = [1, 2, 4, 8, 16]
    >>> p = predict_serving(tiny, cpu, input_len=128, output_len=64, concurrency=cs,
    ...                     params={"step_overhead_s": 2e-3})
    >>> runs = [Measurement("synthetic", "tiny", 128, 64, max_concurrency=c, mean_tpot_s=float(p.tpot_s[i]),
    ...                     mean_ttft_s=float(p.ttft_s[i])) for i, c in enumerate(cs)]
    >>> r = calibrate(runs, tiny, cpu, fit=["step_overhead_s"])
    >>> r.success, r.fitted, round(r.params["step_overhead_s"] * 1e3, 6)   # ms
    (True, ('step_overhead_s',), 2.0)
    """
    if model is None and hardware is None:
        # Fleet-schema runs (every row names its model, system and engine): engine profiles.
        from infereco.calibration.runs import calibrate_runs  # the fleet layer sits beside this fit

        return calibrate_runs(measurements, configs=configs, fit=None if fit == "auto" else fit)
    if model is None or hardware is None:
        raise SpecError(
            "calibrate: give both model and hardware (runs of one deployment), or neither (fleet-schema runs "
            "whose rows name their model_path and system)"
        )
    hw = resolve_hardware_arg(hardware)
    runs, files = as_runs(measurements, tp, static)
    if data_files is not None:
        files = list(data_files)
    if _is_model_map(model):
        models = {str(k): resolve_model_arg(v) for k, v in model.items()}
        missing = sorted(set(runs.models) - set(models))
        if missing:
            raise SpecError(
                f"calibrate: no model given for runs of {', '.join(map(repr, missing))}; "
                f"the model mapping has {', '.join(map(repr, models))}"
            )
        models = {k: v for k, v in models.items() if k in set(runs.models)}
    else:
        models = {"": resolve_model_arg(model)}
        runs = dataclasses.replace(runs, models=("",) * len(runs))
    m = next(iter(models.values()))
    sm = MultiServingModel({k: serving_model(v, hw, engine=engine, preset=preset) for k, v in models.items()})
    for q in quantities:
        if q not in FIT_QUANTITIES:
            raise SpecError(f"calibrate: cannot fit quantity {q!r}; choose from {', '.join(FIT_QUANTITIES)}")
    w_user = {q: 1.0 for q in quantities}
    for q, w in (weights or {}).items():
        if q not in FIT_QUANTITIES:
            raise SpecError(
                f"calibrate: weights has unknown quantity {q!r}; choose from {', '.join(FIT_QUANTITIES)}"
            )
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
        raise SpecError(
            "calibrate: the runs report none of " + ", ".join(QUANTITY_LABELS[q] for q in quantities)
        )
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
            raise SpecError(
                f"calibrate: fixed has unknown parameter {k!r}; known: {', '.join(CALIBRATION_PARAMS)}"
            )
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
        for k in names[max(n_res - 1, 1) :]:  # keep at least one degree of freedom (priority order decides)
            dropped[k] = "fixed: too few measured values to fit it too"
        names = names[: max(n_res - 1, 1)]
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
            lp = log_pred(sm, sub_runs, p)
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
        res = optimize.least_squares(
            f,
            np.clip(x_init, lb_, ub_),
            bounds=(lb_, ub_),
            loss=loss,
            f_scale=f_scale,
            x_scale=1.0,
            method="trf",
            max_nfev=400 * max(len(names_), 1),
        )
        return res.x, bool(res.success), str(res.message), float(res.cost)

    def fit_once(names_):
        # Stage 1: user weights. Stage 2: whiten each quantity by its robust residual scatter.
        x0_ = np.log([fit_starts[k] for k in names_]) if names_ else np.zeros(0)
        wq_ = {q: w_user[q] for q in meas_q}
        x1_, *_ = solve(names_, resid_fn(names_, runs, meas_q, logm, wq_), x0_)
        lp1 = log_pred(sm, runs, {**base_values, **{k: math.exp(v) for k, v in zip(names_, x1_)}})
        for q, mk in meas_q.items():
            r = lp1[q][mk] - logm[q][mk]
            r = r[np.isfinite(r)]
            mad = 1.4826 * float(np.median(np.abs(r - np.median(r)))) if r.size else 1.0
            wq_[q] = w_user[q] / max(mad, 0.01)
        f2_ = resid_fn(names_, runs, meas_q, logm, wq_)
        xh, ok_, msg_, cost_ = solve(names_, f2_, x1_)
        # Covariance of log-parameters from the whitened residuals' Jacobian. Central differences, not
        # jax.jacfwd: the serving model is numpy with discrete queueing (cohort and chunk counts, an MVA loop,
        # a bisection), neither traceable nor differentiable everywhere (see infereco.calibration.result).
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

    # Backward elimination (fit="auto"): while a fitted parameter is poorly determined — se(log θ) >
    # max_se_log or at a bound — fix the lowest-priority such parameter at its spec value and refit.
    while True:
        x_hat, ok, msg, cost, cov, wq = fit_once(names)
        lb, ub = _log_bounds(names)
        se_log = np.sqrt(np.maximum(np.diag(cov), 0.0)) if names else np.zeros(0)
        at_bound = tuple(
            k for k, xi, lo_, hi_ in zip(names, x_hat, lb, ub) if xi <= lo_ + 1e-6 or xi >= hi_ - 1e-6
        )
        poor = [k for k, s_ in zip(names, se_log) if s_ > max_se_log or k in at_bound]
        if fit != "auto" or not poor:
            break
        worst = max(poor, key=lambda k: AUTO_PRIORITY.index(k))
        names = [k for k in names if k != worst]
        dropped[worst] = (
            "not identifiable from these data ("
            + ("at a bound" if worst in at_bound else f"s.e. of log > {max_se_log:g}")
            + " when fitted); fixed"
        )
    p_hat = {**base_values, **{k: math.exp(v) for k, v in zip(names, x_hat)}}
    p_n = len(names)
    dof = max(n_res - p_n, 1)
    stderr = {k: p_hat[k] * float(s) for k, s in zip(names, se_log)}
    # Residual scatter per quantity (raw log residuals, dof-corrected) for prediction intervals.
    lp = log_pred(sm, runs, p_hat)
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
            sigma[q] = (
                sigma["output_throughput_tokens_per_s"]
                if (q == "request_throughput_per_s" and "output_throughput_tokens_per_s" in sigma)
                else big
            )
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
    train = predict_with_intervals(sm, runs, p_hat, tuple(names), cov, sigma, dof, level)
    return CalibrationResult(
        model=m,
        base_hardware=hw,
        engine=sm.engine,
        preset=preset,
        params=p_hat,
        fitted=tuple(names),
        stderr=stderr,
        covariance_log=cov,
        sigma=sigma,
        sigma_fitted=sigma_fitted,
        dof=dof,
        n_residuals=n_res,
        cost=cost,
        success=ok,
        message=msg,
        loss=loss,
        weights={q: float(wq[q]) for q in wq},
        train=train,
        data_files=tuple(files),
        bootstrap_stderr=boot,
        at_bound=at_bound,
        auto_dropped={k: v for k, v in dropped.items() if k not in names},
        models=models if len(models) > 1 or "" not in models else {},
        _serving=sm,
    )
