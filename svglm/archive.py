"""`svglm archive` and `svglm verify`: a run directory as one .tar.gz that proves its contents.

The archive holds the run's files under `NAME/` and `NAME/MANIFEST.json`, the sha256 of every
other member. Checkpoints are left out unless asked for (they are most of the bytes and can be
retrained from run.yaml). Verification reads the archive as a stream and extracts nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

from svglm.errors import ArtifactError, StorageError
from svglm.files import TMP_SUFFIX, sha256_file
from svglm.runs import RunDir

MANIFEST = "MANIFEST.json"


def archive_files(run: RunDir, with_checkpoints: bool) -> list[Path]:
    """The run's files to archive: everything but the lock, temporary files and, unless asked
    for, the checkpoints."""
    skip = {run.lock_path}
    files = []
    for path in sorted(p for p in run.root.rglob("*") if p.is_file() and p not in skip):
        if path.name.endswith(TMP_SUFFIX) or path.name == MANIFEST:
            continue
        if not with_checkpoints and run.checkpoints in path.parents:
            continue
        files.append(path)
    return files


def archive_run(run: RunDir, out: Path, with_checkpoints: bool = False) -> dict[str, Any]:
    files = archive_files(run, with_checkpoints)
    manifest = {
        "schema": "svglm.archive/1",
        "run": run.name,
        "with_checkpoints": with_checkpoints,
        "files": {str(p.relative_to(run.root)): sha256_file(p) for p in files},
    }
    tmp = out.with_name(f".{out.name}{TMP_SUFFIX}")
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            for path in files:
                tar.add(path, arcname=f"{run.name}/{path.relative_to(run.root)}", recursive=False)
            blob = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(f"{run.name}/{MANIFEST}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
        tmp.replace(out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write {out}: {e.strerror or e}") from None
    return manifest


def verify_archive(path: Path) -> dict[str, Any]:
    """Check every member against MANIFEST.json; an ArtifactError names the first problem."""
    hashes: dict[str, str] = {}
    manifest = None
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                _, _, rel = member.name.partition("/")
                data = tar.extractfile(member).read()  # to memory, never to disk
                if rel == MANIFEST:
                    manifest = json.loads(data)
                else:
                    hashes[rel] = hashlib.sha256(data).hexdigest()
    except (OSError, tarfile.TarError, EOFError, json.JSONDecodeError) as e:
        raise ArtifactError(f"{path}: not a readable svglm archive ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != "svglm.archive/1":
        raise ArtifactError(f"{path}: no svglm {MANIFEST}")
    listed = manifest["files"]
    for rel, digest in listed.items():
        if rel not in hashes:
            raise ArtifactError(f"{path}: {rel} is listed in {MANIFEST} but missing")
        if hashes[rel] != digest:
            raise ArtifactError(f"{path}: {rel} does not match its sha256 in {MANIFEST}")
    extra = sorted(set(hashes) - set(listed))
    if extra:
        raise ArtifactError(f"{path}: {extra[0]} is not listed in {MANIFEST}")
    return manifest
