"""Training: the preflight plan, row packing, the stage loop, checkpoints and the ledger."""
