"""Downloaders (handlers registered on import)."""

from workers.downloaders import download

__all__ = ["download"]
