"""GGUF export and import with the `gguf` package, in llama.cpp's conventions.

Tensor names come from gguf's own map applied to our Hugging Face names (svglm/model/hf.py),
so there is still one weight-name map per architecture. Two layout rules of llama.cpp's
converter are applied on export and undone on import: Llama q/k rows are permuted for its
rotary layout, and Gemma norms store (1 + w). The tokenizer travels twice: as llama.cpp's
gpt2-style token list and merges, and whole as `tokenizer.huggingface.json`, from which svglm
rebuilds it exactly.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import gguf
import numpy as np
import torch

from svglm.errors import CheckpointError, ExportError, SvglmError
from svglm.model.config import ModelConfig, architecture_config
from svglm.model.hf import Specials, export_state, import_state, to_hf_name
from svglm.model.transformer import Decoder

ARCH = {
    "llama": gguf.MODEL_ARCH.LLAMA,
    "qwen2": gguf.MODEL_ARCH.QWEN2,
    "qwen3": gguf.MODEL_ARCH.QWEN3,
    "gemma3": gguf.MODEL_ARCH.GEMMA3,
}
T = TypeVar("T")
ARCHITECTURE_OF_ARCH = {gguf.MODEL_ARCH_NAMES[a]: f for f, a in ARCH.items()}
HF_TOKENIZER_KEY = "tokenizer.huggingface.json"


def _permute(w: torch.Tensor, heads: int, inverse: bool = False) -> torch.Tensor:
    """llama.cpp's Llama rotary layout: rows of each head interleave its two halves."""
    shape = w.shape
    if inverse:
        return w.reshape(heads, shape[0] // heads // 2, 2, *shape[1:]).swapaxes(1, 2).reshape(shape)
    return w.reshape(heads, 2, shape[0] // heads // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


def _to_gguf_layout(hf_name: str, t: torch.Tensor, cfg: ModelConfig, inverse: bool) -> torch.Tensor:
    if cfg.architecture == "llama" and hf_name.endswith(("q_proj.weight", "k_proj.weight")):
        heads = cfg.n_head if "q_proj" in hf_name else cfg.n_kv_head
        return _permute(t, heads, inverse)
    if cfg.architecture == "gemma3" and hf_name.endswith("norm.weight"):
        return t - 1.0 if inverse else t + 1.0
    return t


def export_gguf(model: Decoder, tokenizer_json: str, specials: Specials, path: Path) -> Path:
    """One GGUF file with the weights (f32) and the tokenizer; written to a temp file first."""
    cfg = model.cfg
    if cfg.architecture not in ARCH:
        raise ExportError(
            f"GGUF export supports {', '.join(ARCH)}; {cfg.architecture} is not supported yet"
        )
    # gguf drops empty arrays, and llama.cpp will not load a gpt2 vocabulary without merges
    if not _merges(json.loads(tokenizer_json)):
        raise ExportError(
            "the tokenizer has no BPE merges, so llama.cpp could not load the GGUF; "
            "raise tokenizer.vocab_size in run.yaml and rerun"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        _write(model, tokenizer_json, specials, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)  # nothing half-written stays behind
    return path


def _write(model: Decoder, tokenizer_json: str, specials: Specials, file: Path) -> None:
    cfg = model.cfg
    arch = ARCH[cfg.architecture]
    names = gguf.get_tensor_name_map(arch, cfg.n_layer)
    w = gguf.GGUFWriter(str(file), gguf.MODEL_ARCH_NAMES[arch])
    w.add_name(f"svglm-{cfg.architecture}")
    w.add_context_length(cfg.seq_len)
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
    if cfg.architecture == "gemma3":
        w.add_sliding_window(cfg.sliding_window)
        w.add_rope_freq_base_swa(cfg.local_rope_theta)
        if cfg.final_softcap:
            w.add_final_logit_softcapping(cfg.final_softcap)
    # Everything svglm needs to rebuild the exact config (per-layer kinds, scales) in one place.
    w.add_string("svglm.config", json.dumps(vars(cfg)))
    _add_tokenizer(w, tokenizer_json, specials)
    for name, tensor in export_state(model).items():
        data = _to_gguf_layout(name, tensor, cfg, inverse=False).float().numpy()
        w.add_tensor(names.get_name(name, try_suffixes=(".weight", ".bias")), data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _merges(tokenizer: dict[str, Any]) -> list[str]:
    merges = tokenizer["model"]["merges"]
    return [m if isinstance(m, str) else " ".join(m) for m in merges]


def _add_tokenizer(w: gguf.GGUFWriter, tokenizer_json: str, specials: Specials) -> None:
    """llama.cpp's gpt2-style token list, types and merges, plus the whole tokenizer.json."""
    tokenizer = json.loads(tokenizer_json)
    added = {t["content"]: t for t in tokenizer["added_tokens"]}
    vocab = {**tokenizer["model"]["vocab"], **{t: a["id"] for t, a in added.items()}}
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    assert [i for _, i in by_id] == list(range(len(by_id))), "token ids must be dense"
    types = [
        gguf.TokenType.CONTROL
        if added.get(t, {}).get("special")
        else gguf.TokenType.USER_DEFINED
        if t in added
        else gguf.TokenType.NORMAL
        for t, _ in by_id
    ]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list([t for t, _ in by_id])
    w.add_token_types(types)
    w.add_token_merges(_merges(tokenizer))
    w.add_bos_token_id(specials["bos"][1])
    w.add_eos_token_id(specials["eos"][1])
    w.add_pad_token_id(specials["pad"][1])
    w.add_add_bos_token(False)
    w.add_string(HF_TOKENIZER_KEY, tokenizer_json)


def damaged_is_one_line(read: Callable[..., T]) -> Callable[..., T]:
    """A GGUF file is untrusted bytes parsed by a third-party reader, and damage surfaces
    anywhere (header counts, string fields, tensor shapes): whatever a public reader below
    fails with becomes one CheckpointError naming the file."""

    @functools.wraps(read)
    def guarded(path: Path, *args: Any, **kwargs: Any) -> T:
        if not path.is_file():
            raise CheckpointError(f"{path}: not a GGUF file")
        try:
            return read(path, *args, **kwargs)
        except SvglmError:
            raise
        except Exception as e:
            raise CheckpointError(
                f"{path}: not a readable GGUF file ({e.__class__.__name__})"
            ) from None

    return guarded


class BoundedReader(gguf.GGUFReader):
    """gguf's reader, refusing to read past the end of the file. Past the end the library reads
    an empty array and carries on, so an array whose length field was damaged loops once per
    element it claims: a 124-byte file claiming 7.9e18 int32s grew the process to 24 GB until
    the kernel killed it (tests/test_fuzz.py found it). Each read now either lies inside the
    file or fails, so a loop over a field's elements ends within the file's length. `_get` is
    gguf's private function that every read goes through; a gguf release that stopped calling
    it would fail tests/test_fuzz.py, in a process whose memory is capped. (llama.cpp's PR
    #27188 adds size guards to the reader itself; gguf 0.19.0, the newest on PyPI, lacks them.)"""

    def _get(self, offset: int, dtype: Any, count: int = 1, override_order: Any = None) -> Any:
        if offset < 0 or offset + np.dtype(dtype).itemsize * int(count) > len(self.data):
            raise ValueError(f"a field at byte {offset} runs past the end of the file")
        return super()._get(offset, dtype, count, override_order)


def _field(reader: gguf.GGUFReader, key: str) -> Any:
    f = reader.get_field(key)
    return None if f is None else f.contents()


def _config(reader: gguf.GGUFReader, path: Path, use_svglm_config: bool) -> ModelConfig:
    """Files svglm wrote carry their exact config; others are read from the standard keys."""
    arch = _field(reader, "general.architecture")
    architecture = ARCHITECTURE_OF_ARCH.get(arch)
    if architecture is None:
        raise CheckpointError(
            f"{path}: GGUF architecture {arch!r} is not supported "
            f"(supported: {', '.join(ARCHITECTURE_OF_ARCH)})"
        )
    saved = _field(reader, "svglm.config") if use_svglm_config else None
    try:
        if saved is None:
            return _config_from_keys(reader, architecture, arch)
        d = json.loads(saved)
        d["layer_types"] = tuple(d["layer_types"])
        return architecture_config(
            architecture, **{k: v for k, v in d.items() if k != "architecture"}
        )
    except (TypeError, ValueError, KeyError) as e:  # a key missing or of the wrong type
        raise CheckpointError(f"{path}: its keys do not describe a model ({e})") from None


@damaged_is_one_line
def read_gguf_config(path: Path) -> ModelConfig:
    """Only the config: the reader memory-maps the tensors and nothing is copied."""
    return _config(BoundedReader(str(path)), path, True)


@damaged_is_one_line
def read_gguf_tokenizer(path: Path) -> str | None:
    """The tokenizer.json text the file carries, if any."""
    return _field(BoundedReader(str(path)), HF_TOKENIZER_KEY)


@damaged_is_one_line
def read_gguf(
    path: Path, use_svglm_config: bool = True
) -> tuple[ModelConfig, dict[str, torch.Tensor], str | None]:
    """Config, HF-named weights and the tokenizer.json text (when the file carries one)."""
    reader = BoundedReader(str(path))
    cfg = _config(reader, path, use_svglm_config)
    names = gguf.get_tensor_name_map(ARCH[cfg.architecture], cfg.n_layer)
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


def _config_from_keys(reader: gguf.GGUFReader, architecture: str, arch: str) -> ModelConfig:
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
        seq_len=int(key("context_length", 2048)),
        head_dim=key("attention.key_length"),
        rope_theta=float(key("rope.freq_base", 10000.0)),
        norm_eps=float(key("attention.layer_norm_rms_epsilon", 1e-6)),
        tie_embeddings=not any(t.name == "output.weight" for t in reader.tensors),
    )
    if architecture == "gemma3":
        sizes.update(
            sliding_window=int(key("attention.sliding_window", 512)),
            local_rope_theta=float(key("rope.freq_base_swa", 10000.0)),
            final_softcap=key("final_logit_softcapping"),
        )
    return architecture_config(architecture, **sizes)


def load_gguf_model(path: Path) -> tuple[Decoder, str | None]:
    cfg, state, tokenizer_json = read_gguf(path)
    model = Decoder(cfg)
    import_state(model, state)
    return model, tokenizer_json
