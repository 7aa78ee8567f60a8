"""Where an environment's images live, and the deployment values they are built against.

`[images] registry = "…"` in the environment file wins; otherwise staging and prod take the
ECR registry from their Terraform outputs (`ecr_repository_urls`, a map of image name to
repository URL, or a single `ecr_registry_url`); environments that do not run on Batch
default to 127.0.0.1:5000.
`[images] base_image` names the OS image the base is built on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.environments import Environment
from common.errors import ConfigError
from common.settings.operations import ImagesSection
from ops.tf.outputs import read_outputs

DEFAULT_BASE_IMAGE = ImagesSection().base_image
# Environments that run jobs on this machine use a registry on loopback by default.
LOCAL_REGISTRY = "127.0.0.1:5000"
_ECR_OUTPUT_KEYS = ("ecr_registry_url", "ecr_registry", "ecr_repository_url")


def environment_outputs(env: Environment) -> dict[str, Any]:
    """Deployment values for `env`: its `[outputs]` section, then Terraform's outputs.

    A static `[outputs]` table lets an environment without Terraform (or a test) name its
    job role, log group and registry; the Terraform stack's outputs fill in the rest.
    """
    values: dict[str, Any] = {}
    if env.section("terraform"):
        values.update(read_outputs(env))
    values.update(env.settings("outputs"))
    return values


def default_registry(env: Environment, outputs: Mapping[str, Any] | None = None) -> str:
    """The registry images of `env` are pushed to."""
    configured = ImagesSection.for_environment(env).registry
    if configured:
        return str(configured).rstrip("/")
    outputs = environment_outputs(env) if outputs is None else outputs
    urls = outputs.get("ecr_repository_urls")
    if isinstance(urls, dict) and "value" in urls and "type" in urls:
        urls = urls["value"]
    if isinstance(urls, dict) and urls:
        # One repository per image, `<registry>/<prefix>/<image>`: the registry is the rest.
        url = str(urls.get("workers") or next(iter(urls.values())))
        return url.rstrip("/").rpartition("/")[0]
    for key in _ECR_OUTPUT_KEYS:
        value = outputs.get(key)
        if isinstance(value, dict):  # terraform output -json shape
            value = value.get("value")
        if value:
            # A repository URL (`acct.dkr.ecr.region.amazonaws.com/refinery`) is a registry
            # plus a namespace; images go under it as `<url>/<name>:<version>`.
            return str(value).rstrip("/")
    if env.executor.kind != "batch":
        return LOCAL_REGISTRY
    raise ConfigError(
        f"no image registry for environment {env.name!r}: set [images] registry in "
        f"{env.path.name} or apply its Terraform stack (output ecr_repository_urls)"
    )


WORKER_IMAGE = "workers"  # the image a Batch job definition runs unless its template names another
# Every image a job definition may name (`images.<name>` in infrastructure/batch/*.json.j2).
JOB_IMAGES = (WORKER_IMAGE, "salmon")


def release_images(worker_image: str) -> dict[str, str]:
    """Every image of JOB_IMAGES, found beside `worker_image`: a release pushes its images
    side by side in one registry at one tag (`<registry>/<name>:<version>`), so the workers
    image's reference names the others (`…/workers:1.4` → `…/salmon:1.4`)."""
    path, colon, tag = worker_image.rpartition(":")
    if not colon or "/" in tag:
        raise ConfigError(f"image {worker_image!r} has no tag: name it as <registry>/workers:<tag>")
    folder, _, name = path.rpartition("/")
    if name != WORKER_IMAGE:
        raise ConfigError(f"image {worker_image!r} is not a {WORKER_IMAGE} image")
    return {
        image: f"{folder}/{image}:{tag}" if folder else f"{image}:{tag}" for image in JOB_IMAGES
    }


def worker_image_reference(
    env: Environment, version: str, outputs: Mapping[str, Any] | None = None
) -> str:
    """`<registry>/workers:<version>`: what the job definitions of a release run."""
    from ops.images.build import image_reference

    return image_reference(default_registry(env, outputs), WORKER_IMAGE, version)


def default_base_image(env: Environment) -> str:
    return ImagesSection.for_environment(env).base_image


def git_revision() -> str:
    """The commit being built (`unknown` outside a git checkout)."""
    from common.environments import REPO_ROOT
    from common.shell import run_command

    result = run_command(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, check=False)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def default_version() -> str:
    """The version images get when none is given: the short commit, `-dirty` if modified."""
    revision = git_revision()
    if revision == "unknown":
        raise ConfigError("not a git checkout: pass a version with -v")
    from common.environments import REPO_ROOT
    from common.shell import run_command

    status = run_command(["git", "status", "--porcelain"], cwd=REPO_ROOT, check=False)
    return revision[:12] + ("-dirty" if status.stdout.strip() else "")
