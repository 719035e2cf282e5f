"""Cost of a whole workload run at several concurrencies, and the cheapest concurrency that meets an SLA.

Zhuang et al. (2025) price a run by wall-clock time: cost = N_GPU × $/GPU-h × T / 3600, with T the seconds to
finish every request of the test set. Cost falls with concurrency while T falls, until the GPUs saturate
(diminishing marginal cost). A run may be measured on hardware or predicted by a model (`source`), so both
kinds go through the same table and onto the same chart.

Which rounding of the rate gives the paper's cents: $1.58/h for two A800s (the per-GPU $0.79 rounded before
doubling) gives $0.893 at T = 2,034 s and $0.340 at 774 s; the unrounded 2 × $0.7866 = $1.5732/h gives $0.889
and $0.338. Both agree to the cent ($0.89, $0.34).

>>> t = workload_cost([MeasuredRun(concurrency=8, total_time_s=2034, n_requests=2993)], 2, 0.79)
>>> round(t.rows[0].cost_usd, 3)
0.893
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field

from infereco.economics.hourly_cost import HourlyCostBreakdown, OwnershipCost, RentalCost, price_usd_per_hour
from infereco.errors import SpecError
from infereco.specs._base import FrozenSpec
from infereco.units import SECONDS_PER_HOUR


class MeasuredRun(FrozenSpec):
    """One run of a whole workload at one concurrency (measured, or predicted by a model: `source`).

    `output_throughput_tokens_per_s` is the total over all requests. `per_request_tokens_per_s` is the mean
    decode speed one request sees; when absent it is estimated as total output throughput / concurrency.

    >>> MeasuredRun(concurrency=48, total_time_s=774, n_requests=2993, mean_ttft_s=0.6).source
    'measured'
    """

    concurrency: int = Field(ge=1, le=10_000_000, description="Requests in flight at once.")
    total_time_s: float = Field(
        gt=0, allow_inf_nan=False, description="Wall-clock seconds to finish all requests."
    )
    n_requests: int = Field(ge=1, description="Requests in the workload (2,993 for WiNEval-3.0).")
    mean_ttft_s: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Mean time to first token, s."
    )
    output_throughput_tokens_per_s: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="Output tokens per second, all requests together.",
    )
    total_input_tokens: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Prompt tokens."
    )
    total_output_tokens: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Generated tokens."
    )
    per_request_tokens_per_s: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Mean output tokens/s seen by one request."
    )
    source: Literal["measured", "predicted"] = "measured"
    label: str = Field(default="", description="Model or configuration, for legends.")

    @property
    def throughput_tokens_per_s(self) -> float | None:
        """Total output tokens/s: as given, else total_output_tokens / total_time_s, else None."""
        if self.output_throughput_tokens_per_s is not None:
            return self.output_throughput_tokens_per_s
        if self.total_output_tokens is not None:
            return self.total_output_tokens / self.total_time_s
        return None

    @property
    def speed_per_request_tokens_per_s(self) -> float | None:
        """Output tokens/s one request sees: as given, else throughput / concurrency (all slots busy), else
        None."""
        if self.per_request_tokens_per_s is not None:
            return self.per_request_tokens_per_s
        total = self.throughput_tokens_per_s
        return None if total is None else total / self.concurrency


@dataclass(frozen=True)
class WorkloadCostRow:
    """Cost of one run, USD. Per-token figures split the run's cost by `input_token_weight` (see
    workload_cost).

    `delta_cost_usd` and `marginal_usd_per_unit_concurrency` compare with the previous (lower) concurrency
    in the table (NaN for the first): negative while more concurrency still saves money.
    """

    concurrency: int
    total_time_s: float
    n_requests: int
    cost_usd: float
    usd_per_request: float
    usd_per_m_input_tokens: float
    usd_per_m_output_tokens: float
    usd_per_m_tokens: float
    delta_cost_usd: float
    marginal_usd_per_unit_concurrency: float
    source: str
    label: str
    run: MeasuredRun

    def to_record(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "run"}


_COLUMNS = (
    ("concurrency", "conc", "{:>6d}"),
    ("total_time_s", "T (s)", "{:>10.1f}"),
    ("cost_usd", "cost ($)", "{:>10.4f}"),
    ("usd_per_request", "$/request", "{:>11.6f}"),
    ("usd_per_m_input_tokens", "$/M in", "{:>9.4f}"),
    ("usd_per_m_output_tokens", "$/M out", "{:>9.4f}"),
    ("delta_cost_usd", "Δcost ($)", "{:>10.4f}"),
)


@dataclass(frozen=True)
class WorkloadCostTable:
    """Rows of `WorkloadCostRow` sorted by concurrency, and the prices used (USD per GPU-hour, N GPUs)."""

    rows: tuple[WorkloadCostRow, ...]
    n_gpu: int
    usd_per_gpu_hour: float
    input_token_weight: float

    @property
    def cluster_usd_per_hour(self) -> float:
        """All n_gpu GPUs together, USD per hour."""
        return self.n_gpu * self.usd_per_gpu_hour

    def column(self, name: str) -> np.ndarray:
        """One field of every row as an array, e.g. column('cost_usd')."""
        if name not in WorkloadCostRow.__dataclass_fields__ or name == "run":
            known = ", ".join(k for k in WorkloadCostRow.__dataclass_fields__ if k != "run")
            raise SpecError(f"column = {name!r}: unknown; expected one of {known}")
        return np.array([getattr(r, name) for r in self.rows])

    def cheapest(self) -> WorkloadCostRow:
        """The row with the lowest cost per request (ties: lower concurrency)."""
        return min(self.rows, key=lambda r: (r.usd_per_request, r.concurrency))

    def to_records(self) -> list[dict[str, Any]]:
        return [r.to_record() for r in self.rows]

    def __str__(self) -> str:
        head = (
            f"Workload cost on {self.n_gpu} GPU{'s' if self.n_gpu != 1 else ''} "
            f"at ${self.usd_per_gpu_hour:.4g}/GPU-h = "
            f"${self.cluster_usd_per_hour:.4g}/h (input token weight {self.input_token_weight:g})"
        )
        widths = [len(fmt.format(0 if key == "concurrency" else 0.0)) for key, _, fmt in _COLUMNS]
        lines = [head, "".join(f"{title:>{w}}" for (_, title, _), w in zip(_COLUMNS, widths))]
        for r in self.rows:
            cells = []
            for (key, _, fmt), w in zip(_COLUMNS, widths):
                v = getattr(r, key)
                cells.append(f"{'—':>{w}}" if isinstance(v, float) and math.isnan(v) else fmt.format(v))
            lines.append("".join(cells))
        return "\n".join(lines)


def _as_runs(runs: Iterable[MeasuredRun | Mapping[str, Any]], where: str = "runs") -> list[MeasuredRun]:
    if isinstance(runs, (MeasuredRun, Mapping)):
        runs = [runs]
    out = []
    for i, r in enumerate(runs):
        if isinstance(r, MeasuredRun):
            out.append(r)
        elif isinstance(r, Mapping):
            out.append(MeasuredRun.validated(r, where=f"{where}[{i}]"))
        else:
            raise SpecError(
                f"{where}[{i}] = {type(r).__name__}: expected a MeasuredRun or a mapping of its fields"
            )
    if not out:
        raise SpecError(f"{where}: empty; expected at least one run")
    return out


def _split(cost: float, run: MeasuredRun, w: float) -> tuple[float, float]:
    """(USD per M input tokens, USD per M output tokens) with input tokens weighted w
    output-token-equivalents."""
    i_tok, o_tok = run.total_input_tokens, run.total_output_tokens
    nan = float("nan")
    if w == 0.0:
        return (0.0 if i_tok else nan), (cost / o_tok * 1e6 if o_tok else nan)
    if i_tok is None or o_tok is None:
        return nan, nan  # the split needs both counts
    equivalents = o_tok + w * i_tok
    if equivalents == 0:
        return nan, nan
    cost_in = cost * w * i_tok / equivalents
    cost_out = cost - cost_in
    return (cost_in / i_tok * 1e6 if i_tok else nan), (cost_out / o_tok * 1e6 if o_tok else nan)


def workload_cost(
    runs: Sequence[MeasuredRun | Mapping[str, Any]],
    n_gpu: int,
    usd_per_gpu_hour: float | OwnershipCost | RentalCost | HourlyCostBreakdown,
    *,
    input_token_weight: float = 0.0,
) -> WorkloadCostTable:
    """Cost of each run: N_GPU × $/GPU-h × T / 3600 (USD), per request, per M input / output tokens.

    Token split: an input token counts as `input_token_weight` output-token-equivalents, and the run's cost is
    shared in proportion, so input cost + output cost = run cost. The default 0 charges everything to output
    tokens (the $/M output tokens convention of the frontier); 1 charges every token alike (then $/M input =
    $/M output = `usd_per_m_tokens`); a value like 0.25 mirrors API price lists. Per-token figures are NaN
    where the counts they need are missing. `usd_per_gpu_hour` may be a number or any cost spec
    (price_usd_per_hour). Runs are sorted by concurrency; the marginal columns compare neighbours and assume
    every run served the same requests (the paper's whole test set at each concurrency).

    >>> t = workload_cost([MeasuredRun(concurrency=48, total_time_s=774, n_requests=2993)], 2, 0.79)
    >>> round(t.rows[0].cost_usd, 3)
    0.34
    """
    items = sorted(_as_runs(runs), key=lambda r: r.concurrency)
    seen: set[int] = set()
    for r in items:
        if r.concurrency in seen:
            raise SpecError(
                f"runs: concurrency = {r.concurrency} appears twice; expected one run per concurrency "
                "(put measured and predicted runs, or different models, in separate tables)"
            )
        seen.add(r.concurrency)
    if isinstance(n_gpu, bool) or not isinstance(n_gpu, (int, np.integer)) or n_gpu < 1:
        raise SpecError(f"n_gpu = {n_gpu!r}: expected a whole number of GPUs ≥ 1")
    rate = price_usd_per_hour(usd_per_gpu_hour)
    w = float(input_token_weight)
    if not (math.isfinite(w) and w >= 0):
        raise SpecError(f"input_token_weight = {input_token_weight!r}: expected a finite number ≥ 0")

    rows: list[WorkloadCostRow] = []
    prev: WorkloadCostRow | None = None
    for r in items:
        cost = int(n_gpu) * rate * r.total_time_s / SECONDS_PER_HOUR
        per_m_in, per_m_out = _split(cost, r, w)
        n_tok = (r.total_input_tokens or 0.0) + (r.total_output_tokens or 0.0)
        known_tokens = r.total_input_tokens is not None or r.total_output_tokens is not None
        delta = cost - prev.cost_usd if prev else float("nan")
        row = WorkloadCostRow(
            concurrency=r.concurrency,
            total_time_s=r.total_time_s,
            n_requests=r.n_requests,
            cost_usd=cost,
            usd_per_request=cost / r.n_requests,
            usd_per_m_input_tokens=per_m_in,
            usd_per_m_output_tokens=per_m_out,
            usd_per_m_tokens=cost / n_tok * 1e6 if known_tokens and n_tok > 0 else float("nan"),
            delta_cost_usd=delta,
            marginal_usd_per_unit_concurrency=delta / (r.concurrency - prev.concurrency)
            if prev
            else float("nan"),
            source=r.source,
            label=r.label,
            run=r,
        )
        rows.append(row)
        prev = row
    return WorkloadCostTable(rows=tuple(rows), n_gpu=int(n_gpu), usd_per_gpu_hour=rate, input_token_weight=w)


@dataclass(frozen=True)
class SlaCheck:
    """One run against the SLA: `reasons` says why it fails (empty when it meets both limits)."""

    concurrency: int
    meets: bool
    reasons: tuple[str, ...]
    mean_ttft_s: float | None
    per_request_tokens_per_s: float | None
    wall_s_per_request: float


@dataclass(frozen=True)
class SlaChoice:
    """Cheapest concurrency meeting the SLA (None when no run does; `reason` then says why, run by run)."""

    concurrency: int | None
    run: MeasuredRun | None
    checks: tuple[SlaCheck, ...]
    max_mean_ttft_s: float
    min_tokens_per_s_per_request: float

    @property
    def feasible(self) -> bool:
        return self.concurrency is not None

    @property
    def reason(self) -> str:
        if self.feasible:
            return (
                f"concurrency {self.concurrency} is the cheapest run "
                f"with mean TTFT ≤ {self.max_mean_ttft_s:g} s "
                f"and ≥ {self.min_tokens_per_s_per_request:g} tokens/s per request"
            )
        parts = [f"concurrency {c.concurrency}: {'; '.join(c.reasons)}" for c in self.checks]
        return "none meets the SLA: " + " | ".join(parts)

    def __str__(self) -> str:
        return self.reason


def sla_optimal_concurrency(
    runs: Sequence[MeasuredRun | Mapping[str, Any]],
    max_mean_ttft_s: float = 1.0,
    min_tokens_per_s_per_request: float = 20.0,
) -> SlaChoice:
    """Cheapest concurrency whose mean TTFT ≤ `max_mean_ttft_s` (s) and per-request speed ≥ the floor (tok/s).

    Cheapest means least wall-clock time per request (T / n_requests), which orders cost per request for any
    fixed hardware and price. Ties go to the lower concurrency. A run lacking TTFT or speed data fails with
    that reason. Per-request speed: `MeasuredRun.speed_per_request_tokens_per_s`.

    >>> sla_optimal_concurrency([MeasuredRun(concurrency=8, total_time_s=2034, n_requests=2993)]).feasible
    False
    """
    items = sorted(_as_runs(runs), key=lambda r: r.concurrency)
    for name, v in (
        ("max_mean_ttft_s", max_mean_ttft_s),
        ("min_tokens_per_s_per_request", min_tokens_per_s_per_request),
    ):
        try:
            ok = math.isfinite(float(v)) and float(v) >= 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise SpecError(f"{name} = {v!r}: expected a finite number ≥ 0")
    ttft_max, speed_min = float(max_mean_ttft_s), float(min_tokens_per_s_per_request)

    checks: list[SlaCheck] = []
    for r in items:
        reasons: list[str] = []
        speed = r.speed_per_request_tokens_per_s
        if r.mean_ttft_s is None:
            reasons.append("mean_ttft_s not given")
        elif r.mean_ttft_s > ttft_max:
            reasons.append(f"mean TTFT {r.mean_ttft_s:.3g} s > {ttft_max:g} s limit")
        if speed is None:
            reasons.append(
                "per-request speed unknown (give per_request_tokens_per_s, output_throughput_tokens_per_s "
                "or total_output_tokens)"
            )
        elif speed < speed_min:
            reasons.append(f"per-request speed {speed:.3g} tokens/s < {speed_min:g} tokens/s floor")
        checks.append(
            SlaCheck(
                concurrency=r.concurrency,
                meets=not reasons,
                reasons=tuple(reasons),
                mean_ttft_s=r.mean_ttft_s,
                per_request_tokens_per_s=speed,
                wall_s_per_request=r.total_time_s / r.n_requests,
            )
        )
    passing = [(c, r) for c, r in zip(checks, items) if c.meets]
    best = min(passing, key=lambda cr: (cr[0].wall_s_per_request, cr[0].concurrency)) if passing else None
    return SlaChoice(
        concurrency=best[0].concurrency if best else None,
        run=best[1] if best else None,
        checks=tuple(checks),
        max_mean_ttft_s=ttft_max,
        min_tokens_per_s_per_request=speed_min,
    )
