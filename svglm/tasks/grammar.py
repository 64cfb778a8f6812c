"""A finite language of atom sequences, written as a Lark grammar that llguidance compiles.

A task lists every target it can make as a sequence of atoms, where a named rule may stand for
a part that varies on its own (a scene's four style atoms). The sequences become a prefix tree
whose identical subtrees are shared, so the grammar is exactly the task's targets and stays
small: the same suffix (a style, then a topic's counts) is written once however many prefixes
lead to it. Atoms are written with the space that precedes them in a row, as they are tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Item = str  # an atom such as "[form:grid]", or the name of a rule given to `lark_grammar`
END = ""  # marks where a sequence ends in the prefix tree


def _literal(atom: str) -> str:
    return '" ' + atom.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lark_grammar(
    sequences: Iterable[Sequence[Item]], rules: dict[str, list[Sequence[Item]]] | None = None
) -> str:
    """The Lark text of `start: <any of sequences>`, with `rules` (name -> its own sequences)
    usable as items inside them."""
    rules = rules or {}
    lines: list[str] = []
    ids: dict[tuple, str] = {}

    def item_text(item: Item) -> str:
        return item if item in rules else _literal(item)

    def node(trie: dict) -> str:
        """The rule name of a trie node, one rule per distinct subtree ("" = the end)."""
        if END in trie:
            if len(trie) > 1:
                raise ValueError("a grammar sequence is a prefix of another")
            return ""
        key = tuple(sorted((item, node(child)) for item, child in trie.items()))
        if key not in ids:
            ids[key] = f"n{len(ids)}"
            alts = [" ".join(filter(None, (item_text(i), ref))) for i, ref in key]
            lines.append(f"{ids[key]}: " + " | ".join(alts))
        return ids[key]

    def build(seqs: Iterable[Sequence[Item]]) -> str:
        root: dict = {}
        for seq in seqs:
            if not seq:
                raise ValueError("a grammar sequence cannot be empty")
            at = root
            for item in seq:
                at = at.setdefault(item, {})
            at[END] = {}
        return node(root)

    for name, seqs in rules.items():
        lines.append(f"{name}: {build(seqs)}")
    start = build(sequences)
    return "\n".join([f"start: {start}", *lines]) + "\n"
