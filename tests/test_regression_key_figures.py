"""Regression gate: the key figures of the main catalog pairs must not move by accident.

The stored table (tests/data/regression/key_figures.json) holds, for 5 models × 3 accelerators × 2 presets at
a context of 1,000 tokens (search 'continuous', default grid, JAX backend): the maximum speed, the preferred
point at α = 3 and the cost floor. Each figure must match to 1e-6 relative.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "update_regression_table.py"

HOW_TO_UPDATE = """
Key figures of the catalog moved (listed above). If this change is intended:
  1. run `python scripts/update_regression_table.py` (about 10 s; it rewrites
     tests/data/regression/key_figures.json),
  2. review `git diff tests/data/regression/key_figures.json`,
  3. commit the table with the change and say in the commit message why the numbers moved.
If it is not intended, the change broke the physics, the search or a catalog number."""


def _script():
    spec = importlib.util.spec_from_file_location("update_regression_table", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def gate():
    mod = _script()
    return mod, json.loads(mod.TABLE.read_text())


def test_table_was_made_with_the_scripts_settings(gate):
    mod, table = gate
    assert table["settings"] == mod.settings(), (
        "the stored table was made with other settings than scripts/update_regression_table.py uses now"
        + HOW_TO_UPDATE
    )
    assert len(table["figures"]) == len(mod.MODELS) * len(mod.HARDWARE) * len(mod.PRESETS)


def test_key_figures_have_not_moved(gate):
    mod, table = gate
    moved = mod.differences(table["figures"], mod.compute())
    assert not moved, "\n".join(moved) + HOW_TO_UPDATE


def test_the_gate_sees_a_small_change(gate):
    """The comparison itself: a figure nudged by 1e-5 relative is reported, one nudged by 1e-8 is not."""
    mod, table = gate
    k = sorted(table["figures"])[0]
    nudged = json.loads(json.dumps(table["figures"]))
    nudged[k]["max_speed"]["tokens_per_s_per_request"] *= 1 + 1e-5
    assert len(mod.differences(table["figures"], nudged)) == 1
    nudged[k]["max_speed"]["tokens_per_s_per_request"] = table["figures"][k]["max_speed"][
        "tokens_per_s_per_request"
    ] * (1 + 1e-8)
    assert mod.differences(table["figures"], nudged) == []
