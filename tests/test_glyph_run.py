"""A glyph run end to end on fonts matplotlib ships: init with --fonts, every step, the probe's
ink scores, the path tokenizer's no-unknown gate, a font out of the run, and the OCR judge."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from svglm.cli import app
from svglm.corpus import read_corpus
from svglm.data.fonts import import_fonts
from svglm.dsl.glyph import char_of, parse_glyph
from svglm.errors import TokenizerError
from svglm.eval.ocr import judge_glyphs
from svglm.eval.probe import mark_memorized, read_cases, score_case, train_targets
from svglm.export import export_run
from svglm.font import build_font
from svglm.pipeline import run_steps
from svglm.runs import RunDir
from svglm.tasks.glyph import GlyphTask
from svglm.tokenizer.bpe import train_bpe
from svglm.tokenizer.gates import unknown_tokens

MPL_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
# Four faces share sans_serif/regular/upright (one is held out, one goes to dev), one is serif.
FONTS = ["DejaVuSans", "STIXGeneral", "cmr10", "cmss10", "DejaVuSerif"]
CHARS = "AHxo."
TINY = [
    "model.n_layer=1",
    "model.d_model=32",
    "model.n_head=2",
    "model.n_kv_head=1",
    "model.d_ff=64",
    "model.seq_len=256",
    "stages.0.tokens=16384",
    "stages.0.batch_size=4",
    "data.min_coverage=1",
    "data.min_pair_coverage=0",
    "train.device=cpu",
    "train.precision=fp32",
    "train.compile=false",
    "train.checkpoint_every=2",
    "train.eval_every=2",
    "probe.max_tokens=200",
    "probe.batch_size=8",
]


@pytest.fixture(scope="module")
def glyph_run(tmp_path_factory) -> RunDir:
    home = tmp_path_factory.mktemp("home")
    fonts = home.parent / f"{home.name}-fonts"
    fonts.mkdir()
    for name in FONTS:
        shutil.copy(MPL_FONTS / f"{name}.ttf", fonts)
    mp = pytest.MonkeyPatch()
    mp.setenv("SVGLM_HOME", str(home))
    sets = [arg for s in TINY for arg in ("--set", s)]
    args = ["init", "g", "--preset", "glyphs", "--fonts", str(fonts), *sets]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    # the character set is the importer's: import again with fewer characters
    result = CliRunner().invoke(
        app,
        ["data", "import-fonts", str(fonts), "--out", str(home / "g" / "corpus"), "--chars", CHARS],
    )
    assert result.exit_code == 0 and "imported 25 glyphs of 5 fonts" in result.output
    run = RunDir(home / "g")
    run_steps(run, show_progress=False)
    yield run
    mp.undo()


def test_the_probe_scores_ink_closure_and_memorization(glyph_run):
    report = json.loads(glyph_run.probe_report.read_text())
    cases = read_cases(glyph_run.probe_files.cases_constrained)
    hidden = [c for c in cases if c["split"] == "hidden"]
    assert hidden and {c["topic"] for c in hidden} == {"cap_a", "cap_h", "x", "o", "period"}
    for side in (report, report["constrained"]):
        assert {"render_iou", "closed", "memorized"} <= set(side["overall"])
    # Under the grammar even an untrained model writes nothing that does not parse: its
    # blocks are valid or cut off by the budget.
    assert all(c["valid"] or c["budget_truncated"] for c in cases)

    # Scored by hand: the held-out glyph itself, a train row's glyph, and a broken contour.
    task = GlyphTask(glyph_run.root / "corpus")
    case = hidden[0]
    seen = train_targets(glyph_run, task)
    copied = sorted(seen)[0]
    scored = [
        score_case(task, case, case["expected"], "eos", {}),
        score_case(task, case, copied, "eos", {}),
        score_case(task, case, "[glyph] M 1 1 L 50 50 L 1 50 [/glyph]", "eos", {}),
    ]
    mark_memorized(scored, seen)
    same, train_copy, broken = scored
    assert same["exact"] and same["render_iou"] == 1.0 and same["closed"]
    assert not same["memorized"]  # the held-out font's glyph is in no train row
    assert train_copy["memorized"] and 0.0 <= train_copy["render_iou"] < 1.0
    assert not broken["valid"] and not broken["closed"] and broken["render_iou"] == 0.0
    # a glyph is judged by its ink: another font's valid glyph is no miss, a broken one is
    assert [s["miss_class"] for s in scored] == [None, None, "syntax"]
    qc = json.loads(glyph_run.tokenizer_manifest.read_text())
    assert qc["unknown_tokens"] == 0 and qc["roundtrip_exact"]


def test_a_token_missing_from_the_path_vocabulary_fails_the_gate(glyph_run, tmp_path, monkeypatch):
    rows = glyph_run.split("train").read_text().splitlines()
    atoms = GlyphTask(glyph_run.root / "corpus").reserved_atoms()
    value = next(w for w in rows[0].split() if w.isdigit())
    tok = train_bpe(rows, [a for a in atoms if a != value], 512)
    found = unknown_tokens(tok, rows, [a for a in atoms if a != value])
    assert found["unknown"] == sum(row.split().count(value) for row in rows)
    assert found["first"]["word"] == value
    assert unknown_tokens(train_bpe(rows, atoms, 512), rows, atoms)["unknown"] == 0

    copy = RunDir(tmp_path / "g")
    shutil.copytree(glyph_run.root, copy.root)
    real = GlyphTask.reserved_atoms
    monkeypatch.setattr(
        GlyphTask, "reserved_atoms", lambda self: [a for a in real(self) if a != value]
    )
    with pytest.raises(TokenizerError, match="outside the reserved vocabulary"):
        run_steps(copy, ("tokenizer",), show_progress=False)


def test_a_font_of_glyph_outlines_installs_and_renders(glyph_run, tmp_path):
    records = read_corpus(glyph_run.root / "corpus", "glyph")
    glyphs = {
        char_of(r["char"]): parse_glyph(r["glyph"]) for r in records if r["font"] == "DejaVuSans"
    }
    out = tmp_path / "mine.otf"
    out.write_bytes(build_font(glyphs, 128, "Mine", "Regular"))
    font = TTFont(out)
    cmap = font.getBestCmap()
    assert {chr(c) for c in cmap} == set(CHARS) | {" "}
    assert font["hhea"].ascent > 0 > font["hhea"].descent
    assert font["name"].getDebugName(1) == "Mine"
    widths = {ch: font["hmtx"][cmap[ord(ch)]][0] for ch in CHARS}
    assert widths["H"] > widths["."] > 0  # advance widths follow the glyph bounds
    pil = ImageFont.truetype(str(out), 64)  # FreeType, independent of fontTools
    image = Image.new("L", (400, 120), 255)
    ImageDraw.Draw(image).text((10, 10), CHARS, font=pil, fill=0)
    assert (np.asarray(image) < 128).sum() > 1000

    # The font is CFF: imported again, its glyphs keep their cubic curves and land where the
    # originals were (the same frame both ways, to within the grid's rounding).
    qc = import_fonts([str(out)], tmp_path / "again", charset=CHARS, workers=1, quiet=True)
    again = {r["char"]: r for r in read_corpus(tmp_path / "again", "glyph")}
    assert qc["fonts"] == 1 and set(again) == {
        r["char"] for r in records if r["font"] == "DejaVuSans"
    }
    assert " C " in again["o"]["glyph"] and " Q " not in again["o"]["glyph"]
    original = next(r for r in records if r["font"] == "DejaVuSans" and r["char"] == "cap_h")
    first = parse_glyph(original["glyph"])[0][1]
    assert parse_glyph(again["cap_h"]["glyph"])[0][1][1] == first[1]  # same baseline row


def test_the_font_verb_says_what_it_cannot_do(glyph_run, tmp_path, monkeypatch):
    monkeypatch.setenv("SVGLM_HOME", str(glyph_run.root.parent))
    out = tmp_path / "mine.otf"
    bad = CliRunner().invoke(app, ["font", "g", "--style", "gothic", "-o", str(out)])
    assert bad.exit_code == 2 and "--style is one of" in bad.output
    # This run is barely trained: under the grammar its glyphs run into the budget, and the
    # verb says so in one line instead of writing an empty font.
    result = CliRunner().invoke(app, ["font", "g", "--style", "serif", "-o", str(out)])
    if result.exit_code == 0:
        assert TTFont(out).getBestCmap()
    else:
        assert result.exit_code == 2 and "drew no valid glyph" in result.output
        assert not out.exists()


def test_the_ocr_judge_reads_real_glyphs(glyph_run, monkeypatch):
    cases = read_cases(glyph_run.probe_cases)
    real = [c | {"svg": c["expected_svg"]} for c in cases if c["topic"] in ("cap_a", "cap_h")]
    result = judge_glyphs(real, CHARS)
    assert result["real_accuracy"] == 1.0 and result["generated_accuracy"] == 1.0
    assert result["ratio"] == 1.0

    monkeypatch.setenv("SVGLM_HOME", str(glyph_run.root.parent))
    out = CliRunner().invoke(app, ["eval", "glyph-ocr", "g", "--json"])
    assert out.exit_code == 0, out.output
    judged = json.loads(out.output)
    assert judged["cases"] == sum(c["split"] == "hidden" for c in cases)
    assert judged["real_accuracy"] >= 0.6  # Tesseract reads most real glyphs alone
    assert glyph_run.glyph_ocr.is_file()
    html = glyph_run.report.read_text()  # the report shows the judge and the ink rates
    assert 'id="ocr"' in html and "<th>render_iou</th>" in html and "character class" in html


def test_import_reports_its_skips_in_one_line(tmp_path):
    (tmp_path / "junk.woff").write_bytes(b"\x00" * 64)
    shutil.copy(MPL_FONTS / "DejaVuSans.ttf", tmp_path)
    result = CliRunner().invoke(
        app, ["data", "import-fonts", str(tmp_path), "-o", str(tmp_path / "c")]
    )
    assert result.exit_code == 0
    assert "1 items skipped (not a readable font: 1)" in result.output
    nothing = CliRunner().invoke(
        app, ["data", "import-fonts", str(tmp_path / "junk.woff"), "-o", str(tmp_path / "d")]
    )
    assert nothing.exit_code == 2 and "nothing to import" in nothing.output.splitlines()[-1]


def test_the_export_describes_the_glyph_task(glyph_run, tmp_path):
    out = export_run(glyph_run, "hf", tmp_path / "hf")
    card = (out / "README.md").read_text()
    assert "[task:glyph]" in card and "[/glyph]" in card and "families" not in card
    rows = len(glyph_run.split("train").read_text().splitlines())
    assert f"{rows:,} training rows" in card
    assert 'start: " [glyph]" contour+ " [/glyph]"' in (out / "grammar.lark").read_text()
