"""The realistic configuration space: integer TP × EP × PP layouts (1D or 2D TP), integer batch sizes, engine
memory fit. Infeasible combinations are counted with their reason; the rest are evaluated in one jitted call.

A layout is one model instance of tp·ep·pp accelerators; data-parallel replicas (`dp`) copy it to absorb demand
and do not change speed or cost per token.
"""

from __future__ import annotations

import collections
import dataclasses
import math

import numpy as np

from infereco.search.engines import EngineMemory, get_engine
from infereco.search.evaluate import Layout
from infereco.specs.model import ModelSpec

DEFAULT_PP = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64)


@dataclasses.dataclass(frozen=True)
class DiscreteSpace:
    """Bounds of the discrete search.

    - `max_gpus_per_instance`: largest tp·ep·pp considered.
    - `pp_degrees`: pipeline degrees tried (uneven layer splits allowed; bubble-free unless `pp_bubble`).
    - `allow_2d`: also try 2D tensor parallelism where the stage size is a perfect square ≥ 4.
    - `n_batch`, `max_batch`: integer batches, log-spaced from 1 up to the largest KV-cache capacity (capped).
    - `engine`, `gpu_memory_utilization`: memory-fit rule ('vllm', 'sglang', 'trtllm', 'ideal').
    - `attention_dp`: for MLA models also try data-parallel attention with expert parallelism (how DeepSeek
      models are served), since tensor-parallel MLA replicates the latent cache on every rank.
    """

    max_gpus_per_instance: int = 1024
    pp_degrees: tuple[int, ...] = DEFAULT_PP
    allow_2d: bool = True
    n_batch: int = 96
    max_batch: int = 1 << 16
    engine: str = "vllm"
    gpu_memory_utilization: float | None = None
    pp_bubble: bool = False
    max_configs_per_call: int = 1 << 22  # layouts × batches evaluated per jitted call (memory bound)
    attention_dp: bool = True  # for MLA models, also try data-parallel attention layouts


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
    attn_dp: np.ndarray | None = None  # 1 = data-parallel attention (MLA models)

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
        return Layout(self.tp.reshape(shape), self.ep.reshape(shape), self.pp.reshape(shape),
                      self.two_d.reshape(shape), self.kv_replication.reshape(shape),
                      self.stage_imbalance.reshape(shape), self.draft_kv_replication.reshape(shape),
                      self.attn_dp.reshape(shape))


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _kv_replication(model: ModelSpec, g: int) -> float | None:
    """Copies of each KV head under attention TP over g ranks (engines replicate KV heads when g > n_kv_heads);
    None when g and n_kv_heads are incompatible. MLA's latent cache is replicated on every rank."""
    if model.is_mla:
        return float(g)
    kv = model.n_kv_heads
    if kv % g == 0:
        return 1.0
    if g % kv == 0:
        return g / kv
    return None


def enumerate_layouts(model: ModelSpec, hbm_capacity_bytes: float, context_tokens: int, space: DiscreteSpace,
                      draft: ModelSpec | None = None) -> LayoutTable:
    """Every integer layout the model allows, with its memory fit under the engine rule."""
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
                square = int(round(math.sqrt(g))) ** 2 == g and g >= 4 and (tp == g or int(round(math.sqrt(tp))) ** 2 == tp)
                for two_d in ((0.0, 1.0) if (space.allow_2d and square) else (0.0,)):
                    rows.append((tp, ep, pp, two_d, rep, draft_rep, imbalance, 0.0))
    if model.is_mla and space.attention_dp:
        # DP attention (SGLang / vLLM for DeepSeek): attention replicated on every rank of a stage, each rank
        # with its own sequences' latent cache; experts spread by EP, FFN tensor-parallel within expert groups.
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
    attn_bytes = model.weight_bytes * model.attention_params_per_layer * model.n_layers
    weights = weights + attn_dp * (tp * ep - 1.0) * attn_bytes
    weights_per_gpu = weights / n * imbalance
    budget = np.asarray(engine.kv_budget_bytes(hbm_capacity_bytes, weights_per_gpu), float)
    kv_per_token = model.kv_cache_bytes_per_token * rep + (draft.kv_cache_bytes_per_token * draft_rep if draft else 0.0)
    kv_per_seq_per_gpu = kv_per_token * max(context_tokens, 0) / n * imbalance
    with np.errstate(divide="ignore", invalid="ignore"):
        capacity_tokens = np.where(budget > 0, budget * n / (kv_per_token * imbalance), 0.0)
        max_batch = np.where(budget <= 0, 0.0,
                             np.where(kv_per_seq_per_gpu > 0, np.floor(budget / np.where(kv_per_seq_per_gpu > 0, kv_per_seq_per_gpu, 1.0)),
                                      float(space.max_batch)))
    max_batch = np.minimum(max_batch, float(space.max_batch))
    return LayoutTable(tp, ep, pp, two_d, rep, draft_rep, imbalance, max_batch, capacity_tokens, rejected, attn_dp)


def batch_sizes(largest: float, n: int) -> np.ndarray:
    """Distinct integer batch sizes, log-spaced from 1 to `largest` (always including 1 and `largest`)."""
    largest = max(1, int(largest))
    return np.unique(np.round(np.geomspace(1, largest, n))).astype(float)
