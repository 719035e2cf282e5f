"""Hypothesis strategies for random *valid* models, hardware, workloads and configurations.

Imported by the other `test_properties_*` modules; the tests at the bottom check the strategies themselves
(every draw validates, and the ranges reach the corners the issue names: tiny models to 2T-parameter MoE,
context 0 to 1M, 1 to 4096 GPUs).

Sizes are drawn log-uniformly so that every decade is visited, and drawn *structurally* (heads = KV heads ×
group, widths in multiples of 64) so that nearly every draw is a valid spec without rejection sampling.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from infereco.physics.structs import Conventions, hardware_arrays, model_arrays  # noqa: E402
from infereco.search.erdil_grid import GridSpec  # noqa: E402
from infereco.search.evaluate import SpecArrays  # noqa: E402
from infereco.specs.hardware import HardwareSpec, NcclProtocol, default_nccl_protocols  # noqa: E402
from infereco.specs.model import ModelSpec  # noqa: E402

MAX_PARAMS = 2.5e12  # the "2T-parameter MoE", with headroom
SMALL_GRID = GridSpec(n_batch=40, n_gpu=40, n_thresholds=60)
JAX_AXIS = 40  # configuration axes for JAX checks: same shapes as SMALL_GRID, so one compilation serves both


# Every spec field name the strategies below put in the dicts they validate. A renamed field would otherwise
# not fail: the strategies would build invalid dicts (rejected, so hypothesis shrinks to fewer and fewer
# examples) or skip a conditional block. test_strategy_field_names_exist checks each against the pydantic
# model, and `_known_keys` makes the strategies use no key outside these lists, so the lists stay what is
# used.
MODEL_STRATEGY_FIELDS = (
    "name",
    "d_model",
    "n_layers",
    "n_heads",
    "n_kv_heads",
    "d_head",
    "vocab_size",
    "ffn_matrices",
    "weight_bits",
    "activation_bits",
    "parallel_attention",
    "d_ff",
    "n_experts",
    "n_active_experts",
    "n_shared_experts",
    "n_dense_layers",
    "d_ff_dense",
    "kv_lora_rank",
    "q_lora_rank",
    "qk_rope_head_dim",
)
HARDWARE_CALIBRATION_FIELDS = (
    "step_overhead_s",
    "layer_overhead_s",
    "collective_latency_scale",
    "memory_compute_overlap",
    "attention_bandwidth_utilization",
)
HARDWARE_STRATEGY_FIELDS = (
    "name",
    "flop_per_s",
    "hbm_bandwidth_bytes_per_s",
    "hbm_capacity_bytes",
    "l2_bytes",
    "intra_node_bandwidth_bytes_per_s",
    "inter_node_bandwidth_bytes_per_s",
    "node_size",
    "kernel_launch_s",
    "collectives",
    "nccl_protocols",
    "ring_hop_s",
    "flop_utilization",
    "bandwidth_utilization",
    "price_usd_per_hour",
) + HARDWARE_CALIBRATION_FIELDS


def _known_keys(fields: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    unlisted = sorted(set(fields) - set(known))
    assert not unlisted, f"strategy uses fields {unlisted} missing from its *_STRATEGY_FIELDS list"
    return fields


def profile_name() -> str:
    """The hypothesis profile this run loaded (tests/conftest.py): 'ci' unless HYPOTHESIS_PROFILE says
    otherwise."""
    import os

    return os.environ.get("HYPOTHESIS_PROFILE", "ci")


def examples(ci: int, long: int = 10_000) -> int:
    """max_examples for one test under the active profile: `ci` in 'ci', `long` in 'long', a fifth of it in
    'medium' (frontier-level tests are ~50× dearer than physics-level ones, so they ask for fewer)."""
    name = profile_name()
    if name == "long":
        return long
    if name == "medium":
        return max(ci, long // 5)
    return ci


def log_uniform(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(math.log10(lo), math.log10(hi), allow_nan=False, allow_infinity=False).map(
        lambda e: 10.0**e
    )


def log_int(lo: int, hi: int) -> st.SearchStrategy[int]:
    return log_uniform(lo, hi).map(lambda v: int(min(hi, max(lo, round(v)))))


# ---- models ------------------------------------------------------------------------------------------------
@st.composite
def model_specs(
    draw,
    kind: str | None = None,
    parallel_attention: bool | None = None,
    max_params: float = MAX_PARAMS,
    min_params: float = 1e5,
) -> ModelSpec:
    """A random valid decoder: dense, MoE, or MoE with multi-head latent attention (DeepSeek-like)."""
    kind = kind or draw(st.sampled_from(["dense", "dense", "moe", "mla"]))
    n_kv = draw(st.sampled_from([1, 2, 4, 8, 16, 32]))
    group = draw(st.sampled_from([1, 2, 4, 8, 16]))
    n_heads = n_kv * group
    d_head = draw(st.sampled_from([32, 64, 80, 96, 128, 192, 256]))
    d_model = 64 * draw(log_int(1, 256))  # 64 .. 16,384
    explicit_head = draw(st.booleans()) or d_model < n_heads
    fields: dict[str, Any] = dict(
        name=f"random-{kind}",
        d_model=d_model,
        n_layers=draw(log_int(1, 128)),
        n_heads=n_heads,
        n_kv_heads=n_kv,
        d_head=d_head if explicit_head else None,
        vocab_size=draw(st.one_of(st.just(0), log_int(256, 262_144))),
        ffn_matrices=draw(st.sampled_from([(2, 1), (1, 1)])),
        weight_bits=draw(st.sampled_from([4, 8, 16, 16])),
        activation_bits=draw(st.sampled_from([8, 16, 16])),
        parallel_attention=draw(st.booleans()) if parallel_attention is None else parallel_attention,
    )
    if kind == "dense":
        fields["d_ff"] = max(1, int(d_model * draw(st.floats(0.5, 6.0))))
    else:
        n_experts = draw(log_int(2, 256))
        fields.update(
            d_ff=max(1, int(d_model * draw(st.floats(0.1, 4.0)))),
            n_experts=n_experts,
            n_active_experts=draw(st.integers(1, min(8, n_experts))),
            n_shared_experts=draw(st.sampled_from([0, 0, 1, 2])),
        )
        if fields["n_layers"] > 1:
            fields["n_dense_layers"] = draw(st.integers(0, min(3, fields["n_layers"] - 1)))
            if fields["n_dense_layers"]:
                fields["d_ff_dense"] = max(1, int(d_model * draw(st.floats(1.0, 6.0))))
    if kind == "mla":
        fields.update(
            kv_lora_rank=64 * draw(st.integers(1, 16)),
            q_lora_rank=draw(st.one_of(st.none(), st.integers(2, 32).map(lambda k: 64 * k))),
            qk_rope_head_dim=draw(st.sampled_from([0, 32, 64, 128])),
            n_kv_heads=n_heads,  # MLA: every head has its own (latent-derived) K and V
        )
    spec = ModelSpec.validated(_known_keys(fields, MODEL_STRATEGY_FIELDS))
    # Shrink the depth (not the shape) of models above the size cap, then give up on the rare leftovers.
    if spec.total_params > max_params:
        layers = max(1, int(spec.n_layers * max_params / spec.total_params))
        fields["n_layers"] = layers
        fields["n_dense_layers"] = min(fields.get("n_dense_layers", 0), layers - 1)
        if not fields["n_dense_layers"]:
            fields.pop("d_ff_dense", None)
        spec = ModelSpec.validated(fields)
    assume(min_params <= spec.total_params <= max_params)
    return spec


def two_trillion_moe() -> ModelSpec:
    """A 2T-parameter MoE (shape of a rumoured frontier model), for @example."""
    spec = ModelSpec(
        name="2T MoE",
        d_model=16384,
        d_ff=4096,
        n_layers=120,
        n_heads=128,
        n_kv_heads=8,
        d_head=128,
        vocab_size=200_000,
        n_experts=80,
        n_active_experts=8,
        n_shared_experts=1,
    )
    assert 1.5e12 < spec.total_params < MAX_PARAMS, spec.total_params
    return spec


def tiny_model() -> ModelSpec:
    return ModelSpec(name="tiny", d_model=64, d_ff=128, n_layers=1, n_heads=1, n_kv_heads=1, vocab_size=0)


# ---- hardware ----------------------------------------------------------------------------------------------
@st.composite
def nccl_protocol_sets(draw, n: int | None = None) -> tuple[NcclProtocol, ...]:
    if n is None and draw(st.booleans()):
        return default_nccl_protocols()
    count = n or draw(st.integers(1, 3))
    time_s = st.one_of(st.just(0.0), log_uniform(1e-8, 1e-4))
    protocols = []
    for i in range(count):
        protocols.append(
            NcclProtocol(
                name=f"P{i}",
                base_s=draw(time_s),
                intra_hop_s=draw(time_s),
                inter_hop_s=draw(time_s),
                bandwidth_factor=draw(st.floats(0.05, 1.0)),
            )
        )
    return tuple(protocols)


@st.composite
def hardware_specs(
    draw,
    collectives: str | None = None,
    jax_structure: bool = False,
    capacity: st.SearchStrategy[float] | None = None,
    protocols: int | None = None,
) -> HardwareSpec:
    """A random valid accelerator. `jax_structure`: NCCL with three protocols, the pytree shape the JAX
    checks compile once for."""
    f16 = draw(log_uniform(1e12, 5e16))
    flop = {16: f16}
    if draw(st.booleans()):
        flop[8] = f16 * draw(st.sampled_from([1.0, 2.0]))
        if draw(st.booleans()):
            flop[4] = flop[8] * draw(st.sampled_from([1.0, 2.0]))
    if draw(st.booleans()):
        flop[32] = f16 / draw(st.sampled_from([1.0, 2.0, 8.0, 16.0]))
    coll = "nccl" if jax_structure else (collectives or draw(st.sampled_from(["nccl", "ring"])))
    calibration = {}  # fitted terms, where this version of the spec has them (zero / one in the catalog)
    if "step_overhead_s" in HardwareSpec.model_fields and draw(st.booleans()):
        calibration = dict(
            step_overhead_s=draw(st.one_of(st.just(0.0), log_uniform(1e-6, 1e-2))),
            layer_overhead_s=draw(st.one_of(st.just(0.0), log_uniform(1e-8, 1e-4))),
            collective_latency_scale=draw(log_uniform(0.1, 10.0)),
        )
        if "memory_compute_overlap" in HardwareSpec.model_fields:
            calibration.update(
                memory_compute_overlap=draw(st.one_of(st.just(1.0), st.just(0.0), st.floats(0.0, 1.0))),
                attention_bandwidth_utilization=draw(st.one_of(st.none(), st.floats(0.01, 1.0))),
            )
    return HardwareSpec.validated(
        _known_keys(
            dict(
                **calibration,
                name="random-accelerator",
                flop_per_s=flop,
                hbm_bandwidth_bytes_per_s=draw(log_uniform(1e11, 5e13)),
                hbm_capacity_bytes=draw(capacity if capacity is not None else log_uniform(1e9, 1e12)),
                l2_bytes=draw(st.one_of(st.just(0.0), log_uniform(1e6, 1e9))),
                intra_node_bandwidth_bytes_per_s=draw(st.one_of(st.just(math.inf), log_uniform(1e9, 1e13))),
                inter_node_bandwidth_bytes_per_s=draw(st.one_of(st.just(math.inf), log_uniform(1e8, 1e12))),
                node_size=draw(st.sampled_from([1, 2, 4, 8, 8, 16, 72, 256])),
                kernel_launch_s=draw(st.one_of(st.just(0.0), log_uniform(1e-7, 1e-4))),
                collectives=coll,
                nccl_protocols=draw(nccl_protocol_sets(n=3 if jax_structure else protocols)),
                ring_hop_s=draw(st.one_of(st.just(0.0), log_uniform(1e-8, 1e-4))),
                flop_utilization=draw(st.floats(0.05, 1.0)),
                bandwidth_utilization=draw(st.floats(0.05, 1.0)),
                price_usd_per_hour=draw(log_uniform(0.01, 100.0)),
            ),
            HARDWARE_STRATEGY_FIELDS,
        )
    )


def context_lengths(max_tokens: int = 1_000_000) -> st.SearchStrategy[int]:
    return st.one_of(st.just(0), st.just(max_tokens), log_int(1, max_tokens))


def gpu_axis(size: int) -> st.SearchStrategy[np.ndarray]:
    """`size` GPU counts spanning 1 .. 4096, always including exactly one GPU."""
    return log_uniform(1.0, 4096.0).map(lambda hi: np.geomspace(1.0, max(hi, 1.0 + 1e-9), size))


def batch_axis(size: int) -> st.SearchStrategy[np.ndarray]:
    """`size` batch sizes from 1 (or 0, to check that batch 0 is clean) up to ~1M."""
    return st.tuples(st.sampled_from([0.0, 1.0, 1.0]), log_uniform(2.0, 2.0**20)).map(
        lambda t: np.concatenate([[t[0]], np.geomspace(1.0, t[1], size - 1)])
    )


# ---- full physics cases ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PhysicsCase:
    model: ModelSpec
    hardware: HardwareSpec
    conv: Conventions
    context: float
    n_gpu: np.ndarray  # column (k, 1)
    batch: np.ndarray  # row (1, k)
    draft: ModelSpec | None = None
    acceptance: float = 0.0
    max_draft_tokens: int = 0

    def operand_bits(self, m: ModelSpec) -> int:
        return max(m.weight_bits, m.activation_bits)

    def arrays(self, hw: HardwareSpec | None = None):
        hw = hw or self.hardware
        ma = model_arrays(self.model)
        ha = hardware_arrays(hw, self.operand_bits(self.model))
        spec = None
        if self.draft is not None:
            spec = SpecArrays(
                model_arrays(self.draft),
                hardware_arrays(hw, self.operand_bits(self.draft)),
                float(self.acceptance),
                int(self.max_draft_tokens),
            )
        return ma, ha, spec

    def evaluate(
        self, hw: HardwareSpec | None = None, backend: str = "numpy", conv: Conventions | None = None
    ):
        from infereco.search.evaluate import evaluate

        ma, ha, spec = self.arrays(hw)
        return evaluate(
            ma, ha, conv or self.conv, self.n_gpu, self.batch, self.context, spec=spec, backend=backend
        )


@st.composite
def physics_cases(
    draw, structure: str = "any", speculative: bool | None = None, size: int = 12
) -> PhysicsCase:
    """A model, an accelerator, conventions, a context and a (GPUs × batch) outer product of configurations.

    `structure` controls what JAX would compile on:
    - 'any': everything random (numpy-backend laws);
    - 'jax-default': NCCL with three protocols, no parallel attention, default conventions, no speculative
      decoding, 40 × 40 configurations, so one compilation serves every example;
    - 'jax-variants': 40 × 40, three NCCL protocols, γ ≤ 4 when speculative: a finite set of 16 compiled
      structures (collectives × parallel attention × merged collectives × speculative or not).
    """
    jax_default = structure == "jax-default"
    model = draw(model_specs(parallel_attention=False if jax_default else None))
    hw = draw(hardware_specs(jax_structure=jax_default, protocols=3 if structure != "any" else None))
    if structure != "any":
        size = JAX_AXIS
    if jax_default:
        conv = Conventions()
    else:
        conv = Conventions(
            collectives=hw.collectives,
            parallel_attention_merges_collectives=draw(st.booleans()),
            spec_convention="notebook"
            if structure != "any"
            else draw(st.sampled_from(["notebook", "paper"])),
        )
    draft = None
    acceptance, gamma = 0.0, 0
    use_spec = (not jax_default) and (draw(st.integers(0, 3)) == 0 if speculative is None else speculative)
    if use_spec:
        draft = draw(model_specs(kind="dense", max_params=2e10, parallel_attention=False))
        acceptance = draw(st.floats(0.05, 1.0))
        gamma = 4 if structure != "any" else draw(st.integers(1, 6))
    return PhysicsCase(
        model=model,
        hardware=hw,
        conv=conv,
        context=float(draw(context_lengths())),
        n_gpu=draw(gpu_axis(size))[:, None],
        batch=draw(batch_axis(size))[None, :],
        draft=draft,
        acceptance=acceptance,
        max_draft_tokens=gamma,
    )


# ---- the strategies' own checks ----------------------------------------------------------------------------
def test_strategy_field_names_exist():
    # Imported here, not at the top: tests/test_hostile_fuzz.py imports this module.
    from infereco.observed import ObservedPoint
    from infereco.specs.scenario import Scenario
    from infereco.specs.serving import ServingSpec
    from infereco.specs.space import DiscreteSpace
    from infereco.specs.speculative import SpeculativeSpec
    from infereco.specs.workload import WorkloadSpec
    from tests import test_hostile_fuzz as fuzz

    def dataclass_fields(cls):
        return {f.name for f in dataclasses.fields(cls)}

    checks = {
        "MODEL_STRATEGY_FIELDS": (MODEL_STRATEGY_FIELDS, set(ModelSpec.model_fields)),
        "HARDWARE_STRATEGY_FIELDS": (HARDWARE_STRATEGY_FIELDS, set(HardwareSpec.model_fields)),
        "fuzz.MODEL_KEYS": (fuzz.MODEL_KEYS, set(ModelSpec.model_fields)),
        "fuzz.HARDWARE_KEYS": (fuzz.HARDWARE_KEYS, set(HardwareSpec.model_fields)),
        "fuzz.WORKLOAD_KEYS": (fuzz.WORKLOAD_KEYS, set(WorkloadSpec.model_fields)),
        "fuzz.SPEC_KEYS": (fuzz.SPEC_KEYS, set(SpeculativeSpec.model_fields)),
        "fuzz.SCENARIO_KEYS": (fuzz.SCENARIO_KEYS, set(Scenario.model_fields)),
        "fuzz.DISCRETE_KEYS": (fuzz.DISCRETE_KEYS, dataclass_fields(DiscreteSpace)),
        "fuzz.SERVING_KEYS": (fuzz.SERVING_KEYS, set(ServingSpec.model_fields)),
        "fuzz.OBSERVED_KEYS": (fuzz.OBSERVED_KEYS, dataclass_fields(ObservedPoint)),
    }
    stale = {
        name: sorted(set(keys) - fields) for name, (keys, fields) in checks.items() if set(keys) - fields
    }
    assert not stale, f"field names used by the strategies that the specs no longer have: {stale}"
    assert len(MODEL_STRATEGY_FIELDS) == len(set(MODEL_STRATEGY_FIELDS)) > 10


def test_corner_models_are_valid():
    assert two_trillion_moe().total_params > 1.5e12
    assert tiny_model().total_params < 1e6


@given(model_specs())
def test_random_models_are_valid_and_within_the_size_range(m):
    assert 1e5 <= m.total_params <= MAX_PARAMS
    assert m.head_dim >= 1 and m.n_heads % m.n_kv_heads == 0
    assert all(math.isfinite(v) for v in jax.tree_util.tree_leaves(model_arrays(m)))


@given(hardware_specs())
def test_random_hardware_is_valid(hw):
    assert hw.hbm_capacity_bytes >= 1e9 and hw.peak_flop_per_s(16) > 0
    ha = hardware_arrays(hw, 16)
    assert ha.flop_per_s <= ha.peak_flop_per_s
