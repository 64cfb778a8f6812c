"""Training curves from the ledger, drawn with matplotlib into a PNG data URI."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def ledger_plot(records: list[dict[str, Any]]) -> str | None:
    if not records:
        return None
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.2))
    stages = list(dict.fromkeys(r["stage"] for r in records))
    for stage in stages:
        rs = [r for r in records if r["stage"] == stage]
        x = [r["tokens"] for r in rs]
        for ax, key in zip(axes, ("loss", "lr", "grad_norm", "tokens_per_s"), strict=True):
            ax.plot(x, [r[key] for r in rs], label=stage)
    for ax, title in zip(axes, ("loss", "learning rate", "grad norm", "tokens/s"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("tokens seen")
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[0].legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
