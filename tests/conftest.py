"""Shared test fixtures: paths to ../shared reference data (present in CI beside the clone)."""

from __future__ import annotations

import json
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
