"""The registry of diagram families. Every module in this package that defines `FAMILY` is one
family, registered by being here: adding a family is adding one module (see README.md).

Families are ordered by name, so the reserved atoms, and with them the tokenizer, do not
depend on the order in which modules happen to be listed.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter

from svglm.dsl.family import DiagramFamily
from svglm.errors import DSLError


def register(found: list[tuple[str, DiagramFamily]]) -> dict[str, DiagramFamily]:
    """Index (module name, family) pairs by family name, checking what must hold across them."""
    for module, family in found:
        if family.name != module:  # one place to look for a family: the module of its name
            raise ValueError(f"{module}.py declares family {family.name!r}; name them alike")
    families = dict(sorted((f.name, f) for _, f in found))
    # The routebook maps each topic to one family and each goal to one form.
    for what, names in (
        ("topic", [t.name for f in families.values() for t in f.topics]),
        ("goal", [form.goal for f in families.values() for form in f.forms]),
    ):
        if repeated := sorted(n for n, c in Counter(names).items() if c > 1):
            raise ValueError(f"{what} names used more than once: {repeated}")
    return families


FAMILIES: dict[str, DiagramFamily] = register(
    [
        (info.name, importlib.import_module(f"{__name__}.{info.name}").FAMILY)
        for info in pkgutil.iter_modules(__path__)
    ]
)


def family_named(name: str) -> DiagramFamily:
    """The family of that name, or a DSLError listing the families there are."""
    if name not in FAMILIES:
        raise DSLError(f"unknown diagram family {name!r} (known: {', '.join(FAMILIES)})")
    return FAMILIES[name]
