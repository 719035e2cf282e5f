"""The documentation (issue 7, "Done means": `mkdocs build --strict` passes in CI).

- the site builds with `mkdocs build --strict` (skipped, with the reason, when the `docs` extra is not
  installed: pip install ".[docs]");
- docs/catalog.md matches the catalog (it is generated: python scripts/gen_catalog_docs.py);
- the Python examples of the five-minute start run as written.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def _missing_docs_packages() -> list[str]:
    wanted = {
        "mkdocs": "mkdocs",
        "material": "mkdocs-material",
        "mkdocstrings": "mkdocstrings",
        "mkdocstrings_handlers.python": "mkdocstrings[python]",
    }
    missing = []
    for module, package in wanted.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package of a dotted name is missing
            found = False
        if not found:
            missing.append(package)
    return missing


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    missing = _missing_docs_packages()
    if missing:
        pytest.skip(f"the docs extra is not installed (missing {', '.join(missing)}): pip install '.[docs]'")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert out.returncode == 0, f"mkdocs build --strict failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    site = tmp_path / "site"
    for page in (
        "index.html",
        "quickstart/index.html",
        "theory/index.html",
        "catalog/index.html",
        "api/index.html",
        "validation/index.html",
        "faq/index.html",
        "cli/index.html",
    ):
        assert (site / page).is_file(), f"{page} was not built"
    api = (site / "api" / "index.html").read_text()
    assert "pareto_frontier" in api and "max_speed" in api, "the API reference lost its mkdocstrings content"
    cli = (site / "cli" / "index.html").read_text()
    assert "usage: infereco" in cli, "the CLI reference was not generated from the parser"


def test_catalog_page_is_current():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import gen_catalog_docs
    finally:
        sys.path.pop(0)
    assert (DOCS / "catalog.md").read_text() == gen_catalog_docs.generate(), (
        "docs/catalog.md is out of date with the catalog: run python scripts/gen_catalog_docs.py"
    )


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(_python_blocks(DOCS / "quickstart.md"))))
def test_quickstart_python_examples_run(index, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(REPO)  # the examples use paths relative to the repository root
    code = _python_blocks(DOCS / "quickstart.md")[index]
    try:
        exec(
            compile(code, f"docs/quickstart.md, python block {index + 1}", "exec"),
            {"__name__": "__quickstart__"},
        )  # noqa: S102
    finally:
        plt.close("all")
