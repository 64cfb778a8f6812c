"""Sampling: batched, KV-cached decoding with per-row stop rules."""
