"""Processors (handlers registered on import)."""

from workers.processors import applications, gene_matrix, indices, quantify

__all__ = ["applications", "gene_matrix", "indices", "quantify"]
