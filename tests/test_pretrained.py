"""Runs that start from pretrained checkpoints, and the export verb, through the CLI."""

from __future__ import annotations

import json

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)
from typer.testing import CliRunner

from svglm.cli import app
from svglm.data.build import read_rows
from svglm.pipeline import run_steps
from svglm.runs import RunDir
from svglm.tasks import task_for
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train.architecture import initial_model
from svglm.train.checkpoint import load_trained

runner = CliRunner()


def invoke(*args: str):
    """Run the CLI and insist that it succeeded, showing its output when it did not."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


TEXT = [
    "a small model should not hand-type svg",
    "the compiler owns geometry and xml",
    "probes prove the contract",
    "loss going down is not success",
] * 20


def foreign_hf_model(path) -> tuple[LlamaForCausalLM, Tokenizer]:
    """A Llama checkpoint saved by transformers, whose tokenizer knows nothing of svglm."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        TEXT,
        trainers.BpeTrainer(
            vocab_size=300,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    torch.manual_seed(3)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=tok.get_vocab_size(),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=256,
            tie_word_embeddings=True,
        )
    )
    model.save_pretrained(path)
    PreTrainedTokenizerFast(tokenizer_object=tok).save_pretrained(path)
    return model, tok


def test_init_from_hf_extends_tokenizer_and_starts_from_the_weights(home, tmp_path):
    base, base_tok = foreign_hf_model(tmp_path / "base")
    # a foreign tokenizer spells sentences in many more tokens: a longer training window
    invoke(
        "init",
        "ft",
        "--preset",
        "tiny",
        "--from-hf",
        str(tmp_path / "base"),
        "--set",
        "model.seq_len=256",
    )
    run = RunDir(home / "ft")
    cfg = run.config()
    assert cfg.base.format == "hf" and (run.root / "base" / "model.safetensors").exists()
    assert cfg.model.architecture == "llama" and cfg.model.d_model == 32

    run_steps(run, ("plan",), show_progress=False)
    tok = SvglmTokenizer.load(run.tokenizer_json)
    atoms = task_for(cfg, run.root).reserved_atoms()
    assert tok.vocab_size == base_tok.get_vocab_size() + 3 + len(atoms)  # markers + atoms
    assert json.loads(run.tokenizer_roundtrip.read_text())["exact"]
    assert json.loads(run.atom_audit.read_text())["verdict"] == "PASS"

    model = initial_model(run, cfg, tok.vocab_size)
    old = base.model.embed_tokens.weight
    assert torch.equal(model.embed.weight[: old.shape[0]], old)  # pretrained rows kept
    torch.testing.assert_close(
        model.embed.weight[old.shape[0] :], old.mean(0).expand(tok.vocab_size - old.shape[0], -1)
    )  # new rows at the mean
    x = torch.tensor([base_tok.encode("the compiler owns geometry").ids])
    with torch.no_grad():  # on old tokens the grown model is the pretrained model
        torch.testing.assert_close(
            model(x)[..., : old.shape[0]], base(input_ids=x).logits, atol=1e-5, rtol=1e-5
        )

    run_steps(run, show_progress=False)  # and it trains, probes and reports
    assert run.probe_report.exists() and run.report.exists()


def test_export_gguf_then_init_from_gguf_continues_the_same_model(home):
    invoke("init", "src", "--preset", "tiny")
    invoke("run", "src", "-q")
    invoke("export", "src", "--format", "gguf")
    gguf_path = home / "src" / "export" / "src.gguf"
    assert gguf_path.exists()
    invoke("init", "cont", "--preset", "tiny", "--from-gguf", str(gguf_path))
    src, cont = RunDir(home / "src"), RunDir(home / "cont")
    run_steps(cont, ("plan",), show_progress=False)
    trained, tok = load_trained(src, src.config())
    cont_tok = SvglmTokenizer.load(cont.tokenizer_json)
    assert cont_tok.vocab_size == tok.vocab_size  # every atom was already there
    row = read_rows(src, "test")[0]
    assert cont_tok.encode_row(row) == tok.encode_row(row)
    start = initial_model(cont, cont.config(), cont_tok.vocab_size).eval()
    x = torch.tensor([tok.encode_row(row)])
    with torch.no_grad():
        assert torch.equal(start(x), trained(x))


def test_export_hf_loads_in_transformers(home):
    invoke("init", "h", "--preset", "tiny")
    invoke("run", "h", "-q")
    assert "exported" in invoke("export", "h").output
    run = RunDir(home / "h")
    hf = AutoModelForCausalLM.from_pretrained(run.root / "export" / "hf").eval()
    ours, tok = load_trained(run, run.config())
    x = torch.tensor([tok.encode_row(read_rows(run, "test")[0])])
    with torch.no_grad():
        assert (hf(input_ids=x).logits - ours(x)).abs().max().item() <= 1e-5


def test_bad_checkpoints_get_one_line_errors(home, tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["init", "x", "--from-hf", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "no config.json" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (home / "x" / "run.yaml").exists()
    result = runner.invoke(app, ["export", "x"])
    assert result.exit_code == 2 and "no run 'x'" in result.output
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "config.json").write_text('{"model_type": "llama"}')
    result = runner.invoke(app, ["init", "y", "--from-hf", str(tmp_path / "odd")])
    assert result.exit_code == 2 and "missing key 'vocab_size'" in result.output


def test_gguf_without_the_optional_package_says_how_to_get_it(home, monkeypatch):
    import sys

    invoke("init", "g", "--preset", "tiny")
    invoke("run", "g", "-q")
    monkeypatch.setitem(sys.modules, "gguf", None)  # as if `gguf` were not installed
    monkeypatch.delitem(sys.modules, "svglm.model.gguf_io", raising=False)
    result = runner.invoke(app, ["export", "g", "--format", "gguf"])
    assert result.exit_code == 2 and "pip install 'svglm[gguf]'" in result.output
    invoke("export", "g", "--format", "hf")  # hf still works
