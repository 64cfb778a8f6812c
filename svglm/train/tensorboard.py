"""TensorBoard event files written from the ledger, so that existing dashboards show a run.

The ledger stays the source of truth: `replay` rewrites the events from it (after the fact,
`svglm tensorboard RUN`, or when training starts or resumes with `train.tensorboard: true`), and
`add` appends one ledger record as training logs it. The x axis is tokens seen, which runs on
across stages and resumes. Needs the `tensorboard` package (`pip install 'svglm[tensorboard]'`).
"""

from __future__ import annotations

import shutil
from typing import Any

from svglm.errors import DependencyError
from svglm.runs import RunDir, ledger_records

SCALARS = ("loss", "dev_loss", "lr", "grad_norm", "tokens_per_s")


class TensorBoardLog:
    def __init__(self, run: RunDir):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise DependencyError(
                "TensorBoard event files need tensorboard: pip install 'svglm[tensorboard]'"
            ) from None
        shutil.rmtree(run.tensorboard, ignore_errors=True)
        self.writer = SummaryWriter(log_dir=str(run.tensorboard))
        for record in ledger_records(run):
            self.add(record)
        self.writer.flush()

    def add(self, record: dict[str, Any]) -> None:
        for key in SCALARS:
            value = record.get(key)
            if value is not None:
                self.writer.add_scalar(f"{record['stage']}/{key}", value, record["tokens"])
                self.writer.add_scalar(f"all/{key}", value, record["tokens"])
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def replay(run: RunDir) -> int:
    """Rewrite the run's event files from its ledger; returns how many records went in."""
    log = TensorBoardLog(run)
    log.close()
    return len(ledger_records(run))
