"""Tasks: each knows how to make rows, parse and compile targets, and explain misses."""

from __future__ import annotations

from pathlib import Path

from svglm.config import RunConfig
from svglm.errors import ConfigError
from svglm.tasks.base import Task
from svglm.tasks.glyph import GlyphTask
from svglm.tasks.rawsvg import RawSvgTask
from svglm.tasks.scene import SceneTask

TASKS = ("scene", "glyph", "svg")


def get_task(name: str, **options: object) -> Task:
    if name == "scene":
        return SceneTask(**options)  # type: ignore[arg-type]
    if name == "glyph":
        return GlyphTask(**options)  # type: ignore[arg-type]
    if name == "svg":
        return RawSvgTask(**options)  # type: ignore[arg-type]
    raise ConfigError(f"unknown task {name!r} (known: {', '.join(TASKS)})")


def task_for(cfg: RunConfig, root: Path) -> Task:
    """The task a run's config describes, for the run directory `root` (where an imported
    corpus lives)."""
    t = cfg.task
    if t.name == "scene":
        return SceneTask(
            level=t.level,
            families=t.families,
            surfaces=t.surfaces,
            holdout_fraction=t.holdout_fraction,
        )
    assert t.corpus is not None  # the config requires it
    return get_task(
        t.name,
        corpus=root / t.corpus,
        surfaces=t.surfaces,
        holdout_fraction=t.holdout_fraction,
        max_tokens=cfg.model.seq_len,
    )
