"""Exports: a Hugging Face directory that transformers loads with no custom code, and a GGUF file
that gguf's own reader finds laid out as llama.cpp expects (tensor names, shapes, metadata keys,
RoPE layout) and that svglm reads back with identical logits and tokenization."""

from __future__ import annotations

import json

import gguf
import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from svglm.data.build import read_rows
from svglm.errors import ExportError
from svglm.infer.grammar import bind_atoms
from svglm.model.config import ARCHITECTURES, architecture_config
from svglm.model.gguf_io import export_gguf, load_gguf_model, read_gguf
from svglm.model.hf import import_state, load_hf_dir, save_hf_dir
from svglm.model.transformer import Decoder
from svglm.tokenizer.bpe import SvglmTokenizer, row_body

GGUF_ARCHITECTURES = ("llama", "qwen2", "qwen3", "gemma3")
KINDS = {
    "gemma3": dict(layer_types=("sliding", "full"), sliding_window=8, final_softcap=20.0),
    "qwen35": dict(layer_types=("linear", "full")),
}


def random_model(architecture: str, vocab: int) -> Decoder:
    torch.manual_seed(1)
    cfg = architecture_config(
        architecture,
        vocab_size=vocab,
        n_layer=2,
        d_model=32,
        n_head=4,
        n_kv_head=2,
        d_ff=48,
        seq_len=64,
        **KINDS.get(architecture, {}),
    )
    model = Decoder(cfg)
    with torch.no_grad():  # non-trivial norms, so (1 + w) and permutations are exercised
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(torch.randn_like(p) * 0.2)
    return model.eval()


def rows_batch(run, tok: SvglmTokenizer) -> torch.Tensor:
    ids = [tok.encode_row(r)[:24] for r in read_rows(run, "train")[:3]]
    return torch.tensor(ids)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_hf_export_loads_in_transformers_and_reproduces_logits(tiny_run, tmp_path, architecture):
    tok = SvglmTokenizer.load(tiny_run.tokenizer_json)
    model = random_model(architecture, tok.vocab_size)
    out = save_hf_dir(model, tok.to_json(), tok.specials, tmp_path / "hf")
    hf = AutoModelForCausalLM.from_pretrained(out).eval()
    assert type(hf).__name__.endswith("ForCausalLM")
    x = rows_batch(tiny_run, tok)
    with torch.no_grad():
        assert (hf(input_ids=x).logits - model(x)).abs().max().item() <= 1e-5
    hf_tok = AutoTokenizer.from_pretrained(out)
    row = read_rows(tiny_run, "train")[0]
    assert hf_tok(row_body(row), add_special_tokens=False).input_ids == tok.encode(row_body(row))
    assert (hf_tok.bos_token_id, hf_tok.eos_token_id) == (tok.bos_id, tok.eos_id)

    cfg, state, tokenizer_path = load_hf_dir(out)  # and svglm reads its own export back
    again = Decoder(cfg)
    import_state(again, state)
    assert cfg == model.cfg and torch.equal(again.eval()(x), model(x))
    assert SvglmTokenizer.load(tokenizer_path).encode_row(row) == tok.encode_row(row)


@pytest.mark.parametrize("architecture", GGUF_ARCHITECTURES)
def test_gguf_export_reads_back_with_identical_logits_and_tokenizer(
    tiny_run, tmp_path, architecture
):
    tok = SvglmTokenizer.load(tiny_run.tokenizer_json)
    model = random_model(architecture, tok.vocab_size)
    path = export_gguf(model, tok.to_json(), tok.specials, tmp_path / "model.gguf")
    back, tokenizer_json = load_gguf_model(path)
    x = rows_batch(tiny_run, tok)
    with torch.no_grad():
        assert torch.equal(back.eval()(x), model(x))
    row = read_rows(tiny_run, "train")[0]
    from tokenizers import Tokenizer

    assert SvglmTokenizer(Tokenizer.from_str(tokenizer_json)).encode_row(row) == tok.encode_row(row)


@pytest.mark.parametrize("architecture", ["llama", "qwen3"])
def test_gguf_standard_keys_describe_the_model(tiny_run, tmp_path, architecture):
    """A GGUF read without svglm's own config key (as for files llama.cpp's converter wrote)."""
    tok = SvglmTokenizer.load(tiny_run.tokenizer_json)
    model = random_model(architecture, tok.vocab_size)
    path = export_gguf(model, tok.to_json(), tok.specials, tmp_path / "model.gguf")
    cfg, _, _ = read_gguf(path, use_svglm_config=False)
    assert cfg == model.cfg


def test_gguf_export_refuses_unsupported_architecture_with_a_reason(tiny_run, tmp_path):
    tok = SvglmTokenizer.load(tiny_run.tokenizer_json)
    with pytest.raises(ExportError, match="qwen35 is not supported"):
        export_gguf(
            random_model("qwen35", tok.vocab_size), tok.to_json(), tok.specials, tmp_path / "m.gguf"
        )
    assert not (tmp_path / "m.gguf").exists()


def test_gguf_export_refuses_a_vocabulary_llama_cpp_cannot_load(tmp_path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    from svglm.tokenizer.bpe import SPECIALS

    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(SPECIALS)}, merges=[]))
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.ByteLevel(), decoders.ByteLevel()
    bare = SvglmTokenizer(tok)
    with pytest.raises(ExportError, match="no BPE merges"):
        export_gguf(random_model("llama", 3), bare.to_json(), bare.specials, tmp_path / "m.gguf")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


# -- the GGUF file as llama.cpp sees it, read with gguf's own reader ---------------------------
def llama_cpp_tensors(architecture: str, n_layer: int) -> set[str]:
    """The tensor names llama.cpp looks up for each architecture, written out by hand."""
    per_layer = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm"]
    per_layer += ["ffn_gate", "ffn_up", "ffn_down"]
    if architecture in ("qwen3", "gemma3"):
        per_layer += ["attn_q_norm", "attn_k_norm"]
    if architecture == "gemma3":
        per_layer += ["post_attention_norm", "post_ffw_norm"]
    names = {"token_embd.weight", "output_norm.weight"}
    names |= {f"blk.{i}.{t}.weight" for i in range(n_layer) for t in per_layer}
    if architecture == "qwen2":
        names |= {f"blk.{i}.attn_{t}.bias" for i in range(n_layer) for t in "qkv"}
    return names


def gguf_file(tiny_run, tmp_path, architecture):
    tok = SvglmTokenizer.load(tiny_run.tokenizer_json)
    model = random_model(architecture, tok.vocab_size)
    path = export_gguf(model, tok.to_json(), tok.specials, tmp_path / "model.gguf")
    reader = gguf.GGUFReader(str(path))
    return model, tok, reader, {t.name: t for t in reader.tensors}


def field(reader: gguf.GGUFReader, key: str):
    return reader.get_field(key).contents()


def file_tensor(t) -> torch.Tensor:
    """A tensor as PyTorch lays it out: GGUF lists dimensions innermost first."""
    return torch.from_numpy(np.array(t.data, dtype=np.float32)).reshape(tuple(reversed(t.shape)))


@pytest.mark.parametrize("architecture", GGUF_ARCHITECTURES)
def test_gguf_tensors_and_metadata_are_where_llama_cpp_looks(tiny_run, tmp_path, architecture):
    model, tok, reader, tensors = gguf_file(tiny_run, tmp_path, architecture)
    cfg = model.cfg
    assert set(tensors) == llama_cpp_tensors(architecture, cfg.n_layer)
    d, hd = cfg.d_model, cfg.hd
    shapes = {  # GGUF order: input features first
        "token_embd.weight": [d, tok.vocab_size],
        "blk.0.attn_q.weight": [d, cfg.n_head * hd],
        "blk.0.attn_k.weight": [d, cfg.n_kv_head * hd],
        "blk.1.ffn_down.weight": [cfg.d_ff, d],
        "output_norm.weight": [d],
    }
    for name, shape in shapes.items():
        assert [int(x) for x in tensors[name].shape] == shape, name
    assert torch.equal(file_tensor(tensors["token_embd.weight"]), model.embed.weight.detach())

    arch = field(reader, "general.architecture")
    assert arch == {"gemma3": "gemma3"}.get(architecture, architecture)
    expected = {
        f"{arch}.block_count": cfg.n_layer,
        f"{arch}.embedding_length": d,
        f"{arch}.feed_forward_length": cfg.d_ff,
        f"{arch}.attention.head_count": cfg.n_head,
        f"{arch}.attention.head_count_kv": cfg.n_kv_head,
        f"{arch}.context_length": cfg.seq_len,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.bos_token_id": tok.bos_id,
        "tokenizer.ggml.eos_token_id": tok.eos_id,
    }
    assert {k: field(reader, k) for k in expected} == expected
    tokens = field(reader, "tokenizer.ggml.tokens")
    assert len(tokens) == tok.vocab_size and tokens[tok.eos_id] == "<|eos|>"
    assert field(reader, "tokenizer.ggml.merges")  # llama.cpp refuses a gpt2 vocab without them


def rope_pairs(x: torch.Tensor, pos: int, theta: float, interleaved: bool) -> torch.Tensor:
    """Rotate one head's vector at position `pos`: llama.cpp's Llama layout rotates adjacent
    pairs (x0, x1), (x2, x3), ...; transformers rotates (x_i, x_{i + d/2})."""
    d = x.shape[-1]
    angle = pos * theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    cos, sin = angle.cos(), angle.sin()
    a, b = (x[..., 0::2], x[..., 1::2]) if interleaved else (x[..., : d // 2], x[..., d // 2 :])
    ra, rb = a * cos - b * sin, a * sin + b * cos
    if interleaved:
        return torch.stack([ra, rb], -1).flatten(-2)
    return torch.cat([ra, rb], -1)


def head_score(q, k, h, cfg, m, n, interleaved) -> torch.Tensor:
    """Attention score of query head h at position m against its key head at position n."""
    qh = q.view(cfg.n_head, -1)[h]
    kh = k.view(cfg.n_kv_head, -1)[h // (cfg.n_head // cfg.n_kv_head)]
    rotate = rope_pairs
    return rotate(qh, m, cfg.rope_theta, interleaved) @ rotate(kh, n, cfg.rope_theta, interleaved)


def test_gguf_llama_q_and_k_give_the_same_attention_scores_under_llama_cpp_rope(tiny_run, tmp_path):
    """The Llama q/k rows are permuted in the file; what matters is that llama.cpp's RoPE on
    the file's weights scores every query/key pair exactly as transformers does on ours."""
    model, _, _, tensors = gguf_file(tiny_run, tmp_path, "llama")
    cfg, attn = model.cfg, model.layers[0].attn
    x = torch.randn(cfg.d_model, dtype=torch.float64)
    ours = (attn.q_proj.weight.double() @ x, attn.k_proj.weight.double() @ x)
    theirs = [file_tensor(tensors[f"blk.0.attn_{t}.weight"]).double() @ x for t in "qk"]
    for h in range(cfg.n_head):
        for m, n in ((0, 0), (3, 1), (7, 5)):
            file_score = head_score(*theirs, h, cfg, m, n, interleaved=True)
            assert torch.isclose(file_score, head_score(*ours, h, cfg, m, n, interleaved=False))


def test_gguf_gemma3_norms_are_stored_as_one_plus_weight(tiny_run, tmp_path):
    """llama.cpp multiplies by the stored Gemma norm weight, so the file holds (1 + w)."""
    model, _, _, tensors = gguf_file(tiny_run, tmp_path, "gemma3")
    w = model.layers[0].attn_norm.weight.detach()
    assert torch.allclose(file_tensor(tensors["blk.0.attn_norm.weight"]), 1 + w)


def test_an_hf_export_draws_on_its_own_with_its_grammar_content_and_card(tiny_run, tmp_path):
    """Only the export folder, transformers and llguidance: grammar-masked greedy decoding of
    a prompt gives a block that svglm compiles with the exported content into a picture."""
    import llguidance
    import llguidance.hf
    import llguidance.numpy as lln

    from svglm.dsl.compiler import compile_scene
    from svglm.dsl.scene import parse_scene
    from svglm.export import export_run
    from svglm.render import is_renderable
    from svglm.tasks import task_for

    out = export_run(tiny_run, "hf", tmp_path / "hf")
    card = (out / "README.md").read_text()
    probe = json.loads(tiny_run.probe_report.read_text())
    for split, r in probe["splits"].items():
        assert f"| {split} | {r['n']} | {r['exact']:.3f} | {r['valid']:.3f} |" in card
    content = json.loads((out / "content.json").read_text())
    hf = AutoModelForCausalLM.from_pretrained(out).eval()
    hf_tok = AutoTokenizer.from_pretrained(out)
    lltok = llguidance.hf.from_tokenizer(hf_tok, n_vocab=hf.config.vocab_size)
    lark = bind_atoms(
        (out / "grammar.lark").read_text(), lambda t: hf_tok.encode(t, add_special_tokens=False)
    )
    matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(lark), log_level=0)
    ids = hf_tok(
        "<|bos|> [task:scene] draw the weekly signups [OUT]", add_special_tokens=False
    ).input_ids
    mask = lln.allocate_token_bitmask(1, hf.config.vocab_size)
    for _ in range(40):
        lln.fill_next_token_bitmask(matcher, mask)
        with torch.no_grad():
            logits = hf(input_ids=torch.tensor([ids])).logits[0, -1]
        allowed = np.unpackbits(mask.view(np.uint8), bitorder="little")[: logits.shape[0]]
        token = int(logits.masked_fill(torch.from_numpy(allowed == 0), float("-inf")).argmax())
        assert matcher.consume_token(token)
        if token == hf_tok.eos_token_id:
            break
        ids.append(token)
    text = hf_tok.decode(ids).split("[OUT]")[1].strip()
    task = task_for(tiny_run.config(), tiny_run.root)
    scene = parse_scene(task.materialize(task.canonical(text)))
    assert is_renderable(compile_scene(scene, content["topics"][scene.topic]))
