"""An imported corpus: the folder `svglm data import-...` writes and a task reads.

`corpus.jsonl` holds one record per line (a glyph of a font); `dataset_qc.json` says what was
read, what was skipped and why, and how the records were made (the grid, the character set).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from svglm.errors import DataError

CORPUS, QC = "corpus.jsonl", "dataset_qc.json"


def read_corpus(folder: Path, kind: str) -> list[dict[str, Any]]:
    """The records of an imported corpus; one-line errors for a missing or damaged one."""
    path = folder / CORPUS
    try:
        qc = json.loads((folder / QC).read_text())
        records = [json.loads(line) for line in path.read_text().splitlines()]
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise DataError(
            f"{folder}: not an imported corpus (run `svglm data import-{kind}s`)"
        ) from None
    if qc.get("schema") != f"svglm.{kind}_import/1":
        raise DataError(f"{folder}: holds a {qc.get('schema')} corpus, not a {kind} one")
    return records
