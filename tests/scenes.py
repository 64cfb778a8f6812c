"""Bundles that exercise every family and form: knobs at their minimum, at their maximum and at
seeded random values, with styles rotated so that every theme, tone, density and background is
drawn somewhere. Golden files pin the minimum and maximum; render checks run on all of them."""

from __future__ import annotations

import random

from svglm.dsl.bundle import make_bundle
from svglm.dsl.families import FAMILIES
from svglm.dsl.schema import STYLE, Bundle

RANDOM_PER_FORM = 3


def _bundle(family: str, form: str, rotation: int, counts: dict[str, int]) -> Bundle:
    style = {knob: values[rotation % len(values)] for knob, values in STYLE.items()}
    return make_bundle(family, form, style, counts)


def every_form(levels: tuple[str, ...] = ("min", "max", "random")) -> list[tuple[str, Bundle]]:
    """(id, bundle) pairs such as `timeline__stage_sequence__max`."""
    rng = random.Random(0)
    out = []
    for k, (name, family) in enumerate(FAMILIES.items()):
        for j, form in enumerate(family.form_names):
            picks = {
                "min": [{kn.name: kn.low for kn in family.knobs}],
                "max": [{kn.name: kn.high for kn in family.knobs}],
                "random": [
                    {kn.name: rng.randint(kn.low, kn.high) for kn in family.knobs}
                    for _ in range(RANDOM_PER_FORM)
                ],
            }
            for level in levels:
                for r, counts in enumerate(picks[level]):
                    tag = f"{level}{r}" if level == "random" else level
                    out.append((f"{name}__{form}__{tag}", _bundle(name, form, k + j + r, counts)))
    return out
