"""The closed-loop serving law of the fleet predictor (`closed_loop_steady`) against a discrete-event
simulation of a continuous-batching engine with chunked prefill (written here, independently), and its
hand-derivable limits."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest

from infereco.calibration.fleet import closed_loop_steady


def simulate(a0, beta, t_x, c_tok, C, cap, isl, osl, budget, waves=10, r0=0.0, seed=0):
    """Mean TTFT and TPOT of a benchmark run: C clients, waves·C requests in all, each client resending
    r0 after its previous response; lengths uniform on [0.8·L, L]. The engine loops steps: every running
    request past its prefill decodes one token; prefills are served first come first served in chunks,
    at most `budget` prefill tokens per step; a step costs a0 + beta·decodes (+ t_x + c_tok·prefill
    tokens if it carries any). A request's first token comes at the end of the step that finishes its
    prefill; its TPOT is (E2E − TTFT)/(O − 1)."""
    rng = np.random.default_rng(seed)
    n_total = int(waves * C)
    P = rng.integers(int(0.8 * isl), isl + 1, n_total)
    out = rng.integers(max(int(0.8 * osl), 2), osl + 1, n_total)
    arrivals = [(0.0, j) for j in range(C)]  # (time, request index); request j belongs to client j % C
    heapq.heapify(arrivals)
    nxt = C
    waiting: list[int] = []
    running: dict[int, list] = {}  # request → [prefill left, decodes left]
    arrive, first, done = {}, {}, {}
    for _, j in arrivals:
        arrive[j] = 0.0
    now = 0.0
    while len(done) < n_total:
        while arrivals and arrivals[0][0] <= now + 1e-15:
            _, j = heapq.heappop(arrivals)
            waiting.append(j)
        while waiting and len(running) < cap:
            j = waiting.pop(0)
            running[j] = [int(P[j]), int(out[j]) - 1]
        if not running:
            now = arrivals[0][0]
            continue
        dec = [j for j, s in running.items() if s[0] == 0]
        left = budget
        pre = []
        for j in sorted((j for j, s in running.items() if s[0] > 0), key=lambda j: arrive[j]):
            if left <= 0:
                break
            take = min(left, running[j][0])
            pre.append((j, take))
            left -= take
        n_pre = sum(x for _, x in pre)
        dt = a0 + beta * len(dec) + ((t_x + c_tok * n_pre) if n_pre else 0.0)
        now += dt
        for j in dec:
            running[j][1] -= 1
            if running[j][1] <= 0:
                done[j] = now
                del running[j]
                if nxt < n_total:
                    arrive[nxt] = now + r0
                    heapq.heappush(arrivals, (now + r0, nxt))
                    nxt += 1
        for j, x in pre:
            running[j][0] -= x
            if running[j][0] == 0:
                first[j] = now
    ttft = np.array([first[j] - arrive[j] for j in range(n_total)])
    tpot = np.array([(done[j] - first[j]) / (out[j] - 1) for j in range(n_total)])
    return float(ttft.mean()), float(tpot.mean())


def analytic(a0, beta, t_x, c_tok, C, cap, isl, osl, budget, r0=0.0):
    """closed_loop_steady on the simulation's step law; TTFT without r0 (the simulation measures TTFT
    from the arrival at the engine)."""
    b = min(C, cap)
    P, out = 0.9 * isl, 0.9 * osl
    k = max(math.ceil(P / budget), 1)
    ttft, tpot = closed_loop_steady(
        a0 + beta * b, t_x, c_tok, a0 + t_x + c_tok * P / k, C, cap, P, out, budget, r0
    )
    return float(ttft) - r0, float(tpot)


def test_a_single_wave_prefills_its_requests_in_turn_by_hand():
    # waves = 1: all b = 8 requests at once, P = 900 < B, no fixed mixed-step cost, c = 10 µs per token,
    # t_dec = 10 ms. S₁ = P·(t_dec/2 + c·min(B, P·b))/min(B, P·b) = 900·(0.005 + 0.072)/7200 = 9.625 ms;
    # TTFT ≥ its own prefill (10 ms) + (b − 1)·S₁/2 = 43.7 ms; TPOT = t_dec + (b − 1)·S₁/2/(O − 1).
    ttft, tpot = closed_loop_steady(1e-2, 0.0, 1e-5, 1e-2, 8, 100, 900, 900, 8192, waves=1.0)
    s1 = 900 * (0.005 + 1e-5 * 7200) / 7200
    assert float(ttft) >= 1e-2 + 7 * s1 / 2 - 1e-12
    assert float(tpot) == pytest.approx(1e-2 + 7 * s1 / 2 / 899, rel=1e-9)


def test_one_client_is_a_lone_prefill_then_decode_steps_by_hand():
    # One client: nothing else in flight, so TTFT = r0 + ⌈P/B⌉ chunks alone, TPOT = the decode step.
    # a0 = 5 ms, β = 0.1 ms per decode, t_x = 20 ms, 10 µs per prefill token; P = 0.9·10000 = 9000 tokens in
    # two chunks of 4500 under an 8192-token budget: TTFT = 2·(5 + 20 + 45) ms = 140 ms; TPOT = 5.1 ms.
    ttft, tpot = closed_loop_steady(5.1e-3, 20e-3, 1e-5, 5e-3 + 20e-3 + 1e-5 * 4500, 1, 100, 9000, 900, 8192)
    assert tpot == pytest.approx(5.1e-3, rel=1e-9)
    assert ttft == pytest.approx(0.140, rel=1e-9)


def test_tpot_carries_the_prefill_of_the_requests_that_start():
    # Steady state without a fixed mixed-step cost (t_x = 0): t = t_dec/(1 − c·λ_o·P), λ_o = λ·(b − 1)/b.
    # C = 64 ≤ capacity, P = 900, O = 900, c = 20 µs per token, t_dec = 10 ms: solve it by hand.
    C, P, n_out, c, td = 64.0, 900.0, 900.0, 2e-5, 1e-2
    # waves = ∞: the steady state alone (no first wave arriving at once).
    ttft, t = closed_loop_steady(td, 0.0, c, 1e-3 + c * P, C, 1000, P, n_out, 8192, waves=math.inf)
    lam = C / (ttft + (n_out - 1) * t)
    assert t == pytest.approx(td / (1.0 - c * lam * (C - 1) / C * P), rel=1e-3)
    # the mixed prefill is a real share of the step: 64 / 900 starts per 10 ms step × 900 tokens × 20 µs
    assert t > 1.1 * td


@pytest.mark.parametrize(
    "C,isl,osl,t_x",
    [
        (4, 1024, 1024, 0.0),  # low load: TTFT ≈ the own prefill, TPOT ≈ the decode step
        (64, 1024, 1024, 5e-3),  # mixed steps: TPOT carries the other requests' prefills
        (64, 8192, 1024, 5e-3),  # chunked prompts (⌈7373/4096⌉ = 2 chunks), heavy prefill share
        (256, 1024, 256, 2e-3),  # short outputs: many starts per step, a queue for the prefill budget
        (1024, 1024, 1024, 2e-3),  # the first wave's queue for the prefill budget dominates TTFT
    ],
)
def test_analytic_closed_loop_matches_the_discrete_event_simulation(C, isl, osl, t_x):
    # Clients resend 13.7 ms after a response (HTTP, tokenisation): arrivals fall at random in a step.
    params = dict(a0=4e-3, beta=2e-5, t_x=t_x, c_tok=4e-6, C=C, cap=1024, isl=isl, osl=osl, budget=4096,
                  r0=0.0137)  # fmt: skip
    sim = np.mean([simulate(**params, seed=s) for s in range(2)], axis=0)
    ana = analytic(**params)
    assert ana[1] == pytest.approx(sim[1], rel=0.06), (ana, sim)
    assert ana[0] == pytest.approx(sim[0], rel=0.15), (ana, sim)


def test_erlang_c_and_the_md1_limit_by_hand():
    from infereco.calibration.fleet import erlang_c, mdc_wait

    # M/M/1: an arrival waits with probability ρ; two servers at a = 1: B = 0.2, C = 2B/(2 − a(1 − B)) = 1/3.
    assert float(erlang_c(1, 0.5)) == pytest.approx(0.5)
    assert float(erlang_c(2, 1.0)) == pytest.approx(1.0 / 3.0)
    # M/D/1 (Pollaczek–Khinchine): ρ·S/(2(1 − ρ)) = 0.5·0.1/(2·0.5) = 50 ms at λ = 5/s, S = 100 ms.
    assert float(mdc_wait(5.0, 1, 0.1)) == pytest.approx(0.05)


def test_disaggregated_closed_loop_solves_littles_law_with_the_prefill_queue():
    from infereco.calibration.fleet import disagg_closed_loop

    # C = 10 clients, one prefill slot of S = 100 ms, 1 s of everything else per request: λ(1 + W(λ)) = 10
    # with W = ρS/(2(1 − ρ)), ρ = λS: 0.95ρ² − 2ρ + 1 = 0, ρ = (2 − √0.2)/1.9 = 0.817258, W = 0.223607 s.
    lam, w = disagg_closed_loop(10.0, 1.0, 0.1, 1.0, np.inf)
    rho = (2.0 - math.sqrt(0.2)) / 1.9
    assert float(lam) == pytest.approx(10.0 * rho, rel=1e-6)
    assert float(w) == pytest.approx(0.05 * rho / (1.0 - rho), rel=1e-5)
    # The decode pool's rate caps λ (clients then wait for a decode slot, not for prefill).
    lam, w = disagg_closed_loop(10.0, 1.0, 0.1, 1.0, 2.0)
    assert float(lam) == 2.0 and float(w) == pytest.approx(0.05 * 0.2 / 0.8)


def test_prefill_layer_overhead_is_paid_by_prefill_steps_only():
    import io

    from infereco.calibration.fleet import ProfileTerms, predict_fleet
    from infereco.calibration.readers.fleet import read_fleet_runs
    from infereco.specs.catalog import load_model

    head = "id,backend,model_path,system,mode,isl,osl,batch_size,tp_size,silicon_ttft_ms,silicon_tpot_ms"
    text = f"{head}\nr0,vllm,llama-3.1-8b,h100_sxm,agg,1000,1000,1,1,20,6\n"
    text += "r1,vllm,llama-3.1-70b,gb200,agg,1000,1000,64,16,20,6\n"
    runs = read_fleet_runs(io.StringIO(text), where="t.csv")
    base = predict_fleet(runs, terms=ProfileTerms())
    slow = predict_fleet(runs, terms=ProfileTerms(prefill_layer_overhead_s=1e-3))
    # One client: its prefill is one step alone (900 < 8192 tokens): 32 layers × 1 ms more; its decode
    # steps carry no prefill, so TPOT is unchanged.
    assert slow.ttft_s[0] - base.ttft_s[0] == pytest.approx(load_model("llama-3.1-8b").n_layers * 1e-3)
    assert slow.tpot_s[0] == pytest.approx(base.tpot_s[0], rel=1e-12)
    # An "agg" worker of 16 GPUs of an NVL72 is not an aggregated run of this data's kind.
    assert base.status[1].startswith("unsupported: an aggregated worker of tp × attention_dp = 16 GPUs")
