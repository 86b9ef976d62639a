"""Finding the same person across sources: record linkage, deduplication and merge review."""
