"""`svglm gallery`: every diagram family in every form and theme, compiled and rasterized by
resvg, on one self-contained HTML page (the pictures are PNG data URIs) for a person to look at.

Each picture binds one of the family's topics (rotating, so the page shows many) with every
presentation knob at its last, richest value.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

from svglm.dsl.bundle import make_bundle, print_bundle
from svglm.dsl.compiler import compile_text
from svglm.dsl.families import FAMILIES
from svglm.dsl.schema import STYLE
from svglm.files import atomic_write_text
from svglm.render import render_png
from svglm.report.html import environment

WIDTH = 720  # pixels: sharp in a three-column grid


def gallery_cells() -> list[dict[str, Any]]:
    """One cell per family x form x theme: the bundle it draws and the topic it binds."""
    cells = []
    for name, family in FAMILIES.items():
        for j, form in enumerate(family.form_names):
            for t, theme in enumerate(STYLE["theme"]):
                topic = family.topics[(j * len(STYLE["theme"]) + t) % len(family.topics)]
                shape = family.shape(topic.pack)
                knobs = {k.name: shape.get(k.name, k.choices()[-1]) for k in family.knobs}
                style = {
                    "theme": theme,
                    "tone": STYLE["tone"][(j + t) % len(STYLE["tone"])],
                    "density": "balanced",
                    "background": STYLE["background"][(j + 2 * t) % len(STYLE["background"])],
                }
                bundle = make_bundle(name, form, style, knobs, topic.name)
                cells.append(
                    {
                        "family": name,
                        "form": form,
                        "theme": theme,
                        "topic": topic.name,
                        "bundle": print_bundle(bundle),
                    }
                )
    return cells


def build_gallery(out: Path, progress: Callable[[str], None] = print) -> Path:
    """Write OUT/index.html; returns its path."""
    cells = gallery_cells()
    for i, cell in enumerate(cells, 1):
        png = render_png(compile_text(cell["bundle"]), width=WIDTH)
        cell["png"] = "data:image/png;base64," + base64.b64encode(png).decode()
        progress(f"gallery: {i}/{len(cells)} {cell['family']} {cell['form']} {cell['theme']}")
    families = []
    for name, family in FAMILIES.items():
        forms = [
            (form, [c for c in cells if c["family"] == name and c["form"] == form])
            for form in family.form_names
        ]
        families.append((name, forms))
    html = (
        environment()
        .get_template("gallery.html")
        .render(families=families, cells=cells, themes=STYLE["theme"])
    )
    page = out / "index.html"
    atomic_write_text(page, html)
    return page
