"""The strict parsers reject bad input and name the offending atom."""

from __future__ import annotations

import pytest

from svglm.dsl.bundle import parse_bundle
from svglm.dsl.scene import parse_scene
from svglm.errors import DSLError

GOOD = (
    "[bundle] [family:memory_map] [form:layer_stack] [theme:signal_glow] [tone:green] "
    "[density:balanced] [background:mesh] [segments:6] [brackets:1] [cards:3] [/bundle]"
)


def test_good_bundle_parses():
    assert parse_bundle(GOOD).knob("segments") == 6


@pytest.mark.parametrize(
    "bad, named",
    [
        (GOOD.replace("[cards:3]", "[cards:3] [sparkle:1]"), "[sparkle:1]"),  # unknown atom
        (
            GOOD.replace("[cards:3]", "[cards:3] [stages:4]"),
            "[stages:4]",
        ),  # another family's counter
        (GOOD.replace("[segments:6]", "[segments:9]"), "[segments:9]"),  # out of range
        (GOOD.replace("[segments:6]", "[segments:two]"), "[segments:two]"),  # not a number
        (GOOD.replace("[tone:green]", "[tone:teal]"), "[tone:teal]"),  # unknown style value
        (GOOD.replace("[form:layer_stack]", "[form:milestone_chain]"), "[form:milestone_chain]"),
        (GOOD.replace("[cards:3]", "[cards:3] [cards:2]"), "[cards:2]"),  # duplicate knob
    ],
)
def test_bad_bundle_names_the_offending_atom(bad, named):
    with pytest.raises(DSLError) as err:
        parse_bundle(bad)
    assert named in str(err.value)


@pytest.mark.parametrize(
    "bad",
    [
        GOOD.replace(" [cards:3]", ""),  # missing knob
        GOOD.replace("[/bundle]", ""),  # unclosed
        GOOD.replace("] [", "]  [", 1),  # double space
        GOOD.replace("[family:memory_map]", "[family:Memory]"),
    ],
)
def test_malformed_bundles_are_rejected(bad):
    with pytest.raises(DSLError):
        parse_bundle(bad)


SCENE = (
    "[scene] [family:timeline] [form:stage_sequence] [theme:infra_dark] [tone:blue] "
    "[density:airy] [background:none] [title:title] [stage:stages.0] [stage:stages.1] "
    "[arrow] [from:0] [to:1] [/scene]"
)


def test_scene_errors_name_the_atom():
    assert len(parse_scene(SCENE).components) == 4
    with pytest.raises(DSLError, match=r"\[to:5\]"):
        parse_scene(SCENE.replace("[to:1]", "[to:5]"))  # points past the stages
    with pytest.raises(DSLError, match=r"\[segment:segments.0\]"):
        parse_scene(SCENE.replace("[stage:stages.1]", "[segment:segments.0]"))  # wrong family
    with pytest.raises(DSLError, match=r"\[arrow\] must be followed by \[to:N\]"):
        parse_scene(SCENE.replace(" [to:1]", ""))


TOPIC = GOOD.replace("[form:layer_stack]", "[form:layer_stack] [topic:cache_layout]").replace(
    "[segments:6] [brackets:1] [cards:3]", "[segments:5] [brackets:2] [cards:2]"
)


def test_a_topic_fixes_the_counts_its_content_has():
    bundle = parse_bundle(TOPIC)
    assert bundle.topic == "cache_layout" and bundle.knob("segments") == 5
    with pytest.raises(DSLError, match=r"\[segments:6\] but topic cache_layout has 5"):
        parse_bundle(TOPIC.replace("[segments:5]", "[segments:6]"))
    with pytest.raises(DSLError, match=r"\[topic:release_history\] is not a topic of"):
        parse_bundle(TOPIC.replace("cache_layout", "release_history"))


def test_a_combination_the_family_cannot_draw_is_refused_with_its_reason():
    tree = (
        "[bundle] [family:decision_tree] [form:top_down] [theme:infra_dark] [tone:blue] "
        "[density:airy] [background:none] [depth:2] [branching:3] [footer:0] [/bundle]"
    )
    assert parse_bundle(tree).knob("branching") == 3
    with pytest.raises(DSLError, match="makes 27 leaves; at most 9 fit"):
        parse_bundle(tree.replace("[depth:2]", "[depth:3]"))


def test_scene_settings_come_in_the_header_in_the_familys_order():
    chart = (
        "[scene] [family:bar_chart] [form:vertical_bars] [theme:infra_dark] [tone:blue] "
        "[density:airy] [background:none] [order:descending] [bar:bars.0] [bar:bars.1] "
        "[bar:bars.2] [/scene]"
    )
    assert parse_scene(chart).settings == (("order", "descending"),)
    with pytest.raises(DSLError, match=r"\[order:sideways\] is not one of"):
        parse_scene(chart.replace("descending", "sideways"))
    with pytest.raises(DSLError, match=r"expected \[order:\.\.\.\] in the scene header"):
        parse_scene(chart.replace(" [order:descending]", ""))
