"""`svglm gallery`: one self-contained page with every family x form x theme, each picture a PNG
that resvg rasterized, each captioned with the bundle it draws."""

from __future__ import annotations

import base64
import io
import re

from PIL import Image
from typer.testing import CliRunner

from svglm.cli import app
from svglm.dsl.bundle import parse_bundle
from svglm.dsl.families import FAMILIES
from svglm.dsl.schema import STYLE

runner = CliRunner()


def test_the_gallery_shows_every_family_form_and_theme(tmp_path):
    result = runner.invoke(app, ["gallery", "--out", str(tmp_path / "g")])
    assert result.exit_code == 0, result.output
    # progress comes as plain lines, one per picture, also when the output is not a terminal
    expected = sum(len(f.forms) for f in FAMILIES.values()) * len(STYLE["theme"])
    assert result.output.count("gallery: ") == expected + 1
    page = (tmp_path / "g" / "index.html").read_text()
    assert "Content-Security-Policy" in page and "<svg" not in page  # pictures only as images
    pngs = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="(\w+) (\w+) (\w+)"', page)
    assert len(pngs) == expected
    assert {(f, form, th) for _, f, form, th in pngs} == {
        (name, form, theme)
        for name, family in FAMILIES.items()
        for form in family.form_names
        for theme in STYLE["theme"]
    }
    for data, *_ in pngs:
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        assert image.format == "PNG" and image.size[0] == 720
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert len(colours) > 100  # drawn: text, accents and anti-aliasing, not a blank page
    # each caption is a bundle that parses and names a topic of its family
    bundles = [parse_bundle(b) for b in re.findall(r"<code>(\[bundle\][^<]*)</code>", page)]
    assert len(bundles) == expected
    assert all(b.topic in {t.name for t in FAMILIES[b.family].topics} for b in bundles)
    assert len({b.topic for b in bundles}) > 2 * len(FAMILIES)  # topics rotate
