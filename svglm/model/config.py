"""Model architecture as data: one dataclass of switches, and family presets that set them."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    n_layer: int
    d_model: int
    n_head: int
    n_kv_head: int
    d_ff: int
    max_seq_len: int
    head_dim: int | None = None  # defaults to d_model // n_head
    rope_theta: float = 10000.0
    norm_eps: float = 1e-6
    qkv_bias: bool = False  # qwen2
    qk_norm: bool = False  # qwen3: RMSNorm over each head's q and k before RoPE
    tie_embeddings: bool = True
    family: str = "llama"

    @property
    def hd(self) -> int:
        return self.head_dim or self.d_model // self.n_head


# Presets set only the switches that define a family; sizes come from run.yaml.
FAMILY_FLAGS: dict[str, dict[str, object]] = {
    "llama": dict(qkv_bias=False, qk_norm=False, norm_eps=1e-5),
    "qwen3": dict(qkv_bias=False, qk_norm=True, norm_eps=1e-6),
}


def family_config(family: str, **sizes: object) -> ModelConfig:
    if family not in FAMILY_FLAGS:
        raise ValueError(f"unknown model family {family!r} (known: {', '.join(FAMILY_FLAGS)})")
    base = ModelConfig(family=family, **sizes)  # type: ignore[arg-type]
    return replace(base, **FAMILY_FLAGS[family])  # type: ignore[arg-type]
