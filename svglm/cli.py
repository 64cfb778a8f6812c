"""The svglm command line. Each verb is a thin call into the modules that do the work.

Verbs are listed in the order a run flows. A problem the user can act on (an `SvglmError`) is
printed as one line with exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import click
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperArgument, TyperCommand

from svglm import __version__
from svglm.config import PRESETS, apply_overrides, preset
from svglm.doctor import doctor as run_doctor
from svglm.dsl.compiler import compile_text
from svglm.dsl.content import read_pack
from svglm.dsl.families import family_named
from svglm.errors import DataError, SvglmError
from svglm.eval.render import render_png
from svglm.export import default_target, export_run
from svglm.files import atomic_write_bytes, atomic_write_text
from svglm.pipeline import STEPS, run_steps
from svglm.report.gallery import build_gallery
from svglm.runs import RunDir, home, list_runs
from svglm.tasks import TASKS, get_task
from svglm.train.architecture import start_from_base
from svglm.train.checkpoint import promote as promote_checkpoint


class _PlainArgument(TyperArgument):
    """An argument shown as click shows it, `NAME`, instead of typer's `{NAME}` and `<str>`."""

    def get_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [self.metavar or self.name.upper()]

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        return None if record is None else (self.metavar or self.name.upper(), record[1])


class _PlainCommand(TyperCommand):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument:
                param.__class__ = _PlainArgument


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    help="svglm: train small transformers that draw. A run lives in $SVGLM_HOME/NAME "
    "(default ./runs/NAME) and is described entirely by its run.yaml.",
)
console = Console()
USER_ERROR = 2  # like a command-line usage error: the input, not svglm, has to change

RunName = Annotated[
    str, typer.Argument(metavar="NAME", help="Run name: the folder under $SVGLM_HOME.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or step lines.")]
Force = Annotated[bool, typer.Option("--force", help="Redo the named step even if unchanged.")]


def fail(message: str, code: int = USER_ERROR) -> NoReturn:
    typer.echo(f"svglm: {message}", err=True)  # one plain line, never wrapped
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the project's own errors into one line and exit code 2."""
    try:
        yield
    except SvglmError as e:
        fail(str(e))


def _existing(name: str) -> RunDir:
    with user_errors():
        run = RunDir.named(name)
    if not run.exists():
        fail(f"no run {name!r} under {home()} (create it with `svglm init {name}`)")
    return run


def _execute(run: RunDir, steps: tuple[str, ...], force: bool, quiet: bool) -> None:
    try:
        with user_errors():
            run_steps(run, steps, force=force, show_progress=not quiet)
    except KeyboardInterrupt:
        fail("interrupted; `svglm run` resumes from the last checkpoint", 130)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"svglm {__version__}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    # Options of `svglm` itself; the help text is the app's, above.
    pass


@app.command(cls=_PlainCommand)
def init(
    name: RunName,
    preset_name: Annotated[
        str,
        typer.Option(
            "--preset", "-p", metavar="PRESET", help=f"Starting config: {', '.join(PRESETS)}."
        ),
    ] = "demo",
    from_hf: Annotated[
        Path | None,
        typer.Option("--from-hf", metavar="DIR", help="Start from a Hugging Face model directory."),
    ] = None,
    from_gguf: Annotated[
        Path | None,
        typer.Option("--from-gguf", metavar="FILE", help="Start from a GGUF file."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing run.yaml.")] = False,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="Change one setting of the preset, e.g. --set stages.0.lr=1e-3 "
            "--set model.n_layer=4 (repeatable; checked like run.yaml).",
        ),
    ] = None,
) -> None:
    """Create runs/NAME/run.yaml from a preset; edit it, then run it.

    With --from-hf or --from-gguf the checkpoint (weights, config, tokenizer) is copied into
    runs/NAME/base/; the DSL atoms are added to its tokenizer and training starts from its
    weights with the embedding resized. A GGUF file must carry its tokenizer.json."""
    with user_errors():
        run = RunDir.named(name)
    if run.exists() and not force:
        fail(f"{run.config_path} exists; pass --force to overwrite it")
    if from_hf and from_gguf:
        fail("pass either --from-hf or --from-gguf, not both")
    with user_errors(), run.lock():
        cfg = apply_overrides(preset(preset_name, name), overrides or [])
        if from_hf or from_gguf:
            fmt, src = ("hf", from_hf) if from_hf else ("gguf", from_gguf)
            cfg = start_from_base(cfg, src, fmt, run)
        run.write_config(cfg)
    console.print(f"created {run.config_path}")


def _step_command(step: str, doc: str) -> None:
    def command(name: RunName, force: Force = False, quiet: Quiet = False) -> None:
        _execute(_existing(name), (step,), force, quiet)

    command.__doc__ = doc + "\n\nStale upstream steps run first."
    app.command(step, cls=_PlainCommand)(command)


_step_command("data", "Generate the dataset: splits, probe contract, QC and coverage.")
_step_command("tokenizer", "Train the BPE tokenizer; gate roundtrip and atoms.")
_step_command("plan", "Write plan.json: the preflight arithmetic and a verdict.")
_step_command("train", "Train every stage; resumes after a kill.")


@app.command(cls=_PlainCommand)
def promote(
    name: RunName,
    stage: Annotated[str, typer.Option(metavar="STAGE", help="The stage to promote from.")],
    step: Annotated[
        int | None, typer.Option(metavar="N", help="The checkpoint at this step.")
    ] = None,
    best: Annotated[
        bool, typer.Option("--best", help="The checkpoint with the lowest dev loss.")
    ] = False,
) -> None:
    """Choose the checkpoint that probe and export use.

    Without --step or --best it is the stage's final checkpoint. Retention keeps the promoted
    checkpoint; `svglm run` probes it again and `svglm runs` shows it."""
    if step is not None and best:
        fail("pass either --step or --best, not both")
    run = _existing(name)
    with user_errors(), run.lock():
        chosen = promote_checkpoint(run, stage, step, best)
    console.print(f"promoted {chosen}")


_step_command("probe", "Decode the probe contract; write the report and autopsy.")
_step_command("report", "Write report.html and refresh the hub over all runs.")


@app.command("run", cls=_PlainCommand)
def run_cmd(
    name: RunName,
    step: Annotated[
        str | None,
        typer.Option(metavar="STEP", help=f"Stop after this step ({', '.join(STEPS)})."),
    ] = None,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Run every step of a run, skipping the unchanged ones.

    The steps are data, tokenizer, plan, train, probe and report. A killed run resumes from
    its newest checkpoint with the same loss curve."""
    run = _existing(name)
    if step is not None and step not in STEPS:
        fail(f"unknown step {step!r} (steps: {', '.join(STEPS)})")
    # With --step only that step is forced; stale steps upstream of it run either way.
    _execute(run, (step,) if step else STEPS, force, quiet)
    if not quiet and (step is None or step == "report"):
        console.print(f"report: {run.report.resolve()}")


@app.command(cls=_PlainCommand)
def demo(quiet: Quiet = False) -> None:
    """Create (or resume) the run `demo` and run it end to end."""
    run = RunDir.named("demo")
    if not run.exists():
        run.write_config(preset("demo", "demo"))
        console.print(f"created {run.config_path}")
    _execute(run, STEPS, False, quiet)
    console.print(f"report: {run.report.resolve()}")


@app.command(cls=_PlainCommand)
def export(
    name: RunName,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", metavar="FORMAT", help="hf (a transformers directory) or gguf."
        ),
    ] = "hf",
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Where to write; default runs/NAME/export/hf or runs/NAME/export/NAME.gguf.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing export.")] = False,
) -> None:
    """Export the trained model and tokenizer (Hugging Face or GGUF)."""
    run = _existing(name)
    with user_errors(), run.lock():
        path = export_run(run, fmt, out or default_target(run, fmt), force)
    console.print(f"exported {path}")


@app.command(cls=_PlainCommand)
def runs() -> None:
    """List runs from the registry with their probe scores."""
    rows = list_runs()
    if not rows:
        console.print(f"no runs under {home()}")
        return
    table = Table(
        "run",
        "preset",
        "status",
        "checkpoint",
        "visible exact",
        "hidden exact",
        "renderable",
        "updated",
    )
    for r in rows:
        table.add_row(
            r["name"],
            r["preset"],
            r["status"],
            r["checkpoint"] or "",
            *(
                "" if r[k] is None else f"{r[k]:.3f}"
                for k in ("visible_exact", "hidden_exact", "renderable")
            ),
            r["updated_at"],
        )
    console.print(table)


@app.command(cls=_PlainCommand)
def doctor(
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="One run; default every run.")
    ] = None,
) -> None:
    """Check runs and repair them; rebuild the registry.

    Removes what killed processes left behind, moves an unreadable steps.json aside, marks
    steps whose outputs no longer validate to run again, drops checkpoints that fail their
    sha256, and rebuilds $SVGLM_HOME/registry.sqlite from the run directories. Exits 1 when
    it found something, 0 when every run was in order."""
    with user_errors():
        found = run_doctor(name, typer.echo)
    raise typer.Exit(1 if found else 0)


@app.command(cls=_PlainCommand)
def dsl(
    task: Annotated[
        str, typer.Option(metavar="TASK", help=f"Which task's language: {', '.join(TASKS)}.")
    ] = "scene",
    pack: Annotated[
        str | None,
        typer.Option(
            metavar="FAMILY", help="Print the JSON schema of FAMILY's content packs instead."
        ),
    ] = None,
) -> None:
    """Print the atoms and values of a task's language.

    The output is Markdown: style knobs, then per diagram family its forms (with the routebook
    goal of each), topology knobs and their ranges, component kinds, topics and content keys.
    With --pack, the JSON schema a content pack of that family must satisfy
    (docs/content-packs.md has all of them, with an example each)."""
    with user_errors():
        if pack is not None:
            typer.echo(json.dumps(family_named(pack).pack_schema(), indent=2))
            return
        typer.echo(get_task(task).reference(), nl=False)


@app.command("compile", cls=_PlainCommand)
def compile_cmd(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A file with one [bundle] or [scene] block.")
    ],
    content: Annotated[
        Path | None,
        typer.Option(
            metavar="PACK.json",
            help="Your own content pack (see `svglm dsl --pack FAMILY`); default: the topic's "
            "content, or the family's built-in pack.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="OUT.svg", help="Where to write; default stdout."),
    ] = None,
    png: Annotated[bool, typer.Option("--png", help="Also write OUT.png (needs --out).")] = False,
) -> None:
    """Compile a hand-written bundle or scene to SVG.

    Like `dot -Tsvg`: FILE holds one [bundle] or [scene] block; the text comes from
    --content, else from the block's topic, else from the family's built-in pack."""
    if png and out is None:
        fail("--png writes next to the SVG; give --out OUT.svg")
    with user_errors():
        try:
            text = file.read_text()
        except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError) as e:
            raise DataError(f"{file}: cannot read it ({e.__class__.__name__})") from None
        pack = read_pack(content) if content is not None else None
        svg = compile_text(text, pack, source=str(content))
        if out is None:
            typer.echo(svg, nl=False)
            return
        atomic_write_text(out, svg)
        if png:
            atomic_write_bytes(out.with_suffix(".png"), render_png(svg))
    console.print(f"wrote {out}" + (f" and {out.with_suffix('.png')}" if png else ""))


@app.command(cls=_PlainCommand)
def gallery(
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Where to write index.html.")
    ] = Path("gallery"),
    quiet: Quiet = False,
) -> None:
    """Draw every family in every form and theme, on one page.

    Each picture is compiled from a bundle of one of the family's topics and rasterized by
    resvg; the page is self-contained (open DIR/index.html in any browser)."""
    with user_errors():
        page = build_gallery(out, (lambda line: None) if quiet else typer.echo)
    console.print(f"gallery: {page.resolve()}")


def main() -> None:
    sys.exit(app())


if __name__ == "__main__":
    main()
