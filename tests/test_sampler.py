"""The sampler: batched prompts of any lengths decode exactly as each prompt alone would (the
reference is argmax over the uncached forward), rows stop on their own, and sampling settings do
what they say and are deterministic for a seed."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import svglm.infer.decode_step as decode_step
from svglm.errors import ConfigError
from svglm.infer.sampler import Sampling, _pick, draw, sample
from svglm.model.config import ARCHITECTURES
from tests.test_model import tiny

# Mixed lengths, one shorter than the linear layers' conv window (qwen35).
PROMPTS = [[1, 5, 9], [1, 7, 7, 3, 8, 2], [1, 2], [1, 50, 60, 70]]


def reference(model, prompt, n):
    seq = list(prompt)
    for _ in range(n):
        seq.append(int(model(torch.tensor([seq]))[0, -1].argmax()))
    return seq[len(prompt) :]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_a_padded_batch_decodes_each_prompt_as_alone(architecture):
    model = tiny(architecture)
    together = sample(model, PROMPTS, Sampling(max_tokens=12), eos_id=-1, batch_size=4)
    for p, g in zip(PROMPTS, together, strict=True):
        assert g.ids == reference(model, p, 12) and g.stop == "budget"


def test_a_kept_step_decodes_as_a_fresh_one_until_the_weights_change():
    model = tiny("qwen3")
    settings = Sampling(max_tokens=8)
    fresh = sample(model, PROMPTS, settings, eos_id=-1)
    assert not decode_step._steps.get(model)  # by default nothing is kept
    kept = [sample(model, PROMPTS, settings, eos_id=-1, reuse_step=True) for _ in range(2)]
    assert kept[0] == kept[1] == fresh and decode_step._steps[model]
    opt = torch.optim.SGD(model.parameters(), lr=1.0)  # one training step moves every weight
    model(torch.tensor([PROMPTS[1]])).logsumexp(-1).sum().backward()
    opt.step()
    trained = sample(model, PROMPTS, settings, eos_id=-1, reuse_step=True)
    assert trained == sample(model, PROMPTS, settings, eos_id=-1) != fresh


def test_rows_that_stop_leave_the_batch_and_the_rest_go_on_unchanged():
    model = tiny("qwen3")
    free = sample(model, PROMPTS, Sampling(max_tokens=10), eos_id=-1)
    eos = free[1].ids[2]  # row 1 ends early on this token; the others may or may not meet it
    stopped = sample(model, PROMPTS, Sampling(max_tokens=10), eos_id=eos)
    for f, s in zip(free, stopped, strict=True):
        if eos in f.ids:
            assert s.stop == "eos" and s.ids == f.ids[: f.ids.index(eos)]
        else:
            assert s.stop == "budget" and s.ids == f.ids


def test_generation_stops_on_eos_and_close_per_row():
    model = tiny("llama")
    free = sample(model, [[1, 4]], Sampling(max_tokens=10), eos_id=96)[0]
    assert free.stop == "budget" and len(free.ids) == 10
    close = free.ids[3]
    stopped = sample(model, [[1, 4]], Sampling(max_tokens=10), eos_id=96, close_id=close)[0]
    assert stopped.stop == "close" and stopped.ids == free.ids[: free.ids.index(close) + 1]


def test_sampling_is_deterministic_for_a_seed_and_varies_with_it():
    model = tiny("qwen3")
    s = Sampling(max_tokens=16, temperature=1.5, top_p=0.95, seed=7)
    first, again = sample(model, PROMPTS, s, eos_id=-1), sample(model, PROMPTS, s, eos_id=-1)
    assert [g.ids for g in first] == [g.ids for g in again]
    other = sample(model, PROMPTS, Sampling(max_tokens=16, temperature=1.5, seed=8), eos_id=-1)
    assert [g.ids for g in first] != [g.ids for g in other]


def draws(logits, s, n=400):
    gen = torch.Generator().manual_seed(0)
    return {int(_pick(logits, None, s, gen)) for _ in range(n)}


def test_top_k_and_top_p_cut_the_tail():
    logits = torch.tensor([[4.0, 3.0, 2.0, 1.0, 0.0]])
    assert draws(logits, Sampling(temperature=5.0)) == {0, 1, 2, 3, 4}
    assert draws(logits, Sampling(temperature=5.0, top_k=2)) == {0, 1}
    # probabilities 0.64, 0.24, 0.09, ...: the nucleus of 0.8 holds the first two
    assert draws(logits, Sampling(temperature=1.0, top_p=0.8)) == {0, 1}
    assert draws(logits, Sampling(temperature=1.0, top_p=0.5)) == {0}


def test_draws_follow_the_probabilities():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05, 0.0])
    n = 40_000  # one draw per row; the standard error of a share is at most 0.0025
    tokens = draw(probs.expand(n, -1), torch.Generator().manual_seed(3))
    shares = torch.bincount(tokens, minlength=5) / n
    torch.testing.assert_close(shares, probs, atol=0.01, rtol=0)
    assert shares[4] == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40).filter(lambda w: sum(w) > 1e-3),
    st.integers(0, 2**31),
)
def test_a_token_of_probability_zero_is_never_drawn(weights, seed):
    probs = torch.tensor(weights) / sum(weights)
    tokens = draw(probs.expand(64, -1), torch.Generator().manual_seed(seed))
    assert bool((probs[tokens] > 0).all())


def test_repetition_penalty_moves_greedy_off_recent_tokens():
    logits = torch.tensor([[3.0, 2.9, -1.0]])
    gen = torch.Generator()
    recent = torch.tensor([[0, -1]])
    assert int(_pick(logits, recent, Sampling(), gen)) == 0
    assert int(_pick(logits, recent, Sampling(repetition_penalty=1.2), gen)) == 1
    assert int(_pick(logits, torch.tensor([[-1, -1]]), Sampling(repetition_penalty=1.2), gen)) == 0


@pytest.mark.parametrize(
    "bad",
    [dict(max_tokens=0), dict(temperature=-1), dict(top_p=0), dict(repetition_penalty=0)],
)
def test_bad_settings_are_one_line_errors(bad):
    with pytest.raises(ConfigError):
        Sampling(**bad)
