"""One-token decode steps: `Decoder.forward` for one new token per row, in fewer calls.

A decode step of a small model costs its per-call overhead, not its arithmetic: the forward made
about 900 aten calls a step for the demo's 3 layers, this about 670, in 0.36 ms against 0.6
(bench/README.md, "Sampling"). So a step here multiplies q, k and v in one matmul and the MLP's
gate and up in another, from weights joined (cast to the autocast dtype, and packed into oneDNN's
layout where that pays: `Matrix`) once a sampling call, or once a model (`decode_step`);
normalizes and rotates q and k as one tensor; reads RoPE from a table and slices the keys' mask
from one. The arithmetic is the decoder's own (rms_norm, apply_rope, attend, the cache, the
linear-attention modules), so a step computes what the forward computes; tests/test_decode_step.py
holds it to the forward for every architecture.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from svglm.model.config import ModelConfig
from svglm.model.transformer import (
    Block,
    Decoder,
    KVCache,
    apply_rope,
    attend,
    rms_norm,
    rope_tables,
)

# oneDNN multiplies by a weight in a blocked layout of its own and reorders a plain weight into it
# on every call: at 16 rows, half the time of a 1024 x 192 product. A copy reordered once skips
# that, but has a higher fixed cost (about 15 µs a call on a 2-core CPU, against 3 to 13 for a
# plain product of one row), so fp32 products smaller than this many multiply-adds stay plain;
# bf16 ones were faster packed at every size measured (bench/README.md, "Sampling").
PACKED_FROM = 300_000
_ONEDNN = torch.backends.mkldnn.is_available()  # a torch built without oneDNN lacks its ops
_packed_linear = torch.ops.mkldnn._linear_pointwise if _ONEDNN else None


class Matrix:
    """A weight matrix as a step multiplies by it, plain and, where oneDNN takes it, packed."""

    __slots__ = ("plain", "packed", "size", "dtype", "always_packed")

    def __init__(self, weight: Tensor, rows: int):
        self.plain, self.packed, self.size, self.dtype = weight, None, weight.numel(), weight.dtype
        self.always_packed = weight.dtype == torch.bfloat16
        if (
            _ONEDNN
            and weight.device.type == "cpu"
            and weight.dtype in (torch.float32, torch.bfloat16)
        ):
            try:  # oneDNN declines bf16 on CPUs without the instructions for it
                self.packed = torch.ops.mkldnn._reorder_linear_weight(weight, rows)
            except RuntimeError:
                pass
        if self.packed is not None and self.always_packed:
            self.plain = None  # never multiplied by: not kept

    def __call__(self, x: Tensor, bias: Tensor | None = None) -> Tensor:
        """F.linear(x, weight, bias) for x (B, 1, in)."""
        if self.packed is not None and (
            self.always_packed or x.shape[0] * self.size >= PACKED_FROM
        ):
            return _packed_linear(x.to(self.dtype), self.packed, bias, "none", [], "")
        return F.linear(x, self.plain, bias)


@dataclass
class LayerWeights:
    """One block's weights as a step uses them: plain tensors (a module's attribute lookups
    cost as much as a small op), matrices joined and cast once."""

    attn_norm: Tensor
    mlp_norm: Tensor
    gate_up: Matrix  # rows [gate | up]
    down: Matrix
    out_norms: tuple[Tensor, Tensor] | None  # sandwich norms: attention's and MLP's outputs
    gelu: bool
    qkv: Matrix | None = None  # rows [gate | q | k | v] (gate only with attn_gate)
    qkv_bias: Tensor | None = None
    qk_norm: Tensor | None = None  # (H + Hkv, 1, D): q's weight per query head, then k's
    o: Matrix | None = None
    mixer: torch.nn.Module | None = None  # a linear-attention layer runs as its module


def layer_weights(block: Block, cfg: ModelConfig, dtype: torch.dtype, rows: int) -> LayerWeights:
    def joined(*tensors: Tensor) -> Tensor:
        return torch.cat(tensors).to(dtype)

    def matrix(*tensors: Tensor) -> Matrix:
        return Matrix(joined(*tensors), rows)

    a, m = block.attn, block.mlp
    w = LayerWeights(
        attn_norm=block.attn_norm.weight,
        mlp_norm=block.mlp_norm.weight,
        gate_up=matrix(m.gate_proj.weight, m.up_proj.weight),
        down=matrix(m.down_proj.weight),
        out_norms=(
            (block.attn_out_norm.weight, block.mlp_out_norm.weight) if cfg.sandwich_norm else None
        ),
        gelu=m.gelu,
    )
    if block.kind == "linear":  # Gated DeltaNet: one recurrent step of its own module
        w.mixer = a
        return w
    H, Hkv, D = cfg.n_head, cfg.n_kv_head, cfg.hd
    q_w, q_b = a.q_proj.weight, a.q_proj.bias
    if cfg.attn_gate:  # q_proj's rows are [query | gate] per head: put the gates first
        q_w, q_b = gates_first(q_w, H), None if q_b is None else gates_first(q_b, H)
    w.qkv = matrix(q_w, a.k_proj.weight, a.v_proj.weight)
    if cfg.qkv_bias:
        w.qkv_bias = joined(q_b, a.k_proj.bias, a.v_proj.bias)
    if cfg.qk_norm:
        w.qk_norm = torch.cat([a.q_norm.weight.expand(H, D), a.k_norm.weight.expand(Hkv, D)])
        w.qk_norm = w.qk_norm[:, None]
    w.o = matrix(a.o_proj.weight)
    return w


def gates_first(t: Tensor, heads: int) -> Tensor:
    """Rows [query_0 | gate_0 | query_1 | gate_1 ...] of a gated q_proj reordered to
    [gate_0 | gate_1 ... | query_0 | query_1 ...]."""
    return t.view(heads, 2, -1, *t.shape[1:]).flip(1).transpose(0, 1).reshape(t.shape)


class DecodeStep:
    """`model`'s forward for (B, 1) new tokens at cache slots below `max_len`, from the model's
    weights as they are when it is built (`decode_step` builds a new one once they change).
    `rows` is the batch width expected, which oneDNN packs the weights for; any width works.
    It keeps no reference to `model` itself, so that a memo of it does not keep `model` alive."""

    @torch.no_grad()
    def __init__(self, model: Decoder, max_len: int, rows: int = 16):
        self.cfg, self.max_len, self.rows = model.cfg, max_len, rows
        cfg = self.cfg
        device = model.embed.weight.device
        self.dtype = step_dtype(model)  # under autocast the matmuls run in its dtype: cast once
        dtype = self.dtype
        self.params = list(model.parameters())
        self.versions = None  # inference tensors (made under inference_mode) count no versions
        if not any(torch.is_inference(p) for p in self.params):
            self.versions = versions(self.params)
        self.layers = [(b.kind, layer_weights(b, cfg, dtype, rows)) for b in model.layers]
        self.embed, self.final_norm = model.embed.weight, model.final_norm.weight
        self.head = Matrix(model.lm_head.weight.to(dtype), rows)
        # RoPE per position, (max_len, 1, 1, rotated dims): indexed by the rows' positions
        positions = torch.arange(max_len, device=device)[None]
        rot = int(cfg.hd * cfg.rope_fraction)
        thetas = {"full": cfg.rope_theta, "sliding": cfg.local_rope_theta}
        self.rope = {
            kind: tuple(t[0, 0, :, None, None] for t in rope_tables(positions, rot, thetas[kind]))
            for kind in set(cfg.types) - {"linear"}
        }
        self.slots = torch.arange(max_len, device=device)

    def fits(self, model: Decoder, max_len: int, rows: int) -> bool:
        """Whether this step computes `model`'s forward now, for `rows` rows up to `max_len`:
        the same parameter tensors on the same memory, none changed in place since (an
        optimizer step or load_state_dict moves a tensor's version counter; a write through
        `.data` does not, and goes unseen), and the same autocast dtype. Weights packed for
        more rows serve fewer as fast, not the other way round (fp32 at the demo's shape:
        packed for 1 row, a 16-row step took 5% longer)."""
        params = list(model.parameters())
        return (
            self.versions is not None
            and rows <= self.rows
            and max_len <= self.max_len
            and step_dtype(model) == self.dtype
            and len(params) == len(self.params)
            and all(a is b for a, b in zip(params, self.params, strict=True))
            and versions(params) == self.versions
        )

    def __call__(
        self, tokens: Tensor, positions: Tensor, keys: Tensor | None, cache: KVCache
    ) -> Tensor:
        """tokens, positions (B, 1) -> logits (B, V); the cache grows by one slot.

        keys: (B, max_len) booleans, False at the cache slots no new token may see (its row's
        left padding); None where every slot is seen."""
        cfg = self.cfg
        x = F.embedding(tokens, self.embed)  # (B, 1, C)
        if cfg.embed_scale:
            x = x * torch.tensor(cfg.d_model**0.5, dtype=x.dtype)
        at = positions[:, 0]
        ropes = {kind: (cos[at], sin[at]) for kind, (cos, sin) in self.rope.items()}
        masks = self._masks(keys, cache.pos)
        new_row = positions == 0  # where linear-attention state restarts
        for i, (kind, w) in enumerate(self.layers):
            h = self._norm(x, w.attn_norm)
            if w.mixer is not None:
                h = w.mixer(h, new_row, cache)
            else:
                h = self._attention(i, w, h, ropes[kind], masks[kind], cache)
            x = x + (self._norm(h, w.out_norms[0]) if w.out_norms else h)
            g, u = w.gate_up(self._norm(x, w.mlp_norm)).chunk(2, dim=-1)
            g = F.gelu(g, approximate="tanh") if w.gelu else F.silu(g)
            h = w.down(g * u)
            x = x + (self._norm(h, w.out_norms[1]) if w.out_norms else h)
        cache.pos += 1
        logits = self.head(self._norm(x, self.final_norm))[:, 0]  # (B, V)
        if cfg.final_softcap:
            logits = torch.tanh(logits / cfg.final_softcap) * cfg.final_softcap
        return logits

    def _norm(self, x: Tensor, weight: Tensor) -> Tensor:
        return rms_norm(x, weight, self.cfg.norm_eps, self.cfg.norm_offset)

    def _masks(self, keys: Tensor | None, at: int) -> dict[str, Tensor | None]:
        """Masks (B or 1, 1, 1, at + 1) per layer kind for a query in cache slot `at`, as
        Decoder._masks builds them: None for plain causal, where it sees every cached key."""
        seen = None if keys is None else keys[:, None, None, : at + 1]
        masks: dict[str, Tensor | None] = {"full": seen}
        if "sliding" in self.cfg.types:
            window = self.slots[: at + 1] > at - self.cfg.sliding_window
            masks["sliding"] = window[None, None, None] if seen is None else seen & window
        return masks

    def _attention(
        self,
        layer: int,
        w: LayerWeights,
        h: Tensor,
        rope: tuple[Tensor, Tensor],
        mask: Tensor | None,
        cache: KVCache,
    ) -> Tensor:
        """Attention.forward for one token: (B, 1, C) -> (B, 1, C)."""
        cfg = self.cfg
        B, H, Hkv, D = h.shape[0], cfg.n_head, cfg.n_kv_head, cfg.hd
        qkv = w.qkv(h, w.qkv_bias)  # (B, 1, [gate] + (H + 2 Hkv) D)
        if cfg.attn_gate:
            gate, qkv = qkv[..., : H * D], qkv[..., H * D :]
        # with one token, (B, 1, H, D) and (B, H, 1, D) are the same layout: no transposes
        qk, v = qkv.view(B, H + 2 * Hkv, 1, D).split([H + Hkv, Hkv], dim=1)
        if w.qk_norm is not None:
            qk = self._norm(qk, w.qk_norm)
        q, k = apply_rope(qk, *rope).split([H, Hkv], dim=1)
        k, v = cache.update(layer, k, v)  # (B, Hkv, S, D)
        y = attend(q, k, v, mask, cfg.attn_scale, gqa=Hkv != H).reshape(B, 1, H * D)
        if cfg.attn_gate:
            y = y * torch.sigmoid(gate)
        return w.o(y)


def versions(params: list[Tensor]) -> list[tuple[int, int]]:
    """Each parameter's version counter (moved by in-place writes) and memory address."""
    return [(p._version, p.data_ptr()) for p in params]


def step_dtype(model: Decoder) -> torch.dtype:
    """The dtype a step multiplies in: autocast's where it is on, else the weights'."""
    device = model.embed.weight.device.type
    if torch.is_autocast_enabled(device):
        return torch.get_autocast_dtype(device)
    return model.embed.weight.dtype


# Building a step joins, casts and packs every weight: 3 to 5 ms at the demo's shape, as long
# as five decode steps. A caller whose model stays fixed (a server's) reuses the step last built
# for it in each dtype. Weak keys: the memo keeps no model alive.
_steps: weakref.WeakKeyDictionary[Decoder, dict[torch.dtype, DecodeStep]] = (
    weakref.WeakKeyDictionary()
)


def decode_step(model: Decoder, max_len: int, rows: int) -> DecodeStep:
    """A DecodeStep for `model` as its weights are now, as far as `DecodeStep.fits` can tell:
    the last one built for it in the step's dtype where it still fits, else a new one, for at
    least the model's context length."""
    steps = _steps.setdefault(model, {})
    step = steps.get(step_dtype(model))
    if step is not None and step.fits(model, max_len, rows):
        return step
    step = DecodeStep(model, max(max_len, model.cfg.seq_len), rows)
    if step.versions is not None:
        steps[step.dtype] = step
    return step
