"""Packing keeps rows whole, restarts positions per row, and labels exactly the tokens the loss
should learn: decoded back, they spell the target and <|eos|> (SFT) or the whole row."""

from __future__ import annotations

from conftest import TINY_SEQ

from svglm.data.build import read_rows
from svglm.dsl.atoms import BOS, EOS
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train.packing import IGNORE, collate, encode_rows, epoch_windows


def _rows(run):
    tok = SvglmTokenizer.load(run.tokenizer_json)
    texts = read_rows(run, "train")
    return tok, texts, encode_rows(tok, texts)


def _labelled_text(tok, batch, b, start, n) -> str:
    labels = [t for t in batch["labels"][b, start : start + n].tolist() if t != IGNORE]
    return tok.decode(labels)


def test_windows_hold_whole_rows_within_seq_len(tiny_run):
    tok, _, rows = _rows(tiny_run)
    windows = epoch_windows(rows, TINY_SEQ, seed=0, epoch=0)
    assert sorted(i for w in windows for i in w) == list(range(len(rows)))  # each row exactly once
    assert all(sum(len(rows[i].ids) for i in w) <= TINY_SEQ for w in windows)
    assert epoch_windows(rows, TINY_SEQ, 0, 0) == windows  # deterministic
    assert epoch_windows(rows, TINY_SEQ, 0, 1) != windows  # reshuffled per epoch


def test_every_label_is_the_next_token_of_the_same_row(tiny_run):
    tok, _, rows = _rows(tiny_run)
    for loss in ("target", "all"):
        batch = collate(
            rows, epoch_windows(rows, TINY_SEQ, seed=0, epoch=0)[:4], TINY_SEQ, tok.pad_id, loss
        )
        idx, labels, docs = batch["idx"], batch["labels"], batch["doc_ids"]
        b, p = (labels != IGNORE).nonzero(as_tuple=True)
        assert len(p) > 0 and bool((p < TINY_SEQ - 1).all())
        assert bool((labels[b, p] == idx[b, p + 1]).all())  # position p predicts token p + 1
        assert bool((docs[b, p] == docs[b, p + 1]).all())  # never across a row boundary


def test_target_loss_labels_spell_the_target_and_eos(tiny_run):
    tok, texts, rows = _rows(tiny_run)
    windows = epoch_windows(rows, TINY_SEQ, seed=0, epoch=0)[:3]
    batch = collate(rows, windows, TINY_SEQ, tok.pad_id, "target")
    for b, window in enumerate(windows):
        at = 0
        for i in window:
            n = len(rows[i].ids)
            target = texts[i].split(" [OUT] ")[1].removesuffix(f" {EOS}")
            assert _labelled_text(tok, batch, b, at, n) == f" {target}{EOS}"
            assert batch["positions"][b, at : at + n].tolist() == list(range(n))
            at += n
        assert (batch["labels"][b, at:] == IGNORE).all()  # padding learns nothing


def test_all_loss_labels_spell_the_whole_row_after_bos(tiny_run):
    tok, texts, rows = _rows(tiny_run)
    window = epoch_windows(rows, TINY_SEQ, seed=0, epoch=0)[0]
    batch = collate(rows, [window], TINY_SEQ, tok.pad_id, "all")
    at = 0
    for i in window:
        n = len(rows[i].ids)
        body = texts[i].removeprefix(BOS).removesuffix(f" {EOS}")
        assert _labelled_text(tok, batch, 0, at, n) == f"{body}{EOS}"
        at += n
