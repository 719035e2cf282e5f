"""Compare the committed GPU decode timings with infereco's uncalibrated predictions (prints a markdown
table).

python scripts/compare_gpu_decode.py [tests/data/gpu_decode/h200_llama3_8b_bf16.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from infereco import evaluate_point

HARDWARE = {"NVIDIA H200": "h200", "NVIDIA H100 80GB HBM3": "h100-sxm"}


def main(path: str | None = None) -> int:
    p = Path(path or Path(__file__).resolve().parents[1] / "tests/data/gpu_decode/h200_llama3_8b_bf16.json")
    data = json.loads(p.read_text())
    hw = HARDWARE.get(data["meta"]["device"], "h200")
    print(f"{data['meta']['device']} ({hw}), {data['meta']['model_shape']}, {data['meta']['dtype']}")
    print("| batch | context | measured ms | predicted ms | measured / predicted | bound |")
    print("|---|---|---|---|---|---|")
    for r in data["results"]:
        q = evaluate_point(
            "llama-3-8b", hw, tp=1, batch_size=r["batch"], context_length=r["context"], engine="ideal"
        )
        print(
            f"| {r['batch']} | {r['context']} | {r['step_s_median'] * 1e3:.2f} "
            f"| {q['latency_s'] * 1e3:.2f} | {r['step_s_median'] / q['latency_s']:.2f} | {q['bound']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
