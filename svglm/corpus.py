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


def read_qc(folder: Path, kind: str) -> dict[str, Any]:
    """The import record of a corpus of `kind` (glyph, svg): how its records were made."""
    try:
        qc = json.loads((folder / QC).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise DataError(
            f"{folder}: not an imported corpus (run `svglm data import-{kind}s`)"
        ) from None
    if not isinstance(qc, dict) or qc.get("schema") != f"svglm.{kind}_import/1":
        schema = qc.get("schema") if isinstance(qc, dict) else None
        raise DataError(f"{folder}: holds a {schema} corpus, not a {kind} one")
    return qc


def read_corpus(folder: Path, kind: str) -> list[dict[str, Any]]:
    """The records of an imported corpus; one-line errors for a missing or damaged one."""
    read_qc(folder, kind)
    try:
        return [json.loads(line) for line in (folder / CORPUS).read_text().splitlines()]
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise DataError(f"{folder / CORPUS}: missing or not JSON lines; import again") from None
