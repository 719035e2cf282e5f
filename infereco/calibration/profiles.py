"""Engine profiles: the efficiency terms of one serving engine on one GPU generation, fitted to measured runs.

A profile (`backend` × GPU `generation`, e.g. ('trtllm', 'blackwell')) holds the `ProfileTerms` of
`infereco.calibration.fleet` — achieved fractions of HBM bandwidth (weights, KV) and of peak FLOP/s (decode,
prefill), a collective-latency scale and per-step, per-layer and per-request overheads — shared by every
model and GPU of that engine and generation, so a profile carries to models (and GPUs of its generation) it
was not fitted on.

Fit: maximum a posteriori in log space. Each term θ has a log-normal prior (a physical median and spread)
and hard bounds (a fraction stays in (0, 1]; an overhead stays below tens of ms), and the data term is the
log ratio of predicted to measured TTFT and TPOT with a robust (soft-L1) loss:

    minimise  Σ_rows ρ((log pred − log meas) / s_q)  +  Σ_terms ((log θ − log θ₀) / σ_θ)²

(scipy `least_squares`, trust-region reflective within the bounds). Standard errors come from the
Gauss–Newton covariance at the optimum (J = the Jacobian of the residuals in log θ). The 90% interval of a
prediction is pred·[exp(q₅), exp(q₉₅)] with q the 5th and 95th percentiles of log(measured / predicted) on
the profile's rows. Profiles per backend pooled over generations, and one over everything, are fitted too:
they answer for a generation (or an engine) no row was fitted on.
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
import yaml

from infereco.calibration.fleet import FleetModel, ProfileTerms
from infereco.errors import SpecError

__all__ = [
    "PRIORS",
    "FleetProfiles",
    "Profile",
    "calibrate_fleet",
    "leave_one_out",
    "default_profiles_path",
    "load_profiles",
    "save_profiles",
]

ANY = "*"


@dataclasses.dataclass(frozen=True)
class Prior:
    """Log-normal prior (median, σ of log) and hard bounds of one term."""

    median: float
    log_sigma: float
    lower: float
    upper: float
    meaning: str


# Medians: what well-tuned engines achieve on these kernels (decode GEMV streams weights at 70–90% of
# peak HBM bandwidth; paged attention reads KV at 50–80%; large GEMMs reach 50–70% of peak dense FLOP/s;
# an engine step costs ~1 ms of scheduling and sampling; a request ~10 ms of HTTP and tokenisation; a
# disaggregated request ~50 ms more for routing, KV-transfer setup and decode-side admission).
PRIORS: dict[str, Prior] = {
    "weight_bandwidth_fraction": Prior(
        0.8, 0.2, 0.4, 1.0, "achieved fraction of peak HBM bandwidth, weights"
    ),
    "kv_bandwidth_fraction": Prior(0.6, 0.3, 0.3, 1.0, "achieved fraction of peak HBM bandwidth, KV reads"),
    "decode_flop_fraction": Prior(0.5, 0.35, 0.15, 1.0, "achieved fraction of peak FLOP/s in decode steps"),
    "prefill_flop_fraction": Prior(0.5, 0.35, 0.15, 1.0, "achieved fraction of peak FLOP/s in prefill"),
    "collective_latency_scale": Prior(1.5, 0.5, 0.5, 4.0, "multiplier on modelled collective latency"),
    "step_overhead_s": Prior(1e-3, 1.0, 1e-5, 0.01, "fixed time per engine step, s"),
    "layer_overhead_s": Prior(1e-5, 1.0, 1e-7, 1e-4, "fixed time per layer per step, s"),
    "request_overhead_s": Prior(1e-2, 1.0, 1e-4, 0.1, "per-request time outside the engine, s"),
    "disagg_overhead_s": Prior(2e-2, 1.0, 1e-4, 0.2, "per-request prefill → decode hand-off, s"),
    "prefill_layer_overhead_s": Prior(
        1e-4, 0.7, 1e-6, 2e-4, "extra time per layer of a step carrying prefill (eager path), s"
    ),
}
# Scale of the data residuals (log units): the spread of repeated runs is ~2% (README of the fleet data);
# the model's own error is larger, and TTFT (queueing) noisier than TPOT.
_RESIDUAL_SCALE = {"ttft": 0.3, "tpot": 0.1}


@dataclasses.dataclass(frozen=True)
class Profile:
    """One fitted engine profile: its terms, their standard errors (in log units: a relative error), the
    rows it was fitted on and the 5th/95th percentiles of log(measured / predicted) per quantity."""

    backend: str
    generation: str
    terms: ProfileTerms
    log_std_errors: Mapping[str, float]
    n_rows: int
    log_interval: Mapping[str, tuple[float, float]]
    fit_mape: Mapping[str, float] = dataclasses.field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.backend, self.generation)


@dataclasses.dataclass(frozen=True)
class FleetProfiles:
    """A set of profiles, looked up by (backend, generation) with fallbacks: (backend, *), then (*, *)."""

    profiles: tuple[Profile, ...]
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def find(self, key: tuple[str, str]) -> Profile | None:
        by_key = {p.key: p for p in self.profiles}
        for k in (key, (key[0], ANY), (ANY, ANY)):
            if k in by_key:
                return by_key[k]
        return None

    def terms_by_key(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ProfileTerms]:
        out = {}
        for k in set(keys):
            p = self.find(k)
            out[k] = p.terms if p is not None else ProfileTerms.nominal()
        return out

    def log_interval(self, key: tuple[str, str]) -> np.ndarray:
        """[[lo, hi] of TTFT, [lo, hi] of TPOT] as log factors on the prediction."""
        p = self.find(key)
        if p is None:
            return np.array([[-math.log(2.0), math.log(2.0)]] * 2)
        return np.array([list(p.log_interval["ttft"]), list(p.log_interval["tpot"])], float)


# ---------------------------------------------------------------------------------------------- the fit
def _residuals_for(fm, rows: np.ndarray, meas: np.ndarray, names):
    scale = np.array([_RESIDUAL_SCALE["ttft"], _RESIDUAL_SCALE["tpot"]])
    priors = [PRIORS[n] for n in names]

    def fun(x):
        terms = ProfileTerms(**{n: float(math.exp(v)) for n, v in zip(names, x)})
        ttft, tpot, _, _ = fm.predict(terms, rows)
        pred = np.stack([ttft[rows], tpot[rows]], axis=1)
        r = (np.log(np.where(np.isfinite(pred) & (pred > 0), pred, 1e3)) - np.log(meas)) / scale
        prior = np.array([(v - math.log(p.median)) / p.log_sigma for v, p in zip(x, priors)])
        return np.concatenate([r.ravel(), prior])

    return fun


def _fit_one(fm: FleetModel, rows: np.ndarray, names, max_nfev: int):
    from scipy.optimize import least_squares

    runs = fm.runs
    meas = np.array([[runs[i].ttft_s, runs[i].tpot_s] for i in rows], float)
    fun = _residuals_for(fm, rows, meas, names)
    x0 = np.array([math.log(PRIORS[n].median) for n in names])
    lo = np.array([math.log(PRIORS[n].lower) for n in names])
    hi = np.array([math.log(PRIORS[n].upper) for n in names])
    sol = least_squares(fun, np.clip(x0, lo + 1e-9, hi - 1e-9), bounds=(lo, hi), loss="soft_l1",
                        f_scale=1.0, max_nfev=max_nfev, diff_step=1e-3, x_scale=1.0)  # fmt: skip
    J = sol.jac
    try:
        cov = np.linalg.pinv(J.T @ J)
        se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    except np.linalg.LinAlgError:
        se = np.full(len(names), np.nan)
    terms = ProfileTerms(**{n: float(math.exp(v)) for n, v in zip(names, sol.x)})
    ttft, tpot, _, _ = fm.predict(terms, rows)
    pred = np.stack([ttft[rows], tpot[rows]], axis=1)
    logr = np.log(meas / pred)
    interval = {q: (float(np.percentile(logr[:, j], 5)), float(np.percentile(logr[:, j], 95)))
                for j, q in enumerate(("ttft", "tpot"))}  # fmt: skip
    mape = {q: float(np.mean(np.abs(pred[:, j] / meas[:, j] - 1.0))) for j, q in enumerate(("ttft", "tpot"))}
    return terms, dict(zip(names, map(float, se))), interval, mape


def calibrate_fleet(
    runs,
    *,
    configs: Iterable[str | os.PathLike] = (),
    fit: Sequence[str] | None = None,
    rows: Sequence[int] | None = None,
    pooled: bool = True,
    max_nfev: int = 60,
    min_rows: int = 8,
) -> FleetProfiles:
    """Fit one profile per (backend, GPU generation) to the rows of a fleet table with a measured TTFT and
    TPOT and an 'ok' uncalibrated prediction; plus per-backend and global pooled profiles (`pooled`).

    `fit`: the terms to fit (default all of `PRIORS`); `rows`: restrict to these row indices (for
    leave-one-out); `min_rows`: a (backend, generation) with fewer rows gets no profile of its own.
    """
    fm = runs if isinstance(runs, FleetModel) else FleetModel(runs, configs)
    names = tuple(fit) if fit is not None else tuple(PRIORS)
    for n in names:
        if n not in PRIORS:
            raise SpecError(f"fit term {n!r}: unknown; known: {', '.join(PRIORS)}")
    _, _, status, _ = fm.predict(None)
    usable = [
        i
        for i in (range(len(fm)) if rows is None else rows)
        if status[i] == "ok" and fm.runs[i].ttft_s and fm.runs[i].tpot_s
    ]
    groups: dict[tuple[str, str], list[int]] = {}
    for i in usable:
        b, g = fm.keys[i]
        groups.setdefault((b, g), []).append(i)
        if pooled:
            groups.setdefault((b, ANY), []).append(i)
            groups.setdefault((ANY, ANY), []).append(i)
    profiles = []
    for (b, g), idx in sorted(groups.items()):
        if len(idx) < min_rows:
            continue
        sub = np.asarray(idx, int)
        if (b, g) == (ANY, ANY) or g == ANY:
            # A pooled profile spans engines or generations: fit it on a subsample to bound the time.
            sub = sub[:: max(1, len(sub) // 400)]
        terms, se, interval, mape = _fit_one(_Keyed(fm), sub, names, max_nfev)
        profiles.append(Profile(b, g, terms, se, len(idx), interval, mape))
    return FleetProfiles(tuple(profiles), meta={"terms": list(names)})


def leave_one_out(fm: FleetModel, by: str = "model", **calibrate_kwargs: Any) -> list[dict[str, Any]]:
    """Transfer measured, not assumed: for each model (`by="model"`) or GPU system (`by="gpu"`), fit the
    profiles on every other row and predict that one's rows. One dict per held-out value: n, MAPE and
    median APE of TTFT and TPOT, and 90%-interval coverage, on its 'ok' rows."""
    from infereco.calibration.fleet import predict_fleet

    if by not in ("model", "gpu"):
        raise SpecError(f"by={by!r}: expected 'model' or 'gpu'")
    label = (lambda r: r.model_path) if by == "model" else (lambda r: r.system)
    values = sorted({label(r) for r in fm.runs})
    out = []
    for v in values:
        held = [i for i, r in enumerate(fm.runs) if label(r) == v]
        train = [i for i, r in enumerate(fm.runs) if label(r) != v]
        profiles = calibrate_fleet(fm, rows=train, **calibrate_kwargs)
        pred = predict_fleet(fm, profiles=profiles)
        sub = _scores(fm, pred, held)
        out.append({by: v, **sub})
    return out


def _scores(fm: FleetModel, pred, rows: Sequence[int]) -> dict[str, Any]:
    rows = np.asarray(rows, int)
    ok = pred.ok[rows]
    res: dict[str, Any] = {"n": int(rows.size), "ok": int(ok.sum())}
    for q, p, lo, hi in (("ttft", pred.ttft_s, pred.ttft_lo_s, pred.ttft_hi_s),
                         ("tpot", pred.tpot_s, pred.tpot_lo_s, pred.tpot_hi_s)):  # fmt: skip
        meas = np.array([getattr(fm.runs[i], f"{q}_s") or np.nan for i in rows])
        sel = ok & np.isfinite(meas)
        ape = np.abs(p[rows][sel] / meas[sel] - 1.0)
        res[f"{q}_mape"] = float(ape.mean()) if ape.size else math.nan
        res[f"{q}_median_ape"] = float(np.median(ape)) if ape.size else math.nan
        inside = (lo[rows][sel] <= meas[sel]) & (meas[sel] <= hi[rows][sel])
        res[f"{q}_coverage"] = float(inside.mean()) if ape.size else math.nan
    return res


class _Keyed:
    """A FleetModel whose `predict(terms, rows)` applies one ProfileTerms to the given rows."""

    def __init__(self, fm: FleetModel):
        self._fm = fm
        self.runs = fm.runs

    def predict(self, terms, rows=None):
        return self._fm.predict(terms, rows)


# ---------------------------------------------------------------------------------------------- files
def default_profiles_path() -> Path:
    """The profiles shipped with the package (fitted on the fleet data; see their `meta`)."""
    return Path(__file__).resolve().parents[1] / "data" / "profiles" / "fleet.yaml"


def save_profiles(profiles: FleetProfiles, path: str | os.PathLike, **meta: Any) -> Path:
    """Write profiles as YAML (terms, standard errors, intervals, the command and data that made them)."""
    doc = {
        "kind": "infereco-engine-profiles",
        "meta": {**dict(profiles.meta), **meta, "written": _dt.date.today().isoformat()},
        "profiles": [
            {
                "backend": p.backend,
                "generation": p.generation,
                "n_rows": p.n_rows,
                "terms": dataclasses.asdict(p.terms),
                "log_std_errors": dict(p.log_std_errors),
                "log_interval_90": {k: list(v) for k, v in p.log_interval.items()},
                "fit_mape": dict(p.fit_mape),
            }
            for p in profiles.profiles
        ],
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def load_profiles(path: str | os.PathLike | None = None) -> FleetProfiles:
    """Read a profile YAML written by `save_profiles` (default: the shipped profiles)."""
    p = Path(path) if path is not None else default_profiles_path()
    if not p.is_file():
        raise SpecError(f"profile file {p}: not found")
    try:
        doc = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise SpecError(f"profile file {p}: not YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(doc, Mapping) or doc.get("kind") != "infereco-engine-profiles":
        raise SpecError(f"profile file {p}: expected 'kind: infereco-engine-profiles' (written by calibrate)")
    out = []
    for j, d in enumerate(doc.get("profiles") or []):
        where = f"profile file {p}: profiles[{j}]"
        try:
            terms = ProfileTerms(**{k: float(v) for k, v in d["terms"].items()})
            for k, v in dataclasses.asdict(terms).items():
                prior = PRIORS.get(k)
                if prior and not (prior.lower * 0.999 <= v <= prior.upper * 1.001) and v != 0.0:
                    raise SpecError(f"{where}: {k} = {v}: expected {prior.lower:g} to {prior.upper:g}")
            interval = {k: (float(v[0]), float(v[1])) for k, v in d["log_interval_90"].items()}
            out.append(Profile(str(d["backend"]), str(d["generation"]), terms,
                               {k: float(v) for k, v in (d.get("log_std_errors") or {}).items()},
                               int(d.get("n_rows", 0)), interval, dict(d.get("fit_mape") or {})))  # fmt: skip
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, SpecError):
                raise
            raise SpecError(f"{where}: malformed ({type(e).__name__}: {e})") from None
    return FleetProfiles(tuple(out), meta=dict(doc.get("meta") or {}))
