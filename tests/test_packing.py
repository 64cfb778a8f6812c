"""Packing keeps rows whole, restarts positions per row, and masks the loss as configured."""

from __future__ import annotations

from svglm.data.build import read_rows
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train.packing import IGNORE, collate, encode_rows, epoch_windows


def _rows(run):
    tok = SvglmTokenizer.load(run.tokenizer / "tokenizer.json")
    return tok, encode_rows(tok, read_rows(run, "train"), tok.encode(" [OUT]")[0])


def test_windows_hold_whole_rows_within_seq_len(tiny_run):
    tok, rows = _rows(tiny_run)
    windows = epoch_windows(rows, 64, seed=0, epoch=0)
    assert sorted(i for w in windows for i in w) == list(range(len(rows)))  # each row exactly once
    assert all(sum(len(rows[i].ids) for i in w) <= 64 for w in windows)
    assert epoch_windows(rows, 64, 0, 0) == windows  # deterministic
    assert epoch_windows(rows, 64, 0, 1) != windows  # reshuffled per epoch


def test_target_loss_labels_only_target_tokens(tiny_run):
    tok, rows = _rows(tiny_run)
    windows = epoch_windows(rows, 64, seed=0, epoch=0)[:2]
    batch = collate(rows, windows, 64, tok.pad_id, "target")
    for b, window in enumerate(windows):
        at = 0
        for i in window:
            row = rows[i]
            n = len(row.ids)
            labels = batch["labels"][b, at : at + n].tolist()
            # position p predicts token p+1: prompt positions are ignored, targets and eos are not
            assert labels[: row.target_start - 1] == [IGNORE] * (row.target_start - 1)
            assert labels[row.target_start - 1 : n - 1] == list(row.ids[row.target_start :])
            assert labels[n - 1] == IGNORE  # nothing is predicted across the row boundary
            assert batch["positions"][b, at : at + n].tolist() == list(range(n))
            at += n
        assert (batch["labels"][b, at:] == IGNORE).all()  # padding


def test_all_loss_labels_every_next_token_in_the_row(tiny_run):
    tok, rows = _rows(tiny_run)
    window = epoch_windows(rows, 64, seed=0, epoch=0)[0]
    batch = collate(rows, [window], 64, tok.pad_id, "all")
    first = rows[window[0]]
    assert batch["labels"][0, : len(first.ids) - 1].tolist() == list(first.ids[1:])
