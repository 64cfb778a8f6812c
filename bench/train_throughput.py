"""Training throughput of svglm's decoder against the Hugging Face Qwen3 reference, same config,
same batches, same optimizer, measured in the same process with interleaved repeats. Prints JSON;
the number to read is `ratio` (ours / HF tokens per second).

    .venv/bin/python bench/train_throughput.py [--steps 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
import torch.nn.functional as F
from transformers import Qwen3Config, Qwen3ForCausalLM

from svglm.model.config import architecture_config
from svglm.model.transformer import Decoder


def time_steps(forward, params, batches) -> float:
    opt = torch.optim.AdamW(params, lr=1e-3)
    forward(batches[0]).sum().backward()  # warm-up step, not timed
    opt.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    for x in batches:
        logits = forward(x)
        F.cross_entropy(
            logits[:, :-1].reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1)
        ).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=128)
    args = ap.parse_args()
    vocab, d, layers, heads, kv, ff = 582, 192, 3, 6, 2, 512  # the demo's shape
    ours = Decoder(
        architecture_config(
            "qwen3",
            vocab_size=vocab,
            n_layer=layers,
            d_model=d,
            n_head=heads,
            n_kv_head=kv,
            d_ff=ff,
            seq_len=args.seq_len,
        )
    )
    hf = Qwen3ForCausalLM(
        Qwen3Config(
            vocab_size=vocab,
            hidden_size=d,
            intermediate_size=ff,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=kv,
            head_dim=d // heads,
            max_position_embeddings=args.seq_len,
            tie_word_embeddings=True,
            rms_norm_eps=1e-6,
            attn_implementation="sdpa",
        )
    )
    torch.manual_seed(0)
    batches = [torch.randint(0, vocab, (args.batch, args.seq_len)) for _ in range(args.steps)]
    tokens = args.steps * args.batch * args.seq_len
    ours_s, hf_s = [], []
    for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits both
        ours_s.append(time_steps(ours, ours.parameters(), batches))
        hf_s.append(time_steps(lambda x: hf(input_ids=x).logits, hf.parameters(), batches))
    ours_tps, hf_tps = tokens / min(ours_s), tokens / min(hf_s)
    print(
        json.dumps(
            {
                "bench": "train_throughput",
                "machine": platform.processor() or platform.machine(),
                "threads": torch.get_num_threads(),
                "batch": args.batch,
                "seq_len": args.seq_len,
                "params_ours": sum(p.numel() for p in ours.parameters()),
                "params_hf": sum(p.numel() for p in hf.parameters()),
                "ours_tokens_per_s": round(ours_tps),
                "hf_tokens_per_s": round(hf_tps),
                "ratio": round(ours_tps / hf_tps, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
