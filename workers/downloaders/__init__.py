"""Downloaders (handlers registered on import)."""
