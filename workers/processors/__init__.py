"""Processors (handlers registered on import)."""
