"""The decoder: KV-cached decoding equals the full forward, and packed rows with the
block-causal mask equal each row run on its own."""

from __future__ import annotations

import pytest
import torch

from svglm.infer.generate import greedy
from svglm.model.config import family_config
from svglm.model.transformer import Decoder, KVCache


def tiny(family: str) -> Decoder:
    torch.manual_seed(0)
    cfg = family_config(
        family, vocab_size=97, n_layer=2, d_model=32, n_head=4, n_kv_head=2, d_ff=64, max_seq_len=64
    )
    return Decoder(cfg).eval()


@pytest.mark.parametrize("family", ["llama", "qwen3"])
def test_kv_cache_matches_full_forward(family):
    model = tiny(family)
    x = torch.randint(0, 97, (3, 20))
    full = model(x)
    cache = KVCache(model.cfg, 3, 20, x.device, torch.float32)
    steps = [model(x[:, :7], cache=cache)] + [
        model(x[:, t : t + 1], cache=cache) for t in range(7, 20)
    ]
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", ["llama", "qwen3"])
def test_packed_rows_equal_rows_alone(family):
    model = tiny(family)
    a, b = torch.randint(0, 97, (1, 9)), torch.randint(0, 97, (1, 13))
    packed = torch.cat([a, b], 1)
    positions = torch.cat([torch.arange(9), torch.arange(13)])[None]
    doc_ids = torch.tensor([[0] * 9 + [1] * 13])
    out = model(packed, positions=positions, doc_ids=doc_ids)
    torch.testing.assert_close(out[:, :9], model(a), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[:, 9:], model(b), atol=1e-5, rtol=1e-5)


def test_qwen3_preset_sets_qk_norm_and_llama_does_not():
    assert tiny("qwen3").layers[0].self_attn.q_norm is not None
    assert not hasattr(tiny("llama").layers[0].self_attn, "q_norm")


def test_batched_greedy_equals_one_prompt_at_a_time():
    model = tiny("qwen3")
    prompts = [[1, 5, 9], [1, 7, 7, 3], [1, 2, 3], [1, 50, 60, 70]]
    together = greedy(model, prompts, max_tokens=12, eos_id=96, batch_size=4)
    alone = [greedy(model, [p], max_tokens=12, eos_id=96)[0] for p in prompts]
    assert [g.ids for g in together] == [g.ids for g in alone]
    # the reference: argmax over the full (uncached) forward, token by token
    for p, g in zip(prompts, together, strict=True):
        seq = list(p)
        for _ in range(len(g.ids)):
            seq.append(int(model(torch.tensor([seq]))[0, -1].argmax()))
        assert seq[len(p) :] == g.ids


def test_generation_stops_on_eos_and_close_per_row():
    model = tiny("llama")
    free = greedy(model, [[1, 4]], max_tokens=10, eos_id=96)[0]
    assert free.stop == "budget" and len(free.ids) == 10
    close = free.ids[3]
    stopped = greedy(model, [[1, 4]], max_tokens=10, eos_id=96, close_id=close)[0]
    assert stopped.stop == "close" and stopped.ids == free.ids[: free.ids.index(close) + 1]
    eos = greedy(model, [[1, 4]], max_tokens=10, eos_id=free.ids[2])[0]
    assert eos.stop == "eos" and eos.ids == free.ids[: free.ids.index(free.ids[2])]
