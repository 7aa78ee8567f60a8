"""Processors (handlers registered on import)."""

from workers.processors import applications

__all__ = ["applications"]
