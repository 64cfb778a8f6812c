"""Names that become file or folder names (runs, stages, checkpoints) are checked before any
path is made of them: a name is never a path, so no name can reach outside its run."""

from __future__ import annotations

import re

from svglm.errors import ConfigError

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
RULE = "lowercase letters, digits, '_', '-' and '.', starting with a letter or digit, at most 64"


def check_name(name: str, what: str) -> str:
    """`name` if it is safe to use as one path component; otherwise a ConfigError."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ConfigError(f"{what} {name!r} is not a valid name ({RULE})")
    return name
