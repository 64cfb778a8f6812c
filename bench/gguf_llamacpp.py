"""Does a GGUF file svglm wrote run the same in llama.cpp? Loads it with llama-cpp-python, feeds
the same token ids to both runtimes and prints JSON comparing next-token distributions at every
position (max |p - q|, KL(p || q), top-1 agreement), plus whether llama.cpp's own tokenizer
reproduces svglm's ids.

    .venv/bin/pip install llama-cpp-python   # compiles llama.cpp: several minutes on 2 cores
    .venv/bin/python bench/gguf_llamacpp.py --run runs/demo   # a trained run
    .venv/bin/python bench/gguf_llamacpp.py                   # or random tiny models
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch
from llama_cpp import Llama

from svglm.config import preset
from svglm.data.build import read_rows
from svglm.model.config import architecture_config
from svglm.model.gguf_io import ARCH, export_gguf
from svglm.model.transformer import Decoder
from svglm.pipeline import run_steps
from svglm.runs import RunDir
from svglm.tokenizer.bpe import SvglmTokenizer, row_body
from svglm.train.checkpoint import load_trained


def compare(model: Decoder, tok, gguf_path: Path, rows: list[str]) -> dict:
    llm = Llama(model_path=str(gguf_path), n_ctx=256, logits_all=True, verbose=False, n_threads=2)
    max_diff, kls, agree, total, tokenize_same = 0.0, [], 0, 0, 0
    for row in rows:
        ids = tok.encode_row(row)[:-1]
        with torch.no_grad():
            ours = torch.softmax(model(torch.tensor([ids]))[0].double(), -1).numpy()
        llm.reset()
        llm.eval(ids)
        theirs = np.array(llm.scores[: len(ids)], dtype=np.float64)
        theirs = np.exp(theirs - theirs.max(-1, keepdims=True))
        theirs /= theirs.sum(-1, keepdims=True)
        max_diff = max(max_diff, float(np.abs(ours - theirs).max()))
        kls.append(float((ours * (np.log(ours + 1e-12) - np.log(theirs + 1e-12))).sum(-1).mean()))
        agree += int((ours.argmax(-1) == theirs.argmax(-1)).sum())
        total += len(ids)
        body = row_body(row)
        tokenize_same += int(
            llm.tokenize(body.encode(), add_bos=False, special=True) == tok.encode(body)
        )
    return {
        "rows": len(rows),
        "positions": total,
        "max_abs_prob_diff": max_diff,
        "mean_kl": float(np.mean(kls)),
        "top1_agreement": agree / total,
        "llamacpp_tokenizer_matches": tokenize_same / len(rows),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, help="a trained run directory (default: tiny models)")
    ap.add_argument("--rows", type=int, default=8)
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.run:
            run = RunDir(args.run)
            model, tok = load_trained(run, run.config())
            targets = [(model.cfg.architecture, model, tok, run)]
        else:
            run = RunDir(Path(tmp) / "tiny")  # only for a tokenizer and rows
            run.write_config(preset("tiny", "tiny"))
            run_steps(run, ("tokenizer",), show_progress=False)
            tok = SvglmTokenizer.load(run.tokenizer_json)
            targets = []
            for architecture in ARCH:
                torch.manual_seed(0)
                cfg = architecture_config(
                    architecture,
                    vocab_size=tok.vocab_size,
                    n_layer=2,
                    d_model=64,
                    n_head=4,
                    n_kv_head=2,
                    d_ff=128,
                    seq_len=256,
                )
                targets.append((architecture, Decoder(cfg).eval(), tok, run))
        for architecture, model, tok, source in targets:
            path = export_gguf(
                model.eval(), tok.to_json(), tok.specials, Path(tmp) / f"{architecture}.gguf"
            )
            rows = read_rows(source, "test")[: args.rows]
            results.append({"architecture": architecture, **compare(model, tok, path, rows)})
            print(json.dumps(results[-1]), flush=True)
    print(json.dumps({"bench": "gguf_llamacpp", "results": results}))


if __name__ == "__main__":
    main()
