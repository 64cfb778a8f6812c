"""Grammar-constrained decoding: a task's grammar holds exactly the targets the task makes, and
under it even an untrained model writes only blocks that parse, one token per atom."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from svglm.infer.grammar import GrammarConstraint, bind_atoms
from svglm.infer.sampler import Sampling, sample
from svglm.model.config import architecture_config
from svglm.model.transformer import Decoder
from svglm.tasks.grammar import lark_grammar
from svglm.tasks.scene import SceneTask
from svglm.tokenizer.bpe import train_bpe

ALPHABET = [f"[a:{i}]" for i in range(6)] + ["[end]"]


def tokenizer_for(atoms, rows=("<|bos|> hello world <|eos|>",), vocab=400):
    return train_bpe(list(rows), atoms, vocab)


ALPHABET_TOK = tokenizer_for(ALPHABET)


def accepts(constraint: GrammarConstraint, atoms: list[str]) -> bool:
    """Whether the grammar takes the atoms, each as its token, and then ends."""
    constraint.start(1)
    matcher = constraint.matchers[0]
    for atom in atoms:
        if not matcher.consume_token(ALPHABET_TOK.encode(" " + atom)[0]):
            return False
    return matcher.is_accepting()


sentences = st.lists(st.sampled_from(ALPHABET[:-1]), min_size=0, max_size=5).map(
    lambda s: [*s, "[end]"]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(sentences, min_size=1, max_size=12), st.lists(sentences, max_size=12))
def test_the_grammar_of_some_sequences_accepts_exactly_them(chosen, others):
    g = GrammarConstraint(lark_grammar(chosen), ALPHABET_TOK, ALPHABET_TOK.vocab_size)
    for s in chosen:
        assert accepts(g, s)
    for s in others:
        assert accepts(g, s) == (s in chosen)


def test_a_named_rule_stands_for_its_own_sequences():
    lark = lark_grammar([["[a:0]", "mid", "[end]"]], {"mid": [["[a:1]"], ["[a:2]", "[a:3]"]]})
    g = GrammarConstraint(lark, ALPHABET_TOK, ALPHABET_TOK.vocab_size)
    assert accepts(g, ["[a:0]", "[a:1]", "[end]"])
    assert accepts(g, ["[a:0]", "[a:2]", "[a:3]", "[end]"])
    assert not accepts(g, ["[a:0]", "[a:2]", "[end]"])


def test_atoms_are_bound_to_their_single_tokens_and_others_stay_text():
    lark = 'start: " [a:1]" " [zzz]"\n'
    one = ALPHABET_TOK.encode(" [a:1]")
    assert bind_atoms(lark, ALPHABET_TOK.encode) == f'start: <[{one[0]}]> " [zzz]"\n'


@pytest.fixture(scope="module", params=["bundle", "scene"])
def scene_task(request):
    """A scene task at one level, its rows and a tokenizer trained on them."""
    task = SceneTask(level=request.param)
    data = task.generate(seed=3, sizes=dict(train=300, dev=0, test=0, holdout=40))
    rows = [e.row() for split in data.splits.values() for e in split]
    return task, rows, train_bpe(rows, task.reserved_atoms(), 1024)


def test_every_target_the_task_makes_is_in_its_grammar(scene_task):
    task, rows, tok = scene_task
    g = GrammarConstraint(task.grammar(), tok, tok.vocab_size)
    g.start(1)
    fresh = g.matchers[0]
    for row in rows:
        target = row[row.index(task.opener) : row.index(task.closer) + len(task.closer)]
        m = fresh.deep_copy()
        assert m.consume_tokens(tok.encode(" " + target)), target
        assert m.is_accepting() and m.consume_token(tok.eos_id)


def test_an_untrained_model_writes_only_valid_blocks_when_constrained(scene_task):
    task, rows, tok = scene_task
    torch.manual_seed(0)
    cfg = architecture_config(
        "qwen3",
        vocab_size=tok.vocab_size,
        n_layer=1,
        d_model=32,
        n_head=2,
        n_kv_head=1,
        d_ff=64,
        seq_len=256,
    )
    model = Decoder(cfg).eval()
    prompts = [
        tok.encode_prompt(r.split(" [OUT] ")[0][len("<|bos|> ") :] + " [OUT]")
        for r in random.Random(0).sample(rows, 24)
    ]
    longest = max(len(tok.encode(" " + r.split(" [OUT] ")[1])) for r in rows)
    for temperature in (0.0, 1.0):
        free = sample(
            model,
            prompts,
            Sampling(max_tokens=longest, temperature=temperature),
            tok.eos_id,
            tok.pad_id,
        )
        assert not all(g.stop == "eos" for g in free)  # unconstrained, it writes noise
        g = GrammarConstraint(task.grammar(), tok, cfg.vocab_size)
        held = sample(
            model,
            prompts,
            Sampling(max_tokens=longest + 1, temperature=temperature),
            tok.eos_id,
            tok.pad_id,
            constraint=g,
        )
        for gen in held:
            assert gen.stop == "eos"
            text = tok.decode(gen.ids).strip()
            assert task.canonical(text) == text  # parses, and is already canonical
            assert len(gen.ids) == len(text.split(" "))  # one token per atom
