"""Tokenizers: byte-level BPE with reserved DSL atoms, and the gates that prove it."""
