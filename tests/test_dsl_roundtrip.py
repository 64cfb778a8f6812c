"""Property tests: every parser/printer pair roundtrips, and parsing canonicalizes order."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from svglm.dsl.atoms import join_atoms, split_atoms
from svglm.dsl.bundle import make_bundle, parse_bundle, print_bundle
from svglm.dsl.families import FAMILIES
from svglm.dsl.lower import lower
from svglm.dsl.scene import parse_scene, print_scene
from svglm.dsl.schema import STYLE


@st.composite
def bundles(draw):
    """Any bundle the language allows: with or without a topic (whose content then fixes the
    counts it has), every other knob drawn from its choices, within the family's limits."""
    family = draw(st.sampled_from(sorted(FAMILIES)))
    fam = FAMILIES[family]
    style = {k: draw(st.sampled_from(v)) for k, v in STYLE.items()}
    topic = draw(st.sampled_from([None, *(t.name for t in fam.topics)]))
    fixed = fam.shape(fam.topic(topic).pack) if topic else {}
    knobs = {k.name: fixed.get(k.name, draw(st.sampled_from(k.choices()))) for k in fam.knobs}
    assume(fam.limit(knobs) is None)
    return make_bundle(family, draw(st.sampled_from(fam.form_names)), style, knobs, topic)


@given(bundles())
def test_bundle_parse_print_roundtrip(bundle):
    assert parse_bundle(print_bundle(bundle)) == bundle


@given(bundles(), st.randoms(use_true_random=False))
def test_bundle_parse_canonicalizes_any_atom_order(bundle, rnd):
    atoms = split_atoms(print_bundle(bundle))
    inner = atoms[1:-1]
    rnd.shuffle(inner)
    shuffled = join_atoms([atoms[0], *inner, atoms[-1]])
    assert print_bundle(parse_bundle(shuffled)) == print_bundle(bundle)


@given(bundles())
@settings(max_examples=200)
def test_scene_parse_print_roundtrip(bundle):
    scene = lower(bundle)
    text = print_scene(scene)
    assert parse_scene(text) == scene
    assert print_scene(parse_scene(text)) == text


@given(bundles())
def test_atoms_split_join_roundtrip(bundle):
    text = print_scene(lower(bundle))
    assert join_atoms(split_atoms(text)) == text


@given(bundles(), bundles())
def test_lowering_is_injective_on_distinct_bundles(a, b):
    # Two different bundles must never materialize to the same scene, or materialized_exact
    # would credit a wrong answer.
    if a != b:
        assert lower(a) != lower(b)
