"""The scene level: components with content bindings, in drawing order.

A scene is `[scene]`, the header atoms (family, form and the style knobs), then components:
`[kind:content.path]` (or `[kind]` for kinds without text) followed by the argument atoms its
kind requires, e.g. `[bracket:brackets.0] [from:0] [to:2]`. Which kinds a family has comes
from its module; the parser checks every binding and index, the printer writes the canonical
form.
"""

from __future__ import annotations

import re

from svglm.dsl.atoms import Atom, join_atoms, split_atoms
from svglm.dsl.families import FAMILIES
from svglm.dsl.family import DiagramFamily
from svglm.dsl.schema import STYLE, Component, Scene
from svglm.errors import DSLError

PATH_RE = re.compile(r"[a-z][a-z_]*(\.[0-9]+)?")
HEADER = ("family", "form", *STYLE)


def parse_scene(text: str) -> Scene:
    atoms = split_atoms(text)
    if len(atoms) < 2 or atoms[0] != Atom("scene") or atoms[-1] != Atom("scene", closing=True):
        raise DSLError("a scene starts with [scene] and ends with [/scene]")
    body = atoms[1:-1]
    header = _parse_header(body[: len(HEADER)])
    family = FAMILIES[header["family"]]
    components = _parse_components(family, body[len(HEADER) :])
    style = tuple((k, header[k]) for k in STYLE)
    scene = Scene(family.name, header["form"], style, tuple(components))
    _check_indices(scene)
    return scene


def _parse_header(atoms: list[Atom]) -> dict[str, str]:
    """`[family:..] [form:..]` and the style knobs, in exactly that order."""
    if len(atoms) < len(HEADER):
        raise DSLError("a scene needs the header atoms " + " ".join(f"[{h}:...]" for h in HEADER))
    header = {}
    for expected, atom in zip(HEADER, atoms, strict=True):
        if atom.name != expected or atom.value is None:
            raise DSLError(f"expected [{expected}:...] in the scene header, got {atom}")
        header[expected] = atom.value
    family = FAMILIES.get(header["family"])
    if family is None:
        raise DSLError(f"unknown family [family:{header['family']}]")
    if header["form"] not in family.form_names:
        raise DSLError(f"unknown form [form:{header['form']}] for family {family.name}")
    for knob, values in STYLE.items():
        if header[knob] not in values:
            raise DSLError(f"unknown value [{knob}:{header[knob]}]")
    return header


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
    atoms += [Atom(k, v) for k, v in scene.style]
    for comp in scene.components:
        atoms.append(Atom(comp.kind, comp.path))
        atoms += [Atom(name, str(index)) for name, index in comp.args]
    return join_atoms(atoms + [Atom("scene", closing=True)])
