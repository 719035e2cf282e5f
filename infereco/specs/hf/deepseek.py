"""Multi-head latent attention (MLA) with DeepSeek MoE: DeepSeek-V2/V3/R1, DeepSeek-V3.2, Kimi K2 (the
DeepSeek-V3 shape), GLM MoE DSA (GLM-5). kv_lora_rank, q_lora_rank (null: full-rank queries),
qk_rope_head_dim; qk_nope_head_dim (= v_head_dim) -> d_head; first_k_dense_replace -> n_dense_layers;
intermediate_size -> d_ff_dense; moe_intermediate_size -> d_ff; n_routed_experts, n_shared_experts,
num_experts_per_tok. Multi-token-prediction layers are not counted. DeepSeek sparse attention (DSA: V3.2,
GLM-5; index_topk, index_n_heads, index_head_dim) -> one `mla_group` with top-k attention and its lightning
indexer (weights, FP8 keys and scoring FLOP)."""

from __future__ import annotations

from typing import Any

from infereco.specs.hf._config import Config, leading_dense_from_flags
from infereco.specs.hf.registry import register
from infereco.specs.layers import mla_group


def _mla_head_dim(cfg: Config) -> int:
    nope = cfg.get_int("qk_nope_head_dim")
    v_dim = cfg.get_int("v_head_dim", default=nope)
    if nope == v_dim:
        return nope
    # One d_head serves the query/key no-RoPE part and the value; the mean keeps the KV up-projection exact
    # (h·(nope + v) per latent row) and misses the query up- and output projections by h·|v - nope|/2 rows.
    mean = (nope + v_dim) // 2
    cfg.note(f"qk_nope_head_dim {nope} != v_head_dim {v_dim}: one d_head = {mean} (approximate)")
    return mean


def _moe_layers(cfg: Config, n_layers: int) -> int:
    """Leading dense layers: first_k_dense_replace, checked against a per-layer list where there is one."""
    freq = cfg.data.get("moe_layer_freq", 1)
    if isinstance(freq, list):
        n_dense = leading_dense_from_flags(cfg, "moe_layer_freq", n_layers, dense=0)
    else:
        freq = cfg.get_int("moe_layer_freq", default=1)
        if freq != 1:
            raise cfg.error(
                "moe_layer_freq", freq, "ModelSpec needs an MoE FFN in every layer after the dense ones"
            )
        n_dense = cfg.get_int("first_k_dense_replace", default=0)
    if cfg.has("mlp_layer_types"):
        listed = leading_dense_from_flags(cfg, "mlp_layer_types", n_layers, dense="dense")
        if listed != n_dense:
            raise cfg.error(
                "mlp_layer_types",
                f"<{listed} leading dense layers>",
                f"expected first_k_dense_replace = {n_dense} leading dense layers",
            )
    return n_dense


@register(
    "deepseek",
    [
        "DeepseekV2ForCausalLM",
        "DeepseekV3ForCausalLM",
        "DeepseekV32ForCausalLM",
        "GlmMoeDsaForCausalLM",
    ],
    ["deepseek_v2", "deepseek_v3", "deepseek_v32", "kimi_k2", "glm_moe_dsa"],
)
def deepseek_fields(cfg: Config) -> dict[str, Any]:
    n_heads = cfg.get_int("num_attention_heads")
    n_layers = cfg.get_int("num_hidden_layers")
    d_head = _mla_head_dim(cfg)
    n_dense = _moe_layers(cfg, n_layers)
    fields: dict[str, Any] = {
        "d_model": cfg.get_int("hidden_size"),
        "d_ff": cfg.get_int("moe_intermediate_size"),
        "ffn_matrices": (2, 1),
        "n_layers": n_layers,
        "n_heads": n_heads,
        "n_kv_heads": cfg.get_int("num_key_value_heads", default=n_heads),
        "d_head": d_head,
        "vocab_size": cfg.get_int("vocab_size"),
        "n_experts": cfg.get_int("n_routed_experts"),
        "n_active_experts": cfg.get_int("num_experts_per_tok"),
        "n_shared_experts": cfg.get_int("n_shared_experts", default=0),
        "n_dense_layers": n_dense,
        "kv_lora_rank": cfg.get_int("kv_lora_rank"),
        "q_lora_rank": cfg.optional_int("q_lora_rank"),  # null in DeepSeek-V2-Lite: full-rank queries
        "qk_rope_head_dim": cfg.get_int("qk_rope_head_dim"),
    }
    if n_dense:
        fields["d_ff_dense"] = cfg.get_int("intermediate_size")
    if cfg.has("index_topk"):
        nope = cfg.get_int("qk_nope_head_dim")
        fields["mixers"] = (
            mla_group(
                n_layers,
                fields["d_model"],
                n_heads,
                fields["kv_lora_rank"],
                fields["q_lora_rank"],
                nope,
                fields["qk_rope_head_dim"],
                cfg.get_int("v_head_dim", default=nope),
                top_k=cfg.get_int("index_topk"),
                index_heads=cfg.get_int("index_n_heads"),
                index_head_dim=cfg.get_int("index_head_dim"),
                note="MLA with DeepSeek sparse attention",
            ),
        )
        cfg.note(
            f"DeepSeek sparse attention: top {cfg.data['index_topk']} positions per query, indexer costed"
        )
    mtp = cfg.data.get("num_nextn_predict_layers")
    if isinstance(mtp, int) and not isinstance(mtp, bool) and mtp > 0:
        cfg.note(f"{mtp} multi-token-prediction layer(s) not counted")
    return fields
