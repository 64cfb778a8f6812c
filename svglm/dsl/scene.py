"""The scene level: components with content bindings, in drawing order.

A scene is `[scene]`, a header, then components. The header is `[family:..] [form:..]`, then
`[topic:..]` when the scene binds a topic's content, the four style knobs, and the family's
enumerated knobs (presentation that draws no component, such as a bar chart's order). A
component is `[kind:content.path]` (or `[kind]` for kinds without text) followed by the
argument atoms its kind requires, e.g. `[bracket:brackets.0] [from:0] [to:2]`. Which kinds a
family has comes from its module; the parser checks every binding and index, the printer writes
the canonical form.
"""

from __future__ import annotations

import re

from svglm.dsl.atoms import Atom, join_atoms, split_atoms
from svglm.dsl.families import FAMILIES
from svglm.dsl.family import DiagramFamily
from svglm.dsl.schema import STYLE, Component, Scene
from svglm.errors import DSLError

PATH_RE = re.compile(r"[a-z][a-z_]*(\.[0-9]+)?")


def parse_scene(text: str) -> Scene:
    atoms = split_atoms(text)
    if len(atoms) < 2 or atoms[0] != Atom("scene") or atoms[-1] != Atom("scene", closing=True):
        raise DSLError("a scene starts with [scene] and ends with [/scene]")
    family, form, topic, style, settings, body = _parse_header(atoms[1:-1])
    components = _parse_components(family, body)
    scene = Scene(family.name, form, style, tuple(components), topic, settings)
    _check_indices(scene)
    return scene


def _take(atoms: list[Atom], name: str) -> str:
    """The value of the next atom, which must be `[name:...]`."""
    if not atoms or atoms[0].name != name or atoms[0].value is None or atoms[0].closing:
        got = atoms[0] if atoms else "the end"
        raise DSLError(f"expected [{name}:...] in the scene header, got {got}")
    return atoms.pop(0).value


def _parse_header(
    atoms: list[Atom],
) -> tuple[DiagramFamily, str, str | None, tuple, tuple, list[Atom]]:
    """family, form, the optional topic, the style knobs and the family's settings, in that
    order; returns them with the atoms that follow."""
    atoms = list(atoms)
    family = FAMILIES.get(_take(atoms, "family"))
    if family is None:
        raise DSLError("unknown family in the scene header")
    form = _take(atoms, "form")
    if form not in family.form_names:
        raise DSLError(f"unknown form [form:{form}] for family {family.name}")
    topic = None
    if atoms and atoms[0].name == "topic":
        topic = _take(atoms, "topic")
        if topic not in {t.name for t in family.topics}:
            raise DSLError(f"[topic:{topic}] is not a topic of family {family.name}")
    style = []
    for knob, values in STYLE.items():
        value = _take(atoms, knob)
        if value not in values:
            raise DSLError(f"unknown value [{knob}:{value}]")
        style.append((knob, value))
    settings = []
    for knob in family.settings:
        value = _take(atoms, knob.name)
        if knob.parse(value) is None:
            raise DSLError(f"[{knob.name}:{value}] is not one of {knob.describe()}")
        settings.append((knob.name, value))
    return family, form, topic, tuple(style), tuple(settings), atoms


def _parse_components(family: DiagramFamily, atoms: list[Atom]) -> list[Component]:
    """`[kind:path]` or `[kind]`, each followed by the argument atoms its kind takes."""
    components: list[Component] = []
    i = 0
    while i < len(atoms):
        atom = atoms[i]
        kind = family.kind(atom.name)
        if kind is None or atom.closing:
            raise DSLError(f"unexpected atom {atom} in a {family.name} scene")
        if kind.path != (atom.value is not None):
            need = "a content path" if kind.path else "no content path"
            raise DSLError(f"{atom}: [{kind.name}] takes {need}")
        if atom.value is not None and not PATH_RE.fullmatch(atom.value):
            raise DSLError(f"{atom}: bad content path")
        args = []
        for arg in kind.args:
            i += 1
            if i >= len(atoms) or atoms[i].name != arg or atoms[i].value is None:
                raise DSLError(f"{atom} must be followed by [{arg}:N]")
            if not atoms[i].value.isdigit():
                raise DSLError(f"{atoms[i]}: index must be an integer")
            args.append((arg, int(atoms[i].value)))
        components.append(Component(kind.name, atom.value, tuple(args)))
        i += 1
    return components


def _check_indices(scene: Scene) -> None:
    family = FAMILIES[scene.family]
    for comp in scene.components:
        target = family.kind(comp.kind).indexes
        if target is None:
            continue
        n = len(scene.of_kind(target))
        for name, index in comp.args:
            if index >= n:
                raise DSLError(f"[{comp.kind}] [{name}:{index}] points past the {n} {target}s")


def print_scene(scene: Scene) -> str:
    atoms = [Atom("scene"), Atom("family", scene.family), Atom("form", scene.form)]
    if scene.topic is not None:
        atoms.append(Atom("topic", scene.topic))
    atoms += [Atom(k, v) for k, v in scene.style]
    atoms += [Atom(k, v) for k, v in scene.settings]
    for comp in scene.components:
        atoms.append(Atom(comp.kind, comp.path))
        atoms += [Atom(name, str(index)) for name, index in comp.args]
    return join_atoms(atoms + [Atom("scene", closing=True)])
