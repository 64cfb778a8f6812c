"""The bundle level: routing and topology only (family, form, style knobs, the family's knobs).

`parse_bundle` is strict: every knob exactly once, no unknown atom, no knob from another
family, no value out of range, no combination the family cannot draw. `print_bundle` writes
the one canonical form.
"""

from __future__ import annotations

from svglm.dsl.atoms import Atom, join_atoms, split_atoms
from svglm.dsl.families import FAMILIES
from svglm.dsl.schema import STYLE, Bundle
from svglm.errors import DSLError


def make_bundle(
    family: str,
    form: str,
    style: dict[str, str],
    knobs: dict[str, int | str],
    topic: str | None = None,
) -> Bundle:
    """Build a bundle from plain dicts, checking it the same way the parser does."""
    atoms = [Atom("bundle"), Atom("family", family), Atom("form", form)]
    atoms += [Atom("topic", topic)] if topic else []
    atoms += [Atom(k, v) for k, v in style.items()] + [Atom(k, str(n)) for k, n in knobs.items()]
    return parse_bundle(join_atoms(atoms + [Atom("bundle", closing=True)]))


def parse_bundle(text: str) -> Bundle:
    atoms = split_atoms(text)
    if len(atoms) < 2 or atoms[0] != Atom("bundle") or atoms[-1] != Atom("bundle", closing=True):
        raise DSLError("a bundle starts with [bundle] and ends with [/bundle]")
    seen: dict[str, str] = {}
    for atom in atoms[1:-1]:
        if atom.value is None or atom.closing:
            raise DSLError(f"unexpected atom {atom} inside a bundle")
        if atom.name in seen:
            raise DSLError(f"duplicate atom {atom}")
        seen[atom.name] = atom.value

    family = FAMILIES.get(seen.pop("family", ""))
    if family is None:
        raise DSLError(f"missing or unknown family in {text[:80]!r}")
    form = seen.pop("form", None)
    if form not in family.form_names:
        raise DSLError(f"unknown form [form:{form}] for family {family.name}")
    topic = seen.pop("topic", None)
    if topic is not None and topic not in {t.name for t in family.topics}:
        raise DSLError(f"[topic:{topic}] is not a topic of family {family.name}")
    style = []
    for knob, values in STYLE.items():
        value = seen.pop(knob, None)
        if value is None:
            raise DSLError(f"missing [{knob}:...] atom")
        if value not in values:
            raise DSLError(f"unknown value [{knob}:{value}]")
        style.append((knob, value))
    knobs = []
    for knob in family.knobs:
        raw = seen.pop(knob.name, None)
        if raw is None:
            raise DSLError(f"missing [{knob.name}:...] atom for family {family.name}")
        value = knob.parse(raw)
        if value is None:
            raise DSLError(
                f"[{knob.name}:{raw}] is not one of {knob.describe()} for family {family.name}"
            )
        knobs.append((knob.name, value))
    if seen:
        knob, value = next(iter(seen.items()))
        raise DSLError(f"atom [{knob}:{value}] does not belong to family {family.name}")
    if (why := family.limit(dict(knobs))) is not None:
        raise DSLError(f"{family.name}: {why}")
    if topic is not None:  # a topic's content fixes its counts
        for knob, n in family.shape(family.topic(topic).pack).items():
            if dict(knobs)[knob] != n:
                raise DSLError(f"[{knob}:{dict(knobs)[knob]}] but topic {topic} has {n}")
    return Bundle(family.name, form, tuple(style), tuple(knobs), topic)


def print_bundle(bundle: Bundle) -> str:
    atoms = [Atom("bundle"), Atom("family", bundle.family), Atom("form", bundle.form)]
    atoms += [Atom("topic", bundle.topic)] if bundle.topic else []
    atoms += [Atom(k, v) for k, v in bundle.style]
    atoms += [Atom(k, str(v)) for k, v in bundle.knobs]
    return join_atoms(atoms + [Atom("bundle", closing=True)])
