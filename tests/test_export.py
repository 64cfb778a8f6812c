"""Export round trips: a Hugging Face directory that transformers loads with no custom code, and
a GGUF file read back by svglm, both reproducing svglm's logits and tokenization."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from svglm.data.build import read_rows
from svglm.model.config import family_config
from svglm.model.gguf_io import export_gguf, load_gguf_model, read_gguf
from svglm.model.hf import import_state, load_hf_dir, save_hf_dir
from svglm.model.transformer import Decoder
from svglm.tokenizer.bpe import SvglmTokenizer, row_body

KINDS = {
    "gemma3": dict(layer_types=("sliding", "full"), sliding_window=8, final_softcap=20.0),
    "qwen35": dict(layer_types=("linear", "full")),
}


def random_model(family: str, vocab: int) -> Decoder:
    torch.manual_seed(1)
    cfg = family_config(
        family,
        vocab_size=vocab,
        n_layer=2,
        d_model=32,
        n_head=4,
        n_kv_head=2,
        d_ff=48,
        max_seq_len=64,
        **KINDS.get(family, {}),
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


@pytest.mark.parametrize("family", ["llama", "qwen2", "qwen3", "gemma3", "qwen35"])
def test_hf_export_loads_in_transformers_and_reproduces_logits(tiny_run, tmp_path, family):
    tok = SvglmTokenizer.load(tiny_run.tokenizer / "tokenizer.json")
    model = random_model(family, tok.vocab_size)
    out = save_hf_dir(model, tok, tmp_path / "hf")
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


@pytest.mark.parametrize("family", ["llama", "qwen2", "qwen3", "gemma3"])
def test_gguf_export_reads_back_with_identical_logits_and_tokenizer(tiny_run, tmp_path, family):
    tok = SvglmTokenizer.load(tiny_run.tokenizer / "tokenizer.json")
    model = random_model(family, tok.vocab_size)
    path = export_gguf(model, tok, tmp_path / "model.gguf")
    back, tokenizer_json = load_gguf_model(path)
    x = rows_batch(tiny_run, tok)
    with torch.no_grad():
        assert torch.equal(back.eval()(x), model(x))
    row = read_rows(tiny_run, "train")[0]
    from tokenizers import Tokenizer

    assert SvglmTokenizer(Tokenizer.from_str(tokenizer_json)).encode_row(row) == tok.encode_row(row)


@pytest.mark.parametrize("family", ["llama", "qwen3"])
def test_gguf_standard_keys_describe_the_model(tiny_run, tmp_path, family):
    """A GGUF read without svglm's own config key (as for files llama.cpp's converter wrote)."""
    tok = SvglmTokenizer.load(tiny_run.tokenizer / "tokenizer.json")
    model = random_model(family, tok.vocab_size)
    path = export_gguf(model, tok, tmp_path / "model.gguf")
    cfg, _, _ = read_gguf(path, use_svglm_config=False)
    assert cfg == model.cfg


def test_gguf_export_refuses_unsupported_family_with_a_reason(tiny_run, tmp_path):
    tok = SvglmTokenizer.load(tiny_run.tokenizer / "tokenizer.json")
    with pytest.raises(ValueError, match="qwen35 is not supported"):
        export_gguf(random_model("qwen35", tok.vocab_size), tok, tmp_path / "m.gguf")
    assert not (tmp_path / "m.gguf").exists()


def test_gguf_export_refuses_a_vocabulary_llama_cpp_cannot_load(tmp_path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    from svglm.tokenizer.bpe import SPECIALS

    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(SPECIALS)}, merges=[]))
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.ByteLevel(), decoders.ByteLevel()
    with pytest.raises(ValueError, match="no BPE merges"):
        export_gguf(random_model("llama", 3), SvglmTokenizer(tok), tmp_path / "m.gguf")
    assert list(tmp_path.iterdir()) == []  # nothing half-written
