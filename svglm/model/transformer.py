"""The decoder: one readable model whose families (llama, qwen2, qwen3, gemma3, qwen35) are flags.

RMSNorm (optionally (1 + w)), RoPE (optionally partial, with a separate base for sliding
layers), grouped-query attention through scaled_dot_product_attention (on a CPU in fp32 query
chunks that skip the keys no query of the chunk sees) with optional QKV bias, QK-norm, output
gate and sliding window; Gated DeltaNet linear attention (qwen35); SwiGLU or GeGLU; sandwich
norms, embedding scaling, logit soft-capping, tied embeddings and a cache.

Shapes: B batch, T new tokens, S cached + new tokens, C d_model, H heads, D head dim.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from svglm.model.config import ModelConfig


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float, offset: bool = False):
        super().__init__()
        self.offset = offset  # gemma-style: scale by (1 + w), w starts at 0
        self.weight = nn.Parameter(torch.zeros(dim) if offset else torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.weight, self.eps, self.offset)


def rms_norm(x: Tensor, weight: Tensor, eps: float, offset: bool) -> Tensor:
    """RMSNorm over x's last dim: normalize in fp32 and scale after casting back, as the
    references do (by 1 + weight where `offset`); one fused op for the normalization (a decode
    step is mostly per-op overhead)."""
    h = F.rms_norm(x.float(), (x.shape[-1],), eps=eps)
    if offset:
        return (h * (1.0 + weight.float())).type_as(x)
    return weight * h.to(x.dtype)


def rope_tables(
    positions: torch.Tensor, dim: int, theta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and signed sin of shape (B, 1, T, dim) for integer positions (B, T), broadcast over
    heads. The sin's first half is negated, so that apply_rope rotates with one roll."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    freqs = positions.float()[:, None, :, None] * inv_freq.to(positions.device)  # (B,1,T,dim/2)
    cos, sin = freqs.cos(), freqs.sin()
    return torch.cat([cos, cos], dim=-1), torch.cat([-sin, sin], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the first cos.shape[-1] dims of x (B, H, T, D) in the "rotate_half" convention:
    x * cos + cat(-x2, x1) * sin, where cat(-x2, x1) * sin == roll(x) * (signed sin), exactly."""
    r, D = cos.shape[-1], x.shape[-1]
    x_rot = x[..., :r] if r < D else x
    out = x_rot * cos.to(x.dtype) + x_rot.roll(r // 2, dims=-1) * sin.to(x.dtype)
    return torch.cat([out, x[..., r:]], dim=-1) if r < D else out


# On CPUs, PyTorch's flash-attention kernel is slower in bf16 than in fp32 at these head sizes,
# and computes masked-out keys at full cost. So on a CPU attention runs in fp32, in chunks of
# this many queries that each read only the keys they can see: up to their own end, from the
# start of their packed rows. Forward and backward, bench/attention.py: 32 rows x 6 heads x 128
# tokens 8.9 ms against 27.0 in bf16; 8 x 8 x 512 tokens of packed rows 13.4 ms against 53.2.
CPU_QUERY_CHUNK = 32


def attend(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, scale: float | None, gqa: bool
) -> Tensor:
    """Causal attention of (B, H, T, D) queries, the last T positions of (B, Hkv, S, D) keys and
    values. mask: boolean (B or 1, 1, T, S), True where a query may see a key; None = causal."""
    if q.device.type == "cpu":
        return cpu_attend(q, k, v, mask, scale, gqa)
    return sdpa_attend(q, k, v, mask, scale, gqa)


def sdpa_attend(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, scale: float | None, gqa: bool
) -> Tensor:
    """`attend` in one scaled_dot_product_attention call, as it runs on CUDA (on any device)."""
    T, S = q.shape[2], k.shape[2]
    # is_causal puts the diagonal at the top left: right only when the queries start at key 0
    if mask is None and 1 < T < S:  # queries after cached keys: at the bottom right
        mask = torch.ones(T, S, dtype=torch.bool, device=q.device).tril(S - T)
    causal = mask is None and T > 1
    return F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, is_causal=causal, scale=scale, enable_gqa=gqa
    )


def cpu_attend(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, scale: float | None, gqa: bool
) -> Tensor:
    """`attend` on a CPU, in fp32: a decode step (one query) in one call, longer runs of queries
    in chunks that each read only the keys they can see."""
    if torch.is_autocast_enabled("cpu"):  # entered only when on: it costs a decode step 6%
        with torch.autocast("cpu", enabled=False):
            return cpu_attend(q, k, v, mask, scale, gqa)
    out_dtype = v.dtype
    q, k, v = q.float(), k.float(), v.float()
    if q.shape[2] == 1:  # nothing to chunk, and nothing that stops torch.compile
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale, enable_gqa=gqa)
    else:
        out = chunked_attend(q, k, v, mask, scale)
    return out.to(out_dtype)


# PyTorch's CPU flash-attention kernels, called directly because a chunk's backward needs the
# logsumexp its forward computed. Through autograd, each chunk's slices of q, k and v cost a
# zero-filled gradient the size of the whole tensor, then an add: a quarter of the time of
# attention's backward at 8 x 8 x 512 (bench/README.md, "Attention on the CPU").
_flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
_flash_backward = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward


# Under torch.compile this stays eager: a chunk's key range depends on the mask's data, and the
# compiled code around it (norms, RoPE, MLP) is where compiling wins (bench/train_throughput.py).
@torch.compiler.disable
def chunked_attend(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, scale: float | None
) -> Tensor:
    """fp32 attention in chunks of CPU_QUERY_CHUNK queries, each reading keys up to its own end
    and from the start of the first packed row it holds. Grouped-query attention needs no
    flag: the kernels take fewer key heads than query heads."""
    return ChunkedAttention.apply(q, k, v, mask, scale)


def query_chunks(
    T: int, S: int, mask: Tensor | None, dtype: torch.dtype
) -> list[tuple[slice, slice, Tensor]]:
    """(queries, keys, additive mask) for each chunk of CPU_QUERY_CHUNK queries."""
    causal = torch.ones(T, S, dtype=torch.bool).tril(S - T) if mask is None else None
    chunks = []
    for start in range(0, T, CPU_QUERY_CHUNK):
        end = min(start + CPU_QUERY_CHUNK, T)
        keys = S - T + end  # keys past this one lie in these queries' future
        if mask is None:
            first, part = 0, causal[start:end, :keys]
        else:  # also skip the keys before every packed row of these queries
            part = mask[..., start:end, :keys]
            first = int(part.flatten(0, -2).any(0).int().argmax())
            part = part[..., first:]
        # -inf where a key is hidden, as scaled_dot_product_attention turns a boolean mask
        bias = torch.zeros(part.shape, dtype=dtype, device=part.device)
        chunks.append((slice(start, end), slice(first, keys), bias.masked_fill_(~part, -torch.inf)))
    return chunks


class ChunkedAttention(torch.autograd.Function):
    """Attention of (B, H, T, D) queries over (B, Hkv, S, D) keys and values, chunk by chunk,
    with a backward that writes each chunk's gradients into one buffer per input."""

    @staticmethod
    def forward(
        ctx, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, scale: float | None
    ) -> Tensor:
        chunks = query_chunks(q.shape[2], k.shape[2], mask, q.dtype)
        outs, lses = zip(
            *(
                _flash(q[:, :, qs], k[:, :, ks], v[:, :, ks], attn_mask=bias, scale=scale)
                for qs, ks, bias in chunks
            ),
            strict=True,
        )
        out, lse = torch.cat(outs, dim=2), torch.cat(lses, dim=2)  # lse: (B, H, T)
        ctx.chunks, ctx.scale = chunks, scale
        ctx.save_for_backward(q, k, v, out, lse)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, Tensor, Tensor, None, None]:
        q, k, v, out, lse = ctx.saved_tensors
        dq, dk, dv = torch.empty_like(q), torch.zeros_like(k), torch.zeros_like(v)
        for qs, ks, bias in ctx.chunks:
            dq_part, dk_part, dv_part = _flash_backward(
                grad[:, :, qs],
                q[:, :, qs],
                k[:, :, ks],
                v[:, :, ks],
                out[:, :, qs],
                lse[:, :, qs],
                0.0,  # dropout
                False,  # is_causal: the chunk's mask says it
                attn_mask=bias,
                scale=ctx.scale,
            )
            dq[:, :, qs] = dq_part
            dk[:, :, ks] += dk_part  # key ranges overlap from chunk to chunk
            dv[:, :, ks] += dv_part
        return dq, dk, dv, None, None


class KVCache:
    """Per-layer decoding state: keys/values for attention layers, conv and recurrent state for
    linear-attention layers. `pos` is how many positions have been consumed."""

    def __init__(
        self, cfg: ModelConfig, batch: int, max_len: int, device: torch.device, dtype: torch.dtype
    ):
        self.k: list[torch.Tensor | None] = []
        self.v: list[torch.Tensor | None] = []
        self.conv: list[torch.Tensor | None] = []
        self.state: list[torch.Tensor | None] = []
        for kind in cfg.types:
            attn = kind != "linear"
            shape = (batch, cfg.n_kv_head, max_len, cfg.hd)
            self.k.append(torch.zeros(shape, device=device, dtype=dtype) if attn else None)
            self.v.append(torch.zeros(shape, device=device, dtype=dtype) if attn else None)
            self.conv.append(None)
            self.state.append(None)
        self.pos = 0

    def keep(self, rows: torch.Tensor) -> None:
        """Drop every batch row not in `rows` (finished sequences stop costing compute)."""
        for store in (self.k, self.v, self.conv, self.state):
            for i, t in enumerate(store):
                if t is not None:
                    store[i] = t.index_select(0, rows)

    def update(
        self, layer: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        t = k.shape[2]
        self.k[layer][:, :, self.pos : self.pos + t] = k
        self.v[layer][:, :, self.pos : self.pos + t] = v
        return self.k[layer][:, :, : self.pos + t], self.v[layer][:, :, : self.pos + t]


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int):
        super().__init__()
        self.cfg, self.layer = cfg, layer
        self.sliding = cfg.types[layer] == "sliding"
        hd = cfg.hd
        q_out = cfg.n_head * hd * (2 if cfg.attn_gate else 1)
        self.q_proj = nn.Linear(cfg.d_model, q_out, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(cfg.d_model, cfg.n_kv_head * hd, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(cfg.d_model, cfg.n_kv_head * hd, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(cfg.n_head * hd, cfg.d_model, bias=False)
        if cfg.qk_norm:
            self.q_norm = RMSNorm(hd, cfg.norm_eps, cfg.norm_offset)
            self.k_norm = RMSNorm(hd, cfg.norm_eps, cfg.norm_offset)

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        mask: torch.Tensor | None,
        cache: KVCache | None,
        queries: int = 0,
    ) -> torch.Tensor:
        """(B, T, C) -> (B, T, C), or the last `queries` positions only (B, queries, C) when it
        is set: keys and values still come from all T, for the cache and for those queries."""
        B, T, _ = x.shape
        cfg = self.cfg
        Tq = min(queries, T) if queries else T
        q = self.q_proj(x[:, T - Tq :])
        if cfg.attn_gate:  # per head: [query | gate]
            q, gate = q.view(B, Tq, cfg.n_head, 2 * cfg.hd).chunk(2, dim=-1)
            gate = gate.reshape(B, Tq, cfg.n_head * cfg.hd)
        q = q.reshape(B, Tq, cfg.n_head, cfg.hd)
        k = self.k_proj(x).view(B, T, cfg.n_kv_head, cfg.hd)
        v = self.v_proj(x).view(B, T, cfg.n_kv_head, cfg.hd)
        if cfg.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        cos, sin = rope
        q, k = apply_rope(q, cos[:, :, T - Tq :], sin[:, :, T - Tq :]), apply_rope(k, cos, sin)
        if cache is not None:
            k, v = cache.update(self.layer, k, v)  # (B, Hkv, S, D)
        if mask is not None:
            mask = mask[:, :, T - Tq :]
        y = attend(q, k, v, mask, cfg.attn_scale, gqa=cfg.n_kv_head != cfg.n_head)
        y = y.transpose(1, 2).reshape(B, Tq, cfg.n_head * cfg.hd)
        if cfg.attn_gate:
            y = y * torch.sigmoid(gate)
        return self.o_proj(y)


class GatedDeltaNet(nn.Module):
    """Linear attention with the gated delta rule (qwen35). A short causal depthwise conv mixes
    q/k/v; a per-head state S (Dk x Dv) decays by exp(g), is corrected towards v along k with
    strength beta, and is read by q."""

    def __init__(self, cfg: ModelConfig, layer: int):
        super().__init__()
        self.cfg, self.layer = cfg, layer
        self.key_dim = cfg.linear_k_heads * cfg.linear_k_dim
        self.value_dim = cfg.linear_v_heads * cfg.linear_v_dim
        self.conv_dim = 2 * self.key_dim + self.value_dim
        self.in_proj_qkv = nn.Linear(cfg.d_model, self.conv_dim, bias=False)
        self.in_proj_z = nn.Linear(cfg.d_model, self.value_dim, bias=False)
        self.in_proj_b = nn.Linear(cfg.d_model, cfg.linear_v_heads, bias=False)
        self.in_proj_a = nn.Linear(cfg.d_model, cfg.linear_v_heads, bias=False)
        self.conv1d = nn.Conv1d(
            self.conv_dim, self.conv_dim, cfg.linear_conv, groups=self.conv_dim, bias=False
        )
        self.dt_bias = nn.Parameter(torch.ones(cfg.linear_v_heads))
        self.A_log = nn.Parameter(torch.log(torch.empty(cfg.linear_v_heads).uniform_(0.01, 16)))
        self.norm = RMSNorm(cfg.linear_v_dim, cfg.norm_eps)  # gated below, weight starts at 1
        self.out_proj = nn.Linear(self.value_dim, cfg.d_model, bias=False)

    def _conv(self, x: torch.Tensor, new_row: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        """Causal depthwise conv over (B, T, E), not reaching across packed-row starts."""
        K = self.cfg.linear_conv
        B, T, E = x.shape
        past = cache.conv[self.layer] if cache is not None else None  # last K-1 inputs
        full = torch.cat([past if past is not None else x.new_zeros(B, K - 1, E), x], dim=1)
        weight = self.conv1d.weight  # (E, 1, K)
        if not new_row[:, 1:].any():  # one row throughout: a plain causal conv
            if cache is not None:
                cache.conv[self.layer] = full[:, -(K - 1) :].detach().clone()
            if past is None:  # the reference's form: zero padding, keep the first T outputs
                out = F.conv1d(x.transpose(1, 2), weight, padding=K - 1, groups=E)[..., :T]
            else:
                out = F.conv1d(full.transpose(1, 2), weight, groups=E)
            return F.silu(out).transpose(1, 2)
        # tap j of token t (input t-K+1+j) counts only if it lies in the same packed row
        since = torch.cumsum(new_row.long(), dim=1)  # row counter per position
        since = torch.cat([since.new_zeros(B, K - 1), since], dim=1)
        if cache is not None:  # the inputs decoding continues from: the last row's only
            last_row = (since[:, -(K - 1) :] == since[:, -1:]).unsqueeze(-1)
            cache.conv[self.layer] = (full[:, -(K - 1) :] * last_row).detach().clone()
        out = x.new_zeros(B, T, E)
        for j in range(K):
            same = (since[:, j : j + T] == since[:, K - 1 :]).unsqueeze(-1)
            out = out + full[:, j : j + T] * same * weight[:, 0, j]
        return F.silu(out)

    def forward(
        self, x: torch.Tensor, new_row: torch.Tensor, cache: KVCache | None
    ) -> torch.Tensor:
        cfg = self.cfg
        B, T, _ = x.shape
        # all four projections first, in the reference's order (it fixes how autograd sums dx)
        qkv, z = self.in_proj_qkv(x), self.in_proj_z(x)
        b, a = self.in_proj_b(x), self.in_proj_a(x)
        qkv = self._conv(qkv, new_row, cache)
        q, k, v = qkv.split([self.key_dim, self.key_dim, self.value_dim], dim=-1)
        q = q.reshape(B, T, cfg.linear_k_heads, cfg.linear_k_dim).float()
        k = k.reshape(B, T, cfg.linear_k_heads, cfg.linear_k_dim).float()
        v = v.reshape(B, T, cfg.linear_v_heads, cfg.linear_v_dim).float()
        rep = cfg.linear_v_heads // cfg.linear_k_heads  # each q/k head serves `rep` value heads
        q, k = q.repeat_interleave(rep, dim=2), k.repeat_interleave(rep, dim=2)
        q = q * torch.rsqrt((q * q).sum(-1, keepdim=True) + 1e-6) * cfg.linear_k_dim**-0.5
        k = k * torch.rsqrt((k * k).sum(-1, keepdim=True) + 1e-6)
        beta = b.sigmoid().float()  # (B, T, Hv)
        g = -self.A_log.float().exp() * F.softplus(a.float() + self.dt_bias)
        state = cache.state[self.layer] if cache is not None else None
        if state is None:
            state = x.new_zeros(
                B, cfg.linear_v_heads, cfg.linear_k_dim, cfg.linear_v_dim, dtype=torch.float32
            )
        # heads first: (B, Hv, T, D) and (B, Hv, T)
        q, k, v = (t.transpose(1, 2).contiguous() for t in (q, k, v))
        g, beta = g.transpose(1, 2).contiguous(), beta.transpose(1, 2).contiguous()
        if T > 1 and not new_row[:, 1:].any():  # no packed row starts inside: chunked form
            y, state = chunked_delta_rule(q, k, v, g, beta, state)
        else:
            y, state = recurrent_delta_rule(q, k, v, g, beta, state, new_row)
        if cache is not None:
            cache.state[self.layer] = state.detach()
        y = y.transpose(1, 2).to(x.dtype)  # (B, T, Hv, Dv)
        z = z.view(B, T, cfg.linear_v_heads, cfg.linear_v_dim)
        y = (self.norm(y).float() * F.silu(z.float())).to(x.dtype)
        return self.out_proj(y.reshape(B, T, self.value_dim))


def recurrent_delta_rule(
    q: Tensor, k: Tensor, v: Tensor, g: Tensor, beta: Tensor, state: Tensor, new_row: Tensor
) -> tuple[Tensor, Tensor]:
    """The gated delta rule token by token (decode steps and packed rows).

    q, k: (B, H, T, Dk); v: (B, H, T, Dv); g, beta: (B, H, T); state: (B, H, Dk, Dv) fp32.
    Where new_row (B, T) is set, a packed row starts and the state restarts from zero."""
    outs = []
    for t in range(q.shape[2]):
        keep = (~new_row[:, t]).float()[:, None, None, None]
        state = state * keep * g[:, :, t].exp()[..., None, None]
        k_t = k[:, :, t]
        delta = (v[:, :, t] - (state * k_t[..., None]).sum(-2)) * beta[:, :, t, None]
        state = state + k_t[..., None] * delta[..., None, :]
        outs.append((state * q[:, :, t, :, None]).sum(-2))
    return torch.stack(outs, dim=2), state


def chunked_delta_rule(
    q: Tensor, k: Tensor, v: Tensor, g: Tensor, beta: Tensor, state: Tensor, chunk: int = 64
) -> tuple[Tensor, Tensor]:
    """The same recurrence in chunks (the UT/WY form of the Gated DeltaNet paper): inside a chunk
    the delta-rule updates are solved at once with a unit-triangular system, and the state is
    carried from chunk to chunk. Shapes as in `recurrent_delta_rule`; no row restarts inside."""
    B, H, T, _ = q.shape
    pad = (-T) % chunk
    q, k, v = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
    g, beta = F.pad(g, (0, pad)), F.pad(beta, (0, pad))
    n = (T + pad) // chunk
    q, k, v = (t.reshape(B, H, n, chunk, -1) for t in (q, k, v))
    g, beta = g.reshape(B, H, n, chunk), beta.reshape(B, H, n, chunk)
    k_beta, v_beta = k * beta[..., None], v * beta[..., None]
    cum = g.cumsum(-1)  # log decay from the chunk start to each position
    later = torch.ones(chunk, chunk, dtype=torch.bool, device=q.device).triu(1)
    decay = (cum[..., :, None] - cum[..., None, :]).masked_fill(later, float("-inf")).exp()
    system = (k_beta @ k.transpose(-1, -2)) * decay  # its strict lower part couples the updates
    inner = (q @ k.transpose(-1, -2)) * decay  # attention inside the chunk
    u = torch.linalg.solve_triangular(system, v_beta, upper=False, unitriangular=True)
    w = torch.linalg.solve_triangular(
        system, k_beta * cum.exp()[..., None], upper=False, unitriangular=True
    )
    q_read = q * cum.exp()[..., None]  # q reading the state carried into the chunk
    k_write = k * (cum[..., -1:] - cum).exp()[..., None]  # k decayed to the chunk end
    outs = []
    for i in range(n):
        v_new = u[:, :, i] - w[:, :, i] @ state
        outs.append(q_read[:, :, i] @ state + inner[:, :, i] @ v_new)
        state = (
            state * cum[:, :, i, -1].exp()[..., None, None]
            + k_write[:, :, i].transpose(-1, -2) @ v_new
        )
    return torch.stack(outs, dim=2).reshape(B, H, n * chunk, -1)[:, :, :T], state


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.d_model, cfg.d_ff, bias=False)
        self.up_proj = nn.Linear(cfg.d_model, cfg.d_ff, bias=False)
        self.down_proj = nn.Linear(cfg.d_ff, cfg.d_model, bias=False)
        self.gelu = cfg.mlp_act == "gelu_tanh"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.gate_proj(x)
        g = F.gelu(g, approximate="tanh") if self.gelu else F.silu(g)
        return self.down_proj(g * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int):
        super().__init__()
        norm = partial(RMSNorm, cfg.d_model, cfg.norm_eps, cfg.norm_offset)
        self.kind = cfg.types[layer]
        self.attn_norm = norm()
        self.attn = GatedDeltaNet(cfg, layer) if self.kind == "linear" else Attention(cfg, layer)
        self.mlp_norm = norm()
        self.mlp = MLP(cfg)
        if cfg.sandwich_norm:
            self.attn_out_norm, self.mlp_out_norm = norm(), norm()
        self.sandwich = cfg.sandwich_norm

    def forward(
        self,
        x: Tensor,
        ropes: dict[str, tuple[Tensor, Tensor]],
        masks: dict[str, Tensor | None],
        new_row: Tensor,
        cache: KVCache | None,
        keep: int = 0,
    ) -> Tensor:
        """(B, T, C) -> (B, T, C), or (B, keep, C) for the last `keep` positions when set."""
        kept = slice(-keep, None) if keep else slice(None)
        h = self.attn_norm(x)
        if self.kind == "linear":  # its state needs every position: sliced after
            h = self.attn(h, new_row, cache)[:, kept]
        else:
            h = self.attn(h, ropes[self.kind], masks[self.kind], cache, queries=keep)
        x = x[:, kept] + (self.attn_out_norm(h) if self.sandwich else h)
        h = self.mlp(self.mlp_norm(x))
        return x + (self.mlp_out_norm(h) if self.sandwich else h)


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(Block(cfg, i) for i in range(cfg.n_layer))
        self.final_norm = RMSNorm(cfg.d_model, cfg.norm_eps, cfg.norm_offset)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.embed.weight
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def _masks(
        self, T: int, start: int, doc_ids: torch.Tensor | None, device: torch.device
    ) -> dict[str, torch.Tensor | None]:
        """Boolean attention masks (B or 1, 1, T, S) per layer kind; None = plain causal.
        doc_ids (B, S) covers every key, cached ones included; queries are its last T."""
        if doc_ids is None and "sliding" not in self.cfg.types:
            return {"full": None}  # plain causal: nothing to build (every decode step of a row)
        S = start + T
        q = torch.arange(start, S, device=device)[:, None]
        k = torch.arange(S, device=device)[None, :]
        allowed = k <= q
        if doc_ids is not None:  # packed rows (or a row and its padding) stay apart
            allowed = allowed & (doc_ids[:, start:, None] == doc_ids[:, None, :])
        full = allowed[:, None] if doc_ids is not None else None
        masks: dict[str, torch.Tensor | None] = {"full": full}
        if "sliding" in self.cfg.types:
            window = allowed & (k > q - self.cfg.sliding_window)
            masks["sliding"] = window[:, None] if window.dim() == 3 else window[None, None]
        return masks

    def forward(
        self,
        idx: torch.Tensor,
        positions: torch.Tensor | None = None,
        doc_ids: torch.Tensor | None = None,
        cache: KVCache | None = None,
        logits_to_keep: int = 0,
    ) -> torch.Tensor:
        """idx (B, T) -> logits (B, T, V), or (B, logits_to_keep, V) for the last positions
        only when it is set (a prompt's prefill needs one).

        positions: (B, T) RoPE positions; default counts from the cache position.
        doc_ids:   (B, start + T) row ids of the cached and the new positions: attention and
                   linear state stay inside a row (packed rows, or a row after its padding).
        cache:     a KVCache to read and extend; its `pos` advances by T.
        """
        cfg = self.cfg
        B, T = idx.shape
        start = cache.pos if cache is not None else 0
        if positions is None:
            positions = torch.arange(start, start + T, device=idx.device).expand(B, T)
        rot = int(cfg.hd * cfg.rope_fraction)
        ropes = {"full": rope_tables(positions, rot, cfg.rope_theta)}
        if "sliding" in cfg.types:
            ropes["sliding"] = rope_tables(positions, rot, cfg.local_rope_theta)
        masks = self._masks(T, start, doc_ids, idx.device)
        new_row = positions == 0  # (B, T): where linear-attention state restarts
        x = self.embed(idx)  # (B, T, C)
        if cfg.embed_scale:
            x = x * torch.tensor(cfg.d_model**0.5, dtype=x.dtype)
        # The last block computes only the positions whose logits are kept (and every
        # position's keys and values): at the demo's shape, a third of a prefill's work.
        last = len(self.layers) - 1
        for i, block in enumerate(self.layers):
            x = block(x, ropes, masks, new_row, cache, keep=logits_to_keep if i == last else 0)
        if cache is not None:
            cache.pos += T
        logits = self.lm_head(self.final_norm(x))  # (B, T, V)
        if cfg.final_softcap:
            logits = torch.tanh(logits / cfg.final_softcap) * cfg.final_softcap
        return logits

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
