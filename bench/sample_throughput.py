"""svglm's batched KV-cache sampler against `transformers` generate() on the same weights, at
batch 1 and 16, greedy and sampled. Prints one JSON line per setting, then a summary.

    .venv/bin/python bench/sample_throughput.py [--new 48] [--prompts 32] [--rounds 3]

Both decode the same prompts (lengths 20..40, as probe prompts are) to exactly --new tokens (no
stop token), in the same process, interleaved rounds, median reported. generate() gets a
left-padded batch with an attention mask, its usual use; the demo's shape, random weights.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from svglm.config import preset
from svglm.infer.sampler import Sampling, sample
from svglm.model.config import architecture_config
from svglm.model.hf import reference_model
from svglm.model.transformer import Decoder


def models() -> tuple[Decoder, torch.nn.Module]:
    m = preset("demo", "bench").model
    cfg = architecture_config(
        m.architecture,
        vocab_size=1024,
        n_layer=m.n_layer,
        d_model=m.d_model,
        n_head=m.n_head,
        n_kv_head=m.n_kv_head,
        d_ff=m.d_ff,
        seq_len=256,
    )
    torch.manual_seed(0)
    ours = Decoder(cfg).eval()
    hf = reference_model(ours)
    return ours, hf


def hf_generate(
    hf, prompts: list[list[int]], batch: int, new: int, sampled: bool, eos=None, pad: int = 0
) -> None:
    """generate() over `prompts` in batches, left-padded with an attention mask; exactly `new`
    tokens each when `eos` is None, else up to `new` tokens, stopping at `eos`."""
    for at in range(0, len(prompts), batch):
        chunk = prompts[at : at + batch]
        width = max(len(p) for p in chunk)
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in chunk])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk])
        hf.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=new,
            min_new_tokens=new if eos is None else 0,
            do_sample=sampled,
            temperature=1.0 if sampled else None,
            top_k=0 if sampled else None,
            top_p=1.0 if sampled else None,
            pad_token_id=pad,
            eos_token_id=eos,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--new", type=int, default=48)
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    ours, hf = models()
    g = torch.Generator().manual_seed(1)
    prompts = [
        torch.randint(
            3, 1024, (int(torch.randint(20, 41, (1,), generator=g)),), generator=g
        ).tolist()
        for _ in range(args.prompts)
    ]
    results = []
    with torch.no_grad():
        for batch in (1, 16):
            for sampled in (False, True):
                settings = Sampling(max_tokens=args.new, temperature=1.0 if sampled else 0.0)
                times = {"ours": [], "hf": []}
                for _ in range(args.rounds):
                    t0 = time.perf_counter()
                    sample(ours, prompts, settings, eos_id=-1, batch_size=batch)
                    times["ours"].append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    hf_generate(hf, prompts, batch, args.new, sampled)
                    times["hf"].append(time.perf_counter() - t0)
                tokens = len(prompts) * args.new
                ours_s, hf_s = statistics.median(times["ours"]), statistics.median(times["hf"])
                row = {
                    "batch": batch,
                    "mode": "sampled" if sampled else "greedy",
                    "ours_tok_s": round(tokens / ours_s, 1),
                    "hf_tok_s": round(tokens / hf_s, 1),
                    "ratio_vs_hf": round(hf_s / ours_s, 3),
                }
                results.append(row)
                print(json.dumps(row), flush=True)
    print(
        json.dumps(
            {"bench": "sample_throughput", "threads": torch.get_num_threads(), "results": results}
        )
    )


if __name__ == "__main__":
    main()
