"""DeciLM / Llama-Nemotron NAS models (Llama-3.3-Nemotron-Super-49B, Ultra-253B): a Llama whose blocks differ
(`block_configs`). Per block: attention with num_attention_heads / n_heads_in_group KV heads, a single linear
map (`replace_with_linear`) or nothing (`no_op`); FFN of width ffn_mult·2d/3 rounded up to a multiple of 256
(DeciLM's `_ffn_mult_to_intermediate_size`), a linear map, or nothing. Attention blocks of equal KV-head count
form one mixer group; the FFN is dense with the blocks' mean width (weights and FLOP are linear in the width,
so the totals are exact) over the blocks that have one; linear replacements are always-active weights."""

from __future__ import annotations

from collections import Counter
from typing import Any

from infereco.specs.hf._config import Config, default_head_dim
from infereco.specs.hf.registry import register
from infereco.specs.layers import attention_group, linear_replacement_group


def _ffn_width(ffn_mult: float, d: int) -> int:
    width = int(2 * ffn_mult * d / 3)
    return width + (-width) % 256


@register("decilm", ["DeciLMForCausalLM"], ["nemotron-nas"])
def decilm_fields(cfg: Config) -> dict[str, Any]:
    d = cfg.get_int("hidden_size")
    n_heads = cfg.get_int("num_attention_heads")
    d_head = cfg.get_int("head_dim", default=default_head_dim(cfg, d, n_heads))
    blocks = cfg.get_list("block_configs")
    n_layers = cfg.get_int("num_hidden_layers", default=len(blocks or []))
    if not blocks or len(blocks) != n_layers or not all(isinstance(b, dict) for b in blocks):
        raise cfg.error("block_configs", f"<{len(blocks or [])} entries>", f"expected {n_layers} block dicts")
    kv_groups: Counter[int] = Counter()
    n_linear_attn = 0
    widths: list[int] = []
    linear_ffn = 0
    for i, block in enumerate(blocks):
        attn, ffn = block.get("attention") or {}, block.get("ffn") or {}
        if attn.get("replace_with_linear"):
            n_linear_attn += 1
        elif not attn.get("no_op"):
            group = attn.get("n_heads_in_group")
            if not isinstance(group, int) or group < 1 or n_heads % group:
                raise cfg.error(
                    f"block_configs[{i}].attention.n_heads_in_group", group, f"a divisor of {n_heads}"
                )
            kv_groups[n_heads // group] += 1
        if ffn.get("replace_with_linear"):
            linear_ffn += 1
        elif not ffn.get("no_op"):
            mult = ffn.get("ffn_mult")
            if not isinstance(mult, (int, float)) or isinstance(mult, bool) or mult <= 0:
                raise cfg.error(f"block_configs[{i}].ffn.ffn_mult", mult, "a positive number")
            widths.append(_ffn_width(float(mult), d))
    if not kv_groups or not widths:
        raise cfg.error("block_configs", "<blocks>", "expected at least one attention and one FFN block")
    mixers = [
        attention_group(n, d, n_heads, kv, d_head, note=f"attention, {kv} KV heads")
        for kv, n in sorted(kv_groups.items())
    ]
    if n_linear_attn:
        mixers.append(linear_replacement_group(n_linear_attn, d, note="linear attention replacement"))
    main_kv = kv_groups.most_common(1)[0][0]
    cfg.note(
        f"{sum(kv_groups.values())} attention, {n_linear_attn} linear and "
        f"{n_layers - sum(kv_groups.values()) - n_linear_attn} no-op attention blocks; "
        f"{len(widths)} FFNs of mean width {sum(widths) / len(widths):.0f}"
    )
    return {
        "d_model": d,
        "d_ff": round(sum(widths) / len(widths)),
        "ffn_matrices": (2, 1),
        "n_layers": n_layers,
        "n_ffn_layers": len(widths),
        "n_heads": n_heads,
        "n_kv_heads": main_kv,
        "d_head": d_head,
        "vocab_size": cfg.get_int("vocab_size"),
        "mixers": tuple(mixers),
        "other_dense_params": float(linear_ffn * d * d),
    }
