"""The scene task: diagrams and infographics through the bundle and scene DSL levels.

Every prompt names a topic: a subject with content of its own shape (a memory map of 5
segments in 2 groups, a timeline of 7 stages). The topic decides the family and the counts its
content fixes; the prompt chooses the rest or leaves it to the defaults (the family's first
form, the first value of each style knob). A bundle target names the topic and its counts; a
scene target lists every component bound to the topic's content, so the model must recall the
topic's structure and combine it with the requested form and style.

Prompt surfaces, from easiest to hardest:
* anchor    - every target value as atoms, in canonical order;
* explicit  - the same atoms, shuffled;
* routebook - `[intent] [topic:..] [goal:..] [audience:..] [/intent]` and style atoms; the
              model routes topic -> family and counts, goal -> form, audience -> density;
* natural   - the same request as a sentence (svglm/tasks/phrasing.py);
* pair      - two sentences that differ in one clue (the form, or a topic of another family)
              and so map to different targets;
* edit      - a picture described in atoms, then `[edit:knob.value]` or an instruction
              ("make it airier"); the target is the picture with that one change.

Held out of train, each probed on its own: attribute combinations (bundle: family, form,
theme, tone; scene: topic, form, theme), sentence templates, and synonyms never seen at all.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from svglm.dsl.atoms import Atom, join_atoms, parse_atom
from svglm.dsl.bundle import make_bundle, parse_bundle, print_bundle
from svglm.dsl.compiler import compile_scene
from svglm.dsl.families import FAMILIES
from svglm.dsl.family import DiagramFamily
from svglm.dsl.lower import lower
from svglm.dsl.scene import parse_scene, print_scene
from svglm.dsl.schema import STYLE, Bundle, Scene
from svglm.dsl.vocabulary import closed_atoms, language_reference
from svglm.errors import ConfigError, DataError, DSLError
from svglm.tasks import phrasing
from svglm.tasks.base import CoverageSpace, Example, GeneratedData
from svglm.tasks.grammar import lark_grammar

AUDIENCES = {"engineers": "compact", "team": "balanced", "executives": "airy"}
SURFACES = ("anchor", "explicit", "routebook", "natural", "pair", "edit")
LEVELS = ("bundle", "scene")
COMBO_KNOBS = {"bundle": ("family", "form", "theme", "tone"), "scene": ("topic", "form", "theme")}
EDITABLE = ("form", "theme", "tone", "density", "background")
HELD_KINDS = ("combo", "template", "oov")  # what a held-out row holds out
# Attribute pairs whose every allowed cell train must cover (coverage.json).
COVERAGE_PAIRS = (
    ("family", "theme"),
    ("family", "tone"),
    ("form", "theme"),
    ("form", "tone"),
    ("topic", "density"),
    ("surface", "family"),
)
NEUTRAL = ("a diagram", "a picture")  # asks for no family or form: the topic's default
TOPIC_FAMILY = {t.name: f for f in FAMILIES.values() for t in f.topics}
DEFAULT_STYLE = tuple((knob, values[0]) for knob, values in STYLE.items())


def _style_as_rule(atoms: list[str]) -> list[str]:
    """A printed target's atoms with its run of style atoms replaced by the rule `style`."""
    at = next(i for i, a in enumerate(atoms) if parse_atom(a).name in STYLE)
    return [*atoms[:at], "style", *atoms[at + len(STYLE) :]]


@dataclass(frozen=True)
class Spec:
    """Everything a target is made of, before it is printed at either level."""

    family: str
    form: str
    topic: str
    style: tuple[tuple[str, str], ...]  # in STYLE order
    knobs: tuple[tuple[str, Any], ...]  # in the family's order

    def value(self, name: str) -> Any:
        return {
            "family": self.family,
            "form": self.form,
            "topic": self.topic,
            **dict(self.style),
            **dict(self.knobs),
        }[name]

    def bundle(self) -> Bundle:
        return make_bundle(self.family, self.form, dict(self.style), dict(self.knobs), self.topic)

    def with_value(self, name: str, value: Any) -> Spec:
        if name == "form":
            return replace(self, form=value)
        if name in STYLE:
            return replace(self, style=tuple((k, value if k == name else v) for k, v in self.style))
        return replace(self, knobs=tuple((k, value if k == name else v) for k, v in self.knobs))


class Pool:
    """(combination, topic) entries a split draws its targets from, in shuffled passes, so that
    every entry comes up as often as any other even in a small split."""

    def __init__(self, entries: list[tuple[tuple[str, ...], str]], rng: random.Random):
        self.entries, self.rng, self.queue = entries, rng, []
        self.combos = {combo for combo, _ in entries}

    def draw(self) -> tuple[tuple[str, ...], str]:
        if not self.queue:
            self.queue = self.rng.sample(self.entries, len(self.entries))
        return self.queue.pop()

    def __contains__(self, combo: tuple[str, ...]) -> bool:
        return combo in self.combos


class SceneTask:
    name = "scene"
    closed_targets = False  # content keys and free text go through BPE
    scores_ink = False

    def __init__(
        self,
        level: str = "bundle",
        families: list[str] | None = None,
        surfaces: dict[str, float] | None = None,
        holdout_fraction: float = 0.12,
    ):
        if level not in LEVELS:
            raise ConfigError(f"scene level must be one of {LEVELS} (got {level!r})")
        self.level = level
        self.families = list(families or FAMILIES)
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown:
            raise ConfigError(f"unknown families {unknown} (known: {', '.join(FAMILIES)})")
        self.surfaces = dict(surfaces or {s: 1.0 for s in SURFACES})
        if any(s not in SURFACES for s in self.surfaces):
            raise ConfigError(
                f"scene surfaces must come from {SURFACES} (got {list(self.surfaces)})"
            )
        self.holdout_fraction = holdout_fraction
        self.opener, self.closer = f"[{level}]", f"[/{level}]"

    # -- vocabulary ---------------------------------------------------------------------------
    def reserved_atoms(self) -> list[str]:
        atoms = closed_atoms() + ["[task:scene]", "[intent]", "[/intent]"]
        atoms += [f"[goal:{form.goal}]" for f in FAMILIES.values() for form in f.forms]
        atoms += [f"[audience:{a}]" for a in AUDIENCES]
        atoms += [f"[edit:{k}.{v}]" for k, values in STYLE.items() for v in values]
        atoms += sorted({f"[edit:form.{f}]" for fam in FAMILIES.values() for f in fam.form_names})
        return atoms

    # -- the combination space and the holdout ------------------------------------------------
    @cached_property
    def topics(self) -> list[str]:
        return [t.name for f in self.families for t in FAMILIES[f].topics]

    def combos(self) -> list[tuple[str, ...]]:
        themes, tones = STYLE["theme"], STYLE["tone"]
        if self.level == "bundle":
            return [
                (f, form, th, to)
                for f in self.families
                for form in FAMILIES[f].form_names
                for th in themes
                for to in tones
            ]
        return [
            (t, form, th)
            for t in self.topics
            for form in TOPIC_FAMILY[t].form_names
            for th in themes
        ]

    def holdout(self, rng: random.Random) -> set[tuple[str, ...]]:
        """The combinations kept out of train: the same share of every family's, so that each
        family is probed on its own recombinations."""
        by_family: dict[str, list[tuple[str, ...]]] = {}
        for combo in self.combos():
            family = TOPIC_FAMILY[combo[0]].name if self.level == "scene" else combo[0]
            by_family.setdefault(family, []).append(combo)
        combos = self.combos()
        for _ in range(1000):  # every single value stays in train: only the combination is new
            held = {
                c
                for group in by_family.values()
                for c in rng.sample(group, max(1, round(len(group) * self.holdout_fraction)))
            }
            seen = [c for c in combos if c not in held]
            if all({c[i] for c in seen} == {c[i] for c in combos} for i in range(len(combos[0]))):
                return held
        raise DataError("holdout_fraction too high: some value would vanish from train")

    def pool(self, combos: list[tuple[str, ...]], rng: random.Random) -> Pool:
        """What a split draws from: each combination with each topic that can carry it."""
        if self.level == "scene":  # the topic is part of the combination
            return Pool([(c, c[0]) for c in combos], rng)
        return Pool([(c, t.name) for c in combos for t in FAMILIES[c[0]].topics], rng)

    def combo_of(self, spec: Spec) -> tuple[str, ...]:
        return tuple(str(spec.value(k)) for k in COMBO_KNOBS[self.level])

    # -- a random target ----------------------------------------------------------------------
    def random_spec(self, rng: random.Random, combo: tuple[str, ...], topic: str) -> Spec:
        values = {**dict(zip(COMBO_KNOBS[self.level], combo, strict=True)), "topic": topic}
        family = TOPIC_FAMILY[topic]
        style = {
            "theme": values["theme"],
            "tone": values.get("tone") or rng.choice(STYLE["tone"]),
            "density": rng.choice(STYLE["density"]),
            "background": rng.choice(STYLE["background"]),
        }
        shape = family.shape(family.topic(values["topic"]).pack)
        while True:
            knobs = {k.name: shape.get(k.name, rng.choice(k.choices())) for k in family.knobs}
            if family.limit(knobs) is None:
                break
        return Spec(
            family.name, values["form"], values["topic"], tuple(style.items()), tuple(knobs.items())
        )

    def target(self, spec: Spec) -> str:
        bundle = spec.bundle()
        return print_bundle(bundle) if self.level == "bundle" else print_scene(lower(bundle))

    # -- prompts ------------------------------------------------------------------------------
    def atoms_of(self, spec: Spec) -> list[Atom]:
        """Every value a target is made of, as atoms in canonical order."""
        atoms = [Atom("family", spec.family), Atom("form", spec.form), Atom("topic", spec.topic)]
        atoms += [Atom(k, v) for k, v in spec.style]
        return atoms + [Atom(k, str(v)) for k, v in spec.knobs]

    def prompt_atoms(self, rng: random.Random, spec: Spec, surface: str) -> list[Atom]:
        family = FAMILIES[spec.family]
        if surface == "anchor":
            return self.atoms_of(spec)
        if surface == "explicit":
            atoms = self.atoms_of(spec)
            rng.shuffle(atoms)
            return atoms
        # routebook: the intent routes; what the topic fixes is left for the model to recall
        intent = [Atom("intent"), Atom("topic", spec.topic)]
        if spec.form != family.form_names[0] or rng.random() < 0.5:
            intent.append(Atom("goal", family.form(spec.form).goal))
        density = spec.value("density")
        if density != STYLE["density"][0] or rng.random() < 0.5:
            intent.append(Atom("audience", next(a for a, d in AUDIENCES.items() if d == density)))
        rest = [Atom(k, v) for k, v in spec.style if k != "density"]
        rest += [Atom(k.name, str(spec.value(k.name))) for k in family.knobs if not k.content]
        rng.shuffle(rest)
        return [*intent, Atom("intent", closing=True), *rest]

    def clues(self, rng: random.Random, spec: Spec, oov: bool = False) -> phrasing.Clues:
        """The phrases a sentence uses for a target; a clue with its default value is left out
        half the time (a sentence need not say everything)."""
        family = FAMILIES[spec.family]

        def mentioned(value: Any, default: Any) -> bool:
            return value != default or rng.random() < 0.5

        form = family.form(spec.form)
        if spec.form == family.form_names[0] and rng.random() < 0.5:
            # the family ("a timeline") or nothing at all ("a diagram"): the default form
            what = rng.choice((*family.nouns, *NEUTRAL))
        else:
            what = rng.choice(form.phrases)
        style = []
        # an out-of-vocabulary sentence says its theme or its tone with an unseen synonym
        unseen = rng.choice(sorted(phrasing.OOV)) if oov else None
        for knob in ("theme", "tone", "background"):
            value = spec.value(knob)
            if knob == unseen:
                style.append(rng.choice(phrasing.OOV[knob][value]))
            elif mentioned(value, STYLE[knob][0]):
                style.append(rng.choice(phrasing.PHRASES[knob][value]))
        for knob in family.knobs:
            said = knob.phrases_for(spec.value(knob.name))
            if not knob.content and said and mentioned(spec.value(knob.name), knob.default):
                style.append(rng.choice(said))
        rng.shuffle(style)
        density = spec.value("density")
        audience = (
            rng.choice(phrasing.AUDIENCES[density])
            if mentioned(density, STYLE["density"][0])
            else None
        )
        topic = rng.choice(family.topic(spec.topic).phrases)
        return phrasing.Clues(what, topic, tuple(style), audience)

    def prompt(self, text: list[Atom] | str) -> str:
        """The model-facing prompt for atoms, a sentence, or what a user typed (any case and
        spacing, with or without the task atom and `[OUT]`)."""
        if isinstance(text, list):
            return f"[task:scene] {join_atoms(text)} [OUT]"
        body = " ".join(text.lower().split())
        body = body.removeprefix("[task:scene]").removesuffix("[out]").strip()
        return f"[task:scene] {body} [OUT]"

    # -- examples, surface by surface ---------------------------------------------------------
    def example(self, spec: Spec, prompt: str, surface: str, **meta: Any) -> Example:
        return Example(
            prompt,
            self.target(spec),
            spec.family,
            spec.form,
            surface,
            self.combo_of(spec),
            topic=spec.topic,
            **meta,
        )

    def examples(
        self,
        rng: random.Random,
        surface: str,
        pool: Pool,
        templates: list[int],
        held: str = "",
    ) -> list[Example]:
        """One row (two for a pair) of `surface` whose targets come from `pool`."""
        spec = self.random_spec(rng, *pool.draw())
        if surface in ("anchor", "explicit", "routebook"):
            return [
                self.example(
                    spec, self.prompt(self.prompt_atoms(rng, spec, surface)), surface, heldout=held
                )
            ]
        if surface == "natural":
            template = rng.choice(templates)
            text = phrasing.sentence(rng, template, self.clues(rng, spec, oov=held == "oov"))
            return [self.example(spec, self.prompt(text), surface, template=template, heldout=held)]
        if surface == "pair":
            return self.minimal_pair(rng, spec, pool, templates, held)
        return self.edit(rng, spec, pool, templates, held)

    def minimal_pair(
        self,
        rng: random.Random,
        spec: Spec,
        pool: Pool,
        templates: list[int],
        held: str,
    ) -> list[Example]:
        """Two sentences alike but for one clue, mapping to different targets: the form (same
        family), or the topic (one of another family; both at their default form, asked for
        as "a diagram", with the family's own presentation left at its defaults)."""
        family = FAMILIES[spec.family]
        if rng.random() < 0.5:
            other = spec.with_value(
                "form", rng.choice([f for f in family.form_names if f != spec.form])
            )
            base = self.clues(rng, spec)
            clues = [
                replace(base, what=rng.choice(family.form(s.form).phrases)) for s in (spec, other)
            ]
        else:
            topic = rng.choice(
                [t for t in self.topics if TOPIC_FAMILY[t].name != spec.family] or [spec.topic]
            )
            spec = self.retopic(spec, family, spec.topic)
            other = self.retopic(spec, TOPIC_FAMILY[topic], topic)
            base = replace(self.clues(rng, spec), what=rng.choice(NEUTRAL))
            phrases = [
                rng.choice(TOPIC_FAMILY[s.topic].topic(s.topic).phrases) for s in (spec, other)
            ]
            clues = [replace(base, topic=phrase) for phrase in phrases]
        if other == spec or any(self.combo_of(s) not in pool for s in (spec, other)):
            return self.examples(rng, "natural", pool, templates, held)
        template, seed, pair_id = rng.choice(templates), rng.random(), f"{rng.getrandbits(40):010x}"
        return [
            self.example(
                s,
                self.prompt(phrasing.sentence(random.Random(seed), template, c)),
                "pair",
                template=template,
                heldout=held,
                pair=pair_id,
            )
            for s, c in zip((spec, other), clues, strict=True)
        ]

    def retopic(self, spec: Spec, family: DiagramFamily, topic: str) -> Spec:
        """The same style for `topic`, at its family's default form and default presentation."""
        shape = family.shape(family.topic(topic).pack)
        knobs = {k.name: shape.get(k.name, k.default) for k in family.knobs}
        return Spec(family.name, family.form_names[0], topic, spec.style, tuple(knobs.items()))

    def edit(
        self,
        rng: random.Random,
        spec: Spec,
        pool: Pool,
        templates: list[int],
        held: str,
    ) -> list[Example]:
        """The source picture in atoms, then one change: as an atom or as an instruction."""
        family = FAMILIES[spec.family]
        knob = rng.choice(EDITABLE)
        choices = family.form_names if knob == "form" else STYLE[knob]
        value = rng.choice([v for v in choices if v != spec.value(knob)])
        target = spec.with_value(knob, value)
        if self.combo_of(target) not in pool:
            return self.examples(rng, "natural", pool, templates, held)
        if knob in phrasing.EDITS and rng.random() < 0.5:
            instruction = "then " + rng.choice(phrasing.EDITS[knob][value])
        else:
            instruction = str(Atom("edit", f"{knob}.{value}"))
        source = join_atoms(self.atoms_of(spec))
        return [self.example(target, self.prompt(f"{source} {instruction}"), "edit", heldout=held)]

    # -- generation ---------------------------------------------------------------------------
    def generate(self, seed: int, sizes: dict[str, int]) -> GeneratedData:
        rng = random.Random(seed)
        held = self.holdout(rng)
        seen = [c for c in self.combos() if c not in held]
        train_tpl, held_tpl = phrasing.train_templates(), list(phrasing.HELD_OUT)
        weights = list(self.surfaces.values())
        used: set[str] = set()  # rows are unique across all splits

        def split(
            n: int,
            pool: Pool,
            templates: list[int],
            surfaces: list[str] | None = None,
            held_kind: str = "",
        ) -> list[Example]:
            rows: list[Example] = []
            attempts = 0
            while len(rows) < n:
                attempts += 1
                if attempts > 50 * n + 1000:
                    raise DataError(f"cannot make {n} unique rows; lower the size")
                surface = (
                    rng.choice(surfaces)
                    if surfaces
                    else rng.choices(list(self.surfaces), weights)[0]
                )
                fresh = self.examples(rng, surface, pool, templates, held_kind)
                # a pair comes as two rows, so it cannot fill the last place of a split
                if len(rows) + len(fresh) > n or any(ex.row() in used for ex in fresh):
                    continue
                used.update(ex.row() for ex in fresh)
                rows += fresh
            return rows

        seen_pool, held_pool = self.pool(seen, rng), self.pool(sorted(held), rng)
        splits = {
            name: split(sizes[name], seen_pool, train_tpl) for name in ("train", "dev", "test")
        }
        natural = [s for s in ("natural", "pair") if s in self.surfaces] or ["natural"]
        splits["holdout"] = (
            split(sizes["holdout"], held_pool, train_tpl, held_kind="combo")
            + split(sizes.get("templates", 0), seen_pool, held_tpl, natural, "template")
            + split(sizes.get("oov", 0), seen_pool, train_tpl, ["natural"], "oov")
        )
        content = {
            "families": {f: FAMILIES[f].content for f in self.families},
            "topics": {t: TOPIC_FAMILY[t].topic(t).pack for t in self.topics},
        }
        return GeneratedData(
            splits,
            content,
            sorted(held),
            held_phrasings=[phrasing.template_pattern(i) for i in held_tpl],
            unseen_words=phrasing.unseen_words(),
        )

    # -- checking and compiling ---------------------------------------------------------------
    def _parse(self, block: str) -> Bundle | Scene:
        return parse_bundle(block) if self.level == "bundle" else parse_scene(block)

    def canonical(self, block: str) -> str:
        parsed = self._parse(block)
        return print_bundle(parsed) if self.level == "bundle" else print_scene(parsed)

    def labels(self, block: str) -> dict[str, str]:
        parsed = self._parse(block)
        return {"family": parsed.family, "form": parsed.form, "topic": parsed.topic or ""}

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
        """Atoms in the longest target: every topic, form and presentation at its largest."""
        most = 0
        for topic in self.topics:
            family = TOPIC_FAMILY[topic]
            shape = family.shape(family.topic(topic).pack)
            knobs = {k.name: shape.get(k.name, k.choices()[-1]) for k in family.knobs}
            style = {knob: values[0] for knob, values in STYLE.items()}
            for form in family.form_names:
                spec = Spec(family.name, form, topic, tuple(style.items()), tuple(knobs.items()))
                most = max(most, len(self.target(spec).split()))
        return most

    def materialize(self, canonical_block: str) -> str:
        if self.level == "scene":
            return canonical_block
        return print_scene(lower(parse_bundle(canonical_block)))

    def compile_svg(self, canonical_block: str, content: dict[str, Any]) -> str:
        scene = parse_scene(self.materialize(canonical_block))
        if scene.topic is not None:
            return compile_scene(scene, content["topics"][scene.topic])
        return compile_scene(scene, content["families"][scene.family])

    def classify_miss(self, canonical_block: str, expected: str) -> str:
        got, want = self._parse(canonical_block), self._parse(expected)
        if got.family != want.family:
            return "family_miss"
        if got.form != want.form:
            return "form_miss"
        if got.style != want.style or getattr(got, "settings", ()) != getattr(want, "settings", ()):
            return "style_miss"
        if got.topic != want.topic:
            return "content_miss"  # the right kind of picture about the wrong subject
        if self.level == "bundle":
            return "topology_miss"
        got_kinds = [c.kind for c in got.components]
        return "topology_miss" if got_kinds != [c.kind for c in want.components] else "content_miss"

    def grammar(self) -> str:
        """Every target this task makes, as a grammar: each topic in each of its family's forms
        with each presentation its family can draw, in any style. Built from the same printer
        as the targets, so whatever it accepts parses."""
        targets = []
        for topic in self.topics:
            family = TOPIC_FAMILY[topic]
            shape = family.shape(family.topic(topic).pack)
            free = [k for k in family.knobs if not k.content]
            for values in itertools.product(*(k.choices() for k in free)):
                knobs = {**shape, **dict(zip((k.name for k in free), values, strict=True))}
                if family.limit(knobs) is not None:
                    continue
                knobs = {k.name: knobs[k.name] for k in family.knobs}
                for form in family.form_names:
                    spec = Spec(family.name, form, topic, DEFAULT_STYLE, tuple(knobs.items()))
                    targets.append(_style_as_rule(self.target(spec).split(" ")))
        styles = [
            [f"[{k}:{v}]" for k, v in zip(STYLE, vs, strict=True)]
            for vs in itertools.product(*STYLE.values())
        ]
        return lark_grammar(targets, {"style": styles})

    def attributes(self, example: Example) -> dict[str, str]:
        style = dict(self._parse(example.target).style)
        return {
            "family": example.family,
            "form": example.form,
            "topic": example.topic,
            "surface": example.surface,
            **style,
        }

    def coverage_space(self, held: list[tuple[str, ...]]) -> CoverageSpace:
        names = COMBO_KNOBS[self.level]
        combos = []
        for combo in self.combos():
            if combo in held:
                continue
            values = dict(zip(names, combo, strict=True))
            if "topic" in values:  # scene: the topic decides the family
                combos.append({"family": TOPIC_FAMILY[values["topic"]].name, **values})
            else:  # bundle: every topic of the family may carry the combination
                combos += [{**values, "topic": t.name} for t in FAMILIES[values["family"]].topics]
        free = {k: list(v) for k, v in STYLE.items() if k not in names}
        free["surface"] = list(self.surfaces)
        return CoverageSpace(combos, free, COVERAGE_PAIRS)

    def reference(self) -> str:
        surfaces = ", ".join(f"`{s}`" for s in SURFACES)
        audiences = ", ".join(f"`{a}` -> `{d}`" for a, d in AUDIENCES.items())
        return (
            f"Targets: `[bundle] ... [/bundle]` or `[scene] ... [/scene]` (`task.level`).\n"
            f"Prompt surfaces: {surfaces}. Routebook audiences (to density): {audiences}.\n"
            f"Reserved atoms: {len(self.reserved_atoms())}.\n\n" + language_reference()
        )
