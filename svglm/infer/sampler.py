"""Batched, KV-cached sampling with per-row stop rules.

Prompts of different lengths share a batch: each is left-padded to the longest, and the padding
is a row of its own (`doc_ids` 0), so no real token attends to it or carries state from it.
A row stops on `<|eos|>`, on the task's closing atom when asked, when its grammar is complete,
or when the token budget runs out; finished rows leave the batch and cost nothing more.
Greedy when `temperature` is 0; otherwise temperature, top-k, top-p and a repetition penalty
over a window, drawn from one seeded generator so that a call is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from svglm.errors import ConfigError
from svglm.infer.decode_step import DecodeStep, decode_step
from svglm.model.transformer import Decoder, KVCache


@dataclass(frozen=True)
class Sampling:
    max_tokens: int = 128
    temperature: float = 0.0  # 0 = greedy
    top_k: int = 0  # 0 = no cut
    top_p: float = 1.0  # nucleus mass; 1 = no cut
    repetition_penalty: float = 1.0  # > 1 discourages tokens of the last `window` outputs
    window: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        # Checked here because settings arrive from the command line and from files.
        if self.max_tokens < 1:
            raise ConfigError(f"max tokens must be at least 1 (got {self.max_tokens})")
        if self.temperature < 0 or self.top_k < 0 or self.window < 0:
            raise ConfigError("temperature, top-k and the repetition window must be >= 0")
        if self.repetition_penalty <= 0:
            raise ConfigError(f"repetition penalty must be > 0 (got {self.repetition_penalty})")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top-p must be in (0, 1] (got {self.top_p})")


@dataclass
class Generation:
    ids: list[int]  # generated tokens, without the stop token
    stop: str  # "eos", "close" or "budget"


class Constraint(Protocol):
    """Per-row token masks that keep every output inside a grammar (svglm.infer.grammar)."""

    def start(self, rows: int) -> None:
        """Begin `rows` fresh outputs."""

    def allowed(self, rows: list[int], vocab: int) -> torch.Tensor:
        """(len(rows), vocab) booleans: the tokens each listed row may take next."""

    def advance(self, row: int, token: int) -> None:
        """Row `row` took `token`."""


def _pick(
    logits: torch.Tensor, recent: torch.Tensor | None, s: Sampling, gen: torch.Generator
) -> torch.Tensor:
    """One token per row from (B, V) float logits; `recent` (B, W) holds each row's last
    outputs, -1 where there are none yet (None when there is no repetition penalty)."""
    if recent is not None and recent.numel():
        V = logits.shape[-1]  # a missing output (-1) marks the spare column V
        seen = torch.zeros(logits.shape[0], V + 1, dtype=torch.bool, device=logits.device)
        seen = seen.scatter(1, torch.where(recent >= 0, recent, V), True)[:, :V]
        scaled = torch.where(
            logits > 0, logits / s.repetition_penalty, logits * s.repetition_penalty
        )
        logits = torch.where(seen, scaled, logits)
    if s.temperature == 0:
        return logits.argmax(-1)
    logits = logits / s.temperature
    if s.top_k:
        kth = logits.topk(min(s.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if s.top_p < 1.0:
        order = logits.sort(dim=-1, descending=True)
        probs = order.values.softmax(-1)
        drop = probs.cumsum(-1) - probs >= s.top_p  # keep the head that reaches top_p
        logits = logits.scatter(1, order.indices, order.values.masked_fill(drop, float("-inf")))
    return draw(logits.softmax(-1), gen)


def draw(probs: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One token per row of (B, V) probabilities: where the running sum first passes a uniform
    draw. One random number a row, where torch.multinomial races one per vocabulary entry
    (16 µs a row at 1,024 entries on a 2-core CPU, a third of a decode step). A token of
    probability 0 is never drawn."""
    cdf = probs.cumsum(-1)
    total = cdf[:, -1:]
    u = torch.rand(probs.shape[0], 1, generator=gen, dtype=cdf.dtype).to(cdf.device)
    # kept below the total, where rounding could put u * total, so that some token passes it
    at = torch.minimum(u * total, total.nextafter(torch.zeros_like(total)))
    return torch.searchsorted(cdf, at, right=True).squeeze(1)


@torch.inference_mode()
def sample(
    model: Decoder,
    prompts: list[list[int]],
    settings: Sampling,
    eos_id: int,
    pad_id: int = 0,
    close_id: int | None = None,
    batch_size: int = 64,
    constraint: Constraint | None = None,
    reuse_step: bool = False,
) -> list[Generation]:
    """One generation per prompt (token ids, `<|bos|>` first), in the prompts' order. Rows are
    the constraint's rows in the same order (`constraint.start` is called here).

    reuse_step: keep the weights joined and packed for decoding (`decode_step`) for later
    calls with this model, for a caller whose model stays fixed, such as a server's (3 to 5 ms
    a call at the demo's shape). Optimizer steps and load_state_dict are seen; a write through
    a parameter's `.data` is not."""
    gen = torch.Generator().manual_seed(settings.seed)
    if constraint is not None:
        constraint.start(len(prompts))
    # Longest first, so a batch holds prompts of similar length and pads little.
    order = sorted(range(len(prompts)), key=lambda i: (-len(prompts[i]), i))
    longest = max(map(len, prompts), default=0)
    # Packed for the widest batch: weights packed for more rows serve fewer as fast, so a kept
    # step serves any later call (bench/README.md, "Sampling").
    max_len, width = longest + settings.max_tokens, max(1, batch_size)
    step = decode_step(model, max_len, width) if reuse_step else DecodeStep(model, max_len, width)
    results: dict[int, Generation] = {}
    for at in range(0, len(order), batch_size):
        rows = order[at : at + batch_size]
        batch = [prompts[i] for i in rows]
        done = _decode(
            model, step, batch, rows, settings, eos_id, pad_id, close_id, constraint, gen
        )
        results.update(zip(rows, done, strict=True))
    return [results[i] for i in range(len(prompts))]


def _decode(
    model: Decoder,
    step: DecodeStep,
    prompts: list[list[int]],
    rows: list[int],
    s: Sampling,
    eos_id: int,
    pad_id: int,
    close_id: int | None,
    constraint: Constraint | None,
    gen: torch.Generator,
) -> list[Generation]:
    """One batch: prefill the left-padded prompts, then decode until every row stops."""
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    B, L = len(prompts), max(len(p) for p in prompts)
    pads = [L - len(p) for p in prompts]
    idx = torch.tensor(
        [[pad_id] * n + p for n, p in zip(pads, prompts, strict=True)], device=device
    )
    doc_ids = None
    positions = None
    if any(pads):  # padding is a row of its own, and each prompt counts from position 0
        at = torch.arange(L, device=device)[None, :]
        first = torch.tensor(pads, device=device)[:, None]
        doc_ids = (at >= first).long()
        positions = (at - first).clamp(min=0)
    cache = KVCache(model.cfg, B, L + s.max_tokens, device, dtype)
    logits = model(idx, positions, doc_ids, cache, logits_to_keep=1)[:, -1].float()
    keys = None  # the cache slots a new token may see: all but its row's padding
    if doc_ids is not None:
        keys = torch.ones(B, L + s.max_tokens, dtype=torch.bool, device=device)
        keys[:, :L] = doc_ids == 1
    lengths = torch.tensor([len(p) for p in prompts], device=device)
    alive = list(range(B))  # batch positions still decoding, in cache order
    out: list[list[int]] = [[] for _ in range(B)]
    stop: list[str] = ["budget"] * B
    for made in range(s.max_tokens):  # tokens each live row took before this one
        if constraint is not None:
            allowed = constraint.allowed([rows[r] for r in alive], logits.shape[-1])
            logits = logits.masked_fill(~allowed.to(device), float("-inf"))
        recent = _recent(out, alive, s.window, device) if s.repetition_penalty != 1 else None
        tokens = _pick(logits, recent, s, gen).tolist()
        keep = []
        for j, (r, token) in enumerate(zip(alive, tokens, strict=True)):
            if constraint is not None:
                constraint.advance(rows[r], token)
            if token == eos_id:
                stop[r] = "eos"
                continue
            out[r].append(token)
            if token == close_id:
                stop[r] = "close"
                continue
            keep.append(j)
        if not keep or made == s.max_tokens - 1:
            break
        if len(keep) < len(alive):
            kept = torch.tensor(keep, device=device)
            cache.keep(kept)
            lengths = lengths.index_select(0, kept)
            if keys is not None:
                keys = keys.index_select(0, kept)
            tokens = [tokens[j] for j in keep]
            alive = [alive[j] for j in keep]
        nxt = torch.tensor(tokens, device=device)[:, None]
        positions = (lengths + made)[:, None]
        logits = step(nxt, positions, keys, cache).float()
    return [Generation(out[r], stop[r]) for r in range(B)]


def _recent(
    out: list[list[int]], alive: list[int], window: int, device: torch.device
) -> torch.Tensor:
    """(len(alive), window) of each row's last outputs, -1-padded."""
    tail = [out[r][-window:] for r in alive]
    width = max((len(t) for t in tail), default=0)
    return torch.tensor([[-1] * (width - len(t)) + t for t in tail], device=device).view(
        len(alive), width
    )
