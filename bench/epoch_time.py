"""One epoch over a preset's corpus: svglm's way (rows packed whole into windows, attention kept
inside each row) against a `transformers` model of the same config fed the usual way (shuffled
rows, batches of rows padded to the longest, an attention mask). Same rows, same optimizer
(AdamW, fused), in one process; each side runs the epoch in fp32 and under bf16 autocast (where
the CPU has bf16 matmuls), and its faster precision is its figure. Prints one JSON line; read
`ratio_vs_hf` (HF time / ours).

    .venv/bin/python bench/epoch_time.py [--preset scene-bundle] [--rows 4000] [--home DIR]

The preset's data and tokenizer steps run first (in --home); --rows takes the first rows of its
train split so an epoch fits a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from svglm.config import preset
from svglm.data.build import read_rows
from svglm.errors import SvglmError
from svglm.model.hf import reference_model
from svglm.model.transformer import Decoder
from svglm.pipeline import run_steps
from svglm.runs import RunDir
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train.architecture import model_config
from svglm.train.devices import keep_freed_memory, resolve_precision
from svglm.train.packing import IGNORE, collate, encode_rows, epoch_windows


def ours_epoch(
    model: Decoder, rows, seq_len: int, batch: int, pad_id: int, bf16: bool
) -> tuple[float, int]:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    windows = epoch_windows(rows, seq_len, seed=0, epoch=0)
    t0 = time.perf_counter()
    for at in range(0, len(windows), batch):
        b = collate(rows, windows[at : at + batch], seq_len, pad_id, "all")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(b["idx"], positions=b["positions"], doc_ids=b["doc_ids"])
            loss = F.cross_entropy(
                logits.flatten(0, 1).float(), b["labels"].flatten(), ignore_index=IGNORE
            )
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return time.perf_counter() - t0, len(windows) * seq_len


def hf_epoch(model, rows, batch: int, pad_id: int, bf16: bool) -> tuple[float, int]:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
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
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        processed += ids.numel()
    return time.perf_counter() - t0, processed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="scene-bundle")
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--home", type=Path, default=Path("/tmp/svglm-epoch-bench"))
    args = ap.parse_args()
    malloc_kept = keep_freed_memory()  # as every svglm command runs
    run = RunDir(args.home / f"epoch-{args.preset}")
    if not run.exists():
        try:
            run.write_config(preset(args.preset, run.name))
        except SvglmError as e:  # an unknown preset: one line, exit 2
            ap.error(str(e))
    run_steps(run, ("data", "tokenizer"), show_progress=False)
    cfg = run.config()
    tok = SvglmTokenizer.load(run.tokenizer_json)
    rows = encode_rows(tok, read_rows(run, "train")[: args.rows])
    batch = cfg.stages[0].batch_size
    precisions = (
        ("fp32", "bf16") if resolve_precision("auto", torch.device("cpu")) == "bf16" else ("fp32",)
    )
    times: dict[str, float] = {}
    for precision in precisions:  # fresh, identical weights for every side and precision
        torch.manual_seed(0)
        ours = Decoder(model_config(run, cfg, tok.vocab_size)).train()
        hf = reference_model(ours)
        bf16 = precision == "bf16"
        times[f"ours/{precision}"], ours_tokens = ours_epoch(
            ours, rows, cfg.model.seq_len, batch, tok.pad_id, bf16
        )
        times[f"hf/{precision}"], hf_tokens = hf_epoch(hf, rows, batch, tok.pad_id, bf16)
        ours_t, hf_t = times[f"ours/{precision}"], times[f"hf/{precision}"]
        print(f"{precision}: ours {ours_t:.1f} s, hf {hf_t:.1f} s", file=sys.stderr, flush=True)
    ours_best = min((m for m in times if m.startswith("ours")), key=times.get)
    hf_best = min((m for m in times if m.startswith("hf")), key=times.get)
    ours_s, hf_s = times[ours_best], times[hf_best]
    real = sum(len(r.ids) for r in rows)
    print(
        json.dumps(
            {
                "bench": "epoch_time",
                "malloc_kept": malloc_kept,
                "preset": args.preset,
                "rows": len(rows),
                "row_tokens": real,
                "modes_s": {m: round(t, 2) for m, t in times.items()},
                "ours_best": ours_best,
                "hf_best": hf_best,
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
