"""Start-up is a property of the import graph: `--help`, usage errors and path checks answer before JAX (or
the library beyond `infereco.errors`) is imported; `import infereco` is lazy but keeps every public name, and
JAX is in float64 before anything of infereco that uses it loads. (Timings: benchmarks/bench_startup.py.)"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
# The parsers may read the calibration-term registry (infereco.specs.terms, standard library only) for --help;
# any other spec module pulls in pydantic.
HEAVY = (
    "jax",
    "numpy",
    "pydantic",
    "yaml",
    "matplotlib",
    "infereco.api",
    "infereco.specs.catalog",
    "infereco.specs.hardware",
    "infereco.physics.latency",
)

PROBE = """
import json, sys
from infereco.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": [m for m in %r if m in sys.modules]}), file=sys.stderr)
""" % (HEAVY,)


def _probe(*argv: str, cwd: Path) -> tuple[int, list[str], str]:
    r = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=cwd, env=ENV, timeout=120
    )
    *messages, last = r.stderr.strip().splitlines()
    result = json.loads(last)
    return result["code"], result["loaded"], r.stdout + "\n".join(messages)


SUBCOMMANDS = ("frontier", "point", "compare", "sweep", "cost", "calibrate", "catalog")


@pytest.mark.parametrize("argv", [("--help",), ()] + [(c, "--help") for c in SUBCOMMANDS])
def test_help_imports_neither_jax_nor_the_library(argv, tmp_path):
    code, loaded, out = _probe(*argv, cwd=tmp_path)
    assert code in (0, 2) and "usage: infereco" in out
    assert loaded == [], f"`infereco {' '.join(argv)}` imported {loaded}"


@pytest.mark.parametrize(
    "argv",
    [
        ("frontier", "--bogus"),
        ("sweep", "--models", "llama-3-8b", "--hardware", "h100-sxm", "--contexts", "abc"),
        ("compare", "m@h:abc"),
        ("frontier", "--plot", "x.xyz"),
        ("frontier", "--plot", "no-such-folder/x.png"),
        ("calibrate", "runs.json", "--model", "m", "--hardware", "h", "--out", "no-such-folder/x.yaml"),
    ],
)
def test_usage_and_path_errors_answer_before_jax(argv, tmp_path):
    code, loaded, out = _probe(*argv, cwd=tmp_path)
    assert code in (1, 2) and "error:" in out
    assert loaded == [], f"`infereco {' '.join(argv)}` imported {loaded} before failing"
    assert not list(tmp_path.iterdir())


def test_python_dash_m_help_does_not_import_jax(tmp_path):
    code = (
        "import runpy, sys\nsys.argv = ['infereco', '--help']\ntry:\n"
        "    runpy.run_module('infereco', run_name='__main__')\n"
        "except SystemExit:\n    pass\nprint('jax' in sys.modules, file=sys.stderr)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=120
    )
    assert r.stderr.strip().splitlines()[-1] == "False" and "usage: infereco" in r.stdout


def _run_python(code: str, tmp_path) -> str:
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=300
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_import_infereco_is_lazy_and_float64_comes_with_the_first_jax_module(tmp_path):
    out = _run_python(
        "import sys, infereco\n"
        "print('jax' in sys.modules)\n"
        "f = infereco.pareto_frontier\n"
        "import jax\n"
        "print(jax.config.jax_enable_x64)\n",
        tmp_path,
    )
    assert out.splitlines() == ["False", "True"]


@pytest.mark.parametrize(
    "module",
    [
        "infereco.physics.latency",
        "infereco.search.evaluate",
        "infereco.api",
        "infereco.economics.sensitivity",
    ],
)
def test_direct_submodule_import_sets_float64(module, tmp_path):
    out = _run_python(f"import {module}\nimport jax.numpy as jnp\nprint(jnp.zeros(1).dtype)", tmp_path)
    assert out == "float64"


def test_public_names_resolve_and_sweep_stays_the_function(tmp_path):
    out = _run_python(
        "import infereco, importlib, inspect\n"
        "import infereco.sweep\n"  # binding the submodule on the package must not hide the function
        "assert callable(infereco.sweep) and not inspect.ismodule(infereco.sweep), infereco.sweep\n"
        "from infereco import sweep\n"
        "assert not inspect.ismodule(sweep)\n"
        "assert len(infereco.__all__) == len(set(infereco.__all__))\n"
        "assert set(infereco.__all__) <= set(dir(infereco))\n"
        "for name in infereco.__all__:\n"
        "    getattr(infereco, name)\n"
        "try:\n"
        "    infereco.no_such_name\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n",
        tmp_path,
    )
    assert "no_such_name" in out


def test_all_is_the_same_public_api():
    import infereco

    assert set(infereco.__all__) == set(infereco._LAZY) | {
        "InferecoError",
        "SpecError",
        "ScenarioError",
        "CatalogError",
        "InfeasibleError",
    }


# The parser modules (infereco/cli/<name>.py, and main.py) import only the standard library, infereco.errors
# and infereco.cli's own cheap modules; the handlers (cli/_run_*.py) import the library at module level.
CHEAP = {"infereco.errors", "infereco.specs.terms", "infereco.cli", "infereco.cli._common"} | {
    f"infereco.cli.{c}" for c in SUBCOMMANDS
}


@pytest.mark.parametrize("name", [*SUBCOMMANDS, "main", "_common"])
def test_parser_modules_import_nothing_heavy(name):
    tree = ast.parse((REPO / "infereco" / "cli" / f"{name}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("infereco"):
            assert node.module in CHEAP, f"cli/{name}.py imports {node.module}"
        elif isinstance(node, ast.ImportFrom):
            assert node.module.split(".")[0] in sys.stdlib_module_names or node.module == "__future__", (
                node.module
            )
        elif isinstance(node, ast.Import):
            for a in node.names:
                assert a.name.split(".")[0] in sys.stdlib_module_names, f"cli/{name}.py imports {a.name}"


def test_every_handler_named_by_a_parser_exists():
    from infereco.cli.main import build_parser, resolve

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name, p in sub.choices.items():
        target = p.get_default("func")
        assert isinstance(target, str) and target == f"infereco.cli._run_{name}:run"
        assert callable(resolve(target))


def test_import_infereco_after_jax_sets_float64_at_once(tmp_path):
    out = _run_python(
        "import jax\nimport infereco\nimport jax.numpy as jnp\nprint(jnp.zeros(1).dtype)", tmp_path
    )
    assert out == "float64"
