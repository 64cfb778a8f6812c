"""Dataset building: generation or import, splits, QC, coverage and profile artifacts."""
