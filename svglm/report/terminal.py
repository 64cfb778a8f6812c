"""Runs in the terminal: the registry's tables (`svglm runs ls|show|diff`) and the live view of
a training run (`svglm monitor`). Everything fits an 80-column terminal."""

from __future__ import annotations

import math
from typing import Any

BARS = "▁▂▃▄▅▆▇█"


def human(n: float | None) -> str:
    """1377792 -> 1.38M, 2400256 -> 2.40M, 950 -> 950."""
    if n is None:
        return ""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return f"{n:g}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def rate(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def sparkline(values: list[float], width: int = 30) -> str:
    """Values as block characters, resampled to at most `width` (means of equal slices)."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [
            sum(chunk) / len(chunk)
            for i in range(width)
            for chunk in [values[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)]]
        ]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(BARS[min(7, int((v - lo) / span * 8))] for v in values)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{'model': {'n_layer': 3}} -> {'model.n_layer': 3}; list items by index."""
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out |= flatten(v, f"{prefix}{k}.")
        return out
    if isinstance(tree, list) and tree and isinstance(tree[0], dict):
        out = {}
        for i, v in enumerate(tree):
            out |= flatten(v, f"{prefix}{i}.")
        return out
    return {prefix[:-1]: tree}


def config_diff(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, value in a, value in b) for every setting that differs, names aside."""
    fa, fb = flatten(a), flatten(b)
    keys = sorted(set(fa) | set(fb))
    return [(k, fa.get(k), fb.get(k)) for k in keys if k != "name" and fa.get(k) != fb.get(k)]
