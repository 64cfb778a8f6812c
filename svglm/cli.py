"""The svglm command line. Each verb is a thin call into the modules that do the work.

Verbs are listed in the order a run flows. A problem the user can act on (an `SvglmError`) is
printed as one line with exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, NoReturn

import click
import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table
from typer.core import TyperArgument, TyperCommand, TyperGroup

from svglm import __version__
from svglm.archive import archive_run, verify_archive
from svglm.config import PRESETS, apply_overrides, preset
from svglm.data.fonts import import_fonts
from svglm.data.svgs import import_svgs
from svglm.doctor import doctor as run_doctor
from svglm.dsl.compiler import compile_text
from svglm.dsl.content import read_pack
from svglm.dsl.families import family_named
from svglm.dsl.glyph import DEFAULT_CHARSET, DEFAULT_GRID
from svglm.dsl.rawsvg import DEFAULT_GRID as SVG_GRID
from svglm.errors import ArtifactError, ConfigError, DataError, SvglmError
from svglm.eval.autopsy import autopsy, compare
from svglm.eval.ocr import judge_glyphs
from svglm.eval.probe import read_cases, read_prompt_set, run_probe
from svglm.export import default_target, export_run
from svglm.files import atomic_write_bytes, atomic_write_json, atomic_write_text
from svglm.font import font_from_run
from svglm.infer.generate import Drawer
from svglm.infer.sampler import Sampling
from svglm.names import check_name
from svglm.pipeline import STEPS, run_steps
from svglm.render import render_png
from svglm.repair import before_after, make_repair_run
from svglm.report.gallery import build_gallery
from svglm.report.html import build_report
from svglm.report.monitor import monitor as follow_ledger
from svglm.report.server import make_server
from svglm.report.terminal import config_diff, duration, human, rate, sparkline
from svglm.runs import (
    ProbeFiles,
    RunDir,
    home,
    ledger_records,
    list_runs,
    register,
    run_record,
)
from svglm.sweep import read_spec, run_sweep, sweep_dir
from svglm.tasks import TASKS, get_task, task_for
from svglm.train.architecture import start_from_base
from svglm.train.checkpoint import promote as promote_checkpoint
from svglm.train.devices import keep_freed_memory
from svglm.train.tensorboard import replay as replay_tensorboard


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


class _FlowGroup(TyperGroup):
    """`svglm --help` lists verbs in the order a run flows; typer would list the groups
    (data, eval, runs) after every plain verb."""

    AFTER = {"data": "init", "eval": "autopsy"}  # group -> the verb it follows

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = [n for n in super().list_commands(ctx) if n not in self.AFTER]
        for group, after in self.AFTER.items():
            names.insert(names.index(after) + 1, group)
        return names


app = typer.Typer(
    cls=_FlowGroup,
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
    fonts: Annotated[
        list[str] | None,
        typer.Option(
            "--fonts",
            metavar="PATH",
            help="Font files, folders, globs or archives to import into the run "
            "(the glyphs preset; repeatable).",
        ),
    ] = None,
    svg: Annotated[
        list[str] | None,
        typer.Option(
            "--svg",
            metavar="PATH",
            help="SVG files, folders, globs or archives to import into the run "
            "(the icons preset; repeatable).",
        ),
    ] = None,
) -> None:
    """Create runs/NAME/run.yaml from a preset; edit it, then run it.

    With --from-hf or --from-gguf the checkpoint (weights, config, tokenizer) is copied into
    runs/NAME/base/; the DSL atoms are added to its tokenizer and training starts from its
    weights with the embedding resized. A GGUF file must carry its tokenizer.json.

    The glyphs preset learns from your fonts, the icons preset from your SVG files: --fonts or
    --svg imports them into runs/NAME/corpus/."""
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
        if (cfg.task.name == "glyph") != bool(fonts):
            fail("--fonts goes with the glyph task (--preset glyphs), and it needs them")
        if (cfg.task.name == "svg") != bool(svg):
            fail("--svg goes with the svg task (--preset icons), and it needs them")
        if fonts or svg:
            assert cfg.task.corpus is not None  # the glyph and svg tasks require one
            corpus = run.root / cfg.task.corpus
            if fonts:
                qc = import_fonts(fonts, corpus)
                console.print(f"imported {qc['glyphs']} glyphs of {qc['fonts']} fonts")
            else:
                qc = import_svgs(svg or [], corpus)
                console.print(f"imported {qc['records']} of {qc['files']} SVG files")
            if qc["skipped"]:
                console.print(f"{qc['skipped']} items skipped: see {corpus / 'dataset_qc.json'}")
        run.write_config(cfg)
    console.print(f"created {run.config_path}")


def _step_command(step: str, doc: str) -> None:
    def command(name: RunName, force: Force = False, quiet: Quiet = False) -> None:
        _execute(_existing(name), (step,), force, quiet)

    command.__doc__ = doc + "\n\nStale upstream steps run first."
    app.command(step, cls=_PlainCommand)(command)


class _DataGroup(TyperGroup):
    """`svglm data NAME` runs the data step; `svglm data import-... ` imports a corpus."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["step", *args]
        return super().parse_args(ctx, args)


data_app = typer.Typer(
    cls=_DataGroup,
    no_args_is_help=True,
    help="Generate a run's dataset, or import your own corpus.\n\n"
    "svglm data NAME writes the splits, probe contract, QC and coverage (stale upstream steps "
    "run first); svglm data import-svg and import-fonts PATH... --out DIR import SVG files "
    "and font files.",
)
app.add_typer(data_app, name="data")


@data_app.command("step", hidden=True, cls=_PlainCommand)
def data_step(name: RunName, force: Force = False, quiet: Quiet = False) -> None:
    _execute(_existing(name), ("data",), force, quiet)


Sources = Annotated[
    list[str], typer.Argument(metavar="PATH...", help="Files, folders, globs or archives.")
]
OutDir = Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="The corpus folder.")]
Workers = Annotated[
    int | None, typer.Option(metavar="N", help="Parallel worker processes (default: the cores).")
]


def _print_import(qc: dict, out: Path, what: str) -> None:
    console.print(
        f"{what}; {qc['skipped']} items skipped"
        + (
            f" ({', '.join(f'{k}: {v}' for k, v in qc['skip_reasons'].items())})"
            if qc["skipped"]
            else ""
        )
    )
    console.print(f"wrote {out / 'corpus.jsonl'} and {out / 'dataset_qc.json'}")


@data_app.command("import-svg", cls=_PlainCommand)
def import_svg_cmd(
    paths: Sources,
    out: OutDir,
    grid: Annotated[
        float, typer.Option(metavar="STEP", help="Round numbers to this step (viewBox units).")
    ] = SVG_GRID,
    min_iou: Annotated[
        float,
        typer.Option(metavar="IOU", help="Skip a file whose canonical form draws differently."),
    ] = 0.99,
    max_chars: Annotated[
        int, typer.Option(metavar="N", help="Skip a canonical document longer than this.")
    ] = 2000,
    workers: Workers = None,
    quiet: Quiet = False,
) -> None:
    """Import SVG files as canonical raw SVG, one document per row.

    A hardened parser (no entities, no DTD, no network, a depth limit) reads each file;
    comments, metadata, scripts, event handlers, editor namespaces and external references
    are dropped; transforms are applied, <use> resolved and shapes made paths, with numbers on
    the grid. A file is kept only if its canonical form renders with the same ink (IoU);
    duplicates and near duplicates are dropped. Every skipped file has its reason in
    dataset_qc.json."""
    with user_errors():
        qc = import_svgs(paths, out, grid, min_iou, max_chars, workers, quiet)
    _print_import(qc, out, f"imported {qc['records']} of {qc['files']} SVG files")


@data_app.command("import-fonts", cls=_PlainCommand)
def import_fonts_cmd(
    paths: Sources,
    out: OutDir,
    chars: Annotated[
        str, typer.Option(metavar="CHARS", help="The characters to import, each once.")
    ] = DEFAULT_CHARSET,
    grid: Annotated[int, typer.Option(min=16, max=1024, help="Grid size: coordinates 0..N-1.")] = (
        DEFAULT_GRID
    ),
    workers: Workers = None,
    quiet: Quiet = False,
) -> None:
    """Import glyphs of font files (.ttf .otf .ttc .woff .woff2) as glyph-language records.

    Outlines are scaled by units-per-em onto the grid with a y-flip and one baseline; each
    font gets a style class (serif, sans_serif, monospace, handwriting, display), a weight and
    a slant from its metadata. Unreadable fonts and missing glyphs are skipped, each with its
    reason in dataset_qc.json."""
    with user_errors():
        qc = import_fonts(paths, out, chars, grid, workers, quiet)
    _print_import(qc, out, f"imported {qc['glyphs']} glyphs of {qc['fonts']} fonts")


_step_command("tokenizer", "Train the BPE tokenizer; gate roundtrip and atoms.")
_step_command("plan", "Write plan.json: the preflight arithmetic and a verdict.")
_step_command("train", "Train every stage; resumes after a kill.")


@app.command(cls=_PlainCommand)
def monitor(
    name: RunName,
    once: Annotated[bool, typer.Option("--once", help="Print the current state and exit.")] = False,
    interval: Annotated[
        float, typer.Option(metavar="S", help="Seconds between looks at the ledger.")
    ] = 1.0,
) -> None:
    """Watch a run train, live.

    Shows stage, step, loss, dev loss, tokens/s, ETA and a loss sparkline, read from
    ledger.jsonl as it grows, from any shell, while `svglm run` trains. It ends when training
    is done, or on Ctrl-C (which stops only the view)."""
    run = _existing(name)
    try:
        if console.is_terminal and not once:
            with Live(console=console, auto_refresh=False) as live:
                view = SimpleNamespace(update=lambda line: live.update(line, refresh=True))
                follow_ledger(run, console.print, once, interval, view)
        else:
            follow_ledger(run, typer.echo, once, interval)
    except KeyboardInterrupt:
        pass


@app.command(cls=_PlainCommand)
def tensorboard(name: RunName) -> None:
    """Write TensorBoard event files from a run's ledger.

    They go to NAME/tensorboard/; `tensorboard --logdir $SVGLM_HOME` then shows every run.
    `train.tensorboard: true` writes them while training instead."""
    run = _existing(name)
    with user_errors():
        n = replay_tensorboard(run)
    console.print(f"wrote {n} ledger records to {run.tensorboard}")


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


@app.command(cls=_PlainCommand)
def probe(
    name: RunName,
    prompts: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help='Probe your own set instead: JSON lines of {"prompt": ..., "expected": ...}.',
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Write the report, cases and autopsy here; the run's probe/ stays as it is. "
            "Default with --prompts: RUN/probe/prompts/FILE-STEM.",
        ),
    ] = None,
    constrained: Annotated[
        bool | None,
        typer.Option(
            "--constrained/--free-only",
            help="With --prompts or --out: also decode under the task's grammar, or not "
            "(default: the run's probe.constrained).",
        ),
    ] = None,
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Decode the probe contract; write the report and autopsy.

    Greedy decoding, so the same checkpoint gives the same results. Free decoding is the
    contract; decoding under the task's grammar is reported beside it. Stale upstream steps
    run first."""
    run = _existing(name)
    if prompts is None and out is None:
        if constrained is not None:
            fail(
                "--constrained/--free-only go with --prompts or --out; the run's own probe "
                "follows probe.constrained in run.yaml"
            )
        _execute(run, ("probe",), force, quiet)
        return
    _execute(run, ("train",), False, quiet)  # a custom probe needs the trained model
    with user_errors(), run.lock():
        cfg = run.config()
        cases = read_prompt_set(prompts, task_for(cfg, run.root)) if prompts is not None else None
        if out is None:
            out = run.probe / "prompts" / check_name(prompts.stem, "a prompt file's name")
        report = run_probe(run, cfg, cases, ProbeFiles(out), constrained)
    for split, r in report["splits"].items():
        side = report.get("constrained", {}).get("splits", {}).get(split)
        extra = f", constrained exact {side['exact']:.3f} valid {side['valid']:.3f}" if side else ""
        console.print(f"{split}: n {r['n']}, exact {r['exact']:.3f}, valid {r['valid']:.3f}{extra}")
    console.print(f"probe: {ProbeFiles(out).report.resolve()}")


_step_command("report", "Write report.html and refresh the hub over all runs.")


def _probe_cases(run: RunDir, constrained: bool) -> list[dict]:
    path = run.probe_files.cases_constrained if constrained else run.probe_cases
    if not path.is_file():
        what = "a constrained probe" if constrained else "a probe"
        raise ArtifactError(f"{run.name} has no {what} yet: run `svglm probe {run.name}`")
    return read_cases(path)


@app.command("autopsy", cls=_PlainCommand)
def autopsy_cmd(
    name: RunName,
    against: Annotated[
        str | None,
        typer.Option(metavar="OTHER", help="Compare with this run's probe (matched by case id)."),
    ] = None,
    constrained: Annotated[
        bool, typer.Option("--constrained", help="The misses of constrained decoding.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Why the probe missed, and what to do next.

    Counts per miss class, family and form, two examples per class, and the classes ranked
    with their actions (held-out words aside). With --against OTHER: which of OTHER's misses
    this run fixed, which it kept and which are new."""
    run = _existing(name)
    other = _existing(against) if against else None
    with user_errors():
        cases = _probe_cases(run, constrained)
        result = autopsy(cases)
        if other is not None:
            result["against"] = {
                "run": other.name,
                **compare(_probe_cases(other, constrained), cases),
            }
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    console.print(f"{run.name}: {result['misses']} misses in {result['cases']} cases")
    for r in result["ranked"]:
        console.print(f"  {r['misses']:4d} {r['class']:<18} {r['action']}")
    for family, classes in result["by_family"].items():
        console.print(f"  {family}: " + ", ".join(f"{k} {v}" for k, v in classes.items()))
    console.print(f"next: {result['recommended_action']}")
    if other is not None:
        cmp = result["against"]
        console.print(f"against {other.name} ({cmp['cases']} shared cases):")
        for key in ("fixed", "new", "remain"):
            detail = ", ".join(f"{k} {v}" for k, v in cmp[key]["by_class"].items())
            console.print(f"  {key}: {cmp[key]['n']}" + (f" ({detail})" if detail else ""))


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


MaxTokens = Annotated[
    int, typer.Option("--max-tokens", metavar="N", help="Token budget per output.")
]
Temperature = Annotated[
    float, typer.Option(metavar="T", help="0 is greedy; higher samples more freely.")
]
TopK = Annotated[int, typer.Option("--top-k", metavar="K", help="Sample from the K best (0: all).")]
TopP = Annotated[float, typer.Option("--top-p", metavar="P", help="Nucleus mass (1: all).")]
Seed = Annotated[int, typer.Option(metavar="S", help="Seed of the sampler.")]
Constrained = Annotated[
    bool,
    typer.Option(
        "--constrained",
        help="Decode under the task's grammar: every output is a block that parses.",
    ),
]
ContentOption = Annotated[
    Path | None,
    typer.Option(
        "--content",
        metavar="PACK.json",
        help="Draw with your own content pack (see `svglm dsl --pack FAMILY`).",
    ),
]


def _drawer(name: str, constrained: bool) -> Drawer:
    run = _existing(name)
    with user_errors():
        return Drawer(run, constrained)


@app.command(cls=_PlainCommand)
def generate(
    name: RunName,
    prompt: Annotated[
        str, typer.Argument(metavar="PROMPT", help="Atoms, or a sentence if the run learned them.")
    ],
    content: ContentOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="OUT.svg", help="Write the picture (with --n, OUT-1.svg ...)."
        ),
    ] = None,
    png: Annotated[
        bool, typer.Option("--png", help="Also write a PNG beside each SVG, 960 px wide.")
    ] = False,
    n: Annotated[int, typer.Option("--n", metavar="K", help="How many drawings.")] = 1,
    temperature: Temperature = 0.0,
    top_k: TopK = 0,
    top_p: TopP = 1.0,
    seed: Seed = 0,
    max_tokens: MaxTokens = 256,
    constrained: Constrained = False,
) -> None:
    """Turn a prompt into a picture with a trained run.

    Prints the DSL the model wrote; with --out writes the compiled SVG (and a PNG). With
    --n K and a temperature above 0, K different drawings."""
    if png and out is None:
        fail("--png writes next to the SVG; give --out OUT.svg")
    if n < 1:
        fail("--n must be at least 1")
    with user_errors():
        sampling = Sampling(max_tokens, temperature, top_k, top_p, seed=seed)
        pack = read_pack(content) if content is not None else None
    drawer = _drawer(name, constrained)
    with user_errors():
        drawings = drawer.draw([prompt] * n, sampling, pack, str(content))
    for i, d in enumerate(drawings, 1):
        typer.echo(d.dsl or d.raw)
        if d.error:
            typer.echo(f"svglm: drawing {i}: {d.error}", err=True)
            continue
        if out is not None:
            path = out if n == 1 else out.with_name(f"{out.stem}-{i}{out.suffix}")
            with user_errors():
                _write_picture(path, d.svg, png)
    if all(d.error for d in drawings):
        raise typer.Exit(1)


def _write_picture(path: Path, svg: str, png: bool) -> None:
    try:
        atomic_write_text(path, svg)
        if png:
            atomic_write_bytes(path.with_suffix(".png"), render_png(svg))
    except OSError as e:
        raise DataError(f"cannot write {path}: {e.strerror or e}") from None
    console.print(f"wrote {path}" + (f" and {path.with_suffix('.png')}" if png else ""))


@app.command(cls=_PlainCommand)
def chat(
    name: RunName,
    content: ContentOption = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Where the pictures go.")
    ] = Path("drawings"),
    temperature: Temperature = 0.0,
    seed: Seed = 0,
    constrained: Constrained = False,
) -> None:
    """Type prompts, get pictures, one after another.

    Each answer prints the DSL and writes DIR/NNN.svg and .png. An empty line or Ctrl-D ends."""
    drawer = _drawer(name, constrained)
    with user_errors():
        pack = read_pack(content) if content is not None else None
    typer.echo(f"svglm chat with {name}: a prompt per line, an empty line ends")
    for i in itertools.count(1):
        try:
            prompt = input("> ").strip()
        except EOFError:
            break
        if not prompt:
            break
        with user_errors():
            d = drawer.draw([prompt], Sampling(256, temperature, seed=seed + i), pack)[0]
        typer.echo(d.dsl or d.raw)
        if d.error:
            typer.echo(f"  no picture: {d.error}")
            continue
        with user_errors():
            _write_picture(out / f"{i:03d}.svg", d.svg, True)


@app.command(cls=_PlainCommand)
def repair(
    name: RunName,
    child: Annotated[
        str | None, typer.Option("--as", metavar="NEW", help="The repair run's name.")
    ] = None,
    rows: Annotated[
        int | None,
        typer.Option(metavar="N", help="Rows in the repair slice (default: half of data.train)."),
    ] = None,
    tokens: Annotated[
        int | None,
        typer.Option(
            metavar="T",
            help="Token budget of the repair stage (default: half the largest stage's).",
        ),
    ] = None,
    dev: Annotated[int, typer.Option(metavar="K", help="Dev rows to diagnose on.")] = 256,
    quiet: Quiet = False,
) -> None:
    """Retrain on what a run misses, and compare the probes.

    Diagnoses on the dev split (never the held-out probe splits), creates NAME-repair from
    NAME's serving weights with more rows of the missed families and surfaces mixed into the
    original train split, runs it, and compares the two probes."""
    parent = _existing(name)
    with user_errors():
        target = RunDir.named(child or f"{name}-repair")
        if target.exists():
            raise ConfigError(f"run {target.name!r} exists; name another with --as")
    _execute(parent, ("probe",), False, quiet)  # the parent must be trained and probed
    with user_errors(), parent.lock():
        diagnosis = make_repair_run(parent, target, rows, tokens, dev, console.print)
    if not diagnosis["families"]:
        console.print(f"nothing to repair: no misses on {diagnosis['cases']} dev rows")
        return
    console.print(
        f"dev misses: {diagnosis['autopsy']['misses']} of {diagnosis['cases']} "
        f"({', '.join(f'{k} {v}' for k, v in diagnosis['families'].items())}); "
        f"created {target.config_path}"
    )
    _execute(target, STEPS, False, quiet)
    with user_errors():
        result = before_after(parent, target)
    for split, r in result["splits"].items():
        console.print(f"{split}: exact {r['before']:.3f} -> {r['after']:.3f}")
    for family, r in result["hidden_families"].items():
        console.print(f"  hidden {family}: {r['before']:.3f} -> {r['after']:.3f}")
    m = result["misses"]
    console.print(
        f"misses fixed {m['fixed']['n']}, new {m['new']['n']}, kept {m['remain']['n']}; "
        f"report: {target.report.resolve()}"
    )


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
    """Export the model, tokenizer, content, grammar and a model card."""
    run = _existing(name)
    with user_errors(), run.lock():
        path = export_run(run, fmt, out or default_target(run, fmt), force)
    console.print(f"exported {path}")


@app.command(cls=_PlainCommand)
def font(
    name: RunName,
    style: Annotated[str, typer.Option(metavar="STYLE", help="serif, sans_serif, monospace...")],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="FILE.otf", help="The font file.")],
    weight: Annotated[str, typer.Option(metavar="W", help="light, regular or bold.")] = "regular",
    slant: Annotated[str, typer.Option(metavar="S", help="upright or italic.")] = "upright",
    family: Annotated[
        str | None, typer.Option(metavar="NAME", help="The family name the font carries.")
    ] = None,
    constrained: Annotated[
        bool,
        typer.Option(
            "--constrained/--free", help="Decode under the glyph grammar (needs llguidance)."
        ),
    ] = True,
) -> None:
    """Make an installable OpenType font from a glyph run.

    The run draws every character of its corpus in one style, weight and slant; the outlines
    become a CFF font with advance widths from the glyph bounds, ascender and descender, a
    Unicode cmap and names. Characters the run could not draw are listed and left out."""
    run = _existing(name)
    with user_errors(), run.lock():
        made = font_from_run(run, out, style, weight, slant, family, constrained)
    missing = f"; not drawn: {' '.join(made['missing'])}" if made["missing"] else ""
    console.print(f"wrote {out} with {made['glyphs']} glyphs{missing}")


eval_app = typer.Typer(
    help="Independent judges of a run's outputs.",
    rich_markup_mode=None,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(eval_app, name="eval")


@eval_app.command("glyph-ocr", cls=_PlainCommand)
def glyph_ocr(
    name: RunName, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Read the held-out fonts' glyphs with OCR: generated vs real.

    Tesseract reads each glyph of the hidden probe split (fonts train never saw) alone, as the
    model drew it and as the font draws it; the real glyphs' accuracy is the ceiling. Writes
    probe/glyph_ocr.json. Needs a probed glyph run, tesseract-ocr and pytesseract."""
    run = _existing(name)
    with user_errors():
        cfg = run.config()
        if cfg.task.name != "glyph":
            fail(f"{name} is a {cfg.task.name} run; glyph-ocr judges glyph runs")
        task = task_for(cfg, run.root)
        cases = [c for c in read_cases(run.probe_cases) if c["split"] == "hidden"]
        result = judge_glyphs(cases, task.charset)  # type: ignore[attr-defined]
        atomic_write_json(run.glyph_ocr, result)
        build_report(run)  # the report shows the judge's figures
    if as_json:
        typer.echo(json.dumps({k: v for k, v in result.items() if k != "reads"}))
        return
    console.print(
        f"{result['cases']} held-out glyphs: generated_accuracy "
        f"{result['generated_accuracy']:.3f}, real_accuracy {result['real_accuracy']:.3f} "
        f"(ratio {result['ratio']:.3f})"
    )
    for group, r in result["classes"].items():
        console.print(
            f"  {group:6} n={r['n']:4}  generated {r['generated_accuracy']:.3f}  "
            f"real {r['real_accuracy']:.3f}"
        )


runs_app = typer.Typer(
    help="List, show and compare runs (the registry).",
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(runs_app, name="runs")
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@runs_app.callback(invoke_without_command=True)
def runs_default(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List runs from the registry with their probe scores (the same as `svglm runs ls`)."""
    if ctx.invoked_subcommand is None:
        runs_ls(as_json)


@runs_app.command("ls", cls=_PlainCommand)
def runs_ls(as_json: AsJson = False) -> None:
    """Every run: architecture, size, tokens, wall time, losses, probe scores, state."""
    rows = list_runs()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print(f"no runs under {home()}")
        return
    table = Table(
        "run",
        "arch",
        "params",
        "tokens",
        "wall",
        "dev loss",
        "hidden",
        "rend",
        "state",
        box=None,
        pad_edge=False,
    )
    for r in rows:
        table.add_row(
            r["name"],
            r["architecture"] or "",
            human(r["params"]),
            human(r["tokens"]),
            duration(r["wall_s"]),
            "" if r["dev_loss"] is None else f"{r['dev_loss']:.4f}",
            rate(r["hidden_exact"]),
            rate(r["renderable"]),
            r["status"],
        )
    console.print(table)


def _record(name: str) -> dict:
    run = _existing(name)
    with user_errors():
        register(run, run.status())  # the registry is an index: bring it up to date
        record = run_record(name)
    record["config"] = run.config().model_dump(mode="json")
    record["loss"] = [r["loss"] for r in ledger_records(run) if "loss" in r]
    return record


@runs_app.command("show", cls=_PlainCommand)
def runs_show(name: RunName, as_json: AsJson = False) -> None:
    """One run: its facts, its stages, its probe scores and its loss curve."""
    r = _record(name)
    if as_json:
        typer.echo(json.dumps(r, indent=2))
        return
    console.print(f"{r['name']} ({r['preset']}, {r['status']}) {r['path']}")
    console.print(
        f"{r['architecture']} {human(r['params'])} params, {human(r['tokens'])} tokens in "
        f"{duration(r['wall_s'])}; final loss {rate(r['final_loss'])}, dev loss "
        f"{rate(r['dev_loss'])}; serving {r['checkpoint'] or '-'}"
    )
    for s in r["stages"]:
        console.print(
            f"  stage {s['stage']}: {s['steps']} steps, {human(s['tokens'])} tokens, "
            f"loss {s['final_loss']:.4f}, {duration(s['wall_s'])}"
        )
    for split, p in r["probes"].items():
        console.print(
            f"  {split:<10} n {p['n']:<4} exact {rate(p['exact'])}  renderable "
            f"{rate(p['renderable'])}  dirty {rate(p['dirty_tail'])}"
        )
    console.print(f"  loss {sparkline(r['loss'], 60)}")


@runs_app.command("diff", cls=_PlainCommand)
def runs_diff(
    a: RunName, b: Annotated[str, typer.Argument(metavar="OTHER")], as_json: AsJson = False
) -> None:
    """Two runs: the settings that differ, metric deltas and both loss curves."""
    ra, rb = _record(a), _record(b)
    metrics = {}
    for key in ("params", "tokens", "wall_s", "final_loss", "dev_loss"):
        metrics[key] = (ra[key], rb[key])
    for split in sorted(set(ra["probes"]) | set(rb["probes"])):
        for k in ("exact", "renderable"):
            metrics[f"{split}.{k}"] = tuple(r["probes"].get(split, {}).get(k) for r in (ra, rb))
    diff = {
        "schema": "svglm.runs_diff/1",
        "a": a,
        "b": b,
        "config": [
            {"key": k, "a": x, "b": y} for k, x, y in config_diff(ra["config"], rb["config"])
        ],
        "metrics": {
            k: {"a": x, "b": y, "delta": None if x is None or y is None else y - x}
            for k, (x, y) in metrics.items()
        },
        "loss": {a: ra["loss"], b: rb["loss"]},
    }
    if as_json:
        typer.echo(json.dumps(diff, indent=2))
        return
    console.print(f"{a} -> {b}")
    for c in diff["config"]:
        console.print(f"  {c['key']}: {c['a']} -> {c['b']}")
    for k, m in diff["metrics"].items():
        if m["a"] != m["b"]:
            delta = "" if m["delta"] is None else f" ({m['delta']:+.4g})"
            console.print(f"  {k}: {m['a']} -> {m['b']}{delta}")
    width = max(len(a), len(b))
    for name, curve in diff["loss"].items():
        console.print(f"  {name:<{width}} {sparkline(curve, 60)}")


@app.command(cls=_PlainCommand)
def serve(
    port: Annotated[
        int, typer.Option(metavar="N", min=0, max=65535, help="Port on 127.0.0.1 (0: any free).")
    ] = 8765,
) -> None:
    """Serve the hub, the reports and a playground on 127.0.0.1.

    Read-only, only files under $SVGLM_HOME; reports of runs that are training refresh
    themselves. The playground (/playground) turns a prompt into a picture with any trained
    run. Ctrl-C stops it."""
    try:
        server = make_server(home(), port)
    except OSError as e:
        fail(f"cannot listen on 127.0.0.1:{port}: {e.strerror or e}")
    host, bound = server.server_address[:2]
    console.print(f"serving {home().resolve()} on http://{host}:{bound}/ (playground: /playground)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@app.command(cls=_PlainCommand)
def sweep(
    spec: Annotated[Path, typer.Argument(metavar="SPEC.yaml", help="The sweep's axes.")],
    quiet: Quiet = False,
) -> None:
    """Run an ablation matrix cell by cell, and rank the cells.

    SPEC.yaml: name, a preset (or base: a run.yaml), shared `set:` settings and `axes:`, e.g.
    {model.d_model: [128, 192], seed: [1, 2]}. Each cell is the run NAME-NNN; a stopped sweep
    resumes. The ranking (hidden exact, renderable, wall time) goes to
    $SVGLM_HOME/sweeps/NAME/results.{json,csv,md} and the hub."""
    with user_errors():
        parsed = read_spec(spec)
    try:
        with user_errors():
            result = run_sweep(parsed, spec.parent, console.print, quiet)
    except KeyboardInterrupt:
        fail("interrupted; run the same sweep again to resume", 130)
    table = Table("run", *parsed.axes, "hidden", "rend", "wall", box=None, pad_edge=False)
    for r in result["ranked"]:
        table.add_row(
            r["run"],
            *(str(r[k]) for k in parsed.axes),
            rate(r["hidden_exact"]),
            rate(r["renderable"]),
            duration(r["wall_s"]),
        )
    console.print(table)
    console.print(f"results: {sweep_dir(parsed.name).resolve()}")


@app.command(cls=_PlainCommand)
def archive(
    name: RunName,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", metavar="FILE", help="Default: NAME.tar.gz.")
    ] = None,
    with_checkpoints: Annotated[
        bool, typer.Option("--with-checkpoints", help="Include the checkpoints.")
    ] = False,
) -> None:
    """Pack a run into a .tar.gz with a sha256 manifest.

    NAME/MANIFEST.json lists the sha256 of every file; checkpoints are left out unless
    --with-checkpoints. `svglm verify` checks it."""
    run = _existing(name)
    target = out or Path(f"{name}.tar.gz")
    with user_errors(), run.lock():
        manifest = archive_run(run, target, with_checkpoints)
    console.print(f"archived {len(manifest['files'])} files to {target}")


@app.command(cls=_PlainCommand)
def verify(
    path: Annotated[Path, typer.Argument(metavar="ARCHIVE", help="A file from `svglm archive`.")],
) -> None:
    """Check an archive against its MANIFEST.json (extracts nothing)."""
    with user_errors():
        manifest = verify_archive(path)
    console.print(f"{path}: {len(manifest['files'])} files, every sha256 matches")


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
    png: Annotated[
        bool, typer.Option("--png", help="Also write OUT.png, 960 px wide (needs --out).")
    ] = False,
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
    keep_freed_memory()  # for every command: training, probing and sampling allocate alike
    sys.exit(app())


if __name__ == "__main__":
    main()
