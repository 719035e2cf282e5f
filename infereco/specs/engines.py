"""Memory fit per serving engine: how much of each accelerator's memory holds weights and KV cache.

Every rule starts from the memory the driver reports (`HardwareSpec.engine_memory_bytes`: `nvidia-smi`'s
`memory.total`, what the engines read; not the marketing capacity) and follows the engine's own start-up
arithmetic, in bytes per accelerator (M = engine memory, W = weights on the accelerator):

- `vllm`: KV = u·M − W − activation peak − non-torch memory, u = `--gpu-memory-utilization` (default 0.9)
  (vLLM `Worker.determine_available_memory`: `requested_memory = total × gpu_memory_utilization`,
  `available_kv_cache_memory = requested_memory − non_kv_cache_memory`, the latter weights + profiled
  activation peak + non-torch allocations).
- `sglang`: KV = f·(M − r) − W, f = `--mem-fraction-static` (`sglang_mem_fraction_static`: SGLang's default
  heuristic, which depends on the GPU memory, the chunked-prefill size, the CUDA-graph batch, tp·pp and DP
  attention), r = the runtime memory already held before the weights load (SGLang
  `profile_max_num_token`: `rest_memory = available_after_load − total_before_load × (1 − f)`).
- `trtllm`: KV = f·(M − r − activation peak − W), f = `kv_cache_config.free_gpu_memory_fraction` (default
  0.9; TensorRT-LLM PyTorch backend `_cal_max_tokens`: `(total_gpu_memory − peak_memory) × fraction`).
- `ideal`: all memory for weights and KV (the Erdil papers' fit rule).

The activation and runtime reserves are fixed estimates (CUDA context, NCCL and cuBLAS workspaces, CUDA
graphs), since the engines profile them at start-up.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from infereco.errors import SpecError

MIB = float(1 << 20)

# SGLang `ServerArgs._handle_gpu_memory_settings` (python/sglang/srt/server_args.py): per GPU memory bracket
# (upper bound in MiB), the default chunked-prefill size and the CUDA-graph batch for tp < 4 / tp ≥ 4.
_SGLANG_BRACKETS = (
    (20 * 1024, 2048, 8, 8),  # T4, 4080
    (35 * 1024, 2048, 24, 80),  # A10, 4090, 5090
    (60 * 1024, 4096, 32, 160),  # A100 40GB, L40
    (90 * 1024, 8192, 256, 512),  # H100, A100 80GB
    (160 * 1024, 8192, 256, 512),  # H20, H200
    (float("inf"), 16384, 512, 512),  # B200, MI300
)


def sglang_mem_fraction_static(
    gpu_memory_mib,
    tp_size=1,
    pp_size=1,
    *,
    dp_size=1,
    enable_dp_attention=False,
    chunked_prefill_size: int | None = None,
    cuda_graph_max_bs: int | None = None,
    speculative: str | None = None,
):
    """SGLang's default `--mem-fraction-static` (a fraction of GPU memory for weights + KV cache).

    Follows `ServerArgs._handle_gpu_memory_settings` of SGLang (sgl-project/sglang,
    python/sglang/srt/server_args.py, v0.5.x): the GPU memory `gpu_memory_mib` (MiB, what `nvidia-smi`
    reports, as SGLang's `get_nvgpu_memory_capacity` reads it) picks a default `chunked_prefill_size` and
    `cuda_graph_max_bs` (unless given); then reserved = 512 + 1.5·max(chunked_prefill_size, 2048) +
    2·cuda_graph_max_bs + 1024·tp·pp/8 MiB, plus 3·cuda_graph_max_bs·dp (and 1.5·cuda_graph_max_bs·dp when
    cuda_graph_max_bs > 300) with DP attention, at least 10 GiB on GPUs above 60 GiB, plus 2 GiB for a draft
    model (EAGLE / MTP; 6 GiB for 'STANDALONE', none for 'NGRAM'); the fraction is
    round((gpu_memory − reserved) / gpu_memory, 3). Vectorised over numpy arrays of `tp_size`, `pp_size`,
    `dp_size`, `enable_dp_attention`.

    B200 (183,359 MiB), TP 4 with the defaults (16k chunk, 512 graphs): 1 − 26,624 / 183,359; with the
    InferenceX DeepSeek-R1 FP8 TP-4 launch settings (8k chunk, 32 graphs): 1 − 13,376 / 183,359.

    >>> float(sglang_mem_fraction_static(183359, tp_size=4))
    0.855
    >>> float(sglang_mem_fraction_static(183359, 4, chunked_prefill_size=8192, cuda_graph_max_bs=32))
    0.927
    """
    mem = np.asarray(gpu_memory_mib, float)
    if not np.all(np.isfinite(mem) & (mem > 0)):
        raise SpecError(f"gpu_memory_mib={gpu_memory_mib!r}: expected a positive number of MiB, e.g. 183359")
    tp = np.asarray(tp_size, float)
    pp = np.asarray(pp_size, float)
    dp = np.asarray(dp_size, float)
    dp_attn = np.asarray(enable_dp_attention, bool)
    chunk = np.zeros(np.shape(mem))
    graphs = np.zeros(np.broadcast_shapes(np.shape(mem), np.shape(tp)))
    lower = 0.0
    for upper, c, g_small, g_large in _SGLANG_BRACKETS:
        in_bracket = (mem >= lower) & (mem < upper)
        chunk = np.where(in_bracket, c, chunk)
        graphs = np.where(in_bracket, np.where(tp < 4, g_small, g_large), graphs)
        lower = upper
    if chunked_prefill_size is not None:
        chunk = np.full(np.shape(mem), float(chunked_prefill_size))
    if cuda_graph_max_bs is not None:
        graphs = np.full(np.shape(graphs), float(cuda_graph_max_bs))
    reserved = 512.0 + np.maximum(chunk, 2048.0) * 1.5 + graphs * 2.0 + tp * pp / 8.0 * 1024.0
    reserved = reserved + np.where(
        dp_attn, graphs * dp * 3.0 + np.where(graphs > 300, graphs * dp * 1.5, 0.0), 0.0
    )
    reserved = np.where(mem > 60 * 1024, np.maximum(reserved, 10 * 1024.0), reserved)
    if speculative is not None:
        reserved = reserved + {"STANDALONE": 6 * 1024.0, "NGRAM": 0.0}.get(
            str(speculative).upper(), 2 * 1024.0
        )
    return np.round((mem - reserved) / mem, 3)


@dataclasses.dataclass(frozen=True)
class EngineMemory:
    """How an engine splits one accelerator's memory, bytes per accelerator (module docstring).

    - `rule`: 'vllm', 'sglang', 'trtllm' or 'ideal' (which formula).
    - `usable_fraction`: vLLM `gpu_memory_utilization`, SGLang `mem_fraction_static`, TensorRT-LLM
      `free_gpu_memory_fraction`; None (SGLang only) = SGLang's own default heuristic.
    - `activation_reserve_bytes`, `runtime_reserve_bytes`: activation peak; CUDA context, NCCL, workspaces.
    - `chunked_prefill_size`, `cuda_graph_max_bs`: SGLang launch settings its default fraction reads
      (None = SGLang's defaults for the GPU).

    >>> e = ENGINES["trtllm"]
    >>> round(float(e.kv_budget_bytes(192.27e9, 168.23e9)) / 1e9, 2)  # 0.9·(192.27 − 1.5 − 168.23) GB
    20.29
    """

    name: str
    usable_fraction: float | None
    activation_reserve_bytes: float
    runtime_reserve_bytes: float
    fraction_after_weights: bool = False  # TensorRT-LLM applies its fraction to memory left after weights
    rule: str = ""
    chunked_prefill_size: int | None = None
    cuda_graph_max_bs: int | None = None

    def __post_init__(self):
        if not self.rule:
            object.__setattr__(self, "rule", "trtllm" if self.fraction_after_weights else self.name)
        if self.rule not in ("vllm", "sglang", "trtllm", "ideal"):
            raise SpecError(f"rule={self.rule!r}: expected one of vllm, sglang, trtllm, ideal")
        if self.usable_fraction is None and self.rule != "sglang":
            raise SpecError(f"{self.name}: usable_fraction=None is only meaningful for the sglang rule")

    def fraction(self, engine_memory_bytes, tp_size=1, pp_size=1, attn_dp_size=0):
        """The engine's memory fraction (the SGLang default heuristic where `usable_fraction` is None).

        `attn_dp_size` > 0: DP attention over that many ranks (SGLang reserves more memory for it).

        >>> float(ENGINES["sglang"].fraction(183359 * 2**20, tp_size=8))
        0.852
        """
        if self.usable_fraction is not None:
            return self.usable_fraction
        dp = np.asarray(attn_dp_size, float)
        return sglang_mem_fraction_static(
            np.asarray(engine_memory_bytes, float) / MIB,
            tp_size,
            pp_size,
            dp_size=np.maximum(dp, 1.0),
            enable_dp_attention=dp > 0,
            chunked_prefill_size=self.chunked_prefill_size,
            cuda_graph_max_bs=self.cuda_graph_max_bs,
        )

    def kv_budget_bytes(
        self, engine_memory_bytes, weights_per_gpu_bytes, tp_size=1, pp_size=1, attn_dp_size=0
    ):
        """Bytes per accelerator left for the KV cache (negative: the layout does not fit).

        `engine_memory_bytes`: the memory the engine sees (`HardwareSpec.engine_memory_bytes`), bytes;
        `weights_per_gpu_bytes`: weights held by one accelerator, bytes; `tp_size`, `pp_size`,
        `attn_dp_size`: the layout (SGLang's default fraction depends on them). Vectorised over arrays.

        >>> float(ENGINES["vllm"].kv_budget_bytes(100e9, 50e9))  # 0.9·100 − 1.5 − 50 GB
        38500000000.0
        """
        mem = np.asarray(engine_memory_bytes, float)
        w = np.asarray(weights_per_gpu_bytes, float)
        reserve = self.runtime_reserve_bytes + self.activation_reserve_bytes
        if self.rule == "trtllm":
            return self.usable_fraction * (mem - reserve - w)
        if self.rule == "sglang":
            f = self.fraction(mem, tp_size, pp_size, attn_dp_size)
            return f * (mem - self.runtime_reserve_bytes) - self.activation_reserve_bytes - w
        return self.usable_fraction * mem - reserve - w


ENGINES: dict[str, EngineMemory] = {
    "vllm": EngineMemory(
        "vllm", usable_fraction=0.9, activation_reserve_bytes=1.0e9, runtime_reserve_bytes=0.5e9
    ),
    "sglang": EngineMemory(
        "sglang", usable_fraction=None, activation_reserve_bytes=0.0, runtime_reserve_bytes=0.5e9
    ),
    "trtllm": EngineMemory(
        "trtllm",
        usable_fraction=0.9,
        activation_reserve_bytes=1.0e9,
        runtime_reserve_bytes=0.5e9,
        fraction_after_weights=True,
    ),
    "ideal": EngineMemory(
        "ideal", usable_fraction=1.0, activation_reserve_bytes=0.0, runtime_reserve_bytes=0.0
    ),
}


def get_engine(
    name: str | EngineMemory,
    gpu_memory_utilization: float | None = None,
    *,
    chunked_prefill_size: int | None = None,
    cuda_graph_max_bs: int | None = None,
) -> EngineMemory:
    """An engine memory rule by name ('vllm', 'sglang', 'trtllm', 'ideal'), optionally with another
    fraction (vLLM `gpu_memory_utilization`, SGLang `mem_fraction_static`, TensorRT-LLM
    `free_gpu_memory_fraction`) or, for SGLang's default fraction, other launch settings.

    >>> get_engine("sglang", 0.95).usable_fraction
    0.95
    >>> get_engine("sglang", chunked_prefill_size=8192, cuda_graph_max_bs=32).cuda_graph_max_bs
    32
    """
    if isinstance(name, EngineMemory):
        engine = name
    else:
        key = str(name).lower()
        if key not in ENGINES:
            raise SpecError(f"engine={name!r}: unknown engine; known engines: {', '.join(ENGINES)}")
        engine = ENGINES[key]
    if gpu_memory_utilization is not None:
        if not 0 < gpu_memory_utilization <= 1:
            raise SpecError(f"gpu_memory_utilization={gpu_memory_utilization}: expected a fraction in (0, 1]")
        engine = dataclasses.replace(engine, usable_fraction=float(gpu_memory_utilization))
    for field, value in (
        ("chunked_prefill_size", chunked_prefill_size),
        ("cuda_graph_max_bs", cuda_graph_max_bs),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 1 << 20:
            raise SpecError(f"{field}={value!r}: expected an integer from 1 to {1 << 20}")
        engine = dataclasses.replace(engine, **{field: int(value)})
    return engine
