"""Gates a tokenizer must pass before training: exact roundtrip and one token per atom."""

from __future__ import annotations

from typing import Any

from svglm.tokenizer.bpe import SvglmTokenizer


def roundtrip(tok: SvglmTokenizer, rows: list[str]) -> dict[str, Any]:
    """decode(encode(row)) == row for every row; the first differing row is kept for the report."""
    tokens = 0
    for i, row in enumerate(rows):
        ids = tok.encode_row(row)
        tokens += len(ids)
        back = tok.decode_row(ids)
        if back != row:
            at = next(
                (k for k, (a, b) in enumerate(zip(row, back, strict=False)) if a != b),
                min(len(row), len(back)),
            )
            return {
                "schema": "svglm.tokenizer_roundtrip/1",
                "exact": False,
                "rows": len(rows),
                "checked": i + 1,
                "first_mismatch": {"index": i, "row": row, "decoded": back, "at_char": at},
            }
    return {
        "schema": "svglm.tokenizer_roundtrip/1",
        "exact": True,
        "rows": len(rows),
        "checked": len(rows),
        "tokens": tokens,
        "tokens_per_row": round(tokens / max(1, len(rows)), 2),
    }


def atom_audit(tok: SvglmTokenizer, atoms: list[str]) -> dict[str, Any]:
    """Every structural atom, with the space before it in a row, must encode to one token of
    its own: an id no other atom and no other token of the vocabulary has."""
    split = {a: len(ids) for a in atoms if len(ids := tok.encode(" " + a)) != 1}
    vocab = tok.tok.get_vocab(with_added_tokens=True)
    owners: dict[int, list[str]] = {}
    for token, i in vocab.items():
        owners.setdefault(i, []).append(token)
    shared = sorted(a for a in atoms if len(owners.get(vocab.get(" " + a, -1), [])) > 1)
    return {
        "schema": "svglm.atom_audit/2",
        "atoms": len(atoms),
        "single_token": len(atoms) - len(split),
        "split": split,
        "shared_ids": shared,
        "verdict": "PASS" if not split and not shared else "FAIL",
    }
