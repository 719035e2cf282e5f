"""Tail latencies of one replica's engine (`EngineModel`) under Poisson arrivals, from a queueing model.

`latency_quantiles(engine, requests_per_s=λ, input_tokens=…, output_tokens=…)` gives p50/p90/p99 of TTFT,
TPOT and E2E (seconds) for an array of rates at once (numpy, no loop over rates). It approximates the system
that `infereco.serving.simulate` simulates. Notation: P the prompt length, D = O − 1 a request's decode steps,
t_dec(b) the decode step at batch b, C = `max_seqs`, s the prefill seconds per token, and S_j the seconds
prompt j stalls the decodes: its whole prefill step t_pre(P) (prefill first) or P·s (chunked), so that the
prompts take ρ = λ·E[S] of the engine's time and every output token is stretched by 1/(1 − ρ).

1. **Decode batch N** (sequences decoding; `mean_decode_batch` m).

   * *Mean*, by Little's law: m = λ·E[D]·T̄ with T̄ = t_dec(m + V/m)/(1 − ρ) the mean TPOT, taken at the
     batch a decoding request sees on average (size-biased, E[N²]/E[N] = m + V/m; "itself plus m others" for
     a Poisson batch), solved as a fixed point.
   * *Variance*, by linear response with delayed feedback: N(t) counts the arrivals of the last lifetime L,
     so a burst of arrivals both adds requests and, through their prompts' stalls and the slower steps of a
     bigger batch (elasticity κ = m·t_dec′/t_dec), lengthens the lifetime of everyone present. Linearising
     N − m in the arrival fluctuations with a lifetime-window (moving-average) feedback and integrating the
     spectrum in closed form gives V = m·A₂/(1 − κ), A₂ = 1 + γ·(2E[u] + E[u²]), u_j = λS_j/(1 − ρ) (the
     requests' worth of delay one prompt causes), γ = E[min(D, D′)]/E[D] the overlap of two lifetimes
     (1 for fixed lengths). Fixed lengths and κ = 0, ρ = 0 give Poisson, V = m.
   * *Slot blocking*: N negative-binomial with mean m and variance V (the feedback skews it to the right),
     P(N ≥ C); a blocked request waits like a customer of an M/M/1 queue served at the engine's capacity
     (every slot held: C sequences decode while their replacements prefill), Exp(capacity − λ).
2. **TTFT** = W_slot + W_prefill + R + S_own, taken independent and convolved numerically on a lattice:

   * W_prefill: the M/G/1 wait of the prompt queue, service t_pre(P) (prefill first) or P/r (chunked, r the
     prompt tokens per second a backlogged budget drains: B − N tokens per step of t_dec(N) + (B − N)·s,
     averaged quasi-statically over N ~ normal(m, V) by 3-point Gauss–Hermite). P(W > 0) = ρ_w and
     P(W > t) = C_L·e^(−θt)/(1 + k·e^(−βt)): θ, C_L the Cramér–Lundberg decay rate and constant,
     λ(E[e^(θS)] − 1) = θ, C_L = (1 − ρ_w)/(λE[S·e^(θS)] − 1) (exact for M/M/1, the exact asymptote of any
     M/G/1 with light-tailed service, e.g. M/D/1), k = C_L/ρ_w − 1 so that P(W > 0) = ρ_w, and β so that
     E[W] is the Pollaczek–Khinchine mean λE[S²]/(2(1 − ρ_w));
   * R: the residual of the step in progress, uniform on [0, step], present with probability m/(1 + m);
   * S_own: the request's own prefill, t_pre(P), or (chunked) ⌈P/(B − m)⌉ steps of t_dec(m) plus P·s, plus
     the prompt tokens of the requests queued behind it that fill the rest of its last step (probability ρ_w).
3. **TPOT** of a request of d decode steps: gamma (Wilson–Hilferty) with relative variance from the same
   linear response, [A₂/(1 − κ) − 2·(e^κ − 1)/κ·(1 + γE[u]) + 1]/m, of which the stall part γE[u²]/m scales
   as E[D]/d (a Poisson count over its own lifetime); plus X/d for the prompts that arrived during its own
   TTFT and are queued behind it when its first token comes out (X seconds of stalls, compound Poisson,
   mean λ(E[TTFT] − E[W_prefill])·E[S]/(1 − ρ)); the mean over requests stays T̄.
4. **E2E** = TTFT + D·TPOT, D drawn from the output lengths (at most 12 atoms), TTFT and TPOT independent.

`utilisation` is λ over the engine's capacity (`EngineModel.capacity_requests_per_s`); at or above 1 a rate is
flagged `saturated` and its latencies are inf (never NaN). Not modelled: the TTFT–TPOT correlation and the
batch's fluctuations in the prefill-first prompt queue; the TPOT tail of short requests among long ones is
low (p99 10–15% under the simulation with uniform 20–300 output tokens; within 5% for fixed lengths).
Checked against the simulation in tests/test_serving_queueing.py: p90 and p99 of TTFT and E2E within 10%
of the simulation from 10% to 80% utilisation for prefill-first, chunked, variable-length and KV-bound
engines.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.special import betainc, ndtr

from infereco.errors import SpecError
from infereco.serving.engine_model import EngineModel, TokenLengths

__all__ = ["QueueingResult", "latency_quantiles", "md1_mean_wait_s", "mg1_wait_tail"]

PERCENTILES = (50.0, 90.0, 99.0)
_GRID = 1024  # lattice points per distribution
_CHUNK = 256  # rates per block (bounds the memory of the lattice arithmetic)
_TAIL = 1e-3  # probability of each part beyond its lattice's end (piled on the last point)
_GRID_TPOT = 256  # lattice points of the TPOT mixture
_GRID_E2E = 512  # lattice points of E2E
_D_BINS = 12  # atoms of the output-length law
_P_BINS = 64  # atoms of the input-length law


@dataclasses.dataclass(frozen=True)
class QueueingResult:
    """Queueing-model latencies over an array of rates (seconds). `ttft_s`, `tpot_s`, `e2e_s` have shape
    (rates, 3): p50, p90, p99; inf where `saturated`."""

    requests_per_s: np.ndarray
    utilisation: np.ndarray
    saturated: np.ndarray
    capacity_requests_per_s: float
    ttft_s: np.ndarray
    tpot_s: np.ndarray
    e2e_s: np.ndarray
    mean_decode_batch: np.ndarray  # time-average decode batch (the chain's E[min(n, C)])
    mean_tpot_s: np.ndarray
    slot_blocking: np.ndarray  # probability an arrival finds every KV slot held
    prefill_utilisation: np.ndarray  # ρ of the prompt queue

    def percentile(self, name: str, q: float) -> np.ndarray:
        """p`q` of `ttft_s`, `tpot_s` or `e2e_s` over the rates (q one of 50, 90, 99)."""
        return getattr(self, name)[:, PERCENTILES.index(float(q))]

    def summary(self) -> dict[str, np.ndarray]:
        """`{ttft_s_p50: array over rates, …, utilisation, saturated}`."""
        out = {
            f"{k}_p{int(q)}": self.percentile(k, q)
            for k in ("ttft_s", "tpot_s", "e2e_s")
            for q in PERCENTILES
        }
        return {**out, "utilisation": self.utilisation, "saturated": self.saturated}


# ---- closed forms ------------------------------------------------------------------------------------------
def md1_mean_wait_s(requests_per_s, service_s):
    """Mean wait of an M/D/1 queue (Pollaczek–Khinchine): ρ·D/(2(1 − ρ)), inf at ρ ≥ 1.

    >>> md1_mean_wait_s(5.0, 0.1)   # ρ = 0.5
    0.05
    """
    lam, d = np.asarray(requests_per_s, float), np.asarray(service_s, float)
    rho = lam * d
    out = np.where(rho < 1.0, rho * d / (2.0 * np.where(rho < 1.0, 1.0 - rho, 1.0)), np.inf)
    return float(out) if out.ndim == 0 else out


def _service_moments(lam, values, probs, theta):
    """E[e^(θS)] and E[S·e^(θS)] per rate (rows) for a discrete service law (values, probs)."""
    e = np.exp(np.minimum(theta[:, None] * values[None, :], 700.0))
    return e @ probs, (e * values[None, :]) @ probs


def mg1_wait_tail(requests_per_s, service_s, service_probs=None):
    """(ρ, θ, C_L) of an M/G/1 queue's wait: P(W > 0) = ρ, P(W > t) ≈ C_L·e^(−θt) for large t
    (Cramér–Lundberg: λ(E[e^(θS)] − 1) = θ, C_L = (1 − ρ)/(λE[S·e^(θS)] − 1); exact for M/M/1).
    `service_s`, `service_probs`: a discrete service-time law (seconds; equal weights by default);
    `requests_per_s`: an array of rates with ρ < 1.

    >>> rho, theta, c = mg1_wait_tail([2.0], [0.25])          # M/D/1 at ρ = 0.5
    >>> round(float(theta[0]), 3), round(float(c[0]), 3)      # 1/s, probability
    (5.026, 0.661)
    >>> rho, theta, c = mg1_wait_tail([1.0], [0.25, 0.75])    # ρ = 0.5, two service times
    >>> round(float(theta[0]), 3), round(float(c[0]), 3)
    (1.922, 0.635)
    """
    lam = np.atleast_1d(np.asarray(requests_per_s, float))
    v = np.atleast_1d(np.asarray(service_s, float))
    p = np.full(v.size, 1.0 / v.size) if service_probs is None else np.asarray(service_probs, float)
    rho = lam * float(v @ p)
    if not (np.all(lam > 0) and np.all(rho < 1.0)):
        raise SpecError(f"requests_per_s = {requests_per_s!r}: expected rates > 0 with ρ = λ·E[S] < 1")
    theta, c, _, _ = _wait_law(lam, np.broadcast_to(v, (lam.size, v.size)), p)
    return rho, theta, c


# ---- lattice distributions (rows = rates) ------------------------------------------------------------------
def _atoms_on_lattice(values, probs, h, m=_GRID):
    """pmf on the lattice 0, h, …, (m − 1)h of atoms (values, probs) (rows × k arrays; h per row), each split
    between its two neighbouring points (mean kept); mass beyond the end goes to the last point."""
    rows = values.shape[0]
    x = np.clip(values / h[:, None], 0.0, m - 1.0)
    i0 = np.minimum(np.floor(x).astype(np.int64), m - 2)
    w1 = x - i0
    off = (np.arange(rows) * m)[:, None]
    out = np.bincount((off + i0).ravel(), (probs * (1.0 - w1)).ravel(), rows * m)
    out += np.bincount((off + i0 + 1).ravel(), (probs * w1).ravel(), rows * m)
    return out.reshape(rows, m)


def _cdf_on_lattice(cdf, h, m=_GRID):
    """pmf of the lattice points k·h from a CDF (cell [k·h − h/2, k·h + h/2), the first one from −∞)."""
    edges = (np.arange(m)[None, :] + 0.5) * h[:, None]
    c = cdf(edges)
    c[:, -1] = 1.0
    return np.diff(c, axis=1, prepend=0.0)


def _convolve(*pmfs):
    """pmf of the sum of independent lattice variables (same h per row), truncated to the lattice."""
    m = pmfs[0].shape[1]
    n = 1 << int(math.ceil(math.log2(m * len(pmfs))))
    f = np.ones((pmfs[0].shape[0], n // 2 + 1), dtype=complex)
    for p in pmfs:
        f = f * np.fft.rfft(p, n, axis=1)
    out = np.maximum(np.fft.irfft(f, n, axis=1)[:, :m], 0.0)
    out[:, -1] += np.maximum(1.0 - out.sum(axis=1), 0.0)  # the mass beyond the lattice
    return out


def _quantiles(pmf, h, lo=None):
    """p50/p90/p99 (rows × 3) of lattice pmfs (points lo + k·h), linear between lattice points."""
    c = np.cumsum(pmf, axis=1)
    c = c / np.maximum(c[:, -1:], 1e-300)
    m = pmf.shape[1]
    out = np.empty((pmf.shape[0], len(PERCENTILES)))
    for j, q in enumerate(PERCENTILES):
        k = np.minimum(np.argmax(c >= q / 100.0, axis=1), m - 1)
        c1 = np.take_along_axis(c, k[:, None], 1)[:, 0]
        c0 = np.where(k > 0, np.take_along_axis(c, np.maximum(k - 1, 0)[:, None], 1)[:, 0], 0.0)
        frac = np.where(c1 > c0, (q / 100.0 - c0) / np.maximum(c1 - c0, 1e-300), 1.0)
        out[:, j] = (np.maximum(k - 1, 0) + np.where(k > 0, frac, 0.0)) * h
    return out if lo is None else out + lo[:, None]


def _gamma_cdf(shape, x):
    """CDF at x of a gamma law of unit scale (Wilson–Hilferty: (X/k)^(1/3) is nearly normal)."""
    v = 1.0 / (9.0 * shape)
    return ndtr((np.cbrt(np.maximum(x, 0.0) / shape) - (1.0 - v)) / np.sqrt(v))


def _binned(d: TokenLengths, k: int = 32):
    """A length law with at most k atoms: equal-probability bins, each at its conditional mean."""
    if d.tokens.size <= k:
        return d.tokens, d.probs
    c = np.cumsum(d.probs)
    b = np.minimum((c - d.probs / 2.0) * k, k - 1).astype(int)
    probs = np.bincount(b, d.probs, k)
    vals = np.bincount(b, d.probs * d.tokens, k) / np.maximum(probs, 1e-300)
    keep = probs > 0
    return vals[keep], probs[keep]


# ---- the model ---------------------------------------------------------------------------------------------
def latency_quantiles(
    engine: EngineModel,
    *,
    requests_per_s,
    input_tokens=1000,
    output_tokens=200,
) -> QueueingResult:
    """p50/p90/p99 of TTFT, TPOT and E2E (seconds) at each Poisson arrival rate of `requests_per_s`
    (requests/s, array), by the approximation of the module docstring. Lengths: a number,
    `{"uniform": [lo, hi]}` or samples.

    >>> e = EngineModel.linear(decode_base_s=0.02, decode_per_seq_s=1e-4, prefill_base_s=0.01,
    ...                        prefill_tokens_per_s=20000, max_seqs=256)
    >>> r = latency_quantiles(e, requests_per_s=[0.01, 4.0, 100.0], input_tokens=1000, output_tokens=100)
    >>> r.ttft_s[0].round(3), r.saturated.tolist()   # near idle: the prefill, 0.06 s (2%: a step's residual)
    (array([0.06, 0.06, 0.07]), [False, False, True])
    >>> bool(np.all(np.isinf(r.e2e_s[2]))), round(float(r.utilisation[1]), 2), r.ttft_s[1].round(3)
    (True, 0.31, array([0.073, 0.108, 0.167]))
    """
    if not isinstance(engine, EngineModel):
        raise SpecError(f"engine = {type(engine).__name__}: expected an EngineModel")
    lam = np.atleast_1d(np.asarray(requests_per_s, dtype=float)).ravel()
    if lam.size == 0 or not np.all(np.isfinite(lam) & (lam > 0)):
        bad = lam[~(np.isfinite(lam) & (lam > 0))][0] if lam.size else "[]"
        raise SpecError(f"requests_per_s = {bad!r}: expected finite rates > 0 requests/s")
    pd = TokenLengths.coerce(input_tokens, "input_tokens")
    od = TokenLengths.coerce(output_tokens, "output_tokens")
    cap = engine.capacity_requests_per_s(pd.mean, od.mean)
    util = lam / cap
    sat = util >= 1.0 - 1e-9
    n = lam.size
    out = {k: np.full((n, 3), np.inf) for k in ("ttft_s", "tpot_s", "e2e_s")}
    extra = {k: np.full(n, np.inf) for k in ("mean_decode_batch", "mean_tpot_s", "slot_blocking", "prefill")}
    ok = np.flatnonzero(~sat)
    for start in range(0, ok.size, _CHUNK):
        idx = ok[start : start + _CHUNK]
        part = _block(engine, lam[idx], pd, od, cap)
        for k in out:
            out[k][idx] = part[k]
        for k in extra:
            extra[k][idx] = part[k]
    return QueueingResult(
        requests_per_s=lam,
        utilisation=util,
        saturated=sat,
        capacity_requests_per_s=cap,
        ttft_s=out["ttft_s"],
        tpot_s=out["tpot_s"],
        e2e_s=out["e2e_s"],
        mean_decode_batch=extra["mean_decode_batch"],
        mean_tpot_s=extra["mean_tpot_s"],
        slot_blocking=extra["slot_blocking"],
        prefill_utilisation=extra["prefill"],
    )


def _block(
    engine: EngineModel, lam: np.ndarray, pd: TokenLengths, od: TokenLengths, cap: float
) -> dict[str, np.ndarray]:
    """The model for a block of stable rates (rows)."""
    rows = lam.size
    pd = TokenLengths(*_binned(pd, _P_BINS))
    C = engine.max_seqs
    s_tok = engine.prefill_s_per_token
    ed = od.moment(lambda o: o - 1.0)
    chunked = engine.chunked
    # Seconds each prompt stalls the decodes: its whole prefill step (prefill first) or its tokens' share of
    # the mixed steps (chunked).
    stall = pd.tokens * s_tok if chunked else engine.prefill_s(pd.tokens)
    rho = lam * float(stall @ pd.probs)
    stretch = 1.0 / (1.0 - rho)

    # 1. the decode batch: mean by Little's law, variance by linear response
    if ed > 0:
        u = lam[:, None] * stall[None, :] / (1.0 - rho[:, None])  # each arrival's stall, in requests
        eu, eu2 = u @ pd.probs, (u**2) @ pd.probs
        # With lifetimes of unequal length a stall and an arrival overlap on E[min(D, D')] of E[D] (γ).
        gam = _overlap(od)
        a2 = 1.0 + gam * (2.0 * eu + eu2)
        # Mean batch: Little's law m = λ·E[D]·T̄ with T̄ = stretch·t_dec(m + V/m) at the batch a decoding
        # request sees on average (size-biased, E[N²]/E[N] = m + V/m), V = m·A2/(1 − κ) the linear-response
        # variance of the batch (A2 = 1, κ = 0: Poisson, the request itself plus m others).
        kappa = np.zeros(rows)
        for _ in range(4):
            seen = a2 / (1.0 - kappa)
            m = _little_batch(engine, lam * ed * stretch, seen, C)
            at = np.clip(m + seen, 1.0, C)
            kappa = np.clip(m * _slope(engine, at) / engine.decode_step_s_at(at), 0.0, 0.95)
        mean_tpot = stretch * engine.decode_step_s_at(np.clip(m + a2 / (1.0 - kappa), 1.0, C))
        var_lr = m * a2 / (1.0 - kappa)
        # Blocking: the batch taken as negative binomial with the linear-response mean and variance (the
        # feedback skews it to the right), P(N ≥ C); the wait for a slot that of an M/M/1 queue served at the
        # capacity rate (every slot held: C sequences decode while their replacements prefill).
        v = np.maximum(var_lr, m * (1.0 + 1e-6))
        p_nb = np.clip(m / v, 1e-12, 1.0 - 1e-12)
        p_block = np.where(m > 0, betainc(float(C), m * p_nb / (1.0 - p_nb), 1.0 - p_nb), 0.0)
        slot_rate = cap - lam
        jk = np.where(kappa > 1e-9, np.expm1(kappa) / np.maximum(kappa, 1e-9), 1.0)
        var_rel = np.maximum(a2 / (1.0 - kappa) - 2.0 * jk * (1.0 + gam * eu) + 1.0, 0.0) / np.maximum(
            m, 1e-9
        )
        var_stall = np.minimum(gam * eu2 / np.maximum(m, 1e-9), var_rel)
        var_batch = var_rel - var_stall
    else:
        m = np.zeros(rows)
        p_block = np.zeros(rows)
        slot_rate = np.full(rows, 1.0)
        mean_tpot = engine.decode_step_s_at(1.0) * stretch
        var_stall = var_batch = var_lr = np.zeros(rows)
    b_time = np.clip(m, 1.0, C)

    # 2. TTFT
    if chunked:
        t_step = engine.decode_step_s_at(b_time) * stretch
        room = engine.chunk_tokens - b_time
        n_own = np.ceil(pd.tokens[None, :] / room[:, None])  # steps the prompt spans
        own = n_own * engine.decode_step_s_at(b_time)[:, None] + pd.tokens[None, :] * s_tok
        # The budget left to prompts moves with the decode batch, slowly against the prompt queue: its wait
        # law is averaged over the batch (3-point Gauss–Hermite over N ~ normal(m, V), quasi-static).
        envs = []
        for z, wt in ((-math.sqrt(3.0), 1.0 / 6.0), (0.0, 2.0 / 3.0), (math.sqrt(3.0), 1.0 / 6.0)):
            n_z = np.clip(m + z * np.sqrt(var_lr), 0.0, C)
            room_z = engine.chunk_tokens - n_z
            drain = room_z / (engine.decode_step_s_at(n_z) + room_z * s_tok)  # prompt tokens/s, backlogged
            drain = np.maximum(drain, lam * pd.mean / 0.995)  # a locally saturated batch: ρ capped below 1
            envs.append(
                (wt, lam * pd.mean / drain, *_wait_law(lam, pd.tokens[None, :] / drain[:, None], pd.probs))
            )
    else:
        t_step = engine.decode_step_s_at(b_time)
        serv = np.broadcast_to(engine.prefill_s(pd.tokens), (rows, pd.tokens.size))
        own = serv
        envs = [(1.0, rho, *_wait_law(lam, serv, pd.probs))]
    rho_w = sum(wt * r_w for wt, r_w, *_ in envs)
    if chunked:  # the room its own steps leave is filled by the prompts behind it when they queue (ρ_w)
        own = own + rho_w[:, None] * (n_own * room[:, None] - pd.tokens[None, :]) * s_tok
    q_resid = m / (1.0 + m)

    def wait_cdf(t):
        out = 0.0
        for wt, r_w, theta, c_l, k_l, beta in envs:
            tail = (
                c_l[:, None] * np.exp(-theta[:, None] * t) / (1.0 + k_l[:, None] * np.exp(-beta[:, None] * t))
            )
            out = out + wt * np.minimum(tail, r_w[:, None])
        return np.where(t >= 0, 1.0 - out, 0.0)

    def slot_cdf(t):
        return np.where(t >= 0, 1.0 - p_block[:, None] * np.exp(-slot_rate[:, None] * t), 0.0)

    def resid_cdf(t):
        return np.where(t >= 0, 1.0 - q_resid[:, None] * np.clip(1.0 - t / t_step[:, None], 0.0, 1.0), 0.0)

    w_hi = np.max([np.log(np.maximum(e[3], _TAIL) / _TAIL) / np.maximum(e[2], 1e-300) for e in envs], axis=0)
    s_hi = np.log(np.maximum(p_block, _TAIL) / _TAIL) / slot_rate
    # The lattice holds TTFT − the shortest own prefill (no TTFT is shorter), for resolution.
    own_lo = own.min(axis=1)
    span = (own.max(axis=1) - own_lo) + np.where(q_resid > 0, t_step, 0.0) + w_hi + s_hi
    h = np.maximum(span, 1e-6 * own_lo + 1e-12) / (_GRID - 1)
    wait_pmf = _cdf_on_lattice(wait_cdf, h)
    ttft_pmf = _convolve(
        wait_pmf,
        _cdf_on_lattice(slot_cdf, h),
        _cdf_on_lattice(resid_cdf, h),
        _atoms_on_lattice(own - own_lo[:, None], np.broadcast_to(pd.probs, own.shape), h),
    )
    ttft_q = _quantiles(ttft_pmf, h, own_lo)
    ttft_hi = own_lo + h * (_GRID - 1)
    k_h = np.arange(_GRID) * h[:, None]
    mean_ttft = own_lo + (ttft_pmf * k_h).sum(axis=1)
    mean_wait = (wait_pmf * k_h).sum(axis=1)

    # 3. TPOT of a request of d decode steps: gamma with the linear-response spread, the stall part of the
    # variance scaling as 1/d (a Poisson count over its own lifetime); plus the prompts that arrived during
    # its own TTFT, queued behind it when its first token comes out: X seconds of stalls, mean
    # λ(E[TTFT] − E[W])·E[S]/(1 − ρ) above the queue a random instant sees, spread over its d steps
    # (T̄ stays the Little's-law mean over requests: T_∞ = T̄ − E[X]/E[D]).
    if ed > 0:
        d_vals, d_probs = _binned(TokenLengths(od.tokens - 1.0, od.probs), _D_BINS)
        keep = d_vals > 0
        d_pos, p_pos = d_vals[keep], d_probs[keep] / d_probs[keep].sum()
        cv = np.sqrt(var_stall[:, None] * ed / d_pos[None, :] + var_batch[:, None])  # rows × bins
        es, es2 = float(stall @ pd.probs), float(stall**2 @ pd.probs)
        x_mean = lam * np.maximum(mean_ttft - mean_wait, 0.0) * es / (1.0 - rho)
        x_var = lam * mean_ttft * es2 / (1.0 - rho) ** 2
        t_inf = np.maximum(mean_tpot - x_mean / ed, 0.5 * mean_tpot)
        mean_b = t_inf[:, None] + x_mean[:, None] / d_pos[None, :]
        var_b = (cv * mean_b) ** 2 + x_var[:, None] / d_pos[None, :] ** 2
        cv = np.sqrt(var_b) / mean_b
    else:
        d_vals, d_probs = np.zeros(1), np.ones(1)
        d_pos, p_pos = np.ones(1), np.ones(1)
        cv = np.zeros((rows, 1))
        mean_b = mean_tpot[:, None]
    cv = np.maximum(cv, 1e-4)
    shape = 1.0 / cv**2
    scale = mean_b / shape
    t_lo = (mean_b * np.maximum(1.0 - 8.0 * cv, 0.0)).min(axis=1)
    ht = ((mean_b * (1.0 + 8.0 * cv)).max(axis=1) - t_lo) / (_GRID_TPOT - 1)
    xt = t_lo[:, None, None] + np.arange(_GRID_TPOT)[None, :, None] * ht[:, None, None]
    tcdf = (_gamma_cdf(shape[:, None, :], xt / scale[:, None, :]) * p_pos).sum(axis=2)
    tcdf[:, -1] = 1.0
    tpot_q = _quantiles(np.diff(tcdf, axis=1, prepend=0.0), ht, t_lo) + 0.5 * ht[:, None]

    # 4. E2E = TTFT + D·TPOT
    if ed <= 0:
        e2e_q = ttft_q
    else:
        # Both parts on lattices of one spacing, each from its own lower end (resolution where the mass is).
        d_lo = (d_pos * mean_b * np.maximum(1.0 - 8.0 * cv, 0.0)).min(axis=1) * float(np.all(d_vals > 0))
        d_hi = (d_pos * mean_b * (1.0 + 8.0 * cv)).max(axis=1)
        he = ((ttft_hi - own_lo) + (d_hi - d_lo)) / (_GRID_E2E - 1)
        steps = (np.arange(_GRID_E2E)[None, :] + 0.5) * he[:, None]
        edges = d_lo[:, None] + steps
        dec = np.zeros((rows, _GRID_E2E)) + d_probs[d_vals <= 0].sum()
        wpos = d_probs[keep]
        cb = np.cbrt(edges)
        for j, dv in enumerate(d_pos):
            v = 1.0 / (9.0 * shape[:, j : j + 1])
            z = cb / np.cbrt(dv * scale[:, j : j + 1] * shape[:, j : j + 1])  # (x/(d·scale·k))^(1/3)
            dec += wpos[j] * ndtr((z - (1.0 - v)) / np.sqrt(v))
        dec[:, -1] = 1.0
        dec_pmf = np.diff(dec, axis=1, prepend=0.0)
        tt = np.cumsum(ttft_pmf, axis=1)
        tt /= tt[:, -1:]
        # TTFT's CDF re-read on its E2E-spaced lattice from own_lo
        uu = steps / h[:, None]
        i0 = np.clip(np.floor(uu).astype(np.int64), 0, _GRID - 2)
        fr = np.clip(uu - i0, 0.0, 1.0)
        c0, c1 = np.take_along_axis(tt, i0, 1), np.take_along_axis(tt, i0 + 1, 1)
        ttc = np.where(uu >= _GRID - 1, 1.0, c0 + fr * (c1 - c0))
        e2e_pmf = _convolve(np.diff(ttc, axis=1, prepend=0.0), dec_pmf)
        e2e_q = _quantiles(e2e_pmf, he, own_lo + d_lo)
    return {
        "ttft_s": ttft_q,
        "tpot_s": tpot_q,
        "e2e_s": e2e_q,
        "mean_decode_batch": m,
        "mean_tpot_s": mean_tpot,
        "slot_blocking": p_block,
        "prefill": rho_w,
    }


def _overlap(od: TokenLengths) -> float:
    """γ = E[min(D, D′)]/E[D] for two independent decode lengths D = O − 1 (1 for a fixed length)."""
    d = od.tokens - 1.0
    surv = 1.0 - np.cumsum(od.probs) + od.probs  # P(D ≥ d_k)
    steps = np.diff(d, prepend=0.0)
    ed = float(d @ od.probs)
    return float((surv**2) @ steps / ed) if ed > 0 else 1.0


def _little_batch(engine: EngineModel, rate, seen, cap):
    """The decode batch m with m = rate·t_dec(min(m + seen, cap)) (bisection on [0, cap]; rows)."""
    lo, hi = np.zeros_like(rate), np.full_like(rate, float(cap))
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        up = rate * engine.decode_step_s_at(np.clip(mid + seen, 1.0, cap)) > mid
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    return 0.5 * (lo + hi)


def _slope(engine: EngineModel, b):
    """d t_dec/d b at b (central difference over one sequence)."""
    return (engine.decode_step_s_at(b + 0.5) - engine.decode_step_s_at(np.maximum(b - 0.5, 0.0))) / (
        b + 0.5 - np.maximum(b - 0.5, 0.0)
    )


def _wait_law(lam, serv, probs):
    """The M/G/1 wait law of the prompt queue per row (service values `serv`, rows × k, shared `probs`):
    P(W > t) = min(ρ, C_L·e^(−θt)/(1 + k·e^(−βt))) with θ, C_L the Cramér–Lundberg decay rate and constant,
    k = C_L/ρ − 1 (so that P(W > 0) = ρ) and β set so that E[W] is the Pollaczek–Khinchine mean
    λE[S²]/(2(1 − ρ)). Returns (θ, C_L, k, β)."""
    es = serv @ probs
    es2 = (serv**2) @ probs
    rho = lam * es

    def moments(th):
        e = np.exp(np.minimum(th[:, None] * serv, 700.0))
        return e @ probs, (e * serv) @ probs

    def f(th):
        return lam * (moments(th)[0] - 1.0) - th

    hi = 2.0 * (1.0 - rho) / (lam * es2)  # heavy-traffic estimate; doubled until past the root
    for _ in range(200):
        pos = f(hi) > 0
        if pos.all():
            break
        hi = np.where(pos, hi, hi * 2.0)
    lo = np.zeros_like(hi)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = f(mid) > 0
        lo, hi = np.where(above, lo, mid), np.where(above, mid, hi)
    theta = 0.5 * (lo + hi)
    c = (1.0 - rho) / np.maximum(lam * moments(theta)[1] - 1.0, 1e-300)
    k = c / rho - 1.0
    # β/θ by bisection in log space on the mean: E[W] = (C_L/θ)·∫ e^(−y)/(1 + k·e^(−(β/θ)y)) dy.
    target = lam * es2 / (2.0 * (1.0 - rho)) * theta / c
    y = 60.0 * np.linspace(0.0, 1.0, 240) ** 2
    ey = np.exp(-y)[None, :]
    sign = np.where(k >= 0, 1.0, -1.0)
    lo, hi = np.full(rho.shape, math.log(1e-3)), np.full(rho.shape, math.log(1e4))
    for _ in range(32):
        mid = 0.5 * (lo + hi)
        g = np.trapezoid(ey / (1.0 + k[:, None] * np.exp(-np.exp(mid)[:, None] * y)), y, axis=1)
        up = sign * (g - target) > 0
        lo, hi = np.where(up, lo, mid), np.where(up, mid, hi)
    beta = theta * np.exp(0.5 * (lo + hi))
    return theta, c, k, beta
