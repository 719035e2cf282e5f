"""The memory fit follows what SGLang, TensorRT-LLM and vLLM do at start-up (infereco.specs.engines), on the
memory the driver reports (HardwareSpec.engine_memory_bytes), with numbers derived by hand here.

DeepSeek-R1 in FP8 at TP 4 on 4 × B200 ran in InferenceX (serving_runs.csv rows deepseek-ai/DeepSeek-R1,
b200_sxm, tp 4, sglang 0.5.9 and trtllm 1.2.0rc6); it must fit under every engine's rule.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infereco.api import evaluate_point
from infereco.errors import InfeasibleError, SpecError
from infereco.search.discrete import DiscreteSpace, enumerate_layouts
from infereco.specs.catalog import load_hardware, load_model
from infereco.specs.engines import ENGINES, get_engine, sglang_mem_fraction_static
from infereco.specs.hardware import HardwareSpec

MIB = 2**20
B200_VISIBLE = 183359 * MIB  # nvidia-smi memory.total of a B200, bytes (192.27 GB)
H100_VISIBLE = 81559 * MIB  # nvidia-smi memory.total of an H100 SXM, bytes (85.52 GB)


@pytest.fixture(scope="module")
def r1():
    return load_model("deepseek-r1")


def _r1_weights_per_gpu(r1, tp=4):
    # 671B parameters in FP8 (block scales: 1/512 bit per weight), BF16 embeddings: 672.94 GB over tp GPUs.
    assert r1.weight_memory_bytes == pytest.approx(672.936e9, rel=1e-5)
    return r1.weight_memory_bytes / tp


def test_visible_memory_in_the_catalog():
    b200, h100, h200 = load_hardware("b200"), load_hardware("h100-sxm"), load_hardware("h200")
    assert b200.hbm_capacity_bytes == 180e9 and b200.engine_memory_bytes == B200_VISIBLE
    assert h100.hbm_capacity_bytes == 80e9 and h100.engine_memory_bytes == H100_VISIBLE
    assert "nvidia-smi" in b200.sources["hbm_visible_bytes"]
    # Unsourced parts fall back to the marketing capacity.
    assert h200.hbm_visible_bytes is None and h200.engine_memory_bytes == h200.hbm_capacity_bytes


def test_visible_memory_unit_slip_is_named():
    with pytest.raises(ValueError, match="hbm_visible_bytes=85.52 looks like GB"):
        HardwareSpec(
            flop_per_s={16: 1e15},
            hbm_bandwidth_bytes_per_s=3e12,
            hbm_capacity_bytes=80e9,
            hbm_visible_bytes=85.52,
        )


def test_sglang_fraction_follows_server_args():
    # B200, TP 4, SGLang's defaults (chunked prefill 16384, CUDA graphs up to 512): reserved = 512 +
    # 1.5·16384 + 2·512 + 1024·4/8 = 26,624 MiB.
    assert sglang_mem_fraction_static(183359, 4) == round((183359 - 26624) / 183359, 3) == 0.855
    # H100 (81,559 MiB), TP 1: chunk 8192, graphs 256: 512 + 12288 + 512 + 128 = 13,440 MiB.
    assert sglang_mem_fraction_static(81559, 1) == round((81559 - 13440) / 81559, 3)
    # Small GPU (24 GiB): chunk 2048, graphs 24, no 10 GiB floor: 512 + 3072 + 48 + 128 = 3,760 MiB.
    assert sglang_mem_fraction_static(24 * 1024, 1) == round(1 - 3760 / 24576, 3)
    # DP attention over 8 ranks on B200: + 3·512·8 + 1.5·512·8 (graphs > 300) = + 18,432 MiB.
    dp = sglang_mem_fraction_static(183359, 8, dp_size=8, enable_dp_attention=True)
    assert dp == round((183359 - (512 + 24576 + 1024 + 1024 + 18432)) / 183359, 3)
    # The 10 GiB floor on GPUs above 60 GiB.
    assert sglang_mem_fraction_static(81559, 1, chunked_prefill_size=2048, cuda_graph_max_bs=8) == round(
        1 - 10240 / 81559, 3
    )
    # Vectorised over tp.
    np.testing.assert_array_equal(
        sglang_mem_fraction_static(183359, np.array([4, 8])), [0.855, round(1 - 27136 / 183359, 3)]
    )


def test_r1_fp8_tp4_b200_fits_every_engine(r1):
    w = _r1_weights_per_gpu(r1)  # 168.234 GB per GPU
    m = load_hardware("b200").engine_memory_bytes
    assert m == B200_VISIBLE
    # vLLM, gpu_memory_utilization 0.9: 0.9·192.266 − 1.5 (activations + runtime) − 168.234 = 3.31 GB.
    vllm = 0.9 * B200_VISIBLE - 1.5e9 - w
    assert vllm == pytest.approx(3.305e9, rel=1e-3)
    assert ENGINES["vllm"].kv_budget_bytes(m, w, tp_size=4) == pytest.approx(vllm)
    # TensorRT-LLM, free_gpu_memory_fraction 0.9 of what is left: 0.9·(192.266 − 1.5 − 168.234) = 20.28 GB;
    # InferenceX's TP-4 setting 0.75: 16.90 GB.
    trt = 0.9 * (B200_VISIBLE - 1.5e9 - w)
    assert trt == pytest.approx(20.279e9, rel=1e-3)
    assert ENGINES["trtllm"].kv_budget_bytes(m, w) == pytest.approx(trt)
    assert get_engine("trtllm", 0.75).kv_budget_bytes(m, w) == pytest.approx(trt / 0.9 * 0.75)
    # SGLang with the InferenceX TP-4 launch settings (chunked prefill 8192, CUDA graphs up to 32):
    # reserved = 512 + 1.5·8192 + 2·32 + 512 = 13,376 MiB, fraction 0.927 of the memory free before the
    # weights load (192.266 − 0.5 GB): 0.927·191.766 − 168.234 = 9.53 GB.
    sg = get_engine("sglang", chunked_prefill_size=8192, cuda_graph_max_bs=32)
    sglang = 0.927 * (B200_VISIBLE - 0.5e9) - w
    assert sglang == pytest.approx(9.533e9, rel=1e-3)
    assert sg.kv_budget_bytes(m, w, tp_size=4) == pytest.approx(sglang)
    # ... and with the mem_fraction_static 0.95 InferenceX passes: 0.95·191.766 − 168.234 = 13.94 GB.
    assert get_engine("sglang", 0.95).kv_budget_bytes(m, w) == pytest.approx(13.944e9, rel=1e-3)
    # SGLang's untouched defaults (0.855, for a 16k chunk and 512 CUDA graphs) do not leave room: InferenceX
    # had to override them.
    assert ENGINES["sglang"].kv_budget_bytes(m, w, tp_size=4) == pytest.approx(
        0.855 * 191.766e9 - w, rel=1e-4
    )
    assert ENGINES["sglang"].kv_budget_bytes(m, w, tp_size=4) < 0
    # The marketing 180 GB would not fit under vLLM: 0.9·180 − 1.5 − 168.234 < 0 (the bug this fixes).
    assert ENGINES["vllm"].kv_budget_bytes(180e9, w) < 0


@pytest.mark.parametrize("engine", ["vllm", "trtllm"])
def test_r1_fp8_tp4_b200_point_is_feasible(engine):
    p = evaluate_point("deepseek-r1", "b200", tp=4, batch_size=1, context_length=1000, engine=engine)
    assert p["n_gpu"] == 4 and p["tokens_per_s_per_request"] > 0


def test_r1_fp8_tp4_b200_layout_table_capacity(r1):
    # The layout search sees TP 4 with a KV capacity from the vLLM budget: 3.305 GB per GPU over 4 GPUs of
    # a 70,272 B/token latent cache (MLA, BF16) replicated on every TP rank.
    t = enumerate_layouts(r1, B200_VISIBLE, 1000, DiscreteSpace(engine="vllm", pp_degrees=(1,)))
    row = (t.tp == 4) & (t.ep == 1) & (t.attn_dp == 0)
    budget = 0.9 * B200_VISIBLE - 1.5e9 - r1.weight_memory_bytes / 4
    assert t.max_batch[row][0] == np.floor(budget / (r1.kv_cache_bytes_per_sequence(1000) * 4 / 4))
    assert t.max_batch[row][0] >= 40


def test_r1_bf16_on_4_h100_does_not_fit(r1):
    bf16 = r1.model_copy(update=dict(weight_bits=16, embedding_weight_bits=16, fp8_scale_bits=0.0), deep=True)
    # 1,341.8 GB of BF16 weights over 4 GPUs = 335.5 GB each, 4× an H100's 85.5 GB.
    assert bf16.weight_memory_bytes / 4 == pytest.approx(335.46e9, rel=1e-3)
    for engine in ("vllm", "sglang", "trtllm"):
        assert ENGINES[engine].kv_budget_bytes(H100_VISIBLE, bf16.weight_memory_bytes / 4, tp_size=4) < 0
        with pytest.raises(InfeasibleError, match=r"335\.5 GB of weights per accelerator leave a KV budget"):
            evaluate_point(bf16, "h100-sxm", tp=4, batch_size=1, engine=engine)


def test_engine_settings_are_checked():
    with pytest.raises(SpecError, match="cuda_graph_max_bs=0"):
        get_engine("sglang", cuda_graph_max_bs=0)
    with pytest.raises(SpecError, match="gpu_memory_utilization=1.5"):
        get_engine("vllm", 1.5)
    with pytest.raises(SpecError, match="gpu_memory_mib"):
        sglang_mem_fraction_static(-1.0)


@settings(max_examples=200, deadline=None)
@given(
    engine=st.sampled_from(["vllm", "sglang", "trtllm", "ideal"]),
    memory=st.floats(8e9, 300e9),
    w1=st.floats(0.0, 400e9),
    extra=st.floats(0.0, 400e9),
    tp=st.sampled_from([1, 2, 4, 8, 16]),
)
def test_more_weights_never_give_a_larger_kv_budget(engine, memory, w1, extra, tp):
    e = ENGINES[engine]
    small = float(e.kv_budget_bytes(memory, w1, tp_size=tp))
    large = float(e.kv_budget_bytes(memory, w1 + extra, tp_size=tp))
    assert large <= small
