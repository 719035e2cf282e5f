"""The reference notebook's continuous search grid (GPU counts and batch sizes as real numbers).

Batch sizes 2^u, u evenly spaced on [0, 18 + log2 s]; GPU counts 2^v, v evenly spaced on
[log2(weight bytes / HBM capacity), 18]; 400 values each. The frontier is read off at 600 latency thresholds
10^-3·10^w, w evenly spaced on [−1, 3].
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class GridSpec:
    n_batch: int = 400
    n_gpu: int = 400
    max_log2_batch: float = 18.0  # plus log2 of the MoE sparsity
    max_log2_gpu: float = 18.0
    n_thresholds: int = 600
    min_log10_threshold_s: float = -4.0
    max_log10_threshold_s: float = 0.0


def grid_axes(weight_memory_bytes: float, hbm_capacity_bytes: float, sparsity: float, grid: GridSpec = GridSpec()):
    """(GPU counts, batch sizes) of the continuous grid, as 1-D float arrays."""
    batch = 2.0 ** np.linspace(0.0, grid.max_log2_batch + math.log2(sparsity), grid.n_batch)
    low = math.log2(weight_memory_bytes / hbm_capacity_bytes)
    n_gpu = 2.0 ** np.linspace(low, grid.max_log2_gpu, grid.n_gpu)
    return n_gpu, batch


def thresholds_s(grid: GridSpec = GridSpec()) -> np.ndarray:
    return 10.0 ** np.linspace(grid.min_log10_threshold_s, grid.max_log10_threshold_s, grid.n_thresholds)
