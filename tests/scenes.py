"""One bundle per family/form, with counts at their maxima: the golden and render fixtures."""

from __future__ import annotations

from svglm.dsl.bundle import Bundle, make_bundle
from svglm.dsl.schema import FAMILIES, STYLE


def every_form() -> list[tuple[str, Bundle]]:
    out = []
    for k, (family, fam) in enumerate(sorted(FAMILIES.items())):
        for j, form in enumerate(fam.forms):
            i = k + j  # rotate styles so every theme, tone and background is drawn somewhere
            style = {knob: values[i % len(values)] for knob, values in STYLE.items()}
            counts = {name: high for name, _, high in fam.counts}
            out.append((f"{family}__{form}", make_bundle(family, form, style, counts)))
    return out
