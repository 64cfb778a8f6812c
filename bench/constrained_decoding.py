"""What grammar-constrained decoding costs per decode step, at batch 1 and 16, for the demo's
model shape and each scene level. Prints one JSON line per (level, batch), then a summary.

    .venv/bin/python bench/constrained_decoding.py [--prompts 64] [--repeats 3]

A task's rows train a 1,024-id tokenizer; the demo-shaped decoder (random weights: the mask's
cost does not depend on training) decodes held-out prompts under the grammar. The baseline
replays the very same outputs through a trivial mask, so both runs take the same steps with the
same batch shapes and stops; `overhead` is the constrained step time over the baseline's, minus
one (medians over interleaved rounds). `mask_ms_per_step` is the time inside llguidance and the
mask conversion alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from functools import partial

import torch

from svglm.config import preset
from svglm.infer.grammar import GrammarConstraint
from svglm.infer.sampler import Sampling, sample
from svglm.model.config import architecture_config
from svglm.model.transformer import Decoder
from svglm.tasks.scene import SceneTask
from svglm.tokenizer.bpe import train_bpe


class Timed(GrammarConstraint):
    """The constraint, with the seconds it spends and the steps it serves counted."""

    seconds, steps = 0.0, 0

    def allowed(self, rows, vocab):
        t0 = time.perf_counter()
        out = super().allowed(rows, vocab)
        self.seconds += time.perf_counter() - t0
        self.steps += 1
        return out

    def advance(self, row, token):
        t0 = time.perf_counter()
        super().advance(row, token)
        self.seconds += time.perf_counter() - t0


class Replay:
    """The same outputs forced through a trivial mask: the free baseline with the very same
    steps, batch shapes and stops, so the difference is the grammar's own cost."""

    def __init__(self, outputs: list[list[int]]):
        self.outputs = outputs

    def start(self, rows):
        self.at = [0] * rows

    def allowed(self, rows, vocab):
        out = torch.zeros(len(rows), vocab, dtype=torch.bool)
        for i, r in enumerate(rows):
            out[i, self.outputs[r][self.at[r]]] = True
        return out

    def advance(self, row, token):
        self.at[row] += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    demo = preset("demo", "bench").model
    results = []
    for level in ("bundle", "scene"):
        task = SceneTask(level=level)
        data = task.generate(seed=5, sizes=dict(train=3000, dev=0, test=0, holdout=args.prompts))
        rows = [e.row() for e in data.splits["train"]]
        tok = train_bpe(rows, task.reserved_atoms(), 1024)
        torch.manual_seed(0)
        cfg = architecture_config(
            demo.architecture,
            vocab_size=tok.vocab_size,
            n_layer=demo.n_layer,
            d_model=demo.d_model,
            n_head=demo.n_head,
            n_kv_head=demo.n_kv_head,
            d_ff=demo.d_ff,
            seq_len=512,
        )
        model = Decoder(cfg).eval()
        prompts = [tok.encode_prompt(e.prompt) for e in data.splits["holdout"]]
        t0 = time.perf_counter()
        grammar = Timed(task.grammar(), tok, cfg.vocab_size)
        build_s = time.perf_counter() - t0
        for batch in (1, 16):
            decode = partial(
                sample,
                model,
                prompts,
                Sampling(max_tokens=200),
                tok.eos_id,
                tok.pad_id,
                batch_size=batch,
            )
            gens = decode(constraint=grammar)
            replay = Replay([g.ids + [tok.eos_id] for g in gens])
            held, free, mask = [], [], []
            for _ in range(args.repeats):  # interleaved rounds, medians reported
                grammar.seconds, grammar.steps = 0.0, 0
                for c, times in ((grammar, held), (replay, free)):
                    t0 = time.perf_counter()
                    decode(constraint=c)
                    times.append(time.perf_counter() - t0)
                mask.append(grammar.seconds / grammar.steps)
            steps = grammar.steps
            held_ms = 1000 * statistics.median(held) / steps
            free_ms = 1000 * statistics.median(free) / steps
            row = {
                "level": level,
                "batch": batch,
                "grammar_bytes": len(task.grammar()),
                "grammar_build_s": round(build_s, 3),
                "steps": steps,
                "free_ms_per_step": round(free_ms, 3),
                "constrained_ms_per_step": round(held_ms, 3),
                "overhead": round(held_ms / free_ms - 1, 4),
                "mask_ms_per_step": round(1000 * statistics.median(mask), 3),
                "tokens_per_output": round(statistics.mean(len(g.ids) for g in gens), 1),
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    print(json.dumps({"bench": "constrained_decoding", "results": results}))


if __name__ == "__main__":
    main()
