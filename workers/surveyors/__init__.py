"""Surveyors (handlers registered on import)."""
