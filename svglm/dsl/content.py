"""Content packs: the visible text a scene binds to by path (`title`, `segments.2`, ...).

The model never writes this text; it chooses bindings and the compiler fills them in. Each
family module carries a built-in pack sized to the largest counts its knobs allow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from svglm.errors import DataError, DSLError
from svglm.files import load_json

ContentPack = dict[str, Any]
Text = Field(min_length=1, max_length=200)


class PackModel(BaseModel):
    """The keys every family's pack has; a family's schema adds its own lists."""

    model_config = ConfigDict(extra="forbid")
    title: str = Text
    subtitle: str = ""
    footer: str = ""


class Item(BaseModel):
    """A labelled box: a segment, a stage, a column."""

    model_config = ConfigDict(extra="forbid")
    label: str = Text
    detail: str = ""


def read_pack(path: Path) -> ContentPack:
    """A user's content pack from a JSON file (checked against a family's schema later)."""
    pack = load_json(path, DataError)
    if not isinstance(pack, dict):
        raise DataError(f"{path}: a content pack is a JSON object, got {type(pack).__name__}")
    return pack


def text_of(value: Any) -> str:
    """The text a bound value shows: itself, or an object's label or title."""
    if isinstance(value, dict):
        return str(value.get("label", value.get("title", "")))
    return str(value)


def resolve(content: ContentPack, path: str) -> Any:
    """Look up `segments.2` style paths; a missing binding is a DSL error, not a crash."""
    key, _, index = path.partition(".")
    if key not in content:
        raise DSLError(f"content has no key {key!r}")
    value = content[key]
    if index:
        if not isinstance(value, list) or int(index) >= len(value):
            raise DSLError(f"content path {path!r} is out of range")
        value = value[int(index)]
    return value
