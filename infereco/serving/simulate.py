"""Discrete-event simulation of one replica's engine (`EngineModel`) under Poisson arrivals.

Requests arrive at rate λ (`requests_per_s`, exponential gaps), with input and output lengths drawn
independently from `TokenLengths` (a number, `{"uniform": [lo, hi]}` or samples). The engine runs the steps of
`infereco.serving.engine_model` exactly: continuous batching, FCFS admission when a KV slot frees, prefill
first (whole prompts, one per step) or chunked prefill into the decode steps. Between events (an arrival that
can be admitted, a request finishing) the decode batch is constant, so runs of identical decode steps are
jumped over at once; a run costs O(events), not O(steps) (20k requests take well under a second).

Per request it returns (seconds) TTFT = first token − arrival, E2E = last token − arrival and
TPOT = (E2E − TTFT)/(O − 1) (0 for O = 1, and left out of the TPOT percentiles); percentiles are over the
requests after the first `warmup` fraction (steady state). Deterministic for a seed.
"""

from __future__ import annotations

import dataclasses
import heapq
import math

import numpy as np

from infereco.errors import SpecError
from infereco.serving.engine_model import EngineModel, TokenLengths

__all__ = ["SimulationResult", "simulate", "simulate_loads"]

PERCENTILES = (50.0, 90.0, 99.0)


@dataclasses.dataclass(frozen=True)
class SimulationResult:
    """One simulated run (seconds, requests/s). `quantiles[name]` holds p50, p90, p99 of `ttft_s`, `tpot_s`
    and `e2e_s` over the steady-state requests; `utilisation` is λ over the engine's capacity
    (`EngineModel.capacity_requests_per_s`), `busy_fraction` the share of time the engine ran steps."""

    requests_per_s: float
    arrival_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    ttft_s: np.ndarray
    tpot_s: np.ndarray
    e2e_s: np.ndarray
    quantiles: dict[str, np.ndarray]
    utilisation: float
    busy_fraction: float
    mean_in_system: float  # time-average number of requests arrived and not finished
    mean_decode_batch: float  # time-average of the decode batch over the decode steps
    capacity_requests_per_s: float
    saturated: bool
    steady: np.ndarray  # mask of the requests the percentiles are taken over

    def percentile(self, name: str, q: float) -> float:
        """p`q` of `ttft_s`, `tpot_s` or `e2e_s` (q one of 50, 90, 99)."""
        return float(self.quantiles[name][PERCENTILES.index(float(q))])

    def summary(self) -> dict[str, float]:
        """`{ttft_s_p50: …, …, e2e_s_p99: …, utilisation: …}`."""
        out = {f"{k}_p{int(q)}": float(v) for k, a in self.quantiles.items() for q, v in zip(PERCENTILES, a)}
        return {**out, "utilisation": self.utilisation, "busy_fraction": self.busy_fraction}


def _rate(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (v > 0 and math.isfinite(v)):
        raise SpecError(f"requests_per_s = {value!r}: expected a finite rate > 0 requests/s")
    return v


def _run_prefill_first(arr, pre, out_tokens, tdec, cap):
    """Event loop without chunked prefill; returns ttft, done, busy, mean_in_system·T, batch·time, T."""
    n = len(arr)
    ttft = [0.0] * n
    done = [0.0] * n
    queue: list[int] = []
    qh = 0
    heap: list[tuple[int, int]] = []
    t = ds = busy = area = batch_area = decode_time = 0.0
    ds = 0
    i = n_done = 0
    while n_done < n:
        while i < n and arr[i] <= t:
            queue.append(i)
            area += t - arr[i]  # in the system since it arrived (during the step or run just done)
            i += 1
        if qh < len(queue) and len(heap) < cap:
            j = queue[qh]
            qh += 1
            dt = pre[j]
            area += dt * (i - n_done)
            t += dt
            busy += dt
            ttft[j] = t - arr[j]
            if out_tokens[j] <= 1:
                done[j] = t
                n_done += 1
            else:
                heapq.heappush(heap, (ds + out_tokens[j] - 1, j))
            continue
        if heap:
            b = len(heap)
            td = tdec[b]
            k = heap[0][0] - ds
            if i < n and b < cap:  # an arrival could be admitted: stop at the step it arrives in
                k = min(k, max(1, math.ceil((arr[i] - t) / td)))
            dt = k * td
            area += dt * (i - n_done)
            batch_area += dt * b
            decode_time += dt
            t += dt
            busy += dt
            ds += k
            while heap and heap[0][0] == ds:
                done[heapq.heappop(heap)[1]] = t
                n_done += 1
        else:  # idle until the next arrival
            t = max(t, arr[i])
    return ttft, done, busy, area, batch_area, decode_time, t


def _run_chunked(arr, prompt, out_tokens, tdec, cap, budget, s_tok):
    """Event loop with chunked prefill (token budget `budget` per step)."""
    n = len(arr)
    ttft = [0.0] * n
    done = [0.0] * n
    rem = [int(p) for p in prompt]
    queue: list[int] = []
    qh = 0
    n_started = 0  # prompts in the queue holding a slot (partly prefilled)
    heap: list[tuple[int, int]] = []
    t = busy = area = batch_area = decode_time = 0.0
    step = 0
    i = n_done = 0
    while n_done < n:
        while i < n and arr[i] <= t:
            queue.append(i)
            area += t - arr[i]  # in the system since it arrived (during the step or run just done)
            i += 1
        b = len(heap)
        if qh < len(queue) and (n_started > 0 or b < cap):
            room = budget - b
            k = 0
            idx = qh
            finished = 0
            while idx < len(queue) and k < room:
                j = queue[idx]
                if idx - qh >= n_started:  # not started yet: needs a slot
                    if b + n_started >= cap:
                        break
                    n_started += 1
                take = min(rem[j], room - k)
                rem[j] -= take
                k += take
                if rem[j] == 0:
                    finished += 1
                idx += 1
            dt = tdec[b] + k * s_tok
            area += dt * (i - n_done)
            if b:
                batch_area += dt * b
                decode_time += dt
            t += dt
            busy += dt
            step += 1
            while heap and heap[0][0] == step:
                done[heapq.heappop(heap)[1]] = t
                n_done += 1
            for _ in range(finished):  # the finished prompts are the head of the queue
                j = queue[qh]
                qh += 1
                n_started -= 1
                ttft[j] = t - arr[j]
                if out_tokens[j] <= 1:
                    done[j] = t
                    n_done += 1
                else:
                    heapq.heappush(heap, (step + out_tokens[j] - 1, j))
            continue
        if heap:
            td = tdec[b]
            k = heap[0][0] - step
            if i < n and b < cap and qh == len(queue):
                k = min(k, max(1, math.ceil((arr[i] - t) / td)))
            dt = k * td
            area += dt * (i - n_done)
            batch_area += dt * b
            decode_time += dt
            t += dt
            busy += dt
            step += k
            while heap and heap[0][0] == step:
                done[heapq.heappop(heap)[1]] = t
                n_done += 1
        else:
            t = max(t, arr[i])
    return ttft, done, busy, area, batch_area, decode_time, t


def simulate(
    engine: EngineModel,
    *,
    requests_per_s: float,
    input_tokens=1000,
    output_tokens=200,
    n_requests: int = 20000,
    seed: int = 0,
    warmup: float = 0.1,
) -> SimulationResult:
    """Simulate `n_requests` Poisson arrivals at `requests_per_s` on `engine`; latencies in seconds.

    `input_tokens`, `output_tokens`: a number, `{"uniform": [lo, hi]}` or an array of samples. `warmup`: the
    fraction of the first requests left out of the percentiles.

    >>> e = EngineModel.linear(decode_base_s=0.02, decode_per_seq_s=1e-4, prefill_base_s=0.01,
    ...                        prefill_tokens_per_s=20000, max_seqs=64)
    >>> r = simulate(e, requests_per_s=0.01, input_tokens=1000, output_tokens=11, n_requests=50)
    >>> round(r.percentile("ttft_s", 50), 4), round(r.percentile("tpot_s", 50), 4)   # idle engine
    (0.06, 0.0201)
    >>> r = simulate(e, requests_per_s=8.0, input_tokens={"uniform": [800, 1200]}, output_tokens=100)
    >>> r.saturated, round(r.utilisation, 2), round(r.percentile("ttft_s", 99), 3)
    (False, 0.81, 0.681)
    """
    if not isinstance(engine, EngineModel):
        raise SpecError(f"engine = {type(engine).__name__}: expected an EngineModel")
    lam = _rate(requests_per_s)
    if not (isinstance(n_requests, (int, np.integer)) and n_requests >= 1):
        raise SpecError(f"n_requests = {n_requests!r}: expected a whole number ≥ 1")
    if not (0.0 <= float(warmup) < 1.0):
        raise SpecError(f"warmup = {warmup!r}: expected a fraction in [0, 1)")
    p_dist = TokenLengths.coerce(input_tokens, "input_tokens")
    o_dist = TokenLengths.coerce(output_tokens, "output_tokens")
    rng = np.random.default_rng(seed)
    n = int(n_requests)
    arrival = np.cumsum(rng.exponential(1.0 / lam, n))
    p = p_dist.sample(rng, n)
    o = o_dist.sample(rng, n)
    tdec = engine.decode_table().tolist()
    o_int = o.astype(np.int64).tolist()
    if engine.chunked:
        ttft, done, busy, area, batch_area, dec_t, t_end = _run_chunked(
            arrival.tolist(),
            p.tolist(),
            o_int,
            tdec,
            engine.max_seqs,
            engine.chunk_tokens,
            engine.prefill_s_per_token,
        )
    else:
        ttft, done, busy, area, batch_area, dec_t, t_end = _run_prefill_first(
            arrival.tolist(), engine.prefill_s(p).tolist(), o_int, tdec, engine.max_seqs
        )
    ttft = np.asarray(ttft)
    e2e = np.asarray(done) - arrival
    tpot = np.where(o > 1, (e2e - ttft) / np.maximum(o - 1.0, 1.0), 0.0)
    steady = np.arange(n) >= int(warmup * n)
    q = np.asarray(PERCENTILES)
    dec = steady & (o > 1)
    quantiles = {
        "ttft_s": np.percentile(ttft[steady], q),
        "tpot_s": np.percentile(tpot[dec], q) if dec.any() else np.zeros(3),
        "e2e_s": np.percentile(e2e[steady], q),
    }
    cap = engine.capacity_requests_per_s(p_dist.mean, o_dist.mean)
    return SimulationResult(
        requests_per_s=lam,
        arrival_s=arrival,
        input_tokens=p,
        output_tokens=o,
        ttft_s=ttft,
        tpot_s=tpot,
        e2e_s=e2e,
        quantiles=quantiles,
        utilisation=lam / cap,
        busy_fraction=busy / t_end,
        mean_in_system=area / t_end,
        mean_decode_batch=batch_area / dec_t if dec_t > 0 else 0.0,
        capacity_requests_per_s=cap,
        saturated=bool(lam >= cap),
        steady=steady,
    )


def simulate_loads(
    engine: EngineModel,
    requests_per_s,
    *,
    input_tokens=1000,
    output_tokens=200,
    n_requests: int = 20000,
    seed: int = 0,
    warmup: float = 0.1,
) -> dict[str, np.ndarray]:
    """`simulate` at each rate of `requests_per_s` (one seed per rate, `seed + i`): arrays over the rates,
    `{"requests_per_s", "utilisation", "saturated", "ttft_s", "tpot_s", "e2e_s"}`, the latency arrays of shape
    (rates, 3) holding p50, p90, p99 (seconds).

    >>> e = EngineModel.linear(decode_base_s=0.02, decode_per_seq_s=1e-4, prefill_base_s=0.01,
    ...                        prefill_tokens_per_s=20000, max_seqs=64)
    >>> s = simulate_loads(e, [1.0, 4.0], output_tokens=50, n_requests=2000)
    >>> t = s["ttft_s"]   # rates × (p50, p90, p99)
    >>> t.shape, bool(t[1, 2] > t[0, 2])
    ((2, 3), True)
    """
    lam = np.atleast_1d(np.asarray(requests_per_s, dtype=float)).ravel()
    runs = [
        simulate(
            engine,
            requests_per_s=float(r),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            n_requests=n_requests,
            seed=seed + i,
            warmup=warmup,
        )
        for i, r in enumerate(lam)
    ]
    return {
        "requests_per_s": lam,
        "utilisation": np.array([r.utilisation for r in runs]),
        "saturated": np.array([r.saturated for r in runs]),
        **{k: np.array([r.quantiles[k] for r in runs]) for k in ("ttft_s", "tpot_s", "e2e_s")},
    }
