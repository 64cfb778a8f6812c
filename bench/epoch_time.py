"""One epoch over a preset's corpus: svglm's way (rows packed whole into windows, attention kept
inside each row) against a `transformers` model of the same config fed the usual way (shuffled
rows, batches of rows padded to the longest, an attention mask). Same rows, same optimizer,
both in fp32 eager, in one process. Prints one JSON line; read `ratio_vs_hf` (HF time / ours).

    .venv/bin/python bench/epoch_time.py [--preset scene-bundle] [--rows 4000] [--home DIR]

The preset's data and tokenizer steps run first (in --home); --rows takes the first rows of its
train split so an epoch fits a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from svglm.config import preset
from svglm.data.build import read_rows
from svglm.model.hf import reference_model
from svglm.model.transformer import Decoder
from svglm.pipeline import run_steps
from svglm.runs import RunDir
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train.architecture import model_config
from svglm.train.packing import IGNORE, collate, encode_rows, epoch_windows


def ours_epoch(model: Decoder, rows, seq_len: int, batch: int, pad_id: int) -> tuple[float, int]:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    windows = epoch_windows(rows, seq_len, seed=0, epoch=0)
    t0 = time.perf_counter()
    for at in range(0, len(windows), batch):
        b = collate(rows, windows[at : at + batch], seq_len, pad_id, "all")
        logits = model(b["idx"], positions=b["positions"], doc_ids=b["doc_ids"])
        F.cross_entropy(logits.flatten(0, 1), b["labels"].flatten(), ignore_index=IGNORE).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return time.perf_counter() - t0, len(windows) * seq_len


def hf_epoch(model, rows, batch: int, pad_id: int) -> tuple[float, int]:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    order = list(range(len(rows)))
    random.Random(0).shuffle(order)
    processed = 0
    t0 = time.perf_counter()
    for at in range(0, len(order), batch):
        chunk = [list(rows[i].ids) for i in order[at : at + batch]]
        width = max(len(r) for r in chunk)
        ids = torch.tensor([r + [pad_id] * (width - len(r)) for r in chunk])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in chunk])
        labels = ids.masked_fill(mask == 0, IGNORE)
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        processed += ids.numel()
    return time.perf_counter() - t0, processed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="scene-bundle")
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--home", type=Path, default=Path("/tmp/svglm-epoch-bench"))
    args = ap.parse_args()
    run = RunDir(args.home / f"epoch-{args.preset}")
    if not run.exists():
        run.write_config(preset(args.preset, run.name))
    run_steps(run, ("data", "tokenizer"), show_progress=False)
    cfg = run.config()
    tok = SvglmTokenizer.load(run.tokenizer_json)
    rows = encode_rows(tok, read_rows(run, "train")[: args.rows])
    batch = cfg.stages[0].batch_size
    torch.manual_seed(0)
    ours = Decoder(model_config(run, cfg, tok.vocab_size)).train()
    hf = reference_model(ours)
    ours_s, ours_tokens = ours_epoch(ours, rows, cfg.model.seq_len, batch, tok.pad_id)
    hf_s, hf_tokens = hf_epoch(hf, rows, batch, tok.pad_id)
    real = sum(len(r.ids) for r in rows)
    print(
        json.dumps(
            {
                "bench": "epoch_time",
                "preset": args.preset,
                "rows": len(rows),
                "row_tokens": real,
                "ours_s": round(ours_s, 2),
                "hf_s": round(hf_s, 2),
                "ratio_vs_hf": round(hf_s / ours_s, 3),
                "ours_positions": ours_tokens,
                "hf_positions": hf_tokens,
                "ours_fill": round(real / ours_tokens, 3),
                "hf_fill": round(real / hf_tokens, 3),
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
