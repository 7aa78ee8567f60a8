"""Analyses: running an application on demand, and sealing finished results."""
