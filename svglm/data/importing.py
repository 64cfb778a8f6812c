"""What every importer shares: finding the user's files (folders, globs, .zip and .tar
archives), reading them in parallel workers with progress, and writing the corpus with a
reason for everything skipped.

A corpus folder holds `corpus.jsonl` (one record per line) and `dataset_qc.json`: the files
read, each skipped file or item with its one-line reason, counts and throughput. Archives are
read member by member in memory; nothing is ever extracted to disk.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import tarfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from svglm.corpus import CORPUS, QC
from svglm.errors import DataError
from svglm.files import atomic_write_json, atomic_write_text

MAX_FILE_BYTES = 32 * 2**20  # a larger "icon" or font is skipped with its reason
ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


@dataclass
class Source:
    """One file to import: its name for messages (archive!member for archive members)."""

    name: str
    data: bytes


@dataclass
class Outcome:
    """What a worker made of one file: records, and reasons for what it skipped."""

    name: str
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "NAME: reason", the file or an item of it
    counts: Counter[str] = field(default_factory=Counter)  # e.g. clamped coordinates


def _is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVES)


def _archive_members(path: Path, suffixes: tuple[str, ...], skipped: list[str]) -> Iterator[Source]:
    try:
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                for info in z.infolist():
                    if not info.is_dir() and info.filename.lower().endswith(suffixes):
                        if info.file_size > MAX_FILE_BYTES:
                            skipped.append(f"{path.name}!{info.filename}: larger than 32 MiB")
                            continue
                        yield Source(f"{path.name}!{info.filename}", z.read(info))
        else:
            with tarfile.open(path) as t:
                for member in t:
                    if member.isfile() and member.name.lower().endswith(suffixes):
                        if member.size > MAX_FILE_BYTES:
                            skipped.append(f"{path.name}!{member.name}: larger than 32 MiB")
                            continue
                        f = t.extractfile(member)
                        if f is not None:
                            yield Source(f"{path.name}!{member.name}", f.read())
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as e:
        skipped.append(f"{path.name}: not a readable archive ({e.__class__.__name__})")


def collect(paths: list[str], suffixes: tuple[str, ...]) -> tuple[list[Source], list[str]]:
    """Every file with one of `suffixes` under `paths` (files, folders searched recursively,
    glob patterns, archives), in a stable order, and reasons for what could not be read."""
    found: list[Path] = []
    for p in paths:
        matches = (
            [Path(m) for m in sorted(glob.glob(p, recursive=True))]
            if glob.has_magic(p)
            else [Path(p)]
        )
        if not matches or not all(m.exists() for m in matches):
            raise DataError(f"{p}: no such file or folder")
        for m in matches:
            found += sorted(f for f in m.rglob("*") if f.is_file()) if m.is_dir() else [m]
    sources, skipped = [], []
    for f in dict.fromkeys(found):  # a file named twice is read once
        if _is_archive(f):
            sources += list(_archive_members(f, suffixes, skipped))
        elif f.name.lower().endswith(suffixes):
            if f.stat().st_size > MAX_FILE_BYTES:
                skipped.append(f"{f}: larger than 32 MiB")
                continue
            try:
                sources.append(Source(str(f), f.read_bytes()))
            except OSError as e:
                skipped.append(f"{f}: cannot read it ({e.strerror})")
    return sources, skipped


class Progress:
    """`label: done/total` on one refreshed line in a terminal, and a plain line at every
    tenth when the output is piped (a log must show progress too)."""

    def __init__(self, label: str, total: int, quiet: bool = False):
        self.label, self.total, self.quiet = label, total, quiet
        self.tty = sys.stderr.isatty()
        self.done, self.next_line, self.t0 = 0, 0, time.perf_counter()

    def advance(self) -> None:
        self.done += 1
        if self.quiet:
            return
        rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
        text = f"{self.label}: {self.done}/{self.total} files ({rate:.1f}/s)"
        if self.tty:
            print("\r" + text, end="" if self.done < self.total else "\n", file=sys.stderr)
        elif self.done >= self.next_line or self.done == self.total:
            print(text, file=sys.stderr, flush=True)
            self.next_line = self.done + max(1, self.total // 10)


def run_workers(
    work: Callable[[Source], Outcome],
    sources: list[Source],
    workers: int,
    label: str,
    quiet: bool = False,
) -> list[Outcome]:
    """`work` over every source, in order, on `workers` processes (one: in this process)."""
    progress = Progress(label, len(sources), quiet)
    if workers <= 1 or len(sources) < 2 * workers:
        out = []
        for s in sources:
            out.append(work(s))
            progress.advance()
        return out
    with ProcessPoolExecutor(workers) as pool:
        out = []
        for outcome in pool.map(work, sources, chunksize=max(1, len(sources) // (8 * workers))):
            out.append(outcome)
            progress.advance()
        return out


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def write_corpus(
    out: Path,
    kind: str,
    records: list[dict[str, Any]],
    skipped: list[str],
    summary: dict[str, Any],
) -> dict[str, Any]:
    """corpus.jsonl and dataset_qc.json in `out`; returns the QC record."""
    if not records:
        first = f" (first reason: {skipped[0]})" if skipped else ""
        raise DataError(f"nothing to import: no {kind} record was made{first}")
    atomic_write_text(out / CORPUS, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    reasons = Counter(s.split(": ", 1)[-1].split(" (")[0] for s in skipped)
    qc = {
        "schema": f"svglm.{kind}_import/1",
        "records": len(records),
        **summary,
        "skipped": len(skipped),
        "skip_reasons": dict(reasons.most_common()),
        "skipped_items": skipped,
    }
    atomic_write_json(out / QC, qc)
    return qc
