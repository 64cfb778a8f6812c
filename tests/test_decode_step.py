"""The sampler's one-token decode step against the decoder's forward, for every architecture:
the same logits and the same cache, on a left-padded batch whose rows have different lengths,
in fp32 and under bf16 autocast (where the step casts its joined weights once); and the memo
that reuses a step while the model's weights are unchanged, and only then."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch

import svglm.infer.decode_step as decode_step
from svglm.infer.decode_step import DecodeStep, Matrix, gates_first
from svglm.model.config import ARCHITECTURES
from svglm.model.transformer import KVCache
from tests.test_model import tiny

LENGTHS = [3, 7, 5]  # prompts, left-padded to 7
STEPS = 12  # past gemma3's sliding window of 5


def perturbed(architecture: str):
    """A tiny model whose norm weights, biases and gates are off their initial values, so
    that a weight the step leaves out or puts in the wrong place changes the logits."""
    model = tiny(architecture)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "A_log" not in name and "dt_bias" not in name:
                p.add_(torch.randn(p.shape, generator=g) * (0.3 if "norm" in name else 0.1))
    return model


@pytest.mark.parametrize(
    "bf16,packed_from",
    [(False, decode_step.PACKED_FROM), (False, 0), (True, decode_step.PACKED_FROM)],
    ids=["fp32", "fp32-packed", "bf16"],  # a tiny model's fp32 products are otherwise plain
)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_a_decode_step_computes_what_the_forward_computes(
    architecture, bf16, packed_from, monkeypatch
):
    monkeypatch.setattr(decode_step, "PACKED_FROM", packed_from)
    model = perturbed(architecture)
    g = torch.Generator().manual_seed(2)
    B, L, size = len(LENGTHS), max(LENGTHS), max(LENGTHS) + STEPS
    pads = torch.tensor([L - n for n in LENGTHS])[:, None]
    at = torch.arange(L)[None]
    idx = torch.randint(1, 97, (B, L), generator=g)
    doc_ids, positions = (at >= pads).long(), (at - pads).clamp(min=0)
    keys = torch.ones(B, size, dtype=torch.bool)
    keys[:, :L] = doc_ids == 1
    caches = [KVCache(model.cfg, B, size, idx.device, torch.float32) for _ in range(2)]
    tol = dict(atol=3e-2, rtol=3e-2) if bf16 else dict(atol=1e-5, rtol=1e-5)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for cache in caches:
            model(idx, positions=positions, doc_ids=doc_ids, cache=cache)
        step = DecodeStep(model, size)
        for t in range(STEPS):
            tokens = torch.randint(1, 97, (B, 1), generator=g)
            positions = (torch.tensor(LENGTHS) + t)[:, None]
            doc_ids = torch.cat([doc_ids, torch.ones(B, 1, dtype=torch.long)], 1)
            forward = model(tokens, positions=positions, doc_ids=doc_ids, cache=caches[0])
            stepped = step(tokens, positions, keys, caches[1])
            torch.testing.assert_close(stepped, forward[:, -1], **tol)
    assert caches[0].pos == caches[1].pos == size
    for a, b in zip(caches[0].k + caches[0].v, caches[1].k + caches[1].v, strict=True):
        if a is not None:
            torch.testing.assert_close(b, a, **tol)
    for a, b in zip(caches[0].state, caches[1].state, strict=True):
        if a is not None:  # linear-attention layers: the recurrent state
            torch.testing.assert_close(b, a, **tol)


def test_gates_first_moves_each_heads_gate_rows_ahead_of_the_queries():
    heads, dim = 3, 2
    # row r of a gated q_proj belongs to head r // 4, its query if r % 4 < 2, else its gate
    rows = torch.arange(heads * 2 * dim, dtype=torch.float32)[:, None].expand(-1, 5)
    moved = gates_first(rows, heads)[:, 0].tolist()
    assert moved == [2, 3, 6, 7, 10, 11, 0, 1, 4, 5, 8, 9]
    bias = torch.arange(heads * 2 * dim, dtype=torch.float32)
    assert gates_first(bias, heads).tolist() == moved


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("rows", [1, 3, 16, 64])
@pytest.mark.parametrize("bias", [False, True], ids=["", "bias"])
def test_a_matrix_multiplies_as_f_linear_plain_or_packed(dtype, rows, bias, monkeypatch):
    calls = []  # the packed product, counted on its way through
    real = decode_step._packed_linear
    monkeypatch.setattr(decode_step, "_packed_linear", lambda *a: calls.append(1) or real(*a))
    g = torch.Generator().manual_seed(rows)
    weight = torch.randn(1024, 192, generator=g).to(dtype)  # the demo's gate and up, joined
    b = torch.randn(1024, generator=g).to(dtype) if bias else None
    x = torch.randn(rows, 1, 192, generator=g).to(dtype)
    matrix = Matrix(weight, rows=16)  # packed for 16 rows, used at any width
    with torch.inference_mode():
        got = matrix(x, b)
    tol = dict(atol=5e-2, rtol=2e-2) if dtype == torch.bfloat16 else dict(atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(got, torch.nn.functional.linear(x, weight, b), **tol)
    if torch.backends.mkldnn.is_available():
        # bf16 always packed; fp32 from 300k multiply-adds: not 1 x 1024 x 192, but 3 x ...
        assert len(calls) == int(dtype == torch.bfloat16 or rows > 1)


def test_a_model_sampled_again_unchanged_reuses_its_step_and_a_changed_one_does_not():
    model = perturbed("llama")
    first = decode_step.decode_step(model, 20, rows=4)
    assert decode_step.decode_step(model, 20, rows=4) is first
    assert decode_step.decode_step(model, 10, rows=4) is first  # a shorter reach fits too
    with torch.autocast("cpu", dtype=torch.bfloat16):  # another dtype: a step of its own
        in_bf16 = decode_step.decode_step(model, 20, rows=4)
        assert in_bf16 is not first and in_bf16.dtype == torch.bfloat16
        assert decode_step.decode_step(model, 20, rows=4) is in_bf16
    assert decode_step.decode_step(model, 20, rows=4) is first  # each dtype keeps its own
    # an optimizer step moves the weights in place: the step built before is stale
    model.lm_head.weight.grad = torch.ones_like(model.lm_head.weight)
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    after_step = decode_step.decode_step(model, 20, rows=4)
    assert after_step is not first
    x = torch.randn(2, 1, model.cfg.d_model)
    torch.testing.assert_close(after_step.head(x), model.lm_head(x))
    model.load_state_dict(perturbed("llama").state_dict())  # so does loading a checkpoint
    loaded = decode_step.decode_step(model, 20, rows=4)
    assert loaded is not after_step
    model.lm_head.weight.data = model.lm_head.weight.data.clone()  # other memory: seen
    assert decode_step.decode_step(model, 20, rows=4) is not loaded
    loaded = decode_step.decode_step(model, 20, rows=4)
    assert decode_step.decode_step(model, 20, rows=1) is loaded  # packed for more rows: fits
    assert decode_step.decode_step(model, 20, rows=16) is not loaded  # for fewer: rebuilt


def test_the_step_memo_keeps_no_model_alive():
    gc.collect()
    before = len(decode_step._steps)
    model = perturbed("qwen35")  # linear-attention layers: the step holds their modules
    decode_step.decode_step(model, 20, rows=4)
    assert len(decode_step._steps) == before + 1 and decode_step._steps[model]
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None
    assert len(decode_step._steps) == before


def test_a_model_made_under_inference_mode_gets_a_new_step_each_time():
    with torch.inference_mode():  # its tensors count no versions: a change would go unseen
        model = perturbed("llama")
        assert decode_step.decode_step(model, 20, rows=4) is not decode_step.decode_step(
            model, 20, rows=4
        )
