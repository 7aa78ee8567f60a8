"""Refinery's container images: base OS, build contexts, build, push, registries."""
