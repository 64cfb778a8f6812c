"""`svglm export`: the trained model and its tokenizer as a Hugging Face directory or a GGUF
file. The target is checked before anything is written, the export is written beside it under
a temporary name and moved into place only when complete, so a failed export leaves nothing
half-written and an existing target is replaced only when asked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from svglm.errors import ExportError
from svglm.files import TMP_SUFFIX
from svglm.model.hf import save_hf_dir
from svglm.model.pretrained import gguf_io
from svglm.runs import RunDir
from svglm.train.checkpoint import load_trained

FORMATS = ("hf", "gguf")


def default_target(run: RunDir, fmt: str) -> Path:
    return run.exports / ("hf" if fmt == "hf" else f"{run.name}.gguf")


def check_target(target: Path, fmt: str, force: bool) -> None:
    """Refuse a target that exists (unless forced) or has the wrong kind."""
    if fmt == "hf" and target.is_file():
        raise ExportError(f"{target} is a file; a Hugging Face export is a folder")
    if fmt == "gguf" and target.is_dir():
        raise ExportError(f"{target} is a folder; a GGUF export is one file (NAME.gguf)")
    if target.exists() and not force:
        raise ExportError(f"{target} exists; pass --force to replace it")


def export_run(run: RunDir, fmt: str, target: Path, force: bool = False) -> Path:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    check_target(target, fmt, force)
    model, tok = load_trained(run, run.config())
    tmp = target.with_name(f".{target.name}{TMP_SUFFIX}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        if fmt == "hf":
            save_hf_dir(model, tok.to_json(), tok.specials, tmp)
        else:
            gguf_io().export_gguf(model, tok.to_json(), tok.specials, tmp)
        if target.is_dir():
            shutil.rmtree(target)
        tmp.replace(target)
    except OSError as e:
        raise ExportError(f"cannot write {target}: {e.strerror or e}") from None
    finally:
        _remove(tmp)
    return target


def _remove(path: Path) -> None:
    """Remove a temporary file or folder if it is there; never fail while cleaning up."""
    try:
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    except OSError:
        pass
