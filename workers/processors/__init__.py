"""Processors (handlers registered on import)."""

from workers.processors import affy, applications, gene_matrix, indices, quantify

__all__ = ["affy", "applications", "gene_matrix", "indices", "quantify"]
