"""Golden files for lowering and compiling every family/form at its minimum and maximum counts.

A golden file is the reviewed output of one bundle; any change to lowering or geometry shows
up as a diff. After an intended change, regenerate with `SVGLM_UPDATE_GOLDEN=1 pytest` and
review the new files (they render in any browser) before committing them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from scenes import every_form

from svglm.dsl.compiler import compile_scene
from svglm.dsl.families import FAMILIES
from svglm.dsl.lower import lower
from svglm.dsl.scene import print_scene

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SVGLM_UPDATE_GOLDEN") == "1"
PINNED = every_form(("min", "max"))


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with SVGLM_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{name} differs from its golden file"


@pytest.mark.parametrize("name, bundle", PINNED, ids=[n for n, _ in PINNED])
def test_lowering_and_compiler_match_golden(name, bundle):
    scene = lower(bundle)
    check_golden(f"{name}.scene.txt", print_scene(scene) + "\n")
    check_golden(f"{name}.svg", compile_scene(scene, FAMILIES[bundle.family].content))


def test_every_golden_file_belongs_to_a_pinned_bundle():
    """A renamed or removed form leaves no stale golden file behind."""
    expected = {f"{n}.{ext}" for n, _ in PINNED for ext in ("scene.txt", "svg")}
    assert {p.name for p in GOLDEN.iterdir()} == expected
