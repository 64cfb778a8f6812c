"""Grammar-constrained decoding with llguidance: at every step a row may only take tokens that
keep its output a prefix of some sentence of the task's grammar, and once the sentence is
complete only `<|eos|>`.

A task's grammar is written in atoms (text). llguidance matches the text tokens spell, so it
would also admit an atom spelled in byte pieces the model never wrote in training, each a step
of its own; every atom that is one token of the tokenizer is therefore bound to that token
(`<[id]>`) before the grammar is compiled, and a constrained output is tokenized exactly as
the training rows are. Masks are computed row by row: on this 2-core machine llguidance's
parallel executor took twice as long for a batch of 16 (bench/constrained_decoding.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import torch

from svglm.errors import DependencyError, DSLError
from svglm.tokenizer.bpe import SvglmTokenizer


def _llguidance():
    try:
        import llguidance
        import llguidance.numpy
    except ImportError:
        raise DependencyError(
            "constrained decoding needs llguidance: pip install 'svglm[grammar]'"
        ) from None
    return llguidance


# a quoted atom or path word (`" [form:grid]"`, `" 127"`) with its leading space
ATOM_LITERAL = re.compile(r'"( [^"\\ ]+)"')


def bind_atoms(lark: str, encode: Callable[[str], list[int]]) -> str:
    """`lark` with every quoted word that is a single token replaced by that token's id."""

    def bound(m: re.Match) -> str:
        ids = encode(m.group(1))
        return f"<[{ids[0]}]>" if len(ids) == 1 else m.group(0)

    return ATOM_LITERAL.sub(bound, lark)


class GrammarConstraint:
    """The `Constraint` of svglm.infer.sampler for one grammar and one tokenizer."""

    def __init__(self, lark: str, tokenizer: SvglmTokenizer, vocab_size: int):
        ll = _llguidance()
        self._ll = ll
        self.tokenizer = ll.LLTokenizer(
            tokenizer.to_json(), n_vocab=vocab_size, eos_token=tokenizer.eos_id
        )
        self.grammar = ll.LLMatcher.grammar_from_lark(bind_atoms(lark, tokenizer.encode))
        self.fresh = ll.LLMatcher(self.tokenizer, self.grammar, log_level=0)
        if self.fresh.is_error():
            first = self.fresh.get_error().splitlines()[0]
            raise DSLError(f"the task's grammar does not compile: {first}")
        self.matchers: list = []

    def start(self, rows: int) -> None:
        self.matchers = [self.fresh.deep_copy() for _ in range(rows)]  # no grammar re-parse

    def allowed(self, rows: list[int], vocab: int) -> torch.Tensor:
        words = self._ll.numpy.allocate_token_bitmask(len(rows), vocab)
        for i, r in enumerate(rows):  # one by one: llguidance's thread pool was 2x slower
            self._ll.numpy.fill_next_token_bitmask(self.matchers[r], words, i)  # on 2 cores
        bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")  # 32 per word
        return torch.from_numpy(bits[:, :vocab]).bool()

    def advance(self, row: int, token: int) -> None:
        matcher = self.matchers[row]
        if not matcher.consume_token(token):
            raise RuntimeError(f"token {token} broke the grammar: {matcher.get_error()}")
