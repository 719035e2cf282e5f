"""Sensitivity of a deployment's cost and speed to its inputs: elasticities by automatic differentiation.

The elasticity of an output y with respect to an input x is d ln y / d ln x: the percentage change of y per
1% change of x. At one fixed configuration (GPUs, batch, and either an explicit layout or the fastest layout
at that GPU count), infereco differentiates the physics with `jax.jacfwd` with respect to a vector of
log-scales of the inputs, so every elasticity comes from one traced evaluation (Zhuang et al. 2025 name
sensitivity analysis as an open question; this answers it for the modelled side).

Outputs: $/M output tokens, and tokens/s seen by one request (at a fixed batch, the instance's throughput has
the same elasticities as the per-request speed). Inputs (`INPUTS`; units in the names):

- hardware: `price_usd_per_hour`, `hbm_bandwidth_bytes_per_s` (peak), `flop_per_s` (peak at the model's
  operand precision), `intra_node_bandwidth_bytes_per_s`, `inter_node_bandwidth_bytes_per_s`,
  `kernel_launch_s`, `collective_latency_scale` (one multiplier on every NCCL protocol's base and hop
  latencies and on the ring model's hop latency), `bandwidth_utilization` and `flop_utilization` (sustained =
  peak × utilization, so their elasticities equal those of the peaks);
- with an ownership decomposition (`OwnershipCost`) as the price, its fields too (`OWNERSHIP_INPUTS`):
  `utilization` (the economic u: it divides depreciation, cost of capital and the host share),
  `purchase_price`, `depreciation_years`, `power_kw`, `pue`, `electricity_price_per_kwh`,
  `maintenance_rate_per_year`, `cost_of_capital_rate_per_year`, `host_and_network_share_per_hour`,
  `currency_per_usd` (non-USD currencies only).

Non-smooth points. The step time has kinks: max(memory, arithmetic), the cheapest NCCL protocol, and (without
an explicit layout) the fastest of the candidate layouts. The derivative is that of the active branch at the
nominal inputs (one-sided at an exact tie). Elasticities are local: across a kink they jump (e.g. the FLOP/s
elasticity is 0 while memory-bound). An input whose value is infinite (e.g. the scale-up bandwidth of a chip
without one) has elasticity 0.

>>> e = cost_elasticities("llama-3-8b", "h100-sxm", tp=1, batch_size=16, context_length=1000)
>>> c = e.usd_per_million_tokens
>>> round(c["price_usd_per_hour"], 6), round(c["flop_per_s"], 6), e.bound   # $ ∝ price; memory-bound
(1.0, 0.0, 'memory')
>>> round(c["hbm_bandwidth_bytes_per_s"] - c["kernel_launch_s"],
...       6)   # step = bytes/B + launches: shares sum to 1
-1.0
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from infereco.economics.hourly_cost import (
    HourlyCostBreakdown,
    OwnershipCost,
    RentalCost,
    cost_from_mapping,
    load_cost,
)
from infereco.economics.hourly_cost import price_usd_per_hour as _price_from_cost
from infereco.errors import InfeasibleError, SpecError
from infereco.physics.latency import bound_term
from infereco.physics.structs import HardwareArrays, ModelArrays, pytree_dataclass, static_field
from infereco.search.discrete import explicit_layout
from infereco.search.evaluate import Layout, SpecArrays, deployment_arrays, evaluate_configs
from infereco.specs.conventions import Conventions
from infereco.specs.deployment import resolve
from infereco.units import HOURS_PER_YEAR, SECONDS_PER_HOUR, TOKENS_PER_MILLION

HARDWARE_INPUTS: tuple[str, ...] = (
    "price_usd_per_hour",
    "hbm_bandwidth_bytes_per_s",
    "flop_per_s",
    "intra_node_bandwidth_bytes_per_s",
    "inter_node_bandwidth_bytes_per_s",
    "kernel_launch_s",
    "collective_latency_scale",
    "bandwidth_utilization",
    "flop_utilization",
)
OWNERSHIP_INPUTS: tuple[str, ...] = (
    "utilization",
    "purchase_price",
    "depreciation_years",
    "power_kw",
    "pue",
    "electricity_price_per_kwh",
    "maintenance_rate_per_year",
    "cost_of_capital_rate_per_year",
    "host_and_network_share_per_hour",
    "currency_per_usd",
)
INPUTS: tuple[str, ...] = HARDWARE_INPUTS + OWNERSHIP_INPUTS
_IDX = {name: i for i, name in enumerate(INPUTS)}

# Human labels (with units) for tables and plots.
LABELS: dict[str, str] = {
    "price_usd_per_hour": "GPU price (USD/GPU-h)",
    "hbm_bandwidth_bytes_per_s": "HBM bandwidth (bytes/s)",
    "flop_per_s": "peak FLOP/s",
    "intra_node_bandwidth_bytes_per_s": "scale-up bandwidth (bytes/s)",
    "inter_node_bandwidth_bytes_per_s": "scale-out bandwidth (bytes/s)",
    "kernel_launch_s": "kernel launch latency (s)",
    "collective_latency_scale": "collective latency (× NCCL/ring)",
    "bandwidth_utilization": "HBM bandwidth utilization",
    "flop_utilization": "FLOP utilization",
    "utilization": "economic utilization u",
    "purchase_price": "GPU purchase price",
    "depreciation_years": "depreciation period (years)",
    "power_kw": "power draw (kW)",
    "pue": "PUE",
    "electricity_price_per_kwh": "electricity price (per kWh)",
    "maintenance_rate_per_year": "maintenance rate (/year)",
    "cost_of_capital_rate_per_year": "cost of capital (/year)",
    "host_and_network_share_per_hour": "host and network share (per h)",
    "currency_per_usd": "exchange rate (currency per USD)",
}

# Domain of each input: (lower, lower_inclusive, upper). Samples outside are invalid (uncertainty module).
DOMAINS: dict[str, tuple[float, bool, float]] = {
    "price_usd_per_hour": (0.0, False, math.inf),
    "hbm_bandwidth_bytes_per_s": (0.0, False, math.inf),
    "flop_per_s": (0.0, False, math.inf),
    "intra_node_bandwidth_bytes_per_s": (0.0, False, math.inf),
    "inter_node_bandwidth_bytes_per_s": (0.0, False, math.inf),
    "kernel_launch_s": (0.0, True, math.inf),
    "collective_latency_scale": (0.0, True, math.inf),
    "bandwidth_utilization": (0.0, False, 1.0),
    "flop_utilization": (0.0, False, 1.0),
    "utilization": (0.0, False, 1.0),
    "purchase_price": (0.0, False, math.inf),
    "depreciation_years": (0.0, False, math.inf),
    "power_kw": (0.0, True, math.inf),
    "pue": (1.0, True, math.inf),
    "electricity_price_per_kwh": (0.0, True, math.inf),
    "maintenance_rate_per_year": (0.0, True, 1.0),
    "cost_of_capital_rate_per_year": (0.0, True, 1.0),
    "host_and_network_share_per_hour": (0.0, True, math.inf),
    "currency_per_usd": (0.0, False, math.inf),
}


# ------------------------------------------------------------------------------------------- the traced core
@pytree_dataclass
class _Traced:
    """The traced function's inputs besides the varied values: model and hardware arrays, the draft's (None
    without speculative decoding), the configuration, base values needed for ratios; `conv` and `ownership`
    are static (jit recompiles only when they change)."""

    model: ModelArrays
    hardware: HardwareArrays
    spec: SpecArrays | None
    n_gpu: Any
    batch: Any
    context_tokens: Any
    layout: Any  # search.evaluate.Layout of 0-d arrays, or None
    base_flop_per_s: Any  # peak FLOP/s of the target precision at the nominal inputs
    base_price_usd_per_hour: Any
    conv: Conventions = static_field()
    ownership: bool = static_field(default=False)


def _v(values, name: str):
    return values[_IDX[name]]


def _hardware(values, ha: HardwareArrays, base_flop, draft: bool) -> HardwareArrays:
    """HardwareArrays with the input values substituted (a draft model at another precision keeps its
    ratio)."""
    peak = ha.peak_flop_per_s * (_v(values, "flop_per_s") / base_flop) if draft else _v(values, "flop_per_s")
    lat = _v(values, "collective_latency_scale")
    return dataclasses.replace(
        ha,
        flop_per_s=peak * _v(values, "flop_utilization"),
        peak_flop_per_s=peak,
        hbm_bandwidth_bytes_per_s=_v(values, "hbm_bandwidth_bytes_per_s")
        * _v(values, "bandwidth_utilization"),
        intra_node_bandwidth_bytes_per_s=_v(values, "intra_node_bandwidth_bytes_per_s"),
        inter_node_bandwidth_bytes_per_s=_v(values, "inter_node_bandwidth_bytes_per_s"),
        kernel_launch_s=_v(values, "kernel_launch_s"),
        ring_hop_s=ha.ring_hop_s * lat,
        nccl_base_s=tuple(x * lat for x in ha.nccl_base_s),
        nccl_intra_hop_s=tuple(x * lat for x in ha.nccl_intra_hop_s),
        nccl_inter_hop_s=tuple(x * lat for x in ha.nccl_inter_hop_s),
    )


def _ownership_price(values):
    """USD per utilized GPU-hour from ownership inputs (the formula of `hourly_cost`, traceable)."""
    u = _v(values, "utilization")
    p = _v(values, "purchase_price")
    per_hour = (
        p / (_v(values, "depreciation_years") * HOURS_PER_YEAR * u)
        + _v(values, "power_kw") * _v(values, "pue") * _v(values, "electricity_price_per_kwh")
        + p * _v(values, "maintenance_rate_per_year") / HOURS_PER_YEAR
        + p * _v(values, "cost_of_capital_rate_per_year") / (HOURS_PER_YEAR * u)
        + _v(values, "host_and_network_share_per_hour") / u
    )
    return per_hour / _v(values, "currency_per_usd")


def _outputs(values, t: _Traced):
    """([USD per M tokens, tokens/s per request], Evaluation) at one configuration for one input vector."""
    hw = _hardware(values, t.hardware, t.base_flop_per_s, draft=False)
    spec = (
        None
        if t.spec is None
        else dataclasses.replace(
            t.spec, draft_hw=_hardware(values, t.spec.draft_hw, t.base_flop_per_s, draft=True)
        )
    )
    ev = evaluate_configs(
        t.model, hw, t.conv, t.n_gpu, t.batch, t.context_tokens, spec, xp=jnp, layout=t.layout
    )
    price = _v(values, "price_usd_per_hour")
    if t.ownership:
        price = _ownership_price(values) * (price / t.base_price_usd_per_hour)
    usd_per_m = ev.gpu_s_per_token * price / SECONDS_PER_HOUR * TOKENS_PER_MILLION
    speed = 1.0 / ev.latency_s
    return jnp.stack([usd_per_m, speed]), ev


@jax.jit
def _evaluate_many(values, t: _Traced):
    """`_outputs` for each row of `values` (n, len(INPUTS)), vectorised with jax.vmap."""
    return jax.vmap(lambda v: _outputs(v, t))(values)


def _evaluate_rows(values: np.ndarray, t: _Traced):
    """`_evaluate_many` on rows padded to a power of two (≥ 64) with copies of the last row, so calls with
    similar numbers of rows share one compiled function; returns numpy arrays for the given rows only."""
    n = values.shape[0]
    size = max(64, 1 << (n - 1).bit_length())
    padded = np.vstack([values, np.repeat(values[-1:], size - n, axis=0)])
    out, ev = _evaluate_many(jnp.asarray(padded), t)
    return np.asarray(out)[:n], type(ev)(*(np.broadcast_to(np.asarray(a), (size,))[:n] for a in ev))


@jax.jit
def _log_jacobian(base, finite, t: _Traced):
    """d ln(outputs) / d ln(inputs) at `base` (2 × len(INPUTS)), by forward-mode AD; plus the outputs."""
    safe = jnp.where(finite, base, 1.0)

    def f(theta):
        values = jnp.where(finite, safe * jnp.exp(theta), base)
        out, ev = _outputs(values, t)
        return jnp.log(out), (out, ev)

    jac, (out, ev) = jax.jacfwd(f, has_aux=True)(jnp.zeros_like(base))
    return jac, out, ev


# ------------------------------------------------------------------------------------------- set-up
@dataclasses.dataclass(frozen=True)
class _Prepared:
    traced: _Traced
    base: np.ndarray  # nominal value of every input (len(INPUTS)); unused ownership slots hold 1.0
    inputs: tuple[str, ...]  # the inputs that apply to this problem
    config: dict[str, Any]
    meta: dict[str, Any]
    cost: Any  # the price object as given (number, OwnershipCost, RentalCost, HourlyCostBreakdown)


def _integral(x) -> bool:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return False
    return math.isfinite(f) and f >= 1 and f == int(f)


def _point_layout(point) -> dict[str, Any]:
    """Configuration of a FrontierPoint: its explicit integer layout when it has one, else its GPU count."""
    n = float(point.n_gpu)
    tp, ep, pp = (getattr(point, k, math.nan) for k in ("tp", "ep", "pp"))
    if all(_integral(v) for v in (tp, ep, pp)) and abs(float(tp) * float(ep) * float(pp) - n) < 1e-9:
        extra = getattr(point, "extra", None) or {}
        return {
            "tp": int(tp),
            "ep": int(ep),
            "pp": int(pp),
            "tp_2d": bool(point.tp_2d),
            "attn_dp": bool(extra.get("attn_dp", False)),
        }
    return {"n_gpu": n}


def _split_price(price) -> tuple[float, OwnershipCost | None]:
    """(USD per GPU-hour, the ownership decomposition when one was given)."""
    if price is None:
        return math.nan, None
    if isinstance(price, Mapping):
        price = cost_from_mapping(price, where="price_usd_per_hour")
    elif isinstance(price, os.PathLike):
        price = load_cost(price)
    value = _price_from_cost(price)
    return value, price if isinstance(price, OwnershipCost) else None


def _prepare(
    model,
    hardware,
    *,
    n_gpu=None,
    batch_size=None,
    tp=None,
    ep=1,
    pp=1,
    tp_2d=False,
    point=None,
    context_length=0,
    preset="default",
    speculative=None,
    price_usd_per_hour=None,
    engine="vllm",
    where: str = "cost_elasticities",
) -> _Prepared:
    attn_dp = False
    if point is not None:
        if n_gpu is not None or tp is not None or batch_size is not None:
            raise SpecError(f"{where}: give point=... or (n_gpu or tp) with batch_size, not both")
        if not hasattr(point, "n_gpu") or not hasattr(point, "batch_size"):
            raise SpecError(
                f"{where}: point = {type(point).__name__}; expected a FrontierPoint (e.g. f.preferred())"
            )
        chosen = _point_layout(point)
        batch_size = float(point.batch_size)
        n_gpu = chosen.get("n_gpu")
        tp = chosen.get("tp")
        if tp is not None:
            ep, pp, tp_2d, attn_dp = chosen["ep"], chosen["pp"], chosen["tp_2d"], chosen["attn_dp"]
    if batch_size is None:
        raise SpecError(
            f"{where}: batch_size: missing; give batch_size with n_gpu or tp, or point=FrontierPoint"
        )
    try:
        b = float(batch_size)
    except (TypeError, ValueError):
        b = math.nan
    if not (math.isfinite(b) and b > 0):
        raise SpecError(
            f"{where}: batch_size = {batch_size!r}: expected a positive finite number of sequences"
        )
    if (n_gpu is None) == (tp is None):
        raise SpecError(
            f"{where}: give exactly one of n_gpu (best layout at that GPU count) or tp "
            "(explicit layout with ep, pp, tp_2d)"
        )
    price_value, ownership = _split_price(price_usd_per_hour)
    problem = resolve(
        model,
        hardware,
        context_length=context_length,
        preset=preset,
        speculative=speculative,
        price_usd_per_hour=None if price_usd_per_hour is None else price_value,
        space={"engine": engine},
    )
    m, hw, p = problem.model, problem.hardware, problem.preset
    bits = problem.operand_bits
    ma, ha, spec = deployment_arrays(problem)
    has_spec = spec is not None
    ctx = float(context_length)
    layout = None
    config: dict[str, Any] = {"batch_size": b, "context_length": ctx}
    if tp is not None:
        layout, info = _explicit_layout(problem, tp, ep, pp, tp_2d, b, engine, where, attn_dp)
        n = float(tp * ep * pp)
        layout = Layout(*(jnp.asarray(x, jnp.float64) for x in layout))
        config.update(
            n_gpu=n, tp=int(tp), ep=int(ep), pp=int(pp), tp_2d=bool(tp_2d), layout="explicit", **info
        )
    else:
        try:
            n = float(n_gpu)
        except (TypeError, ValueError):
            n = math.nan
        if not (math.isfinite(n) and n > 0):
            raise SpecError(f"{where}: n_gpu = {n_gpu!r}: expected a positive finite number of accelerators")
        config.update(n_gpu=n, layout="best of the preset's candidate layouts at this GPU count")
    price = hw.price_usd_per_hour
    traced = _Traced(
        ma,
        ha,
        spec,
        jnp.float64(n),
        jnp.float64(b),
        jnp.float64(ctx),
        layout,
        jnp.float64(hw.peak_flop_per_s(bits)),
        jnp.float64(price),
        conv=problem.conventions,
        ownership=ownership is not None,
    )
    base = np.ones(len(INPUTS))
    nominal = {
        "price_usd_per_hour": price,
        "hbm_bandwidth_bytes_per_s": hw.hbm_bandwidth_bytes_per_s,
        "flop_per_s": hw.peak_flop_per_s(bits),
        "intra_node_bandwidth_bytes_per_s": hw.intra_node_bandwidth_bytes_per_s,
        "inter_node_bandwidth_bytes_per_s": hw.inter_node_bandwidth_bytes_per_s,
        "kernel_launch_s": hw.kernel_launch_s,
        "collective_latency_scale": 1.0,
        "bandwidth_utilization": hw.bandwidth_utilization,
        "flop_utilization": hw.flop_utilization,
    }
    inputs = list(HARDWARE_INPUTS)
    if ownership is not None:
        nominal.update({k: float(getattr(ownership, k)) for k in OWNERSHIP_INPUTS if k != "currency_per_usd"})
        nominal["currency_per_usd"] = 1.0 / ownership.usd_per_unit
        inputs += [k for k in OWNERSHIP_INPUTS if k != "currency_per_usd" or ownership.currency != "USD"]
    for k, v in nominal.items():
        base[_IDX[k]] = float(v)
    meta = {
        "model": m.name,
        "hardware": hw.name,
        "preset": p.name,
        "speculative": None if not has_spec else problem.speculative.draft.name,
    }
    return _Prepared(traced, base, tuple(inputs), config, meta, price_usd_per_hour)


def _explicit_layout(problem, tp, ep, pp, tp_2d, batch, engine, where, attn_dp=False):
    """The Layout row of an explicit (tp, ep, pp, 2D, DP attention) layout, checked as `evaluate_point`
    checks it."""
    try:
        layout, extra = explicit_layout(
            problem,
            tp=tp,
            ep=ep,
            pp=pp,
            tp_2d=bool(tp_2d),
            attn_dp=bool(attn_dp),
            batch_size=batch,
            engine=engine,
        )
    except (InfeasibleError, SpecError) as exc:
        raise type(exc)(f"{where}: {exc}") from None
    return tuple(np.asarray(a)[0] for a in layout), {"max_batch": float(extra["max_batch"][0])}


# ------------------------------------------------------------------------------------------- results
@dataclasses.dataclass(frozen=True)
class Elasticities:
    """d ln(output) / d ln(input) at one configuration, for $/M output tokens and tokens/s per request.

    `usd_per_million_tokens[x]` = % change of $/M tokens per 1% change of input x (price: exactly 1);
    `tokens_per_s_per_request[x]` likewise for the speed one request sees. `inputs` holds each input's nominal
    value (units in its name). `config` is the configuration held fixed; `bound` the term that bounds the
    step.
    """

    usd_per_million_tokens: dict[str, float]
    tokens_per_s_per_request: dict[str, float]
    inputs: dict[str, float]
    nominal_usd_per_million_tokens: float
    nominal_tokens_per_s_per_request: float
    config: dict[str, Any]
    bound: str
    meta: dict[str, Any]

    def __getitem__(self, name: str) -> float:
        """Elasticity of $/M tokens with respect to `name`."""
        return self.usd_per_million_tokens[name]

    def ranked(self, metric: str = "usd_per_million_tokens") -> list[tuple[str, float]]:
        """(input, elasticity) sorted by magnitude, largest first."""
        items = list(_metric(self, metric).items())  # ties keep the order of INPUTS (price first)
        return [items[i] for i in sorted(range(len(items)), key=lambda i: -abs(items[i][1]))]

    def predicted_change(self, changes: Mapping[str, float], metric: str = "usd_per_million_tokens") -> float:
        """First-order estimate of the output's ratio after multiplying inputs by `changes` ({input: factor}):
        Π factor^elasticity (exact for power laws, a local approximation otherwise)."""
        e = _metric(self, metric)
        unknown = sorted(set(changes) - set(e))
        if unknown:
            raise SpecError(f"predicted_change: unknown input {unknown[0]!r}; known inputs: {', '.join(e)}")
        return float(np.prod([float(f) ** e[k] for k, f in changes.items()]))

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per input: input, label, value, elasticity of $/M tokens, elasticity of tokens/s."""
        return [
            {
                "input": k,
                "label": LABELS[k],
                "value": self.inputs[k],
                "elasticity_usd_per_million_tokens": self.usd_per_million_tokens[k],
                "elasticity_tokens_per_s_per_request": self.tokens_per_s_per_request[k],
            }
            for k in self.inputs
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "elasticities": self.to_records(),
            "nominal_usd_per_million_tokens": self.nominal_usd_per_million_tokens,
            "nominal_tokens_per_s_per_request": self.nominal_tokens_per_s_per_request,
            "config": dict(self.config),
            "bound": self.bound,
            "meta": dict(self.meta),
        }

    def __str__(self) -> str:
        c = self.config
        where = (
            f"tp={c['tp']}, ep={c['ep']}, pp={c['pp']}{' (2D)' if c.get('tp_2d') else ''}"
            if "tp" in c
            else f"{c['n_gpu']:g} GPUs"
        )
        lines = [
            (
                f"Elasticities of {self.meta.get('model')} on {self.meta.get('hardware')} at {where}, batch "
                f"{c['batch_size']:g}: ${self.nominal_usd_per_million_tokens:.4g}/M tokens, "
                f"{self.nominal_tokens_per_s_per_request:.4g} tokens/s per request ({self.bound}-bound)"
            ),
            f"{'input':<36}{'value':>12}{'d ln $/M':>11}{'d ln tok/s':>12}",
        ]
        for k, _ in self.ranked():
            lines.append(
                f"{LABELS[k]:<36}{self.inputs[k]:>12.4g}{self.usd_per_million_tokens[k]:>11.4f}"
                f"{self.tokens_per_s_per_request[k]:>12.4f}"
            )
        return "\n".join(lines)


def _metric(obj, metric: str) -> dict[str, float]:
    if metric not in ("usd_per_million_tokens", "tokens_per_s_per_request"):
        raise SpecError(
            f"metric = {metric!r}: expected 'usd_per_million_tokens' or 'tokens_per_s_per_request'"
        )
    return getattr(obj, metric)


def _bound(ev) -> str:
    parts = [
        np.atleast_1d(np.asarray(getattr(ev, k), float))
        for k in ("memory_s", "compute_s", "network_bandwidth_s", "network_latency_s", "launch_s")
    ]
    return str(bound_term(*parts)[0])


def cost_elasticities(
    model,
    hardware,
    *,
    n_gpu: float | None = None,
    batch_size: float | None = None,
    tp: int | None = None,
    ep: int = 1,
    pp: int = 1,
    tp_2d: bool = False,
    point=None,
    context_length: int = 0,
    preset="default",
    speculative=None,
    price_usd_per_hour: float | OwnershipCost | RentalCost | HourlyCostBreakdown | None = None,
    engine: str = "vllm",
) -> Elasticities:
    """Elasticities d ln($/M tokens)/d ln x and d ln(tokens/s per request)/d ln x at one deployment, via jax
    AD.

    The configuration is fixed: `batch_size` with either `tp` (+ `ep`, `pp`, `tp_2d`: an explicit integer
    layout, memory-checked under `engine`, like `evaluate_point`) or `n_gpu` (the fastest of the preset's
    candidate layouts at that GPU count: the derivative follows the layout that is fastest at the nominal
    inputs), or `point=` a `FrontierPoint` (e.g. `f.preferred()`), whose explicit layout is used when it has
    one (integer tp·ep·pp = n_gpu; for a continuous-grid point pass `n_gpu=p.n_gpu, batch_size=p.batch_size`).
    Pass the same `context_length`, `preset` and price as the frontier it came from. `price_usd_per_hour` may
    be a number or a cost decomposition; an `OwnershipCost` adds its fields (utilization u, purchase
    price, ...) as inputs.

    >>> e = cost_elasticities("llama-3-8b", "h100-sxm", tp=1, batch_size=16)
    >>> round(e["price_usd_per_hour"], 12), e.bound
    (1.0, 'memory')
    """
    prep = _prepare(
        model,
        hardware,
        n_gpu=n_gpu,
        batch_size=batch_size,
        tp=tp,
        ep=ep,
        pp=pp,
        tp_2d=tp_2d,
        point=point,
        context_length=context_length,
        preset=preset,
        speculative=speculative,
        price_usd_per_hour=price_usd_per_hour,
        engine=engine,
    )
    traced, config = prep.traced, dict(prep.config)
    if traced.layout is None:
        # Differentiate the layout that is fastest at the nominal inputs (what the min over layouts' gradient
        # follows anyway); tracing one layout instead of all compiles several times faster.
        two_d, pp_degree = _active_layout(prep)
        traced = dataclasses.replace(
            traced, conv=dataclasses.replace(traced.conv, tp_2d_options=(two_d,), pp_degrees=(pp_degree,))
        )
        config.update(tp_2d=two_d, pp=pp_degree)
    base = jnp.asarray(prep.base)
    finite = jnp.asarray(np.isfinite(prep.base))
    jac, out, ev = _log_jacobian(base, finite, traced)
    out = np.asarray(out)
    if not np.all(np.isfinite(out)) or not np.all(out > 0):
        raise InfeasibleError(
            f"cost_elasticities: the configuration is infeasible ({prep.config}): it does not fit, "
            "or the pipeline degree exceeds the batch"
        )
    jac = np.asarray(jac)
    return Elasticities(
        usd_per_million_tokens={k: float(jac[0, _IDX[k]]) for k in prep.inputs},
        tokens_per_s_per_request={k: float(jac[1, _IDX[k]]) for k in prep.inputs},
        inputs={k: float(prep.base[_IDX[k]]) for k in prep.inputs},
        nominal_usd_per_million_tokens=float(out[0]),
        nominal_tokens_per_s_per_request=float(out[1]),
        config=config,
        bound=_bound(ev),
        meta=prep.meta,
    )


def _active_layout(prep: _Prepared) -> tuple[bool, float]:
    """(2D tensor parallelism?, pipeline degree) of the fastest candidate layout at the nominal inputs
    (numpy)."""
    t = prep.traced
    spec = None if t.spec is None else dataclasses.replace(t.spec, acceptance=float(t.spec.acceptance))
    ev = evaluate_configs(
        t.model,
        t.hardware,
        t.conv,
        np.float64(t.n_gpu),
        np.float64(t.batch),
        float(t.context_tokens),
        spec,
        xp=np,
    )
    if not np.isfinite(np.asarray(ev.latency_s, float)).all():
        raise InfeasibleError(
            f"cost_elasticities: the configuration is infeasible ({prep.config}): it does not fit, "
            "or the pipeline degree exceeds the batch"
        )
    return bool(float(np.asarray(ev.tp_2d)) > 0.5), float(np.asarray(ev.pp_degree))


# --------------------------------------------------------------------------------------- one-at-a-time ranges
@dataclasses.dataclass(frozen=True)
class SensitivityRanges:
    """Outputs when each input alone moves to its low and high value (exact re-evaluation, not linearised).

    `low_inputs[x]`, `high_inputs[x]`: the input values used (factors clipped to the input's domain, e.g. a
    utilization never exceeds 1); `usd_per_million_tokens[x]` = ($/M at low, $/M at high), likewise for speed.
    """

    usd_per_million_tokens: dict[str, tuple[float, float]]
    tokens_per_s_per_request: dict[str, tuple[float, float]]
    low_inputs: dict[str, float]
    high_inputs: dict[str, float]
    nominal_inputs: dict[str, float]
    nominal_usd_per_million_tokens: float
    nominal_tokens_per_s_per_request: float
    config: dict[str, Any]
    meta: dict[str, Any]

    def baseline(self, metric: str = "usd_per_million_tokens") -> float:
        return (
            self.nominal_usd_per_million_tokens
            if metric == "usd_per_million_tokens"
            else self.nominal_tokens_per_s_per_request
        )

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {
                "input": k,
                "label": LABELS[k],
                "low": self.low_inputs[k],
                "nominal": self.nominal_inputs[k],
                "high": self.high_inputs[k],
                "usd_per_million_tokens_at_low": self.usd_per_million_tokens[k][0],
                "usd_per_million_tokens_at_high": self.usd_per_million_tokens[k][1],
                "tokens_per_s_per_request_at_low": self.tokens_per_s_per_request[k][0],
                "tokens_per_s_per_request_at_high": self.tokens_per_s_per_request[k][1],
            }
            for k in self.nominal_inputs
        ]


def sensitivity_ranges(
    model,
    hardware,
    *,
    factors: Mapping[str, tuple[float, float]] | None = None,
    default_factors: tuple[float, float] = (0.8, 1.25),
    inputs: Sequence[str] | None = None,
    **config: Any,
) -> SensitivityRanges:
    """One-at-a-time ranges for a tornado chart: each input × its (low, high) factors, the others nominal.

    `factors` overrides `default_factors` per input; values are clipped into the input's domain (utilizations
    ≤ 1, PUE ≥ 1). `inputs` restricts the inputs (default: all that apply). `config`: the arguments of
    `cost_elasticities` (configuration, context, preset, price). Evaluated exactly, vectorised with jax.vmap.

    >>> r = sensitivity_ranges("llama-3-8b", "h100-sxm", tp=1, batch_size=16)
    >>> low, high = r.usd_per_million_tokens["price_usd_per_hour"]   # price × 0.8 and × 1.25
    >>> round(low / r.nominal_usd_per_million_tokens, 6), round(high / r.nominal_usd_per_million_tokens, 6)
    (0.8, 1.25)
    """
    prep = _prepare(model, hardware, where="sensitivity_ranges", **config)
    chosen = list(prep.inputs if inputs is None else inputs)
    unknown = [k for k in chosen if k not in prep.inputs]
    unknown += [k for k in (factors or {}) if k not in prep.inputs]
    if unknown:
        raise SpecError(
            f"sensitivity_ranges: unknown input {unknown[0]!r}; known inputs here: {', '.join(prep.inputs)}"
        )
    rows = [prep.base]
    lows, highs = {}, {}
    for k in chosen:
        lo_f, hi_f = (factors or {}).get(k, default_factors)
        if not (lo_f > 0 and hi_f > 0 and math.isfinite(lo_f) and math.isfinite(hi_f)):
            raise SpecError(
                f"sensitivity_ranges: factors for {k!r} = {(lo_f, hi_f)!r}: expected two positive numbers"
            )
        lower, inclusive, upper = DOMAINS[k]
        nominal = prep.base[_IDX[k]]
        vals = []
        for f in (lo_f, hi_f):
            v = nominal * f
            v = min(v, upper)
            v = max(v, lower) if inclusive else v
            vals.append(v)
            row = prep.base.copy()
            row[_IDX[k]] = v
            rows.append(row)
        lows[k], highs[k] = vals
    out, _ = _evaluate_rows(np.stack(rows), prep.traced)
    nominal = out[0]
    if not np.all(np.isfinite(nominal)):
        raise InfeasibleError(f"sensitivity_ranges: the configuration is infeasible ({prep.config})")
    cost = {k: (float(out[1 + 2 * i, 0]), float(out[2 + 2 * i, 0])) for i, k in enumerate(chosen)}
    speed = {k: (float(out[1 + 2 * i, 1]), float(out[2 + 2 * i, 1])) for i, k in enumerate(chosen)}
    return SensitivityRanges(
        cost,
        speed,
        lows,
        highs,
        {k: float(prep.base[_IDX[k]]) for k in chosen},
        float(nominal[0]),
        float(nominal[1]),
        prep.config,
        prep.meta,
    )


__all__ = [
    "DOMAINS",
    "HARDWARE_INPUTS",
    "INPUTS",
    "LABELS",
    "OWNERSHIP_INPUTS",
    "Elasticities",
    "SensitivityRanges",
    "cost_elasticities",
    "sensitivity_ranges",
]
