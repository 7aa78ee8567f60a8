"""Surveyors (handlers registered on import)."""

from workers.surveyors import arrayexpress, delivery, ena, geo

__all__ = ["arrayexpress", "delivery", "ena", "geo"]
