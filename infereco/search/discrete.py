"""The realistic configuration space: integer TP × EP × PP layouts (1D or 2D TP), integer batch sizes, engine
memory fit. Infeasible combinations are counted with their reason; the rest are evaluated in one jitted call.

A layout is one model instance of tp·ep·pp accelerators; data-parallel replicas (`dp`) copy it to absorb
demand and do not change speed or cost per token.
"""

from __future__ import annotations

import collections
import dataclasses
import math

import jax
import numpy as np

from infereco.errors import InfeasibleError, SpecError
from infereco.search.base import Candidates, check_backend, no_point_reason, served_at_demand
from infereco.search.evaluate import Evaluation, Layout, deployment_arrays, evaluate
from infereco.search.select import pareto_indices
from infereco.specs.deployment import Deployment, positive_number
from infereco.specs.engines import EngineMemory, get_engine
from infereco.specs.model import ModelSpec
from infereco.specs.space import DiscreteSpace


@dataclasses.dataclass
class LayoutTable:
    """Enumerated layouts (1-D arrays, one entry per layout) and the counts of rejected combinations."""

    tp: np.ndarray
    ep: np.ndarray
    pp: np.ndarray
    two_d: np.ndarray
    kv_replication: np.ndarray
    draft_kv_replication: np.ndarray
    stage_imbalance: np.ndarray
    max_batch: np.ndarray  # largest batch whose KV cache fits (0 = the weights alone do not fit)
    kv_capacity_tokens: np.ndarray
    rejected: collections.Counter
    attn_dp: np.ndarray | None = None  # 1 = data-parallel attention

    def __post_init__(self):
        if self.attn_dp is None:
            self.attn_dp = np.zeros_like(self.tp)

    @property
    def min_batch(self) -> np.ndarray:
        """Smallest batch that keeps every pipeline stage (and every DP-attention rank) busy."""
        return self.pp * np.where(self.attn_dp > 0.5, self.tp * self.ep, 1.0)

    def __len__(self) -> int:
        return len(self.tp)

    @property
    def n_gpu(self) -> np.ndarray:
        return self.tp * self.ep * self.pp

    def as_layout(self, column: bool = True) -> Layout:
        shape = (-1, 1) if column else (-1,)
        return Layout(
            self.tp.reshape(shape),
            self.ep.reshape(shape),
            self.pp.reshape(shape),
            self.two_d.reshape(shape),
            self.kv_replication.reshape(shape),
            self.stage_imbalance.reshape(shape),
            self.draft_kv_replication.reshape(shape),
            self.attn_dp.reshape(shape),
        )


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _kv_replication(model: ModelSpec, g: int) -> float | None:
    """Copies of each KV head under attention TP over g ranks (engines replicate KV heads when g >
    n_kv_heads); None when g and n_kv_heads are incompatible. MLA's latent cache is replicated on every
    rank."""
    if model.is_mla:
        return float(g)
    kv = model.n_kv_heads
    if kv % g == 0:
        return 1.0
    if g % kv == 0:
        return g / kv
    return None


def enumerate_layouts(
    model: ModelSpec,
    hbm_capacity_bytes: float,
    context_tokens: int,
    space: DiscreteSpace,
    draft: ModelSpec | None = None,
) -> LayoutTable:
    """Every integer layout the model allows, with its memory fit under the engine rule.

    `hbm_capacity_bytes`: the memory the engine sizes its KV cache from (`HardwareSpec.engine_memory_bytes`,
    the driver-reported memory where the catalog knows it), bytes per accelerator.
    """
    engine: EngineMemory = get_engine(space.engine, space.gpu_memory_utilization)
    rejected: collections.Counter = collections.Counter()
    rows = []
    ep_options = _divisors(model.n_experts) if model.n_experts > 1 else [1]
    g_max = min(space.max_gpus_per_instance, model.n_heads * max(ep_options))
    for g in range(1, g_max + 1):
        if model.n_heads % g:
            if g & (g - 1) == 0:  # count the power-of-two sizes a user would expect to be possible
                rejected["attention heads not divisible by the tensor-parallel degree"] += 1
            continue
        rep = _kv_replication(model, g)
        draft_rep = 1.0 if draft is None else (_kv_replication(draft, g) or float(g))
        for ep in ep_options:
            if g % ep:
                continue
            tp = g // ep
            if rep is None:
                rejected["KV heads not divisible by the tensor-parallel degree"] += 1
                continue
            for pp in space.pp_degrees:
                if pp > model.n_layers:
                    continue
                if g * pp > space.max_gpus_per_instance:
                    rejected["more accelerators than max_gpus_per_instance"] += 1
                    continue
                imbalance = pp * math.ceil(model.n_layers / pp) / model.n_layers
                if space.pp_bubble:
                    # GPipe-style schedule with pp microbatches: (2·pp − 1) stage slots per pp microbatches.
                    imbalance *= (2 * pp - 1) / pp
                square = (
                    int(round(math.sqrt(g))) ** 2 == g
                    and g >= 4
                    and (tp == g or int(round(math.sqrt(tp))) ** 2 == tp)
                )
                for two_d in (0.0, 1.0) if (space.allow_2d and square) else (0.0,):
                    rows.append((tp, ep, pp, two_d, rep, draft_rep, imbalance, 0.0))
    if space.attention_dp:
        # DP attention (SGLang / vLLM for DeepSeek, Qwen3 MoE and dense models): attention replicated on every
        # rank of a stage, each rank with its own sequences' cache (no KV-head replication); experts spread by
        # EP, FFN tensor-parallel within expert groups (a dense model's FFN over the whole stage).
        draft_rep = 1.0
        for g in (1 << k for k in range(1, 11)):
            for ep in ep_options:
                if g % ep:
                    continue
                for pp in space.pp_degrees:
                    if pp > model.n_layers or g * pp > space.max_gpus_per_instance:
                        continue
                    imbalance = pp * math.ceil(model.n_layers / pp) / model.n_layers
                    if space.pp_bubble:
                        imbalance *= (2 * pp - 1) / pp
                    rows.append((g // ep, ep, pp, 0.0, 1.0, draft_rep, imbalance, 1.0))
    if not rows:
        return LayoutTable(*(np.zeros(0) for _ in range(9)), rejected=rejected)
    a = np.asarray(rows, float)
    tp, ep, pp, two_d, rep, draft_rep, imbalance, attn_dp = a.T
    n = tp * ep * pp
    weights = model.weight_memory_bytes + (draft.weight_memory_bytes if draft is not None else 0.0)
    # DP attention keeps a full copy of the attention weights on every rank of a stage.
    attn_bytes = model.attention_weight_bytes * model.attention_params_per_layer * model.n_layers
    weights = weights + attn_dp * (tp * ep - 1.0) * attn_bytes
    weights_per_gpu = weights / n * imbalance
    # The engine's rule (SGLang's default fraction depends on tp·pp and DP attention: its tp_size is the
    # stage's tp·ep ranks).
    budget = np.asarray(
        engine.kv_budget_bytes(
            hbm_capacity_bytes, weights_per_gpu, tp_size=tp * ep, pp_size=pp, attn_dp_size=attn_dp * tp * ep
        ),
        float,
    )
    kv_per_token = model.kv_cache_bytes_per_token * rep + (
        draft.kv_cache_bytes_per_token * draft_rep if draft else 0.0
    )
    # Per sequence, windowed layers hold at most their window (`ModelSpec.kv_cache_tokens`); the capacity in
    # tokens stays counted as full-attention positions.
    ctx = max(context_tokens, 0)
    kv_per_seq = model.kv_cache_bytes_per_sequence(ctx) * rep + (
        draft.kv_cache_bytes_per_sequence(ctx) * draft_rep if draft else 0.0
    )
    kv_per_seq_per_gpu = kv_per_seq / n * imbalance
    with np.errstate(divide="ignore", invalid="ignore"):
        capacity_tokens = np.where(budget > 0, budget * n / (kv_per_token * imbalance), 0.0)
        max_batch = np.where(
            budget <= 0,
            0.0,
            np.where(
                kv_per_seq_per_gpu > 0,
                np.floor(budget / np.where(kv_per_seq_per_gpu > 0, kv_per_seq_per_gpu, 1.0)),
                float(space.max_batch),
            ),
        )
    max_batch = np.minimum(max_batch, float(space.max_batch))
    return LayoutTable(
        tp, ep, pp, two_d, rep, draft_rep, imbalance, max_batch, capacity_tokens, rejected, attn_dp
    )


def batch_sizes(largest: float, n: int) -> np.ndarray:
    """Distinct integer batch sizes, log-spaced from 1 to `largest` (always including 1 and `largest`)."""
    largest = max(1, int(largest))
    return np.unique(np.round(np.geomspace(1, largest, n))).astype(float)


def _as_grid(a, shape):
    """A (layouts × batches) view of an evaluation array, flat (numpy backend) or broadcastable (JAX)."""
    a = np.asarray(a)
    return a.reshape(shape) if a.size == np.prod(shape) else np.broadcast_to(a, shape)


def _evaluate_table(dep: Deployment, table: LayoutTable, batches: np.ndarray, backend: str) -> Evaluation:
    """Every layout × batch of the table, as (layouts × batches) arrays (numpy) or broadcastable ones
    (JAX)."""
    ma, ha, spec = deployment_arrays(dep)
    space, ctx = dep.space, float(dep.workload.context_length)
    n_lay, n_b = len(table), batches.size
    if backend == "numpy":
        lay_idx, b_idx = np.divmod(np.arange(n_lay * n_b), n_b)
        layout = Layout(*(np.asarray(a)[lay_idx] for a in table.as_layout(column=False)))
        return evaluate(
            ma, ha, dep.conventions, None, batches[b_idx], ctx, spec, backend="numpy", layout=layout
        )
    # Pad to bucketed shapes (layouts to a power of two, batches to n_batch) so that the next model or context
    # reuses the compiled function; padded entries repeat the last real one and are dropped below.
    b_pad = np.concatenate([batches, np.full(max(space.n_batch, n_b) - n_b, batches[-1])])
    lay_pad = max(64, 1 << (n_lay - 1).bit_length())
    # Very large spaces run in equal chunks of layouts (bounded memory, one compiled shape).
    chunk = min(lay_pad, max(64, 1 << int(np.log2(max(space.max_configs_per_call // b_pad.size, 1)))))
    lay_pad = -(-lay_pad // chunk) * chunk
    lay_rows = np.minimum(np.arange(lay_pad), n_lay - 1)
    full_layout = table.as_layout(column=False)
    parts = []
    for start in range(0, lay_pad, chunk):
        rows = lay_rows[start : start + chunk]
        layout = Layout(*(np.asarray(a)[rows][:, None] for a in full_layout))
        out = evaluate(
            ma,
            ha,
            dep.conventions,
            None,
            b_pad[None, :],
            ctx,
            spec,
            backend=backend,
            layout=layout,
            on_device=True,
        )
        # One transfer for all outputs (a device sync per array costs more than the copy).
        parts.append([np.broadcast_to(a, (chunk, b_pad.size)) for a in jax.device_get(tuple(out))])
    return Evaluation(
        *(np.concatenate([p[i] for p in parts])[:n_lay, :n_b] for i in range(len(Evaluation._fields)))
    )


def evaluate_layout_table(dep: Deployment, table: LayoutTable, batches, backend: str = "jax") -> Evaluation:
    """Every layout of `table` at every batch of `batches`: (layouts × batches) arrays of step time, cost,
    MFU and the step-time parts (inf where a layout cannot hold the batch's KV cache is not masked here:
    compare the batch with `table.max_batch`)."""
    b = np.asarray(batches, dtype=float).ravel()
    return _evaluate_table(dep, table, b, check_backend(backend))


def layout_table(dep: Deployment, space: DiscreteSpace | None = None) -> LayoutTable:
    """The deployment's integer layouts under `space` (default: the deployment's own)."""
    draft = dep.speculative.draft if dep.speculative else None
    return enumerate_layouts(
        dep.model,
        dep.hardware.engine_memory_bytes,
        dep.workload.context_length,
        space or dep.space,
        draft=draft,
    )


@dataclasses.dataclass(frozen=True)
class DiscreteSearch:
    """Integer TP × EP × PP layouts (1D or 2D TP, attention-DP for MLA) and integer batches, each with the
    serving engine's memory fit; exact Pareto selection. The default search."""

    name: str = "discrete"

    def run(self, dep: Deployment, backend: str = "jax") -> Candidates:
        check_backend(backend)
        space, cap = dep.space, dep.workload.max_throughput_tokens_per_s
        table = layout_table(dep)
        rejected = dict(table.rejected)
        meta = {"engine": space.engine}
        if len(table) == 0 or not np.any(table.max_batch >= 1):
            rejected["does not fit in memory"] = rejected.get("does not fit in memory", 0) + len(table)
            return Candidates(
                Evaluation(*([np.zeros(0)] * len(Evaluation._fields))),
                np.zeros(0),
                np.zeros(0),
                rejected=rejected,
                reason=no_point_reason(dep, False, float(space.max_gpus_per_instance)),
                meta=meta,
            )
        batches = batch_sizes(float(np.max(table.max_batch)), space.n_batch)
        ev = _evaluate_table(dep, table, batches, backend)
        shape = (len(table), batches.size)
        lat = np.asarray(ev.latency_s).reshape(shape)
        fits = batches[None, :] <= table.max_batch[:, None]
        pp_ok = batches[None, :] >= table.min_batch[:, None]
        finite = np.isfinite(lat)
        rejected["does not fit in memory"] = rejected.get("does not fit in memory", 0) + int((~fits).sum())
        rejected["batch smaller than pipeline stages × DP-attention ranks"] = int((fits & ~pp_ok).sum())
        ok = fits & pp_ok & finite
        gpu_s = _as_grid(ev.gpu_s_per_token, shape)
        if cap is not None:
            gpu_s = np.maximum(gpu_s, table.n_gpu[:, None] / cap)
        idx = pareto_indices(np.where(ok, lat, np.inf).ravel(), np.where(ok, gpu_s, np.inf).ravel())
        lay_i, b_i = np.divmod(idx, batches.size)
        flat = Evaluation(*(_as_grid(a, shape).ravel()[idx] for a in ev))
        flat = served_at_demand(flat, gpu_s.ravel()[idx], batches[b_i], cap)
        extra = {
            "tp": table.tp[lay_i],
            "ep": table.ep[lay_i],
            "pp": table.pp[lay_i],
            "attn_dp": table.attn_dp[lay_i] > 0.5,
            "max_batch": table.max_batch[lay_i],
            "kv_capacity_tokens": table.kv_capacity_tokens[lay_i],
        }
        if cap is not None:
            throughput = np.minimum(batches[b_i] / np.asarray(flat.latency_s, float), cap)
            extra["dp"] = np.maximum(1.0, np.floor(cap / throughput))
        reason = None if len(idx) else no_point_reason(dep, bool(ok.any()), float(np.max(table.n_gpu)))
        return Candidates(
            flat,
            table.n_gpu[lay_i],
            batches[b_i],
            extra=extra,
            served_cap_tokens_per_s=cap,
            rejected=rejected,
            configurations=int(len(table) * batches.size),
            reason=reason,
            meta=meta,
        )


def _weights_per_gpu_bytes(dep: Deployment, table: LayoutTable, i: int) -> float:
    """Weights (and a draft's) held by one accelerator of layout row `i`, bytes (as `enumerate_layouts`)."""
    m = dep.model
    draft = dep.speculative.draft if dep.speculative else None
    weights = m.weight_memory_bytes + (draft.weight_memory_bytes if draft is not None else 0.0)
    g = table.tp[i] * table.ep[i]
    weights += (
        table.attn_dp[i] * (g - 1.0) * m.attention_weight_bytes * m.attention_params_per_layer * m.n_layers
    )
    return float(weights / (g * table.pp[i]) * table.stage_imbalance[i])


def layout_integer(name: str, value, upper: int = 1 << 16) -> int:
    return int(positive_number(name, value, upper=upper, integer=True))


def explicit_layout(
    dep: Deployment, *, tp, ep=1, pp=1, tp_2d=False, attn_dp=False, batch_size: float, engine: str = "vllm"
) -> tuple[Layout, dict[str, np.ndarray]]:
    """The one-row `Layout` of an explicit integer layout, checked for divisibility and memory fit under
    `engine` (raises `InfeasibleError` naming why not), with its layout columns."""
    tp, ep, pp = layout_integer("tp", tp), layout_integer("ep", ep), layout_integer("pp", pp)
    for name, flag in (("tp_2d", tp_2d), ("attn_dp", attn_dp)):
        if not isinstance(flag, (bool, np.bool_)):
            raise SpecError(f"{name}={flag!r}: expected true or false")
    m = dep.model
    space = DiscreteSpace(
        max_gpus_per_instance=tp * ep * pp,
        pp_degrees=(pp,),
        engine=engine,
        max_batch=int(max(1 << 16, math.ceil(batch_size))),
    )
    table = layout_table(dep, space)
    sel = (
        (table.tp == tp)
        & (table.ep == ep)
        & (table.pp == pp)
        & (table.two_d == float(tp_2d))
        & (table.attn_dp == float(attn_dp))
    )
    if not sel.any():
        why = "; ".join(table.rejected) or (
            f"tp·ep = {tp * ep} must divide n_heads = {m.n_heads}, ep must divide n_experts = {m.n_experts}, "
            "2D needs a square stage size, pp ≤ n_layers, attn_dp needs an MLA model"
        )
        raise InfeasibleError(
            f"tp={tp}, ep={ep}, pp={pp}, tp_2d={bool(tp_2d)}, attn_dp={bool(attn_dp)} is not a "
            f"valid layout of {m.name}: {why}"
        )
    i = int(np.flatnonzero(sel)[0])
    if table.max_batch[i] < 1:
        hw = dep.hardware
        w = _weights_per_gpu_bytes(dep, table, i)
        budget = float(
            get_engine(engine).kv_budget_bytes(
                hw.engine_memory_bytes, w, tp_size=tp * ep, pp_size=pp, attn_dp_size=float(attn_dp) * tp * ep
            )
        )
        raise InfeasibleError(
            f"tp={tp}, ep={ep}, pp={pp} does not fit {m.name} on {hw.name}: {w / 1e9:.1f} GB of weights per "
            f"accelerator leave a KV budget of {budget / 1e9:.1f} GB under the {engine} memory rule "
            f"({hw.engine_memory_bytes / 1e9:.1f} GB engine memory per accelerator); expected a positive "
            "budget: use more accelerators or fewer weight bits"
        )
    if batch_size > table.max_batch[i]:
        raise InfeasibleError(
            f"batch_size={batch_size:g} does not fit: at most {int(table.max_batch[i])} sequences "
            f"of {dep.workload.context_length} tokens fit on tp={tp}, ep={ep}, pp={pp} "
            f"({engine} memory rule)"
        )
    if batch_size < table.min_batch[i]:
        raise InfeasibleError(
            f"batch_size={batch_size:g} is below {int(table.min_batch[i])}, the pipeline stages × "
            "DP-attention ranks"
        )
    layout = Layout(*(np.asarray(a)[i : i + 1] for a in table.as_layout(column=False)))
    extra = {
        "tp": np.array([float(tp)]),
        "ep": np.array([float(ep)]),
        "pp": np.array([float(pp)]),
        "attn_dp": np.array([bool(attn_dp)]),
        "max_batch": table.max_batch[i : i + 1],
        "kv_capacity_tokens": table.kv_capacity_tokens[i : i + 1],
    }
    return layout, extra
