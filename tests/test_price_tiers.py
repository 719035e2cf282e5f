"""Price tiers: named all-in $/GPU-hour per accelerator (InferenceX's hyperscaler / neocloud / 3-year rental),
picked by name wherever a price is given."""

from __future__ import annotations

import numpy as np
import pytest

from infereco import HardwareSpec, load_hardware, pareto_frontier, resolve
from infereco.errors import SpecError

# The tiers the fleet issue quotes from InferenceX (hyperscaler, neocloud, 3-year rental), USD per GPU-hour.
QUOTED = {
    "h100-sxm": (1.30, 1.69, 1.30),
    "h200": (1.41, 1.74, 1.60),
    "b200": (1.95, 2.34, 2.90),
    "gb200-nvl72": (2.21, 2.75, 3.30),
    "mi300x": (1.12, 1.40, 1.55),
    "mi355x": (1.48, 1.90, 2.10),
}


@pytest.mark.parametrize("hw_id", sorted(QUOTED))
def test_catalog_tiers_are_the_quoted_ones(hw_id):
    hw = load_hardware(hw_id)
    assert (
        tuple(hw.price_tiers_usd_per_hour[t] for t in ("hyperscaler", "neocloud", "rental-3y"))
        == QUOTED[hw_id]
    )
    assert "InferenceX" in hw.sources["price_tiers_usd_per_hour"]


def test_a_tier_name_prices_the_frontier():
    space = {"max_gpus_per_instance": 2}
    by_name = pareto_frontier("llama-3-8b", "b200", price_usd_per_hour="rental-3y", space=space)
    by_number = pareto_frontier("llama-3-8b", "b200", price_usd_per_hour=2.90, space=space)
    assert by_name.price_usd_per_hour == 2.90
    np.testing.assert_array_equal(
        by_name.columns["usd_per_million_tokens"], by_number.columns["usd_per_million_tokens"]
    )
    assert resolve("llama-3-8b", "mi355x", price_usd_per_hour="neocloud").price_usd_per_hour == 1.90


def test_unknown_tier_lists_the_known_ones():
    with pytest.raises(SpecError, match="tiers: hyperscaler, neocloud, rental-3y"):
        resolve("llama-3-8b", "h100-sxm", price_usd_per_hour="spot")
    with pytest.raises(SpecError, match="no such price tier"):
        resolve("llama-3-8b", "l4", price_usd_per_hour="neocloud")


@pytest.mark.parametrize(
    "tiers",
    [
        {"neocloud": 0.0},
        {"neocloud": -1.0},
        {"": 1.0},
        {"neo cloud": 1.0},
        {"neocloud": True},
        {"neocloud": "1.5"},
    ],
)
def test_bad_tiers_are_refused(tiers):
    with pytest.raises(SpecError, match="price_tiers_usd_per_hour"):
        HardwareSpec(
            name="toy",
            flop_per_s={16: 1e15},
            hbm_bandwidth_bytes_per_s=3e12,
            hbm_capacity_bytes=8e10,
            price_tiers_usd_per_hour=tiers,
        )


# ---- tiers at the edges: CLI flags, scenario files, sweeps ------------------------------------------------
def _cli(capsys, *argv):
    from infereco.cli.main import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_frontier_and_point_take_a_tier_name(capsys):
    code, out, _ = _cli(capsys, "frontier", "--model", "llama-3-8b", "--hardware", "h100-sxm", "--price",
                        "neocloud", "--no-plot", "--json")  # fmt: skip
    assert code == 0
    import json

    assert json.loads(out)["meta"]["price_usd_per_hour"] == 1.69  # InferenceX neocloud H100 tier
    code, out, _ = _cli(capsys, "point", "--model", "llama-3-8b", "--hardware", "b200", "--tp", "1",
                        "--batch", "8", "--price", "hyperscaler", "--json")  # fmt: skip
    point = json.loads(out)
    # $/M = GPU-seconds per token × the B200 hyperscaler tier ($1.95/h) / 3600 s/h × 1e6.
    assert code == 0
    assert point["usd_per_million_tokens"] == pytest.approx(point["gpu_s_per_token"] * 1.95 / 3600 * 1e6)


def test_cli_unknown_tier_is_one_line_naming_the_tiers(capsys):
    code, _, err = _cli(capsys, "frontier", "--model", "llama-3-8b", "--hardware", "h100-sxm", "--price",
                        "spot", "--no-plot")  # fmt: skip
    assert code != 0
    assert "no such price tier; tiers: hyperscaler, neocloud, rental-3y" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("bad", ["-1", "0", "nan", "inf", "1e"])
def test_cli_bad_price_is_refused_before_computing(capsys, bad):
    with pytest.raises(SystemExit):
        _cli(
            capsys, "frontier", "--model", "llama-3-8b", "--hardware", "h100-sxm", "--price", bad, "--no-plot"
        )
    assert "USD per accelerator-hour" in capsys.readouterr().err


def test_scenario_file_price_may_be_a_tier(tmp_path):
    from infereco.api import frontier_from_scenario

    f = frontier_from_scenario(
        {"model": "llama-3-8b", "hardware": "mi300x", "price_usd_per_hour": "rental-3y"}, where="t"
    )
    assert f.meta["price_usd_per_hour"] == 1.55


def test_sweep_prices_by_tier_per_accelerator():
    from infereco import sweep

    r = sweep(["llama-3-8b"], ["h100-sxm", "b200"], [1000], ["hyperscaler"], progress=False)
    assert sorted(row["price_usd_per_hour"] for row in r.rows) == [1.30, 1.95]
    with pytest.raises(SpecError, match="no such price tier"):
        sweep(["llama-3-8b"], ["h100-sxm", "l4"], [1000], ["hyperscaler"], progress=False)
