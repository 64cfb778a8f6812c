"""Train a run under torchrun and SIGKILL the main process right after a named checkpoint has
landed, as a kill of a multi-process run would (tests/test_distributed.py drives it):

    torchrun --nproc_per_node=2 tests/ddp_harness.py HOME NAME CHECKPOINT

torchrun then stops the other processes. Nothing in svglm knows about this harness.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import svglm.train.checkpoint as ckpt
from svglm.pipeline import run_steps
from svglm.runs import RunDir


def main() -> None:
    home, name, kill_after = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    real_save = ckpt.save_checkpoint

    def save_then_die(*args, **kwargs):
        record = real_save(*args, **kwargs)
        if record.name == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return record

    ckpt.save_checkpoint = save_then_die
    run_steps(RunDir(home / name), ("train",), show_progress=False)


if __name__ == "__main__":
    main()
