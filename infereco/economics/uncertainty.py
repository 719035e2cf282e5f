"""Monte Carlo over uncertain inputs: intervals on $/M tokens and tokens/s at one deployment.

Each uncertain input gets a distribution; every other input keeps its nominal value. The samples are drawn
with `jax.random` (one stream per input, so adding a distribution for one input leaves the others' samples
unchanged) and evaluated in one `jax.vmap`-ed call of the same physics that `cost_elasticities`
differentiates. Inputs are independent. The configuration (GPUs, batch, layout) is chosen once at the nominal
inputs, as an operator deploys before the uncertainty resolves; without an explicit layout, each sample uses
the fastest candidate layout at that GPU count.

Distributions (values in the input's own units, see `infereco.economics.sensitivity.INPUTS`):

- `('lognormal', median, sigma)`: median · exp(sigma · N(0, 1)); sigma ≥ 0 is the sd of the log;
- `('uniform', low, high)`;
- `('normal', mean, sd)`;
- a 1-D array of samples (e.g. from your own model), one per Monte Carlo draw.

Samples outside an input's domain (a negative bandwidth from a normal, a utilization above 1) are dropped and
counted in `n_invalid`; a warning says how many.

>>> r = cost_uncertainty("llama-3-8b", "h100-sxm", tp=1, batch_size=16,
...                      distributions={"bandwidth_utilization": ("uniform", 0.6, 0.9)})
>>> c = r.usd_per_million_tokens   # $/M output tokens: 5th, 50th, 95th percentiles
>>> r.n_valid, [round(c.percentiles[q], 3) for q in (5, 50, 95)]
(2000, [0.195, 0.226, 0.272])
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from infereco.economics.hourly_cost import price_usd_per_hour
from infereco.economics.sensitivity import (
    _IDX,
    DOMAINS,
    LABELS,
    OWNERSHIP_INPUTS,
    _evaluate_rows,
    _prepare,
)
from infereco.errors import SpecError
from infereco.frontier import decode_frontier
from infereco.physics.latency import bound_term
from infereco.specs.deployment import resolve

DISTRIBUTION_KINDS: tuple[str, ...] = ("lognormal", "uniform", "normal")
MODES: tuple[str, ...] = ("preferred", "frontier-min-cost", "max-speed")


@dataclasses.dataclass(frozen=True)
class Distribution:
    """One input's distribution: `kind` in DISTRIBUTION_KINDS with its two parameters, or 'samples'."""

    kind: str
    params: tuple[float, ...] = ()
    samples: np.ndarray | None = None

    def describe(self) -> str:
        if self.kind == "samples":
            return f"{len(self.samples)} given samples"
        names = {"lognormal": ("median", "sigma"), "uniform": ("low", "high"), "normal": ("mean", "sd")}[
            self.kind
        ]
        return f"{self.kind}({', '.join(f'{n}={v:g}' for n, v in zip(names, self.params))})"


def parse_distribution(field: str, spec: Any) -> Distribution:
    """Validate one distribution spec: ('lognormal', median, sigma) | ('uniform', lo, hi) | ('normal', mean,
    sd) | a 1-D array of samples. Errors name the field, the value and what was expected.

    >>> parse_distribution("pue", ("uniform", 1.2, 1.6)).describe()
    'uniform(low=1.2, high=1.6)'
    """
    where = f"distributions[{field!r}]"
    if isinstance(spec, Distribution):
        return spec
    if isinstance(spec, (tuple, list)) and spec and isinstance(spec[0], str):
        kind = spec[0].strip().lower()
        if kind not in DISTRIBUTION_KINDS:
            raise SpecError(
                f"{where} = {spec!r}: unknown distribution {spec[0]!r}; known: "
                f"{', '.join(DISTRIBUTION_KINDS)} (or give an array of samples)"
            )
        if len(spec) != 3:
            raise SpecError(f"{where} = {spec!r}: expected ({kind!r}, a, b) with two numbers")
        try:
            a, b = float(spec[1]), float(spec[2])
        except (TypeError, ValueError):
            raise SpecError(f"{where} = {spec!r}: the two parameters must be numbers") from None
        if not (math.isfinite(a) and math.isfinite(b)):
            raise SpecError(f"{where} = {spec!r}: parameters must be finite")
        if kind == "lognormal":
            if a <= 0:
                raise SpecError(f"{where} = {spec!r}: the median must be > 0")
            if b < 0:
                raise SpecError(
                    f"{where} = {spec!r}: sigma = {b:g} is negative; expected sigma ≥ 0 (sd of the log)"
                )
        elif kind == "uniform" and b < a:
            raise SpecError(f"{where} = {spec!r}: high = {b:g} is below low = {a:g}")
        elif kind == "normal" and b < 0:
            raise SpecError(f"{where} = {spec!r}: sd = {b:g} is negative; expected sd ≥ 0")
        return Distribution(kind, (a, b))
    if isinstance(spec, (str, bytes, Mapping)) or np.ndim(spec) == 0:
        raise SpecError(
            f"{where} = {spec!r}: expected ('lognormal', median, sigma), ('uniform', low, high), "
            "('normal', mean, sd) or a 1-D array of samples"
        )
    try:
        arr = np.asarray(spec, dtype=float)
    except (TypeError, ValueError):
        raise SpecError(f"{where}: expected a 1-D array of numbers") from None
    if arr.ndim != 1 or arr.size == 0:
        raise SpecError(f"{where}: samples have shape {arr.shape}; expected a non-empty 1-D array")
    if not np.all(np.isfinite(arr)):
        raise SpecError(f"{where}: samples contain NaN or infinity")
    return Distribution("samples", (), arr)


def _draw(dist: Distribution, key, n: int) -> np.ndarray:
    if dist.kind == "samples":
        return dist.samples
    a, b = dist.params
    if dist.kind == "uniform":
        return np.asarray(a + (b - a) * jax.random.uniform(key, (n,), dtype=jnp.float64))
    z = np.asarray(jax.random.normal(key, (n,), dtype=jnp.float64))
    return a * np.exp(b * z) if dist.kind == "lognormal" else a + b * z


def _valid(field: str, x: np.ndarray) -> np.ndarray:
    lower, inclusive, upper = DOMAINS[field]
    above = x >= lower if inclusive else x > lower
    return above & (x <= upper) & np.isfinite(x)


@dataclasses.dataclass(frozen=True)
class Interval:
    """Summary of one output over the valid samples: mean, sd and percentiles ({percent: value})."""

    mean: float
    std: float
    percentiles: dict[float, float]

    @property
    def low(self) -> float:
        """The lowest requested percentile (5th by default)."""
        return self.percentiles[min(self.percentiles)]

    @property
    def median(self) -> float:
        return self.percentiles.get(50.0, math.nan)

    @property
    def high(self) -> float:
        """The highest requested percentile (95th by default)."""
        return self.percentiles[max(self.percentiles)]

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, **{f"p{_pct(p)}": v for p, v in self.percentiles.items()}}


def _pct(p: float) -> str:
    return f"{p:g}"


def _interval(x: np.ndarray, pcts: Sequence[float]) -> Interval:
    if x.size == 0:
        return Interval(math.nan, math.nan, {float(p): math.nan for p in pcts})
    values = np.percentile(x, list(pcts))
    return Interval(float(np.mean(x)), float(np.std(x)), {float(p): float(v) for p, v in zip(pcts, values)})


@dataclasses.dataclass(frozen=True)
class CostUncertainty:
    """Monte Carlo result at one deployment.

    `usd_per_million_tokens`, `tokens_per_s_per_request`: `Interval`s over the valid samples; `nominal_*`: the
    outputs at nominal inputs. `input_samples[x]` and `*_samples` hold every draw (outputs NaN where invalid).
    `bound_counts`: how many valid samples each term bounds. `config`: the configuration held fixed.
    """

    usd_per_million_tokens: Interval
    tokens_per_s_per_request: Interval
    nominal_usd_per_million_tokens: float
    nominal_tokens_per_s_per_request: float
    distributions: dict[str, str]
    input_samples: dict[str, np.ndarray]
    usd_per_million_tokens_samples: np.ndarray
    tokens_per_s_per_request_samples: np.ndarray
    n_samples: int
    n_invalid: int
    seed: int
    bound_counts: dict[str, int]
    config: dict[str, Any]
    meta: dict[str, Any]

    @property
    def n_valid(self) -> int:
        return self.n_samples - self.n_invalid

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-sample arrays)."""
        return {
            "usd_per_million_tokens": self.usd_per_million_tokens.to_dict(),
            "tokens_per_s_per_request": self.tokens_per_s_per_request.to_dict(),
            "nominal_usd_per_million_tokens": self.nominal_usd_per_million_tokens,
            "nominal_tokens_per_s_per_request": self.nominal_tokens_per_s_per_request,
            "distributions": dict(self.distributions),
            "n_samples": self.n_samples,
            "n_invalid": self.n_invalid,
            "seed": self.seed,
            "bound_counts": dict(self.bound_counts),
            "config": dict(self.config),
            "meta": dict(self.meta),
        }

    def __str__(self) -> str:
        c, s = self.usd_per_million_tokens, self.tokens_per_s_per_request
        cols = sorted(c.percentiles)
        head = "".join(f"{'p' + _pct(p):>10}" for p in cols)
        lines = [
            (
                f"Monte Carlo over {', '.join(self.distributions)}: "
                f"{self.n_valid} valid of {self.n_samples} samples "
                f"(seed {self.seed})"
            ),
            f"{'output':<28}{'nominal':>10}{'mean':>10}{head}",
            f"{'$/M output tokens':<28}{self.nominal_usd_per_million_tokens:>10.4g}{c.mean:>10.4g}"
            + "".join(f"{c.percentiles[p]:>10.4g}" for p in cols),
            f"{'tokens/s per request':<28}{self.nominal_tokens_per_s_per_request:>10.4g}{s.mean:>10.4g}"
            + "".join(f"{s.percentiles[p]:>10.4g}" for p in cols),
        ]
        for k, d in self.distributions.items():
            lines.append(f"  {LABELS[k]}: {d}")
        return "\n".join(lines)


def _config_from_mode(mode, alpha, model, hardware, config: dict[str, Any]) -> dict[str, Any]:
    """Replace mode='preferred' | 'frontier-min-cost' | 'max-speed' by the nominal frontier's point."""
    if mode not in MODES:
        raise SpecError(
            f"mode = {mode!r}: expected one of {', '.join(MODES)} (or give n_gpu/tp and batch_size)"
        )
    given = [k for k in ("n_gpu", "tp", "batch_size", "point") if config.get(k) is not None]
    if given:
        raise SpecError(
            f"cost_uncertainty: mode={mode!r} chooses the configuration; do not also give {given[0]}"
        )
    price = config.get("price_usd_per_hour")
    f = decode_frontier(
        resolve(
            model,
            hardware,
            context_length=config.get("context_length", 0),
            preset=config.get("preset", "default"),
            speculative=config.get("speculative"),
            price_usd_per_hour=None if price is None else price_usd_per_hour(price),
            alpha=alpha,
        )
    )
    point = {
        "preferred": lambda: f.preferred(alpha),
        "frontier-min-cost": f.min_cost,
        "max-speed": f.max_speed,
    }[mode]()
    return {**{k: v for k, v in config.items() if k not in ("n_gpu", "tp", "batch_size")}, "point": point}


def cost_uncertainty(
    model,
    hardware,
    *,
    distributions: Mapping[str, Any],
    n_samples: int | None = 2000,
    seed: int = 0,
    mode: str | None = None,
    alpha: float | None = None,
    percentiles: Sequence[float] = (5, 50, 95),
    **config: Any,
) -> CostUncertainty:
    """Percentile intervals (and mean) of $/M output tokens and tokens/s per request under uncertain inputs.

    `distributions`: {input: ('lognormal', median, sigma) | ('uniform', lo, hi) | ('normal', mean, sd) |
    samples} over the inputs of `cost_elasticities` (hardware numbers, price, utilizations, collective latency
    scale, and with `price_usd_per_hour=OwnershipCost(...)` its fields such as `utilization`,
    `purchase_price`, `electricity_price_per_kwh`). The configuration: `n_gpu` or `tp` (+ `ep`, `pp`, `tp_2d`)
    with `batch_size`, or `point=FrontierPoint`, or `mode` = 'preferred' (α from `alpha`), 'frontier-min-cost'
    or 'max-speed' on the nominal frontier. Other keyword arguments: `context_length`, `preset`,
    `speculative`, `price_usd_per_hour`, `engine`. Deterministic for a given `seed`; vectorised with jax.vmap.

    >>> r = cost_uncertainty("llama-3-8b", "h100-sxm", tp=1, batch_size=16, n_samples=500,
    ...                      distributions={"price_usd_per_hour": ("lognormal", 2.0, 0.2)})
    >>> p = r.usd_per_million_tokens.percentiles   # $ ∝ price: p95/p5 ≈ exp(2 · 1.645 · 0.2) = 1.93
    >>> round(p[95] / p[5], 1), bool(r.tokens_per_s_per_request.std < 1e-9)   # the price leaves speed alone
    (1.9, True)
    """
    if not isinstance(distributions, Mapping) or not distributions:
        raise SpecError("cost_uncertainty: distributions: expected a non-empty mapping {input: distribution}")
    if mode is not None:
        config = _config_from_mode(mode, alpha, model, hardware, config)
    prep = _prepare(model, hardware, where="cost_uncertainty", **config)
    known = prep.inputs
    dists: dict[str, Distribution] = {}
    for field, spec in distributions.items():
        if field not in known:
            hint = ""
            if field in OWNERSHIP_INPUTS:
                hint = " (ownership inputs need price_usd_per_hour=OwnershipCost(...))"
            raise SpecError(f"distributions: unknown input {field!r}{hint}; known inputs: {', '.join(known)}")
        dists[field] = parse_distribution(field, spec)
    own = [k for k in dists if k in OWNERSHIP_INPUTS]
    if own and "price_usd_per_hour" in dists:
        raise SpecError(
            f"distributions: price_usd_per_hour and {own[0]!r} both set the price; give the price's "
            "distribution or its ownership inputs', not both"
        )
    lengths = {k: len(d.samples) for k, d in dists.items() if d.kind == "samples"}
    if n_samples is None:
        if not lengths:
            raise SpecError(
                "cost_uncertainty: n_samples = None needs at least one distribution given as samples"
            )
        n_samples = next(iter(lengths.values()))
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise SpecError(f"cost_uncertainty: n_samples = {n_samples!r}: expected a positive integer")
    n = int(n_samples)
    bad = {k: v for k, v in lengths.items() if v != n}
    if bad:
        k = next(iter(bad))
        raise SpecError(
            f"distributions[{k!r}]: {bad[k]} samples given but n_samples = {n}; expected equal lengths"
        )
    pcts = [float(p) for p in percentiles]
    if not pcts or any(not (0.0 <= p <= 100.0) for p in pcts):
        raise SpecError(f"percentiles = {percentiles!r}: expected numbers between 0 and 100")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise SpecError(f"seed = {seed!r}: expected an integer")

    key = jax.random.PRNGKey(int(seed))
    values = np.tile(prep.base, (n, 1))
    samples: dict[str, np.ndarray] = {}
    valid = np.ones(n, bool)
    for field, dist in dists.items():
        x = np.asarray(_draw(dist, jax.random.fold_in(key, _IDX[field]), n), float)
        samples[field] = x
        ok = _valid(field, x)
        valid &= ok
        values[:, _IDX[field]] = np.where(ok, x, prep.base[_IDX[field]])  # keep invalid rows computable
    # The nominal inputs ride along as the last row: one compiled call for everything.
    out, ev = _evaluate_rows(np.vstack([values, prep.base[None, :]]), prep.traced)
    nominal, out = out[-1], out[:-1]
    valid &= np.all(np.isfinite(out), axis=1) & np.all(out > 0, axis=1)
    n_invalid = int(n - valid.sum())
    if n_invalid:
        outside = [k for k, x in samples.items() if not _valid(k, x).all()]
        warnings.warn(
            f"cost_uncertainty: {n_invalid} of {n} samples dropped"
            + (f" (outside the domain of {', '.join(outside)})" if outside else " (infeasible)"),
            stacklevel=2,
        )
    cost = np.where(valid, out[:, 0], np.nan)
    speed = np.where(valid, out[:, 1], np.nan)
    parts = [
        np.asarray(getattr(ev, k), float)[:n][valid]
        for k in ("memory_s", "compute_s", "network_bandwidth_s", "network_latency_s", "launch_s")
    ]
    names, counts = np.unique(bound_term(*parts), return_counts=True) if valid.any() else ([], [])
    return CostUncertainty(
        usd_per_million_tokens=_interval(cost[valid], pcts),
        tokens_per_s_per_request=_interval(speed[valid], pcts),
        nominal_usd_per_million_tokens=float(nominal[0]),
        nominal_tokens_per_s_per_request=float(nominal[1]),
        distributions={k: d.describe() for k, d in dists.items()},
        input_samples=samples,
        usd_per_million_tokens_samples=cost,
        tokens_per_s_per_request_samples=speed,
        n_samples=n,
        n_invalid=n_invalid,
        seed=int(seed),
        bound_counts={str(k): int(v) for k, v in zip(names, counts)},
        config={**prep.config, **({"mode": mode} if mode else {})},
        meta=prep.meta,
    )


__all__ = [
    "DISTRIBUTION_KINDS",
    "MODES",
    "CostUncertainty",
    "Distribution",
    "Interval",
    "cost_uncertainty",
    "parse_distribution",
]
