"""Build and push Refinery's images through the docker SDK's low-level API.

`base` (the runtime virtual environment on the OS image given as BASE_IMAGE) is built first;
`foreman`, `workers`, `salmon` (the salmon pipelines' image: Debian's salmon added) and `affy`
(the microarray pipeline's: Debian's R and Bioconductor's affy added) are built FROM that base
of the same version; the last two carry the workers' code and entry point after their system
packages, so a release whose dependencies did not change reuses those packages' layer.
Every image is tagged `<registry>/<name>:<version>` and labelled with the version and the git
commit, so a running container can always say what it is. Nothing is pulled: every FROM is a
build argument.

The labels go on last, as a step of their own (`FROM <the image unlabelled>` plus the labels),
and an image is built FROM its parent unlabelled when both are built together (a partial build,
`names`, takes the parent already in the engine as it is): labels are part of an image's id, and the
engine's cache keys every step on its parent's id, so a parent labelled with each version and
commit made every child's system packages (R and Bioconductor for `affy`, salmon) install
again for every version and every commit.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.utils

from common.errors import CommandError, ConfigError
from ops.images.auth import registry_auth
from ops.images.context import (
    app_context,
    base_context,
    ensure_wheels,
    python_version,
    runtime_requirements,
    wheel_cache_dir,
)
from ops.progress import Progress, quiet

log = logging.getLogger(__name__)

IMAGE_NAMES = ("base", "foreman", "workers", "salmon", "affy")
# What each image is built FROM, of the same version (`base` is built on the OS image).
PARENT_IMAGES = {"foreman": "base", "workers": "base", "salmon": "base", "affy": "base"}
VERSION_LABEL = "org.opencontainers.image.version"
REVISION_LABEL = "org.opencontainers.image.revision"
TITLE_LABEL = "org.opencontainers.image.title"
# What the engine says of each layer a push has finished with.
PUSHED_LAYER_STATUSES = ("Pushed", "Layer already exists")


@dataclass(frozen=True)
class BuiltImage:
    """An image built locally: `reference` is `<registry>/<name>:<version>`."""

    name: str
    reference: str
    image_id: str
    version: str
    git_sha: str

    @property
    def repository(self) -> str:
        return self.reference.rpartition(":")[0]

    @property
    def tag(self) -> str:
        return self.reference.rpartition(":")[2]


@dataclass(frozen=True)
class PushedImage:
    """An image in the registry: its reference and the registry's content digest."""

    name: str
    reference: str
    digest: str
    size: int | None

    @property
    def pinned_reference(self) -> str:
        """`<registry>/<name>@sha256:…`: what deployments should run."""
        return f"{self.reference.rpartition(':')[0]}@{self.digest}"


def image_reference(registry: str, name: str, version: str) -> str:
    """`<registry>/<name>:<version>`, e.g. `127.0.0.1:5000/workers:1.4.0`."""
    return f"{registry.rstrip('/')}/{name}:{version}"


def docker_client() -> docker.APIClient:
    """A low-level client for the engine named by DOCKER_HOST (default socket otherwise)."""
    try:
        return docker.APIClient(**docker.utils.kwargs_from_env(), version="auto", timeout=900)
    except docker.errors.DockerException as exc:
        raise CommandError(f"cannot reach the Docker engine ({exc}); is dockerd running?") from None


def build_images(
    *,
    registry: str,
    version: str,
    git_sha: str,
    base_image: str,
    names: Sequence[str] | None = None,
    client: docker.APIClient | None = None,
    progress: Progress = quiet,
) -> list[BuiltImage]:
    """Build `names` (default: all) in dependency order; return what was built.

    `base_image` is the OS image for `base`; every other image is built FROM its parent
    (PARENT_IMAGES) of this version, built now or already present in the engine.
    """
    wanted = _validated_names(names)
    if not registry:
        raise ConfigError("no image registry given: set [images] registry or pass one")
    if not version or ":" in version or "/" in version:
        raise ConfigError(f"invalid image version {version!r}: use a tag like 1.4.0 or a sha")
    client = client or docker_client()
    built: list[BuiltImage] = []
    unlabelled: dict[str, str] = {}  # name -> id of the image before its labels
    with tempfile.TemporaryDirectory(prefix="refinery-images-") as scratch:
        for name in IMAGE_NAMES:
            if name not in wanted:
                continue
            context = Path(scratch) / name
            if name == "base":
                requirements = runtime_requirements()
                wheels = ensure_wheels(requirements, wheel_cache_dir())
                base_context(context, wheels=wheels, requirements=requirements)
                buildargs = {"BASE_IMAGE": base_image, "PYTHON_VERSION": python_version()}
            else:
                parent = PARENT_IMAGES[name]
                parent_reference = image_reference(registry, parent, version)
                if parent not in unlabelled:
                    unlabelled[parent] = _present_id(
                        client, parent_reference, hint=f"build the {parent} image first"
                    )
                app_context(context, name)
                buildargs = {"BASE_IMAGE": unlabelled[parent]}
            reference = image_reference(registry, name, version)
            labels = {VERSION_LABEL: version, REVISION_LABEL: git_sha, TITLE_LABEL: name}
            unlabelled[name] = _build_one(client, context, buildargs, name, progress)
            image_id = _label(client, unlabelled[name], reference, labels, progress)
            built.append(BuiltImage(name, reference, image_id, version, git_sha))
    return built


def push_images(
    images: Iterable[BuiltImage],
    *,
    client: docker.APIClient | None = None,
    progress: Progress = quiet,
    aws_endpoint_url: str | None = None,
) -> list[PushedImage]:
    """Push each image (with an ECR token when the registry is ECR); return the digests."""
    client = client or docker_client()
    pushed: list[PushedImage] = []
    for image in images:
        progress(f"pushing {image.reference}")
        auth = registry_auth(image.reference, endpoint_url=aws_endpoint_url)
        digest, size = None, None
        events = client.push(
            image.repository, tag=image.tag, stream=True, decode=True, auth_config=auth
        )
        for event in _events(events):
            aux = event.get("aux") or {}
            if aux.get("Digest"):
                digest, size = aux["Digest"], aux.get("Size")
            if event.get("status") in PUSHED_LAYER_STATUSES:
                progress(f"{image.name} layers", 1)
        if digest is None:
            raise CommandError(f"push of {image.reference} reported no digest; check the registry")
        progress(f"pushed {image.reference} {digest}")
        pushed.append(PushedImage(image.name, image.reference, digest, size))
    return pushed


def _validated_names(names: Sequence[str] | None) -> set[str]:
    wanted = set(names or IMAGE_NAMES)
    unknown = sorted(wanted - set(IMAGE_NAMES))
    if unknown:
        raise ConfigError(f"unknown image {unknown[0]!r} (known: {', '.join(IMAGE_NAMES)})")
    return wanted


def _present_id(client: docker.APIClient, reference: str, *, hint: str) -> str:
    """The id of `reference`, an image of an earlier build, which a partial build (`names`)
    builds FROM as it is, labels and all."""
    try:
        return str(client.inspect_image(reference)["Id"])
    except docker.errors.ImageNotFound:
        raise ConfigError(f"image {reference} not found in the engine: {hint}") from None


def _build_one(
    client: docker.APIClient,
    context: Path,
    buildargs: dict[str, str],
    name: str,
    progress: Progress,
) -> str:
    """Build `context` untagged and unlabelled; its image id."""
    progress(f"building {name}")
    log.info("building %s from %s", name, context, extra={"image": name})
    return _build(client, name, progress, path=str(context), buildargs=buildargs,
                  network_mode="host")  # fmt: skip


def _label(
    client: docker.APIClient,
    image_id: str,
    reference: str,
    labels: dict[str, str],
    progress: Progress,
) -> str:
    """`image_id` with `labels`, tagged `reference` (a config-only step); its image id."""
    labelled = _build(client, reference, progress, tag=reference, labels=labels,
                      fileobj=io.BytesIO(f"FROM {image_id}\n".encode()))  # fmt: skip
    progress(f"built {reference} {labelled[:19]}")
    return labelled


def _build(client: docker.APIClient, name: str, progress: Progress, **source: Any) -> str:
    """One `docker build` of `source` (a context folder or a Dockerfile, with its options),
    nothing pulled and no intermediate container kept; the id of the image it made."""
    stream = client.build(pull=False, rm=True, forcerm=True, decode=True, **source)
    image_id = None
    for event in _events(stream):
        text = (event.get("stream") or "").strip()
        if text.startswith("Step "):  # the Dockerfile's steps; the rest is each step's output
            progress(f"{name}: {text}")
        aux = event.get("aux") or {}
        if aux.get("ID"):
            image_id = aux["ID"]
    if image_id is None:
        raise CommandError(f"docker built {name} but did not say its image id")
    return str(image_id)


def _events(stream: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Yield engine events, turning an `error` event into a one-line CommandError."""
    for event in stream:
        if event.get("error"):
            message = " ".join(str(event["error"]).split())
            raise CommandError(f"docker: {message}")
        yield event


def find_built_images(
    *,
    registry: str,
    version: str,
    names: Sequence[str] | None = None,
    client: docker.APIClient | None = None,
) -> list[BuiltImage]:
    """The images of `version` already in the engine (to push what `build` made)."""
    client = client or docker_client()
    found: list[BuiltImage] = []
    for name in IMAGE_NAMES:
        if name not in _validated_names(names):
            continue
        reference = image_reference(registry, name, version)
        try:
            details = client.inspect_image(reference)
        except docker.errors.ImageNotFound:
            raise ConfigError(
                f"image {reference} is not built: run inv images.build -v {version}"
            ) from None
        labels = details.get("Config", {}).get("Labels") or {}
        found.append(
            BuiltImage(name, reference, details["Id"], version, labels.get(REVISION_LABEL, ""))
        )
    return found
