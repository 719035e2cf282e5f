"""The one registry of calibration terms (infereco.specs.terms): every user of a term's bounds reads them
there."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from infereco.calibration.fit import PARAM_BOUNDS
from infereco.cli.main import main
from infereco.errors import SpecError
from infereco.physics.serving import CALIBRATION_PARAMS, HARDWARE_PARAMS, EngineConfig
from infereco.specs.hardware import HardwareSpec
from infereco.specs.terms import CALIBRATION_TERMS, TERMS, markdown_table

DOCS = Path(__file__).resolve().parent.parent / "docs" / "validation.md"
BASE = {"name": "x", "flop_per_s": {16: 1e15}, "hbm_bandwidth_bytes_per_s": 3e12, "hbm_capacity_bytes": 8e10}


def test_docs_carry_the_generated_table():
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(
        r"<!-- calibration-terms:begin -->\n(.*?)\n<!-- calibration-terms:end -->", text, re.DOTALL
    )
    assert block, "docs/validation.md lost its calibration-terms block"
    assert block.group(1) == markdown_table(), "regenerate the table: infereco.specs.terms.markdown_table()"
    for t in CALIBRATION_TERMS:
        assert f"`{t.name}`" in block.group(1)


def test_serving_model_and_fit_use_the_registry():
    assert CALIBRATION_PARAMS == tuple(TERMS)
    for k, t in TERMS.items():
        assert PARAM_BOUNDS[k] == (t.fit_lo, t.fit_hi)
        assert 0 < t.fit_lo < t.fit_hi
        assert t.accepts(t.fit_hi) and (t.accepts(t.fit_lo))  # the fit searches inside the valid range


@pytest.mark.parametrize("name", [t.name for t in CALIBRATION_TERMS if t.owner == "hardware"])
def test_hardware_spec_validates_with_the_registry_bounds(name):
    t = TERMS[name]
    assert name in HARDWARE_PARAMS
    inside = t.fit_hi
    HardwareSpec.validated({**BASE, name: inside})
    for outside in (t.lo - 1.0 if not t.lo_open else t.lo, t.hi * 2 if math.isfinite(t.hi) else math.nan):
        with pytest.raises(SpecError, match=name):
            HardwareSpec.validated({**BASE, name: outside})


def test_engine_terms_are_checked_with_the_registry():
    for t in CALIBRATION_TERMS:
        if t.owner == "engine":
            with pytest.raises(SpecError, match=re.escape(t.expected)):
                EngineConfig(**{t.name: -1.0})


def test_calibrate_help_lists_every_term(capsys):
    with pytest.raises(SystemExit):
        main(["calibrate", "--help"])
    out = capsys.readouterr().out
    for t in CALIBRATION_TERMS:
        assert t.name in out
