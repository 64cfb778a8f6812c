"""Training curves from the ledger, drawn with matplotlib into a PNG data URI."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def ledger_plot(records: list[dict[str, Any]]) -> str | None:
    """Loss (with the dev loss as dots), learning rate, grad norm and tokens/s over tokens
    seen, one colour per stage. Skipped steps (a non-finite loss) leave gaps."""
    if not records:
        return None
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.2))
    stages = list(dict.fromkeys(r["stage"] for r in records))
    for stage in stages:
        rs = [r for r in records if r["stage"] == stage]
        x = [r["tokens"] for r in rs]
        for ax, key in zip(axes, ("loss", "lr", "grad_norm", "tokens_per_s"), strict=True):
            ax.plot(
                x, [r.get(key) if r.get(key) is not None else float("nan") for r in rs], label=stage
            )
        dev = [r for r in rs if r.get("dev_loss") is not None]
        if dev:
            color = axes[0].get_lines()[-1].get_color()
            xs, ys = [r["tokens"] for r in dev], [r["dev_loss"] for r in dev]
            axes[0].plot(xs, ys, "o--", color=color, markersize=3, label=f"{stage} dev")
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
