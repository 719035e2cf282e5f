"""DeepSeek V4 (Flash, Pro): hybrid compressed attention over a single-head latent KV, and a DeepSeek MoE.

Every layer keeps an uncompressed sliding window (`sliding_window` tokens) of head_dim-wide latent KV entries
(one KV head, keys doubling as values) and, per `compress_ratios` entry r > 0, one compressed entry per r
tokens: r = 4 layers (compressed sparse attention) attend to the `index_topk` compressed entries a lightning
indexer picks (index_n_heads × index_head_dim keys per compressed entry), r = 128 layers (heavily compressed
attention) to all of them; r = 0 layers have the window only. In the cost sheet (specs.layers) a layer is a
`sliding` part (queries, latent KV and grouped output-LoRA weights: Q d·r_q + r_q·h·d_h, KV d·d_h, O h·d_h·r_o
+ g·r_o·d; d_h elements per token in the window; 4·h·d_h FLOP per attended entry) plus a compressed part
holding d_h / r elements per context token (r = 4: `sparse`, capped at index_topk·r positions, with the
indexer's keys (d_i + 4 bytes) / r and 2·H_i·d_i / r FLOP per position; r = 128: `full`). Compressor weights
(2·d·d_h per compressed layer, twice for the overlapping r = 4 compressor) and indexer weights (r_q·H_i·d_i +
2·d·d_i + d·H_i) are counted. MoE: n_routed_experts of moe_intermediate_size, num_experts_per_tok, shared
experts; the first num_hash_layers route by token hash (the same expert reads). Hyper-connections (hc_mult
residual streams) are a few mixing weights per layer, not costed. MTP layers are not counted."""

from __future__ import annotations

from collections import Counter
from typing import Any

from infereco.specs.hf._config import Config
from infereco.specs.hf.registry import register
from infereco.specs.layers import MixerGroup


@register("deepseek-v4", ["DeepseekV4ForCausalLM"], ["deepseek_v4", "deepseek_ref"])
def deepseek_v4_fields(cfg: Config) -> dict[str, Any]:
    d = cfg.get_int("hidden_size")
    n_layers = cfg.get_int("num_hidden_layers")
    h = cfg.get_int("num_attention_heads")
    dh = cfg.get_int("head_dim")
    rq = cfg.get_int("q_lora_rank")
    ro = cfg.get_int("o_lora_rank")
    groups = cfg.get_int("o_groups", default=1)
    window = cfg.get_int("sliding_window")
    ratios = cfg.get_list("compress_ratios") or []
    if len(ratios) < n_layers or not all(
        isinstance(r, int) and not isinstance(r, bool) and r >= 0 for r in ratios
    ):
        raise cfg.error("compress_ratios", f"<list of {len(ratios)}>", f"expected {n_layers} ratios >= 0")
    counts = Counter(ratios[:n_layers])
    top = cfg.get_int("index_topk")
    hi, di = cfg.get_int("index_n_heads"), cfg.get_int("index_head_dim")
    per_position = float(4 * h * dh)
    mixers = [
        MixerGroup(
            kind="sliding",
            n_layers=n_layers,
            params=float(d * rq + rq * h * dh + d * dh + h * dh * ro + groups * ro * d),
            kv_elements_per_token=float(dh),
            attention_flop_per_position=per_position,
            window=window,
            note="sliding-window latent attention",
        )
    ]
    sparse_ratios = sorted(r for r in counts if r and r <= 4)
    for r in sorted(r for r in counts if r):
        n = counts[r]
        common = {
            "n_layers": n,
            "kv_elements_per_token": dh / r,
            "attention_flop_per_position": per_position / r,
        }
        if r in sparse_ratios:
            mixers.append(
                MixerGroup(
                    kind="sparse",
                    params=float(2 * 2 * d * dh + rq * hi * di + 2 * d * di + d * hi),
                    top_k=top * r,
                    index_bytes_per_token=(di + 4) / r,
                    index_flop_per_position=2.0 * hi * di / r,
                    note=f"compressed sparse attention (1/{r}, top {top})",
                    **common,
                )
            )
        else:
            mixers.append(
                MixerGroup(
                    kind="full", params=float(2 * d * dh), note=f"compressed attention (1/{r})", **common
                )
            )
    if len(sparse_ratios) > 1:
        raise cfg.error("compress_ratios", sparse_ratios, "expected one sparse compression ratio")
    fields: dict[str, Any] = {
        "d_model": d,
        "d_ff": cfg.get_int("moe_intermediate_size"),
        "ffn_matrices": (2, 1),
        "n_layers": n_layers,
        "n_heads": h,
        "n_kv_heads": 1,
        "d_head": dh,
        "vocab_size": cfg.get_int("vocab_size"),
        "n_experts": cfg.get_int("n_routed_experts"),
        "n_active_experts": cfg.get_int("num_experts_per_tok"),
        "n_shared_experts": cfg.get_int("n_shared_experts", default=0),
        "mixers": tuple(mixers),
    }
    if str(cfg.data.get("expert_dtype", "")).lower() == "fp4":
        # Routed experts ship as FP4 with a UE8M0 scale per 32 values (MXFP4) beside the FP8 rest.
        fields.update(expert_weight_bits=4, fp4_scale_bits=0.25)
        cfg.note("routed experts FP4 (expert_dtype), 4.25 effective bits/weight")
    n_dense = cfg.get_int("first_k_dense_replace", default=0)
    if n_dense:
        fields.update(n_dense_layers=n_dense, d_ff_dense=cfg.get_int("intermediate_size"))
    cfg.note(
        f"compressed attention {dict(sorted(counts.items()))} (ratio: layers), window {window}; "
        f"hyper-connections (hc_mult {cfg.data.get('hc_mult')}) not costed"
    )
    mtp = cfg.data.get("num_nextn_predict_layers")
    if isinstance(mtp, int) and not isinstance(mtp, bool) and mtp > 0:
        cfg.note(f"{mtp} multi-token-prediction layer(s) not counted")
    return fields
