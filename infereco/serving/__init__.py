"""Serving: how requests meet an engine.

- Serving modes on frontiers (`infereco.serving.modes`, `infereco.serving.disaggregation`).
- One replica's engine as functions of the batch (`EngineModel`, `engine_from_deployment`), its
  discrete-event simulation under Poisson arrivals (`simulate`, `simulate_loads`) and the queueing model of
  its tail latencies (`latency_quantiles`): p50/p90/p99 of TTFT, TPOT and E2E.

>>> e = EngineModel.linear(decode_base_s=0.02, decode_per_seq_s=1e-4, prefill_base_s=0.01,
...                        prefill_tokens_per_s=20000, max_seqs=256)
>>> q = latency_quantiles(e, requests_per_s=[2.0, 8.0], input_tokens=1000, output_tokens=100)
>>> s = simulate(e, requests_per_s=8.0, input_tokens=1000, output_tokens=100, n_requests=20000, seed=1)
>>> bool(abs(q.percentile("ttft_s", 90)[1] / s.percentile("ttft_s", 90) - 1) < 0.1)
True
"""

# The function `simulate` shadows its submodule `infereco.serving.simulate` on the package (imported here,
# after the submodule), as `infereco.sweep` does.
from infereco.serving.engine_model import EngineModel, TokenLengths, engine_from_deployment
from infereco.serving.queueing import QueueingResult, latency_quantiles
from infereco.serving.simulate import SimulationResult, simulate, simulate_loads

__all__ = [
    "EngineModel",
    "TokenLengths",
    "engine_from_deployment",
    "simulate",
    "simulate_loads",
    "SimulationResult",
    "latency_quantiles",
    "QueueingResult",
]
