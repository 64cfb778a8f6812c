"""The tokenizer step: train BPE on the train split (or extend a base checkpoint's tokenizer),
then gate it: exact roundtrip over the whole corpus and one token per reserved atom."""

from __future__ import annotations

from typing import Any

from svglm.config import RunConfig
from svglm.data.build import read_rows
from svglm.errors import TokenizerError
from svglm.files import atomic_write_json
from svglm.model.pretrained import read_base_tokenizer
from svglm.runs import SPLITS, RunDir
from svglm.tasks import task_for
from svglm.tokenizer.bpe import SvglmTokenizer, extend_tokenizer, train_bpe
from svglm.tokenizer.gates import atom_audit, roundtrip, unknown_tokens


def build_tokenizer(run: RunDir, cfg: RunConfig) -> dict[str, Any]:
    """Train BPE on the train split, or extend the base checkpoint's tokenizer with the atoms."""
    atoms = task_for(cfg, run.root).reserved_atoms()
    if cfg.base is None:
        tok = train_bpe(read_rows(run, "train"), atoms, cfg.tokenizer.vocab_size)
    else:
        tokenizer_json = read_base_tokenizer(run.root / cfg.base.path, cfg.base.format)
        tok = extend_tokenizer(tokenizer_json, atoms)
    tok.save(run.tokenizer_json)
    return gate_tokenizer(run, cfg, tok)


def gate_tokenizer(run: RunDir, cfg: RunConfig, tok: SvglmTokenizer) -> dict[str, Any]:
    """Check a saved tokenizer against the whole corpus; raises with the first bad row shown."""
    task = task_for(cfg, run.root)
    atoms = task.reserved_atoms()
    rows = [r for split in SPLITS for r in read_rows(run, split)]
    rt = roundtrip(tok, rows)
    audit = atom_audit(tok, atoms)
    closed = unknown_tokens(tok, rows, atoms) if task.closed_targets else None
    manifest = {
        "schema": "svglm.tokenizer_manifest/1",
        "kind": "byte_level_bpe" if cfg.base is None else f"{cfg.base.format}_base_extended",
        "vocab_size": tok.vocab_size,
        "reserved_atoms": len(atoms),
        "special_tokens": {"pad": tok.pad_id, "bos": tok.bos_id, "eos": tok.eos_id},
        "roundtrip_exact": rt["exact"],
        "atom_audit": audit["verdict"],
    }
    if closed is not None:
        manifest["unknown_tokens"] = closed["unknown"]
    atomic_write_json(run.tokenizer_roundtrip, rt)
    atomic_write_json(run.atom_audit, audit)
    atomic_write_json(run.tokenizer_manifest, manifest)
    if not rt["exact"]:
        m = rt["first_mismatch"]
        raise TokenizerError(
            f"tokenizer roundtrip is not exact: row {m['index']} differs at "
            f"char {m['at_char']}: {m['row'][:70]!r} -> {m['decoded'][:70]!r}"
        )
    if closed is not None and closed["unknown"]:
        m = closed["first"]
        raise TokenizerError(
            f"{closed['unknown']} words outside the reserved vocabulary, the first "
            f"{m['word']!r} in row {m['index']}: {m['row'][:70]!r}"
        )
    if audit["verdict"] != "PASS":
        if audit["split"]:
            raise TokenizerError(f"atoms split into several tokens: {list(audit['split'])[:5]}")
        raise TokenizerError(f"atoms share their id with other tokens: {audit['shared_ids'][:5]}")
    return manifest
