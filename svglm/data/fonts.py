"""`svglm data import-fonts`: glyph outlines of font files as glyph-language records.

Every font (.ttf, .otf, .woff, .woff2; each face of a .ttc) is read with fontTools. A glyph is
drawn through its glyph set, so composite glyphs are decomposed, TrueType quadratics and CFF
cubics are kept as they are. All glyphs of all fonts share one frame: one em is scaled onto
0.8 of the grid (units-per-em decides the scale), the baseline sits at 0.8 of the grid from
the top and leaves room below for descenders, y is flipped, and each glyph is centred on its
advance width. A point outside the grid is clamped and counted.

Each font gets a style class from its metadata (see `font_style`), a weight and a slant.
"""

from __future__ import annotations

import io
import struct
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTCollection, TTFont, TTLibError

from svglm.data.importing import (
    Outcome,
    Source,
    collect,
    default_workers,
    run_workers,
    write_corpus,
)
from svglm.dsl.glyph import DEFAULT_CHARSET, DEFAULT_GRID, GridPen, char_value, print_glyph
from svglm.errors import DataError

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2")
EM_SHARE, BASELINE = 0.8, 0.8  # of the grid: the em's height, the baseline's depth
SCRIPT_WORDS = ("script", "hand", "brush", "cursive", "calligraph")
DISPLAY_WORDS = ("display", "decorative", "ornament", "poster", "stencil")


def _name(font: TTFont, name_id: int) -> str:
    return str(font["name"].getDebugName(name_id) or "") if "name" in font else ""


def font_style(font: TTFont) -> str:
    """serif, sans_serif, monospace, handwriting or display, from the metadata in order of
    trust: fixed pitch (post), then the OS/2 family class, then the words of the font's names,
    then PANOSE; a font that says nothing is sans_serif."""
    words = " ".join(_name(font, i) for i in (1, 2, 4, 16)).lower()
    if ("post" in font and font["post"].isFixedPitch) or "mono" in words:
        return "monospace"
    os2 = font["OS/2"] if "OS/2" in font else None
    family_class = (os2.sFamilyClass >> 8) if os2 is not None else 0
    if family_class == 10 or any(w in words for w in SCRIPT_WORDS):
        return "handwriting"
    if family_class in (9, 12) or any(w in words for w in DISPLAY_WORDS):
        return "display"
    if family_class == 8 or "sans" in words:
        return "sans_serif"
    if family_class in (1, 2, 3, 4, 5, 7) or "serif" in words:
        return "serif"
    panose = getattr(os2, "panose", None)
    if panose is not None:
        if panose.bFamilyType == 3:
            return "handwriting"
        if panose.bFamilyType == 4:
            return "display"
        if 2 <= panose.bSerifStyle <= 10:
            return "serif"
    return "sans_serif"


def font_weight(font: TTFont) -> str:
    weight = font["OS/2"].usWeightClass if "OS/2" in font else 400
    return "bold" if weight >= 600 else "light" if weight <= 300 else "regular"


def font_slant(font: TTFont) -> str:
    angle = font["post"].italicAngle if "post" in font else 0
    italic = "OS/2" in font and font["OS/2"].fsSelection & 1
    return "italic" if angle or italic else "upright"


def _faces(source: Source) -> list[tuple[str, TTFont]]:
    if source.data[:4] == b"ttcf":
        collection = TTCollection(io.BytesIO(source.data), lazy=True)
        return [(f"{source.name}#{i}", f) for i, f in enumerate(collection.fonts)]
    return [(source.name, TTFont(io.BytesIO(source.data), lazy=True))]


def font_glyphs(
    source: Source, charset: str = DEFAULT_CHARSET, grid: int = DEFAULT_GRID
) -> Outcome:
    """The records of every face in one font file; a file fontTools cannot read is skipped
    with its reason, and so is a glyph that is missing or broken."""
    out = Outcome(source.name)
    try:
        faces = _faces(source)
    except (TTLibError, OSError, ValueError, KeyError, AssertionError, struct.error) as e:
        out.skipped.append(f"{source.name}: not a readable font ({e.__class__.__name__})")
        return out
    for name, font in faces:
        try:
            out.records += _face_records(name, font, charset, grid, out)
        except Exception as e:  # a broken table surfaces as anything from deep in fontTools
            out.skipped.append(f"{name}: broken font table ({e.__class__.__name__}: {str(e)[:60]})")
    return out


def _face_records(
    name: str, font: TTFont, charset: str, grid: int, out: Outcome
) -> list[dict[str, Any]]:
    cmap = font.getBestCmap()
    if not cmap:
        out.skipped.append(f"{name}: no Unicode character map")
        return []
    upm = font["head"].unitsPerEm
    glyphs = font.getGlyphSet()
    scale = EM_SHARE * (grid - 1) / upm
    face = {
        "font": _name(font, 6) or Path(name).stem,
        "family": _name(font, 1),
        "style": font_style(font),
        "weight": font_weight(font),
        "slant": font_slant(font),
        "file": name,
    }
    records = []
    for ch in charset:
        glyph_name = cmap.get(ord(ch))
        if glyph_name is None:
            out.skipped.append(f"{name} {ch!r}: missing character")
            continue
        try:
            glyph = glyphs[glyph_name]
            centre = glyph.width / 2

            def to_grid(p: tuple[float, float], centre: float = centre) -> tuple[float, float]:
                x, y = (p[0] - centre) * scale, p[1] * scale
                return (grid - 1) / 2 + x, BASELINE * (grid - 1) - y

            pen = GridPen(to_grid, grid)
            glyph.draw(pen)
        except Exception as e:  # one broken outline; the face's other glyphs may be fine
            out.skipped.append(f"{name} {ch!r}: broken outline ({e.__class__.__name__})")
            continue
        if not pen.segments:
            out.skipped.append(f"{name} {ch!r}: empty outline")
            continue
        out.counts["clamped_coordinates"] += pen.clamped
        out.counts["glyphs_clamped"] += bool(pen.clamped)
        records.append({**face, "char": char_value(ch), "glyph": print_glyph(pen.segments)})
    return records


def import_fonts(
    paths: list[str],
    out: Path,
    charset: str = DEFAULT_CHARSET,
    grid: int = DEFAULT_GRID,
    workers: int | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Import every font under `paths` into the corpus folder `out`; returns its QC record."""
    if len(set(charset)) != len(charset) or not charset:
        raise DataError("--chars must list each character once")
    sources, skipped = collect(paths, FONT_SUFFIXES)
    if not sources:
        raise DataError(f"no font files ({', '.join(FONT_SUFFIXES)}) under {', '.join(paths)}")
    outcomes = run_workers(
        partial(font_glyphs, charset=charset, grid=grid),
        sources,
        workers or default_workers(),
        "import-fonts",
        quiet,
    )
    records, counts, seen = [], Counter(), set()
    for o in outcomes:
        skipped += o.skipped
        counts += o.counts
        fonts = {}
        for r in o.records:
            fonts.setdefault(r["font"], []).append(r)
        for font, rows in fonts.items():
            if font in seen:  # the same face twice (a copy, or a .ttf beside its .woff2)
                skipped.append(f"{rows[0]['file']}: duplicate font ({font})")
                continue
            seen.add(font)
            records += rows
    summary = {
        "files": len(sources),
        "fonts": len(seen),
        "glyphs": len(records),
        "grid": grid,
        "charset": charset,
        "styles": dict(Counter({r["font"]: r["style"] for r in records}.values())),
        "clamped_coordinates": counts["clamped_coordinates"],
        "glyphs_clamped": counts["glyphs_clamped"],
    }
    return write_corpus(out, "glyph", records, skipped, summary)
