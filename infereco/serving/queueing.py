"""Tail latencies of one replica's engine (`EngineModel`) under Poisson arrivals, from a queueing model.

`latency_quantiles(engine, requests_per_s=λ, input_tokens=…, output_tokens=…)` gives p50/p90/p99 of TTFT,
TPOT and E2E (seconds) for an array of rates at once (numpy, no loop over rates). It approximates the system
that `infereco.serving.simulate` simulates, in four parts. P is the prompt length, D = O − 1 the decode steps
of a request, t_dec the decode step time, s the prefill seconds per token.

1. **Decode batch: a state-dependent birth–death chain.** Requests holding (or waiting for) a KV slot number
   n; they arrive at λ and leave at μ(n) = min(n, C)/(E[D]·T(min(n, C))), where C = `max_seqs` and
   T(b) = t_dec(b)/(1 − ρ_p) is the time per output token at batch b, stretched by the share ρ_p of engine time
   the prompts take (ρ_p = λ·E[t_pre(P)] prefill first; λ·s·E[P] chunked). Every decoding sequence advances
   at the same rate, a processor-sharing-like (symmetric) discipline, so the chain's stationary law
   π(n) ∝ Π_{k≤n} λ/μ(k) does not depend on the distribution of D; above C it is geometric (M/M/1-like).
   Its mean decode batch is the Little's-law fixed point b̄ = λ·E[D]·T(b̄) of a self-consistent batch, and its
   spread is wider than Poisson when the step time grows with the batch (a busier engine decodes slower and
   holds requests longer).
2. **TTFT** = W_slot + W_prefill + R + S, taken independent and convolved numerically on a lattice:

   * W_slot: an arrival that finds all C slots held (probability π(n ≥ C)) waits an Exp(μ(C) − λ) time;
   * W_prefill: the M/G/1 wait of the prompt queue, service S = t_pre(P) (prefill first) or S = P/r with r the
     prompt tokens per second a backlogged budget drains (chunked: room B − b̄ tokens per step of
     t_dec(b̄) + (B − b̄)·s); P(W > 0) = ρ and the tail is the Cramér–Lundberg asymptote
     P(W > t) ≈ C_L·e^(−θt), λ(E[e^(θS)] − 1) = θ, C_L = (1 − ρ)/(λ·E[S·e^(θS)] − 1) (exact for M/M/1, and
     the exact decay rate of M/D/1 and any M/G/1 with light-tailed service), capped at ρ;
   * R: the residual of the step in progress, uniform on [0, t_step], present with probability b̄/(1 + b̄)
     (the share of non-prefill time the engine spends in decode steps);
   * S: the request's own prefill, t_pre(P) (prefill first) or ⌈P/(B − b̄)⌉ steps of t_dec(b̄) plus P·s
     (chunked).
3. **TPOT** of a request is T(b) averaged over its lifetime: b drawn from the chain as a decoding request sees
   it (size-biased), its deviation from the mean shrunk by the variance reduction of averaging an
   Ornstein–Uhlenbeck process over a window w of its relaxation time, g(w) = 2(w − 1 + e^(−w))/w², where
   w = 1 − κ and κ = d ln t_dec/d ln b at b̄ (κ = 0: M/M/∞, relaxation time = lifetime); plus a normal term for
   the number of prompts that stall it, variance λ·T·E[S²]/(E[D]·(1 − ρ_p)).
4. **E2E** = TTFT + D·TPOT with D drawn from the output lengths (binned to at most 32 values), TTFT and TPOT
   independent.

`utilisation` is λ over the engine's capacity (`EngineModel.capacity_requests_per_s`); at or above 1 a rate is
flagged `saturated` and its latencies are inf (never NaN). Checked against the simulation in
tests/test_serving_queueing.py: p90 and p99 of TTFT and E2E within 10% below 80% utilisation.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from infereco.errors import SpecError
from infereco.serving.engine_model import EngineModel, TokenLengths

__all__ = ["QueueingResult", "latency_quantiles", "md1_mean_wait_s", "mg1_wait_tail"]

PERCENTILES = (50.0, 90.0, 99.0)
_GRID = 1024  # lattice points per distribution
_CHUNK = 256  # rates per block (bounds the memory of the lattice arithmetic)
_TAIL = 1e-5  # probability left beyond a lattice's end


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
            f"{k}_p{int(q)}": self.percentile(k, q) for k in ("ttft_s", "tpot_s", "e2e_s") for q in PERCENTILES
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
    """(ρ, θ, C_L) of an M/G/1 queue's wait: P(W > 0) = ρ, P(W > t) ≈ min(ρ, C_L·e^(−θt)) (Cramér–Lundberg;
    exact for M/M/1). `service_s` and `service_probs`: a discrete service-time law (seconds); rates array.
    Rows with ρ ≥ 1 get θ = 0, C_L = 1.

    >>> rho, theta, c = mg1_wait_tail([4.0], [0.25], None)          # M/D/1 at ρ = 1
    >>> rho, theta, c = mg1_wait_tail([2.0], [0.25], None)          # M/D/1 at ρ = 0.5
    >>> round(float(theta[0]), 3), round(float(c[0]), 3)             # 1/s, probability
    (5.026, 0.661)
    """
    lam = np.atleast_1d(np.asarray(requests_per_s, float))
    v = np.atleast_1d(np.asarray(service_s, float))
    p = np.full(v.size, 1.0 / v.size) if service_probs is None else np.asarray(service_probs, float)
    es, es2 = float(v @ p), float(v**2 @ p)
    rho = lam * es
    ok = (rho < 1.0) & (lam > 0)
    lam_ok = np.where(ok, lam, 0.5 / es)
    rho_ok = lam_ok * es

    def f(th):
        m1, _ = _service_moments(lam_ok, v, p, th)
        return lam_ok * (m1 - 1.0) - th

    hi = 2.0 * (1.0 - rho_ok) / (lam_ok * es2)  # heavy-traffic estimate; double until past the root
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
    _, m2 = _service_moments(lam_ok, v, p, theta)
    c = (1.0 - rho_ok) / np.maximum(lam_ok * m2 - 1.0, 1e-300)
    return rho, np.where(ok, theta, 0.0), np.where(ok, c, 1.0)


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
    return np.diff(c, axis=1, prepend=0.0)


def _convolve(*pmfs):
    """pmf of the sum of independent lattice variables (same h per row), truncated to the lattice."""
    m = pmfs[0].shape[1]
    n = 1 << int(math.ceil(math.log2(m * len(pmfs))))
    f = np.ones((pmfs[0].shape[0], n // 2 + 1), dtype=complex)
    for p in pmfs:
        f = f * np.fft.rfft(p, n, axis=1)
    out = np.fft.irfft(f, n, axis=1)[:, :m]
    return np.maximum(out, 0.0)


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
    >>> r.ttft_s[0].round(3), r.saturated.tolist()           # idle: the prefill time, 0.06 s
    (array([0.06, 0.06, 0.06]), [False, False, True])
    >>> bool(np.all(np.isinf(r.e2e_s[2]))), round(float(r.utilisation[1]), 2)
    (True, 0.4)
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
        part = _block(engine, lam[idx], pd, od)
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


def _block(engine: EngineModel, lam: np.ndarray, pd: TokenLengths, od: TokenLengths) -> dict[str, np.ndarray]:
    """The model for a block of stable rates (rows)."""
    rows = lam.size
    C = engine.max_seqs
    s_tok = engine.prefill_s_per_token
    ed = od.moment(lambda o: o - 1.0)
    chunked = engine.chunked
    if chunked:
        rho_stretch = lam * s_tok * pd.mean
    else:
        rho_stretch = lam * float(engine.prefill_s(pd.tokens) @ pd.probs)
    stretch = 1.0 / (1.0 - rho_stretch)

    # 1. the decode chain on n = 0..C, geometric above C
    b = np.arange(1, C + 1, dtype=float)
    td = engine.decode_step_s_at(b)
    if ed > 0:
        mu = b[None, :] / (ed * td[None, :] * stretch[:, None])  # rows × C
        logw = np.cumsum(np.log(lam[:, None]) - np.log(mu), axis=1)
        logw = np.concatenate([np.zeros((rows, 1)), logw], axis=1)  # n = 0..C
        top = logw.max(axis=1, keepdims=True)
        w = np.exp(logw - top)
        r = np.minimum(lam / mu[:, -1], 1.0 - 1e-12)
        tail = w[:, -1] * r / (1.0 - r)  # n > C
        z = w.sum(axis=1) + tail
        pi = w / z[:, None]
        p_tail = tail / z
        p_block = pi[:, -1] + p_tail
        batch = np.arange(C + 1, dtype=float)
        mean_batch = pi @ batch + p_tail * C
        # size-biased law of the batch a decoding request sees: weights b·π(b), the tail at b = C
        sb = pi[:, 1:] * b[None, :]
        sb[:, -1] += p_tail * C
        sb = sb / sb.sum(axis=1, keepdims=True)
        slot_rate = np.maximum(mu[:, -1] - lam, 1e-300)
    else:
        pi = np.zeros((rows, C + 1))
        pi[:, 0] = 1.0
        p_block = np.zeros(rows)
        mean_batch = np.zeros(rows)
        sb = np.zeros((rows, C))
        sb[:, 0] = 1.0
        slot_rate = np.full(rows, np.inf)
    tpot_atoms = td[None, :] * stretch[:, None]  # T(b), rows × C
    mean_tpot = (sb * tpot_atoms).sum(axis=1)
    b_bar = np.maximum((sb * b[None, :]).sum(axis=1), 1.0)  # mean batch a decoding request sees
    b_time = np.clip(mean_batch, 1.0, C)
    t_step = engine.decode_step_s_at(b_time) * stretch

    # 2. TTFT
    if chunked:
        room = engine.chunk_tokens - b_time
        drain = room / (engine.decode_step_s_at(b_time) + room * s_tok)  # prompt tokens/s when backlogged
        serv = pd.tokens[None, :] / drain[:, None]  # rows × k
        own = (
            np.ceil(pd.tokens[None, :] / room[:, None]) * engine.decode_step_s_at(b_time)[:, None]
            + pd.tokens[None, :] * s_tok
        )
        rho_w = lam * pd.mean / drain
        theta, c_l = _mg1_rows(lam, serv, pd.probs)
        stall_s2 = lam * s_tok**2 * pd.moment(lambda p: p**2)
    else:
        s_vals = engine.prefill_s(pd.tokens)
        serv = np.broadcast_to(s_vals, (rows, s_vals.size))
        own = serv
        rho_w = rho_stretch
        theta, c_l = _mg1_rows(lam, serv, pd.probs)
        stall_s2 = lam * float(s_vals**2 @ pd.probs)
    q_resid = mean_batch / (1.0 + mean_batch)

    def wait_cdf(t):
        tail = np.minimum(rho_w[:, None], c_l[:, None] * np.exp(-theta[:, None] * t))
        return np.where(t >= 0, 1.0 - tail, 0.0)

    def slot_cdf(t):
        return np.where(t >= 0, 1.0 - p_block[:, None] * np.exp(-slot_rate[:, None] * t), 0.0)

    def resid_cdf(t):
        return np.where(t >= 0, 1.0 - q_resid[:, None] * np.clip(1.0 - t / t_step[:, None], 0.0, 1.0), 0.0)

    w_hi = np.where(rho_w > 0, np.log(np.maximum(c_l, 1e-300) / _TAIL) / np.maximum(theta, 1e-300), 0.0)
    s_hi = np.where(p_block > 0, np.log(np.maximum(p_block, 1e-300) / _TAIL) / slot_rate, 0.0)
    ttft_hi = own.max(axis=1) + t_step + np.maximum(w_hi, 0.0) + np.maximum(np.nan_to_num(s_hi), 0.0)
    h = ttft_hi / (_GRID - 1)
    ttft_pmf = _convolve(
        _cdf_on_lattice(wait_cdf, h),
        _cdf_on_lattice(slot_cdf, h),
        _cdf_on_lattice(resid_cdf, h),
        _atoms_on_lattice(own, np.broadcast_to(pd.probs, own.shape), h),
    )
    ttft_q = _quantiles(ttft_pmf, h)

    # 3. TPOT: the seen batch, averaged over the lifetime, plus the stalls by other prompts
    if ed > 0:
        lt = np.log(engine.decode_step_s_at(np.maximum(b_bar * 1.01, 1.0)) / engine.decode_step_s_at(b_bar))
        kappa = np.clip(lt / math.log(1.01), 0.0, 0.99)
        wdw = 1.0 - kappa
        g = 2.0 * (wdw - 1.0 + np.exp(-wdw)) / wdw**2
        shrunk = mean_tpot[:, None] + np.sqrt(g)[:, None] * (tpot_atoms - mean_tpot[:, None])
        sd = np.sqrt(stall_s2 * mean_tpot / ed * stretch)
    else:
        shrunk = tpot_atoms
        sd = np.zeros(rows)
    t_lo = np.maximum(shrunk.min(axis=1) - 6.0 * sd, 0.0)
    t_hi = shrunk.max(axis=1) + 6.0 * sd
    span = np.maximum(t_hi - t_lo, 1e-9 * mean_tpot)
    ht = span / (_GRID - 1)
    tpot_pmf = _atoms_on_lattice(shrunk - t_lo[:, None], sb, ht)
    k = np.arange(_GRID)
    kern = np.exp(-0.5 * ((np.minimum(k, _GRID * 2 - k)[None, :] * ht[:, None]) / np.maximum(sd, 1e-300)[:, None]) ** 2)
    kern = np.where(sd[:, None] > 0, kern, (k == 0)[None, :].astype(float))
    # Centre the normal kernel at zero: circular convolution on twice the lattice.
    kern2 = np.zeros((rows, 2 * _GRID))
    kern2[:, :_GRID] = kern
    kern2[:, _GRID + 1 :] = kern[:, 1:][:, ::-1]
    kern2 /= kern2.sum(axis=1, keepdims=True)
    f = np.fft.rfft(np.concatenate([tpot_pmf, np.zeros_like(tpot_pmf)], axis=1), axis=1) * np.fft.rfft(kern2, axis=1)
    tpot_pmf = np.maximum(np.fft.irfft(f, 2 * _GRID, axis=1)[:, :_GRID], 0.0)
    tpot_q = _quantiles(tpot_pmf, ht, t_lo)

    # 4. E2E = TTFT + D·TPOT
    d_vals, d_probs = _binned(TokenLengths(od.tokens - 1.0, od.probs) if ed > 0 else od, 32)
    if ed <= 0:
        e2e_q = ttft_q
    else:
        e_hi = ttft_hi + d_vals.max() * t_hi
        he = e_hi / (_GRID - 1)
        tcdf = np.cumsum(tpot_pmf, axis=1)
        tcdf /= tcdf[:, -1:]
        edges = (np.arange(_GRID)[None, :] + 0.5) * he[:, None]
        dec = np.zeros((rows, _GRID))
        for dv, dp in zip(d_vals, d_probs):
            if dv <= 0:
                dec += dp
                continue
            u = (edges / dv - t_lo[:, None]) / ht[:, None]
            i0 = np.clip(np.floor(u).astype(np.int64), 0, _GRID - 2)
            fr = np.clip(u - i0, 0.0, 1.0)
            c0 = np.take_along_axis(tcdf, i0, 1)
            c1 = np.take_along_axis(tcdf, i0 + 1, 1)
            val = np.where(u < 0, 0.0, np.where(u >= _GRID - 1, 1.0, c0 + fr * (c1 - c0)))
            dec += dp * val
        dec_pmf = np.diff(dec, axis=1, prepend=0.0)
        tt = np.cumsum(ttft_pmf, axis=1)
        tt /= tt[:, -1:]
        # TTFT's CDF re-read on the E2E lattice
        u = edges / h[:, None]
        i0 = np.clip(np.floor(u).astype(np.int64), 0, _GRID - 2)
        fr = np.clip(u - i0, 0.0, 1.0)
        c0, c1 = np.take_along_axis(tt, i0, 1), np.take_along_axis(tt, i0 + 1, 1)
        ttc = np.where(u >= _GRID - 1, 1.0, c0 + fr * (c1 - c0))
        e2e_pmf = _convolve(np.diff(ttc, axis=1, prepend=0.0), dec_pmf)
        e2e_q = _quantiles(e2e_pmf, he)
    return {
        "ttft_s": ttft_q,
        "tpot_s": tpot_q,
        "e2e_s": e2e_q,
        "mean_decode_batch": mean_batch,
        "mean_tpot_s": mean_tpot,
        "slot_blocking": p_block,
        "prefill": rho_w,
    }


def _mg1_rows(lam, serv, probs):
    """θ and C_L of `mg1_wait_tail` with a service law per row (rows × k values, shared probs)."""
    es = serv @ probs
    es2 = (serv**2) @ probs
    rho = lam * es

    def moments(th):
        e = np.exp(np.minimum(th[:, None] * serv, 700.0))
        return e @ probs, (e * serv) @ probs

    def f(th):
        return lam * (moments(th)[0] - 1.0) - th

    hi = 2.0 * (1.0 - rho) / (lam * es2)
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
    return theta, c
