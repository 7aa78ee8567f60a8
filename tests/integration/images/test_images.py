"""Images built on the locally made base, pushed to a real registry, and runnable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from common.environments import REPO_ROOT
from ops.images.build import (
    REVISION_LABEL,
    VERSION_LABEL,
    build_images,
    find_built_images,
    push_images,
)
from tests.integration.images.conftest import GIT_SHA, VERSION
from tests.support.environments import write_environment

pytestmark = pytest.mark.integration

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)


def test_images_are_tagged_and_labelled_with_version_and_commit(docker_engine, built_images):
    assert list(built_images) == ["base", "foreman", "workers", "salmon", "affy"]
    client = docker_engine.client()
    for image in built_images.values():
        details = client.inspect_image(image.reference)
        labels = details["Config"]["Labels"]
        assert details["Id"] == image.image_id
        assert labels[VERSION_LABEL] == VERSION
        assert labels[REVISION_LABEL] == GIT_SHA
        assert image.reference.endswith(f"/{image.name}:{VERSION}")
    # The application images really are built on this version's base.
    base_layers = client.inspect_image(built_images["base"].reference)["RootFS"]["Layers"]
    workers_layers = client.inspect_image(built_images["workers"].reference)["RootFS"]["Layers"]
    assert workers_layers[: len(base_layers)] == base_layers
    # The salmon and affy images are this version's base plus Debian's salmon, or R and affy,
    # then the workers' code (one layer more than the workers image).
    for name in ("salmon", "affy"):
        layers = client.inspect_image(built_images[name].reference)["RootFS"]["Layers"]
        assert layers[: len(base_layers)] == base_layers, name
        assert len(layers) > len(workers_layers), name


def _unlabelled(client, reference: str) -> str:
    """The image under `reference`'s labels: the engine adds one config-only image a label,
    and an image built with its parent is built on the parent unlabelled, so no label is
    left below them."""
    details, steps = client.inspect_image(reference), 0
    while details["Config"].get("Labels"):
        details, steps = client.inspect_image(details["Parent"]), steps + 1
    assert steps <= 3, f"{reference}: labels below its own three (built on a labelled parent)"
    return details["Id"]


def test_another_version_reuses_every_layer_but_the_labels(
    docker_engine, docker_registry, base_os_image, built_images
):
    """Labels are part of an image's id and the engine's cache keys each step on its parent's
    id: a second version (another commit) finds every step in the cache — the base's
    environment, salmon's and R's packages, the code — and differs only in its labels."""
    client = docker_engine.client()
    again = build_images(
        registry=docker_registry.address, version=f"{VERSION}-again", git_sha="0" * 40,
        base_image=base_os_image, client=client,
    )  # fmt: skip
    try:
        for image in again:
            first = built_images[image.name]
            layers = client.inspect_image(image.reference)["RootFS"]["Layers"]
            assert layers == client.inspect_image(first.reference)["RootFS"]["Layers"], image.name
            # the same image under the labels (the layer-making steps were cached, not re-run)
            assert _unlabelled(client, image.reference) == _unlabelled(client, first.reference)
            assert image.image_id != first.image_id
            labels = client.inspect_image(image.reference)["Config"]["Labels"]
            assert (
                labels[VERSION_LABEL] == f"{VERSION}-again" and labels[REVISION_LABEL] == "0" * 40
            )
    finally:
        for image in again:
            client.remove_image(image.reference, noprune=True)


def _run(client, reference: str, command: list[str]) -> tuple[int, str]:
    container = client.create_container(
        reference, command=command, host_config=client.create_host_config(network_mode="host")
    )
    try:
        client.start(container)
        status = client.wait(container, timeout=120)["StatusCode"]
        return status, client.logs(container).decode().strip()
    finally:
        client.remove_container(container, force=True)


def test_salmon_runs_in_the_salmon_image_and_not_in_the_workers_image(docker_engine, built_images):
    client = docker_engine.client()
    status, output = _run(client, built_images["salmon"].reference, ["salmon", "--version"])
    assert status == 0 and output.startswith("salmon 1."), output
    # The salmon image runs the same worker entry point, as the same unprivileged user.
    status, output = _run(
        client,
        built_images["salmon"].reference,
        ["python", "-c", "import os, workers.processors.salmon_tool; print(os.getuid())"],
    )
    assert (status, output) == (0, "10001")
    # Its code's bytecode was compiled in the image: the image writes none as it runs.
    compiled = "import importlib.util as u; print(u.cache_from_source(u.find_spec('{}').origin))"
    for name in ("salmon", "workers"):
        module = "workers.runtime"
        status, output = _run(
            client,
            built_images[name].reference,
            ["sh", "-c", f'test -f "$(python -c "{compiled.format(module)}")" && echo compiled'],
        )
        assert (status, output) == (0, "compiled"), name
    # The QC image (workers) carries no aligner.
    status, output = _run(
        client, built_images["workers"].reference, ["sh", "-c", "command -v salmon || echo none"]
    )
    assert (status, output) == (0, "none")


def test_rma_runs_in_the_affy_image_and_r_is_in_no_other(docker_engine, built_images):
    client = docker_engine.client()
    rma = "suppressPackageStartupMessages(library(affy)); cat(exists('rma'))"
    status, output = _run(client, built_images["affy"].reference, ["Rscript", "-e", rma])
    assert (status, output) == (0, "TRUE"), output
    # The same worker entry point and unprivileged user as the workers image.
    status, output = _run(
        client,
        built_images["affy"].reference,
        ["python", "-c", "import os, workers.processors.affy_r; print(os.getuid())"],
    )
    assert (status, output) == (0, "10001")
    for name in ("workers", "salmon"):
        status, output = _run(
            client, built_images[name].reference, ["sh", "-c", "command -v Rscript || echo none"]
        )
        assert (status, output) == (0, "none"), name


def test_workers_image_runs_the_project_with_its_dependencies(docker_engine, built_images):
    client = docker_engine.client()
    container = client.create_container(
        built_images["workers"].reference,
        command=[
            "python",
            "-c",
            "import boto3, psycopg2, jinja2, common.worker_identity as b, workers.registry, os;"
            "print(' '.join(b.worker_command(7)), os.getuid())",
        ],
        host_config=client.create_host_config(network_mode="host"),
    )
    try:
        client.start(container)
        status = client.wait(container, timeout=120)["StatusCode"]
        output = client.logs(container).decode().strip()
    finally:
        client.remove_container(container, force=True)
    assert status == 0, output
    assert output == "python -m workers run-job 7 10001"


def test_push_reports_digests_the_registry_serves(docker_registry, built_images):
    pushed = push_images(list(built_images.values()))
    assert [image.name for image in pushed] == ["base", "foreman", "workers", "salmon", "affy"]
    for image in pushed:
        assert image.digest.startswith("sha256:")
        response = requests.head(
            f"http://{docker_registry.address}/v2/{image.name}/manifests/{VERSION}",
            headers={"Accept": MANIFEST_TYPES},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.headers["Docker-Content-Digest"] == image.digest
        assert image.pinned_reference == f"{docker_registry.address}/{image.name}@{image.digest}"


def test_find_built_images_recovers_what_build_made(docker_registry, built_images):
    found = find_built_images(registry=docker_registry.address, version=VERSION)
    assert {image.name: image.image_id for image in found} == {
        name: image.image_id for name, image in built_images.items()
    }
    assert {image.git_sha for image in found} == {GIT_SHA}


def test_images_tasks_build_and_push_through_inv(
    session_dirs, docker_registry, base_os_image, built_images
):
    write_environment(
        session_dirs["environments"],
        "imgtask",
        {
            "database": {"kind": "embedded"},
            "lake": {"backend": "filesystem", "root": "lake"},
            "executor": {"kind": "local"},
            "images": {"registry": docker_registry.address, "base_image": base_os_image},
        },
    )

    def inv(*args):
        return subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=REPO_ROOT,
        )

    built = inv("images.build", "-e", "imgtask", "-v", VERSION, "--name", "workers", "--json")
    assert built.returncode == 0, built.stderr
    [workers] = json.loads(built.stdout)
    assert workers["reference"] == f"{docker_registry.address}/workers:{VERSION}"
    assert len(workers["git_sha"]) == 40  # the real commit of this checkout
    pushed = inv("images.push", "-e", "imgtask", "-v", VERSION, "--name", "workers", "--json")
    assert pushed.returncode == 0, pushed.stderr
    [result] = json.loads(pushed.stdout)
    assert result["pinned"] == f"{docker_registry.address}/workers@{result['digest']}"
    unknown = inv("images.build", "-e", "imgtask", "-v", VERSION, "--name", "web")
    assert unknown.returncode != 0
    assert unknown.stderr.strip().splitlines()[-1].startswith("error: unknown image 'web'")
