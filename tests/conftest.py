"""Shared test fixtures: paths to ../shared reference data (present in CI beside the clone)."""

from __future__ import annotations

import json
import os as _os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ERDIL_REF = SHARED / "reference" / "erdil"
MEASURED_REF = SHARED / "reference" / "measured"


def load_reference(name: str) -> dict:
    path = ERDIL_REF / f"{name}.json"
    if not path.exists():
        pytest.skip(f"reference fixture {path} not present (it lives in ../shared beside the repository)")
    return json.loads(path.read_text())


# ---- hypothesis profiles (property, hostile-input and numerics suites) -------------------------------------
# 'ci' (the default): a few hundred examples over all property tests, derandomised so CI is reproducible.
# 'long': 10,000 examples per property test (fewer for the frontier-level ones, see
# tests/test_properties_*.py), random seeds. Select with
# HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties_*.py tests/test_hostile_*.py
try:
    from hypothesis import HealthCheck as _HealthCheck
    from hypothesis import settings as _hsettings

    _hsettings.register_profile(
        "ci",
        max_examples=30,
        deadline=None,
        derandomize=True,
        print_blob=True,
        suppress_health_check=[
            _HealthCheck.too_slow,
            _HealthCheck.filter_too_much,
            _HealthCheck.data_too_large,
        ],
    )
    _hsettings.register_profile(
        "long",
        max_examples=10_000,
        deadline=None,
        print_blob=True,
        suppress_health_check=[
            _HealthCheck.too_slow,
            _HealthCheck.filter_too_much,
            _HealthCheck.data_too_large,
        ],
    )
    _hsettings.register_profile(
        "medium",
        max_examples=2_000,
        deadline=None,
        print_blob=True,
        suppress_health_check=[
            _HealthCheck.too_slow,
            _HealthCheck.filter_too_much,
            _HealthCheck.data_too_large,
        ],
    )
    _hsettings.load_profile(_os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # hypothesis is in the `test` extra; suites that need it skip themselves
    pass
