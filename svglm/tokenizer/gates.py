"""Gates a tokenizer must pass before training: exact roundtrip and one token per atom."""

from __future__ import annotations

from typing import Any

from svglm.tokenizer.bpe import SvglmTokenizer, row_body


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


def unknown_tokens(tok: SvglmTokenizer, rows: list[str], atoms: list[str]) -> dict[str, Any]:
    """For a task whose rows are made of reserved tokens only (the glyph task's path
    vocabulary): every word of every row that is not one reserved token. Byte-level BPE has no
    UNK token, so a value missing from the vocabulary would otherwise pass silently, spelled
    in pieces the model must learn to join (" 64" as " 6" + "4")."""
    reserved = {ids[0] for a in atoms if len(ids := tok.encode(" " + a)) == 1}
    known: dict[str, bool] = {}
    unknown, first = 0, None
    for i, row in enumerate(rows):
        for word in row_body(row).split():
            if word not in known:
                ids = tok.encode(" " + word)
                known[word] = len(ids) == 1 and ids[0] in reserved
            if not known[word]:
                unknown += 1
                first = first or {"index": i, "row": row, "word": word}
    return {"unknown": unknown, "first": first}
