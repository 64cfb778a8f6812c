"""Run `svglm run NAME` and SIGKILL this very process at one file-system event, to see what a
kill at that point leaves behind (tests/test_crash.py drives it in a subprocess).

    python tests/crash_harness.py HOME NAME --count EVENTS.json   # run whole, list the events
    python tests/crash_harness.py HOME NAME --kill-at N          # die at event N
    python tests/crash_harness.py HOME NAME --kill-on ledger.jsonl   # die at the first rewrite

An event is a rename into place, a removal of a folder, a checkpoint tensor or state save, or a
ledger append (which is torn in half when it is the one that dies). Nothing in svglm knows about
this harness: it wraps the library functions from outside.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import torch

import svglm.files
import svglm.train.checkpoint as ckpt
import svglm.train.loop as loop
from svglm.pipeline import run_steps
from svglm.runs import RunDir

EVENTS: list[tuple[str, str]] = []


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("home", type=Path)
    ap.add_argument("name")
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--count", type=Path)
    what.add_argument("--kill-at", type=int)
    what.add_argument("--kill-on")
    args = ap.parse_args()
    run = RunDir(args.home / args.name)

    def event(kind: str, path: object, tear: Path | None = None, line: str = "") -> None:
        where = Path(str(path)).resolve().relative_to(args.home.resolve())
        EVENTS.append((kind, str(where)))
        due = len(EVENTS) == args.kill_at or (
            args.kill_on and kind == "replace" and where == Path(args.name, args.kill_on)
        )
        if due:
            if tear is not None:  # a kill in the middle of an append: half a line on disk
                with open(tear, "a") as f:
                    f.write(line[: len(line) // 2])
            os.kill(os.getpid(), signal.SIGKILL)

    def wrap(owner, attr, kind, path_of):
        real = getattr(owner, attr)

        def wrapped(*a, **k):
            event(kind, path_of(*a, **k))
            return real(*a, **k)

        setattr(owner, attr, wrapped)

    wrap(os, "replace", "replace", lambda src, dst: dst)
    wrap(os, "rename", "rename", lambda src, dst: dst)
    wrap(shutil, "rmtree", "rmtree", lambda path, *a, **k: path)
    wrap(ckpt, "save_model", "save_model", lambda model, path, *a, **k: path)
    wrap(torch, "save", "torch_save", lambda obj, path, *a, **k: path)
    real_append = svglm.files.append_line

    def append(path, line):
        event("append", path, tear=path, line=line + "\n")
        real_append(path, line)

    loop.append_line = append
    run_steps(run, show_progress=False)
    if args.count:
        args.count.write_text(json.dumps(EVENTS))


if __name__ == "__main__":
    sys.exit(main())
