"""The scene task: diagrams and infographics through the bundle and scene DSL levels.

Prompt surfaces:
* explicit  - the prompt names every target value, in a shuffled order; the model must
              canonicalize (order, completeness) and close the block.
* routebook - `[intent] [topic:..] [goal:..] [audience:..] [/intent]` names what the picture is
              for; the model must route topic -> family, goal -> form, audience -> density.

The hidden holdout is made of (family, form, theme, tone) combinations that never occur in
train, so it measures composition, not recall.
"""

from __future__ import annotations

import random
from functools import cached_property
from typing import Any

from svglm.dsl.atoms import Atom, join_atoms, parse_atom
from svglm.dsl.bundle import make_bundle, parse_bundle, print_bundle
from svglm.dsl.compiler import compile_scene
from svglm.dsl.families import FAMILIES
from svglm.dsl.lower import lower
from svglm.dsl.scene import parse_scene, print_scene
from svglm.dsl.schema import STYLE, Bundle, Scene
from svglm.dsl.vocabulary import closed_atoms, language_reference
from svglm.errors import ConfigError, DataError, DSLError
from svglm.tasks.base import Example, GeneratedData

# The routebook: what an intent means. Topics route to families and goals to forms (both
# declared by the family modules); the audience routes to the density knob.
TOPICS = {topic: f.name for f in FAMILIES.values() for topic in f.topics}
GOALS = {form.goal: form.name for f in FAMILIES.values() for form in f.forms}
AUDIENCES = {"engineers": "compact", "team": "balanced", "executives": "airy"}
SURFACES = ("explicit", "routebook")
LEVELS = ("bundle", "scene")
COMBO_KNOBS = ("family", "form", "theme", "tone")


class SceneTask:
    name = "scene"

    def __init__(
        self,
        level: str = "bundle",
        families: list[str] | None = None,
        surfaces: list[str] | None = None,
        holdout_fraction: float = 0.12,
    ):
        if level not in LEVELS:
            raise ConfigError(f"scene level must be one of {LEVELS} (got {level!r})")
        self.level = level
        self.families = list(families or FAMILIES)
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown:
            raise ConfigError(f"unknown families {unknown} (known: {', '.join(FAMILIES)})")
        self.surfaces = list(surfaces or SURFACES)
        if any(s not in SURFACES for s in self.surfaces):
            raise ConfigError(f"scene surfaces must come from {SURFACES} (got {self.surfaces})")
        self.holdout_fraction = holdout_fraction
        self.opener, self.closer = f"[{level}]", f"[/{level}]"

    # -- vocabulary ---------------------------------------------------------------------------
    def reserved_atoms(self) -> list[str]:
        atoms = closed_atoms() + ["[task:scene]", "[intent]", "[/intent]"]
        atoms += [f"[topic:{t}]" for t in TOPICS] + [f"[goal:{g}]" for g in GOALS]
        return atoms + [f"[audience:{a}]" for a in AUDIENCES]

    # -- generation ---------------------------------------------------------------------------
    def _combos(self) -> list[tuple[str, ...]]:
        return [
            (f, form, theme, tone)
            for f in self.families
            for form in FAMILIES[f].form_names
            for theme in STYLE["theme"]
            for tone in STYLE["tone"]
        ]

    def _holdout(self, rng: random.Random) -> set[tuple[str, ...]]:
        combos = self._combos()
        n = max(1, round(len(combos) * self.holdout_fraction))
        while True:  # keep every single value visible in train: only the combination is new
            held = set(rng.sample(combos, n))
            seen = [c for c in combos if c not in held]
            if all({c[i] for c in seen} == {c[i] for c in combos} for i in range(len(COMBO_KNOBS))):
                return held

    def _random_bundle(self, rng: random.Random, combo: tuple[str, ...]) -> Bundle:
        family, form, theme, tone = combo
        style = {
            "theme": theme,
            "tone": tone,
            "density": rng.choice(STYLE["density"]),
            "background": rng.choice(STYLE["background"]),
        }
        counts = {k.name: rng.randint(k.low, k.high) for k in FAMILIES[family].knobs}
        return make_bundle(family, form, style, counts)

    def _prompt(self, rng: random.Random, bundle: Bundle, surface: str) -> str:
        counts = [Atom(k, str(n)) for k, n in bundle.counts]
        if surface == "explicit":
            atoms = [Atom("family", bundle.family), Atom("form", bundle.form)]
            atoms += [Atom(k, v) for k, v in bundle.style] + counts
            rng.shuffle(atoms)
            head: list[Atom] = []
        else:
            family = FAMILIES[bundle.family]
            topic = rng.choice(family.topics)
            goal = family.form(bundle.form).goal
            audience = next(a for a, d in AUDIENCES.items() if d == bundle.style_value("density"))
            head = [
                Atom("intent"),
                Atom("topic", topic),
                Atom("goal", goal),
                Atom("audience", audience),
                Atom("intent", closing=True),
            ]
            atoms = [Atom(k, v) for k, v in bundle.style if k != "density"] + counts
            rng.shuffle(atoms)
        return join_atoms([Atom("task", "scene"), *head, *atoms, Atom("OUT")])

    def _target(self, bundle: Bundle) -> str:
        return print_bundle(bundle) if self.level == "bundle" else print_scene(lower(bundle))

    def generate(self, seed: int, sizes: dict[str, int]) -> GeneratedData:
        rng = random.Random(seed)
        held = self._holdout(rng)
        seen_combos = [c for c in self._combos() if c not in held]
        held_combos = sorted(held)
        splits: dict[str, list[Example]] = {}
        used: set[str] = set()  # rows are unique across all splits
        for split in ("train", "dev", "test", "holdout"):
            pool = held_combos if split == "holdout" else seen_combos
            rows: list[Example] = []
            attempts = 0
            while len(rows) < sizes[split]:
                attempts += 1
                if attempts > 50 * sizes[split] + 1000:
                    raise DataError(
                        f"cannot make {sizes[split]} unique {split} rows; lower the size"
                    )
                combo = rng.choice(pool)
                surface = self.surfaces[len(rows) % len(self.surfaces)]
                bundle = self._random_bundle(rng, combo)
                ex = Example(
                    self._prompt(rng, bundle, surface),
                    self._target(bundle),
                    bundle.family,
                    bundle.form,
                    surface,
                    combo,
                )
                if ex.row() in used:
                    continue
                used.add(ex.row())
                rows.append(ex)
            splits[split] = rows
        return GeneratedData(splits, {f: FAMILIES[f].content for f in self.families}, held_combos)

    # -- checking and compiling ---------------------------------------------------------------
    def _parse(self, block: str) -> Bundle | Scene:
        return parse_bundle(block) if self.level == "bundle" else parse_scene(block)

    def canonical(self, block: str) -> str:
        parsed = self._parse(block)
        return print_bundle(parsed) if self.level == "bundle" else print_scene(parsed)

    def viable_prefix(self, unfinished: str) -> bool:
        """An unclosed block could still be finished if its whole atoms are well-formed and
        there are fewer of them than in the longest block this task makes: a block that has
        run past that length (a repetition loop) cannot be saved by a larger budget."""
        words = unfinished.split(" ")[:-1]  # the last word may be an atom cut mid-way
        try:
            atoms = [parse_atom(w) for w in words]
        except DSLError:
            return False
        return bool(atoms) and str(atoms[0]) == self.opener and len(atoms) < self._longest

    @cached_property
    def _longest(self) -> int:
        """Atoms in the longest target: every knob at its maximum, in every family and form."""
        most = 0
        for name in self.families:
            family = FAMILIES[name]
            counts = {k.name: k.high for k in family.knobs}
            style = {knob: values[0] for knob, values in STYLE.items()}
            for form in family.form_names:
                most = max(most, len(self._target(make_bundle(name, form, style, counts)).split()))
        return most

    def materialize(self, canonical_block: str) -> str:
        if self.level == "scene":
            return canonical_block
        return print_scene(lower(parse_bundle(canonical_block)))

    def compile_svg(self, canonical_block: str, content: dict[str, Any]) -> str:
        scene = parse_scene(self.materialize(canonical_block))
        return compile_scene(scene, content[scene.family])

    def classify_miss(self, canonical_block: str, expected: str) -> str:
        got, want = self._parse(canonical_block), self._parse(expected)
        if got.family != want.family:
            return "family_miss"
        if got.form != want.form:
            return "form_miss"
        if got.style != want.style:
            return "style_miss"
        if self.level == "bundle":
            return "topology_miss"
        got_kinds = [c.kind for c in got.components]
        return "topology_miss" if got_kinds != [c.kind for c in want.components] else "content_miss"

    def coverage_keys(self, example: Example) -> list[str]:
        bundle = parse_bundle(example.target) if self.level == "bundle" else None
        keys = [f"family:{example.family}", f"form:{example.form}", f"surface:{example.surface}"]
        if bundle is not None:
            keys += [f"{k}:{v}" for k, v in bundle.style] + [f"{k}:{n}" for k, n in bundle.counts]
        else:
            scene = parse_scene(example.target)
            keys += [f"{k}:{v}" for k, v in scene.style]
        return keys

    def reference(self) -> str:
        surfaces = ", ".join(f"`{s}`" for s in SURFACES)
        audiences = ", ".join(f"`{a}` -> `{d}`" for a, d in AUDIENCES.items())
        return (
            f"Targets: `[bundle] ... [/bundle]` or `[scene] ... [/scene]` (`task.level`).\n"
            f"Prompt surfaces: {surfaces}. Routebook audiences (to density): {audiences}.\n"
            f"Reserved atoms: {len(self.reserved_atoms())}.\n\n" + language_reference()
        )
