"""Task families: each knows how to make rows, parse and compile targets, and explain misses."""

from svglm.tasks.base import Task
from svglm.tasks.scene import SceneTask


def get_task(name: str, **options: object) -> Task:
    if name == "scene":
        return SceneTask(**options)  # type: ignore[arg-type]
    raise ValueError(f"unknown task {name!r} (known: scene)")
