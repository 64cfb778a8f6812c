"""Batched greedy decoding with the KV cache.

Prompts are batched by token length, so a batch needs no padding and every row shares one
cache position. Each row stops on <|eos|>, on the task's closing atom when asked, or when the
token budget runs out; the reason is returned with the tokens.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import torch

from svglm.model.transformer import Decoder, KVCache


@dataclass
class Generation:
    ids: list[int]  # generated tokens, without the stop token
    stop: str  # "eos", "close" or "budget"


@torch.no_grad()
def greedy(
    model: Decoder,
    prompts: list[list[int]],
    max_tokens: int,
    eos_id: int,
    close_id: int | None = None,
    batch_size: int = 64,
) -> list[Generation]:
    by_length: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(prompts):
        by_length[len(p)].append(i)
    results: dict[int, Generation] = {}
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    for length, members in sorted(by_length.items()):
        for at in range(0, len(members), batch_size):
            chunk = members[at : at + batch_size]
            idx = torch.tensor([prompts[i] for i in chunk], device=device)
            cache = KVCache(model.cfg, len(chunk), length + max_tokens, device, dtype)
            logits = model(idx, cache=cache)[:, -1]
            out: list[list[int]] = [[] for _ in chunk]
            stop: list[str | None] = [None] * len(chunk)
            for _ in range(max_tokens):
                nxt = logits.argmax(-1)
                for r, token in enumerate(nxt.tolist()):
                    if stop[r] is not None:
                        continue
                    if token == eos_id:
                        stop[r] = "eos"
                        continue
                    out[r].append(token)
                    if token == close_id:
                        stop[r] = "close"
                if all(s is not None for s in stop):
                    break
                logits = model(nxt[:, None], cache=cache)[:, -1]
            for r, i in enumerate(chunk):
                results[i] = Generation(out[r], stop[r] or "budget")
    return [results[i] for i in range(len(prompts))]
