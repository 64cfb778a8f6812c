"""Rows -> fixed windows. Rows are packed whole into `seq_len` windows (never split at a
boundary other than <|eos|>); each row restarts RoPE positions and attends only to itself.

The plan uses the same packing to count windows per epoch, so its arithmetic is the trainer's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from svglm.tokenizer.bpe import SvglmTokenizer

IGNORE = -100


@dataclass(frozen=True)
class EncodedRow:
    ids: tuple[int, ...]
    target_start: int  # index of the first target token (the one after [OUT])


def encode_rows(tok: SvglmTokenizer, rows: list[str]) -> list[EncodedRow]:
    encoded = []
    for row in rows:
        ids = tok.encode_row(row)
        encoded.append(EncodedRow(tuple(ids), ids.index(tok.out_id) + 1))
    return encoded


def pack(rows: list[EncodedRow], order: list[int], seq_len: int) -> list[list[int]]:
    """Greedy first-fit in the given order: a list of windows, each a list of row indices."""
    windows: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i in order:
        n = len(rows[i].ids)
        if n > seq_len:
            continue  # the plan reports and FAILs on these; never silently split a row
        if used + n > seq_len:
            windows.append(current)
            current, used = [], 0
        current.append(i)
        used += n
    if current:
        windows.append(current)
    return windows


def epoch_windows(rows: list[EncodedRow], seq_len: int, seed: int, epoch: int) -> list[list[int]]:
    order = list(range(len(rows)))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return pack(rows, order, seq_len)


def window_stream(
    rows: list[EncodedRow], seq_len: int, seed: int, start: int = 0
) -> Iterator[list[int]]:
    """Endless windows over reshuffled epochs, starting at global window index `start`."""
    epoch, seen = 0, 0
    while True:
        windows = epoch_windows(rows, seq_len, seed, epoch)
        for w in windows:
            if seen >= start:
                yield w
            seen += 1
        epoch += 1


def collate(
    rows: list[EncodedRow], windows: list[list[int]], seq_len: int, pad_id: int, loss: str
) -> dict[str, torch.Tensor]:
    """Tensors for a batch of windows. Labels are next tokens inside the same row; with
    loss='target' only target tokens (and the closing <|eos|>) are labels."""
    B = len(windows)
    idx = torch.full((B, seq_len), pad_id, dtype=torch.long)
    labels = torch.full((B, seq_len), IGNORE, dtype=torch.long)
    positions = torch.zeros((B, seq_len), dtype=torch.long)
    doc_ids = torch.full((B, seq_len), -1, dtype=torch.long)
    for b, window in enumerate(windows):
        at = 0
        for d, i in enumerate(window):
            row = rows[i]
            n = len(row.ids)
            ids = torch.tensor(row.ids)
            idx[b, at : at + n] = ids
            positions[b, at : at + n] = torch.arange(n)
            doc_ids[b, at : at + n] = d
            first = row.target_start if loss == "target" else 1
            # position p predicts token p+1; label the positions whose next token is learned
            labels[b, at + first - 1 : at + n - 1] = ids[first:]
            at += n
    return {"idx": idx, "labels": labels, "positions": positions, "doc_ids": doc_ids}
