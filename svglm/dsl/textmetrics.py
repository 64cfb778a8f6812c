"""Text widths from real font metrics, so wrapping decisions hold when the SVG is drawn.

We measure with DejaVu Sans, which ships inside matplotlib (a dependency), and name it in the
SVG's font-family list; narrower fonts earlier in that list only make text fit more easily.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib
from fontTools.ttLib import TTFont

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=2)
def _advances(bold: bool) -> tuple[dict[int, float], float]:
    """Advance width per code point, in em, plus a fallback width for unmapped characters."""
    font = TTFont(FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"), lazy=True)
    upem = font["head"].unitsPerEm
    hmtx = font["hmtx"]
    widths = {cp: hmtx[name][0] / upem for cp, name in font.getBestCmap().items() if cp < 0x3000}
    return widths, max(widths[ord("M")], widths[ord("W")])


def text_width(text: str, size: float, bold: bool = False) -> float:
    widths, fallback = _advances(bold)
    return size * sum(widths.get(ord(ch), fallback) for ch in text)
