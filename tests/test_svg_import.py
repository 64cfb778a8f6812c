"""Canonical raw SVG and `svglm data import-svg`: a fixed point that draws what the file
drew, hostile and broken files refused or defused one line each, and an icons run end to end
on icons the test draws itself."""

from __future__ import annotations

import json
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from svglm.cli import app
from svglm.data.svgs import icon_name, import_svgs
from svglm.dsl.rawsvg import canonical_svg
from svglm.errors import DSLError
from svglm.infer.grammar import GrammarConstraint
from svglm.render import ink_iou, is_renderable
from svglm.runs import RunDir
from svglm.tasks import task_for
from svglm.tokenizer.bpe import SvglmTokenizer

HEAD = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"'
STROKED = HEAD + ' fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round">'
num = st.integers(2, 22)


@st.composite
def shapes(draw) -> str:
    kind = draw(st.sampled_from(["path", "rect", "circle", "line", "polyline", "ellipse"]))
    a, b, c, d = (draw(num) for _ in range(4))
    return {
        "path": f'<path d="M{a} {b}l{c - a} 0q3 {d - b} -2 {d - b}a3 3 0 0 1 {c / 4} 1z"/>',
        "rect": f'<rect x="{min(a, c)}" y="{min(b, d)}" width="{abs(c - a) + 1}" '
        f'height="{abs(d - b) + 1}" rx="1"/>',
        "circle": f'<circle cx="12" cy="12" r="{max(2, a // 3)}"/>',
        "line": f'<line x1="{a}" y1="{b}" x2="{c}" y2="{d}"/>',
        "polyline": f'<polyline points="{a},{b} {c},{d} {b},{c}"/>',
        "ellipse": f'<ellipse cx="12" cy="12" rx="{max(2, a // 3)}" ry="{max(2, b // 3)}"/>',
    }[kind]


@st.composite
def documents(draw) -> str:
    body = "".join(draw(st.lists(shapes(), min_size=1, max_size=4)))
    transform = draw(st.sampled_from(["", "translate(1 1)", "rotate(10 12 12)", "scale(0.9)"]))
    if transform:
        body = f'<g transform="{transform}">{body}</g>'
    return STROKED + body + "</svg>"


@settings(max_examples=60, deadline=None)
@given(documents())
def test_canonical_is_a_fixed_point_that_draws_the_same(doc):
    canonical = canonical_svg(doc)
    assert canonical_svg(canonical) == canonical and canonical.isascii()
    assert "<g" not in canonical and "transform" not in canonical
    # at 256 px: at 128 a rotated dot of ink 2 units wide (43 pixels) moved by the 0.01 grid
    # lost one anti-aliased edge pixel, 0.977
    assert ink_iou(canonical, doc, size=256) >= 0.98


def test_use_and_transforms_are_resolved_and_junk_dropped():
    doc = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" viewBox="0 0 24 24" '
        'onload="alert(1)"><!-- a comment --><metadata>x</metadata><title>t</title>'
        "<script>alert(2)</script>"
        '<defs><path id="bar" d="M2 2H10V6H2Z"/></defs>'
        '<g inkscape:label="layer" transform="translate(0 4)"><use xlink:href="#bar"/>'
        '<use xlink:href="#bar" transform="translate(10 10)" onclick="x()"/></g>'
        '<use href="https://example.com/x.svg#a"/></svg>'
    )
    canonical = canonical_svg(doc)
    for gone in (
        "script",
        "onload",
        "onclick",
        "alert",
        "comment",
        "inkscape",
        "metadata",
        "<use",
        "example.com",
        "<title",
    ):
        assert gone not in canonical
    assert canonical.count("<path") == 2 and "M12 16H20V20H12Z" in canonical
    assert ink_iou(canonical, doc) >= 0.99


def test_css_classes_become_paint():
    rect = '<rect class="a" x="2" y="2" width="9" height="9"/>'
    doc = f"{HEAD}><style>.a{{fill:#f00}}</style>{rect}</svg>"
    canonical = canonical_svg(doc)
    assert 'fill="#f00"' in canonical and "<style" not in canonical and "class=" not in canonical
    assert ink_iou(canonical, doc) >= 0.99


HOSTILE = {
    "xxe.svg": (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f"{HEAD}><text>&x;</text></svg>",
        "declares a DTD or entities",
    ),
    "laughs.svg": (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f'{HEAD}><path d="M1 1H5" stroke="#000"/><desc>&b;</desc></svg>',
        "declares a DTD or entities",
    ),
    "junk.svg": ("GIF89a\x00\x01 this is not xml", "not well-formed XML"),
    "truncated.svg": (f'{STROKED}<path d="M1 1H5"/><path d="M', "not well-formed XML"),
    "page.svg": ("<html><body>hello</body></html>", "not an SVG document (root <html>)"),
    "words.svg": (f"{HEAD}><text x='1' y='10'>hi</text></svg>", "has text"),
    "shade.svg": (
        f'{HEAD}><linearGradient id="g"/><path d="M1 1H9V9Z" fill="url(#g)"/></svg>',
        "uses <linearGradient>",
    ),
    "deep.svg": (
        HEAD + ">" + "<g>" * 80 + '<path d="M1 1H9V9Z"/>' + "</g>" * 80 + "</svg>",
        "nested deeper than 64 levels",
    ),
    "empty.svg": (f"{HEAD}></svg>", "draws nothing"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_and_broken_documents_are_refused_in_one_line(name):
    text, reason = HOSTILE[name]
    with pytest.raises(DSLError, match=reason.replace("(", r"\(").replace(")", r"\)")) as e:
        canonical_svg(text)
    assert "\n" not in str(e.value) and "passwd" not in str(e.value)


def test_import_goes_on_past_every_bad_file_and_names_each_reason(tmp_path):
    src = tmp_path / "icons"
    src.mkdir()
    for name, (text, _) in HOSTILE.items():
        (src / name).write_text(text)
    (src / "Arrow-Left.svg").write_text(
        STROKED + '<path d="m12 19-7-7 7-7"/><path d="M19 12H5"/></svg>'
    )
    # the same drawing written another way, and the same drawing at a finer precision
    (src / "arrow-left-copy.svg").write_text(
        STROKED + '<polyline points="12,19 5,12 12,5"/><line x1="19" y1="12" x2="5" y2="12"/></svg>'
    )
    (src / "arrow-left-near.svg").write_text(
        STROKED + '<path d="M12.05 19L5 12 12 5"/><path d="M19 12H5"/></svg>'
    )
    with zipfile.ZipFile(src / "more.zip", "w") as z:
        z.writestr("set/plus.svg", STROKED + '<path d="M5 12h14"/><path d="M12 5v14"/></svg>')
    qc = import_svgs([str(src)], tmp_path / "out", workers=2, quiet=True)
    records = [
        json.loads(line) for line in (tmp_path / "out" / "corpus.jsonl").read_text().splitlines()
    ]
    assert sorted(r["name"] for r in records) == ["arrow_left", "plus"]
    assert all(is_renderable(r["svg"]) and r["iou"] >= 0.99 for r in records)
    reasons = "\n".join(qc["skipped_items"])
    for name, (_, reason) in HOSTILE.items():
        assert f"{name}: {reason}" in reasons
    assert "arrow-left-copy.svg: duplicate" in reasons
    assert "arrow-left-near.svg: near duplicate" in reasons
    assert qc["skipped"] == len(HOSTILE) + 2


def test_names_are_atom_values():
    assert icon_name("/x/Arrow-Left@2x.svg") == "arrow_left_2x"
    assert icon_name("set.zip!icons/ümlaut.svg") == "mlaut"
    assert icon_name("---.svg") == "icon"


def _icon(i: int) -> str:
    a, b = 3 + i % 7, 4 + (i * 5) % 9
    circle = f'<circle cx="12" cy="{8 + i % 6}" r="{2 + i % 3}"/>'
    return STROKED + f'<path d="M{a} {b}L{20 - a} {b + 6}"/>{circle}</svg>'


def test_an_icons_run_end_to_end(tmp_path, monkeypatch):
    icons = tmp_path / "mine"
    icons.mkdir()
    for i in range(60):
        (icons / f"icon-{i}.svg").write_text(_icon(i))
    monkeypatch.setenv("SVGLM_HOME", str(tmp_path / "home"))
    tiny = [
        "model.n_layer=1",
        "model.d_model=32",
        "model.n_head=2",
        "model.n_kv_head=1",
        "model.d_ff=64",
        "model.seq_len=256",
        "tokenizer.vocab_size=512",
        "stages.0.tokens=8192",
        "train.device=cpu",
        "train.precision=fp32",
        "train.compile=false",
        "train.checkpoint_every=2",
        "train.eval_every=2",
        "probe.max_tokens=64",
        "data.probe_hidden=4",
        "data.probe_visible=4",
    ]
    args = ["init", "i", "--preset", "icons", "--svg", str(icons)]
    result = CliRunner().invoke(app, args + [a for s in tiny for a in ("--set", s)])
    assert result.exit_code == 0, result.output
    assert "imported" in result.output
    result = CliRunner().invoke(app, ["run", "i", "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "home" / "i" / "probe" / "probe_report.json").read_text())
    assert {"render_iou", "closed", "memorized"} <= set(report["overall"])
    assert report["splits"]["hidden"]["n"] == 4
    rows = (tmp_path / "home" / "i" / "dataset" / "train.txt").read_text().splitlines()
    assert rows[0].startswith("<|bos|> [task:svg] [name:icon_") and "<svg xmlns=" in rows[0]
    assert "[/glyph]" not in rows[0]
    names = {r.split("[name:")[1].split("]")[0] for r in rows}
    held = (tmp_path / "home" / "i" / "dataset" / "holdout.txt").read_text().splitlines()
    assert not names & {r.split("[name:")[1].split("]")[0] for r in held}
    # Every document the task trains on is in its grammar; path data with a command short of
    # its numbers is not, so a constrained output always parses.
    run = RunDir(tmp_path / "home" / "i")
    tok = SvglmTokenizer.load(run.tokenizer_json)
    grammar = GrammarConstraint(task_for(run.config(), run.root).grammar(), tok, tok.vocab_size)
    grammar.start(1)
    for row in rows + held:
        target = row[row.index("<svg") : row.index("</svg>") + len("</svg>")]
        m = grammar.matchers[0].deep_copy()
        assert m.consume_tokens(tok.encode(" " + target)) and m.is_accepting(), target
    broken = rows[0][rows[0].index("<svg") :].replace('d="M', 'd="M3 4H 5H', 1)
    m = grammar.matchers[0].deep_copy()
    assert not m.consume_tokens(tok.encode(" " + broken.split(" <|eos|>")[0]))
    bad = CliRunner().invoke(app, ["init", "j", "--preset", "icons"])
    assert bad.exit_code == 2 and "--svg goes with the svg task" in bad.output
