"""The natural-language surface: a request for a picture as a sentence, made from templates with
synonyms and word-order variation ("draw our release history as a milestone chain, green
accents and a grid background for the team").

A clue left out of a sentence means its default: the family's first form, the first value of
each style knob. Some templates are held out of train (`HELD_OUT`): they probe phrasings never
seen, built only from words that train sentences use (a model trained from scratch cannot learn
a word it never saw, so phrasings are held out, not vocabulary). A few synonyms are never used
in train at all (`OOV_*`); their probe measures what an unseen word costs.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from svglm.dsl.schema import STYLE

THEMES = {
    "infra_dark": ("a dark theme", "dark colors", "night mode"),
    "paper_editorial": ("a paper theme", "a light print look", "paper colors"),
    "signal_glow": ("a glowing theme", "neon glow", "glowing colors"),
}
TONES = {
    "amber": ("amber accents", "warm amber", "amber colors"),
    "green": ("green accents", "green", "green colors"),
    "blue": ("blue accents", "cool blue", "blue colors"),
    "purple": ("purple accents", "violet", "purple colors"),
    "mixed": ("mixed accents", "many colors", "a mix of colors"),
}
BACKGROUNDS = {
    "none": ("a plain background", "no background"),
    "grid": ("a grid background", "a grid behind it"),
    "mesh": ("a mesh background", "soft gradients behind it"),
    "rings": ("a rings background", "rings behind it"),
}
# The audience routes to the density knob, as in the routebook.
AUDIENCES = {
    "compact": ("for engineers", "for the engineering team"),
    "balanced": ("for the team", "for everyone"),
    "airy": ("for executives", "for the leadership team"),
}
PHRASES = {"theme": THEMES, "tone": TONES, "background": BACKGROUNDS, "density": AUDIENCES}
# Synonyms no train sentence uses: what an out-of-vocabulary word costs.
OOV = {
    "theme": {
        "infra_dark": ("a nocturnal palette",),
        "paper_editorial": ("a parchment palette",),
        "signal_glow": ("a luminous palette",),
    },
    "tone": {
        "amber": ("honey tints",),
        "green": ("emerald tints",),
        "blue": ("azure tints",),
        "purple": ("lilac tints",),
        "mixed": ("rainbow tints",),
    },
}

# {what}: a form ("a layer stack") or, for the family's default form, the family ("a memory
# map"). {topic}: what the picture is about. {style}: the style clause. {audience}: who for.
TEMPLATES = (
    "{what} of {topic}{style}{audience}",
    "draw {topic} as {what}{style}{audience}",
    "show me {topic} as {what}{audience}{style}",
    "i want {what} of {topic}{audience}{style}",
    "please make {what} that shows {topic}{style}{audience}",
    "{topic} as {what}{style}{audience}",
    "make me {what} that shows {topic}{audience}{style}",
    "please show {topic} as {what}{audience}{style}",
)
# Template indexes kept out of train: new word orders of train words, each with an opening no
# train template has, so that QC can tell from the text alone that train never uses them.
HELD_OUT = (6, 7)
EDITS = {
    "density": {
        "compact": ("make it more compact", "tighten it up"),
        "balanced": ("give it balanced spacing", "even out the spacing"),
        "airy": ("make it airier", "give it more room"),
    },
    "theme": {v: tuple(f"switch to {p}" for p in ps[:2]) for v, ps in THEMES.items()},
    "tone": {v: tuple(f"use {p}" for p in ps[:2]) for v, ps in TONES.items()},
    "background": {v: tuple(f"use {p}" for p in ps) for v, ps in BACKGROUNDS.items()},
}


@dataclass(frozen=True)
class Clues:
    """What a sentence says: a phrase for each clue it mentions, None for each it leaves out."""

    what: str  # a form phrase, or a family noun for the default form
    topic: str
    style: tuple[str, ...]  # theme, tone, background and knob phrases, in sentence order
    audience: str | None


def style_clause(rng: random.Random, phrases: tuple[str, ...]) -> str:
    """', a, b and c' or ' with a and b': two ways to attach the same style phrases."""
    if not phrases:
        return ""
    listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return f" with {listed}" if rng.random() < 0.5 else f", {listed}"


def sentence(rng: random.Random, template: int, clues: Clues) -> str:
    audience = f" {clues.audience}" if clues.audience else ""
    text = TEMPLATES[template].format(
        what=clues.what, topic=clues.topic, style=style_clause(rng, clues.style), audience=audience
    )
    return re.sub(r"\s+", " ", text).strip()


def train_templates() -> list[int]:
    return [i for i in range(len(TEMPLATES)) if i not in HELD_OUT]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def template_words(indexes: list[int]) -> set[str]:
    return set().union(*(words(re.sub(r"\{\w+\}", " ", TEMPLATES[i])) for i in indexes))


def template_pattern(index: int) -> str:
    """A regex that matches every sentence made from template `index` (slots match anything)."""
    return "^" + ".*".join(re.escape(p) for p in re.split(r"\{\w+\}", TEMPLATES[index])) + "$"


def unseen_words() -> list[str]:
    """Words that only the out-of-vocabulary synonyms use."""
    oov = {w for table in OOV.values() for ps in table.values() for p in ps for w in words(p)}
    known = {w for table in PHRASES.values() for ps in table.values() for p in ps for w in words(p)}
    return sorted(oov - known)


def _check_tables() -> None:
    """Held-out templates must be new orders of known words, or they would test vocabulary;
    every style value needs its phrases."""
    if not template_words(list(HELD_OUT)) <= template_words(train_templates()):
        raise ValueError("a held-out template uses a word no train template has")
    for knob, table in PHRASES.items():
        if set(table) != set(STYLE[knob]):
            raise ValueError(f"phrases for {knob} must cover {STYLE[knob]}")


_check_tables()
