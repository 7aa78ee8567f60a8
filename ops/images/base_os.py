"""The operating-system image every Refinery image starts from, made locally.

No image can be pulled where Refinery is built and tested, so the base OS is made here:
`debootstrap` a minimal Debian bookworm with python3, python3-venv and ca-certificates from
the mirror the machine's own apt uses, then import the tree as an image. The image is
cached in the Docker engine: when it exists, nothing is done.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

import docker
import docker.errors

from common.errors import CommandError, ConfigError
from common.shell import Value, as_root, find_program, run_command

log = logging.getLogger(__name__)

DEFAULT_BASE_OS_IMAGE = "refinery-os:bookworm"
SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
APT_SOURCES = (Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list"))


def apt_mirror(sources: tuple[Path, ...] = APT_SOURCES, *, suite: str = SUITE) -> str:
    """The Debian mirror apt on this machine uses for `suite` (not its security archive).

    Reads deb822 `.sources` files and one-line `sources.list` entries, so the base image
    comes from the same place as the machine's own packages.
    """
    candidates: list[str] = []
    for source in sources:
        files = sorted(source.glob("*.sources")) + sorted(source.glob("*.list"))
        for path in files if source.is_dir() else [source]:
            if path.is_file():
                candidates.extend(_mirrors_in(path, suite))
    for url in candidates:
        if "security" not in url:
            return url.rstrip("/")
    raise ConfigError(
        f"no apt source for Debian {suite} found in {', '.join(map(str, sources))}: "
        "configure apt (or pass the mirror explicitly)"
    )


def _mirrors_in(path: Path, suite: str) -> list[str]:
    text = path.read_text(errors="replace")
    found: list[str] = []
    if path.suffix == ".sources":
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if (
                "deb" in fields.get("types", "").split()
                and suite in fields.get("suites", "").split()
            ):
                found.extend(fields.get("uris", "").split())
        return found
    for line in text.splitlines():
        words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
            found.append(words[1])
    return found


def base_os_image_exists(client: docker.APIClient, name: str) -> bool:
    try:
        client.inspect_image(name)
    except docker.errors.ImageNotFound:
        return False
    return True


def ensure_base_os_image(
    client: docker.APIClient,
    name: str = DEFAULT_BASE_OS_IMAGE,
    *,
    mirror: str | None = None,
    work_dir: Path | None = None,
) -> str:
    """Make the base OS image `name` unless the engine already has it; return its id."""
    if base_os_image_exists(client, name):
        return client.inspect_image(name)["Id"]
    debootstrap = find_program("debootstrap")
    if debootstrap is None:
        raise CommandError("debootstrap is not installed: run scripts/system-packages.sh")
    mirror = mirror or apt_mirror()
    repository, _, tag = name.rpartition(":") if ":" in name else (name, "", "latest")
    with tempfile.TemporaryDirectory(prefix="refinery-os-", dir=work_dir) as scratch:
        root = Path(scratch) / "root"
        log.info("debootstrap %s from %s into %s", SUITE, mirror, root)
        # debootstrap makes a root-owned tree (root by nature: `sudo -n` for a user with
        # passwordless sudo), so reading and removing it takes root too.
        try:
            run_command(
                as_root(
                    [
                        debootstrap,
                        "--variant=minbase",
                        f"--include={','.join(PACKAGES)}",
                        SUITE,
                        root,
                        Value(mirror),
                    ]
                ),
                timeout=900,
            )
            archive = Path(scratch) / "root.tar"
            run_command(as_root(["tar", "-C", root, "-c", "-f", archive, "."]), timeout=300)
            client.import_image(src=str(archive), repository=repository, tag=tag)
        finally:
            run_command(as_root(["rm", "-rf", "--", root, Path(scratch) / "root.tar"]), timeout=300)
    return client.inspect_image(name)["Id"]
