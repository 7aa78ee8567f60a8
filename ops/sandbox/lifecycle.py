"""`sandbox.up | status | down`: the staging shape on this machine, started and stopped.

`up`, every step idempotent (a second `up` finds what runs and starts only what does not):
1. the `sandbox` extra (the AWS emulator, the pinned Terraform and its null provider);
2. the Docker engine (the one that answers, else a dockerd started here) and the base OS
   image the release images are built on;
3. the AWS emulator on `[aws] endpoint_url`, and the emulator credentials file;
4. Terraform's state bucket and lock table, then the stack planned, guarded and applied
   exactly as a deploy does it (the sandbox stack: null resources, outputs naming the
   sandbox's services);
5. the database stand-in on `[database] port`, the AWS resources the outputs name created on
   the emulator (buckets, Batch queues, log groups, the master-password secret);
6. the registry the outputs name;
7. the foreman host: an sshd on `[foreman_host] hosts`, its `refinery-foreman` command and
   the state provisioning gives it.
Every process started is tracked by pid under `<state>/services/` and `down` stops it by
that pid. The emulator keeps its state in memory, so an `up` that starts it begins a new,
empty account: the database stand-in's database is emptied to match (a catalog naming
objects of buckets that no longer exist would describe nothing). The keys, the registry's
images, the base OS image and the local backups stay. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from common.environments import Environment
from common.errors import ConfigError
from common.inputs import is_digits
from ops.sandbox import database, emulator, foreman_host
from ops.sandbox.docker_engine import (
    DEFAULT_BASE_URL,
    docker_cache_dir,
    engine_answers,
    start_docker_engine,
    start_registry,
)
from ops.sandbox.processes import (
    SandboxError,
    port_open,
    record_pid,
    recorded_pid,
    stop_recorded,
)
from ops.sandbox.sshd import start_sshd

Progress = Callable[[str], None]
SERVICES = ("dockerd", "emulator", "registry", "foreman-host-sshd")


@dataclass(frozen=True)
class ServiceStatus:
    """One row of `inv sandbox.status`."""

    name: str
    state: str  # running, stopped, external (running, not started by the sandbox)
    address: str
    pid: int | None
    detail: str = ""


def services_dir(env: Environment) -> Path:
    path = env.state_dir / "services"
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_sandbox_shape(env: Environment) -> None:
    """Refuse anything but a sandbox-shaped environment: every address on loopback."""
    emulator.emulator_port(env)
    if not env.section("terraform").get("plugin_dir"):
        raise ConfigError(f"{env.path}: a sandbox runs the null-provider stack (plugin_dir)")
    host, _ = _foreman_host_address(env)
    if host not in ("127.0.0.1", "localhost"):
        raise ConfigError(f"{env.path}: a sandbox's foreman host must be on 127.0.0.1")


def sandbox_up(env: Environment, *, progress: Progress) -> list[ServiceStatus]:
    """Start whatever of the sandbox is not running (see the module docstring)."""
    check_sandbox_shape(env)
    from ops.extras import SANDBOX_EXTRA, ensure_installed

    ensure_installed(SANDBOX_EXTRA, progress=progress)
    _docker_engine(env, progress)
    fresh = _emulator(env, progress)
    outputs = _stack(env, progress)
    progress(f"database stand-in on 127.0.0.1:{env.database.port}")
    if fresh:
        progress("a new emulator holds nothing (its state is in memory): the database starts empty")
    stand_in = database.start_database(env, empty=fresh)
    emulator.create_stack_resources(env, outputs, stand_in.password)
    _registry(env, outputs, progress)
    _foreman_host(env, outputs, progress)
    return sandbox_status(env)


def sandbox_status(env: Environment) -> list[ServiceStatus]:
    """Every service of the sandbox: running or not, where, which pid."""
    folder = services_dir(env)
    rows = []
    dockerd = recorded_pid(folder / "dockerd.pid")
    answers = engine_answers(DEFAULT_BASE_URL)
    rows.append(
        ServiceStatus(
            "docker engine",
            "running" if dockerd else ("external" if answers else "stopped"),
            DEFAULT_BASE_URL,
            dockerd,
        )
    )
    emulator_address = f"127.0.0.1:{emulator.emulator_port(env)}"
    rows.append(_tracked(folder, "emulator", "AWS emulator", emulator_address))
    registry_address = _registry_address_hint(env)
    rows.append(_tracked(folder, "registry", "registry", registry_address))
    host, port = _foreman_host_address(env)
    rows.append(_tracked(folder, "foreman-host-sshd", "foreman host (sshd)", f"{host}:{port}"))
    running = database.database_running(env)
    rows.append(
        ServiceStatus(
            "database (RDS stand-in)",
            "running" if running else "stopped",
            f"127.0.0.1:{env.database.port}",
            _postgres_pid(env) if running else None,
        )
    )
    if answers:
        unit = foreman_host.status(env)
        rows.append(
            ServiceStatus(
                "foreman (container)",
                "running" if unit.state == "running" else "stopped",
                unit.container,
                None,
                unit.version or unit.state,
            )
        )
    follower = foreman_host.log_follower_pid(env)
    rows.append(
        ServiceStatus(
            "foreman logs (to CloudWatch)",
            "running" if follower else "stopped",
            str(env.logs.get("group", "")),
            follower,
        )
    )
    return rows


def sandbox_down(env: Environment, *, progress: Progress) -> list[ServiceStatus]:
    """Stop every process the sandbox started, by pid; keep its data for the next `up`."""
    check_sandbox_shape(env)
    folder = services_dir(env)
    if engine_answers(DEFAULT_BASE_URL):
        progress(foreman_host.stop(env))
    for name in ("foreman-host-sshd", "registry", "emulator"):
        if stop_recorded(folder / f"{name}.pid"):
            progress(f"stopped {name}")
    if database.stop_database(env):
        progress("stopped the database stand-in")
    if stop_recorded(folder / "dockerd.pid", timeout=60, group=False):
        progress("stopped the Docker engine the sandbox had started")
    return sandbox_status(env)


# --- the steps of `up` ------------------------------------------------------------------


def _docker_engine(env: Environment, progress: Progress) -> None:
    from ops.images.base_os import DEFAULT_BASE_OS_IMAGE, ensure_base_os_image
    from ops.images.settings import default_base_image

    folder = services_dir(env)
    if not engine_answers(DEFAULT_BASE_URL):
        progress("starting a Docker engine")
        engine = start_docker_engine(folder)
        if engine.process is not None:
            record_pid(folder / "dockerd.pid", engine.process.pid)
    base_image = default_base_image(env)
    if base_image == DEFAULT_BASE_OS_IMAGE:
        import docker

        client = docker.APIClient(base_url=DEFAULT_BASE_URL, version="auto", timeout=600)
        try:
            progress(f"base OS image {base_image} (made once with debootstrap)")
            ensure_base_os_image(client, base_image, work_dir=docker_cache_dir().parent)
        finally:
            client.close()


def _emulator(env: Environment, progress: Progress) -> bool:
    """Start the emulator unless it runs; True when it was started (holding nothing yet)."""
    folder = services_dir(env)
    port = emulator.emulator_port(env)
    credentials = _credentials_file(env)
    if credentials is not None and not credentials.exists():
        credentials.touch(mode=0o600)
        pairs = emulator.EMULATOR_CREDENTIALS
        credentials.write_text(
            "[default]\n"
            f"aws_access_key_id = {pairs['AWS_ACCESS_KEY_ID']}\n"
            f"aws_secret_access_key = {pairs['AWS_SECRET_ACCESS_KEY']}\n"
        )
    if credentials is not None and not os.environ.get("AWS_ACCESS_KEY_ID"):
        os.environ.setdefault("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    if recorded_pid(folder / "emulator.pid") and port_open(port):
        return False
    _refuse_taken(port, "[aws] endpoint_url", env)
    progress(f"AWS emulator on 127.0.0.1:{port}")
    server = emulator.start_moto(folder, port=port)
    record_pid(folder / "emulator.pid", server.process.pid)
    return True


def _stack(env: Environment, progress: Progress) -> dict[str, Any]:
    from ops.tf.outputs import missing_outputs, read_outputs
    from ops.tf.plan import guard_plan
    from ops.tf.settings import terraform_settings
    from ops.tf.stack import apply_plan, plan_stack

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # loopback only
    emulator.create_state_backend(env, terraform_settings(env).backend)
    progress("Terraform: plan and apply the sandbox stack")
    plan = plan_stack(env)
    guard_plan(plan, allow_destroy=False)
    if plan.summary.has_changes:
        apply_plan(env, plan)
    else:
        plan.plan_file.unlink(missing_ok=True)
    outputs = read_outputs(env)
    missing = missing_outputs(outputs)
    if missing:
        raise SandboxError(f"the sandbox stack does not output {', '.join(missing)}")
    if int(outputs["database_port"]) != env.database.port:
        raise ConfigError(
            f"the stack's database_port ({outputs['database_port']}) is not {env.path.name}'s "
            f"[database] port ({env.database.port}): make them agree"
        )
    return outputs


def _registry(env: Environment, outputs: dict[str, Any], progress: Progress) -> None:
    from ops.images.settings import default_registry

    folder = services_dir(env)
    address = default_registry(env, outputs)
    url = urlparse(f"//{address}")
    if url.hostname != "127.0.0.1" or not url.port:
        raise ConfigError(f"the sandbox registry must be 127.0.0.1:<port>, not {address}")
    if recorded_pid(folder / "registry.pid") and port_open(url.port):
        return
    _refuse_taken(url.port, "the stack's registry", env)
    progress(f"registry on {address}")
    registry = start_registry(env.state_dir / "registry", folder, port=url.port)
    record_pid(folder / "registry.pid", registry.process.pid)


def _foreman_host(env: Environment, outputs: dict[str, Any], progress: Progress) -> None:
    folder = services_dir(env)
    bin_dir = foreman_host.install_host_command(env)
    foreman_host.provision_host_state(env, outputs)
    _, port = _foreman_host_address(env)
    if recorded_pid(folder / "foreman-host-sshd.pid") and port_open(port):
        return
    _refuse_taken(port, "[foreman_host] hosts", env)
    progress(f"foreman host (sshd) on 127.0.0.1:{port}")
    path = f"{bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    server = start_sshd(foreman_host.host_dir(env), port=port, path=path)
    record_pid(folder / "foreman-host-sshd.pid", server.process.pid)


# --- reading the environment ------------------------------------------------------------


def _tracked(folder: Path, name: str, title: str, address: str) -> ServiceStatus:
    pid = recorded_pid(folder / f"{name}.pid")
    return ServiceStatus(title, "running" if pid else "stopped", address, pid)


def _foreman_host_address(env: Environment) -> tuple[str, int]:
    hosts = env.section("foreman_host").get("hosts") or []
    if not hosts or not isinstance(hosts[0], str):
        raise ConfigError(f"{env.path}: [foreman_host] hosts is required")
    host, _, port = hosts[0].rpartition(":")
    if not host or not is_digits(port):
        raise ConfigError(f"{env.path}: a sandbox's foreman host is 127.0.0.1:<port>")
    return host, int(port)


def _registry_address_hint(env: Environment) -> str:
    from ops.images.settings import default_registry

    try:
        outputs = {"ecr_repository_urls": env.terraform_output("ecr_repository_urls")}
        return default_registry(env, outputs)
    except ConfigError:
        return "(after the first sandbox.up)"


def _credentials_file(env: Environment) -> Path | None:
    if not env.aws.credentials_file:
        return None
    path = Path(env.aws.credentials_file).expanduser()
    return path if path.is_absolute() else env.state_dir / path


def _postgres_pid(env: Environment) -> int | None:
    pid_file = database.cluster(env).data_dir / "postmaster.pid"
    try:
        return int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _refuse_taken(port: int, where: str, env: Environment) -> None:
    if port_open(port):
        raise SandboxError(
            f"127.0.0.1:{port} ({where} of {env.path.name}) is taken by a program the sandbox "
            "did not start: stop it, or change the port"
        )
