"""The serving model: what a benchmark of an engine with continuous batching reports, from the core physics.

For each benchmark run (prompt length P, output length O, and either a concurrency C or a request rate λ) it
predicts the four quantities `vllm bench serve` writes: mean TPOT, mean TTFT, output throughput and request
throughput. Every step time comes from `physics.latency.explicit_step_time` on the run's explicit layout
(tensor parallelism `tp`, no pipeline, 1D), so the calibration terms of `HardwareSpec` act here exactly as
they act in frontiers and sweeps. All functions are vectorised over runs (numpy arrays).

Steps
-----
A decode step of b sequences at mean context c̄ = P + (O − 1)/2 (the token-weighted mean context of a
fixed-length request) is `explicit_step_time(batch=b, seq_len=1, context=c̄)`. A prefill of n prompts is
`explicit_step_time(batch=n, seq_len=P, context=0)` with the prefill FLOP rate (peak ×
`prefill_flop_utilization`) and without the embedding/unembedding FLOP (an engine computes logits for a
prompt's last position only: `physics.prefill.without_embedding_flop`). A *mixed* step (continuous batching:
decodes and prefill chunks in one forward pass) pays the fixed terms once — launches, per-step and per-layer
overhead, collective latency — reads the weights once, and adds the rest:

    t_mix = launch + max(lat_d, lat_p) + bw_d + bw_p + roofline(mem_d + mem_p − w₀, comp_d + comp_p)

where w₀ is the memory time of a zero-token step (the weights), comp_p is at the prefill FLOP rate, and
roofline(m, c) = max(m, c) + (1 − overlap)·min(m, c) with the spec's `memory_compute_overlap` (1: the max, as
every step of the core physics). With no decodes this is the prefill step, with no prefill the decode step.

Closed loop (`--max-concurrency C`, every client sends its next request as soon as one completes)
-------------------------------------------------------------------------------------------------
The client starts C requests at once and, with fixed lengths (`--ignore-eos`, a random dataset), they finish
together; the engine's token budget per step B (`max_num_batched_tokens`, vLLM's chunked-prefill budget)
splits the C prompts into g = clip(⌈C·P/B⌉, 1, C) prefill *cohorts* of n = C/g requests that stay staggered
(the first cohort starts decoding while the next one prefills). In steady state each cohort cycles through

1. the client/server path of a new request (HTTP, tokenisation, scheduling: `request_overhead_s`, r₀),
2. a wait for its prefill step: none when g = 1 (the engine is idle while the whole batch is away);
   otherwise the cohorts queue for the prefill budget, a finite-source queue (g cohorts cycling between
   "thinking" — r₀ plus their decode phase, Z = r₀ + (O − 1)·TPOT — and one server whose deterministic
   service is a prefill step t_p). Its mean response time R comes from mean-value analysis over n = 1..g
   with the residual-service correction for a deterministic server (Reiser's approximate MVA for FCFS
   servers): R(n) = t_p·(1 + Q(n−1) − U(n−1)) + (t_p/2)·U(n−1), X(n) = n/(Z + R(n)), Q(n) = X(n)·R(n),
   U(n) = X(n)·t_p; the wait is W = R(g) − t_p, plus half a decode step when the server is idle (1 − U);
3. its prefill step: n prompts with the other C − n sequences decoding (t_p, `t_mix` above; ⌈n·P/B⌉ chunks
   when a single prompt exceeds the budget);
4. O − 1 decode steps with all C sequences decoding (t_d), of which min(g − 1, O − 1) are the other cohorts'
   prefill steps (t_p).

With one cohort (g = 1) the engine is idle when the batch comes back and the client sends the C requests one
after another, so the first one to arrive is prefilled alone at once (t_p1) and the other C − 1 together in
the next step (t_pr, a mixed step with the first one's first decode): TTFT = r₀ + t_p1 + (C − 1)/C·t_pr, and
TPOT gains (t_pr − t_d)/(C·(O − 1)). Otherwise, with no free constant:

    TTFT = r₀ + W + t_p
    TPOT = t_d + min(g − 1, O − 1)/(O − 1) · (t_p − t_d)
    E2E  = TTFT + (O − 1)·TPOT,   request throughput X = C / E2E (Little's law on the C slots),
    output throughput = X·O.

g = 1 is lockstep (static batching with a refill); g = C is a fully staggered batch (every decode step of a
request carries (C − 1)/(O − 1) other prompts' prefills on average).

Open loop (Poisson arrivals at rate λ)
-------------------------------------
By Little's law the decode batch is b = λ·(O − 1)·t̄ and each step carries k = λ·t̄ prompts on average, so the
mean step t̄ solves t̄ = t_mix(b(t̄), k(t̄)); it is found by bisection (t_mix is increasing in t̄; no solution
below the bound means the engine cannot keep up: TPOT = TTFT = inf). TPOT = t̄. A new request (Poisson
arrivals see time averages) waits the residual of the step in progress, t̄/2, then queues for the prefill token
budget, an M/D/1 queue whose server is the budget left by the decodes (B − b tokens per step): service
s = P·t̄/(B − b), utilization ρ = λ·s, Pollaczek–Khinchine wait W_q = ρ·s/(2(1 − ρ)); its prefill then rides
one step with the decodes and the k other prompts:

    TTFT = r₀ + t̄/2 + W_q + t_mix(b, k + 1).

Throughputs are λ·O and λ (when stable).

Static batch (offline `gptSessionBenchmark`-style runs: B prompts prefilled together, decoded to the end)
-------------------------------------------------------------------------------------------------------
The closed-loop formulas with g = 1, r₀ = 0 and no token budget: TTFT = prefill of the C prompts,
TPOT = t_d(C), output throughput = C·O / (TTFT + (O − 1)·TPOT).

Client view. `first_token_delay_s` (d, see `EngineConfig`) moves time from TPOT to TTFT as a client short of
CPU sees it: TTFT' = TTFT + d, TPOT' = TPOT − d/(O − 1), E2E unchanged (0 by default and for static batches).

Approximations (stated, not hidden): expected values are taken inside the step-time max (Jensen); decode
context is its mean; the cohort count follows the token budget (noise can split cohorts further); the
prefill queue uses approximate (residual-corrected) MVA; requests have the mean lengths. Unlimited concurrency
(C = inf, e.g. `--request-rate inf` without `--max-concurrency`) is capped at `max_num_seqs`, at the number of
prompts sent, and at the KV-cache capacity.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from infereco.errors import SpecError
from infereco.physics.latency import explicit_step_time, roofline_s
from infereco.physics.prefill import without_embedding_flop
from infereco.physics.requests import DeploymentArrays
from infereco.physics.structs import HardwareArrays
from infereco.specs.hardware import HardwareSpec
from infereco.specs.model import ModelSpec
from infereco.specs.terms import CALIBRATION_TERMS, ENGINE_TERMS, HARDWARE_TERMS, TERMS

__all__ = [
    "CALIBRATION_PARAMS",
    "EngineConfig",
    "MultiServingModel",
    "ServingModel",
    "ServingPrediction",
    "ServingRuns",
    "predict_runs",
]

# Hardware-spec calibration fields, plus the serving model's own per-request terms (names, units and ranges:
# `infereco.specs.terms`).
HARDWARE_PARAMS = tuple(t.name for t in HARDWARE_TERMS)
SERVING_PARAMS = tuple(t.name for t in ENGINE_TERMS)
CALIBRATION_PARAMS = tuple(t.name for t in CALIBRATION_TERMS)


@dataclasses.dataclass(frozen=True)
class EngineConfig:
    """Engine settings the serving model needs (not fitted).

    - `max_num_batched_tokens`: tokens one step may carry (vLLM's chunked-prefill budget; vLLM 0.32 defaults:
      2048 for the OpenAI server on CPU, 8192 on H100/H200-class GPUs, 16384 with ≥ 160 GB; None = no budget).
    - `max_num_seqs`: sequences one step may carry (vLLM: 128 on CPU, 1024 on H100/H200; 256 elsewhere).
    - `request_overhead_s`: time a request spends outside the engine's steps before its prefill (client,
      HTTP, tokenisation, scheduling): a serving term, fitted with the hardware terms when TTFT is measured.
    - `first_token_delay_s`: time between the engine emitting a request's first token and the client seeing
      it, made up later by tokens arriving in a burst (an API server or client short of CPU coalesces streamed
      chunks; a median inter-token latency of ~0 in a result file is the sign). It moves time from TPOT to
      TTFT and leaves the end-to-end latency unchanged: TTFT' = TTFT + d, TPOT' = TPOT − d/(O − 1) (floored at
      zero: at most all tokens arrive at once). A serving term; 0 for a client that keeps up.
    - `gpu_memory_utilization`: fraction of accelerator memory for weights + KV (caps unlimited concurrency).
    - `prefill_logits_last_only`: True drops the embedding/unembedding FLOP from prefill (logits of the last
      position only), as engines do.
    """

    max_num_batched_tokens: float | None = 8192.0
    max_num_seqs: float = 1024.0
    request_overhead_s: float = 0.0
    first_token_delay_s: float = 0.0
    gpu_memory_utilization: float = 0.9
    prefill_logits_last_only: bool = True

    def __post_init__(self):
        b = self.max_num_batched_tokens
        if b is not None and not (b >= 1 and math.isfinite(b)):
            raise SpecError(
                f"EngineConfig.max_num_batched_tokens = {b!r}: expected a token count ≥ 1 or None"
            )
        if not self.max_num_seqs >= 1:
            raise SpecError(f"EngineConfig.max_num_seqs = {self.max_num_seqs!r}: expected ≥ 1")
        for name in SERVING_PARAMS:
            v = getattr(self, name)
            if not TERMS[name].accepts(v):
                raise SpecError(f"EngineConfig.{name} = {v!r}: expected {TERMS[name].expected}")
        if not 0 < self.gpu_memory_utilization <= 1:
            raise SpecError(
                f"EngineConfig.gpu_memory_utilization = {self.gpu_memory_utilization!r}: "
                "expected a fraction in (0, 1]"
            )

    @classmethod
    def vllm_cpu(cls, **changes: Any) -> EngineConfig:
        """vLLM 0.32's CPU OpenAI-server defaults (engine/arg_utils.py): 2048 batched tokens, 128
        sequences."""
        return cls(**{"max_num_batched_tokens": 2048.0, "max_num_seqs": 128.0, **changes})

    @classmethod
    def vllm_gpu(cls, **changes: Any) -> EngineConfig:
        """vLLM 0.32's OpenAI-server defaults on an H100/H200-class GPU: 8192 batched tokens, 1024
        sequences."""
        return cls(**{"max_num_batched_tokens": 8192.0, "max_num_seqs": 1024.0, **changes})

    @classmethod
    def static_batch(cls, **changes: Any) -> EngineConfig:
        """Offline static batching (no token budget, no request path)."""
        return cls(**{"max_num_batched_tokens": None, "max_num_seqs": 1e9, **changes})

    def replace(self, **changes: Any) -> EngineConfig:
        return dataclasses.replace(self, **changes)


# --------------------------------------------------------------------------------------------- runs
@dataclasses.dataclass(frozen=True)
class ServingRuns:
    """Benchmark runs as arrays of one length n (what to predict, and optionally what was measured).

    `concurrency` inf = unlimited; `request_rate` inf = closed loop (all at once, limited by `concurrency`);
    a finite rate = open loop (Poisson). `static` marks offline static-batch runs (batch = `concurrency`).
    `num_prompts` caps unlimited concurrency. Measured arrays are nan where not reported.
    """

    input_len: np.ndarray
    output_len: np.ndarray
    concurrency: np.ndarray
    request_rate: np.ndarray
    tp: np.ndarray
    static: np.ndarray
    num_prompts: np.ndarray
    measured: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    labels: tuple[str, ...] = ()
    models: tuple[
        str, ...
    ] = ()  # per-run model key (for calibrations over several models); "" = the one model
    # (label, why) for measured values left out (set to nan), e.g. TTFT/TPOT of runs that streamed in bursts.
    excluded: tuple[tuple[str, str], ...] = ()

    def __len__(self) -> int:
        return int(self.input_len.size)

    @classmethod
    def make(
        cls,
        input_len,
        output_len,
        *,
        concurrency=math.inf,
        request_rate=math.inf,
        tp=1,
        static=False,
        num_prompts=math.inf,
        measured: Mapping[str, Any] | None = None,
        labels: Sequence[str] | None = None,
        models: Sequence[str] | None = None,
    ) -> ServingRuns:
        """Broadcast scalars/arrays into runs; checks values (SpecError naming the argument)."""
        arrs = np.broadcast_arrays(
            *(
                np.atleast_1d(np.asarray(a, dtype=float))
                for a in (input_len, output_len, concurrency, request_rate, tp, num_prompts)
            )
        )
        arrs = [np.array(a, dtype=float).ravel() for a in arrs]
        p, o, c, lam, t, npr = arrs
        st = np.broadcast_to(np.atleast_1d(np.asarray(static, dtype=bool)), p.shape).ravel().copy()
        for name, a, ok in (
            ("input_len", p, np.isfinite(p) & (p >= 1)),
            ("output_len", o, np.isfinite(o) & (o >= 1)),
            ("concurrency", c, c >= 1),
            ("request_rate", lam, lam > 0),
            ("tp", t, np.isfinite(t) & (t >= 1) & (t == np.round(t))),
            ("num_prompts", npr, npr >= 1),
        ):
            if not np.all(ok):
                bad = a[~ok][0]
                raise SpecError(f"serving runs: {name} = {bad!r}: out of range")
        if np.any(st & np.isinf(c)):
            raise SpecError("serving runs: a static batch needs a finite batch size (concurrency)")
        meas = {
            k: np.broadcast_to(np.asarray(v, dtype=float), p.shape).copy()
            for k, v in (measured or {}).items()
        }
        lab = tuple(labels) if labels is not None else tuple(f"run {i}" for i in range(p.size))
        if len(lab) != p.size:
            raise SpecError(f"serving runs: {len(lab)} labels for {p.size} runs")
        mod = tuple(str(x) for x in models) if models is not None else ("",) * p.size
        if len(mod) != p.size:
            raise SpecError(f"serving runs: {len(mod)} model keys for {p.size} runs")
        return cls(p, o, c, lam, t, st, npr, meas, lab, mod)

    def subset(self, mask) -> ServingRuns:
        idx = np.flatnonzero(np.asarray(mask)) if np.asarray(mask).dtype == bool else np.asarray(mask, int)
        return ServingRuns(
            self.input_len[idx],
            self.output_len[idx],
            self.concurrency[idx],
            self.request_rate[idx],
            self.tp[idx],
            self.static[idx],
            self.num_prompts[idx],
            {k: v[idx] for k, v in self.measured.items()},
            tuple(self.labels[i] for i in idx),
            tuple(self.models[i] for i in idx) if self.models else (),
            self._excluded_among(idx),
        )

    def _excluded_among(self, idx) -> tuple[tuple[str, str], ...]:
        keep = {self.labels[i] for i in idx}
        return tuple(e for e in self.excluded if e[0] in keep)


# --------------------------------------------------------------------------------------------- predictions
class ServingPrediction(NamedTuple):
    """Predicted benchmark quantities per run (arrays; SI units)."""

    tpot_s: np.ndarray
    ttft_s: np.ndarray
    output_throughput_tokens_per_s: np.ndarray
    request_throughput_per_s: np.ndarray
    e2e_latency_s: np.ndarray
    decode_batch: np.ndarray  # sequences decoding in a decode step
    cohorts: np.ndarray  # closed loop: prefill cohorts g; open loop: nan
    decode_step_s: np.ndarray  # t_d (closed/static) or mean step t̄ (open)
    prefill_step_s: np.ndarray  # time of the step(s) that carry a request's prefill
    wait_s: np.ndarray  # TTFT part spent waiting (step residual + budget queue), excluding r₀

    def quantity(self, name: str) -> np.ndarray:
        return np.asarray(getattr(self, name), dtype=float)

    def to_records(self) -> list[dict[str, float]]:
        return [{k: float(v[i]) for k, v in self._asdict().items()} for i in range(self.tpot_s.size)]


QUANTITIES = ("tpot_s", "ttft_s", "output_throughput_tokens_per_s", "request_throughput_per_s")


def _kv_replication(model: ModelSpec, g: float) -> float:
    """KV-head copies under attention TP over g ranks (as the discrete search counts them; 1 when
    compatible)."""
    if model.is_mla:
        return float(g)
    kv = model.n_kv_heads
    return float(g) / kv if g > kv and g % kv == 0 else 1.0


# A token or two over the budget (mean prompt lengths like 512.03) chunks one prompt, not a whole cohort.
_BUDGET_SLACK = 1.0 - 1e-2


class ServingModel:
    """A model on a base hardware spec, ready to predict runs under any values of the calibration terms.

    Built from a resolved `DeploymentArrays` (model, hardware, conventions and their arrays under a preset);
    the layers above resolve catalog ids, specs and files (`infereco.calibration.serving_model`).

    `predict(runs, params)` evaluates the closed forms of this module's docstring; `params` (a mapping of
    `CALIBRATION_PARAMS` names) overrides the hardware spec's calibration fields and the engine's request
    overhead without re-validating specs, which keeps fitting fast. `hardware_spec(params)` returns the
    validated `HardwareSpec` with those values.
    """

    def __init__(self, deployment: DeploymentArrays, *, engine: EngineConfig | None = None):
        if not isinstance(deployment, DeploymentArrays):
            raise SpecError(
                f"ServingModel: expected a resolved DeploymentArrays (infereco.physics.requests), got "
                f"{type(deployment).__name__}"
            )
        dep = deployment
        self.model: ModelSpec = dep.model
        self.hardware: HardwareSpec = dep.hardware
        self.engine = engine or EngineConfig()
        self.conventions = dep.conventions
        self.arrays = dep.arrays
        self.prefill_arrays = (
            without_embedding_flop(dep.arrays) if self.engine.prefill_logits_last_only else dep.arrays
        )
        self._base = dep.hw_arrays
        self.parallel_attention = bool(dep.model.parallel_attention)
        hw = self.hardware
        self.defaults: dict[str, float] = {
            "bandwidth_utilization": float(hw.bandwidth_utilization),
            "flop_utilization": float(hw.flop_utilization),
            "prefill_flop_utilization": float(
                hw.prefill_flop_utilization
                if hw.prefill_flop_utilization is not None
                else hw.flop_utilization
            ),
            # nan = unset: KV reads run at `bandwidth_utilization` (tied to it, whatever value it takes).
            "attention_bandwidth_utilization": (
                math.nan
                if hw.attention_bandwidth_utilization is None
                else float(hw.attention_bandwidth_utilization)
            ),
            "memory_compute_overlap": float(hw.memory_compute_overlap),
            "step_overhead_s": float(hw.step_overhead_s),
            "layer_overhead_s": float(hw.layer_overhead_s),
            "collective_latency_scale": float(hw.collective_latency_scale),
            "request_overhead_s": float(self.engine.request_overhead_s),
            "first_token_delay_s": float(self.engine.first_token_delay_s),
        }

    # -- parameters -> arrays
    def params(self, params: Mapping[str, float] | None = None, *, check: bool = True) -> dict[str, float]:
        """The calibration terms: the defaults with `params` substituted (SpecError naming a bad name or
        value; `check=False` skips the range checks, for the fit's finite differences that step just past a
        bound)."""
        out = dict(self.defaults)
        for k, v in (params or {}).items():
            if k not in out:
                raise SpecError(
                    f"unknown calibration parameter {k!r}; known: {', '.join(CALIBRATION_PARAMS)}"
                )
            v = float(v)
            # nan is the one allowed "value" of the attention fraction: unset, tied to bandwidth_utilization.
            if (
                check
                and not TERMS[k].accepts(v)
                and not (k == "attention_bandwidth_utilization" and math.isnan(v))
            ):
                raise SpecError(
                    f"calibration parameter {k} = {v!r}: expected {TERMS[k].expected}"
                    + (
                        ", or nan for 'same as bandwidth_utilization'"
                        if k == "attention_bandwidth_utilization"
                        else ""
                    )
                )
            out[k] = v
        return out

    def _hw_arrays(self, p: Mapping[str, float]) -> tuple[HardwareArrays, HardwareArrays]:
        b = self._base
        peak_bw = float(self.hardware.hbm_bandwidth_bytes_per_s)
        common = {
            "hbm_bandwidth_bytes_per_s": peak_bw * p["bandwidth_utilization"],
            "step_overhead_s": p["step_overhead_s"],
            "layer_overhead_s": p["layer_overhead_s"],
            "collective_latency_scale": p["collective_latency_scale"],
            "memory_compute_overlap": p["memory_compute_overlap"],
        }
        attn = p["attention_bandwidth_utilization"]
        common["kv_read_time_scale"] = p["bandwidth_utilization"] / attn if math.isfinite(attn) else 1.0
        dec = dataclasses.replace(b, flop_per_s=b.peak_flop_per_s * p["flop_utilization"], **common)
        pre = dataclasses.replace(b, flop_per_s=b.peak_flop_per_s * p["prefill_flop_utilization"], **common)
        return dec, pre

    def hardware_spec(self, params: Mapping[str, float] | None = None, **changes: Any) -> HardwareSpec:
        """The validated hardware spec with the calibration fields set from `params` (request overhead
        aside)."""
        p = self.params(params)
        fields = {
            k: (None if k == "attention_bandwidth_utilization" and not math.isfinite(p[k]) else p[k])
            for k in HARDWARE_PARAMS
        }
        return self.hardware.replace(**fields, **changes)

    # -- step times
    def _step(self, hw: HardwareArrays, tp, kv_rep, batch, seq_len, context, prefill: bool = False):
        m = self.prefill_arrays if prefill else self.arrays
        one = np.ones_like(np.asarray(tp, dtype=float))
        return explicit_step_time(
            m,
            hw,
            self.conventions,
            np.asarray(tp, float),
            one,
            one,
            0.0 * one,
            np.asarray(batch, float),
            np.asarray(seq_len, float),
            np.asarray(context, float),
            np.asarray(kv_rep, float),
            one,
            self.parallel_attention,
            xp=np,
        )

    def _budget(self) -> float:
        B = self.engine.max_num_batched_tokens
        return math.inf if B is None else float(B)

    @staticmethod
    def _chunks(n_prompts, P, budget):
        """Steps that n prompts of P tokens need under the token budget (1 without one)."""
        return np.where(
            np.isfinite(budget), np.maximum(np.ceil(_BUDGET_SLACK * n_prompts * P / budget), 1.0), 1.0
        )

    def _prefill_step(self, hw_d, hw_p, tp, kv, w0, n_prompts, decoding, P, ctx, budget):
        """Seconds of the step(s) that prefill `n_prompts` prompts of P tokens while `decoding` sequences at
        context `ctx` decode: ⌈n·P/budget⌉ mixed steps, each a chunk of the prompts (causal context grows
        chunk by chunk)."""
        chunks = self._chunks(n_prompts, P, budget)
        dec = self._step(hw_d, tp, kv, np.maximum(decoding, 1e-12), 1.0, ctx)
        pre = self._step(hw_p, tp, kv, n_prompts, P / chunks, P / 2.0 * (1.0 - 1.0 / chunks), prefill=True)
        return chunks * self._mixed(dec, pre, w0, hw_d)

    @staticmethod
    def _mixed(dec, pre, w0, hw):
        mem = np.maximum(dec.memory_s + pre.memory_s - w0, np.maximum(dec.memory_s, pre.memory_s))
        comp = dec.compute_s + pre.compute_s
        return (
            dec.launch_s
            + np.maximum(dec.network_latency_s, pre.network_latency_s)
            + dec.network_bandwidth_s
            + pre.network_bandwidth_s
            + roofline_s(mem, comp, hw, xp=np)
        )

    def kv_capacity_seqs(self, runs: ServingRuns) -> np.ndarray:
        """Sequences of P + O tokens whose KV cache fits beside the weights (engine memory fraction)."""
        m = self.model
        rep = np.array([_kv_replication(m, t) for t in runs.tp])
        free = (
            runs.tp * self.hardware.hbm_capacity_bytes * self.engine.gpu_memory_utilization
            - m.weight_memory_bytes
        )
        per_seq = m.kv_cache_bytes_per_sequence(runs.input_len + runs.output_len) * rep
        return np.maximum(np.floor(free / per_seq), 0.0)

    # -- the model
    def predict(
        self, runs: ServingRuns, params: Mapping[str, float] | None = None, *, check: bool = True
    ) -> ServingPrediction:
        """Predicted TPOT, TTFT, throughputs for each run (closed/open/static as the runs say)."""
        p = self.params(params, check=check)
        hw_d, hw_p = self._hw_arrays(p)
        r0 = p["request_overhead_s"]
        n = len(runs)
        out_len, tp = runs.output_len, runs.tp
        kv = np.array([_kv_replication(self.model, t) for t in tp])
        open_loop = np.isfinite(runs.request_rate) & ~runs.static
        out = {k: np.full(n, np.nan) for k in ServingPrediction._fields}
        # Weights-only memory time (a vanishing batch: 0 tokens would make a dense FFN's "experts hit" 0^0 =
        # 1 - 1).
        w0 = self._step(hw_d, tp, kv, 1e-12, 1.0, 0.0).memory_s
        closed = ~open_loop
        if closed.any():
            self._closed(runs, closed, hw_d, hw_p, kv, w0, r0, out)
        if open_loop.any():
            self._open(runs, open_loop, hw_d, hw_p, kv, w0, r0, out)
        d = np.where(runs.static, 0.0, p["first_token_delay_s"])
        if np.any(d > 0):
            # Client-side view: the first token arrives d later, the rest catch up (E2E unchanged).
            steps = np.maximum(out_len - 1.0, 1.0)
            dec = np.maximum(out["tpot_s"] * steps - d, 1e-3 * out["tpot_s"] * steps)
            shift = out["tpot_s"] * steps - dec
            out["tpot_s"] = np.where(out_len > 1.0, dec / steps, out["tpot_s"])
            out["ttft_s"] = out["ttft_s"] + np.where(out_len > 1.0, shift, 0.0)
        return ServingPrediction(**out)

    def _closed(self, runs, sel, hw_d, hw_p, kv_all, w0_all, r0, out):
        idx = np.flatnonzero(sel)
        P, out_len, tp = runs.input_len[idx], runs.output_len[idx], runs.tp[idx]
        kv, w0, static = kv_all[idx], w0_all[idx], runs.static[idx]
        C = runs.concurrency[idx]
        cap = np.minimum(
            np.minimum(self.engine.max_num_seqs, runs.num_prompts[idx]),
            np.maximum(self.kv_capacity_seqs(runs.subset(idx)), 1.0),
        )
        C = np.where(
            np.isinf(C),
            cap,
            np.where(static, C, np.minimum(C, np.minimum(self.engine.max_num_seqs, runs.num_prompts[idx]))),
        )
        budget = np.where(static, np.inf, self._budget())
        g = np.clip(np.ceil(_BUDGET_SLACK * C * P / budget), 1.0, C)
        n_coh = C / g
        chunks = self._chunks(n_coh, P, budget)
        ctx = P + (out_len - 1.0) / 2.0
        t_d = self._step(hw_d, tp, kv, C, 1.0, ctx).latency_s
        t_p = self._prefill_step(hw_d, hw_p, tp, kv, w0, n_coh, C - n_coh, P, ctx, budget)
        other = np.minimum((g - 1.0) * chunks, out_len - 1.0)
        tpot = t_d + other / np.maximum(out_len - 1.0, 1.0) * (t_p / chunks - t_d)
        tpot = np.where(out_len > 1.0, tpot, t_d)
        rr = np.where(static, 0.0, r0)
        wait = self._cohort_wait(g, t_p, rr + (out_len - 1.0) * tpot, t_d)
        ttft = rr + wait + t_p
        # One cohort (g = 1): the engine is idle when the batch comes back, and the client sends the C
        # requests one after another, so the first to arrive is prefilled alone at once and the other C − 1
        # together in the next step, during which the first one decodes its first token.
        lone = ~static & (g == 1.0) & (C > 1.0)
        if lone.any():
            t_p1 = self._prefill_step(hw_d, hw_p, tp, kv, w0, 1.0, 0.0, P, ctx, budget)
            t_pr = self._prefill_step(hw_d, hw_p, tp, kv, w0, np.maximum(C - 1.0, 1.0), 1.0, P, ctx, budget)
            ttft = np.where(lone, rr + t_p1 + (C - 1.0) / C * t_pr, ttft)
            # The first request's first decode step is the others' prefill step.
            tpot = np.where(
                lone & (out_len > 1.0), tpot + (t_pr - t_d) / (C * np.maximum(out_len - 1.0, 1.0)), tpot
            )
            t_p = np.where(lone, t_p1, t_p)
        e2e = ttft + (out_len - 1.0) * tpot
        x = C / e2e
        for k, v in (
            ("tpot_s", tpot),
            ("ttft_s", ttft),
            ("output_throughput_tokens_per_s", x * out_len),
            ("request_throughput_per_s", x),
            ("e2e_latency_s", e2e),
            ("decode_batch", C),
            ("cohorts", g),
            ("decode_step_s", t_d),
            ("prefill_step_s", t_p),
            ("wait_s", wait),
        ):
            out[k][idx] = v

    @staticmethod
    def _cohort_wait(g, service, think, t_d):
        """Mean wait of a cohort for the prefill step (see the module docstring): approximate MVA of g cohorts
        cycling between a delay station (`think` = r₀ + decode phase) and one FCFS server with deterministic
        service (`service` = the prefill step), with the residual-service correction for a customer found in
        service (S/2 for a deterministic S); plus half a decode step when the server is found idle."""
        g = np.asarray(g, float)
        q = np.zeros_like(g)
        u = np.zeros_like(g)
        r = np.array(service, dtype=float, copy=True)
        for n in range(1, int(np.max(g)) + 1):
            live = n <= g
            r_n = service * (1.0 + q - u) + 0.5 * service * u
            x_n = n / (think + r_n)
            r = np.where(live, r_n, r)
            q = np.where(live, x_n * r_n, q)
            u = np.where(live, np.minimum(x_n * service, 1.0), u)
        idle = np.clip(1.0 - u, 0.0, 1.0)  # share of time no cohort is prefilling
        return np.where(g > 1.0, (r - service) + idle * t_d / 2.0, 0.0)

    def _open(self, runs, sel, hw_d, hw_p, kv_all, w0_all, r0, out):
        idx = np.flatnonzero(sel)
        P, out_len, tp, lam = runs.input_len[idx], runs.output_len[idx], runs.tp[idx], runs.request_rate[idx]
        kv, w0 = kv_all[idx], w0_all[idx]
        ctx = P + (out_len - 1.0) / 2.0
        budget = self._budget()

        def step_at(t, extra=0.0):
            b = lam * (out_len - 1.0) * t
            k = lam * t + extra
            return self._mixed(
                self._step(hw_d, tp, kv, b, 1.0, ctx),
                self._step(hw_p, tp, kv, k, P, 0.0, prefill=True),
                w0,
                hw_d,
            )

        # Bracket the fixed point t = f(t): f(0) > 0; grow the upper end until f(hi) < hi (or give up:
        # unstable).
        lo = np.zeros(idx.size)
        hi = np.maximum(step_at(lo) * 2.0, 1e-9)
        stable = np.zeros(idx.size, dtype=bool)
        for _ in range(80):
            ok = step_at(hi) < hi
            stable |= ok
            if stable.all():
                break
            hi = np.where(stable, hi, hi * 2.0)
        hi = np.where(stable, hi, 1.0)
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            above = step_at(mid) > mid
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        t = np.where(stable, hi, np.inf)
        b = np.where(stable, lam * (out_len - 1.0) * hi, np.inf)
        room = budget - b
        s = np.where(stable & (room > 0), P * hi / np.where(room > 0, room, 1.0), np.inf)
        rho = lam * s
        stable &= rho < 1.0
        wq = np.where(stable, rho * s / (2.0 * np.maximum(1.0 - rho, 1e-300)), np.inf)
        t_own = np.where(stable, step_at(hi, extra=1.0), np.inf)
        ttft = r0 + t / 2.0 + wq + t_own
        tpot = np.where(stable, t, np.inf)
        ttft = np.where(stable, ttft, np.inf)
        e2e = ttft + (out_len - 1.0) * tpot
        for k, v in (
            ("tpot_s", tpot),
            ("ttft_s", ttft),
            ("output_throughput_tokens_per_s", np.where(stable, lam * out_len, np.nan)),
            ("request_throughput_per_s", np.where(stable, lam, np.nan)),
            ("e2e_latency_s", e2e),
            ("decode_batch", b),
            ("cohorts", np.full(idx.size, np.nan)),
            ("decode_step_s", t),
            ("prefill_step_s", t_own),
            ("wait_s", t / 2.0 + wq),
        ):
            out[k][idx] = v


class MultiServingModel:
    """Several models on one hardware spec sharing the calibration terms: runs are dispatched by `runs.models`
    (the key of each run's model; a single-model calibration uses the key "")."""

    def __init__(self, models: Mapping[str, ServingModel]):
        if not models:
            raise SpecError("MultiServingModel: no models")
        self.members = dict(models)
        first = next(iter(self.members.values()))
        self.model, self.hardware, self.engine = first.model, first.hardware, first.engine
        self.defaults = dict(first.defaults)

    def params(self, params=None, *, check=True):
        return next(iter(self.members.values())).params(params, check=check)

    def hardware_spec(self, params=None, **changes):
        return next(iter(self.members.values())).hardware_spec(params, **changes)

    def member(self, key: str) -> ServingModel:
        if key in self.members:
            return self.members[key]
        if len(self.members) == 1:
            return next(iter(self.members.values()))
        raise SpecError(f"no model for runs of {key!r}; calibrated models: {', '.join(self.members)}")

    def predict(self, runs: ServingRuns, params=None, *, check: bool = True) -> ServingPrediction:
        keys = runs.models or ("",) * len(runs)
        uniq = list(dict.fromkeys(keys))
        if len(uniq) == 1:
            return self.member(uniq[0]).predict(runs, params, check=check)
        out = {k: np.full(len(runs), np.nan) for k in ServingPrediction._fields}
        arr = np.array(keys, dtype=object)
        for key in uniq:
            idx = np.flatnonzero(arr == key)
            part = self.member(key).predict(runs.subset(idx), params, check=check)
            for k in ServingPrediction._fields:
                out[k][idx] = getattr(part, k)
        return ServingPrediction(**out)


def predict_runs(
    deployment: DeploymentArrays,
    *,
    input_len,
    output_len,
    concurrency=math.inf,
    request_rate=math.inf,
    tp=1,
    static=False,
    num_prompts=math.inf,
    engine: EngineConfig | None = None,
    params: Mapping[str, float] | None = None,
) -> ServingPrediction:
    """Predict mean TPOT, TTFT, output and request throughput of benchmark runs (arrays broadcast) of a
    resolved deployment (`infereco.physics.requests.DeploymentArrays`; `infereco.predict_serving` takes
    catalog ids).

    `concurrency` C (closed loop, `--max-concurrency`), or `request_rate` λ (open loop, Poisson);
    `static=True` for an offline static batch of C prompts. `params` overrides calibration terms (see
    `CALIBRATION_PARAMS`).
    """
    sm = ServingModel(deployment, engine=engine)
    runs = ServingRuns.make(
        input_len,
        output_len,
        concurrency=concurrency,
        request_rate=request_rate,
        tp=tp,
        static=static,
        num_prompts=num_prompts,
    )
    return sm.predict(runs, params)
