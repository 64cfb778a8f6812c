"""Colour systems: a theme gives the surfaces and ink, a tone gives the accents."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Palette:
    bg: str
    bg2: str  # second background colour, used by mesh gradients and pattern lines
    surface: str
    border: str
    ink: str
    muted: str
    accents: tuple[str, ...]
    glow: bool

    def accent(self, i: int) -> str:
        return self.accents[i % len(self.accents)]


THEMES = {
    "infra_dark": dict(
        bg="#0f172a",
        bg2="#1e293b",
        surface="#1e293b",
        border="#334155",
        ink="#f1f5f9",
        muted="#94a3b8",
        glow=False,
    ),
    "paper_editorial": dict(
        bg="#faf7f0",
        bg2="#efe8da",
        surface="#ffffff",
        border="#d6cfc0",
        ink="#1f2328",
        muted="#5c636e",
        glow=False,
    ),
    "signal_glow": dict(
        bg="#05070d",
        bg2="#101a2e",
        surface="#0b1220",
        border="#1f2a44",
        ink="#e6f1ff",
        muted="#8aa0c0",
        glow=True,
    ),
}

# Each tone lists a dark-background and a light-background variant of its accents, so that
# text on accent fills keeps its contrast in every theme.
TONES = {
    "amber": (
        ("#fbbf24", "#f59e0b", "#fcd34d", "#d97706"),
        ("#b45309", "#d97706", "#92400e", "#f59e0b"),
    ),
    "green": (
        ("#34d399", "#10b981", "#6ee7b7", "#059669"),
        ("#047857", "#059669", "#065f46", "#10b981"),
    ),
    "blue": (
        ("#60a5fa", "#3b82f6", "#93c5fd", "#2563eb"),
        ("#1d4ed8", "#2563eb", "#1e40af", "#3b82f6"),
    ),
    "purple": (
        ("#a78bfa", "#8b5cf6", "#c4b5fd", "#7c3aed"),
        ("#6d28d9", "#7c3aed", "#5b21b6", "#8b5cf6"),
    ),
    "mixed": (
        ("#fbbf24", "#34d399", "#60a5fa", "#a78bfa"),
        ("#b45309", "#047857", "#1d4ed8", "#6d28d9"),
    ),
}
LIGHT_THEMES = {"paper_editorial"}


def palette(theme: str, tone: str) -> Palette:
    dark, light = TONES[tone]
    return Palette(**THEMES[theme], accents=light if theme in LIGHT_THEMES else dark)
