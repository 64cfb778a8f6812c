"""Imports follow the data flow: data -> tokenizer -> plan -> train -> probe -> report.

Every module of `svglm/` is read (not imported) and each of its imports, including those inside
functions and `importlib.import_module("...")` calls, is checked: no step imports a later step,
the shared foundation imports no step, and `model/` imports nothing from dsl, runs, tokenizer
or config, so the decoder can be read, tested and exported on its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "svglm"

# Each step and the modules that belong to it, in flow order. The plan step owns packing, the
# architecture, the device and the world size because it proves their arithmetic before
# training runs.
PLAN = ["plan", "packing", "architecture", "devices", "distributed"]
STEPS = [
    ("data", ["svglm.data"]),
    ("tokenizer", ["svglm.tokenizer"]),
    ("plan", [f"svglm.train.{m}" for m in PLAN]),
    ("train", ["svglm.train"]),
    ("probe", ["svglm.infer", "svglm.eval"]),
    ("report", ["svglm.report"]),
    # drivers may import anything
    (
        "driver",
        [
            "svglm.pipeline",
            "svglm.export",
            "svglm.font",
            "svglm.repair",
            "svglm.archive",
            "svglm.sweep",
            "svglm.doctor",
            "svglm.cli",
            "svglm.__main__",
        ],
    ),
]
# Every other module is the foundation the steps stand on: dsl, tasks, model, config, runs...
MODEL_MAY_NOT_IMPORT = ["svglm.dsl", "svglm.runs", "svglm.tokenizer", "svglm.config"]


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def step_of(name: str) -> int | None:
    """Index of the step a module belongs to (the longest matching prefix decides: packing is
    the plan's, the rest of train/ the trainer's); None for the foundation."""
    best: tuple[int, int] | None = None
    for i, (_, prefixes) in enumerate(STEPS):
        for prefix in prefixes:
            if within(name, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), i)
    return None if best is None else best[1]


def modules(package: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(path: Path, known: set[str]) -> set[str]:
    """The svglm modules a file imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:  # `from svglm.train import checkpoint` imports a module
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in known else node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
    return {n for n in found if within(n, "svglm") and n != "svglm"}


def violations(package: Path) -> list[str]:
    found = modules(package)
    out = []
    for me, path in found.items():
        mine = step_of(me)
        for other in sorted(imports(path, set(found))):
            theirs = step_of(other)
            if theirs is None or within(me, other):
                continue
            if mine is None:
                out.append(f"{me} (foundation) imports {other} ({STEPS[theirs][0]})")
            elif theirs > mine:
                out.append(f"{me} ({STEPS[mine][0]}) imports {other} ({STEPS[theirs][0]})")
        if within(me, "svglm.model"):
            out += [
                f"{me} imports {other}"
                for other in sorted(imports(path, set(found)))
                if any(within(other, p) for p in MODEL_MAY_NOT_IMPORT)
            ]
    return sorted(set(out))


def test_no_module_imports_a_later_step():
    assert violations(PACKAGE) == []


def test_every_module_is_checked():
    assert len(modules(PACKAGE)) > 40 and "svglm.dsl.families.timeline" in modules(PACKAGE)


@pytest.mark.parametrize(
    "file, text, needle",
    [
        (
            "tokenizer/bad.py",
            "from svglm.train.loop import train\n",
            "(tokenizer) imports svglm.train.loop",
        ),
        (
            "model/bad.py",
            "def f():\n    from svglm.dsl.atoms import BOS\n",
            "svglm.model.bad imports svglm.dsl.atoms",
        ),
        (
            "runs2.py",
            "import importlib\nimportlib.import_module('svglm.eval.probe')\n",
            "(foundation) imports svglm.eval.probe",
        ),
        (
            "train/plan.py",
            "from svglm.train import loop\n",
            "(plan) imports svglm.train.loop (train)",
        ),
    ],
)
def test_the_checker_catches_a_wrong_import(tmp_path, file, text, needle):
    """The walk must be able to fail: plant one wrong import in a small fake package."""
    fake = tmp_path / "svglm"
    for rel in [
        "__init__.py",
        "tokenizer/__init__.py",
        "model/__init__.py",
        "dsl/atoms.py",
        "train/__init__.py",
        "train/loop.py",
        "eval/probe.py",
    ]:
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake / rel).touch()
    (fake / file).write_text(text)
    assert any(needle in v for v in violations(fake)), violations(fake)
