"""The decoder, for every family: KV-cached decoding equals the full forward, packed rows
equal each row run on its own, and the chunked delta rule equals its token recurrence."""

from __future__ import annotations

import pytest
import torch

from svglm.infer.generate import greedy
from svglm.model.config import FAMILIES, family_config
from svglm.model.transformer import Decoder, KVCache, chunked_delta_rule, recurrent_delta_rule

# Small windows and mixed layer kinds so that sliding and linear layers take part.
KINDS = {
    "gemma3": dict(layer_types=("sliding", "full"), sliding_window=5),
    "qwen35": dict(layer_types=("linear", "full")),
}


def tiny(family: str) -> Decoder:
    torch.manual_seed(0)
    sizes = dict(
        vocab_size=97, n_layer=2, d_model=32, n_head=4, n_kv_head=2, d_ff=64, max_seq_len=64
    )
    cfg = family_config(family, **sizes, **KINDS.get(family, {}))
    return Decoder(cfg).eval()


@pytest.mark.parametrize("family", FAMILIES)
def test_kv_cache_matches_full_forward(family):
    model = tiny(family)
    x = torch.randint(0, 97, (3, 20))
    full = model(x)
    cache = KVCache(model.cfg, 3, 20, x.device, torch.float32)
    steps = [model(x[:, :7], cache=cache)] + [
        model(x[:, t : t + 1], cache=cache) for t in range(7, 20)
    ]
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_packed_rows_equal_rows_alone(family):
    model = tiny(family)
    a, b = torch.randint(0, 97, (1, 9)), torch.randint(0, 97, (1, 13))
    packed = torch.cat([a, b], 1)
    positions = torch.cat([torch.arange(9), torch.arange(13)])[None]
    doc_ids = torch.tensor([[0] * 9 + [1] * 13])
    out = model(packed, positions=positions, doc_ids=doc_ids)
    torch.testing.assert_close(out[:, :9], model(a), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[:, 9:], model(b), atol=1e-5, rtol=1e-5)


def test_family_presets_set_their_switches():
    assert tiny("qwen2").layers[0].attn.q_proj.bias is not None
    assert tiny("gemma3").layers[0].sandwich and tiny("gemma3").cfg.embed_scale
    assert [b.kind for b in tiny("qwen35").layers] == ["linear", "full"]
    assert family_config(
        "qwen35",
        vocab_size=9,
        n_layer=8,
        d_model=32,
        n_head=4,
        n_kv_head=2,
        d_ff=64,
        max_seq_len=64,
    ).types == ("linear",) * 3 + ("full",) + ("linear",) * 3 + ("full",)


def test_qwen3_preset_sets_qk_norm_and_llama_does_not():
    assert tiny("qwen3").layers[0].attn.q_norm is not None
    assert not hasattr(tiny("llama").layers[0].attn, "q_norm")


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


def test_chunked_delta_rule_equals_the_token_recurrence():
    torch.manual_seed(0)
    B, H, T, D = 2, 3, 11, 8
    q, k, v = (torch.randn(B, H, T, D) * 0.3 for _ in range(3))
    g, beta = -torch.rand(B, H, T), torch.rand(B, H, T)
    state = torch.randn(B, H, D, D) * 0.1  # a carried-in state, as after a prefill
    ref, ref_state = recurrent_delta_rule(
        q, k, v, g, beta, state, torch.zeros(B, T, dtype=torch.bool)
    )
    for chunk in (4, 64):  # several chunks with a ragged tail, and one padded chunk
        out, out_state = chunked_delta_rule(q, k, v, g, beta, state, chunk=chunk)
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out_state, ref_state, atol=1e-5, rtol=1e-5)
