"""Running Terraform for one environment: python-terraform on top of Refinery's shell wrapper.

`python-terraform` builds the command lines (its option conventions, temporary var files for
`-var` maps, so variable values stay out of argv); every command then runs through
`common.shell.run_command`, which logs it and masks secrets. Credentials reach Terraform only
through the process environment (AWS_* variables), never as arguments.

Each environment gets its own Terraform data folder (`TF_DATA_DIR`) in its state folder, so
staging and prod can share one stack folder without sharing a backend configuration.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from python_terraform import Terraform

from common.environments import Environment, state_root
from common.errors import CommandError, ExitCode
from common.shell import last_lines, run_command
from ops.tf.plugins import bundled_plugin_dir
from ops.tf.settings import BUNDLED_PLUGINS, TerraformSettings, terraform_settings

log = logging.getLogger(__name__)
COMMAND_TIMEOUT_S = 3600
_SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
# Real AWS secrets are 40+ characters; shorter values (emulator dummies) are not masked, so a
# word like "testing" never blocks an argv that merely contains it.
_MIN_SECRET_LENGTH = 16


class StateLockedError(CommandError):
    """Someone (or a crashed run) holds the environment's state lock."""

    exit_code = ExitCode.LOCK_HELD


class RefineryTerraform(Terraform):
    """python-terraform whose commands run through `run_command` with an explicit env."""

    def __init__(self, *, working_dir: Path, extra_env: dict[str, str]) -> None:
        # Imported here so `python -m ops.tf.binary` does not import itself twice.
        from ops.tf.binary import terraform_path

        super().__init__(working_dir=str(working_dir), terraform_bin_path=str(terraform_path()))
        self.extra_env = extra_env

    def cmd(self, cmd: str, *args: Any, **kwargs: Any) -> tuple[int, str, str]:
        kwargs.pop("capture_output", None)
        raise_on_error = kwargs.pop("raise_on_error", False)
        kwargs.pop("synchronous", None)
        argv = self.generate_cmd_string(cmd, *args, **kwargs)
        try:
            result = run_command(
                argv,
                env=self.extra_env,
                cwd=self.working_dir,
                secrets=_credential_secrets(),
                check=bool(raise_on_error),
                timeout=COMMAND_TIMEOUT_S,
            )
        finally:
            self.temp_var_files.clean_up()
        return result.returncode, result.stdout, result.stderr


def _credential_secrets() -> list[str]:
    values = (os.environ.get(name, "") for name in _SECRET_VARIABLES)
    return [value for value in values if len(value) >= _MIN_SECRET_LENGTH]


def terraform_data_dir(env: Environment) -> Path:
    """This environment's `.terraform` folder: backend config, modules, providers."""
    return env.state_dir / "terraform" / "data"


def terraform_for(env: Environment) -> tuple[RefineryTerraform, TerraformSettings]:
    """A python-terraform handle for `env`'s stack, plus the validated settings."""
    settings = terraform_settings(env)
    data_dir = terraform_data_dir(env)
    data_dir.mkdir(parents=True, exist_ok=True)
    extra_env = {
        "TF_DATA_DIR": str(data_dir),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",  # no version check calls home
        "AWS_REGION": env.aws.region,
        "AWS_DEFAULT_REGION": env.aws.region,
    }
    return RefineryTerraform(working_dir=settings.stack_dir, extra_env=extra_env), settings


def init_stack(env: Environment) -> tuple[RefineryTerraform, TerraformSettings]:
    """`terraform init` with the environment's backend; safe to repeat."""
    tf, settings = terraform_for(env)
    options: dict[str, Any] = {
        "backend_config": settings.backend,
        "var": None,
        "upgrade": False,
    }
    if settings.plugin_dir:
        plugin_root = state_root() / "terraform-plugins"
        options["plugin_dir"] = str(
            bundled_plugin_dir(plugin_root)
            if settings.plugin_dir == BUNDLED_PLUGINS
            else Path(settings.plugin_dir)
        )
    code, out, err = tf.init(**options)
    check_result(env, "init", code, out, err)
    return tf, settings


_LOCK_FIELD = re.compile(r"^\s*(ID|Who|Operation|Created|Path):\s*(.*)$", re.MULTILINE)


def check_result(env: Environment, verb: str, code: int, out: str, err: str) -> None:
    """Turn a failed terraform run into a one-line error that says what to do."""
    if code == 0:
        return
    text = err or out
    if "Error acquiring the state lock" in text:
        fields = dict(_LOCK_FIELD.findall(text))
        raise StateLockedError(
            f"{env.name}: the Terraform state is locked by {fields.get('Who', 'unknown')} "
            f"({fields.get('Operation', '?')} since {fields.get('Created', '?')}, "
            f"lock ID {fields.get('ID', '?')}): wait for it, or if that run is dead, "
            f"inv tf.unlock -e {env.name} {fields.get('ID', 'LOCK_ID')}"
        )
    raise CommandError(f"{env.name}: terraform {verb} failed: {_error_summary(text)}")


def _error_summary(text: str) -> str:
    """Terraform's error headlines, each with where it happened (`on main.tf line 3`)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    picked: list[str] = []
    for index, line in enumerate(lines):
        if line.startswith("Error:") and len(picked) < 4:
            following = lines[index + 1] if index + 1 < len(lines) else ""
            located = following.startswith("on ")
            picked.append(f"{line} ({following.rstrip(':')})" if located else line)
    return " | ".join(picked) if picked else last_lines(text) or "(no output)"
