"""Byte-level BPE built from `tokenizers` parts, with every closed-set DSL atom reserved.

Atoms are added tokens that carry their leading space (" [family:timeline]"), because in a
row every atom follows a space: one token per atom, and the spaces between atoms cost nothing.
Rows are encoded as `<|bos|>` + body + `<|eos|>` with the markers as special-token ids, so the
saved `tokenizer.json` loads unchanged in any Hugging Face compatible runtime.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

from svglm.dsl.atoms import BOS, EOS, OUT, PAD
from svglm.errors import DataError, TokenizerError
from svglm.files import atomic_write_text

SPECIALS = [PAD, BOS, EOS]
ROW_HEAD, ROW_TAIL = f"{BOS} ", f" {EOS}"


def row_body(row: str) -> str:
    """`<|bos|> A B <|eos|>` -> ` A B` (the body keeps the space before its first atom)."""
    if not (row.startswith(ROW_HEAD) and row.endswith(ROW_TAIL)):
        raise DataError(f"a row must look like '{BOS} ... {EOS}': {row[:60]!r}")
    return row[len(BOS) : -len(ROW_TAIL)]


class SvglmTokenizer:
    def __init__(self, tok: Tokenizer):
        self.tok = tok
        self.pad_id, self.bos_id, self.eos_id = (tok.token_to_id(t) for t in SPECIALS)
        self.out_id = tok.token_to_id(" " + OUT)  # where a prompt ends and its target begins

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int]) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=False)

    def encode_row(self, row: str) -> list[int]:
        return [self.bos_id, *self.encode(row_body(row)), self.eos_id]

    def decode_row(self, ids: list[int]) -> str:
        if len(ids) < 2 or ids[0] != self.bos_id or ids[-1] != self.eos_id:
            return self.decode(ids)
        return f"{BOS}{self.decode(ids[1:-1])}{ROW_TAIL}"

    def encode_prompt(self, prompt: str) -> list[int]:
        """Ids for `<|bos|> PROMPT`, exactly the prefix of the encoded row."""
        return [self.bos_id, *self.encode(" " + prompt)]

    @property
    def specials(self) -> dict[str, tuple[str, int]]:
        """The markers and their ids, as the exporters take them."""
        return {"bos": (BOS, self.bos_id), "eos": (EOS, self.eos_id), "pad": (PAD, self.pad_id)}

    def to_json(self) -> str:
        return self.tok.to_str(pretty=True)

    def save(self, path: Path) -> None:
        atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> SvglmTokenizer:
        if not path.is_file():
            raise TokenizerError(f"{path}: missing; run the tokenizer step")
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as e:  # the tokenizers library raises a bare Exception on bad files
            raise TokenizerError(f"{path}: not a valid tokenizer file ({e})") from None
        missing = [t for t in SPECIALS if tok.token_to_id(t) is None]
        if missing:
            raise TokenizerError(f"{path}: lacks the tokens {missing}")
        return cls(tok)


def train_bpe(rows: Iterable[str], atoms: list[str], vocab_size: int) -> SvglmTokenizer:
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    least = len(alphabet) + len(SPECIALS) + len(atoms)
    if vocab_size < least:
        raise TokenizerError(
            f"tokenizer.vocab_size {vocab_size} is too small: {len(alphabet)} bytes, "
            f"{len(SPECIALS)} markers and {len(atoms)} reserved atoms need at least {least}"
        )
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(atoms),
        show_progress=False,
        special_tokens=SPECIALS,
        initial_alphabet=alphabet,
    )
    # Merges are learned from row bodies with the atoms taken out (they become whole tokens
    # below). The atoms are added after training: tokens added before it keep ids that the
    # trained model then hands out again, so an atom would share its id with a byte.
    reserved = set(atoms)
    tok.train_from_iterator(
        (" ".join(w for w in row_body(r).split(" ") if w not in reserved) for r in rows), trainer
    )
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    tok.add_tokens([AddedToken(" " + a, normalized=False) for a in atoms])
    return SvglmTokenizer(tok)


def extend_tokenizer(tokenizer_json: str, atoms: list[str]) -> SvglmTokenizer:
    """A pretrained tokenizer plus svglm's markers and one added token per reserved atom."""
    tok = Tokenizer.from_str(tokenizer_json)
    vocab = tok.get_vocab(with_added_tokens=True)
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in SPECIALS if t not in vocab]
    )
    tok.add_tokens([AddedToken(" " + a, normalized=False) for a in atoms if " " + a not in vocab])
    return SvglmTokenizer(tok)
