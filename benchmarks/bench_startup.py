"""Start-up time of the command line and of `import infereco`, each in fresh processes (median of N runs).

    python benchmarks/bench_startup.py [--runs N] [--json OUT]

Measures, in the same run so the baselines share the machine's state: `python -c "pass"` and `python -c
"import jax"` (baselines), `python -c "import infereco"` (lazy), `from infereco import pareto_frontier` (the
library and JAX load on first use), `infereco --help`, `infereco frontier --help` and a usage error (`infereco
sweep ... --contexts abc`, exit 2). `infereco ...` runs what the installed console script runs (`from
infereco.cli.main import main; main()`), with this checkout first on the path. A separate, untimed run of each
command reports whether it imported JAX (`'jax' in sys.modules` at exit). Prints a table with the CPU model
from /proc/cpuinfo; no assertions (the import-graph property is tests/test_cli_startup.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from _host import cpu_model  # benchmarks/ is on sys.path when a script runs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRY = (
    "import sys; sys.argv = ['infereco', *sys.argv[1:]]; "
    "from infereco.cli.main import main; raise SystemExit(main())"
)

# label -> (python arguments, expected exit codes)
COMMANDS: dict[str, tuple[list[str], tuple[int, ...]]] = {
    'python -c "pass"': (["-c", "pass"], (0,)),
    'python -c "import jax"': (["-c", "import jax"], (0,)),
    'python -c "import infereco"': (["-c", "import infereco"], (0,)),
    'python -c "from infereco import pareto_frontier"': (
        ["-c", "from infereco import pareto_frontier"],
        (0,),
    ),
    "infereco --help": (["-c", ENTRY, "--help"], (0,)),
    "infereco frontier --help": (["-c", ENTRY, "frontier", "--help"], (0,)),
    "infereco sweep --models llama-3-8b --hardware h100-sxm --contexts abc (usage error)": (
        ["-c", ENTRY, "sweep", "--models", "llama-3-8b", "--hardware", "h100-sxm", "--contexts", "abc"],
        (2,),
    ),
}

PROBE = (
    "import atexit, sys; "
    "atexit.register(lambda: sys.stderr.write('\\nJAX-IMPORTED=%s\\n' % ('jax' in sys.modules)))\n"
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def time_once(args: list[str], codes: tuple[int, ...]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    dt = time.perf_counter() - t0
    if r.returncode not in codes:
        raise SystemExit(f"{args}: exit code {r.returncode}, expected {codes}:\n{r.stderr}")
    return dt


def imports_jax(args: list[str]) -> bool:
    """Whether the command imported jax (a separate, untimed run with an exit hook)."""
    probed = ["-c", PROBE + args[1]] + args[2:] if args[0] == "-c" else args
    r = subprocess.run([sys.executable, *probed], cwd=REPO, env=_env(), capture_output=True, text=True)
    return "JAX-IMPORTED=True" in r.stderr


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=11, help="fresh processes per command (default 11)")
    ap.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    a = ap.parse_args(argv)
    if a.runs < 1:
        ap.error("--runs: expected a positive integer")
    results = []
    for label, (args, codes) in COMMANDS.items():
        time_once(args, codes)  # warm the file cache; not counted
        times = [time_once(args, codes) for _ in range(a.runs)]
        results.append(
            {
                "command": label,
                "median_s": statistics.median(times),
                "min_s": min(times),
                "max_s": max(times),
                "runs": a.runs,
                "imports_jax": imports_jax(args),
            }
        )
    cpu = cpu_model()
    print(f"infereco start-up, fresh processes, median of {a.runs} runs")
    print(f"CPU: {cpu} ({os.cpu_count()} logical cores); Python {platform.python_version()}")
    w = max(len(r["command"]) for r in results)
    print(f"{'command':<{w}}  {'median s':>8}  {'min s':>6}  {'max s':>6}  jax imported")
    print(f"{'─' * w}  {'─' * 8}  {'─' * 6}  {'─' * 6}  {'─' * 12}")
    for r in results:
        print(
            f"{r['command']:<{w}}  {r['median_s']:8.3f}  {r['min_s']:6.3f}  {r['max_s']:6.3f}  "
            f"{'yes' if r['imports_jax'] else 'no'}"
        )
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "cpu": cpu,
                    "cpu_count": os.cpu_count(),
                    "python": platform.python_version(),
                    "results": results,
                },
                fh,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
