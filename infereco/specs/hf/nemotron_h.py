"""Nemotron-H and Nemotron 3 (Nano, Super, Ultra, 3.5): hybrid blocks of one sublayer each, named by
`hybrid_override_pattern` ('M' Mamba-2, '*' attention, '-' MLP, 'E' MoE) or `layers_block_type` ('mamba',
'attention', 'mlp', 'moe'). Mamba-2 layers -> `mamba2_group` (mamba_num_heads, mamba_head_dim, ssm_state_size,
n_groups, conv_kernel; state dtype `mamba_ssm_cache_dtype`); attention -> `attention_group`. FFNs are
squared-ReLU MLPs (ffn_matrices (1, 1)): MoE blocks with n_routed_experts, num_experts_per_tok,
moe_intermediate_size and n_shared_experts of moe_shared_expert_intermediate_size; MLP blocks dense
(intermediate_size). Latent MoE (`moe_latent_size` L, Nemotron 3 Super/Ultra): routed experts work in L
dimensions, so each expert holds 2·L·f weights (d_ff = L·f / d keeps that count), and every MoE block adds its
d→L and L→d projections (always active). Two blocks count as one layer of the spec (each block is one
all-reduce under tensor parallelism, a transformer layer two). MTP layers are not counted."""

from __future__ import annotations

import math
from typing import Any

from infereco.errors import SpecError
from infereco.specs.hf._config import Config, counted_types, default_head_dim, state_bits
from infereco.specs.hf.registry import register
from infereco.specs.layers import attention_group, mamba2_group

_PATTERN = {"M": "mamba", "*": "attention", "-": "mlp", "E": "moe"}


def _block_counts(cfg: Config) -> dict[str, int]:
    if cfg.has("hybrid_override_pattern"):
        pattern = cfg.data["hybrid_override_pattern"]
        if not isinstance(pattern, str) or set(pattern) - set(_PATTERN):
            raise cfg.error("hybrid_override_pattern", pattern, f"expected a string of {''.join(_PATTERN)}")
        blocks = [_PATTERN[c] for c in pattern]
        n = cfg.get_int("num_hidden_layers", default=len(blocks))
        if n != len(blocks):
            raise cfg.error("hybrid_override_pattern", f"<{len(blocks)} blocks>", f"expected {n} blocks")
        return {k: blocks.count(k) for k in _PATTERN.values()}
    if not cfg.has("layers_block_type"):
        raise SpecError(
            f"{cfg.where}: missing key {cfg.key('hybrid_override_pattern')!r} (or 'layers_block_type'): the "
            "hybrid's block types are needed to build a ModelSpec"
        )
    n = cfg.get_int("num_hidden_layers", default=len(cfg.get_list("layers_block_type") or []))
    return counted_types(cfg, "layers_block_type", n, tuple(_PATTERN.values()))


@register("nemotron-h", ["NemotronHForCausalLM"], ["nemotron_h"])
def nemotron_h_fields(cfg: Config) -> dict[str, Any]:
    counts = _block_counts(cfg)
    d = cfg.get_int("hidden_size")
    n_heads = cfg.get_int("num_attention_heads")
    d_head = cfg.first_int("head_dim", "attention_head_dim", default=default_head_dim(cfg, d, n_heads))
    n_kv = cfg.get_int("num_key_value_heads", default=n_heads)
    blocks = sum(counts.values())
    mixers = []
    if counts["attention"]:
        mixers.append(attention_group(counts["attention"], d, n_heads, n_kv, d_head, note="attention"))
    if counts["mamba"]:
        mixers.append(
            mamba2_group(
                counts["mamba"],
                d,
                cfg.get_int("mamba_num_heads"),
                cfg.get_int("mamba_head_dim"),
                cfg.get_int("ssm_state_size"),
                cfg.get_int("n_groups", default=1),
                cfg.get_int("conv_kernel", default=4),
                state_bits=state_bits(cfg, "mamba_ssm_cache_dtype"),
                note="Mamba-2",
            )
        )
    n_ffn = counts["mlp"] + counts["moe"]
    if not n_ffn or not mixers:
        raise cfg.error("hybrid_override_pattern", "<blocks>", "expected token-mixer and FFN blocks")
    fields: dict[str, Any] = {
        "d_model": d,
        "ffn_matrices": (1, 1),  # squared ReLU: up and down, no gate
        "n_layers": math.ceil(blocks / 2),
        "n_ffn_layers": n_ffn,
        "n_heads": n_heads,
        "n_kv_heads": n_kv,
        "d_head": d_head,
        "vocab_size": cfg.get_int("vocab_size"),
        "mixers": tuple(mixers),
    }
    if counts["moe"]:
        f = cfg.get_int("moe_intermediate_size")
        latent = cfg.optional_int("moe_latent_size")
        fields.update(
            d_ff=max(round(latent * f / d), 1) if latent else f,
            n_experts=cfg.get_int("n_routed_experts"),
            n_active_experts=cfg.get_int("num_experts_per_tok"),
            n_dense_layers=counts["mlp"],
        )
        shared = cfg.get_int("n_shared_experts", default=0)
        if shared:
            fields.update(
                n_shared_experts=shared,
                d_ff_shared=cfg.get_int("moe_shared_expert_intermediate_size", default=f),
            )
        if counts["mlp"]:
            fields["d_ff_dense"] = cfg.get_int("intermediate_size")
        if latent:
            fields["other_dense_params"] = float(counts["moe"] * 2 * d * latent)
            cfg.note(
                f"latent MoE ({latent}): experts of 2·{latent}·{f} weights, d<->latent projections dense"
            )
    else:
        fields["d_ff"] = cfg.get_int("intermediate_size")
    mtp = cfg.data.get("num_nextn_predict_layers")
    if isinstance(mtp, int) and not isinstance(mtp, bool) and mtp > 0:
        cfg.note(f"{mtp} multi-token-prediction layer(s) not counted")
    cfg.note(
        f"{counts['mamba']} Mamba-2, {counts['attention']} attention, {counts['moe']} MoE, "
        f"{counts['mlp']} MLP blocks"
    )
    return fields
