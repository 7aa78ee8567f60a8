"""`inv images.*`: build Refinery's images and push them to an environment's registry."""

from __future__ import annotations

from invoke import Collection, Context

from ops.taskkit import ENV_HELP, JSON_HELP, environment, print_json, print_table, task

_HELP = {
    "version": "image tag (default: the short git commit, -dirty when modified)",
    "env": ENV_HELP,
    "name": "only this image (base, foreman, workers, salmon, affy); repeat for several",
    "base_image": "OS image the base is built on (default: [images] base_image)",
    "registry": "registry to tag for (default: the environment's)",
    "json": JSON_HELP,
}


@task(iterable=["name"], help=_HELP)
def build(
    c: Context,
    version: str = "",
    env: str = "local",
    name: list[str] | None = None,
    base_image: str = "",
    registry: str = "",
    json: bool = False,
) -> None:
    """Build the base, foreman, workers, salmon and affy images for a version."""
    from ops.images.build import build_images
    from ops.images.settings import (
        default_base_image,
        default_registry,
        default_version,
        git_revision,
    )
    from ops.progress import progress_display

    settings = environment(env)
    with progress_display(enabled=not json) as progress:
        built = build_images(
            registry=registry or default_registry(settings),
            version=version or default_version(),
            git_sha=git_revision(),
            base_image=base_image or default_base_image(settings),
            names=name or None,
            progress=progress,
        )
    if json:
        print_json([image.__dict__ for image in built])
        return
    rows = [(i.name, i.reference, i.image_id[:19], i.git_sha[:12]) for i in built]
    print_table("Images built", ("image", "reference", "id", "commit"), rows)


@task(iterable=["name"], help={k: v for k, v in _HELP.items() if k != "base_image"})
def push(
    c: Context,
    version: str = "",
    env: str = "local",
    name: list[str] | None = None,
    registry: str = "",
    json: bool = False,
) -> None:
    """Push a version's images to the registry and show their digests."""
    from ops.images.build import find_built_images, push_images
    from ops.images.settings import default_registry, default_version
    from ops.progress import progress_display

    settings = environment(env)
    images = find_built_images(
        registry=registry or default_registry(settings),
        version=version or default_version(),
        names=name or None,
    )
    with progress_display(enabled=not json) as progress:
        pushed = push_images(images, progress=progress, aws_endpoint_url=settings.aws.endpoint_url)
    if json:
        print_json([{**image.__dict__, "pinned": image.pinned_reference} for image in pushed])
        return
    rows = [(i.name, i.reference, i.digest, i.size) for i in pushed]
    print_table("Images pushed", ("image", "reference", "digest", "bytes"), rows)


ns = Collection("images")
ns.add_task(build)
ns.add_task(push)
