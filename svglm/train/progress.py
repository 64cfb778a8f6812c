"""What a user sees while a run trains: a live bar in a terminal, plain lines when the output
is piped or in the background (a log file must show progress too), nothing when quiet.

Throughput and ETA are averaged over the steps since the last report, not taken from the last
step alone, so they agree with the run's summary.
"""

from __future__ import annotations

import time
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn


class Reporter(Protocol):
    def stage(self, name: str, total: int, start: int) -> None: ...

    def step(self, step: int, loss: float, dev_loss: float | None, tokens: int) -> None: ...

    def close(self) -> None: ...


class Window:
    """Tokens and seconds since the last report: the averaged rate and the time left."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.t0, self.tokens, self.steps = time.perf_counter(), 0, 0

    def add(self, tokens: int) -> None:
        self.tokens += tokens
        self.steps += 1

    def rate(self) -> float:
        return self.tokens / max(time.perf_counter() - self.t0, 1e-9)

    def eta(self, steps_left: int) -> float:
        return steps_left * (time.perf_counter() - self.t0) / max(self.steps, 1)


class Bar:
    """A rich progress bar per stage, for a terminal."""

    def __init__(self, console: Console, every: int):
        self.every, self.window = every, Window()
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TextColumn("dev {task.fields[dev]}"),
            TextColumn("{task.fields[tps]:,.0f} tok/s"),
            TimeRemainingColumn(),
            console=console,
        )
        self.progress.start()
        self.task: TaskID | None = None

    def stage(self, name: str, total: int, start: int) -> None:
        self.task = self.progress.add_task(
            name, total=total, completed=start, loss=float("nan"), dev="-", tps=0.0
        )
        self.window.reset()

    def step(self, step: int, loss: float, dev_loss: float | None, tokens: int) -> None:
        self.window.add(tokens)
        fields = {"completed": step, "loss": loss}
        if dev_loss is not None:
            fields["dev"] = f"{dev_loss:.4f}"
        if self.window.steps >= self.every:
            fields["tps"] = self.window.rate()
            self.window.reset()
        self.progress.update(self.task, **fields)

    def close(self) -> None:
        self.progress.stop()


class Lines:
    """One plain line every `every` steps: stage, step, loss, dev loss, tokens/s, ETA."""

    def __init__(self, console: Console, every: int):
        self.console, self.every, self.window = console, every, Window()
        self.name, self.total, self.dev = "", 0, "-"

    def stage(self, name: str, total: int, start: int) -> None:
        self.name, self.total, self.dev = name, total, "-"
        self.window.reset()
        if start:
            self.console.print(f"{name}: from step {start} of {total}", highlight=False)

    def step(self, step: int, loss: float, dev_loss: float | None, tokens: int) -> None:
        self.window.add(tokens)
        if dev_loss is not None:
            self.dev = f"{dev_loss:.4f}"
        if self.window.steps >= self.every or step == self.total:
            self.console.print(
                f"{self.name} step {step}/{self.total} loss {loss:.4f} dev {self.dev} "
                f"{self.window.rate():,.0f} tok/s eta {self.window.eta(self.total - step):.0f}s",
                highlight=False,
            )
            self.window.reset()

    def close(self) -> None:
        pass


class Silent:
    def stage(self, name: str, total: int, start: int) -> None:
        pass

    def step(self, step: int, loss: float, dev_loss: float | None, tokens: int) -> None:
        pass

    def close(self) -> None:
        pass


def reporter(console: Console | None, every: int) -> Reporter:
    """A bar in a terminal, lines elsewhere, nothing without a console (quiet, or not the
    process that reports)."""
    if console is None or console.quiet:
        return Silent()
    return Bar(console, every) if console.is_terminal else Lines(console, every)
