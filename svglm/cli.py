"""The svglm command line. Each verb is a thin call into the modules that do the work."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from svglm.config import PRESETS, ConfigError, preset
from svglm.data.build import DataGateError
from svglm.model.hf import save_hf_dir
from svglm.model.pretrained import gguf_io, start_from_base
from svglm.pipeline import STEPS, run_steps
from svglm.runs import RunDir, home, list_runs
from svglm.tokenizer.build import TokenizerGateError
from svglm.train.loop import load_trained
from svglm.train.plan import PlanFailed

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="svglm: train small transformers that draw. A run lives in $SVGLM_HOME/NAME "
    "(default ./runs/NAME) and is described entirely by its run.yaml.",
)
console = Console()
USER_ERRORS = (
    ConfigError,
    DataGateError,
    TokenizerGateError,
    PlanFailed,
    FileNotFoundError,
    ValueError,
)

RunName = Annotated[str, typer.Argument(help="Run name: the folder under $SVGLM_HOME.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or step lines.")]
Force = Annotated[bool, typer.Option("--force", help="Redo the named step even if unchanged.")]


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"svglm: {message}", err=True)  # one plain line, never wrapped
    raise typer.Exit(code)


def _existing(name: str) -> RunDir:
    run = RunDir.named(name)
    if not run.exists():
        fail(f"no run {name!r} under {home()} (create it with `svglm init {name}`)")
    return run


def _execute(run: RunDir, steps: tuple[str, ...], force: bool, quiet: bool) -> None:
    try:
        run_steps(run, steps, force=force, show_progress=not quiet)
    except USER_ERRORS as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail("interrupted; `svglm run` resumes from the last checkpoint", 130)


@app.command()
def init(
    name: RunName,
    preset_name: Annotated[
        str, typer.Option("--preset", "-p", help=f"Starting config: {', '.join(PRESETS)}.")
    ] = "demo",
    from_hf: Annotated[
        Path | None,
        typer.Option("--from-hf", help="Start from a Hugging Face model directory (safetensors)."),
    ] = None,
    from_gguf: Annotated[
        Path | None,
        typer.Option("--from-gguf", help="Start from a GGUF file that carries its tokenizer."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing run.yaml.")] = False,
) -> None:
    """Create runs/NAME/run.yaml from a preset. Edit it, then `svglm run NAME`.

    With --from-hf or --from-gguf the checkpoint (weights, config, tokenizer) is copied into
    runs/NAME/base/; the DSL atoms are added to its tokenizer and training starts from its
    weights with the embedding resized."""
    run = RunDir.named(name)
    if run.exists() and not force:
        fail(f"{run.config_path} exists; pass --force to overwrite it")
    if from_hf and from_gguf:
        fail("pass either --from-hf or --from-gguf, not both", 2)
    try:
        cfg = preset(preset_name, name)
        if from_hf or from_gguf:
            fmt, src = ("hf", from_hf) if from_hf else ("gguf", from_gguf)
            cfg = start_from_base(cfg, src, fmt, run.root)
        run.write_config(cfg)
    except USER_ERRORS as e:
        fail(str(e))
    console.print(f"created {run.config_path}")


@app.command()
def export(
    name: RunName,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="hf (a transformers directory) or gguf.")
    ] = "hf",
    out: Annotated[
        Path | None,
        typer.Option(
            help="Where to write; default runs/NAME/export/hf or runs/NAME/export/NAME.gguf."
        ),
    ] = None,
) -> None:
    """Export the trained model with its tokenizer, as a Hugging Face directory or a GGUF file."""
    run = _existing(name)
    if fmt not in ("hf", "gguf"):
        fail(f"unknown format {fmt!r} (formats: hf, gguf)", 2)
    try:
        model, tok = load_trained(run, run.config())
        if fmt == "hf":
            path = save_hf_dir(model, tok, out or run.root / "export" / "hf")
        else:
            path = gguf_io().export_gguf(model, tok, out or run.root / "export" / f"{name}.gguf")
    except USER_ERRORS as e:
        fail(str(e))
    console.print(f"exported {path}")


@app.command("run")
def run_cmd(
    name: RunName,
    step: Annotated[
        str | None, typer.Option(help=f"Stop after this step ({', '.join(STEPS)}).")
    ] = None,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Run every step (data, tokenizer, plan, train, probe, report), skipping unchanged ones.

    A killed run resumes from its newest checkpoint with the same loss curve."""
    run = _existing(name)
    if step is not None and step not in STEPS:
        fail(f"unknown step {step!r} (steps: {', '.join(STEPS)})", 2)
    # With --step only that step is forced; stale steps upstream of it run either way.
    _execute(run, (step,) if step else STEPS, force, quiet)
    if not quiet and (step is None or step == "report"):
        console.print(f"report: {run.report.resolve()}")


def _step_command(step: str, doc: str) -> None:
    def command(name: RunName, force: Force = False, quiet: Quiet = False) -> None:
        _execute(_existing(name), (step,), force, quiet)

    command.__doc__ = doc + " Stale upstream steps run first."
    app.command(step)(command)


_step_command("data", "Generate the dataset: splits, probe contract, QC, coverage and profile.")
_step_command(
    "tokenizer", "Train the BPE tokenizer and gate it (exact roundtrip, one token per atom)."
)
_step_command("plan", "Write plan.json: the preflight arithmetic and a PASS/FAIL verdict.")
_step_command("train", "Train every stage; resumes from the newest checkpoint after a kill.")
_step_command("probe", "Decode the probe contract and write the probe report and autopsy.")
_step_command("report", "Write report.html and refresh the hub at $SVGLM_HOME/index.html.")


@app.command()
def demo(quiet: Quiet = False) -> None:
    """Initialize (or resume) the run `demo` from the demo preset, run it, print the report path."""
    run = RunDir.named("demo")
    if not run.exists():
        run.write_config(preset("demo", "demo"))
        console.print(f"created {run.config_path}")
    _execute(run, STEPS, False, quiet)
    console.print(f"report: {run.report.resolve()}")


@app.command()
def runs() -> None:
    """List runs from the registry with their probe scores."""
    rows = list_runs()
    if not rows:
        console.print(f"no runs under {home()}")
        return
    table = Table(
        "run", "preset", "status", "visible exact", "hidden exact", "renderable", "updated"
    )
    for r in rows:
        table.add_row(
            r["name"],
            r["preset"],
            r["status"],
            *(
                "" if r[k] is None else f"{r[k]:.3f}"
                for k in ("visible_exact", "hidden_exact", "renderable")
            ),
            r["updated_at"],
        )
    console.print(table)


def main() -> None:
    sys.exit(app())


if __name__ == "__main__":
    main()
