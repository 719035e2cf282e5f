"""Predict measured serving runs of the fleet schema (TTFT and TPOT of real deployments) from the physics.

A row (`infereco.calibration.readers.fleet.FleetRun`) names a model, a system, an engine, requested lengths,
a closed-loop concurrency and each worker pool's layout. This module resolves each row to a model spec, a
hardware spec and explicit layouts, and predicts mean TTFT and TPOT with the serving model below. Rows it
cannot predict get a status instead of a number: `unsupported: <reason>` (the model, system or layout is
not modelled) or `infeasible: <reason>` (the layout cannot hold the model).

Resolution
----------
- model: `model_path` looked up as `<dir>/<org>--<name>_config.json` in each `configs` folder, else the
  catalog (by id or alias); a quantized variant without a file of its own (`nvidia/Llama-3.1-8B-Instruct-FP8`)
  is read as its base model (the id without the quantization suffix) at the row's precision.
- precision: the row's `gemm_quant_mode` / `moe_quant_mode` / `precision` (fp8, fp8_block, nvfp4 / fp4,
  int4, bf16) set the weight bits and the GEMM operand bits (FP8 and FP4 GEMMs run at the 8- and 4-bit
  rates, INT4 weight-only at 16-bit); blank = the checkpoint's own. The KV cache is FP8 wherever the GEMMs
  are FP8 or FP4 (what TensorRT-LLM, SGLang and vLLM recipes for these runs set), else 16-bit.
- system: the catalog (`h100_sxm` → h100-sxm, `b200_sxm` → b200, `gb200` → gb200-nvl72, ...).
- layout (one worker): G = tp × attention_dp GPUs per pipeline stage; attention is tensor-parallel over `tp`
  within each of `attention_dp` data-parallel ranks; MoE experts are tensor-parallel over `moe_tp` and
  expert-parallel over `moe_ep` (moe_tp × moe_ep = G). Blank attention_dp = 1; blank MoE degrees are
  inferred from the other (or moe_tp = G).

Serving model (one worker, closed loop of C clients, lengths uniform on [0.8·L, L])
-----------------------------------------------------------------------------------
Means P̄ = 0.9·isl, Ō = 0.9·osl; the decode context is c̄ = P̄ + (Ō − 1)/2. The engine holds
b = min(C, KV capacity, max sequences) requests; the other C − b wait for a slot. The physics is reduced to
a step-time law (decode step t_d at b; a step carrying n prefill tokens costs t_d + t_x + c·n; a chunk
alone) and `closed_loop_steady` solves the continuous-batching loop with chunked prefill (budget B = 8192
tokens): each decode step also carries the prefill of the requests that start (λ_o·t per step, λ = b/E2E),
so TPOT = t = (t_d + q·t_x)/(1 − c·λ_o·P̄); TTFT = r₀ + half a step + the M/D/1 wait for the prefill budget
+ its own ⌈P̄/B⌉ chunks, plus the first wave's queue (all C clients start at once, one of ten waves) and
(C − b)/λ for a slot. `tests/test_calibration_fleet_closed_loop.py` checks it against a discrete-event
simulation of the engine.

Disaggregated rows: the decode pool runs b_d = decode_batch × attention_dp sequences per worker (or, when
the row does not say, C spread over as many decode workers as needed to hold C: stated in the status);
TPOT = its decode step. The prefill pool (`prefill_num_workers` workers, else sized to the decode pool's
demand: stated) batches the prompts that fit its token budget on each DP rank; it is an M/D/c queue served
at the throughput the decode pool sustains (`disagg_closed_loop`: λ·cycle(λ) = C); TTFT = r₀ (request +
disaggregated hand-off) + the wait + its prefill + the KV transfer of its prompt's cache (inter-node links,
NVLink inside an NVL72 rack) + one decode step + the first wave's queue.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from infereco.calibration.readers.fleet import FleetRun, FleetRuns, Pool, load_fleet_runs
from infereco.errors import InferecoError, SpecError
from infereco.physics.latency import explicit_step_time, roofline_s
from infereco.physics.prefill import without_embedding_flop
from infereco.physics.structs import hardware_arrays, model_arrays
from infereco.specs.catalog import load_hardware, load_model, model_id_by_repo_name
from infereco.specs.engines import get_engine
from infereco.specs.hardware import HardwareSpec
from infereco.specs.hf_config import load_hf_config
from infereco.specs.model import ModelSpec
from infereco.specs.presets import get_preset

__all__ = [
    "PREDICTION_COLUMNS",
    "FleetModel",
    "FleetPrediction",
    "ProfileTerms",
    "closed_loop_steady",
    "disagg_closed_loop",
    "erlang_c",
    "find_model",
    "generation",
    "predict_fleet",
]

PREDICTION_COLUMNS = (
    "predicted_ttft_ms",
    "predicted_tpot_ms",
    "predicted_ttft_ms_lo",
    "predicted_ttft_ms_hi",
    "predicted_tpot_ms_lo",
    "predicted_tpot_ms_hi",
    "status",
    "assumptions",
)
RANGE_MEAN = 0.9  # mean of U[0.8·L, L] / L
_QUANT_SUFFIX = re.compile(
    r"[-_](fp8|fp4|nvfp4|mxfp4|int4|int8|awq|gptq|w4a16|w8a8|fp8-dynamic|fp8-static)$", re.I
)
# Token budget per step and sequence cap per engine (defaults of the versions in the fleet data): TensorRT-LLM
# max_num_tokens 8192, max_batch_size 2048 (trtllm-serve); SGLang chunked_prefill_size 8192 (16384 on GPUs
# with ≥ 160 GB), max_running_requests from memory; vLLM max_num_batched_tokens 8192, max_num_seqs 1024.
_ENGINE_BUDGET = {"trtllm": 8192.0, "sglang": 8192.0, "vllm": 8192.0}
_ENGINE_MAX_SEQS = {"trtllm": 2048.0, "sglang": 4096.0, "vllm": 1024.0}
# Utilisation a disaggregated deployment's prefill pool is sized for where the row gives no worker count.
PREFILL_UTILISATION = 0.8
# Decode workers of a disaggregated pool, by (engine, DP attention), where the row gives no count: the median
# of the fleet rows that give it (TensorRT-LLM TEP pools 3–9 workers; SGLang and DP-attention pools 1–2).
_DECODE_WORKERS = {("trtllm", False): 4.0}


def fleet_engine(backend: str):
    """The memory rule of a fleet row's engine (`infereco.specs.engines`), on the driver-reported memory.

    TensorRT-LLM and vLLM: their default fractions (0.9). SGLang: its default `mem_fraction_static`
    heuristic with the chunked-prefill size the serving model assumes (`_ENGINE_BUDGET`, 8,192 tokens, as
    the InferenceX launch scripts set it) and SGLang's own CUDA-graph default. Other engines: vLLM's rule.

    >>> fleet_engine("sglang").chunked_prefill_size
    8192
    """
    key = backend if backend in ("vllm", "sglang", "trtllm") else "vllm"
    if key == "sglang":
        return get_engine(key, chunked_prefill_size=int(_ENGINE_BUDGET["sglang"]))
    return get_engine(key)


@dataclasses.dataclass(frozen=True)
class ProfileTerms:
    """The efficiency terms of one engine profile (what theory cannot know), with their physical meaning.

    - `weight_bandwidth_fraction`: achieved fraction of peak HBM bandwidth streaming weights;
    - `kv_bandwidth_fraction`: the same for attention reading the KV cache;
    - `decode_flop_fraction`, `prefill_flop_fraction`: achieved fraction of peak FLOP/s (GEMM operand
      precision) in decode and in prefill steps;
    - `collective_latency_scale`: multiplier on the modelled collective latency;
    - `step_overhead_s`: fixed time per engine step (scheduler, sampling, launches not modelled);
    - `layer_overhead_s`: fixed time per layer per step;
    - `request_overhead_s`: per-request time outside the engine's steps (HTTP, tokenisation, scheduling);
    - `disagg_overhead_s`: the further per-request time of disaggregated serving (routing to a prefill
      worker, KV-transfer setup and completion, admission on the decode worker);
    - `prefill_layer_overhead_s`: the further time per layer of a step that carries prefill (such steps
      run outside the decode CUDA graph: eager kernel launches, MoE routing's host syncs).
    The defaults are the ideal machine: every fraction 1, every overhead 0 (a lower bound on latency).
    `ProfileTerms.nominal()` is the uncalibrated theory: the typical values of well-tuned engines (the
    medians of the fit's priors): weights streamed at 80% of peak HBM bandwidth, KV at 60%, GEMMs at 50% of
    peak FLOP/s, collectives 1.5× their modelled latency, 1 ms per step, 10 µs per layer per step, 0.1 ms
    more per layer of a prefill-carrying step, 10 ms per request and 20 ms more per disaggregated
    request (the queues and the KV transfer are modelled, not folded into it). (The ideal machine left 26%
    of the fleet rows' TPOT more than 2× off; the nominal terms, 5%.)
    """

    weight_bandwidth_fraction: float = 1.0
    kv_bandwidth_fraction: float = 1.0
    decode_flop_fraction: float = 1.0
    prefill_flop_fraction: float = 1.0
    collective_latency_scale: float = 1.0
    step_overhead_s: float = 0.0
    layer_overhead_s: float = 0.0
    request_overhead_s: float = 0.0
    disagg_overhead_s: float = 0.0
    prefill_layer_overhead_s: float = 0.0

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **changes: float) -> ProfileTerms:
        return dataclasses.replace(self, **changes)

    @classmethod
    def nominal(cls) -> ProfileTerms:
        """The uncalibrated theory's terms (class docstring); the fit's prior medians."""
        return NOMINAL_TERMS


NOMINAL_TERMS = ProfileTerms(
    weight_bandwidth_fraction=0.8,
    kv_bandwidth_fraction=0.6,
    decode_flop_fraction=0.5,
    prefill_flop_fraction=0.5,
    collective_latency_scale=1.5,
    step_overhead_s=1e-3,
    layer_overhead_s=1e-5,
    request_overhead_s=1e-2,
    disagg_overhead_s=2e-2,
    prefill_layer_overhead_s=1e-4,
)


# ---------------------------------------------------------------------------------------------- resolution
def _config_name(model_path: str) -> str:
    return model_path.strip().replace("/", "--") + "_config.json"


def find_model(model_path: str, configs: Sequence[str | os.PathLike] = ()) -> tuple[ModelSpec, str]:
    """The model spec of a run's `model_path`, and how it was found (raises SpecError if nowhere).

    Looks for `<dir>/<org>--<name>_config.json` in each folder of `configs`, then the catalog; a quantized
    variant without a file of its own is read as its base model (the id without the quantization suffix).
    """
    tried = []
    for name in dict.fromkeys([model_path, _QUANT_SUFFIX.sub("", model_path)]):
        for d in configs:
            path = Path(d) / _config_name(name)
            tried.append(str(path))
            if path.is_file():
                return load_hf_config(path, name=name), f"config {path}"
        try:
            return load_model(name), f"catalog {name}"
        except InferecoError:
            tried.append(f"catalog id {name!r}")
        other = model_id_by_repo_name(name.rsplit("/", 1)[-1]) if "/" in name else None
        if other is not None:  # the same checkpoint name published under another organisation
            return load_model(other), f"catalog {other} (same name as {name!r})"
    raise SpecError(f"model {model_path!r}: not found (tried {', '.join(tried)})")


def _precision_bits(run: FleetRun, model: ModelSpec) -> tuple[int, int, int]:
    """(weight bits, GEMM operand bits, KV-cache bits) of a run, from its quantization columns."""
    modes = [m for m in (run.moe_quant_mode if model.n_experts > 1 else None, run.gemm_quant_mode) if m]
    mode = modes[0] if modes else (run.precision or "")
    mode = mode.lower()
    if mode in ("nvfp4", "fp4", "mxfp4", "w4a4"):
        return 4, 4, 8
    if mode in ("fp8", "fp8_block", "fp8-block", "w8a8"):
        return 8, 8, 8
    if mode in ("int4", "w4a16", "int4_awq", "awq", "gptq"):
        return 4, 16, 16
    if mode in ("bf16", "fp16", "float16", "bfloat16"):
        return 16, 16, 16
    if mode == "":
        return model.weight_bits, model.activation_bits, model.kv_cache_bits or model.activation_bits
    raise SpecError(f"quantization {mode!r}: expected one of fp8, fp8_block, nvfp4, fp4, mxfp4, int4, bf16")


@dataclasses.dataclass(frozen=True)
class _Layout:
    g: int  # GPUs per pipeline stage
    pp: int
    tp_attn: int
    attn_dp: int
    moe_tp: int
    moe_ep: int

    @property
    def n_gpu(self) -> int:
        return self.g * self.pp


def _layout(pool: Pool, model: ModelSpec, which: str) -> _Layout:
    if pool.tp is None:
        raise SpecError(f"{which}layout not given (no tp_size)")
    adp = pool.attention_dp or 1
    pp = pool.pp or 1
    g = pool.tp * adp
    moe_tp, moe_ep = pool.moe_tp, pool.moe_ep
    if model.n_experts <= 1:
        moe_tp, moe_ep = g, 1
    elif moe_tp is None and moe_ep is None:
        moe_tp, moe_ep = g, 1
    elif moe_tp is None:
        moe_tp = max(g // moe_ep, 1)
    elif moe_ep is None:
        moe_ep = max(g // moe_tp, 1)
    if moe_tp * moe_ep != g:
        raise SpecError(
            f"{which}moe_tp × moe_ep = {moe_tp} × {moe_ep} ≠ tp × attention_dp = {pool.tp} × {adp}: the MoE "
            "layout must use the stage's GPUs"
        )
    if model.n_experts > 1 and model.n_experts % moe_ep:
        raise SpecError(f"{which}moe_ep={moe_ep} does not divide the {model.n_experts} experts")
    if adp not in (1, g):
        raise SpecError(
            f"{which}attention_dp={adp} with tp={pool.tp}: partial attention data parallelism is not modelled"
        )
    return _Layout(g, pp, pool.tp, adp, moe_tp, moe_ep)


def _kv_replication(model: ModelSpec, tp_attn: int) -> float:
    """KV copies under attention TP (MLA latents are replicated on every TP rank; GQA heads beyond the KV
    head count are copied)."""
    if model.is_mla:
        return float(tp_attn)
    kv = model.n_kv_heads
    return tp_attn / kv if tp_attn > kv else 1.0


# ---------------------------------------------------------------------------------------------- the groups
@dataclasses.dataclass
class _Group:
    """Rows sharing a model, hardware and precision: one set of physics arrays."""

    model: ModelSpec
    hardware: HardwareSpec
    operand_bits: int
    rows: list[int] = dataclasses.field(default_factory=list)


def _resolve_rows(runs: FleetRuns, configs) -> tuple[dict[tuple, _Group], list[str], list[Any]]:
    """Group rows by (model, system, precision); per row the status ('' = predictable) and its layouts."""
    models: dict[tuple, Any] = {}
    hardware: dict[str, Any] = {}
    groups: dict[tuple, _Group] = {}
    status = [""] * len(runs)
    layouts: list[Any] = [None] * len(runs)
    for i, run in enumerate(runs):
        key_m = (run.model_path, run.precision, run.gemm_quant_mode, run.moe_quant_mode)
        if key_m not in models:
            try:
                base, _ = find_model(run.model_path, configs)
                w, a, kv = _precision_bits(run, base)
                spec = base.replace(weight_bits=w, activation_bits=16 if a == 4 else a, kv_cache_bits=kv)
                models[key_m] = (spec, a)
            except InferecoError as e:
                models[key_m] = f"unsupported: {e}"
        if run.system not in hardware:
            try:
                hardware[run.system] = load_hardware(run.system)
            except InferecoError:
                hardware[run.system] = f"unsupported: system {run.system!r} is not in the catalog"
        m, hw = models[key_m], hardware[run.system]
        if isinstance(m, str) or isinstance(hw, str):
            status[i] = m if isinstance(m, str) else hw
            continue
        spec, operand = m
        if operand == 4 and 4 not in hw.flop_per_s:
            operand = 8  # FP4 weights on a part without FP4 tensor cores run FP8 GEMMs
        try:
            pools = tuple(_layout(p, spec, "" if run.mode == "agg" else f"{w_} pool: ")
                          for p, w_ in zip(run.workers, ("prefill ", "decode ")))  # fmt: skip
        except SpecError as e:
            status[i] = f"unsupported: {e}"
            continue
        if run.mode == "agg" and run.system.startswith("gb") and pools[0].g > 8:
            status[i] = (
                f"unsupported: an aggregated worker of tp × attention_dp = {pools[0].g} GPUs on an NVL72 "
                "reads as a disaggregated run labelled agg (its pools are not given)"
            )
            continue
        layouts[i] = pools
        key = (id(spec), run.system, operand, run.backend)
        groups.setdefault(key, _Group(spec, hw, operand)).rows.append(i)
    return groups, status, layouts


# ---------------------------------------------------------------------------------------------- physics
class _Physics:
    """Step times of one group's model on its hardware under profile terms, for arrays of layouts."""

    def __init__(self, group: _Group, terms: ProfileTerms):
        self.model = group.model
        self.hw = group.hardware
        self.conv = get_preset("default").conventions
        self.m = model_arrays(group.model)
        self.m_pre = without_embedding_flop(self.m)
        base = hardware_arrays(group.hardware, group.operand_bits)
        peak_bw = float(group.hardware.hbm_bandwidth_bytes_per_s)
        common = dict(
            hbm_bandwidth_bytes_per_s=peak_bw * terms.weight_bandwidth_fraction,
            kv_read_time_scale=terms.weight_bandwidth_fraction / terms.kv_bandwidth_fraction,
            step_overhead_s=terms.step_overhead_s,
            collective_latency_scale=terms.collective_latency_scale,
        )
        self.hw_d = dataclasses.replace(
            base,
            flop_per_s=base.peak_flop_per_s * terms.decode_flop_fraction,
            layer_overhead_s=terms.layer_overhead_s,
            **common,
        )
        # A step that carries prefill runs outside the decode CUDA graph: its layers pay the eager path
        # (kernel launches, MoE routing's host syncs) on top of the per-layer overhead.
        self.hw_p = dataclasses.replace(
            base,
            flop_per_s=base.peak_flop_per_s * terms.prefill_flop_fraction,
            layer_overhead_s=terms.layer_overhead_s + terms.prefill_layer_overhead_s,
            **common,
        )

    def step(self, lay, batch, seq_len, context, prefill=False):
        one = np.ones_like(lay["tp"])
        return explicit_step_time(
            self.m_pre if prefill else self.m,
            self.hw_p if prefill else self.hw_d,
            self.conv,
            lay["tp"],
            lay["ep"],
            lay["pp"],
            0.0 * one,
            np.asarray(batch, float),
            np.asarray(seq_len, float),
            np.asarray(context, float),
            lay["kv_rep"],
            lay["imbalance"],
            bool(self.model.parallel_attention),
            xp=np,
            attn_dp=lay["attn_dp"],
        )

    def weights_s(self, lay, tokens):
        """Memory time of a step's weight (and activation) traffic for `tokens` tokens at no context: the
        experts `tokens` touch, attention, dense layers and unembedding."""
        return self.step(lay, np.maximum(tokens, 1e-9), 1.0, 0.0).memory_s

    def mixed_s(self, lay, n_dec, n_pre, P, ctx, dec=None, w_dec=None):
        """One step carrying `n_dec` decodes at context `ctx` and the prefill of `n_pre` prompts of P tokens.

        Fixed costs (launches, per-step and per-layer overhead, collective latency) are paid once; weights
        are read once for the union of the tokens: memory = decode + prefill − W(decode tokens) −
        W(prefill tokens) + W(all tokens), with W(n) the weight traffic of n tokens (the experts n tokens
        touch, E·(1 − (1 − 1/s)^n)), so a mixed step never reads an expert twice. `dec` (the decode-only
        StepTime) and `w_dec` (W of the decodes) may be passed in when evaluating many prefill loads."""
        n_dec = np.maximum(n_dec, 1e-9)
        if dec is None:
            dec = self.step(lay, n_dec, 1.0, ctx)
        if w_dec is None:
            w_dec = self.weights_s(lay, n_dec)
        has = np.asarray(n_pre) > 0
        n_pre = np.maximum(n_pre, 1e-9)
        pre = self.step(lay, n_pre, P, 0.0, prefill=True)
        w_pre = self.weights_s(lay, n_pre * P)
        w_all = self.weights_s(lay, n_dec + n_pre * P)
        mem = np.where(has, dec.memory_s + pre.memory_s - w_dec - w_pre + w_all, dec.memory_s)
        comp = dec.compute_s + np.where(has, pre.compute_s, 0.0)
        return (
            np.maximum(dec.launch_s, np.where(has, pre.launch_s, 0.0))
            + np.maximum(dec.network_latency_s, np.where(has, pre.network_latency_s, 0.0))
            + dec.network_bandwidth_s
            + np.where(has, pre.network_bandwidth_s, 0.0)
            + roofline_s(mem, comp, self.hw_d, xp=np)
        )

    def capacity_seqs(self, lays: Sequence[_Layout], backend: str, context) -> np.ndarray:
        """Sequences of `context` tokens whose KV cache fits beside the weights on one worker."""
        m = self.model
        engine = fleet_engine(backend)
        attn_bytes = m.attention_weight_bytes * m.attention_params_per_layer * m.n_layers
        out = []
        for lay, c in zip(lays, np.broadcast_to(context, (len(lays),))):
            n = lay.n_gpu
            dp_copies = lay.attn_dp - 1.0
            weights_per_gpu = (m.weight_memory_bytes + dp_copies * attn_bytes) / n
            budget = float(
                engine.kv_budget_bytes(
                    self.hw.engine_memory_bytes,
                    weights_per_gpu,
                    tp_size=lay.g,
                    pp_size=lay.pp,
                    attn_dp_size=lay.attn_dp if lay.attn_dp > 1 else 0,
                )
            )
            per_seq = m.kv_cache_bytes_per_sequence(float(c)) * _kv_replication(m, lay.tp_attn) / n
            out.append(max(math.floor(budget / per_seq), 0) if budget > 0 else 0)
        return np.asarray(out, float)


def _lay_arrays(lays: Sequence[_Layout], model: ModelSpec) -> dict[str, np.ndarray]:
    a = lambda f: np.asarray([f(x) for x in lays], float)  # noqa: E731
    full_dp = a(lambda x: 1.0 if (x.attn_dp > 1 and x.attn_dp == x.g) else 0.0)
    return {
        # explicit_step_time's stage is tp·ep ranks: FFN tensor-parallel over moe_tp, experts over moe_ep.
        "tp": a(lambda x: x.moe_tp),
        "ep": a(lambda x: x.moe_ep),
        "pp": a(lambda x: x.pp),
        "attn_dp": full_dp,
        "kv_rep": np.where(full_dp > 0, 1.0, a(lambda x: _kv_replication(model, x.tp_attn))),
        "imbalance": a(lambda x: x.pp * math.ceil(model.n_layers / x.pp) / model.n_layers),
    }


# InferenceX sends num_prompts = 10 × concurrency: the loop runs about ten "waves" of C requests.
WAVES = 10.0
_ITERATIONS = 30


def closed_loop_steady(t_dec, t_x, c_tok, t_alone, C, cap, P, out_len, budget, r0=0.0, waves=WAVES):
    """Mean TTFT and TPOT (s) of one continuous-batching engine serving a closed loop of C clients.

    The engine is described by a step-time law: a step with `b` decodes costs `t_dec`; one that also
    carries n prefill tokens costs `t_dec + t_x + c_tok·n` (`t_x`: the fixed extra of a mixed step, e.g.
    reading every expert, eager launches; `c_tok`: the marginal cost of a prefill token); a prompt chunk
    prefilled with no decodes in flight costs `t_alone`. Prompts are chunked to at most `budget` prefill
    tokens per step (k = ⌈P/B⌉ chunks of P/k). Derivation (steady state, b = min(C, cap) requests in the
    engine, each in it for Z = TTFT_e + (O − 1)·t):

    - throughput λ = min(C/(r₀ + Z), b/Z); a request's decode steps carry the prefill of the other b − 1
      requests, which start at λ_o = λ·(b − 1)/b: a = λ_o·t prompts (a·P tokens) per step on average;
    - a step carries prefill with probability q = 1 − exp(−a·k) (Poisson starts, k steps each), so the
      mean step, which is the measured TPOT (mean of (E2E − TTFT)/(O − 1)), solves
      t = t_dec + q·t_x + c_tok·λ_o·P·t, i.e. t = (t_dec + q·t_x)/(1 − c_tok·λ_o·P);
    - TTFT_e = (the step in progress) (b − 1)/b · t/2 + (queueing for the prefill budget, M/D/1 with
      service S = P·t_pf/B, t_pf = t_dec + t_x + c_tok·B a full step, ρ = λ_o·S) ρ·S/(2(1 − ρ)) + (its own k
      chunks, each riding a mixed step: t + (1 − q)·t_x + c_tok·P/k; alone: t_alone) ;
    - the benchmark starts all C clients at once: the first of `waves` waves queues (b − 1)·S₁/2 on
      average for the prefill capacity (S₁: S with half the b decodes in the step, as the wave's decodes
      start while it is prefilled), which adds (b − 1)·S₁/(2·waves) to the mean TTFT;
    - clients beyond the capacity wait for a slot: (C − b)/λ (Little's law).
    Solved by damped fixed-point iteration, vectorised over rows. Returns (TTFT incl. r₀, TPOT).
    """
    t_dec, t_x, c_tok, t_alone, C, cap, P, out_len, budget = np.broadcast_arrays(
        *(np.asarray(v, float) for v in (t_dec, t_x, c_tok, t_alone, C, cap, P, out_len, budget))
    )
    b = np.maximum(np.minimum(C, cap), 1.0)
    others = (b - 1.0) / b
    k = np.maximum(np.ceil(P / budget), 1.0)
    t_pf = t_dec + t_x + c_tok * np.minimum(budget, np.maximum(P, 1.0) * b)
    S = P * t_pf / np.minimum(budget, np.maximum(P, 1.0) * b)  # one prompt's share of a full step
    own_alone = k * t_alone
    t = t_dec.copy()
    ttft_e = own_alone + others * (t_dec / 2.0)
    for _ in range(_ITERATIONS):
        Z = ttft_e + (out_len - 1.0) * t
        lam = np.minimum(C / (r0 + Z), b / Z)
        lam_o = lam * others
        a = lam_o * t
        q = 1.0 - np.exp(-a * k)
        denom = np.maximum(1.0 - c_tok * lam_o * P, 0.05)
        t_new = (t_dec + q * t_x) / denom
        rho = np.minimum(lam_o * S, 0.98)  # a request queues behind the others' prefills only
        wq = rho * S / (2.0 * (1.0 - rho))
        own = k * (others * (t_new + (1.0 - q) * t_x + c_tok * P / k) + (1.0 - others) * t_alone)
        ttft_new = others * t_new / 2.0 + wq + own
        t = 0.5 * t + 0.5 * t_new
        ttft_e = 0.5 * ttft_e + 0.5 * ttft_new
    # The first wave arrives at once: its j-th request waits for the j − 1 prefills before it (S₁ each,
    # the steps filling up with decodes as the wave's prefills finish: half of b decodes on average), and
    # its decode steps carry the prefills of the b − j after it: (b − 1)·S₁/2 over its O − 1 tokens.
    S1 = P * (t_dec / 2.0 + t_x + c_tok * np.minimum(budget, P * b)) / np.minimum(budget, P * b)
    ttft_burst = np.maximum(ttft_e, own_alone + (b - 1.0) * S1 / 2.0)
    tpot_burst = t_dec + (b - 1.0) * S1 / 2.0 / np.maximum(out_len - 1.0, 1.0)
    w = 1.0 / np.asarray(waves, float)
    Z = ttft_e + (out_len - 1.0) * t
    lam = np.minimum(C / (r0 + Z), b / Z)
    wait_slot = np.maximum(C - b, 0.0) / lam
    ttft = r0 + w * ttft_burst + (1.0 - w) * ttft_e + wait_slot
    return ttft, w * tpot_burst + (1.0 - w) * t


def erlang_c(c, a):
    """Probability that an arrival waits in an M/M/c queue with c servers and offered load a = λ/μ < c
    (Erlang C), vectorised; c is rounded to whole servers (at most 4096).

    >>> round(float(erlang_c(1, 0.5)), 6), round(float(erlang_c(2, 1.0)), 6)
    (0.5, 0.333333)
    """
    c, a = np.broadcast_arrays(np.maximum(np.round(np.asarray(c, float)), 1.0), np.asarray(a, float))
    erlang_b = np.ones_like(a)
    for n in range(1, int(min(c.max(), 4096)) + 1):
        nb = a * erlang_b / (n + a * erlang_b)
        erlang_b = np.where(n <= c, nb, erlang_b)
    rho = np.minimum(a / c, 1.0 - 1e-12)
    return erlang_b / (1.0 - rho * (1.0 - erlang_b))


def mdc_wait(lam, c, service):
    """Mean wait in an M/D/c queue (deterministic service time `service`, c servers): half the M/M/c wait
    C(c, a)·service/(c − a), a = λ·service (the M/D/c ≈ ½ M/M/c approximation, exact for c = 1)."""
    a = np.asarray(lam, float) * service
    c = np.maximum(np.round(np.asarray(c, float)), 1.0)
    return 0.5 * erlang_c(c, a) * service / np.maximum(c - a, 1e-12)


def disagg_closed_loop(C, servers, t_p, cycle_fixed, lam_decode_max, iterations=60):
    """Throughput λ and prefill-pool wait W of a closed loop of C clients over a disaggregated deployment.

    Each request spends `cycle_fixed` (request overheads, its prefill, KV transfer, its decode steps) plus
    W, the wait for one of `servers` prefill slots (each busy `t_p` per prompt; M/D/c). The prefill pool
    serves what the decode pool sustains: λ solves λ·(cycle_fixed + W(λ)) = C (bisection on λ below the
    prefill capacity servers/t_p), capped by the decode pool's rate `lam_decode_max` (slots / decode time;
    beyond it clients wait for a decode slot). Returns (λ, W)."""
    C, servers, t_p, cycle_fixed, lam_dmax = np.broadcast_arrays(
        *(np.asarray(v, float) for v in (C, servers, t_p, cycle_fixed, lam_decode_max))
    )
    lo = np.zeros_like(C)
    hi = servers / t_p * (1.0 - 1e-9)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        g = mid * (cycle_fixed + mdc_wait(mid, servers, t_p)) - C
        lo = np.where(g < 0, mid, lo)
        hi = np.where(g < 0, hi, mid)
    lam = np.minimum(0.5 * (lo + hi), lam_dmax)
    return lam, mdc_wait(lam, servers, t_p)


def benchmark_waves(run) -> float:
    """Waves of C requests the row's benchmark sent (num_prompts / concurrency): InferenceX sends ten."""
    return WAVES


def _closed_loop(ph: _Physics, lay, C, cap, P, out_len, budget, r0, waves=WAVES):
    """Mean TTFT, TPOT (s) of a worker serving a closed loop of C clients: the physics' step times reduced
    to the step-time law of `closed_loop_steady` (decode step at b; the mixed step's fixed extra and
    per-token cost from steps carrying one prompt chunk and a full token budget; a chunk alone)."""
    b = np.maximum(np.minimum(C, cap), 1.0)
    ctx = P + (out_len - 1.0) / 2.0
    k = np.maximum(np.ceil(P / budget), 1.0)
    chunk = P / k
    dec = ph.step(lay, b, 1.0, ctx)
    w0 = ph.weights_s(lay, b)
    t_dec = dec.latency_s
    # Mixed steps: one chunk (n₁ = P/k tokens) and a full budget (B tokens) of prefill beside b decodes;
    # between them the step is linear in the prefill tokens (every expert already read).
    n1 = chunk
    t_one = ph.mixed_s(lay, b, n1 / P, P, ctx, dec, w0)
    nb = np.maximum(budget, n1 * 1.5)
    t_full = ph.mixed_s(lay, b, nb / P, P, ctx, dec, w0)
    c_tok = np.maximum((t_full - t_one) / (nb - n1), 0.0)
    t_x = np.maximum(t_one - t_dec - c_tok * n1, 0.0)
    # A chunk prefilled alone (no decodes in flight): attention over the chunk and the context before it.
    alone = ph.step(lay, 1.0 + 0.0 * b, chunk, P / 2.0 * (1.0 - 1.0 / k), prefill=True).latency_s
    return closed_loop_steady(t_dec, t_x, c_tok, alone, C, cap, P, out_len, budget, r0, waves)


# ---------------------------------------------------------------------------------------------- prediction
@dataclasses.dataclass(frozen=True)
class FleetPrediction:
    """Predictions for fleet rows: every input column plus `PREDICTION_COLUMNS` per row, in input order.

    `ttft_s`, `tpot_s` are arrays (nan where the status is not 'ok'); `status` per row; `runs` the input.
    """

    runs: FleetRuns
    ttft_s: np.ndarray
    tpot_s: np.ndarray
    ttft_lo_s: np.ndarray
    ttft_hi_s: np.ndarray
    tpot_lo_s: np.ndarray
    tpot_hi_s: np.ndarray
    status: tuple[str, ...]
    assumptions: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.status)

    @property
    def ok(self) -> np.ndarray:
        return np.array([s == "ok" for s in self.status])

    def records(self) -> list[dict[str, str]]:
        """One dict per row: the input columns (as read) and the prediction columns (ms, text)."""
        out = []
        for i, run in enumerate(self.runs):
            rec = dict(run.columns)

            def ms(a, i=i):
                return "" if not np.isfinite(a[i]) else f"{a[i] * 1e3:.6g}"

            rec.update(
                predicted_ttft_ms=ms(self.ttft_s),
                predicted_tpot_ms=ms(self.tpot_s),
                predicted_ttft_ms_lo=ms(self.ttft_lo_s),
                predicted_ttft_ms_hi=ms(self.ttft_hi_s),
                predicted_tpot_ms_lo=ms(self.tpot_lo_s),
                predicted_tpot_ms_hi=ms(self.tpot_hi_s),
                status=self.status[i],
                assumptions=self.assumptions[i] if self.assumptions else "",
            )
            out.append(rec)
        return out

    def write_csv(self, path: str | os.PathLike) -> None:
        import csv

        recs = self.records()
        cols = list(self.runs.columns) + [c for c in PREDICTION_COLUMNS if c not in self.runs.columns]
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            w.writerows(recs)

    def summary(self) -> list[dict[str, Any]]:
        """Per backend × system (and 'all'): n, ok, MAPE and median APE of TTFT and TPOT, interval coverage
        (rows with a measured value and an 'ok' prediction)."""
        keys = [(r.backend, r.system) for r in self.runs]
        groups = {k: [i for i, kk in enumerate(keys) if kk == k] for k in sorted(set(keys))}
        groups[("all", "all")] = list(range(len(keys)))
        rows = []
        for (backend, system), idx in groups.items():
            idx = np.asarray(idx, int)
            ok = self.ok[idx]
            row = {"backend": backend, "system": system, "n": int(idx.size), "ok": int(ok.sum())}
            for q, pred, lo, hi in (
                ("ttft", self.ttft_s, self.ttft_lo_s, self.ttft_hi_s),
                ("tpot", self.tpot_s, self.tpot_lo_s, self.tpot_hi_s),
            ):
                meas = np.array([getattr(self.runs[i], f"{q}_s") or np.nan for i in idx], float)
                sel = ok & np.isfinite(meas) & np.isfinite(pred[idx])
                ape = np.abs(pred[idx][sel] / meas[sel] - 1.0)
                inside = (lo[idx][sel] <= meas[sel]) & (meas[sel] <= hi[idx][sel])
                row[f"{q}_mape"] = float(ape.mean()) if ape.size else math.nan
                row[f"{q}_median_ape"] = float(np.median(ape)) if ape.size else math.nan
                row[f"{q}_coverage"] = float(inside.mean()) if ape.size else math.nan
            rows.append(row)
        return rows


# GPU generation of a system (engine profiles are per backend × generation; an unseen GPU of a known
# generation uses its generation's profile). Matched on the catalog id's prefix.
_GENERATIONS = {
    "h100": "hopper", "h200": "hopper", "h20": "hopper", "h800": "hopper", "gh200": "hopper",
    "b200": "blackwell", "b300": "blackwell", "gb200": "blackwell", "gb300": "blackwell",
    "rtx-pro-6000": "blackwell", "a100": "ampere", "a800": "ampere", "l4": "ada", "l40s": "ada",
    "mi300x": "cdna3", "mi325x": "cdna3", "mi355x": "cdna4",
}  # fmt: skip


def generation(system: str) -> str:
    """The GPU generation of a system name ('b200_sxm' → 'blackwell'); the normalised name if unknown.

    >>> generation("h200_sxm"), generation("gb300"), generation("tpu-v7")
    ('hopper', 'blackwell', 'tpu-v7')
    """
    key = system.strip().lower().replace("_", "-")
    for prefix in sorted(_GENERATIONS, key=len, reverse=True):
        if key.startswith(prefix):
            return _GENERATIONS[prefix]
    return key


class FleetModel:
    """Fleet rows resolved once (models, hardware, layouts), ready to predict under any profile terms.

    `predict(terms)` takes one `ProfileTerms` for every row, or a mapping profile key (backend,
    generation) → terms (missing keys: the uncalibrated theory); `rows` limits it to some rows (indices).
    Returns (ttft_s, tpot_s, status, assumptions) over all rows (nan where not predicted).
    """

    def __init__(self, runs: FleetRuns | str | os.PathLike, configs: Iterable[str | os.PathLike] = ()):
        if not isinstance(runs, FleetRuns):
            runs = load_fleet_runs(runs)
        configs = [Path(c) for c in configs]
        for c in configs:
            if not c.is_dir():
                raise SpecError(f"configs {c}: not a folder (expected a folder of <org>--<name>_config.json)")
        self.runs = runs
        self.groups, self.base_status, self.layouts = _resolve_rows(runs, configs)
        self.keys = tuple((r.backend, generation(r.system)) for r in runs)
        self._physics: dict[tuple, _Physics] = {}

    def __len__(self) -> int:
        return len(self.runs)

    def predict(self, terms=None, rows: Sequence[int] | None = None):
        n = len(self.runs)
        ttft = np.full(n, np.nan)
        tpot = np.full(n, np.nan)
        status = list(self.base_status)
        notes = [""] * n
        wanted = None if rows is None else set(int(i) for i in rows)
        for gkey, g in self.groups.items():
            by_terms: dict[ProfileTerms, list[int]] = {}
            for i in g.rows:
                if wanted is not None and i not in wanted:
                    continue
                by_terms.setdefault(_terms_for(terms, self.keys[i]), []).append(i)
            for t, idx in by_terms.items():
                ph = self._physics.get((gkey, t))
                if ph is None:
                    ph = self._physics[(gkey, t)] = _Physics(g, t)
                    if len(self._physics) > 256:  # the fit makes many; keep memory bounded
                        self._physics.pop(next(iter(self._physics)))
                _predict_rows(ph, self.runs, idx, self.layouts, t, ttft, tpot, status, notes)
        return ttft, tpot, status, notes


def predict_fleet(
    runs: FleetRuns | str | os.PathLike | FleetModel,
    *,
    configs: Iterable[str | os.PathLike] = (),
    profiles=None,
    terms: ProfileTerms | None = None,
) -> FleetPrediction:
    """Predict TTFT and TPOT of every row of a fleet-schema table (a `FleetRuns`, a CSV path or a
    `FleetModel`), with 90% intervals.

    `profiles`: fitted engine profiles (`infereco.calibration.profiles.FleetProfiles`, or a path to a
    profile YAML); None = the uncalibrated theory (`ProfileTerms.nominal()`), whose interval is its prior:
    a factor of 2 either way. `terms`: one `ProfileTerms` for every row instead (e.g. `ProfileTerms()`, the
    ideal machine); it excludes `profiles`.
    """
    from infereco.calibration.profiles import FleetProfiles, load_profiles  # the layer above

    fm = runs if isinstance(runs, FleetModel) else FleetModel(runs, configs)
    if profiles is not None and not isinstance(profiles, FleetProfiles):
        profiles = load_profiles(profiles)
    if terms is not None and profiles is not None:
        raise SpecError("predict_fleet: give profiles or terms, not both")
    if terms is None:
        terms = NOMINAL_TERMS if profiles is None else profiles.terms_by_key(fm.keys)
    ttft, tpot, status, notes = fm.predict(terms)
    n = len(fm)
    q = np.tile([-math.log(2.0), math.log(2.0)], (n, 2, 1))  # (row, quantity, lo/hi) log factors
    if profiles is not None:
        for i, key in enumerate(fm.keys):
            q[i] = profiles.log_interval(key)
    with np.errstate(invalid="ignore"):
        return FleetPrediction(
            fm.runs,
            ttft,
            tpot,
            ttft * np.exp(q[:, 0, 0]),
            ttft * np.exp(q[:, 0, 1]),
            tpot * np.exp(q[:, 1, 0]),
            tpot * np.exp(q[:, 1, 1]),
            tuple(status),
            tuple(notes),
        )


def _terms_for(terms, key: tuple[str, str]) -> ProfileTerms:
    if terms is None:
        return ProfileTerms()
    if isinstance(terms, ProfileTerms):
        return terms
    return terms.get(key, NOMINAL_TERMS)


def _held_tokens(backend: str, P, out_len, rows, runs) -> np.ndarray:
    """KV tokens the engine's admission counts per sequence: TensorRT-LLM's default capacity scheduler
    (GUARANTEED_NO_EVICT) reserves a request's whole isl + osl up front; vLLM and SGLang allocate pages as
    tokens arrive (preempting or retracting when full), so on average a sequence holds P̄ + Ō/2."""
    if backend == "trtllm":
        return np.array([runs[i].isl + runs[i].osl for i in rows], float)
    return np.asarray(P, float) + np.asarray(out_len, float) / 2.0


def _predict_rows(ph: _Physics, runs, rows, layouts, terms: ProfileTerms, ttft, tpot, status, notes) -> None:
    agg = [i for i in rows if runs[i].mode == "agg"]
    dis = [i for i in rows if runs[i].mode == "disagg"]
    if agg:
        lays = [layouts[i][0] for i in agg]
        P = np.array([RANGE_MEAN * runs[i].isl for i in agg])
        out_len = np.maximum(np.array([RANGE_MEAN * runs[i].osl for i in agg]), 1.0)
        C = np.array([float(runs[i].concurrency or 1) for i in agg])
        backend = runs[agg[0]].backend
        cap = ph.capacity_seqs(lays, backend, _held_tokens(backend, P, out_len, agg, runs))
        cap = np.minimum(cap, np.array([_ENGINE_MAX_SEQS.get(runs[i].backend, 1024.0) for i in agg]))
        budget = np.array([_ENGINE_BUDGET.get(runs[i].backend, 8192.0) for i in agg])
        waves = np.array([benchmark_waves(runs[i]) for i in agg])
        a, b = _closed_loop(
            ph, _lay_arrays(lays, ph.model), C, cap, P, out_len, budget, terms.request_overhead_s, waves
        )
        for j, i in enumerate(agg):
            if cap[j] < 1:
                status[i] = "infeasible: the model's weights leave no room for a KV cache on this layout"
            else:
                ttft[i], tpot[i] = a[j], b[j]
                status[i] = "ok" if np.isfinite(a[j]) and np.isfinite(b[j]) else "infeasible: no steady state"
            notes[i] = "; ".join(runs[i].notes)
    if dis:
        _predict_disagg(ph, runs, dis, layouts, terms, ttft, tpot, status, notes)


def _predict_disagg(ph: _Physics, runs, rows, layouts, terms, ttft, tpot, status, notes_out) -> None:
    pre_l = [layouts[i][0] for i in rows]
    dec_l = [layouts[i][1] for i in rows]
    P = np.array([RANGE_MEAN * runs[i].isl for i in rows])
    out_len = np.maximum(np.array([RANGE_MEAN * runs[i].osl for i in rows]), 1.0)
    C = np.array([float(runs[i].concurrency or 1) for i in rows])
    backend = runs[rows[0]].backend
    cap_d = ph.capacity_seqs(dec_l, backend, _held_tokens(backend, P, out_len, rows, runs))
    cap_d = np.minimum(
        cap_d, [_ENGINE_MAX_SEQS.get(runs[i].backend, 1024.0) * d.attn_dp for i, d in zip(rows, dec_l)]
    )
    notes = [[] for _ in rows]
    b_d = np.empty(len(rows))
    n_d = np.empty(len(rows))
    n_p = np.empty(len(rows))
    batch_p = np.empty(len(rows))
    for j, i in enumerate(rows):
        run = runs[i]
        dec, pre = run.decode, run.prefill
        if dec.batch is not None:
            b_d[j] = dec.batch * (dec.attention_dp or 1)
            n_d[j] = dec.workers or max(1.0, round(C[j] / b_d[j]))
        else:
            # The rows that give decode worker counts: TensorRT-LLM spreads a pool without DP attention over
            # several workers (median 4 of the rows that say; SGLang and DP-attention pools: 1), which
            # the capacity may force higher. (One worker holding C made TPOT 1.4× too slow at C ≤ 256.)
            typical = _DECODE_WORKERS.get((run.backend, (dec.attention_dp or 1) > 1), 1.0)
            n_d[j] = max(1.0, min(typical, C[j]), math.ceil(C[j] / max(cap_d[j], 1.0)))
            b_d[j] = C[j] / n_d[j]
            notes[j].append(f"assumed {int(n_d[j])} decode worker(s) sharing the concurrency")
        n_p[j] = pre.workers or 1
        # A prefill worker batches the prompts that fit its token budget, on each DP-attention rank (the
        # rows' prefill_batch_size = 1 of DP-attention pools cannot be prompts per step: 2 such workers
        # of 8 GPUs sustain ~170 requests/s of 1K prompts in the GB200 rows).
        fit = max(1.0, math.floor(_ENGINE_BUDGET.get(run.backend, 8192.0) / max(P[j], 1.0)))
        batch_p[j] = max(float(pre.batch or 1), fit * (pre_l[j].attn_dp if pre_l[j].attn_dp > 1 else 1))
    lay_d = _lay_arrays(dec_l, ph.model)
    lay_p = _lay_arrays(pre_l, ph.model)
    ctx = P + (out_len - 1.0) / 2.0
    t_d = ph.step(lay_d, np.maximum(np.minimum(b_d, cap_d), 1.0), 1.0, ctx).latency_s
    t_p = ph.step(lay_p, batch_p, P, 0.0, prefill=True).latency_s  # a full prefill batch
    t_p1 = ph.step(lay_p, 1.0 + 0.0 * batch_p, P, 0.0, prefill=True).latency_s  # one prompt alone
    # A row without the prefill worker count: a pool sized to the decode pool's demand (what a disaggregated
    # deployment is built for): the fewest workers whose capacity covers the request rate the decode pool
    # sustains, λ = C / ((O − 1)·t_d + t_p), at utilisation PREFILL_UTILISATION. (One worker for every
    # concurrency made TTFT 30× too high at C ≥ 1024 and too low where the real pool is the bottleneck.)
    missing = np.array([runs[i].prefill.workers is None for i in rows])
    lam_dec = C / ((out_len - 1.0) * t_d + t_p)
    balanced = np.maximum(1.0, np.ceil(lam_dec * t_p / (batch_p * PREFILL_UTILISATION)))
    n_p = np.where(missing, balanced, n_p)
    for j in np.flatnonzero(missing):
        notes[j].append(f"assumed {int(n_p[j])} prefill worker(s) sized to the decode pool's demand")
    # KV transfer of one prompt's cache: NVLink inside one NVLink domain (NVL72), else the inter-node links.
    kv_bytes = np.array([ph.model.kv_cache_bytes_per_sequence(float(p)) for p in P])
    link = (
        ph.hw.intra_node_bandwidth_bytes_per_s
        if ph.hw.node_size >= 16
        else ph.hw.inter_node_bandwidth_bytes_per_s
    )
    n_link = np.array([min(p.n_gpu, d.n_gpu) for p, d in zip(pre_l, dec_l)], float)
    t_kv = kv_bytes / (link * n_link)
    # Fixed per-request time: the engine-independent part (HTTP, tokenisation) plus the disaggregated
    # hand-off (routing to a prefill worker, KV-transfer setup, admission on the decode worker).
    r0 = terms.request_overhead_s + terms.disagg_overhead_s
    servers = n_p * batch_p  # prompts the prefill pool holds at once, each for t_p
    slots = n_d * np.maximum(np.minimum(b_d, cap_d), 1.0)  # sequences the decode pool holds at once
    decode_s = (out_len - 1.0) * t_d
    # Its own prefill takes a lone prompt's step at low load, a full batch's as the pool fills (ρ).
    lam0 = np.minimum(C / (r0 + t_p + t_kv + t_d + decode_s), servers / t_p)
    rho = np.minimum(lam0 * t_p / servers, 1.0)
    t_own = t_p1 + rho * np.maximum(t_p - t_p1, 0.0)
    fixed = r0 + t_own + t_kv + t_d  # prefill, KV transfer, the first decode step
    lam, wait = disagg_closed_loop(C, servers, t_p, fixed + decode_s, slots / np.maximum(decode_s, 1e-12))
    # The loop starts with all C requests at once: the first of the ~WAVES waves queues for the prefill
    # pool, (C − 1)/(2μ) on average (later waves are spread by the random output lengths).
    first_wave = (C - 1.0) * (t_p / servers) / 2.0 / WAVES
    ttft_e = fixed + wait + first_wave
    # Clients beyond what the decode pool holds wait for a slot (closed loop: C = λ·cycle).
    extra = np.maximum(C / lam - (ttft_e - first_wave + decode_s), 0.0)
    for j, i in enumerate(rows):
        if cap_d[j] < 1:
            status[i] = "infeasible: the decode pool's weights leave no room for a KV cache"
            continue
        ttft[i] = ttft_e[j] + extra[j]
        tpot[i] = t_d[j]
        status[i] = "ok"
        notes_out[i] = "; ".join([*runs[i].notes, *notes[j]])
