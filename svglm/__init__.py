"""svglm: train small transformers that draw."""

__version__ = "0.1.0"
