"""The decoder, for every architecture: KV-cached decoding equals the full forward, packed rows
equal each row run on its own, the chunked delta rule equals its token recurrence, and the CPU
attention path equals plain scaled_dot_product_attention. (The sampler built on the cache is
tested in test_sampler.py.)"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from svglm.model.config import ARCHITECTURES, architecture_config
from svglm.model.transformer import (
    Decoder,
    KVCache,
    attend,
    chunked_delta_rule,
    recurrent_delta_rule,
    sdpa_attend,
)

# Small windows and mixed layer kinds so that sliding and linear layers take part.
KINDS = {
    "gemma3": dict(layer_types=("sliding", "full"), sliding_window=5),
    "qwen35": dict(layer_types=("linear", "full")),
}


def tiny(architecture: str) -> Decoder:
    torch.manual_seed(0)
    sizes = dict(vocab_size=97, n_layer=2, d_model=32, n_head=4, n_kv_head=2, d_ff=64, seq_len=64)
    cfg = architecture_config(architecture, **sizes, **KINDS.get(architecture, {}))
    return Decoder(cfg).eval()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_kv_cache_matches_full_forward(architecture):
    model = tiny(architecture)
    x = torch.randint(0, 97, (3, 20))
    full = model(x)
    cache = KVCache(model.cfg, 3, 20, x.device, torch.float32)
    steps = [model(x[:, :7], cache=cache)] + [
        model(x[:, t : t + 1], cache=cache) for t in range(7, 20)
    ]
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)


def last_block(architecture: str, kind: str, **kinds) -> Decoder:
    """A tiny decoder whose last block is of `kind` (tiny() puts a full one last)."""
    torch.manual_seed(0)
    sizes = dict(vocab_size=97, n_layer=2, d_model=32, n_head=4, n_kv_head=2, d_ff=64, seq_len=64)
    cfg = architecture_config(architecture, **sizes, layer_types=("full", kind), **kinds)
    return Decoder(cfg).eval()


MODELS = {name: lambda name=name: tiny(name) for name in ARCHITECTURES} | {
    "qwen35-last-linear": lambda: last_block("qwen35", "linear"),
    "gemma3-last-sliding": lambda: last_block("gemma3", "sliding", sliding_window=5),
}


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("keep", [1, 3, 20])  # 20: more than the 11 positions there are
def test_logits_to_keep_gives_the_last_positions_logits(model_name, keep):
    model = MODELS[model_name]()
    x = torch.randint(0, 97, (2, 11))
    want = model(x)[:, -keep:]
    torch.testing.assert_close(model(x, logits_to_keep=keep), want, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("model_name", MODELS)
def test_a_prefill_keeping_one_logit_caches_every_position(model_name):
    """Prefill left-padded rows keeping one logit, then decode: the same logits as from a
    prefill that computed every position, and the last block's MLP saw one position a row."""
    model = MODELS[model_name]()
    x = torch.randint(1, 97, (2, 12))
    doc_ids = torch.tensor([[0] * 4 + [1] * 8, [1] * 12])
    positions = torch.tensor([[0] * 4 + list(range(8)), list(range(12))])
    mlp_rows = []
    hook = model.layers[-1].mlp.register_forward_hook(lambda m, i, o: mlp_rows.append(i[0].shape))
    runs = []
    for keep in (0, 1):
        cache = KVCache(model.cfg, 2, 16, x.device, torch.float32)
        first = model(x, positions, doc_ids, cache, logits_to_keep=keep)[:, -1]
        nxt = torch.tensor([[5], [6]])
        ids = torch.cat([doc_ids, torch.ones(2, 1, dtype=torch.long)], 1)
        then = model(nxt, positions[:, -1:] + 1, ids, cache)[:, -1]
        runs.append((first, then))
    hook.remove()
    assert mlp_rows[2] == (2, 1, 32)  # the kept prefill's (the full one's is (2, 12, 32))
    for full, kept in zip(*runs, strict=True):
        torch.testing.assert_close(kept, full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_packed_rows_equal_rows_alone(architecture):
    model = tiny(architecture)
    a, b = torch.randint(0, 97, (1, 9)), torch.randint(0, 97, (1, 13))
    packed = torch.cat([a, b], 1)
    positions = torch.cat([torch.arange(9), torch.arange(13)])[None]
    doc_ids = torch.tensor([[0] * 9 + [1] * 13])
    out = model(packed, positions=positions, doc_ids=doc_ids)
    torch.testing.assert_close(out[:, :9], model(a), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[:, 9:], model(b), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_a_left_padded_row_decodes_as_if_alone(architecture):
    """What the sampler does with prompts of different lengths: padding is a row of its own,
    in the prefill and in every cached step after it."""
    model = tiny(architecture)
    row = torch.randint(1, 97, (1, 8))
    pad = 5
    padded = torch.cat([torch.zeros(1, pad, dtype=torch.long), row[:, :2]], 1)
    doc_ids = torch.tensor([[0] * pad + [1] * 2])
    positions = torch.tensor([[0] * pad + [0, 1]])
    cache = KVCache(model.cfg, 1, 16, row.device, torch.float32)
    steps = [model(padded, positions=positions, doc_ids=doc_ids, cache=cache)[:, pad:]]
    for t in range(2, 8):
        doc_ids = torch.cat([doc_ids, torch.ones(1, 1, dtype=torch.long)], 1)
        steps.append(
            model(row[:, t : t + 1], positions=torch.tensor([[t]]), doc_ids=doc_ids, cache=cache)
        )
    torch.testing.assert_close(torch.cat(steps, 1), model(row), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "architecture, has_qk_norm",
    [("qwen3", True), ("gemma3", True), ("llama", False), ("qwen2", False)],
)
def test_qk_norm_makes_attention_blind_to_the_scale_of_q_and_k(architecture, has_qk_norm):
    """QK-norm normalizes each head's q and k, so scaling their projections changes nothing;
    without it the attention logits, and so the output, change."""
    model = tiny(architecture)
    x = torch.randint(0, 97, (2, 12))
    with torch.no_grad():
        before = model(x)
        for block in model.layers:
            block.attn.q_proj.weight.mul_(7.0)
            block.attn.k_proj.weight.mul_(7.0)
        after = model(x)
    assert torch.allclose(before, after, atol=1e-4) == has_qk_norm


def test_sliding_window_layers_see_only_their_window():
    """Two sliding layers of window 4 reach back 2 x 3 positions: token 0 cannot influence
    position 7 or later. With full layers it can."""
    torch.manual_seed(0)
    sizes = dict(vocab_size=97, n_layer=2, d_model=32, n_head=4, n_kv_head=2, d_ff=64, seq_len=64)
    for kinds, reaches in ((("sliding", "sliding"), False), (("full", "full"), True)):
        model = Decoder(architecture_config("gemma3", layer_types=kinds, sliding_window=4, **sizes))
        x = torch.randint(1, 97, (1, 12))
        y = x.clone()
        y[0, 0] = 0  # change only the first token
        with torch.no_grad():
            moved = (model(x) - model(y)).abs().amax(-1)[0]
        assert moved[1] > 1e-6  # its neighbour always sees it
        assert bool((moved[7:] > 1e-6).any()) == reaches


@pytest.mark.parametrize(
    "architecture, model_type, n", [("gemma3", "gemma3_text", 12), ("qwen35", "qwen3_5_text", 8)]
)
def test_layer_patterns_match_the_reference_configs(architecture, model_type, n):
    """Which layers are sliding or linear follows transformers' own default for that model."""
    from transformers import AutoConfig

    from svglm.model.hf import HF_LAYER_TYPE

    ours = architecture_config(
        architecture,
        vocab_size=9,
        n_layer=n,
        d_model=32,
        n_head=4,
        n_kv_head=2,
        d_ff=64,
        seq_len=64,
    )
    reference = AutoConfig.for_model(model_type, num_hidden_layers=n).layer_types
    assert [HF_LAYER_TYPE[t] for t in ours.types] == reference


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


def packed_causal_mask(lengths: list[int] | list[list[int]], S: int, T: int) -> torch.Tensor:
    """(1, 1, T, S) mask for rows of `lengths` packed into S positions, queries the last T;
    (B, 1, T, S) for one list of lengths per batch row."""
    if isinstance(lengths[0], list):
        return torch.cat([packed_causal_mask(row, S, T) for row in lengths])
    doc = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths))
    allowed = torch.ones(S, S, dtype=torch.bool).tril() & (doc[:, None] == doc[None, :])
    return allowed[None, None, S - T :]


@pytest.mark.parametrize(
    "S, T, lengths, scale",
    [
        (150, 150, None, None),  # plain causal, chunks with a ragged last one
        (150, 150, [40, 70, 25, 15], None),  # packed rows crossing chunk boundaries
        (150, 150, [[40, 70, 25, 15], [3, 100, 47]], 0.3),  # each batch row packed its own way
        (200, 70, [90, 110], None),  # queries after a cached prefix
        (200, 70, None, None),  # the same, plain causal: the diagonal at the bottom right
        (33, 1, None, 0.3),  # one decode step
    ],
)
def test_cpu_attention_in_query_chunks_equals_plain_sdpa(S, T, lengths, scale):
    """`attend`'s CPU path (fp32, query chunks reading only the keys they can see) computes
    what one scaled_dot_product_attention call over every key computes, values and gradients,
    and brings bf16 inputs back as bf16 at fp32 accuracy; its CUDA path computes the same."""
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 4, T, 16, generator=g, requires_grad=True)
    k, v = (torch.randn(2, 2, S, 16, generator=g, requires_grad=True) for _ in range(2))
    mask = packed_causal_mask(lengths, S, T) if lengths else None
    plain_mask = mask if mask is not None else torch.ones(S, S, dtype=torch.bool).tril()[S - T :]
    ref = F.scaled_dot_product_attention(
        q, k, v, attn_mask=plain_mask, scale=scale, enable_gqa=True
    )
    out = attend(q, k, v, mask, scale, gqa=True)
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-5)
    # the path CUDA takes, one SDPA call, run here on the CPU
    torch.testing.assert_close(sdpa_attend(q, k, v, mask, scale, True), ref, atol=1e-6, rtol=1e-5)
    upstream = torch.randn(out.shape, generator=g)  # a different gradient for every query
    grads = torch.autograd.grad(out, (q, k, v), upstream)
    ref_grads = torch.autograd.grad(ref, (q, k, v), upstream)
    for grad, ref_grad in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(grad, ref_grad, atol=1e-5, rtol=1e-5)

    low = attend(q.bfloat16(), k.bfloat16(), v.bfloat16(), mask, scale, gqa=True)
    assert low.dtype == torch.bfloat16
    exact = F.scaled_dot_product_attention(
        q.bfloat16().float(),
        k.bfloat16().float(),
        v.bfloat16().float(),
        attn_mask=plain_mask,
        scale=scale,
        enable_gqa=True,
    )
    assert (low.float() - exact).abs().max().item() <= 2**-7  # only the final rounding
