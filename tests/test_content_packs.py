"""A user's own content pack: `svglm compile --content` draws their text, and a pack that does
not fit its family's schema or the bundle's counts is one line naming the field."""

from __future__ import annotations

import json

import pytest
from conftest import one_line_error
from typer.testing import CliRunner

from svglm.cli import app
from svglm.dsl.families import FAMILIES
from svglm.render import is_renderable

runner = CliRunner()
BUNDLE = (
    "[bundle] [family:bar_chart] [form:horizontal_bars] [theme:paper_editorial] [tone:blue] "
    "[density:balanced] [background:none] [bars:3] [order:descending] [axis:1] [values:1] "
    "[trend:0] [footer:0] [/bundle]"
)
PACK = {
    "title": "Coffee per person",
    "bars": [
        {"label": "Ana", "value": 3},
        {"label": "Ben", "value": 5.5},
        {"label": "Chen", "value": 1},
    ],
    "unit": " cups",
}


def compile_with(tmp_path, pack, bundle: str = BUNDLE):
    (tmp_path / "b.txt").write_text(bundle)
    (tmp_path / "p.json").write_text(json.dumps(pack) if not isinstance(pack, str) else pack)
    return runner.invoke(
        app,
        ["compile", str(tmp_path / "b.txt"), "--content", str(tmp_path / "p.json")],
        prog_name="svglm",
    )


def test_a_users_pack_is_drawn_with_its_own_text_and_numbers(tmp_path):
    result = compile_with(tmp_path, PACK)
    assert result.exit_code == 0, result.output
    svg = result.stdout
    assert "Coffee per person" in svg and "5.5 cups" in svg and is_renderable(svg)
    # descending order: Ben's row is drawn first, highest on the page
    rows = {n: float(y) for n, y in _node_tops(svg)}
    assert rows[1] < rows[0] < rows[2]


def _node_tops(svg: str):
    import re

    return [
        (int(n), y)
        for n, y in re.findall(r'<g data-node="(\d+)"><rect x="[\d.]+" y="([\d.]+)"', svg)
    ]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda p: p["bars"][1].pop("label"), "bars.1.label: Field required"),
        (
            lambda p: p["bars"][2].update(value="lots"),
            "bars.2.value: Input should be a valid number",
        ),
        (
            lambda p: p["bars"][0].update(value=-1),
            "bars.0.value: Input should be greater than or equal to 0",
        ),
        (lambda p: p.pop("title"), "title: Field required"),
        (lambda p: p.update(colour="red"), "colour: Extra inputs are not permitted"),
        (lambda p: p["bars"].append({"label": "Dara", "value": 2}), "[bars:3] but"),
        (lambda p: p.update(bars=p["bars"] * 3), "bars is 9; a bar_chart takes 3..8"),
    ],
)
def test_a_pack_that_does_not_fit_is_one_line_naming_the_field(tmp_path, edit, message):
    pack = json.loads(json.dumps(PACK))
    edit(pack)
    one_line_error(compile_with(tmp_path, pack), str(tmp_path / "p.json"), message)


def test_unreadable_packs_and_blocks_are_one_line(tmp_path):
    one_line_error(compile_with(tmp_path, "{not json"), "not valid JSON")
    one_line_error(compile_with(tmp_path, "[1, 2]"), "a content pack is a JSON object, got list")
    one_line_error(compile_with(tmp_path, PACK, "hello"), "expected a [bundle]")
    one_line_error(
        compile_with(tmp_path, PACK, BUNDLE.replace("[bars:3]", "[bars:30]")), "[bars:30]"
    )


def test_every_family_publishes_a_schema_its_own_topics_satisfy():
    for family in FAMILIES.values():
        schema = family.pack_schema()
        assert schema["type"] == "object" and "title" in schema["required"]
        for topic in family.topics:
            assert set(topic.pack) <= set(schema["properties"])  # no key the schema lacks
    result = runner.invoke(app, ["dsl", "--pack", "decision_tree"])
    assert result.exit_code == 0 and '"branching"' in result.stdout
