"""Capacity plans: the cheapest fleet that meets every target, checked against the queueing model directly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from infereco import load_hardware
from infereco.cli.main import main
from infereco.planning import plan
from infereco.serving.queueing import latency_quantiles

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BASE = {
    "model": "llama-3-8b",
    "traffic": {"requests_per_s": 120, "input_tokens": 1000, "output_tokens": 200},
    "slo": {"ttft_s": {"p90": 0.5, "p99": 1.5}, "tpot_s": {"p90": 0.03}},
    "candidates": {"hardware": ["h100-sxm"], "engines": ["vllm"], "modes": ["aggregated"], "max_gpus": 32},
}
KEYS = ("hardware engine mode n_gpus replicas tp pp ep attention_dp usd_per_hour usd_per_month "
        "usd_per_million_input_tokens usd_per_million_output_tokens ttft_s_p50 ttft_s_p90 ttft_s_p99 "
        "tpot_s_p50 tpot_s_p90 tpot_s_p99 meets_slo").split()  # fmt: skip


@pytest.fixture(scope="module")
def result():
    return plan(BASE)


def test_plans_meet_the_targets_and_are_priced(result):
    assert result.plans
    price = load_hardware("h100-sxm").price_usd_per_hour
    for p in result.plans:
        assert set(KEYS) <= set(p) and p["meets_slo"]
        assert p["ttft_s_p90"] <= 0.5 and p["ttft_s_p99"] <= 1.5 and p["tpot_s_p90"] <= 0.03
        assert p["ttft_s_p50"] <= p["ttft_s_p90"] <= p["ttft_s_p99"]
        assert p["usd_per_hour"] == pytest.approx(p["n_gpus"] * price)
        assert p["n_gpus"] == p["replicas"] * p["gpus_per_replica"] and p["n_gpus"] <= 32
        assert p["usd_per_month"] == pytest.approx(730 * p["usd_per_hour"])
    costs = [p["usd_per_hour"] for p in result.plans]
    assert costs == sorted(costs)


def test_one_replica_fewer_misses_a_target(result):
    # The plan's replica count is the smallest that meets the targets: rebuild the replica's engine the
    # way the plan did and ask the queueing model at λ/(R − 1).
    from infereco.planning import _engine_models
    from infereco.search.discrete import layout_table
    from infereco.specs.deployment import resolve

    best = result.plans[0]
    if best["replicas"] == 1:
        pytest.skip("one replica suffices")
    dep = resolve("llama-3-8b", "h100-sxm", workload={"input_tokens": 1000, "output_tokens": 200},
                  search="discrete", space={"engine": "vllm", "max_gpus_per_instance": 32})  # fmt: skip
    table = layout_table(dep)
    from infereco.serving.engine_model import EngineModel

    for i, b, t, base, slope, _ in _engine_models(dep, table, (1000.0, 200.0))[0]:
        if (int(table.tp[i]), int(table.pp[i]), bool(table.attn_dp[i] > 0.5)) == (
            best["tp"],
            best["pp"],
            best["attention_dp"],
        ) and int(table.n_gpu[i]) == best["gpus_per_replica"]:
            em = EngineModel(
                tuple(b),
                tuple(t),
                base,
                slope,
                best["concurrency_cap"],
                max(8192, 2 * best["concurrency_cap"]),
            )
            r = best["replicas"]
            q = latency_quantiles(
                em, requests_per_s=[120 / r, 120 / (r - 1)], input_tokens=1000, output_tokens=200
            )
            assert q.ttft_s[0, 1] == pytest.approx(best["ttft_s_p90"])
            worse = (
                (q.ttft_s[1, 1] > 0.5) or (q.ttft_s[1, 2] > 1.5) or (q.tpot_s[1, 1] > 0.03) or q.saturated[1]
            )
            assert worse
            return
    pytest.fail("the best plan's layout was not among the engine models")


def test_a_tighter_target_never_costs_less(result):
    tight = plan({**BASE, "slo": {"ttft_s": {"p90": 0.1, "p99": 0.3}, "tpot_s": {"p90": 0.01}}})
    if tight.plans:
        assert tight.plans[0]["usd_per_hour"] >= result.plans[0]["usd_per_hour"]
    else:
        assert tight.rejected


def test_too_few_gpus_say_why():
    r = plan({**BASE, "model": "llama-3-70b", "candidates": {**BASE["candidates"], "max_gpus": 1}})
    assert not r.plans
    assert any("does not fit" in x["reason"] or "exceeds max_gpus" in x["reason"] for x in r.rejected)


def test_daily_profile_autoscales_below_the_fixed_fleet():
    rates = [10.0 + 110.0 * (0.5 - 0.5 * np.cos(2 * np.pi * h / 24)) for h in range(24)]
    r = plan({**BASE, "traffic": {**BASE["traffic"], "requests_per_s": rates}})
    best = r.plans[0]
    by_hour = best["replicas_by_hour"]
    assert len(by_hour) == 24 and max(by_hour) <= best["replicas"]
    order = np.argsort(rates)
    assert all(by_hour[a] <= by_hour[b] for a, b in zip(order, order[1:]))  # more traffic, never fewer
    assert best["usd_per_month_autoscaled"] <= best["usd_per_month_fixed_at_peak"]


def test_cli_json_contract_and_the_example(tmp_path, capsys):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(BASE))
    assert main(["plan", str(path), "--json", "--max-plans", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"plans", "rejected"} and len(out["plans"]) == 3 and set(KEYS) <= set(out["plans"][0])
    assert (
        main(["plan", str(EXAMPLES / "plans" / "llama_3_70b.yaml"), "--plot", str(tmp_path / "p.png")]) == 0
    )
    text = capsys.readouterr().out
    assert "cheapest:" in text and (tmp_path / "p.png").is_file()


def test_cli_bad_plan_is_one_line(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("model: llama-3-8b\ntrafic: {requests_per_s: 1}\n")
    assert main(["plan", str(path)]) == 1
    err = capsys.readouterr().err
    assert "did you mean 'traffic'?" in err and err.count("\n") == 1
    assert main(["plan", str(tmp_path / "missing.yaml")]) == 1


def test_the_planning_notebook_runs():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(EXAMPLES / "capacity_plan.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    )
    client.execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "queueing   TTFT p90" in text and "simulation TTFT p90" in text and "TTFT p99 ≤ 0.25 s" in text


def test_typos_fail_before_the_search():
    from infereco.errors import SpecError

    with pytest.raises(SpecError, match="candidates.hardware: unknown hardware id 'h100-sx'"):
        plan({**BASE, "candidates": {**BASE["candidates"], "hardware": ["h100-sx"]}})
    with pytest.raises(SpecError, match="candidates.price"):
        plan({**BASE, "candidates": {**BASE["candidates"], "price": "no-such-tier"}})
    with pytest.raises(SpecError, match="max_plans = 0"):
        plan(BASE, max_plans=0)
