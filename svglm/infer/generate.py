"""From a prompt to a picture: a trained run writes the DSL, the compiler draws it.

`Drawer` loads a run once (its serving checkpoint, tokenizer, task, content and, when asked,
the task's grammar) and turns prompts into `Drawing`s; `svglm generate`, `svglm chat` and the
playground all go through it. A prompt is what a user types: atoms, or a sentence where the run
was trained on sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from svglm.artifacts import ContentPacks, read_artifact
from svglm.dsl.compiler import compile_with_pack
from svglm.errors import SvglmError
from svglm.infer.grammar import GrammarConstraint
from svglm.infer.sampler import Sampling, sample
from svglm.render import is_renderable
from svglm.runs import RunDir
from svglm.tasks import task_for
from svglm.train.checkpoint import load_trained
from svglm.train.devices import autocast, resolve_device, resolve_precision


@dataclass
class Drawing:
    prompt: str  # as the model saw it
    raw: str  # everything the model wrote
    dsl: str | None  # the target block, canonical; None if the output has no valid block
    stop: str  # "eos", "close" or "budget"
    svg: str | None = None
    error: str | None = None  # why there is no picture

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "svg"} | {"has_svg": bool(self.svg)}


class Drawer:
    def __init__(self, run: RunDir, constrained: bool = False):
        self.run, self.cfg = run, run.config()
        self.task = task_for(self.cfg, run.root)
        self.content = read_artifact(run.content, ContentPacks).model_dump()
        self.device = resolve_device(self.cfg.train.device)
        self.precision = resolve_precision(self.cfg.train.precision, self.device)
        self.model, self.tok = load_trained(run, self.cfg, self.device)
        self.constraint = None
        if constrained:
            self.constraint = GrammarConstraint(
                self.task.grammar(), self.tok, self.model.cfg.vocab_size
            )

    def draw(
        self,
        prompts: list[str],
        sampling: Sampling,
        content: dict[str, Any] | None = None,
        source: str = "content",
    ) -> list[Drawing]:
        """One drawing per prompt, filled from `content` (a user's pack) when given."""
        texts = [self.task.prompt(p) for p in prompts]
        sampling = replace(sampling, max_tokens=min(sampling.max_tokens, self.model.cfg.seq_len))
        with autocast(self.device, self.precision):
            gens = sample(
                self.model,
                [self.tok.encode_prompt(t) for t in texts],
                sampling,
                self.tok.eos_id,
                self.tok.pad_id,
                batch_size=self.cfg.probe.batch_size,
                constraint=self.constraint,
                reuse_step=True,  # the model stays as loaded
            )
        return [
            self._drawing(t, self.tok.decode(g.ids).strip(), g.stop, content, source)
            for t, g in zip(texts, gens, strict=True)
        ]

    def _drawing(
        self, prompt: str, raw: str, stop: str, content: dict[str, Any] | None, source: str
    ) -> Drawing:
        start, end = raw.find(self.task.opener), raw.find(self.task.closer)
        if start < 0 or end < start:
            why = "the token budget ran out" if stop == "budget" else "it never closed"
            return Drawing(prompt, raw, None, stop, error=f"no complete block ({why})")
        block = raw[start : end + len(self.task.closer)]
        try:
            dsl = self.task.canonical(block)
        except SvglmError as e:
            return Drawing(prompt, raw, None, stop, error=f"the block does not parse: {e}")
        drawing = Drawing(prompt, raw, dsl, stop)
        try:
            if content is None:
                drawing.svg = self.task.compile_svg(dsl, self.content)
            else:
                drawing.svg = compile_with_pack(dsl, content, source)
        except SvglmError as e:
            drawing.error = f"it does not compile: {e}"
        if drawing.svg is not None and not is_renderable(drawing.svg):
            drawing.error = "the SVG does not render"
        return drawing
