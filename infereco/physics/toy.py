"""The closed-form toy model of Erdil 2025 §2.2.3 (Eqs. 8–19): optimal instance size, minimum latency, √N law.

Dense model, short context, 2D TP with t_reduce = 2·t_hop·(√N − 1), batch at the critical size b*.
"""

from __future__ import annotations

import math


def critical_batch_size(
    weight_bytes_per_param: float, flop_per_s: float, hbm_bandwidth_bytes_per_s: float
) -> float:
    """b* = p·C / (B · 2 FLOP) (Erdil §2.1): the largest batch that still runs at the HBM-read latency.

    >>> round(critical_batch_size(2, 1e15, 3.3e12))
    303
    """
    return weight_bytes_per_param * flop_per_s / (hbm_bandwidth_bytes_per_s * 2.0)


def optimal_instance_size(
    n_params: float,
    weight_bytes_per_param: float,
    n_layers: int,
    hbm_bandwidth_bytes_per_s: float,
    n_reduce: int = 4,
    t_hop_s: float = 1e-6,
) -> float:
    """N*_GPU = max(p·N / (L·n_reduce·t_hop·B), 1)^(2/3) (Eq. 13)."""
    ratio = weight_bytes_per_param * n_params / (n_layers * n_reduce * t_hop_s * hbm_bandwidth_bytes_per_s)
    return max(ratio, 1.0) ** (2.0 / 3.0)


def min_token_latency_s(
    n_params: float,
    weight_bytes_per_param: float,
    n_layers: int,
    hbm_bandwidth_bytes_per_s: float,
    n_reduce: int = 4,
    t_hop_s: float = 1e-6,
) -> float:
    """Minimum token latency (Eq. 14): 3·(L·n_r·t_hop)^(2/3)·(p·N/B)^(1/3) − 2·L·n_r·t_hop if N* > 1, else
    p·N/B.

    >>> round(min_token_latency_s(70.6e9, 2, 80, 3.3e12) * 1e3, 2)
    4.27
    """
    serial = n_layers * n_reduce * t_hop_s
    read = weight_bytes_per_param * n_params / hbm_bandwidth_bytes_per_s
    if read / serial > 1.0:
        return 3.0 * serial ** (2.0 / 3.0) * read ** (1.0 / 3.0) - 2.0 * serial
    return read


def toy_token_latency_s(
    n_gpu,
    n_params: float,
    weight_bytes_per_param: float,
    n_layers: int,
    hbm_bandwidth_bytes_per_s: float,
    n_reduce: int = 4,
    t_hop_s: float = 1e-6,
):
    """Eq. 9: latency at the critical batch for `n_gpu` GPUs: L·n_r·t_hop·2(√N − 1) + p·N_param/(N·B)."""
    return n_layers * n_reduce * t_hop_s * 2.0 * (n_gpu**0.5 - 1.0) + weight_bytes_per_param * n_params / (
        n_gpu * hbm_bandwidth_bytes_per_s
    )


def cost_at_min_latency_gpu_s_per_token(
    n_params: float,
    weight_bytes_per_param: float,
    n_layers: int,
    hbm_bandwidth_bytes_per_s: float,
    flop_per_s: float,
    n_reduce: int = 4,
    t_hop_s: float = 1e-6,
) -> float:
    """Eq. 15: (N*/b*)·min latency, GPU-seconds per token (≈ 3·2·N_param/C when N* ≫ 1, Eq. 17)."""
    n_star = optimal_instance_size(
        n_params, weight_bytes_per_param, n_layers, hbm_bandwidth_bytes_per_s, n_reduce, t_hop_s
    )
    b_star = critical_batch_size(weight_bytes_per_param, flop_per_s, hbm_bandwidth_bytes_per_s)
    return (
        n_star
        / b_star
        * min_token_latency_s(
            n_params, weight_bytes_per_param, n_layers, hbm_bandwidth_bytes_per_s, n_reduce, t_hop_s
        )
    )


def sqrt_law_speed(reference_tokens_per_s: float, reference_params: float, params: float) -> float:
    """Eq. 19: speed ∝ 1/√N_param, scaled from a reference model.

    >>> round(sqrt_law_speed(400, 8e9, 70e9))
    135
    """
    return reference_tokens_per_s * math.sqrt(reference_params / params)
