"""Tasks: each knows how to make rows, parse and compile targets, and explain misses."""

from __future__ import annotations

from svglm.config import RunConfig
from svglm.errors import ConfigError
from svglm.tasks.base import Task
from svglm.tasks.scene import SceneTask

TASKS = ("scene",)


def get_task(name: str, **options: object) -> Task:
    if name == "scene":
        return SceneTask(**options)  # type: ignore[arg-type]
    raise ConfigError(f"unknown task {name!r} (known: {', '.join(TASKS)})")


def task_for(cfg: RunConfig) -> Task:
    """The task a run's config describes."""
    t = cfg.task
    return get_task(
        t.name,
        level=t.level,
        families=t.families,
        surfaces=t.surfaces,
        holdout_fraction=t.holdout_fraction,
    )
