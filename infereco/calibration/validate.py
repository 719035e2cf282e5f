"""Validation: calibrate on part of the measured runs, predict the rest, and say how close and how sure.

Cases (each a `ValidationCase`: the calibration, held-out predictions with 90% intervals, summary numbers):

- `validate_cpu_runs(split=...)`: the real vLLM CPU runs in tests/data/vllm_cpu_runs/ (tiny random Llama on
  one core of this machine's CPU, spec tests/data/calibration/cpu-2core-sandbox.yaml). Splits:
  `"brief"` = calibrate on max-concurrency ≤ 8 of the 128/64 mix, predict everything else (the issue's
  example); `"mix"` = calibrate on the 128/64 mix (all concurrencies), predict the 512/128 mix;
  `"concurrency"` = calibrate on concurrency ≤ 8 of both mixes, predict 16 and 32.
- `validate_public_static(split=...)`: TensorRT-LLM 0.6.1 static-batch tables on H100 SXM, FP8
  (public_measurements.csv), output throughput only. `"model"` = calibrate on Llama 2 70B (TP 2/4), predict
  Falcon 180B (TP 4/8); `"tp1"` = calibrate on the TP-1 models (GPT-J 6B, Llama 2 7B, multi-head attention),
  predict the multi-GPU grouped-query-attention ones (Llama 2 70B, Falcon 180B).
- `validate_gpu_decode()`: decode steps timed on a lent H200 (tests/data/gpu_decode/): calibrate on batch ≤ 16
  at context 1024, predict larger batches and context 4096.
- `uncalibrated_public()`: pure theory (datasheet peaks × the paper's caps, 70% FLOP / 75% bandwidth, no
  overheads) against measured decode throughput of the public GPU rows (static batches with known batch sizes;
  separately the TensorRT-LLM 0.17 max-throughput rows, whose batch is not published: assumed the largest
  that fits, at most 2048 sequences, 8192 batched tokens).

Every case uses the same automatic procedure (`calibrate(..., fit="auto")`, soft-l1 loss), so nothing is tuned
per split. The noise floor of a case with repeated runs is the median |% deviation| of each held-out run from
the mean of its repeats: no model of the mean can beat it by much.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from infereco.calibration.deploy import resolve_model_arg, serving_model
from infereco.calibration.fit import calibrate
from infereco.calibration.readers import (
    Measurement,
    MeasurementTable,
    load_public_measurements,
    load_vllm_results,
    serving_runs,
)
from infereco.calibration.result import (
    FIT_QUANTITIES,
    QUANTITY_LABELS,
    CalibrationResult,
    PredictionTable,
    load_calibrated_hardware,
    predict_with_intervals,
)
from infereco.errors import SpecError
from infereco.physics.serving import EngineConfig, MultiServingModel, ServingRuns
from infereco.specs.catalog import load_hardware, load_model, normalise_id
from infereco.specs.model import ModelSpec

__all__ = [
    "CPU_SPLITS",
    "PUBLIC_SPLITS",
    "TARGETS",
    "UncalibratedReport",
    "ValidationCase",
    "cpu_model_and_hardware",
    "load_cpu_runs",
    "load_gpu_decode",
    "public_model",
    "uncalibrated_gpu_decode",
    "uncalibrated_public",
    "validate_cpu_runs",
    "validate_gpu_decode",
    "validate_public_static",
]

# Every function takes the paths of its data (nothing is found relative to this file, which in an installed
# package has no data beside it). In the repository they are:
#   CPU runs            tests/data/vllm_cpu_runs/           (vLLM result files)
#   CPU specs           tests/data/calibration/             (tiny-llama.yaml, cpu-2core-sandbox.yaml)
#   H200 decode steps   tests/data/gpu_decode/h200_llama3_8b_bf16.json
#   public table        shared/reference/measured/public_measurements.csv (or $INFERECO_PUBLIC_MEASUREMENTS)

# The held-out targets: median |% error| per quantity, and the share of held-out values inside the 90%
# PI.
TARGETS = {"tpot_s": 10.0, "output_throughput_tokens_per_s": 10.0, "ttft_s": 25.0, "coverage": 0.8}


# --------------------------------------------------------------------------------------------- cases
@dataclasses.dataclass
class ValidationCase:
    """One calibrate-then-predict experiment."""

    name: str
    description: str
    result: CalibrationResult
    test: PredictionTable
    quantities: tuple[str, ...]
    noise_floor: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        return self.test.summary(self.quantities)

    @property
    def coverage(self) -> float:
        """Share of held-out (run, quantity) values inside their 90% prediction interval."""
        inside, n = 0, 0
        for q in self.quantities:
            m = self.test.measured(q)
            ok = np.isfinite(m) & np.isfinite(self.test.pred[q])
            inside += int(np.sum(self.test.inside(q)[ok]))
            n += int(ok.sum())
        return inside / n if n else math.nan

    def targets(self) -> dict[str, tuple[float, float, bool]]:
        """{what: (value, target, met)} for the quantities this case measures and the interval coverage."""
        out = {}
        for q in self.quantities:
            v = self.summary[q]["median_abs_pct_error"]
            out[q] = (v, TARGETS[q], bool(v <= TARGETS[q]))
        c = self.coverage
        out["coverage"] = (c, TARGETS["coverage"], bool(c >= TARGETS["coverage"]))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "summary": self.summary,
            "coverage_90": self.coverage,
            "noise_floor_median_abs_pct": self.noise_floor,
            "targets": {k: {"value": v, "target": t, "met": m} for k, (v, t, m) in self.targets().items()},
            "calibration": self.result.to_dict(),
            "held_out": self.test.to_records(),
        }


def _noise_floor(runs: ServingRuns, quantities) -> dict[str, float]:
    """Median |% deviation| of each run from the mean of the runs with the same lengths and concurrency."""
    keys = list(
        zip(
            runs.models or ("",) * len(runs),
            np.round(runs.input_len),
            np.round(runs.output_len),
            runs.concurrency,
            runs.request_rate,
        )
    )
    out = {}
    for q in quantities:
        m = runs.measured.get(q)
        if m is None:
            continue
        devs = []
        for k in set(keys):
            idx = [i for i, kk in enumerate(keys) if kk == k and np.isfinite(m[i])]
            if len(idx) >= 2:
                mean = float(np.mean(m[idx]))
                devs += [100.0 * abs(m[i] - mean) / mean for i in idx]
        if devs:
            out[q] = float(np.median(devs))
    return out


# --------------------------------------------------------------------------------------------- CPU runs
def cpu_model_and_hardware(calibration_dir: str | Path) -> tuple[ModelSpec, Any]:
    """The tiny Llama of the CPU runs and the single-core CPU spec (tiny-llama.yaml and cpu-2core-sandbox.yaml
    in `calibration_dir`, the repository's tests/data/calibration/)."""
    d = Path(calibration_dir)
    return resolve_model_arg(d / "tiny-llama.yaml"), load_calibrated_hardware(d / "cpu-2core-sandbox.yaml")


CPU_SPLITS: dict[str, tuple[str, Callable[[Measurement], bool]]] = {
    "brief": (
        "calibrate on max-concurrency <= 8 of the 128/64 mix; predict 128/64 at 16, 32 and all of 512/128",
        lambda r: r.max_concurrency <= 8 and round(r.input_len) == 128,
    ),
    "mix": (
        "calibrate on the 128/64 mix (concurrency 1-32); predict the 512/128 mix (concurrency 1-32)",
        lambda r: round(r.input_len) == 128,
    ),
    "concurrency": (
        "calibrate on max-concurrency <= 8 (both mixes); predict concurrency 16 and 32",
        lambda r: r.max_concurrency <= 8,
    ),
}


def load_cpu_runs(path: str | Path) -> MeasurementTable:
    """The vLLM CPU result files (*.json) in `path`."""
    files = sorted(Path(path).glob("*.json"))
    if not files:
        raise SpecError(f"{path}: no vLLM result files (*.json) yet; run scripts/measure_vllm_cpu.py")
    return load_vllm_results(files, model="tiny-llama", hardware="cpu-2core-sandbox")


def validate_cpu_runs(
    split: str = "brief", *, runs_dir: str | Path, calibration_dir: str | Path, **calibrate_kwargs: Any
) -> ValidationCase:
    """Calibrate on part of the real vLLM CPU runs in `runs_dir` (see `CPU_SPLITS`), predict the rest; the
    model and hardware specs come from `calibration_dir` (`cpu_model_and_hardware`)."""
    if split not in CPU_SPLITS:
        raise SpecError(f"validate_cpu_runs: split {split!r}; choose from {', '.join(CPU_SPLITS)}")
    desc, in_train = CPU_SPLITS[split]
    table = load_cpu_runs(runs_dir)
    train = table.filter(in_train)
    test = table.filter(lambda r: not in_train(r))
    m, hw = cpu_model_and_hardware(calibration_dir)
    kwargs = {"engine": EngineConfig.vllm_cpu(), **calibrate_kwargs}
    res = calibrate(train, m, hw, **kwargs)
    pt = res.predict(test)
    return ValidationCase(
        f"vLLM CPU runs ({split})", desc, res, pt, FIT_QUANTITIES, _noise_floor(pt.runs, FIT_QUANTITIES)
    )


# -------------------------------------------------------------------------------------------- public GPU data
# Models of the public tables that the catalog lacks (numbers from each model's Hugging Face config.json).
_PUBLIC_MODELS: dict[str, dict[str, Any]] = {
    "GPT-J-6B": {
        "name": "GPT-J 6B",
        "d_model": 4096,
        "d_ff": 16384,
        "ffn_matrices": (1, 1),
        "n_layers": 28,
        "n_heads": 16,
        "n_kv_heads": 16,
        "d_head": 256,
        "vocab_size": 50400,
        "parallel_attention": True,
        "source": "EleutherAI/gpt-j-6b config.json: n_embd 4096, n_layer 28, n_head 16, n_inner null "
        "(4·n_embd, GELU MLP), vocab 50400; attention and MLP in parallel",
    },
    "LLaMA(2)-7B": {
        "name": "Llama 2 7B",
        "d_model": 4096,
        "d_ff": 11008,
        "n_layers": 32,
        "n_heads": 32,
        "n_kv_heads": 32,
        "vocab_size": 32000,
        "source": "meta-llama/Llama-2-7b-hf config.json",
    },
    "Llama-2-13B": {
        "name": "Llama 2 13B",
        "d_model": 5120,
        "d_ff": 13824,
        "n_layers": 40,
        "n_heads": 40,
        "n_kv_heads": 40,
        "vocab_size": 32000,
        "source": "meta-llama/Llama-2-13b-hf config.json",
    },
    "Falcon-180B": {
        "name": "Falcon 180B",
        "d_model": 14848,
        "d_ff": 59392,
        "ffn_matrices": (1, 1),
        "n_layers": 80,
        "n_heads": 232,
        "n_kv_heads": 8,
        "d_head": 64,
        "vocab_size": 65024,
        "parallel_attention": True,
        "source": "tiiuae/falcon-180B config.json: hidden 14848, 80 layers, 232 heads, 8 KV heads, "
        "parallel attention, 4·hidden GELU MLP, vocab 65024",
    },
}
_CATALOG_ALIASES = {
    "LLaMA(2)-70B": "llama-2-70b",
    "Llama-2-70B": "llama-2-70b",
    "Llama-3.1-8B": "llama-3.1-8b",
    "Llama-3.1-70B": "llama-3.1-70b",
    "Llama-3.1-405B": "llama-3.1-405b",
    "Mixtral-8x7B": "mixtral-8x7b",
    "Mixtral-8x22B": "mixtral-8x22b",
}
_MISTRAL_7B = {
    "name": "Mistral 7B",
    "d_model": 4096,
    "d_ff": 14336,
    "n_layers": 32,
    "n_heads": 32,
    "n_kv_heads": 8,
    "vocab_size": 32768,
    "source": "mistralai/Mistral-7B-v0.3 config.json",
}


def _bits(precision: str | None) -> int:
    p = (precision or "").upper()
    return 8 if "FP8" in p or "INT8" in p else 16


def public_model(name: str, precision: str | None) -> ModelSpec | None:
    """A ModelSpec for a model name of the public table at its precision (FP8: 8-bit weights, activations and
    KV cache; otherwise 16-bit), or None when unknown."""
    bits = _bits(precision)
    if name in _PUBLIC_MODELS:
        base = dict(_PUBLIC_MODELS[name])
    elif name == "Mistral-7B":
        base = dict(_MISTRAL_7B)
    elif name in _CATALOG_ALIASES:
        base = load_model(_CATALOG_ALIASES[name]).model_dump()
    else:
        return None
    base.update(weight_bits=bits, activation_bits=bits, kv_cache_bits=bits)
    return ModelSpec.validated(base, where=f"public model {name}")


def _public_hardware(gpu: str):
    g = normalise_id(gpu.split(" (")[0])
    for cand in (g, g.replace("-sxm4", "-sxm"), g.replace("-480gb", ""), g.replace("-141gb", "")):
        try:
            return load_hardware(cand)
        except Exception:  # noqa: BLE001, S112 - try the next spelling
            continue
    return None


def _static_public_rows(pm) -> MeasurementTable:
    table = pm.to_table()
    return table.filter(
        lambda r: (
            r.output_throughput_tokens_per_s is not None
            and math.isfinite(r.max_concurrency)
            and r.engine in ("TensorRT-LLM 0.6.1", "TensorRT-LLM 0.5.0")
        )
    )


PUBLIC_SPLITS: dict[str, tuple[str, Callable[[Measurement], bool], Callable[[Measurement], bool]]] = {
    "model": (
        (
            "calibrate on Llama 2 70B (TP 2/4, 4 runs); predict Falcon 180B (TP 4/8, 4 runs); H100 FP8, "
            "output throughput only"
        ),
        lambda r: r.model == "LLaMA(2)-70B",
        lambda r: r.model == "Falcon-180B",
    ),
    "tp1": (
        (
            "calibrate on the TP-1 models GPT-J 6B and Llama 2 7B (8 runs, multi-head attention); predict "
            "Llama 2 70B and Falcon 180B at TP 2-8 (8 runs, grouped-query attention); H100 FP8"
        ),
        lambda r: r.tp == 1,
        lambda r: r.tp > 1,
    ),
}


def validate_public_static(
    split: str = "model", *, public_csv: str | Path | None = None, **calibrate_kwargs: Any
) -> ValidationCase:
    """Public TensorRT-LLM 0.6.1 static-batch tables on H100 SXM (FP8): calibrate on some models, predict
    others (`PUBLIC_SPLITS`). The held-out models are predicted with the fitted terms and their covariance.
    `public_csv`: the public table (None: `load_public_measurements`' lookup, $INFERECO_PUBLIC_MEASUREMENTS or
    shared/reference/measured/ from the working directory)."""
    if split not in PUBLIC_SPLITS:
        raise SpecError(f"validate_public_static: split {split!r}; choose from {', '.join(PUBLIC_SPLITS)}")
    desc, in_train, in_test = PUBLIC_SPLITS[split]
    rows = _static_public_rows(load_public_measurements(public_csv)).filter(
        hardware="H100-SXM-80GB", precision="FP8"
    )
    train = rows.filter(in_train)
    test = rows.filter(in_test)
    if len(train) == 0 or len(test) == 0:
        raise SpecError("validate_public_static: the public table has no H100 FP8 static-batch rows")
    models = {r.model: public_model(r.model, r.precision) for r in rows}
    hw = load_hardware("h100-sxm")
    kwargs = {"engine": EngineConfig.static_batch(), "static": True, **calibrate_kwargs}
    res = calibrate(train, {k: models[k] for k in {r.model for r in train}}, hw, **kwargs)
    sm = MultiServingModel(
        {
            k: serving_model(models[k], hw, engine=res.engine, preset=res.preset)
            for k in {r.model for r in test}
        }
    )
    runs = serving_runs(test, static=True)
    pt = predict_with_intervals(sm, runs, res.params, res.fitted, res.covariance_log, res.sigma, res.dof, 0.9)
    return ValidationCase(
        f"public H100 FP8 static batch ({split})", desc, res, pt, ("output_throughput_tokens_per_s",)
    )


# ------------------------------------------------------------------------------------------- GPU decode steps
def load_gpu_decode(path: str | Path) -> ServingRuns:
    """The H200 decode-step timings (a JSON file, the repository's
    tests/data/gpu_decode/h200_llama3_8b_bf16.json) as static runs (batch = concurrency, context = input_len,
    one step)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    res = data["results"]
    b = np.array([r["batch"] for r in res], float)
    c = np.array([r["context"] for r in res], float)
    t = np.array([r["step_s_median"] for r in res], float)
    return ServingRuns.make(
        c,
        1.0,
        concurrency=b,
        static=True,
        measured={"tpot_s": t},
        labels=[f"Llama 3 8B H200 decode b={x:g} ctx={y:g}" for x, y in zip(b, c)],
    )


def validate_gpu_decode(path: str | Path, **calibrate_kwargs: Any) -> ValidationCase:
    """Decode steps timed on a lent H200: calibrate on batch ≤ 16 at context 1024, predict the rest."""
    runs = load_gpu_decode(path)
    train_mask = (runs.concurrency <= 16) & (runs.input_len == 1024)
    kwargs = {"engine": EngineConfig.static_batch(), "quantities": ("tpot_s",), **calibrate_kwargs}
    res = calibrate(runs.subset(train_mask), "llama-3-8b", "h200", **kwargs)
    pt = res.predict(runs.subset(~train_mask))
    return ValidationCase(
        "H200 decode steps (timed here)",
        "calibrate on batch 1/4/16 at context 1024; predict batch 64/128 at 1024 and 1/8/32 at 4096",
        res,
        pt,
        ("tpot_s",),
    )


# --------------------------------------------------------------------------------------------- uncalibrated
@dataclasses.dataclass
class UncalibratedReport:
    """Pure theory (paper caps, no overheads) vs measured decode throughput: one row per public run."""

    rows: list[dict[str, Any]]
    note: str

    def stats(self, subset: str | None = None) -> dict[str, float]:
        rs = [r for r in self.rows if subset is None or r["set"] == subset]
        ratio = np.array([r["measured"] / r["predicted"] for r in rs])
        err = 100.0 * np.abs(1.0 / ratio - 1.0)
        if not rs:
            return {"n": 0}
        return {
            "n": len(rs),
            "median_abs_pct_error": float(np.median(err)),
            "median_measured_over_predicted": float(np.median(ratio)),
            "min_ratio": float(ratio.min()),
            "max_ratio": float(ratio.max()),
            "within_2x": float(np.mean((ratio <= 2.0) & (ratio >= 0.5))),
        }


PAPER_CAPS = {"flop_utilization": 0.7, "bandwidth_utilization": 0.75}


def uncalibrated_public(
    include_max_throughput: bool = True, *, public_csv: str | Path | None = None
) -> UncalibratedReport:
    """Theory with the paper's caps (70% of peak FLOP/s, 75% of HBM bandwidth) and the catalog's datasheet
    numbers, no calibration terms, against the public table's measured output throughput (`public_csv` as for
    `validate_public_static`)."""
    pm = load_public_measurements(public_csv)
    rows: list[dict[str, Any]] = []
    sets = [("static batch", _static_public_rows(pm), EngineConfig.static_batch(), True)]
    if include_max_throughput:
        mt = pm.to_table().filter(
            lambda r: (
                r.output_throughput_tokens_per_s is not None
                and math.isinf(r.max_concurrency)
                and r.engine == "TensorRT-LLM 0.17"
            )
        )
        sets.append(
            (
                "TRT-LLM 0.17 max throughput",
                mt,
                EngineConfig(max_num_batched_tokens=8192.0, max_num_seqs=2048.0, gpu_memory_utilization=0.9),
                False,
            )
        )
    for name, table, engine, static in sets:
        for r in table:
            m = public_model(r.model, r.precision)
            hw = _public_hardware(r.hardware or "")
            if m is None or hw is None:
                continue
            hw = hw.replace(**PAPER_CAPS)
            try:
                sm = serving_model(m, hw, engine=engine)
                runs = ServingRuns.make(
                    r.input_len, r.output_len, concurrency=r.max_concurrency, tp=r.tp, static=static
                )
                pred = float(sm.predict(runs).output_throughput_tokens_per_s[0])
            except SpecError:
                continue
            if not (math.isfinite(pred) and pred > 0):
                continue
            rows.append(
                {
                    "set": name,
                    "model": r.model,
                    "hardware": r.hardware,
                    "precision": r.precision,
                    "tp": r.tp,
                    "input_len": r.input_len,
                    "output_len": r.output_len,
                    "batch": r.max_concurrency,
                    "measured": float(r.output_throughput_tokens_per_s),
                    "predicted": pred,
                    "source": r.source,
                }
            )
    note = (
        "datasheet peaks × paper caps (70% FLOP, 75% bandwidth), no step/layer overheads; static batches use "
        "their published batch; TRT-LLM 0.17 max-throughput rows assume the largest batch that fits "
        "(≤ 2048 sequences, 8192 batched tokens, 90% of memory) because the batch is not published"
    )
    return UncalibratedReport(rows, note)


def uncalibrated_gpu_decode(path: str | Path) -> dict[str, float]:
    """Paper-caps theory vs the H200 decode steps (`load_gpu_decode(path)`): median measured/predicted step
    time."""
    runs = load_gpu_decode(path)
    sm = serving_model(
        load_model("llama-3-8b"),
        load_hardware("h200").replace(**PAPER_CAPS),
        engine=EngineConfig.static_batch(),
    )
    pred = sm.predict(runs).tpot_s
    ratio = runs.measured["tpot_s"] / pred
    return {
        "n": int(ratio.size),
        "median_measured_over_predicted": float(np.median(ratio)),
        "median_abs_pct_error": float(np.median(100 * np.abs(pred / runs.measured["tpot_s"] - 1))),
    }


def quantity_label(q: str) -> str:
    return QUANTITY_LABELS.get(q, q)
