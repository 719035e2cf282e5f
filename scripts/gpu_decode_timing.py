"""Time real decode steps of a Llama-shaped, random-weight transformer on a GPU (PyTorch, bf16, CUDA graphs).

    python scripts/gpu_decode_timing.py --out decode_times.json [--layers 32]

Each step: for every layer RMSNorm, fused QKV projection, GQA attention over a KV cache of `context` tokens
(torch scaled_dot_product_attention), output projection, RMSNorm, SwiGLU FFN; then the unembedding. One decode
token per sequence per step, like an engine's decode batch. The step is captured in a CUDA graph (as vLLM and
TensorRT-LLM do) and replayed; the time is the median over replays, from CUDA events.
Shapes: Llama 3 8B (d_model 4096, 32 heads, 8 KV heads, d_head 128, d_ff 14336, vocab 128256).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
import torch.nn.functional as F


def build(layers, d, h, kv, dh, f, vocab, device, dtype):
    g = torch.Generator(device=device).manual_seed(0)
    r = lambda *s: torch.randn(*s, device=device, dtype=dtype, generator=g) * 0.02  # noqa: E731
    return {
        "qkv": [r((h + 2 * kv) * dh, d) for _ in range(layers)],
        "o": [r(d, h * dh) for _ in range(layers)],
        "up": [r(2 * f, d) for _ in range(layers)],
        "down": [r(d, f) for _ in range(layers)],
        "unembed": r(vocab, d),
    }


def rms(x):
    return x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-5).to(x.dtype)


def decode_step(x, w, k_cache, v_cache, h, kv, dh, f):
    b = x.shape[0]
    for i in range(len(w["qkv"])):
        y = rms(x) @ w["qkv"][i].T
        q, k, v = y.split([h * dh, kv * dh, kv * dh], dim=-1)
        q = q.view(b, h, 1, dh)
        # the new token's K/V would be appended; the cache already holds `context` tokens
        a = F.scaled_dot_product_attention(q, k_cache[i], v_cache[i], enable_gqa=True)
        x = x + a.reshape(b, h * dh) @ w["o"][i].T
        u = rms(x) @ w["up"][i].T
        gate, up = u.split([f, f], dim=-1)
        x = x + (F.silu(gate) * up) @ w["down"][i].T
    return rms(x) @ w["unembed"].T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--cases", default="1024:1,4,16,64,128;4096:1,8,32")
    args = ap.parse_args()
    device, dtype = "cuda", torch.bfloat16
    d, h, kv, dh, f, vocab = 4096, 32, 8, 128, 14336, 128256
    w = build(args.layers, d, h, kv, dh, f, vocab, device, dtype)
    results = []
    for block in args.cases.split(";"):
        ctx_s, batches = block.split(":")
        ctx = int(ctx_s)
        for b in (int(v) for v in batches.split(",")):
            k_cache = [torch.randn(b, kv, ctx, dh, device=device, dtype=dtype) for _ in range(args.layers)]
            v_cache = [torch.randn(b, kv, ctx, dh, device=device, dtype=dtype) for _ in range(args.layers)]
            x = torch.randn(b, d, device=device, dtype=dtype)
            for _ in range(3):
                decode_step(x, w, k_cache, v_cache, h, kv, dh, f)
            torch.cuda.synchronize()
            graph = torch.cuda.CUDAGraph()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                decode_step(x, w, k_cache, v_cache, h, kv, dh, f)
            torch.cuda.current_stream().wait_stream(s)
            with torch.cuda.graph(graph):
                out = decode_step(x, w, k_cache, v_cache, h, kv, dh, f)
            times = []
            for _ in range(30):
                e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                e0.record()
                graph.replay()
                e1.record()
                torch.cuda.synchronize()
                times.append(e0.elapsed_time(e1) / 1e3)
            times.sort()
            weight_bytes = (
                sum(t.numel() * 2 for k in ("qkv", "o", "up", "down") for t in w[k])
                + w["unembed"].numel() * 2
            )
            kv_bytes = 2 * args.layers * b * kv * ctx * dh * 2
            results.append(
                {
                    "batch": b,
                    "context": ctx,
                    "layers": args.layers,
                    "step_s_median": times[len(times) // 2],
                    "step_s_min": times[0],
                    "weight_bytes": weight_bytes,
                    "kv_bytes": kv_bytes,
                }
            )
            print(json.dumps(results[-1]), flush=True)
            del k_cache, v_cache, graph, out
            torch.cuda.empty_cache()
    meta = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
        "dtype": "bfloat16",
        "model_shape": "Llama 3 8B (random weights)",
        "method": __doc__.strip().splitlines()[0],
    }
    with open(args.out, "w") as fh:
        json.dump({"meta": meta, "results": results}, fh, indent=1)


if __name__ == "__main__":
    main()
