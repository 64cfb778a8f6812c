"""The scene level: components with content bindings, in drawing order.

A scene is `[scene]`, the header atoms (family, form and the style knobs), then components:
`[kind:content.path]` (or `[kind]` for kinds without text) followed by the argument atoms its
kind requires, e.g. `[bracket:brackets.0] [from:0] [to:2]`. The parser checks every binding
and index; the printer writes the canonical form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from svglm.dsl.atoms import Atom, DSLError, join_atoms, split_atoms
from svglm.dsl.schema import COMPONENT_ARGS, FAMILIES, STYLE

PATH_RE = re.compile(r"[a-z][a-z_]*(\.[0-9]+)?")
# Kinds that draw no text of their own and so carry no content path.
PATHLESS = {"arrow"}
FAMILY_KINDS = {
    "memory_map": {"title", "subtitle", "segment", "bracket", "card", "footer"},
    "timeline": {"title", "subtitle", "stage", "arrow", "footer"},
    "system_diagram": {"title", "subtitle", "stage", "arrow", "link", "terminal", "footer"},
}
# Components whose from/to refer to other components, and the kind they index.
INDEXED_KIND = {"bracket": "segment", "arrow": "stage", "link": "stage"}


@dataclass(frozen=True)
class Component:
    kind: str
    path: str | None
    args: tuple[tuple[str, int], ...] = ()

    def arg(self, name: str) -> int:
        return dict(self.args)[name]


@dataclass(frozen=True)
class Scene:
    family: str
    form: str
    style: tuple[tuple[str, str], ...]
    components: tuple[Component, ...]

    def style_value(self, knob: str) -> str:
        return dict(self.style)[knob]

    def of_kind(self, kind: str) -> list[Component]:
        return [c for c in self.components if c.kind == kind]


HEADER = ("family", "form", *STYLE)


def parse_scene(text: str) -> Scene:
    atoms = split_atoms(text)
    if len(atoms) < 2 or atoms[0] != Atom("scene") or atoms[-1] != Atom("scene", closing=True):
        raise DSLError("a scene starts with [scene] and ends with [/scene]")
    body = atoms[1:-1]
    if len(body) < len(HEADER):
        raise DSLError("a scene needs the header atoms " + " ".join(f"[{h}:...]" for h in HEADER))
    header = {}
    for expected, atom in zip(HEADER, body, strict=False):
        if atom.name != expected or atom.value is None:
            raise DSLError(f"expected [{expected}:...] in the scene header, got {atom}")
        header[expected] = atom.value
    family = FAMILIES.get(header["family"])
    if family is None:
        raise DSLError(f"unknown family [family:{header['family']}]")
    if header["form"] not in family.forms:
        raise DSLError(f"unknown form [form:{header['form']}] for family {family.name}")
    for knob, values in STYLE.items():
        if header[knob] not in values:
            raise DSLError(f"unknown value [{knob}:{header[knob]}]")

    components: list[Component] = []
    rest = body[len(HEADER) :]
    i = 0
    while i < len(rest):
        atom = rest[i]
        kind = atom.name
        if kind not in FAMILY_KINDS[family.name] or atom.closing:
            raise DSLError(f"unexpected atom {atom} in a {family.name} scene")
        if (kind in PATHLESS) != (atom.value is None):
            need = "no content path" if kind in PATHLESS else "a content path"
            raise DSLError(f"{atom}: [{kind}] takes {need}")
        if atom.value is not None and not PATH_RE.fullmatch(atom.value):
            raise DSLError(f"{atom}: bad content path")
        args = []
        for arg in COMPONENT_ARGS[kind]:
            i += 1
            if i >= len(rest) or rest[i].name != arg or rest[i].value is None:
                raise DSLError(f"{atom} must be followed by [{arg}:N]")
            if not rest[i].value.isdigit():
                raise DSLError(f"{rest[i]}: index must be an integer")
            args.append((arg, int(rest[i].value)))
        components.append(Component(kind, atom.value, tuple(args)))
        i += 1
    scene = Scene(
        family.name, header["form"], tuple((k, header[k]) for k in STYLE), tuple(components)
    )
    _check_indices(scene)
    return scene


def _check_indices(scene: Scene) -> None:
    for comp in scene.components:
        target = INDEXED_KIND.get(comp.kind)
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
