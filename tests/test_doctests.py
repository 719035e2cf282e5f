"""Every docstring example in the ``infereco`` package runs as a doctest, and none is skipped.

One test per module: it runs the module's examples with ELLIPSIS and NORMALIZE_WHITESPACE and fails with the
doctest report. Examples see the module's own globals plus the public names of ``infereco``
(``pareto_frontier``, ``load_model``, ...), so they read like user code without an import line each.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil
import re
from pathlib import Path

import pytest

import infereco

try:  # the plotting examples draw; CI has no display
    import matplotlib

    matplotlib.use("Agg")
except ImportError:
    pass

PACKAGE_DIR = Path(infereco.__file__).resolve().parent
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# Below this the finder has stopped seeing the package's examples (a broken walk, a renamed package): the
# count was 156 when this test was written, so a drop under 60 means examples vanished, not that they were
# trimmed.
MIN_EXAMPLES = 60


def _module_names() -> list[str]:
    names = ["infereco"]
    for info in pkgutil.walk_packages(infereco.__path__, prefix="infereco."):
        # Importing __main__ runs the command line (it is `python -m infereco`), so it is never collected.
        if info.name != "infereco.__main__":
            names.append(info.name)
    return sorted(names)


def _public_globs() -> dict:
    return {name: getattr(infereco, name) for name in infereco.__all__}


def _tests_for(modname: str) -> list[doctest.DocTest]:
    module = importlib.import_module(modname)
    finder = doctest.DocTestFinder(exclude_empty=True)
    globs = {**_public_globs(), **vars(module)}
    return [t for t in finder.find(module, modname, globs=globs) if t.examples]


MODULES = _module_names()
# The CLI modules are thin argparse wrappers; they take part only when one of them carries an example.
MODULES_RUN = [m for m in MODULES if not m.startswith("infereco.cli.") or _tests_for(m)]


@pytest.mark.parametrize("modname", MODULES_RUN)
def test_module_doctests(modname):
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    out = io.StringIO()
    for test in _tests_for(modname):
        runner.run(test, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, (
        f"{result.failed} of {result.attempted} examples failed in {modname}:\n{out.getvalue()}"
    )


def test_the_package_has_examples():
    n = sum(len(t.examples) for m in MODULES for t in _tests_for(m))
    assert n > MIN_EXAMPLES, f"only {n} docstring examples found across infereco (expected > {MIN_EXAMPLES})"


def test_no_example_is_skipped():
    # A skipped example is documentation that nobody runs; grep the sources rather than trusting the finder,
    # which would count a +SKIP example as found.
    pattern = re.compile(r"doctest:.*\+SKIP")
    hits = [
        f"{path.relative_to(PACKAGE_DIR.parent)}:{i}"
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not hits, "doctest +SKIP still present at:\n" + "\n".join(hits)
