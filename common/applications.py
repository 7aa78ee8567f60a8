"""Applications: every handler a worker can run, declared once with its version and needs.

An application is one (job kind, name) pair — the name a job's `handler` column holds: a
survey's source, `download`, an index build's `salmon`, a process job's application — with
its version (recorded on every analysis it makes), the image it runs in, and the least memory
it needs. It is declared as data, in an `applications.toml` file beside the module that holds
its code:

    [[application]]
    kind = "process"
    name = "fastq_qc"
    version = "1.0.0"
    memory_mb = 1024     # optional: every attempt gets at least this much (default: its tier's)
    nice = 10            # optional: its CPU niceness, 0-19 (default 0): background work that
                         # yields the cores to the jobs others wait on, on one machine
    image = "workers"    # optional: which of the images `inv images.build` makes it runs in
    module = "workers.processors.fastq_qc"  # optional: the module holding its code (default:
                                            # the handler module beside the manifest)
    preload = true       # optional (default false): a spare worker imports its module while it
                         # waits for a job (workers.standby), for a light application whose
                         # jobs are many and short; never one that imports a numeric library,
                         # whose mappings a small memory tier's address-space cap must not hold

The modules are the built-in handler packages and those named in REFINERY_HANDLER_MODULES
(comma-separated: applications that live outside this repository). Each module is located on
`sys.path` without being imported and the manifest beside it read as data, so the foreman
(job definitions per pipeline, an application's memory) knows every application without
importing job code. A worker binds code to a declaration with `workers.registry.handler(kind,
name)`, which reads the manifest beside the decorated function's own module and refuses a
name it does not declare: what the foreman reads and what a worker runs are the same record.
A worker running one job imports that application's `module` alone, so a download does not
pay for the numeric libraries of RMA or of dataset building.
vCPUs and timeouts are the shape of a Batch job definition, kept in its template
(`infrastructure/batch/`).
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from common.environments import REPO_ROOT
from common.errors import ConfigError

MANIFEST_NAME = "applications.toml"
HANDLER_MODULES_VARIABLE = "REFINERY_HANDLER_MODULES"
# The handler packages of this repository (named, never imported, by the foreman).
BUILTIN_HANDLER_MODULES = (
    "workers.surveyors", "workers.downloaders", "workers.processors",
    "workers.datasets.handlers", "workers.datasets.compendia",
)  # fmt: skip
DEFAULT_IMAGE = "workers"
_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$", re.ASCII)
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", re.ASCII)
_KEYS = {"kind", "name", "version", "image", "memory_mb", "module", "nice", "preload"}
MAX_NICE = 19  # the lowest CPU priority Linux gives


@dataclass(frozen=True)
class Application:
    """One application as its manifest declares it."""

    kind: str
    name: str
    version: str
    image: str = DEFAULT_IMAGE
    memory_mb: int = 0  # the least memory it needs; 0: its memory tier decides alone
    manifest: str = ""  # the file that declares it, for messages
    module: str = ""  # the module whose @handler is its code (imported alone to run it)
    nice: int = 0  # the CPU niceness its worker takes before it runs (0: as started)
    preload: bool = False  # a spare worker imports its module before its job arrives

    @property
    def pipeline(self) -> str:
        """The family of its Batch job definitions (`pipeline_name`)."""
        return pipeline_name(self.kind, self.name)


def pipeline_name(kind: str, name: str) -> str:
    """`<kind>-<name>`, or `<kind>` when the two are the same (`download`)."""
    return kind if name in ("", kind) else f"{kind}-{name}"


def handler_modules() -> tuple[str, ...]:
    """The built-in handler packages, then REFINERY_HANDLER_MODULES's, in order."""
    extra = os.environ.get(HANDLER_MODULES_VARIABLE, "")
    names = [name.strip() for name in extra.split(",") if name.strip()]
    for name in names:
        if not _MODULE.match(name):
            raise ConfigError(f"{HANDLER_MODULES_VARIABLE}: {name[:80]!r} is not a module name")
    return (*BUILTIN_HANDLER_MODULES, *dict.fromkeys(names))


def applications() -> dict[tuple[str, str], Application]:
    """Every declared application by (kind, name), from the handler modules' manifests."""
    return _declared(handler_modules(), tuple(sys.path))


def manifest_beside(module_file: str | Path) -> Path:
    """The manifest that declares the applications of the module in `module_file`."""
    return Path(module_file).resolve().parent / MANIFEST_NAME


def read_manifest(path: Path, module: str = "") -> list[Application]:
    """The applications `path` declares; a ConfigError naming the file and the entry. An
    application without `module` of its own is in `module`, the one the manifest is beside."""
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such manifest (declare the module's applications)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    entries = document.get("application")
    if set(document) != {"application"} or not isinstance(entries, list):
        raise ConfigError(f"{path}: expected only [[application]] tables")
    return [_application(path, index, entry, module) for index, entry in enumerate(entries, 1)]


def _application(path: Path, index: int, entry: Any, module: str) -> Application:
    where = f"{path}: application {index}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a table")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})"
        )
    for key in ("kind", "name", "version"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ConfigError(f"{where}: {key} must be a non-empty string")
    for key in ("kind", "name"):
        if not _NAME.match(entry[key]):
            raise ConfigError(f"{where}: {key} {entry[key][:80]!r} may hold only A-Z a-z 0-9 _")
    image = entry.get("image", DEFAULT_IMAGE)
    if not isinstance(image, str) or not _NAME.match(image.replace("-", "_")):
        raise ConfigError(f"{where}: image must be an image name such as {DEFAULT_IMAGE!r}")
    memory_mb = entry.get("memory_mb", 0)
    if not isinstance(memory_mb, int) or isinstance(memory_mb, bool) or not memory_mb >= 0:
        raise ConfigError(f"{where}: memory_mb must be a whole number of megabytes")
    nice = entry.get("nice", 0)
    if not isinstance(nice, int) or isinstance(nice, bool) or not 0 <= nice <= MAX_NICE:
        raise ConfigError(f"{where}: nice must be a whole number from 0 to {MAX_NICE}")
    preload = entry.get("preload", False)
    if not isinstance(preload, bool):
        raise ConfigError(f"{where}: preload must be true or false")
    code = entry.get("module", module)
    if not isinstance(code, str) or not _MODULE.match(code):
        raise ConfigError(f"{where}: module must be a dotted module name")
    return Application(
        kind=entry["kind"],
        name=entry["name"],
        version=entry["version"],
        image=image,
        memory_mb=memory_mb,
        manifest=str(path),
        module=code,
        nice=nice,
        preload=preload,
    )


@lru_cache(maxsize=8)
def _declared(
    modules: tuple[str, ...], search: tuple[str, ...]
) -> dict[tuple[str, str], Application]:
    found: dict[tuple[str, str], Application] = {}
    manifests: dict[Path, str] = {}  # each manifest, and the first module beside it
    for module in modules:
        manifests.setdefault(_module_directory(module, search) / MANIFEST_NAME, module)
    for path, module in manifests.items():
        for application in read_manifest(path, module):
            key = (application.kind, application.name)
            if key in found:
                raise ConfigError(
                    f"{path}: {application.kind} application {application.name!r} is declared "
                    f"in {found[key].manifest} already"
                )
            found[key] = application
    return found


def _module_directory(module: str, search: tuple[str, ...]) -> Path:
    """The folder of `module` (a package's own folder), found on `search` without importing."""
    parts = module.split(".")
    for entry in (*search, str(REPO_ROOT)):
        base = Path(entry or ".").joinpath(*parts)
        if (base / "__init__.py").is_file():
            return base.resolve()
        if base.with_suffix(".py").is_file():
            return base.parent.resolve()
    raise ConfigError(
        f"handler module {module} is not on the Python path ({HANDLER_MODULES_VARIABLE})"
    )
