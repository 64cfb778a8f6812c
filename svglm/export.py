"""`svglm export`: the trained model and its tokenizer as a Hugging Face directory or a GGUF
file, with what it needs to draw on its own: the content packs its bundles bind, the task's
grammar (for constrained decoding in any llguidance runtime) and a model card (task, data,
training, probe scores). A Hugging Face directory holds them as README.md, content.json and
grammar.lark; a GGUF file has them beside it as NAME.md, NAME.content.json, NAME.grammar.lark.

The target is checked before anything is written, the export is written beside it under a
temporary name and moved into place only when complete, so a failed export leaves nothing
half-written and an existing target is replaced only when asked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from svglm.artifacts import Artifact, TrainSummary, read_artifact
from svglm.errors import ExportError
from svglm.files import TMP_SUFFIX, atomic_write_text
from svglm.model.hf import save_hf_dir
from svglm.model.pretrained import gguf_io
from svglm.runs import RunDir
from svglm.tasks import task_for
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
        companions = _companions(run)
        if fmt == "hf":
            save_hf_dir(model, tok.to_json(), tok.specials, tmp)
            for name, text in companions.items():
                (tmp / name).write_text(text)
        else:
            gguf_io().export_gguf(model, tok.to_json(), tok.specials, tmp)
            for name, text in companions.items():  # beside the file, each written atomically
                atomic_write_text(target.with_name(f"{target.stem}.{GGUF_NAMES[name]}"), text)
        if target.is_dir():
            shutil.rmtree(target)
        tmp.replace(target)
    except OSError as e:
        raise ExportError(f"cannot write {target}: {e.strerror or e}") from None
    finally:
        _remove(tmp)
    return target


GGUF_NAMES = {"README.md": "md", "content.json": "content.json", "grammar.lark": "grammar.lark"}


def _companions(run: RunDir) -> dict[str, str]:
    cfg = run.config()
    return {
        "README.md": model_card(run),
        "content.json": run.content.read_text(),
        "grammar.lark": task_for(cfg, run.root).grammar(),
    }


def model_card(run: RunDir) -> str:
    """What the model is for and how well it does it, from the run's own artifacts."""
    cfg = run.config()
    plan = read_artifact(run.plan, Artifact)
    what = {
        "scene": f"Writes `scene` DSL ({cfg.task.level} level) for "
        f"{', '.join(cfg.task.families)}; the svglm compiler turns it into SVG with the "
        "content in content.json. Prompt: `<|bos|> [task:scene] ... [OUT]`; the model answers "
        f"with one `[{cfg.task.level}] ... [/{cfg.task.level}]` block and `<|eos|>`.",
        "glyph": "Writes font glyphs as grid path tokens: `<|bos|> [task:glyph] [style:S] "
        "[weight:W] [slant:L] [char:C] [OUT]` is answered with one `[glyph] M x y ... Z "
        "[/glyph]` block and `<|eos|>`; svglm draws it as SVG or assembles a font (`svglm font`).",
        "svg": "Writes canonical raw SVG asked for by name: `<|bos|> [task:svg] [name:N] [OUT]` "
        "is answered with one `<svg ...>...</svg>` document and `<|eos|>`.",
    }[cfg.task.name]
    rows = sum(1 for _ in run.split("train").open()) if run.split("train").is_file() else 0
    lines = [
        f"# {run.name}: an svglm specialist",
        "",
        what + " grammar.lark is the grammar of every block it should write (llguidance's Lark).",
        "",
        "## Data",
        f"{rows:,} training rows; prompt surfaces "
        + ", ".join(f"{k} ({v:g})" for k, v in cfg.task.surfaces.items())
        + f"; seed {cfg.seed}.",
        "",
        "## Model and training",
        f"{cfg.model.architecture}, {cfg.model.n_layer} layers x {cfg.model.d_model}, "
        f"{plan.model['params']:,} parameters, context {cfg.model.seq_len}.",
    ]
    if run.train_summary.is_file():
        t = read_artifact(run.train_summary, TrainSummary)
        lines.append(
            f"{t.tokens:,} tokens in {t.wall_s:,.0f} s over stages "
            + ", ".join(s.name for s in t.stages)
            + f"; final loss {t.final_loss:.4f}."
        )
    if run.probe_report.is_file():
        report = read_artifact(run.probe_report, Artifact).model_dump()
        lines += ["", "## Probe (greedy)", "", "| split | cases | exact | valid | renderable |"]
        lines.append("|---|---|---|---|---|")
        for name, r in report["splits"].items():
            lines.append(
                f"| {name} | {r['n']} | {r['exact']:.3f} | {r['valid']:.3f} | "
                f"{r['renderable']:.3f} |"
            )
        side = report.get("constrained")
        if side:
            lines += ["", "Under the grammar (constrained decoding):", ""]
            lines += [
                f"- {n}: exact {r['exact']:.3f}, valid {r['valid']:.3f}"
                for n, r in side["splits"].items()
            ]
    return "\n".join(lines) + "\n"


def _remove(path: Path) -> None:
    """Remove a temporary file or folder if it is there; never fail while cleaning up."""
    try:
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    except OSError:
        pass
