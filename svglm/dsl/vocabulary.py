"""The language's vocabulary, derived from the family registry: every closed-set atom (each one
reserved token) and a Markdown reference of families, forms, knobs, kinds and content keys.

Nothing here is written by hand twice: `svglm dsl` prints the reference and docs/language.md
embeds it (a test keeps the two equal).
"""

from __future__ import annotations

from typing import Any

from svglm.dsl.atoms import OUT
from svglm.dsl.families import FAMILIES
from svglm.dsl.schema import COMMON_KINDS, STYLE, ComponentKind

# The largest index a `[from:N]` / `[to:N]` atom can hold: the most items a content-pack list
# can have (the largest count of any knob, or a family's own larger lists).
MAX_INDEX = max(
    [k.high for f in FAMILIES.values() for k in f.knobs if not k.enumerated]
    + [f.max_index for f in FAMILIES.values()]
)


def closed_atoms() -> list[str]:
    """Every atom of the language whose value comes from a closed set."""
    atoms = [OUT, "[bundle]", "[/bundle]", "[scene]", "[/scene]"]
    atoms += [f"[family:{f}]" for f in FAMILIES]
    atoms += sorted({f"[form:{form}]" for f in FAMILIES.values() for form in f.form_names})
    atoms += [f"[topic:{t.name}]" for f in FAMILIES.values() for t in f.topics]
    for knob, values in STYLE.items():
        atoms += [f"[{knob}:{v}]" for v in values]
    knobs = {(k.name, str(v)) for f in FAMILIES.values() for k in f.knobs for v in k.choices()}
    atoms += [f"[{name}:{v}]" for name, v in sorted(knobs)]
    atoms += [f"[{arg}:{i}]" for arg in ("from", "to") for i in range(MAX_INDEX + 1)]
    return atoms


def _kind(kind: ComponentKind) -> str:
    atom = f"[{kind.name}:PATH]" if kind.path else f"[{kind.name}]"
    if kind.indexes:
        return f"`{atom} [from:N] [to:N]` (from and to index {kind.indexes}s)"
    return f"`{atom}`"


def _shape(value: Any) -> str:
    """What a content key holds, described from the built-in pack."""
    if isinstance(value, str):
        return "text"
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return f"list of up to {len(value)} {{{', '.join(value[0])}}}"
    if isinstance(value, list):
        return f"list of up to {len(value)} texts"
    return type(value).__name__


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
        out += [
            "- content: " + ", ".join(f"`{k}` ({_shape(v)})" for k, v in family.content.items())
        ]
    return "\n".join(out) + "\n"
