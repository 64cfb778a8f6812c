"""Content packs: the visible text a scene binds to by path (`title`, `segments.2`, ...).

The model never writes this text; it chooses bindings and the compiler fills them in. The
built-in pack has one entry per family, sized to the largest count the schema allows.
"""

from __future__ import annotations

from typing import Any

from svglm.dsl.atoms import DSLError

ContentPack = dict[str, Any]

DEFAULT_CONTENT: dict[str, ContentPack] = {
    "memory_map": {
        "title": "GPU memory during one training step",
        "subtitle": "Where 80 GB goes for a 7B model with AdamW in bf16",
        "segments": [
            {"label": "Weights", "detail": "bf16 parameters, 14 GB", "size": 14},
            {"label": "Gradients", "detail": "same shape as weights", "size": 14},
            {"label": "Optimizer", "detail": "fp32 moments and master copy", "size": 28},
            {"label": "Activations", "detail": "saved for the backward pass", "size": 12},
            {"label": "KV cache", "detail": "only during evaluation", "size": 4},
            {"label": "Workspace", "detail": "cuBLAS and attention scratch", "size": 3},
            {"label": "Fragmentation", "detail": "allocator slack between blocks", "size": 3},
            {"label": "Reserve", "detail": "headroom kept free on purpose", "size": 2},
        ],
        "brackets": ["Model state", "Step-local memory", "Runtime overhead"],
        "cards": [
            {
                "title": "Biggest lever",
                "body": "Shard optimizer state across ranks to cut 28 GB per GPU.",
            },
            {"title": "Cheap win", "body": "Activation checkpointing trades compute for memory."},
            {"title": "Watch out", "body": "Fragmentation grows with variable sequence lengths."},
        ],
        "footer": "Sizes are illustrative; measure your own run with the allocator stats.",
    },
    "timeline": {
        "title": "From prototype to a shipped model",
        "subtitle": "Six months of a small specialist model team",
        "stages": [
            {"label": "Scope", "detail": "Pick one artifact family and write its contract"},
            {"label": "Data", "detail": "Generate rows and hidden holdout combinations"},
            {"label": "Tokenizer", "detail": "Reserve every structural atom as one token"},
            {"label": "Pretrain", "detail": "Teach the grammar on every row"},
            {"label": "SFT", "detail": "Mask loss to targets and sharpen routing"},
            {"label": "Probe", "detail": "Measure exact, renderable and dirty-tail rates"},
            {"label": "Ship", "detail": "Export weights and publish the report"},
        ],
        "footer": "Each stage leaves artifacts a reviewer can open without rerunning anything.",
    },
    "system_diagram": {
        "title": "How a prompt becomes a picture",
        "subtitle": "The model chooses structure; the compiler owns geometry",
        "stages": [
            {"label": "Prompt", "detail": "Intent or explicit atoms"},
            {"label": "Decoder", "detail": "Small transformer, KV cache"},
            {"label": "Parser", "detail": "Strict bundle grammar"},
            {"label": "Lowering", "detail": "Bundle to scene components"},
            {"label": "Compiler", "detail": "Scene plus content to SVG"},
            {"label": "Renderer", "detail": "Independent rasterizer check"},
        ],
        "links": ["retry on parse error", "feedback from probes"],
        "terminal": "Report",
        "footer": "Every arrow is a contract that a probe checks.",
    },
}


def resolve(content: ContentPack, path: str) -> Any:
    """Look up `segments.2` style paths; a missing binding is a DSL error, not a crash."""
    key, _, index = path.partition(".")
    if key not in content:
        raise DSLError(f"content has no key {key!r}")
    value = content[key]
    if index:
        if not isinstance(value, list) or int(index) >= len(value):
            raise DSLError(f"content path {path!r} is out of range")
        value = value[int(index)]
    return value
