"""svglm's batched KV-cache sampler against `transformers` generate() on the same weights, at
batch 1 and 16, greedy and sampled. Prints one JSON line per setting, then a summary.

    .venv/bin/python bench/sample_throughput.py [--new 48] [--prompts 32] [--rounds 5]
                                                [--compiled] [--bf16]

Both decode the same prompts (lengths 20..40, as probe prompts are) to exactly --new tokens (no
stop token), in the same process, interleaved rounds, median reported, both under
torch.inference_mode (generate() is about 10% faster in it than under its own no_grad).
generate() gets a left-padded batch with an attention mask, its usual use; the demo's shape,
random weights. Ours keeps its decode step (the weights joined and packed) from call to call, as
`svglm generate` and `svglm serve` do (`reuse_step`); `ratio_fresh` is the same sampler building
it in every call, as the probe does. With --compiled generate() also runs with a static cache
and a compiled forward (its compile time reported apart); with --bf16 each side also runs under
bf16 autocast. `ratio_best` sets our fastest mode against generate()'s.
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
from svglm.train.devices import keep_freed_memory


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


def random_prompts(n: int, vocab: int) -> list[list[int]]:
    """`n` seeded prompts of 20 to 40 tokens (as probe prompts are), ids 3 and up."""
    g = torch.Generator().manual_seed(1)
    prompts = []
    for _ in range(n):
        length = int(torch.randint(20, 41, (1,), generator=g))
        prompts.append(torch.randint(3, vocab, (length,), generator=g).tolist())
    return prompts


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


def under_bf16(decode):
    def run(batch: int, sampled: bool) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            decode(batch, sampled)

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--new", type=int, default=48)
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument(
        "--compiled",
        action="store_true",
        help="also generate() with a static cache and a compiled forward (as transformers "
        "documents)",
    )
    ap.add_argument(
        "--bf16", action="store_true", help="also each side under bf16 autocast (each in both)"
    )
    args = ap.parse_args()
    malloc_kept = keep_freed_memory()  # as every svglm command runs
    ours, hf = models()
    prompts = random_prompts(args.prompts, vocab=1024)

    def ours_side(model, reuse_step: bool):
        def decode(batch: int, sampled: bool) -> None:
            settings = Sampling(max_tokens=args.new, temperature=1.0 if sampled else 0.0)
            sample(model, prompts, settings, eos_id=-1, batch_size=batch, reuse_step=reuse_step)

        return decode

    def hf_side(model):
        return lambda batch, sampled: hf_generate(model, prompts, batch, args.new, sampled)

    sides = {
        "ours": ours_side(ours, reuse_step=True),
        "hf": hf_side(hf),
        "ours_fresh": ours_side(ours, reuse_step=False),
    }
    if args.bf16:
        for name in ("ours", "hf"):
            sides[f"{name}_bf16"] = under_bf16(sides[name])
    compile_s = {}
    if args.compiled:
        hf_compiled = reference_model(ours)
        hf_compiled.generation_config.cache_implementation = "static"
        hf_compiled.forward = torch.compile(hf_compiled.forward)
        sides["hf_compiled"] = hf_side(hf_compiled)
        with torch.inference_mode():
            t0 = time.perf_counter()
            for batch in (1, 16):  # the first calls compile
                sides["hf_compiled"](batch, False)
            compile_s["hf_compiled"] = round(time.perf_counter() - t0, 1)
    results = []
    with torch.inference_mode():
        for batch in (1, 16):
            for sampled in (False, True):
                times: dict[str, list[float]] = {name: [] for name in sides}
                for _ in range(args.rounds):
                    for name, decode in sides.items():
                        t0 = time.perf_counter()
                        decode(batch, sampled)
                        times[name].append(time.perf_counter() - t0)
                tokens = len(prompts) * args.new
                med = {name: statistics.median(t) for name, t in times.items()}
                row = {"batch": batch, "mode": "sampled" if sampled else "greedy"}
                row |= {f"{name}_tok_s": round(tokens / t, 1) for name, t in med.items()}
                row["ratio_vs_hf"] = round(med["hf"] / med["ours"], 3)
                row["ratio_fresh"] = round(med["hf"] / med["ours_fresh"], 3)
                if len(sides) > 3:
                    fastest = {
                        side: min(t for name, t in med.items() if name.startswith(side))
                        for side in ("ours", "hf")
                    }
                    row["ratio_best"] = round(fastest["hf"] / fastest["ours"], 3)
                results.append(row)
                print(json.dumps(row), flush=True)
    print(
        json.dumps(
            {
                "bench": "sample_throughput",
                "malloc_kept": malloc_kept,
                "threads": torch.get_num_threads(),
                "compile_s": compile_s,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
