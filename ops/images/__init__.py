"""Refinery's container images: base OS, build contexts, build, push, registries."""

from __future__ import annotations

from ops.images.build import (
    IMAGE_NAMES,
    BuiltImage,
    PushedImage,
    build_images,
    image_reference,
    push_images,
)
from ops.images.settings import (
    default_base_image,
    default_registry,
    environment_outputs,
    worker_image_reference,
)

__all__ = [
    "IMAGE_NAMES",
    "BuiltImage",
    "PushedImage",
    "build_images",
    "default_base_image",
    "default_registry",
    "environment_outputs",
    "image_reference",
    "push_images",
    "worker_image_reference",
]
