"""Model architecture as data: one dataclass of switches, and architecture presets that set them.

An architecture (llama, qwen2, qwen3, gemma3, qwen35) is nothing but a set of flag values
(litgpt style); `transformer.py` reads the flags. Sizes come from run.yaml's model section.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from svglm.errors import CheckpointError


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    n_layer: int
    d_model: int
    n_head: int
    n_kv_head: int
    d_ff: int
    seq_len: int  # context length: training windows and the decode cache are this long
    architecture: str = "llama"
    head_dim: int | None = None  # defaults to d_model // n_head
    rope_theta: float = 10000.0
    rope_fraction: float = 1.0  # share of each head's dims that RoPE rotates (qwen35: 0.25)
    norm_eps: float = 1e-6
    norm_offset: bool = False  # RMSNorm scales by (1 + w), w initialised at 0 (gemma3, qwen35)
    qkv_bias: bool = False  # qwen2
    qk_norm: bool = False  # RMSNorm over each head's q and k before RoPE (qwen3, gemma3, qwen35)
    attn_scale: float | None = None  # softmax scale; None = head_dim ** -0.5
    attn_gate: bool = False  # qwen35: q_proj also yields a sigmoid gate on the attention output
    mlp_act: str = "silu"  # "silu" (SwiGLU) or "gelu_tanh" (GeGLU)
    sandwich_norm: bool = False  # gemma3: extra norms on the attention and MLP outputs
    embed_scale: bool = False  # gemma3: embeddings multiplied by sqrt(d_model)
    final_softcap: float | None = None  # logits = cap * tanh(logits / cap)
    # Per-layer mixers: "full", "sliding" (gemma3 local layers) or "linear" (qwen35 DeltaNet).
    layer_types: tuple[str, ...] = ()
    sliding_window: int = 0
    local_rope_theta: float = 10000.0  # RoPE base of sliding layers
    # qwen35 Gated DeltaNet sizes
    linear_k_heads: int = 0
    linear_v_heads: int = 0
    linear_k_dim: int = 0
    linear_v_dim: int = 0
    linear_conv: int = 4
    tie_embeddings: bool = True

    @property
    def hd(self) -> int:
        return self.head_dim or self.d_model // self.n_head

    @property
    def types(self) -> tuple[str, ...]:
        return self.layer_types or ("full",) * self.n_layer


def _gemma3_layers(n: int, pattern: int = 6) -> tuple[str, ...]:
    """Five sliding (local) layers, then one full (global) layer, repeated."""
    return tuple("full" if (i + 1) % pattern == 0 else "sliding" for i in range(n))


def _qwen35_layers(n: int, interval: int = 4) -> tuple[str, ...]:
    """Three linear-attention layers, then one gated full-attention layer, repeated."""
    return tuple("full" if (i + 1) % interval == 0 else "linear" for i in range(n))


# Presets set only the switches that define an architecture; sizes come from run.yaml.
ARCHITECTURE_FLAGS: dict[str, dict[str, object]] = {
    "llama": dict(norm_eps=1e-5),  # also nanbeige, which uses the Llama architecture
    "qwen2": dict(qkv_bias=True, norm_eps=1e-6, rope_theta=1_000_000.0),
    "qwen3": dict(qk_norm=True, norm_eps=1e-6, rope_theta=1_000_000.0),
    "gemma3": dict(
        norm_offset=True,
        qk_norm=True,
        mlp_act="gelu_tanh",
        sandwich_norm=True,
        embed_scale=True,
        norm_eps=1e-6,
        rope_theta=1_000_000.0,
        local_rope_theta=10_000.0,
        sliding_window=512,
    ),
    "qwen35": dict(
        norm_offset=True,
        qk_norm=True,
        attn_gate=True,
        rope_fraction=0.25,
        norm_eps=1e-6,
        rope_theta=10_000_000.0,
        linear_conv=4,
    ),
}
ARCHITECTURES = tuple(ARCHITECTURE_FLAGS)


# Each size and the most any model svglm could build or load has of it (sizes may come from a
# foreign checkpoint's files, so they are checked like user input).
SIZE_LIMITS = {
    "vocab_size": 10_000_000,
    "n_layer": 1_000,
    "d_model": 1_000_000,
    "n_head": 10_000,
    "n_kv_head": 10_000,
    "d_ff": 10_000_000,
    "seq_len": 100_000_000,
}


def _check_size(name: str, value: object) -> None:
    limit = SIZE_LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
        raise CheckpointError(f"{name} must be an integer in 1..{limit} (got {value!r})")


def _check_sizes(cfg: ModelConfig) -> None:
    for name in SIZE_LIMITS:
        _check_size(name, getattr(cfg, name))
    if cfg.n_head % cfg.n_kv_head or (cfg.head_dim is None and cfg.d_model % cfg.n_head):
        raise CheckpointError(
            f"{cfg.n_head} heads do not divide into {cfg.n_kv_head} key/value heads "
            f"or {cfg.d_model} dims"
        )


def architecture_config(architecture: str, **sizes: object) -> ModelConfig:
    """A config of `architecture` with the given sizes; per-layer types follow the
    architecture's pattern unless `layer_types` is passed."""
    if architecture not in ARCHITECTURE_FLAGS:
        known = ", ".join(ARCHITECTURE_FLAGS)
        raise CheckpointError(f"unknown architecture {architecture!r} (known: {known})")
    flags = dict(ARCHITECTURE_FLAGS[architecture])
    n = sizes["n_layer"]
    _check_size("n_layer", n)  # before per-layer tuples of that length are built
    if architecture == "gemma3":
        flags["layer_types"] = _gemma3_layers(n)
    if architecture == "qwen35":
        flags["layer_types"] = _qwen35_layers(n)
        hd = int(sizes.get("head_dim") or int(sizes["d_model"]) // int(sizes["n_head"]))  # type: ignore[arg-type]
        flags.update(
            linear_k_heads=int(sizes["n_kv_head"]),
            linear_v_heads=int(sizes["n_head"]),  # type: ignore[arg-type]
            linear_k_dim=hd,
            linear_v_dim=hd,
        )
    flags.update(sizes)
    cfg = replace(
        ModelConfig(
            vocab_size=0,
            n_layer=n,
            d_model=0,
            n_head=1,
            n_kv_head=1,
            d_ff=0,
            seq_len=0,
            architecture=architecture,
        ),
        **flags,
    )  # type: ignore[arg-type]
    _check_sizes(cfg)
    if cfg.head_dim is None:  # resolved, so that equal models have equal configs
        cfg = replace(cfg, head_dim=cfg.d_model // cfg.n_head)
    if len(cfg.types) != cfg.n_layer:
        raise CheckpointError(f"layer_types has {len(cfg.types)} entries for {cfg.n_layer} layers")
    return cfg
