"""Processors (handlers registered on import)."""

from workers.processors import affy, applications, gene_matrix, geo_tables, indices, quantify

__all__ = ["affy", "applications", "gene_matrix", "geo_tables", "indices", "quantify"]
