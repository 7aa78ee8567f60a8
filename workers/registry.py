"""Which function handles which job, and the application it is.

A handler takes a `JobContext` and returns the job's result (a JSON-able dict). Every handler
writes its catalog rows and creates its child jobs through `ctx.conn`, in the one transaction
that also records the attempt as succeeded — so a crash before the commit leaves nothing, and a
retry starts clean. Lake writes are atomic and keyed by catalog keys, so redoing them is safe.

A handler is found by its job's kind and `handler` column (decided when the job was queued:
a survey's source, `download`, an index build's `salmon`, a process job's application).
`@handler(kind, name)` binds a function to the application of that kind and name declared in
the `applications.toml` beside the function's module (`common.applications`: its version,
image and memory), and refuses a name the manifest does not declare or declares in another
module. A worker imports only the module its job's application names (`module` in the
manifest); `load_handler_modules` imports every one — the built-in handler packages, the
modules listed in REFINERY_HANDLER_MODULES (comma-separated; applications that live outside
this repository) and each application's module — and checks that each has its code.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.applications import (
    HANDLER_MODULES_VARIABLE,
    Application,
    applications,
    handler_modules,
    manifest_beside,
    read_manifest,
)
from common.environments import Environment
from common.errors import ConfigError, PermanentJobError
from common.lake import Lake
from foreman.jobs import Job
from workers.progress import TransferProgress

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    """What a handler gets: its job and application, environment, lake, a transaction,
    scratch space, and where to report the bytes its transfers move (`workers.progress`)."""

    env: Environment
    job: Job
    application: Application
    conn: Any
    lake: Lake
    memory_mb: int
    scratch_dir: Path
    log: logging.LoggerAdapter
    transfers: TransferProgress = field(default_factory=TransferProgress)


Handler = Callable[[JobContext], dict[str, Any]]


@dataclass(frozen=True)
class RegisteredHandler:
    """A handler's code and the application it was declared as."""

    run: Handler
    application: Application


_handlers: dict[tuple[str, str], RegisteredHandler] = {}
_loaded: tuple[str, ...] = ()


def handler(kind: str, name: str) -> Callable[[Handler], Handler]:
    """Decorator: the function is the code of application (kind, name), which the manifest
    beside its module must declare (a ConfigError when the module is imported otherwise)."""

    def register(func: Handler) -> Handler:
        manifest = manifest_beside(sys.modules[func.__module__].__file__ or "")
        declared = {(a.kind, a.name): a for a in read_manifest(manifest, func.__module__)}
        if (kind, name) not in declared:
            raise ConfigError(
                f"{func.__module__}.{func.__name__}: {manifest} declares no {kind} "
                f"application {name!r}; add it there with its version"
            )
        application = declared[(kind, name)]
        if application.module != func.__module__:
            raise ConfigError(
                f"{func.__module__}.{func.__name__}: {manifest} declares {kind} application "
                f"{name!r} in module {application.module}"
            )
        _handlers[(kind, name)] = RegisteredHandler(func, application)
        return func

    return register


def find_handler(job: Job) -> RegisteredHandler:
    """The handler for `job`, or a PermanentJobError naming what is registered."""
    return handler_for(job.kind, job.handler)


def handler_for(kind: str, name: str) -> RegisteredHandler:
    """The handler of application (kind, name), or a PermanentJobError naming the known:
    the module its declaration names is imported alone, every handler module only when that
    does not bind it."""
    declared = applications().get((kind, name))
    if declared is not None and (kind, name) not in _handlers:
        _import(declared.module, declared.manifest)
    if (kind, name) not in _handlers:
        load_handler_modules()
    try:
        return _handlers[(kind, name)]
    except KeyError:
        known = sorted(n for handler_kind, n in _handlers if handler_kind == kind)
        raise PermanentJobError(
            f"no {kind} handler named {name!r} (known: {', '.join(known)})"
        ) from None


def preload_handlers() -> None:
    """Import the module of every application declared `preload = true` (a spare worker,
    while it waits: the job it is handed then starts in its code). One that fails to import
    is left for its job to import again, which records why it cannot."""
    for application in applications().values():
        if application.preload and (application.kind, application.name) not in _handlers:
            try:
                _import(application.module, application.manifest)
            except Exception as exc:  # its job fails on the same import, with the reason
                log.debug("not preloading %s: %s", application.module, exc)


def load_handler_modules() -> None:
    """Import the built-in handler packages and REFINERY_HANDLER_MODULES's (once each); a
    ConfigError when a manifest declares an application that none of them handles."""
    global _loaded
    modules = handler_modules()
    if modules == _loaded:
        return
    code = {a.module: a.manifest for a in applications().values()}
    for module in dict.fromkeys((*modules, *code)):
        _import(module, code.get(module, HANDLER_MODULES_VARIABLE))
    missing = [a for key, a in applications().items() if key not in _handlers]
    if missing:
        raise ConfigError(
            f"{missing[0].manifest} declares {missing[0].kind} application "
            f"{missing[0].name!r}, but no handler module has @handler for it"
        )
    _loaded = modules


def _import(module: str, named_in: str) -> None:
    """Import a handler module; a ConfigError naming where it was named when it is missing."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise  # the module exists; something it imports is missing
        raise ConfigError(f"{named_in}: handler module {module} cannot be found") from None
