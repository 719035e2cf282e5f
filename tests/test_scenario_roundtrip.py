"""Scenario files are round-trippable: load → save → load gives an identical scenario and frontier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from infereco import frontier_from_scenario, load_scenario
from infereco.specs.yaml_io import load_yaml_mapping

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FILES = sorted(p for p in EXAMPLES.glob("*.yaml") if "model" in load_yaml_mapping(p))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_load_save_load_is_identical(path, tmp_path):
    a = load_scenario(path)
    out = tmp_path / "again.yaml"
    a.save(out)
    b = load_scenario(out)
    assert a == b
    assert b.to_yaml() == a.to_yaml()


def test_round_tripped_scenario_gives_the_same_frontier(tmp_path):
    s = load_scenario(
        {
            "preset": "erdil-2024",
            "search": "erdil-grid",
            "model": {"base": "llama-3-70b", "weight_bits": 8},
            "hardware": "h100-sxm",
            "workload": {"context_length": 1000},
        }
    )
    s.save(tmp_path / "s.yaml")
    a = frontier_from_scenario(s.model_dump(exclude_none=True))
    b = frontier_from_scenario(tmp_path / "s.yaml")
    np.testing.assert_array_equal(a.columns["usd_per_million_tokens"], b.columns["usd_per_million_tokens"])
