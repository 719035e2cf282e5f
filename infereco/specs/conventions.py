"""Static modelling switches of the physics (hashable, never traced): the presets choose them."""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True)
class Conventions:
    """Static modelling switches. The defaults are the library's; presets pick the reference's.

    - `tp_2d_options`: which tensor-parallel layouts to try (True = 2D, False = 1D).
    - `pp_degrees`: pipeline degrees to try (microbatches = degree, bubble-free).
    - `collectives`: the interconnect fabric whose collective model applies (`infereco.specs.fabric.FABRICS`:
      'nvlink', 'xgmi', 'ici-torus', 'neuronlink', 'gaudi-roce', 'pcie', 'ring'; 'nccl' = 'nvlink').
    - `parallel_attention_merges_collectives`: PaLM-style blocks need half the serial all-reduces and kernels
      (Erdil Eq. 7). The reference notebook ignores this.
    - `spec_convention`: 'notebook' ((1 − α^(γ+1))/(1 − α) tokens, a (γ+1)-token target pass) or
      'paper' (Eq. 46: (1 − α^γ)/(1 − α), a γ-token target pass).
    - `reference_qkv_bytes`: the notebook omits the activation precision on the QKV outputs it re-reads.
    - `draft_shares_memory`: the draft model's weights and KV cache count against the same HBM as the target's
      (the notebook checks each model's fit on its own).
    """

    tp_2d_options: tuple[bool, ...] = (True, False)
    pp_degrees: tuple[float, ...] = (1.0, 2.0, 4.0, 6.0)
    collectives: str = "nvlink"
    parallel_attention_merges_collectives: bool = True
    spec_convention: Literal["notebook", "paper"] = "notebook"
    reference_qkv_bytes: bool = (
        False  # count QKV outputs at 1 byte per element, as the reference notebook does
    )
    draft_shares_memory: bool = True  # speculative decoding: target and draft weights + KV must fit together
