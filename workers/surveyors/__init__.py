"""Surveyors (handlers registered on import)."""

from workers.surveyors import delivery, ena

__all__ = ["delivery", "ena"]
