"""Diagram families are modules registered by being there: adding one is one new file.

The main test copies the package, drops in one new family module (the example from
svglm/dsl/families/README.md) and drives it through everything that used to need edits in
seven files: parsers, lowering, compiler, reserved atoms, `svglm dsl`, run.yaml validation,
the data and tokenizer steps.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from svglm.dsl.canvas import Canvas
from svglm.dsl.content import Item, PackModel
from svglm.dsl.families import FAMILIES, register
from svglm.dsl.family import DiagramFamily, Form, Topic
from svglm.dsl.schema import ComponentKind, Knob

ROOT = Path(__file__).resolve().parents[1]

NEW_FAMILY = '''
"""Checklists: items to tick, in one or two columns."""

from svglm.dsl.canvas import Box
from svglm.dsl.content import Item, PackModel
from svglm.dsl.content import Item, PackModel
from svglm.dsl.family import DiagramFamily, Form, Topic, Topic
from svglm.dsl.schema import Component, ComponentKind, Knob


class Pack(PackModel):  # title, subtitle and footer come with PackModel
    items: list[Item]


def lower(form, knobs, pack):
    return [Component("item", f"items.{i}") for i in range(knobs["items"])]


def _items(cv, columns):
    items = cv.scene.of_kind("item")
    rows = -(-len(items) // columns)
    w = (cv.width - cv.gap * (columns - 1)) / columns
    h = (cv.bottom - cv.top - cv.gap * (rows - 1)) / rows
    for i, item in enumerate(items):
        r, c = i % rows, i // rows
        box = Box(cv.left + c * (w + cv.gap), cv.top + r * (h + cv.gap), w, h)
        cv.label_box(box, item.path, cv.pal.accent(i), i)


def one_column(cv):
    _items(cv, 1)


def two_columns(cv):
    _items(cv, 2)


def _pack(title, items, footer=""):
    return {
        "title": title,
        "subtitle": "What the reviewer checks",
        "items": [{"label": label, "detail": detail} for label, detail in items],
        "footer": footer,
    }


LAUNCH = _pack(
    "Before a run ships",
    [
        ("Probe", "Hidden exact above the bar"),
        ("Autopsy", "Every miss has a class"),
        ("Report", "Opens without a server"),
        ("Export", "Loads in transformers"),
        ("Registry", "The run is listed"),
        ("Notes", "Numbers in the closing note"),
    ],
    "Every item links to an artifact.",
)
REVIEW = _pack("Reviewing a change", [("Tests", "Fail with the bug"), ("Docs", "Say what changed")])

FAMILY = DiagramFamily(
    name="checklist",
    forms=(
        Form("one_column", goal="list_steps", layout=one_column, phrases=("one column",)),
        Form("two_columns", goal="compare_steps", layout=two_columns, phrases=("two columns",)),
    ),
    knobs=(Knob("items", 2, 6, content="items"), Knob("footer", 0, 1, content="footer")),
    kinds=(ComponentKind("item"),),
    lower=lower,
    content=LAUNCH,
    topics=(
        Topic("launch_checklist", LAUNCH, ("a launch checklist",)),
        Topic("review_checklist", REVIEW, ("a review checklist",)),
    ),
    pack=Pack,
    nouns=("a checklist",),
)
'''

DRIVE = """
import json, sys
from pathlib import Path
from svglm.config import preset
from svglm.dsl.bundle import parse_bundle
from svglm.dsl.compiler import compile_scene
from svglm.dsl.families import FAMILIES
from svglm.dsl.lower import lower
from svglm.dsl.scene import parse_scene, print_scene
from svglm.render import is_renderable
from svglm.pipeline import run_steps
from svglm.runs import RunDir
from svglm.tasks import get_task

bundle = parse_bundle(
    "[bundle] [family:checklist] [form:two_columns] [theme:paper_editorial] [tone:blue] "
    "[density:airy] [background:grid] [items:5] [footer:1] [/bundle]"
)
scene = lower(bundle)
assert parse_scene(print_scene(scene)) == scene
svg = compile_scene(scene, FAMILIES["checklist"].content)
task = get_task("scene")
cfg = preset("tiny", "c").model_copy(deep=True)
cfg.task.families = ["checklist"]
run = RunDir(Path(sys.argv[1]) / "c")
run.write_config(cfg)
run_steps(run, ("tokenizer",), show_progress=False)
print(json.dumps({
    "renderable": is_renderable(svg),
    "items_drawn": svg.count('data-node="'),
    "reserved": [a for a in task.reserved_atoms() if "checklist" in a or "columns" in a],
    "reference": "### `checklist`" in task.reference(),
    "rows": len(run.split("train").read_text().splitlines()),
    "qc": json.loads(run.dataset_qc.read_text())["verdict"],
    "roundtrip": json.loads(run.tokenizer_roundtrip.read_text())["exact"],
}))
"""


def test_a_new_family_is_one_module(tmp_path):
    package = tmp_path / "src"
    shutil.copytree(ROOT / "svglm", package / "svglm", ignore=shutil.ignore_patterns("__pycache__"))
    (package / "svglm" / "dsl" / "families" / "checklist.py").write_text(NEW_FAMILY)
    env = {**os.environ, "PYTHONPATH": str(package)}
    done = subprocess.run(
        [sys.executable, "-c", DRIVE, str(tmp_path)],
        env=env,
        cwd=tmp_path,  # with -c the working directory comes first on sys.path
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["renderable"] and result["items_drawn"] == 5
    assert "[family:checklist]" in result["reserved"] and "[form:two_columns]" in result["reserved"]
    assert "[topic:launch_checklist]" in result["reserved"] and result["reference"]
    assert result["rows"] == 300 and result["qc"] == "PASS" and result["roundtrip"] is True


def test_the_readme_example_is_the_one_tested():
    readme = (ROOT / "svglm" / "dsl" / "families" / "README.md").read_text()
    assert textwrap.dedent(NEW_FAMILY).strip() in readme


def _layout(cv: Canvas) -> None:
    pass


class _Pack(PackModel):
    xs: list[Item]


def test_a_family_with_a_mistake_fails_at_import_naming_it():
    forms = (Form("a", goal="g1", layout=_layout), Form("b", goal="g2", layout=_layout))
    pack = {"title": "T", "xs": [{"label": "x"}] * 3}
    good = dict(
        name="f",
        forms=forms,
        knobs=(Knob("n", 1, 3, content="xs"), Knob("arrows", 0, 1, phrases=((1, ("arrows",)),))),
        kinds=(ComponentKind("x"),),
        lower=lambda form, knobs, pack: [],
        content=pack,
        topics=(Topic("t", pack),),
        pack=_Pack,
    )
    DiagramFamily(**good)
    with pytest.raises(ValueError, match="at least two forms"):
        DiagramFamily(**{**good, "forms": forms[:1]})
    with pytest.raises(ValueError, match=r"knob names \['theme'\] are reserved"):
        DiagramFamily(**{**good, "knobs": (Knob("theme", 0, 1),)})
    with pytest.raises(ValueError, match="indexes unknown"):
        DiagramFamily(**{**good, "kinds": (ComponentKind("x", indexes="y"),)})
    with pytest.raises(ValueError, match=r"knob arrows has no phrase for \[1\]"):
        DiagramFamily(**{**good, "knobs": (Knob("n", 1, 3, content="xs"), Knob("arrows", 0, 1))})
    with pytest.raises(ValueError, match=r"family f, t: content: xs is 5; a f takes 1..3"):
        DiagramFamily(**{**good, "topics": (Topic("t", {**pack, "xs": [{"label": "x"}] * 5}),)})
    with pytest.raises(ValueError, match=r"built-in pack: content: xs.0.label: "):
        DiagramFamily(**{**good, "content": {**pack, "xs": [{"label": ""}]}})


def test_the_registry_refuses_ambiguous_routing_and_misnamed_modules():
    timeline = FAMILIES["timeline"]
    other = Topic("other_topic", timeline.content)
    again = dataclasses.replace(timeline, name="timeline2", topics=(other,))
    with pytest.raises(ValueError, match=r"goal names used more than once: \['mark_milestones'"):
        register([("timeline", timeline), ("timeline2", again)])
    with pytest.raises(ValueError, match="declares family 'timeline'"):
        register([("timelines", timeline)])
    ordered = register([("timeline", timeline), ("memory_map", FAMILIES["memory_map"])])
    assert list(ordered) == ["memory_map", "timeline"]  # atoms do not depend on file order
