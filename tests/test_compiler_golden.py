"""Golden files for lowering and compiling every family/form.

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
from svglm.dsl.content import DEFAULT_CONTENT
from svglm.dsl.lower import lower
from svglm.dsl.scene import print_scene

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SVGLM_UPDATE_GOLDEN") == "1"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with SVGLM_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{name} differs from its golden file"


@pytest.mark.parametrize("name, bundle", every_form(), ids=[n for n, _ in every_form()])
def test_lowering_and_compiler_match_golden(name, bundle):
    scene = lower(bundle)
    check_golden(f"{name}.scene.txt", print_scene(scene) + "\n")
    check_golden(f"{name}.svg", compile_scene(scene, DEFAULT_CONTENT[bundle.family]))


def test_compiler_is_deterministic():
    name, bundle = every_form()[0]
    scene = lower(bundle)
    assert compile_scene(scene, DEFAULT_CONTENT[bundle.family]) == compile_scene(
        scene, DEFAULT_CONTENT[bundle.family]
    )
