"""svglm: train small transformers that draw."""
