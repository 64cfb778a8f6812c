"""GGUF export and import with the `gguf` package, in llama.cpp's conventions.

Tensor names come from gguf's own map applied to our Hugging Face names (svglm/model/hf.py),
so there is still one weight-name map per family. Two layout rules of llama.cpp's converter are
applied on export and undone on import: Llama q/k rows are permuted for its rotary layout, and
Gemma norms store (1 + w). The tokenizer travels twice: as llama.cpp's gpt2-style token list
and merges, and whole as `tokenizer.huggingface.json`, from which svglm rebuilds it exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import torch

from svglm.model.config import ModelConfig, family_config
from svglm.model.hf import export_state, import_state, to_hf_name
from svglm.model.transformer import Decoder

ARCH = {
    "llama": gguf.MODEL_ARCH.LLAMA,
    "qwen2": gguf.MODEL_ARCH.QWEN2,
    "qwen3": gguf.MODEL_ARCH.QWEN3,
    "gemma3": gguf.MODEL_ARCH.GEMMA3,
}
FAMILY_OF_ARCH = {gguf.MODEL_ARCH_NAMES[a]: f for f, a in ARCH.items()}
HF_TOKENIZER_KEY = "tokenizer.huggingface.json"


def _permute(w: torch.Tensor, heads: int, inverse: bool = False) -> torch.Tensor:
    """llama.cpp's Llama rotary layout: rows of each head interleave its two halves."""
    shape = w.shape
    if inverse:
        return w.reshape(heads, shape[0] // heads // 2, 2, *shape[1:]).swapaxes(1, 2).reshape(shape)
    return w.reshape(heads, 2, shape[0] // heads // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


def _to_gguf_layout(hf_name: str, t: torch.Tensor, cfg: ModelConfig, inverse: bool) -> torch.Tensor:
    if cfg.family == "llama" and hf_name.endswith(("q_proj.weight", "k_proj.weight")):
        heads = cfg.n_head if "q_proj" in hf_name else cfg.n_kv_head
        return _permute(t, heads, inverse)
    if cfg.family == "gemma3" and hf_name.endswith("norm.weight"):
        return t - 1.0 if inverse else t + 1.0
    return t


def export_gguf(model: Decoder, tok: Any, path: Path) -> Path:
    cfg = model.cfg
    if cfg.family not in ARCH:
        raise ValueError(
            f"GGUF export supports {', '.join(ARCH)}; {cfg.family} is not supported yet"
        )
    if not _merges(tok):  # gguf drops empty arrays; llama.cpp won't load a gpt2 vocab without them
        raise ValueError(
            "the tokenizer has no BPE merges, so llama.cpp could not load the GGUF; "
            "raise tokenizer.vocab_size in run.yaml and rerun"
        )
    arch = ARCH[cfg.family]
    names = gguf.get_tensor_name_map(arch, cfg.n_layer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    w = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[arch])
    w.add_name(f"svglm-{cfg.family}")
    w.add_context_length(cfg.max_seq_len)
    w.add_embedding_length(cfg.d_model)
    w.add_block_count(cfg.n_layer)
    w.add_feed_forward_length(cfg.d_ff)
    w.add_head_count(cfg.n_head)
    w.add_head_count_kv(cfg.n_kv_head)
    w.add_key_length(cfg.hd)
    w.add_value_length(cfg.hd)
    w.add_rope_freq_base(cfg.rope_theta)
    w.add_layer_norm_rms_eps(cfg.norm_eps)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    if cfg.family == "gemma3":
        w.add_sliding_window(cfg.sliding_window)
        w.add_rope_freq_base_swa(cfg.local_rope_theta)
        if cfg.final_softcap:
            w.add_final_logit_softcapping(cfg.final_softcap)
    # Everything svglm needs to rebuild the exact config (per-layer kinds, scales) in one place.
    w.add_string("svglm.config", json.dumps(vars(cfg)))
    _add_tokenizer(w, tok)
    for name, tensor in export_state(model).items():
        data = _to_gguf_layout(name, tensor, cfg, inverse=False).float().numpy()
        w.add_tensor(names.get_name(name, try_suffixes=(".weight", ".bias")), data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(path)
    return path


def _merges(tok: Any) -> list[str]:
    merges = json.loads(tok.tok.to_str())["model"]["merges"]
    return [m if isinstance(m, str) else " ".join(m) for m in merges]


def _add_tokenizer(w: gguf.GGUFWriter, tok: Any) -> None:
    data = json.loads(tok.tok.to_str())
    vocab = tok.tok.get_vocab(with_added_tokens=True)
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    assert [i for _, i in by_id] == list(range(len(by_id))), "token ids must be dense"
    added = {t["content"]: t for t in data["added_tokens"]}
    types = [
        gguf.TokenType.CONTROL
        if added.get(t, {}).get("special")
        else gguf.TokenType.USER_DEFINED
        if t in added
        else gguf.TokenType.NORMAL
        for t, _ in by_id
    ]
    merges = _merges(tok)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list([t for t, _ in by_id])
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(tok.bos_id)
    w.add_eos_token_id(tok.eos_id)
    w.add_pad_token_id(tok.pad_id)
    w.add_add_bos_token(False)
    w.add_string(HF_TOKENIZER_KEY, tok.tok.to_str())


def _field(reader: gguf.GGUFReader, key: str) -> Any:
    f = reader.get_field(key)
    return None if f is None else f.contents()


def _config(reader: gguf.GGUFReader, path: Path, use_svglm_config: bool) -> ModelConfig:
    """Files svglm wrote carry their exact config; others are read from the standard keys."""
    arch = _field(reader, "general.architecture")
    family = FAMILY_OF_ARCH.get(arch)
    if family is None:
        raise ValueError(
            f"{path}: GGUF architecture {arch!r} is not supported "
            f"(supported: {', '.join(FAMILY_OF_ARCH)})"
        )
    saved = _field(reader, "svglm.config") if use_svglm_config else None
    if saved is None:
        return _config_from_keys(reader, family, arch)
    d = json.loads(saved)
    d["layer_types"] = tuple(d["layer_types"])
    return family_config(family, **{k: v for k, v in d.items() if k != "family"})


def read_gguf_config(path: Path) -> ModelConfig:
    """Only the config: the reader memory-maps the tensors and nothing is copied."""
    return _config(gguf.GGUFReader(str(path)), path, True)


def read_gguf_tokenizer(path: Path) -> str | None:
    """The tokenizer.json text the file carries, if any."""
    return _field(gguf.GGUFReader(str(path)), HF_TOKENIZER_KEY)


def read_gguf(
    path: Path, use_svglm_config: bool = True
) -> tuple[ModelConfig, dict[str, torch.Tensor], str | None]:
    """Config, HF-named weights and the tokenizer.json text (when the file carries one)."""
    reader = gguf.GGUFReader(str(path))
    cfg = _config(reader, path, use_svglm_config)
    names = gguf.get_tensor_name_map(ARCH[cfg.family], cfg.n_layer)
    wanted = {}
    with torch.device("meta"):  # only for the parameter names: nothing is allocated
        ours = Decoder(cfg)
    for name in ours.state_dict():
        if name == "lm_head.weight" and cfg.tie_embeddings:
            continue
        hf = to_hf_name(name, cfg)
        wanted[names.get_name(hf, try_suffixes=(".weight", ".bias"))] = hf
    state = {}
    for t in reader.tensors:
        if t.name in wanted:
            # gguf stores numpy shapes reversed; the data is already in row-major order
            data = torch.from_numpy(np.array(t.data, dtype=np.float32)).reshape(
                tuple(int(x) for x in reversed(t.shape))
            )
            hf = wanted[t.name]
            state[hf] = _to_gguf_layout(hf, data, cfg, inverse=True)
    return cfg, state, _field(reader, HF_TOKENIZER_KEY)


def _config_from_keys(reader: gguf.GGUFReader, family: str, arch: str) -> ModelConfig:
    """A config from the standard GGUF keys, for files svglm did not write."""

    def key(name: str, default: Any = None) -> Any:
        value = _field(reader, f"{arch}.{name}")
        if isinstance(value, float):  # stored as f32: keep the digits it actually carries
            value = float(f"{value:.7g}")
        return default if value is None else value

    n_head = int(key("attention.head_count"))
    sizes: dict[str, Any] = dict(
        vocab_size=len(_field(reader, "tokenizer.ggml.tokens")),
        n_layer=int(key("block_count")),
        d_model=int(key("embedding_length")),
        n_head=n_head,
        n_kv_head=int(key("attention.head_count_kv", n_head)),
        d_ff=int(key("feed_forward_length")),
        max_seq_len=int(key("context_length", 2048)),
        head_dim=key("attention.key_length"),
        rope_theta=float(key("rope.freq_base", 10000.0)),
        norm_eps=float(key("attention.layer_norm_rms_epsilon", 1e-6)),
        tie_embeddings=not any(t.name == "output.weight" for t in reader.tensors),
    )
    if family == "gemma3":
        sizes.update(
            sliding_window=int(key("attention.sliding_window", 512)),
            local_rope_theta=float(key("rope.freq_base_swa", 10000.0)),
            final_softcap=key("final_logit_softcapping"),
        )
    return family_config(family, **sizes)


def load_gguf_model(path: Path) -> tuple[Decoder, str | None]:
    cfg, state, tokenizer_json = read_gguf(path)
    model = Decoder(cfg)
    import_state(model, state)
    return model, tokenizer_json
