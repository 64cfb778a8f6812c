"""Content packs: the visible text a scene binds to by path (`title`, `segments.2`, ...).

The model never writes this text; it chooses bindings and the compiler fills them in. Each
family module carries a built-in pack sized to the largest counts its knobs allow.
"""

from __future__ import annotations

from typing import Any

from svglm.errors import DSLError

ContentPack = dict[str, Any]


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
