"""The sandbox foreman host's service: the foreman image as a container, like `refinery-foreman`.

On AWS, cloud-init installs the systemd unit `refinery-foreman`, which runs the foreman image
at the deployed `REFINERY_VERSION` on the host's Docker engine. The sandbox's foreman host is
an sshd on loopback, and this module is its unit: `inv sandbox.up` installs a
`refinery-foreman` command on the host's PATH that runs

    python -m ops.sandbox.foreman_host -e sandbox restart VERSION | start | stop | status

The deploy reaches it over SSH through `[foreman_host] restart_command`, a restore through
`stop_command` / `start_command`. The container runs `python -m foreman run -e ENV` with the
host's network (the database, the emulator and the registry are on loopback), the
environment files mounted read-only and the host's state folder holding what provisioning
wrote there (the stack's outputs), as user data writes them on AWS. The last version started
is kept, so `start` (after a restore, or a reboot) runs the release that was deployed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.environments import (
    ENVIRONMENTS_DIR_VARIABLE,
    STATE_DIR_VARIABLE,
    TERRAFORM_OUTPUTS_FILE,
    Environment,
    environments_dir,
    load_environment,
)
from common.errors import RefineryError
from ops.sandbox.emulator import EMULATOR_CREDENTIALS
from ops.sandbox.processes import (
    SandboxError,
    record_pid,
    recorded_pid,
    spawn,
    stop_recorded,
)

IMAGE_USER_ID = 10001  # the `refinery` user of the images (images/base/Dockerfile)
CONTAINER_STATE = "/var/lib/refinery"
CONTAINER_ENVIRONMENTS = "/etc/refinery/environments"
STOP_TIMEOUT_S = 30
FOLLOWER_STOP_TIMEOUT_S = 10


@dataclass(frozen=True)
class ForemanUnitStatus:
    container: str
    state: str  # running, exited, absent
    version: str


def host_dir(env: Environment) -> Path:
    """The foreman host's own folder in the sandbox's state folder."""
    return env.state_dir / "foreman-host"


def container_name(env: Environment) -> str:
    return f"refinery-{env.name}-foreman"


def provision_host_state(env: Environment, outputs: dict[str, Any]) -> Path:
    """What user data writes on AWS: the stack's outputs in the host's state folder."""
    state = host_dir(env) / "state"
    folder = state / env.name
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / TERRAFORM_OUTPUTS_FILE
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(outputs, indent=2, sort_keys=True))
    partial.chmod(0o600)
    partial.replace(target)
    if os.geteuid() == 0:  # the image's user runs the foreman and owns its state
        for path in (state, folder, target):
            os.chown(path, IMAGE_USER_ID, IMAGE_USER_ID)
    return state


def state_owner() -> str | None:
    """Who the foreman container runs as: the image's user, who owns the host's state when
    we are root (provision_host_state hands it over); else we, who own it ourselves."""
    return None if os.geteuid() == 0 else f"{os.getuid()}:{os.getgid()}"


def install_host_command(env: Environment) -> Path:
    """`<host>/bin/refinery-foreman`: the host's service command, found on its sshd's PATH."""
    from common.environments import REPO_ROOT, state_root

    bin_dir = host_dir(env) / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    variables = {
        "PYTHONPATH": str(REPO_ROOT),
        STATE_DIR_VARIABLE: str(state_root()),
        ENVIRONMENTS_DIR_VARIABLE: str(environments_dir()),
    }
    exports = "".join(f"export {name}='{value}'\n" for name, value in variables.items())
    script = bin_dir / "refinery-foreman"
    script.write_text(
        "#!/bin/sh\n"
        "# The foreman host's service command (the systemd unit refinery-foreman on AWS).\n"
        "set -eu\n"
        f"cd '{REPO_ROOT}'\n"
        f"{exports}"
        f"exec '{sys.executable}' -m ops.sandbox.foreman_host -e '{env.name}' \"$@\"\n"
    )
    script.chmod(0o755)
    return bin_dir


def _client() -> Any:
    import docker

    return docker.from_env(timeout=300)


def host_outputs(env: Environment) -> dict[str, Any]:
    """The stack's outputs, as provisioning wrote them on the host."""
    path = host_dir(env) / "state" / env.name / TERRAFORM_OUTPUTS_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise SandboxError(f"{path} is missing: the foreman host is not provisioned") from None


def _image(env: Environment, version: str) -> str:
    from ops.images.build import image_reference
    from ops.images.settings import default_registry

    return image_reference(default_registry(env, host_outputs(env)), "foreman", version)


def _version_file(env: Environment) -> Path:
    return host_dir(env) / "version"


def start(env: Environment, version: str | None = None) -> str:
    """Run the foreman container at `version` (default: the last one started)."""
    import docker.errors

    version_file = _version_file(env)
    if version is None:
        if not version_file.exists():
            raise SandboxError("no release was ever started here: deploy one first")
        version = version_file.read_text().strip()
    client = _client()
    try:
        image = _image(env, version)
        try:
            client.images.pull(image)
        except docker.errors.APIError as exc:
            raise SandboxError(f"cannot pull {image}: {exc.explanation or exc}") from None
        _remove(client, container_name(env))
        container = client.containers.run(
            image,
            ["python", "-m", "foreman", "run", "-e", env.name],
            name=container_name(env),
            detach=True,
            network_mode="host",
            environment={
                "REFINERY_VERSION": version,
                STATE_DIR_VARIABLE: CONTAINER_STATE,
                ENVIRONMENTS_DIR_VARIABLE: CONTAINER_ENVIRONMENTS,
                "AWS_EC2_METADATA_DISABLED": "true",
                **EMULATOR_CREDENTIALS,
            },
            volumes={
                str(host_dir(env) / "state"): {"bind": CONTAINER_STATE, "mode": "rw"},
                str(environments_dir()): {"bind": CONTAINER_ENVIRONMENTS, "mode": "ro"},
            },
            labels={"refinery.environment": env.name, "refinery.version": version},
            user=state_owner(),
        )
    finally:
        client.close()
    version_file.write_text(version + "\n")
    _start_log_follower(env, container.id)
    return f"started foreman {version} for {env.name} as container {container.short_id}"


def _follower_pid_file(env: Environment) -> Path:
    return host_dir(env) / "log-follower.pid"


def _start_log_follower(env: Environment, container_id: str) -> None:
    """What `--log-driver awslogs` does on AWS: the container's output into the stack's log
    group (ops/sandbox/log_follower.py says why the sandbox cannot use the driver itself)."""
    stop_recorded(_follower_pid_file(env), timeout=FOLLOWER_STOP_TIMEOUT_S)
    process = spawn(
        [sys.executable, "-m", "ops.sandbox.log_follower", "-e", env.name, container_id],
        log_file=host_dir(env) / "log-follower.log",
        env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true", **EMULATOR_CREDENTIALS},
    )
    record_pid(_follower_pid_file(env), process.pid)


def log_follower_pid(env: Environment) -> int | None:
    """The pid of the foreman's log follower, if one runs."""
    return recorded_pid(_follower_pid_file(env))


def _stop_log_follower(env: Environment) -> None:
    """Let the follower send the container's last lines (its stream ends with the container),
    then stop it by its pid if it is still there."""
    stop_recorded(
        _follower_pid_file(env), timeout=FOLLOWER_STOP_TIMEOUT_S, grace=FOLLOWER_STOP_TIMEOUT_S
    )


def stop(env: Environment) -> str:
    """Stop the foreman container (SIGTERM: it marks its heartbeat stopped) and remove it."""
    client = _client()
    try:
        stopped = _remove(client, container_name(env))
    finally:
        client.close()
    _stop_log_follower(env)
    return "foreman stopped" if stopped else "no foreman was running"


def status(env: Environment) -> ForemanUnitStatus:
    import docker.errors

    client = _client()
    try:
        container = client.containers.get(container_name(env))
        state = container.status
        version = container.labels.get("refinery.version", "")
    except docker.errors.NotFound:
        state, version = "absent", ""
    finally:
        client.close()
    return ForemanUnitStatus(container_name(env), state, version)


def _remove(client: Any, name: str) -> bool:
    import docker.errors

    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        return False
    was_running = container.status == "running"
    if was_running:
        container.stop(timeout=STOP_TIMEOUT_S)
    container.remove(force=True)
    return was_running


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="refinery-foreman", description=__doc__.split("\n")[0])
    parser.add_argument("-e", "--env", required=True)
    parser.add_argument("action", choices=["restart", "start", "stop", "status"])
    parser.add_argument("version", nargs="?")
    args = parser.parse_args(argv)
    try:
        env = load_environment(args.env)
        if args.action == "restart":
            if not args.version:
                parser.error("restart needs the VERSION to run")
            stop(env)
            print(start(env, args.version))
        elif args.action == "start":
            print(start(env, args.version))
        elif args.action == "stop":
            print(stop(env))
        else:
            found = status(env)
            print(f"{found.container}: {found.state} {found.version}".rstrip())
    except RefineryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
