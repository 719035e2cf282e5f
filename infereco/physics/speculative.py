"""Speculative decoding (Leviathan et al. 2023; Erdil §4.1): expected tokens per target pass."""

from __future__ import annotations

import jax.numpy as jnp


def expected_tokens_per_pass(acceptance, gamma, convention: str = "notebook", xp=jnp):
    """Expected tokens produced per target pass with `gamma` drafted tokens and i.i.d. acceptance α.

    'notebook' (Leviathan et al., with the bonus token): (1 − α^(γ+1)) / (1 − α).
    'paper' (Erdil Eq. 46): (1 − α^γ) / (1 − α).
    At α = 1 the limits are γ + 1 and γ.

    >>> float(expected_tokens_per_pass(0.8, 4, "notebook"))
    3.3616
    """
    power = target_tokens_per_pass(gamma, convention)
    acceptance = xp.asarray(acceptance, dtype=xp.float64)
    safe = xp.where(acceptance < 1.0, acceptance, 0.5)  # avoid 0/0 at α = 1; the limit is `power`
    value = (1.0 - safe**power) / (1.0 - safe)
    return xp.where(acceptance < 1.0, value, power)


def target_tokens_per_pass(gamma, convention: str = "notebook"):
    """Tokens the target model processes per verification pass: γ + 1 (notebook) or γ (paper)."""
    return gamma + 1.0 if convention == "notebook" else gamma
