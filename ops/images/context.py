"""Minimal build contexts: only what each image needs, assembled in a temporary folder.

The base image gets its Dockerfile, a pinned `requirements.txt` (Refinery's runtime
dependency closure, at exactly the versions the host runs and tests with) and the wheels for
it, made on the host with `pip wheel` and cached by the hash of the pins in the user's cache
(`wheel_cache_dir`), which every checkout on the machine shares. The foreman and
workers images get their Dockerfile and the project's packages (source and package data,
no caches), and the environment files (`infrastructure/environments/*.toml`, which hold no
secrets): a container started with REFINERY_ENVIRONMENT=<name> loads its environment's file
from the image, and what only the stack knows (the database's address, the password's
secret) comes from whatever started it (common.environments.DEPLOYED_SETTINGS).
The job images with system packages of their own (`salmon`, `affy`) get the workers' context.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import shutil
import sys
from pathlib import Path

from packaging.requirements import Requirement

from common.environments import REPO_ROOT, user_cache_root
from common.shell import run_command

DISTRIBUTION = "refinery"
DOCKERFILES_DIR = REPO_ROOT / "images"
APP_PACKAGES = ("common", "foreman", "workers")
ENVIRONMENTS = Path("infrastructure") / "environments"
# The foreman image also runs its host's scheduled backups and sealing (`inv …`, ops/).
HOST_TASK_IMAGES = ("foreman",)
_PACKAGE_DATA_SUFFIXES = {".py", ".sql", ".j2", ".html", ".json", ".toml"}


def python_version() -> str:
    """`major.minor` of the host's Python: the wheels are built for it."""
    return "{}.{}".format(*sys.version_info[:2])


def runtime_requirements(distribution: str = DISTRIBUTION) -> list[str]:
    """Pinned `name==version` lines for the runtime dependency closure (no extras)."""
    pins: dict[str, str] = {}
    pending = [
        Requirement(text)
        for text in importlib.metadata.requires(distribution) or []
        if _applies(Requirement(text), extras=())
    ]
    while pending:
        requirement = pending.pop()
        key = _canonical(requirement.name)
        if key in pins:
            continue
        dist = importlib.metadata.distribution(requirement.name)
        pins[key] = f"{dist.metadata['Name']}=={dist.version}"
        for text in dist.requires or []:
            child = Requirement(text)
            if _applies(child, extras=tuple(requirement.extras)):
                pending.append(child)
    return sorted(pins.values(), key=str.lower)


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _applies(requirement: Requirement, *, extras: tuple[str, ...]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in (*extras, ""))


def wheel_cache_dir() -> Path:
    """Where the base image's wheels are kept: the user's cache, outside any clone, so a
    second checkout (or a fresh clone, as CI tests) finds the wheels its pins need rather
    than building them again (`pip wheel` of the whole closure: ~15 s of CPU)."""
    return user_cache_root() / "wheels"


def ensure_wheels(requirements: list[str], cache_root: Path) -> Path:
    """A folder of wheels for `requirements`, built once per set of pins and cached. Two
    builds at once (two checkouts, two test lines) take turns on a lock beside the folder,
    and the folder appears whole or not at all: it is filled under another name first."""
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]
    folder = cache_root / digest
    done = folder / ".complete"
    if done.exists():
        return folder
    cache_root.mkdir(parents=True, exist_ok=True)
    with open(cache_root / f"{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():  # built by whoever held the lock before
            return folder
        partial = cache_root / f"{digest}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        partial.mkdir()
        pins = partial / "requirements.txt"
        pins.write_text("\n".join(requirements) + "\n")
        run_command(
            [
                sys.executable,
                # PEP 517 builds in an isolated environment: a pin published only as a legacy
                # sdist (python-terraform) builds without `wheel` installed where this runs (a
                # fresh clone's virtual environment has none).
                *("-m", "pip", "wheel", "--quiet", "--no-deps", "--use-pep517"),
                *("--wheel-dir", str(partial), "--requirement", str(pins)),
            ],
            timeout=1800,
        )
        (partial / ".complete").write_text(digest)
        partial.rename(folder)
    return folder


def base_context(destination: Path, *, wheels: Path, requirements: list[str]) -> Path:
    """Assemble the base image's context in `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy2(DOCKERFILES_DIR / "base" / "Dockerfile", destination / "Dockerfile")
    (destination / "requirements.txt").write_text("\n".join(requirements) + "\n")
    target = destination / "wheels"
    target.mkdir()
    for wheel in sorted(wheels.glob("*.whl")):
        # Hard links keep a large context cheap to assemble; copy across filesystems.
        try:
            (target / wheel.name).hardlink_to(wheel)
        except OSError:
            shutil.copy2(wheel, target / wheel.name)
    return destination


def app_context(destination: Path, name: str, packages: tuple[str, ...] = APP_PACKAGES) -> Path:
    """Assemble the context of an application image (`foreman`, `workers`, `salmon`, `affy`)
    in `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy2(DOCKERFILES_DIR / name / "Dockerfile", destination / "Dockerfile")
    if name in HOST_TASK_IMAGES:
        packages = (*packages, "ops")
        (destination / "app").mkdir(exist_ok=True)
        shutil.copy2(REPO_ROOT / "tasks.py", destination / "app" / "tasks.py")
    for package in packages:
        source = REPO_ROOT / package
        for path in sorted(source.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix not in _PACKAGE_DATA_SUFFIXES:
                continue
            target = destination / "app" / path.relative_to(REPO_ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    environments = destination / "app" / ENVIRONMENTS
    environments.mkdir(parents=True, exist_ok=True)
    for path in sorted((REPO_ROOT / ENVIRONMENTS).glob("*.toml")):
        shutil.copy2(path, environments / path.name)
    return destination
