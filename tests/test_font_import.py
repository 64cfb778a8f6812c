"""`svglm data import-fonts` on real font files: the DejaVu fonts matplotlib ships, copies
made from them in other containers (.woff2, .ttc, a .zip), and broken ones made by hand."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import matplotlib
import pytest
from fontTools.ttLib import TTCollection, TTFont

from svglm.data.fonts import import_fonts
from svglm.dsl.glyph import parse_glyph
from svglm.tasks.glyph import GlyphTask

MPL_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FACES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf"]


@pytest.fixture(scope="module")
def fonts(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fonts")
    for name in FACES:
        (folder / name).write_bytes((MPL_FONTS / name).read_bytes())
    return folder


def test_styles_weights_and_one_frame(fonts, tmp_path):
    qc = import_fonts([str(fonts)], tmp_path, charset="AHx.", workers=1, quiet=True)
    records = [json.loads(line) for line in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    assert qc["fonts"] == 4 and qc["glyphs"] == 16 and qc["skipped"] == 0
    faces = {r["font"]: (r["style"], r["weight"], r["slant"]) for r in records}
    assert faces == {
        "DejaVuSans": ("sans_serif", "regular", "upright"),
        "DejaVuSans-Bold": ("sans_serif", "bold", "upright"),
        "DejaVuSerif": ("serif", "regular", "upright"),
        "DejaVuSansMono": ("monospace", "regular", "upright"),
    }
    # One baseline for every font: the lowest point of H and x lies on the same grid row.
    bottoms = {
        max(xy[i + 1] for _, xy in parse_glyph(r["glyph"]) for i in range(0, len(xy), 2))
        for r in records
        if r["char"] in ("cap_h", "x")
    }
    assert bottoms == {round(0.8 * 127)}
    # The bold H is wider than the regular one: units-per-em scaling kept proportions.
    widths = {
        r["font"]: max(xy[0] for _, xy in parse_glyph(r["glyph"]) if xy)
        - min(xy[0] for _, xy in parse_glyph(r["glyph"]) if xy)
        for r in records
        if r["char"] == "cap_h"
    }
    assert widths["DejaVuSans-Bold"] > widths["DejaVuSans"]


def test_containers_are_read_and_broken_files_skipped_with_reasons(fonts, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    sans = TTFont(fonts / "DejaVuSans.ttf")
    sans.flavor = "woff2"
    sans.save(src / "sans.woff2")
    collection = TTCollection()
    collection.fonts = [TTFont(fonts / "DejaVuSerif.ttf"), TTFont(fonts / "DejaVuSansMono.ttf")]
    collection.save(src / "pair.ttc")
    with zipfile.ZipFile(src / "bold.zip", "w") as z:
        z.writestr("fonts/bold.ttf", (fonts / "DejaVuSans-Bold.ttf").read_bytes())
    (src / "junk.ttf").write_bytes(b"<html>not a font</html>")
    (src / "truncated.otf").write_bytes((fonts / "DejaVuSerif.ttf").read_bytes()[:3000])
    broken = TTFont(fonts / "DejaVuSans.ttf")
    broken["name"].names = [n for n in broken["name"].names if n.nameID != 6]
    data = bytearray(_saved(broken))
    entry = data.find(b"cmap")  # the cmap table record: point its offset past the file
    data[entry + 8 : entry + 12] = (len(data) + 1000).to_bytes(4, "big")
    (src / "broken-cmap.ttf").write_bytes(bytes(data))

    qc = import_fonts([str(src)], tmp_path / "out", charset="Ab", workers=2, quiet=True)
    reasons = qc["skipped_items"]
    assert qc["fonts"] == 4  # woff2, both faces of the collection, the zipped bold
    assert any("junk.ttf" in r and "not a readable font" in r for r in reasons)
    assert any("truncated.otf" in r for r in reasons)
    assert any("broken-cmap.ttf" in r for r in reasons)
    assert all("\n" not in r for r in reasons)


def _saved(font: TTFont) -> bytes:
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def test_splits_are_by_font_and_keep_every_prompt_taught(tmp_path):
    # Six faces say sans_serif (STIX and Computer Modern carry no class: the fallback), four
    # of them regular upright and two bold; one serif and one monospace face.
    names = ["DejaVuSans", "STIXGeneral", "cmr10", "cmss10", "DejaVuSans-Bold", "STIXGeneralBol"]
    names = [f"{n}.ttf" for n in [*names, "DejaVuSerif", "DejaVuSansMono"]]
    import_fonts([str(MPL_FONTS / n) for n in names], tmp_path, charset="AaB", quiet=True)
    task = GlyphTask(tmp_path, holdout_fraction=0.3)
    data = task.generate(7, {"train": 0, "dev": 50, "test": 0, "holdout": 50})
    fonts = {s: {ex.combo[0] for ex in rows} for s, rows in data.splits.items()}
    assert fonts["holdout"] and fonts["dev"]
    train_fonts = {ex.combo[0] for ex in data.splits["train"]} | fonts["test"]
    assert not (fonts["holdout"] | fonts["dev"]) & train_fonts
    taught = {ex.prompt for ex in data.splits["train"]}
    assert all(ex.prompt in taught for ex in data.splits["holdout"] + data.splits["dev"])
    again = task.generate(7, {"train": 0, "dev": 50, "test": 0, "holdout": 50})
    assert [e.row() for e in again.splits["holdout"]] == [e.row() for e in data.splits["holdout"]]
