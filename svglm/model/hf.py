"""Hugging Face interop: config translation both ways and the one weight-name map per
architecture.

The same map serves export (our names -> HF names) and import (HF names -> ours), and the
parity tests load our weights into the `transformers` reference through it.
"""

from __future__ import annotations

import json
import re
from math import inf
from pathlib import Path
from typing import Any

import torch

from svglm.errors import CheckpointError
from svglm.files import atomic_write_json, atomic_write_text
from svglm.model.config import ModelConfig, architecture_config

HF_MODEL_TYPE = {
    "llama": "llama",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "gemma3": "gemma3_text",
    "qwen35": "qwen3_5_text",
}
HF_ARCH = {
    "llama": "LlamaForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM",
    "gemma3": "Gemma3ForCausalLM",
    "qwen35": "Qwen3_5ForCausalLM",
}
ARCHITECTURE_OF_MODEL_TYPE = {v: k for k, v in HF_MODEL_TYPE.items()} | {"gemma3": "gemma3"}
HF_LAYER_TYPE = {
    "full": "full_attention",
    "sliding": "sliding_attention",
    "linear": "linear_attention",
}


def hf_config_dict(
    cfg: ModelConfig,
    bos_id: int | None = None,
    eos_id: int | None = None,
    pad_id: int | None = None,
) -> dict[str, Any]:
    """config.json content for the `transformers` class of cfg's architecture."""
    d: dict[str, Any] = {
        "architectures": [HF_ARCH[cfg.architecture]],
        "model_type": HF_MODEL_TYPE[cfg.architecture],
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.d_model,
        "intermediate_size": cfg.d_ff,
        "num_hidden_layers": cfg.n_layer,
        "num_attention_heads": cfg.n_head,
        "num_key_value_heads": cfg.n_kv_head,
        "head_dim": cfg.hd,
        "rms_norm_eps": cfg.norm_eps,
        "max_position_embeddings": cfg.seq_len,
        "tie_word_embeddings": cfg.tie_embeddings,
        "bos_token_id": bos_id,
        "eos_token_id": eos_id,
        "pad_token_id": pad_id,
        "torch_dtype": "float32",
    }
    rope = {"rope_type": "default", "rope_theta": cfg.rope_theta}
    if cfg.architecture in ("llama", "qwen2", "qwen3"):
        d.update(hidden_act="silu", attention_bias=cfg.qkv_bias, rope_parameters=rope)
        if cfg.architecture == "llama":
            d["mlp_bias"] = False
    elif cfg.architecture == "gemma3":
        d.update(
            hidden_activation="gelu_pytorch_tanh",
            query_pre_attn_scalar=_pre_attn_scalar(cfg),
            sliding_window=cfg.sliding_window,
            final_logit_softcapping=cfg.final_softcap,
            attn_logit_softcapping=None,
            attention_bias=False,
            layer_types=[HF_LAYER_TYPE[t] for t in cfg.types],
            rope_parameters={
                "full_attention": rope,
                "sliding_attention": {"rope_type": "default", "rope_theta": cfg.local_rope_theta},
            },
        )
    elif cfg.architecture == "qwen35":
        d.update(
            hidden_act="silu",
            attention_bias=False,
            layer_types=[HF_LAYER_TYPE[t] for t in cfg.types],
            linear_conv_kernel_dim=cfg.linear_conv,
            linear_key_head_dim=cfg.linear_k_dim,
            linear_value_head_dim=cfg.linear_v_dim,
            linear_num_key_heads=cfg.linear_k_heads,
            linear_num_value_heads=cfg.linear_v_heads,
            rope_parameters={**rope, "partial_rotary_factor": cfg.rope_fraction},
        )
    return d


def _pre_attn_scalar(cfg: ModelConfig) -> float:
    return cfg.hd if cfg.attn_scale is None else cfg.attn_scale**-2


def config_from_hf(d: dict[str, Any]) -> ModelConfig:
    """Our ModelConfig from a transformers config.json dict (architectures we support only)."""
    if not isinstance(d, dict):
        raise TypeError(f"expected an object, got {type(d).__name__}")
    architecture = ARCHITECTURE_OF_MODEL_TYPE.get(str(d.get("model_type", "")))
    if architecture is None:
        raise CheckpointError(
            f"unsupported model_type {d.get('model_type')!r} "
            f"(supported: {', '.join(HF_MODEL_TYPE.values())})"
        )
    rope = d.get("rope_parameters") or {}
    sizes: dict[str, Any] = dict(
        vocab_size=d["vocab_size"],
        n_layer=d["num_hidden_layers"],
        d_model=d["hidden_size"],
        n_head=d["num_attention_heads"],
        n_kv_head=d.get("num_key_value_heads", d["num_attention_heads"]),
        d_ff=d["intermediate_size"],
        seq_len=d.get("max_position_embeddings", 2048),
        head_dim=d.get("head_dim"),
        norm_eps=d.get("rms_norm_eps", 1e-6),
        tie_embeddings=d.get("tie_word_embeddings", True),
    )
    back = {v: k for k, v in HF_LAYER_TYPE.items()}
    if architecture == "gemma3":
        sizes.update(
            rope_theta=rope.get("full_attention", {}).get("rope_theta", 1e6),
            local_rope_theta=rope.get("sliding_attention", {}).get("rope_theta", 1e4),
            sliding_window=d.get("sliding_window", 512),
            final_softcap=d.get("final_logit_softcapping"),
            layer_types=tuple(back[t] for t in d["layer_types"]),
        )
        scalar = d.get("query_pre_attn_scalar", 256)
        if isinstance(scalar, bool) or not isinstance(scalar, int | float) or not 0 < scalar < inf:
            raise CheckpointError(
                f"query_pre_attn_scalar must be a positive number, not {scalar!r}"
            )
        if scalar != (d.get("head_dim") or d["hidden_size"] // d["num_attention_heads"]):
            sizes["attn_scale"] = scalar**-0.5
    else:
        sizes["rope_theta"] = rope.get("rope_theta", d.get("rope_theta", 10000.0))
    if architecture == "qwen35":
        sizes.update(
            layer_types=tuple(back[t] for t in d["layer_types"]),
            rope_fraction=rope.get("partial_rotary_factor", 0.25),
            linear_conv=d["linear_conv_kernel_dim"],
            linear_k_dim=d["linear_key_head_dim"],
            linear_v_dim=d["linear_value_head_dim"],
            linear_k_heads=d["linear_num_key_heads"],
            linear_v_heads=d["linear_num_value_heads"],
        )
    return architecture_config(architecture, **sizes)


# -- weight names -------------------------------------------------------------------------------
def _layer_rules(cfg: ModelConfig) -> list[tuple[str, str]]:
    """(our suffix, HF suffix) inside one decoder layer."""
    rules = [("attn_norm", "input_layernorm"), ("mlp.", "mlp.")]
    if cfg.sandwich_norm:  # gemma3 names its four norms differently from llama
        rules += [
            ("attn_out_norm", "post_attention_layernorm"),
            ("mlp_norm", "pre_feedforward_layernorm"),
            ("mlp_out_norm", "post_feedforward_layernorm"),
        ]
    else:
        rules.append(("mlp_norm", "post_attention_layernorm"))
    return rules


def to_hf_name(name: str, cfg: ModelConfig) -> str:
    fixed = {
        "embed.weight": "model.embed_tokens.weight",
        "final_norm.weight": "model.norm.weight",
        "lm_head.weight": "lm_head.weight",
    }
    if name in fixed:
        return fixed[name]
    m = re.fullmatch(r"layers\.(\d+)\.(.+)", name)
    if m is None:
        raise KeyError(f"no HF name for {name!r}")
    i, rest = int(m.group(1)), m.group(2)
    if rest.startswith("attn."):
        mixer = "linear_attn" if cfg.types[i] == "linear" else "self_attn"
        return f"model.layers.{i}.{mixer}.{rest[len('attn.') :]}"
    for ours, theirs in _layer_rules(cfg):
        if rest.startswith(ours):
            return f"model.layers.{i}.{theirs}{rest[len(ours) :]}"
    raise KeyError(f"no HF name for {name!r}")


def export_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Our state dict under HF names (tied lm_head left out, as transformers saves it)."""
    cfg = model.cfg
    out = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight" and cfg.tie_embeddings:
            continue
        out[to_hf_name(name, cfg)] = tensor.detach().clone().contiguous()
    return out


def import_state(model: torch.nn.Module, hf_state: dict[str, torch.Tensor]) -> None:
    """Load HF-named tensors into our model; every parameter must be matched exactly once."""
    cfg = model.cfg
    ours = model.state_dict()
    wanted = {
        to_hf_name(n, cfg): n for n in ours if not (n == "lm_head.weight" and cfg.tie_embeddings)
    }
    missing = sorted(set(wanted) - set(hf_state))
    if missing:
        raise CheckpointError(f"checkpoint lacks {len(missing)} tensors, e.g. {missing[0]}")
    model.load_state_dict(
        {wanted[k]: hf_state[k] for k in wanted}
        | ({"lm_head.weight": hf_state["model.embed_tokens.weight"]} if cfg.tie_embeddings else {})
    )


# -- directories --------------------------------------------------------------------------------
Specials = dict[str, tuple[str, int]]  # {"bos": ("<|bos|>", 1), "eos": ..., "pad": ...}


def reference_model(model: torch.nn.Module) -> torch.nn.Module:
    """The `transformers` model of `model`'s architecture with the same weights, in fp32 with
    sdpa attention: the peer the benchmarks measure against (needs transformers)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    ref = AutoModelForCausalLM.from_config(
        AutoConfig.for_model(**hf_config_dict(model.cfg)),
        attn_implementation="sdpa",
        dtype=torch.float32,
    )
    ref.load_state_dict(export_state(model), strict=False)  # a tied head has no own entry
    ref.tie_weights()
    return ref.train(model.training)


def save_hf_dir(model: torch.nn.Module, tokenizer_json: str, specials: Specials, out: Path) -> Path:
    """A directory that `AutoModelForCausalLM` and `AutoTokenizer` load with no custom code.

    `tokenizer_json` is the tokenizers-library file text; `specials` names the bos, eos and pad
    markers and their ids, which transformers needs spelled out in its own config files."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    cfg = model.cfg
    ids = {f"{k}_token_id": i for k, (_, i) in specials.items()}
    tokens = {f"{k}_token": t for k, (t, _) in specials.items()}
    config = hf_config_dict(cfg, ids["bos_token_id"], ids["eos_token_id"], ids["pad_token_id"])
    atomic_write_json(out / "config.json", config)
    atomic_write_json(out / "generation_config.json", ids)
    save_file(export_state(model), str(out / "model.safetensors"), metadata={"format": "pt"})
    atomic_write_text(out / "tokenizer.json", tokenizer_json)
    atomic_write_json(
        out / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            **tokens,
            "model_max_length": cfg.seq_len,
            "clean_up_tokenization_spaces": False,
        },
    )
    atomic_write_json(out / "special_tokens_map.json", tokens)
    return out


def load_hf_dir(path: Path) -> tuple[ModelConfig, dict[str, torch.Tensor], Path]:
    """Config, HF-named weights and the tokenizer.json path of a saved transformers model."""
    from safetensors.torch import load_file

    cfg = read_hf_config(path)
    files = sorted(path.glob("*.safetensors"))
    if not files:
        raise CheckpointError(f"{path}: no *.safetensors weights (only safetensors are loaded)")
    state: dict[str, torch.Tensor] = {}
    for f in files:
        state.update(load_file(str(f)))
    if not (path / "tokenizer.json").exists():
        raise CheckpointError(f"{path}: no tokenizer.json (a fast tokenizer file is needed)")
    return cfg, state, path / "tokenizer.json"


def read_hf_config(path: Path) -> ModelConfig:
    """Only the architecture of a transformers model directory: no weights are read."""
    if not (path / "config.json").exists():
        raise CheckpointError(f"{path}: no config.json (not a Hugging Face model directory)")
    try:
        return config_from_hf(json.loads((path / "config.json").read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path / 'config.json'}: not valid JSON ({e})") from None
    except KeyError as e:
        raise CheckpointError(f"{path / 'config.json'}: missing key {e}") from None
    # a key of the wrong type or value (0 heads divide by zero; an infinite size is no integer)
    except (TypeError, ValueError, AttributeError, ArithmeticError) as e:
        raise CheckpointError(f"{path / 'config.json'}: does not describe a model ({e})") from None
