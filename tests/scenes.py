"""Bundles that exercise every family and form in every theme: knobs at their minimum, at their
maximum and at seeded random values, with tone, density and background rotated so that every
value is drawn somewhere. Golden files pin the minimum and maximum; render checks run on all.
`topic_bundles` does the same for every topic's own content."""

from __future__ import annotations

import random

from svglm.dsl.bundle import make_bundle
from svglm.dsl.families import FAMILIES
from svglm.dsl.schema import STYLE, Bundle


def largest(family) -> dict:
    """Every knob at its last choice, backing off the knobs the family limits together."""
    knobs = {k.name: k.choices()[-1] for k in family.knobs}
    for knob in reversed(family.knobs):
        while family.limit(knobs) is not None and knobs[knob.name] != knob.choices()[0]:
            knobs[knob.name] = knob.choices()[knob.choices().index(knobs[knob.name]) - 1]
    return knobs


def random_knobs(family, rng: random.Random, fixed: dict | None = None) -> dict:
    """Random knob values (those in `fixed` kept) that the family can draw."""
    while True:
        knobs = {k.name: rng.choice(k.choices()) for k in family.knobs} | (fixed or {})
        if family.limit(knobs) is None:
            return knobs


def style(theme: str, rotation: int) -> dict[str, str]:
    rest = {k: v[rotation % len(v)] for k, v in STYLE.items() if k != "theme"}
    return {"theme": theme, **rest}


def every_form(levels: tuple[str, ...] = ("min", "max", "random")) -> list[tuple[str, Bundle]]:
    """(id, bundle) pairs such as `timeline__stage_sequence__paper_editorial__max`."""
    rng = random.Random(0)
    out = []
    for k, (name, family) in enumerate(FAMILIES.items()):
        for j, form in enumerate(family.form_names):
            for t, theme in enumerate(STYLE["theme"]):
                picks = {
                    "min": {kn.name: kn.choices()[0] for kn in family.knobs},
                    "max": largest(family),
                    "random": random_knobs(family, rng),
                }
                for level in levels:
                    bundle = make_bundle(name, form, style(theme, k + j + t), picks[level])
                    out.append((f"{name}__{form}__{theme}__{level}", bundle))
    return out


def topic_bundles() -> list[tuple[str, Bundle]]:
    """Every topic in every form of its family, the presentation knobs at random."""
    rng = random.Random(1)
    out = []
    for name, family in FAMILIES.items():
        for t, topic in enumerate(family.topics):
            shape = family.shape(topic.pack)
            for j, form in enumerate(family.form_names):
                knobs = random_knobs(family, rng, shape)
                theme = STYLE["theme"][(t + j) % len(STYLE["theme"])]
                bundle = make_bundle(name, form, style(theme, t + 2 * j), knobs, topic.name)
                out.append((f"{topic.name}__{form}", bundle))
    return out
