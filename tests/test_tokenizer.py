"""The tokenizer gates: exact roundtrip on the corpus, one token per atom, and both gates fail
on a corrupted tokenizer with the first bad row or atom named."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from svglm.data.build import read_meta, read_rows
from svglm.errors import TokenizerError
from svglm.runs import SPLITS
from svglm.tasks import task_for
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.tokenizer.build import gate_tokenizer
from svglm.tokenizer.gates import atom_audit, roundtrip


def load(run):
    return SvglmTokenizer.load(run.tokenizer_json)


def test_roundtrip_and_audit_pass_on_the_run(tiny_run):
    rt = json.loads(tiny_run.tokenizer_roundtrip.read_text())
    audit = json.loads(tiny_run.atom_audit.read_text())
    rows = sum(len(read_rows(tiny_run, split)) for split in SPLITS)
    assert rt["exact"] is True and rt["rows"] == rows
    assert audit["verdict"] == "PASS" and audit["split"] == {} and audit["shared_ids"] == []


def test_every_reserved_atom_is_one_token_inside_a_row(tiny_run):
    tok = load(tiny_run)
    rows = zip(read_rows(tiny_run, "train"), read_meta(tiny_run, "train"), strict=True)
    row = next(r for r, m in rows if m["surface"] == "anchor")
    ids = tok.encode_row(row)
    atoms = row.split(" ")[1:-1]  # between <|bos|> and <|eos|>: all reserved in an anchor row
    assert len(ids) == len(atoms) + 2
    assert tok.decode_row(ids) == row


def test_no_two_tokens_share_an_id(tiny_run):
    """Atoms added before BPE training kept ids the trained vocabulary handed out again, so an
    atom and a byte decoded alike; the audit now fails on that, and the trained one passes."""
    vocab = load(tiny_run).tok.get_vocab(with_added_tokens=True)
    assert len(set(vocab.values())) == len(vocab)
    atoms = task_for(tiny_run.config(), tiny_run.root).reserved_atoms()
    clash = Tokenizer(models.BPE())
    clash.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    clash.add_special_tokens(["<|pad|>", "<|bos|>", "<|eos|>"])
    clash.add_tokens([" " + a for a in atoms])  # the old order: atoms first, then training
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|pad|>", "<|bos|>", "<|eos|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    clash.train_from_iterator(read_rows(tiny_run, "train"), trainer)
    audit = atom_audit(SvglmTokenizer(clash), atoms)
    assert audit["verdict"] == "FAIL" and audit["shared_ids"]


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80))
def test_arbitrary_ascii_text_roundtrips(tiny_run, text):
    tok = load(tiny_run)
    assert tok.decode(tok.encode(text)) == text


def test_prompt_encoding_is_a_prefix_of_the_row(tiny_run):
    tok = load(tiny_run)
    row = read_rows(tiny_run, "train")[1]
    prompt = row[len("<|bos|> ") : row.index(" [OUT]") + len(" [OUT]")]
    assert tok.encode_row(row)[: len(tok.encode_prompt(prompt))] == tok.encode_prompt(prompt)


def _corrupt(run, tmp_path, edit):
    data = json.loads(run.tokenizer_json.read_text())
    edit(data)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data))
    return SvglmTokenizer.load(path)


def test_roundtrip_gate_fails_on_a_corrupted_tokenizer(tiny_run, tmp_path):
    def drop_decoder(data):  # without the byte-level decoder, spaces come back as 'G-dot'
        data["decoder"] = None

    tok = _corrupt(tiny_run, tmp_path, drop_decoder)
    rows = read_rows(tiny_run, "train")
    report = roundtrip(tok, rows)
    assert report["exact"] is False
    assert report["first_mismatch"]["row"] == rows[report["first_mismatch"]["index"]]
    with pytest.raises(TokenizerError, match="roundtrip is not exact: row 0"):
        _gate_in_copy(tiny_run, tmp_path, tok)


def _gate_in_copy(run, tmp_path, tok):
    """Gate a tokenizer against a copy of the run, leaving the shared fixture untouched."""
    copy = run.__class__(tmp_path / "run")
    shutil.copytree(run.root, copy.root)
    gate_tokenizer(copy, copy.config(), tok)


def test_atom_audit_fails_when_an_atom_is_not_reserved(tiny_run, tmp_path):
    def unreserve(data):
        data["added_tokens"] = [t for t in data["added_tokens"] if t["content"] != " [OUT]"]

    tok = _corrupt(tiny_run, tmp_path, unreserve)
    with pytest.raises(TokenizerError, match=r"\[OUT\]"):
        _gate_in_copy(tiny_run, tmp_path, tok)
    assert "[OUT]" in task_for(tiny_run.config(), tiny_run.root).reserved_atoms()
