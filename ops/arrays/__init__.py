"""Microarrays: Affymetrix chip definitions, and synthetic arrays for checks and benchmarks."""
