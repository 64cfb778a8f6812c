"""An independent judge for glyphs: an OCR engine reads each glyph on its own.

Tesseract (Debian's `tesseract-ocr`, driven through pytesseract) reads every held-out font's
glyph twice, as the model drew it and as the font draws it, in single-character mode with the
corpus's character set as its whitelist. The real glyphs' accuracy is the ceiling: what the
engine can read of these fonts at this size at all; the generated glyphs' accuracy is judged
against it (`ratio`).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from typing import Any

from svglm.dsl.glyph import char_class, char_of
from svglm.errors import DependencyError
from svglm.render import render_gray

SIZE, MARGIN = 128, 32  # the render, and the white border Tesseract wants around a character


def _tesseract():
    try:
        import pytesseract
    except ImportError:
        raise DependencyError("the OCR judge needs pytesseract: pip install 'svglm[ocr]'") from None
    if shutil.which("tesseract") is None:
        raise DependencyError("the OCR judge needs Tesseract: apt-get install tesseract-ocr")
    return pytesseract


def read_glyph(svg: str, charset: str) -> str:
    """The character Tesseract reads in a glyph's SVG ('' when it reads none)."""
    from PIL import ImageOps

    gray = ImageOps.expand(render_gray(svg, SIZE), MARGIN, fill=255)
    allowed = charset.replace('"', "").replace("'", "")
    config = f"--psm 10 -c tessedit_char_whitelist={allowed}"
    return _tesseract().image_to_string(gray, config=config).strip()[:1]


def judge_glyphs(cases: list[dict[str, Any]], charset: str) -> dict[str, Any]:
    """OCR accuracy of generated and real glyphs over probe cases (each with `topic`, the
    char value, `svg` and `expected_svg`), overall and per character class."""
    _tesseract()
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # class -> generated, real, n
    examples = []
    for c in cases:
        ch = char_of(c["topic"])
        generated = read_glyph(c["svg"], charset) if c.get("svg") else ""
        real = read_glyph(c["expected_svg"], charset)
        for key in ("all", char_class(ch)):
            hits[key][0] += generated == ch
            hits[key][1] += real == ch
            hits[key][2] += 1
        examples.append({"id": c["id"], "char": ch, "generated": generated, "real": real})

    def rate(k: int, n: int) -> float:
        return round(k / n, 4) if n else 0.0

    total = hits["all"]
    return {
        "schema": "svglm.glyph_ocr/1",
        "engine": "tesseract --psm 10",
        "cases": total[2],
        "generated_accuracy": rate(total[0], total[2]),
        "real_accuracy": rate(total[1], total[2]),
        "ratio": rate(total[0], total[1]),
        "classes": {
            k: {"n": n, "generated_accuracy": rate(g, n), "real_accuracy": rate(r, n)}
            for k, (g, r, n) in sorted(hits.items())
            if k != "all"
        },
        "reads": examples,
    }
