"""Surveyors (handlers registered on import)."""

from workers.surveyors import delivery, ena, geo

__all__ = ["delivery", "ena", "geo"]
