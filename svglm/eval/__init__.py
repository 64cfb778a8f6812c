"""Probes: run the contract, score every case, aggregate rates and explain the misses."""
