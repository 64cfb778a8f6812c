"""Atomic file writes and JSON reads: a reader never sees half a file, even after a kill.

Used by every step that writes an artifact and by the model exporters, so it depends on nothing
else in svglm but its error types.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from svglm.errors import StorageError, SvglmError

# Every temporary file or folder svglm makes is `.NAME...tmp` beside its target, so that what a
# killed process leaves behind can be found and removed.
TMP_SUFFIX = ".tmp"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file in the same directory, then rename it over the target. A write that
    fails (a full disk) leaves the previous file as it was and says so in one line."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    except OSError as e:
        raise StorageError(f"{path}: cannot write ({e.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; artifacts are meant to be shared
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise StorageError(
            f"{path}: cannot write ({e.strerror}); the previous file is kept"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def load_json(path: Path, error: type[SvglmError]) -> Any:
    """JSON from a file given by the user or a run; a missing, unreadable or malformed file is
    one `error` that names it."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise error(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise error(f"{path}: not valid JSON ({e.__class__.__name__})") from None
    except OSError as e:
        raise error(f"{path}: cannot be read ({e.strerror})") from None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def append_line(path: Path, line: str) -> None:
    """Append one line and flush it to disk. A kill can tear only this last line, which the
    readers of append-only logs skip."""
    try:
        with open(path, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise StorageError(f"{path}: cannot append ({e.strerror})") from None
