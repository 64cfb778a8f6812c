"""The language's vocabulary, derived from the family registry: every closed-set atom (each one
reserved token), a Markdown reference of families, forms, knobs, kinds and content keys, and
one of the content-pack schemas.

Nothing here is written by hand twice: `svglm dsl` prints the reference and docs/language.md
embeds it; docs/content-packs.md embeds the schemas (tests keep them equal).
"""

from __future__ import annotations

import itertools
import json
import sys

from svglm.dsl.atoms import OUT, Atom
from svglm.dsl.families import FAMILIES
from svglm.dsl.schema import COMMON_KINDS, STYLE, ComponentKind

# The largest index a `[from:N]` / `[to:N]` atom can hold: the most items a content-pack list
# can have (the largest count of any knob, or a family's own larger lists).
MAX_INDEX = max(
    [k.high for f in FAMILIES.values() for k in f.knobs if not k.enumerated]
    + [f.max_index for f in FAMILIES.values()]
)


def binding_atoms() -> list[str]:
    """Every component atom a lowering can write (`[stage:stages.3]`, `[arrow]`): found by
    lowering every combination of knobs of every form, so no list is kept by hand."""
    atoms = set()
    for family in FAMILIES.values():
        names = [k.name for k in family.knobs]
        for values in itertools.product(*(k.choices() for k in family.knobs)):
            knobs = dict(zip(names, values, strict=True))
            if family.limit(knobs) is not None:
                continue
            for form in family.form_names:
                comps = family.lower(form, knobs, None)
                atoms |= {str(Atom(c.kind, c.path)) for c in comps}
    atoms |= {str(Atom(k.name, k.name)) for k in COMMON_KINDS}  # [title:title], ...
    return sorted(atoms)


def closed_atoms() -> list[str]:
    """Every atom of the language whose value comes from a closed set: structure, and the
    bindings of components to content paths (a family's kinds bind known keys, with indexes
    bounded by its knobs)."""
    atoms = [OUT, "[bundle]", "[/bundle]", "[scene]", "[/scene]"]
    atoms += [f"[family:{f}]" for f in FAMILIES]
    atoms += sorted({f"[form:{form}]" for f in FAMILIES.values() for form in f.form_names})
    atoms += [f"[topic:{t.name}]" for f in FAMILIES.values() for t in f.topics]
    for knob, values in STYLE.items():
        atoms += [f"[{knob}:{v}]" for v in values]
    knobs = {(k.name, str(v)) for f in FAMILIES.values() for k in f.knobs for v in k.choices()}
    atoms += [f"[{name}:{v}]" for name, v in sorted(knobs)]
    atoms += [f"[{arg}:{i}]" for arg in ("from", "to") for i in range(MAX_INDEX + 1)]
    return atoms + binding_atoms()


def _kind(kind: ComponentKind) -> str:
    atom = f"[{kind.name}:PATH]" if kind.path else f"[{kind.name}]"
    if kind.indexes:
        return f"`{atom} [from:N] [to:N]` (from and to index {kind.indexes}s)"
    return f"`{atom}`"


def language_reference() -> str:
    """Markdown: style knobs, then per family its forms, knobs, kinds, topics and content."""
    out = ["### Style knobs (every family)", ""]
    out += [f"- `{knob}`: " + ", ".join(f"`{v}`" for v in values) for knob, values in STYLE.items()]
    out += ["", "Every scene may also hold " + ", ".join(_kind(k) for k in COMMON_KINDS) + "."]
    for family in FAMILIES.values():
        out += ["", f"### `{family.name}`", ""]
        forms = ", ".join(f"`{f.name}` (goal `{f.goal}`)" for f in family.forms)
        knobs = ", ".join(f"`{k.name}` {k.describe()}" for k in family.knobs)
        out += [f"- forms: {forms}", f"- knobs: {knobs}"]
        out += ["- components: " + ", ".join(_kind(k) for k in family.kinds)]
        out += ["- topics: " + ", ".join(f"`{t.name}`" for t in family.topics)]
        keys = ", ".join(f"`{k}`" for k in family.pack.model_fields)
        out += [f"- content keys: {keys} (schema: `svglm dsl --pack {family.name}`)"]
    return "\n".join(out) + "\n"


def pack_reference() -> str:
    """Markdown: per family, the JSON schema of its content packs and one topic's pack."""
    out = []
    for family in FAMILIES.values():
        doc = (sys.modules[family.lower.__module__].__doc__ or "").strip().split("\n\n")[0]
        topic = family.topics[0]
        out += [f"## `{family.name}`", "", " ".join(doc.split()), ""]
        counted = ", ".join(f"`{k.content}` ({k.low}..{k.high})" for k in family.knobs if k.content)
        out += [f"What a pack fixes (the counts of its scenes): {counted}.", ""]
        out += ["```json", json.dumps(family.pack_schema(), indent=2), "```", ""]
        out += [f"Example: the pack of topic `{topic.name}`.", ""]
        out += ["```json", json.dumps(topic.pack, indent=2), "```", ""]
    return "\n".join(out)
