"""Whether a release tag may deploy: annotated, signed by an allowed key, on the right branch.

The keys that may sign releases, and the branches releases come from, are read from the
remote's protected default branch (see `ops.release.settings`), never from the tag's own
checkout: a tag must not be able to vouch for itself. Git does the cryptography — `git
verify-tag` with `gpg.ssh.allowedSignersFile` pointing at the trusted signers for SSH
signatures, or with a throwaway GnuPG home holding only the trusted public keys for GPG
signatures — so a key outside those files can never verify, whatever the tag carries.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common.errors import CommandError
from common.shell import Value, run_command
from ops.gitkit import (
    fetch_branches,
    git,
    is_ancestor,
    object_type,
    remote_default_branch,
    resolve,
    show_file,
)
from ops.release.errors import ReleaseError, TagRefusedError, VersionRuleError
from ops.release.settings import ReleaseSettings, read_release_settings
from ops.release.versions import RULE, environment_for_version

SSH_ARMOR = "-----BEGIN SSH SIGNATURE-----"
GPG_ARMOR = "-----BEGIN PGP SIGNATURE-----"
_SSH_GOOD = re.compile(r'Good "git" signature for (?P<principal>\S+) with (?P<key>.+ key \S+)')
_GPG_VALID = re.compile(r"^\[GNUPG:\] VALIDSIG (?P<fingerprint>[0-9A-F]+)", re.M)
_GPG_GOOD = re.compile(r"^\[GNUPG:\] GOODSIG [0-9A-F]+ (?P<uid>.+)$", re.M)


@dataclass(frozen=True)
class VerifiedTag:
    """A tag that passed every check, and what vouched for it."""

    tag: str
    environment: str
    commit: str
    branch: str
    method: str  # "ssh" or "gpg"
    signer: str
    trusted_ref: str


def trusted_settings(
    repo: Path,
    *,
    remote: str,
    trusted_branch: str | None,
    fetch: bool,
    environment: str | None = None,
) -> ReleaseSettings:
    """The release settings as the protected branch holds them, with the branch releases to
    `environment` come from fetched (both release branches when no environment is named): a
    production tag never needs the development branch, nor a staging tag the release one."""
    branch = trusted_branch or remote_default_branch(repo, remote)
    if branch is None:
        raise ReleaseError(
            f"cannot ask remote {remote!r} for its default branch; check the remote, or name "
            "the protected branch with --trusted-branch"
        )
    if fetch:
        fetch_branches(repo, remote, {branch: f"refs/remotes/{remote}/{branch}"})
    settings = read_release_settings(repo, _remote_ref(repo, remote, branch))
    wanted = (
        [settings.branch_for(environment)]
        if environment
        else [settings.development_branch, settings.release_branch]
    )
    if fetch:
        fetch_branches(repo, remote, {name: f"refs/remotes/{remote}/{name}" for name in wanted})
    for name in wanted:
        _remote_ref(repo, remote, name)
    return settings


def verify_tag(
    repo: Path,
    tag: str,
    *,
    remote: str = "origin",
    trusted_branch: str | None = None,
    fetch: bool = True,
) -> VerifiedTag:
    """Check `tag` in `repo`; a TagRefusedError names the first reason it may not deploy."""
    try:
        environment = environment_for_version(tag)
    except VersionRuleError:
        raise TagRefusedError(f"refused {tag}: not a release version ({RULE})") from None
    ref = f"refs/tags/{tag}"
    if resolve(repo, ref) is None:
        raise TagRefusedError(f"refused {tag}: no such tag here (fetch tags first)")
    if object_type(repo, ref) != "tag":
        raise TagRefusedError(
            f"refused {tag}: a lightweight tag; release tags are annotated and signed (git tag -s)"
        )
    body = git(repo, "cat-file", "tag", Value(ref)).stdout
    named = re.search(r"^tag (.+)$", body, re.M)
    if not named or named.group(1) != tag:
        inner = named.group(1) if named else "nothing"
        raise TagRefusedError(f"refused {tag}: the signed tag object is named {inner}, not {tag}")
    settings = trusted_settings(
        repo, remote=remote, trusted_branch=trusted_branch, fetch=fetch, environment=environment
    )
    method, signer = _check_signature(repo, tag, ref, body, settings)
    commit = git(repo, "rev-parse", f"{ref}^{{commit}}").stdout.strip()
    branch = settings.branch_for(environment)
    if not is_ancestor(repo, commit, _remote_ref(repo, remote, branch)):
        raise TagRefusedError(
            f"refused {tag}: it points at {commit[:12]}, which is not on {remote}/{branch} "
            f"(where {environment} releases come from)"
        )
    return VerifiedTag(tag, environment, commit, branch, method, signer, settings.trusted_ref)


def _remote_ref(repo: Path, remote: str, branch: str) -> str:
    ref = f"refs/remotes/{remote}/{branch}"
    if resolve(repo, ref) is None:
        raise ReleaseError(f"no {remote}/{branch} here; fetch it (git fetch {remote} {branch})")
    return ref


def _check_signature(
    repo: Path, tag: str, ref: str, body: str, settings: ReleaseSettings
) -> tuple[str, str]:
    """("ssh"|"gpg", who signed) for a good signature by a trusted key; refused otherwise."""
    if SSH_ARMOR in body:
        return "ssh", _verify_ssh(repo, tag, ref, settings)
    if GPG_ARMOR in body:
        return "gpg", _verify_gpg(repo, tag, ref, settings)
    raise TagRefusedError(f"refused {tag}: the tag is not signed (git tag -s)")


def _verify_ssh(repo: Path, tag: str, ref: str, settings: ReleaseSettings) -> str:
    signers = show_file(repo, settings.trusted_ref, settings.allowed_signers) or ""
    if not _has_entries(signers):
        raise TagRefusedError(
            f"refused {tag}: SSH-signed, but {settings.trusted_ref} lists no SSH signers in "
            f"{settings.allowed_signers}"
        )
    with tempfile.TemporaryDirectory(prefix="release-verify-") as scratch:
        path = Path(scratch) / "allowed_signers"
        path.write_text(signers)
        result = git(
            repo, "-c", f"gpg.ssh.allowedSignersFile={path}", "-c", "gpg.ssh.revocationFile=",
            "verify-tag", "--raw", ref, check=False,
        )  # fmt: skip
    output = result.stderr + result.stdout
    good = _SSH_GOOD.search(output)
    if result.returncode != 0 or not good:
        raise TagRefusedError(
            f"refused {tag}: its SSH signature is not by a key in {settings.allowed_signers} "
            f"on {settings.trusted_ref} ({_reason(output)})"
        )
    return f"{good.group('principal')} ({good.group('key')})"


def _verify_gpg(repo: Path, tag: str, ref: str, settings: ReleaseSettings) -> str:
    keys = show_file(repo, settings.trusted_ref, settings.allowed_gpg_keys) or ""
    if "BEGIN PGP PUBLIC KEY BLOCK" not in keys:
        raise TagRefusedError(
            f"refused {tag}: GPG-signed, but {settings.trusted_ref} holds no GPG keys in "
            f"{settings.allowed_gpg_keys}"
        )
    with tempfile.TemporaryDirectory(prefix="release-gnupg-") as home:
        os.chmod(home, 0o700)
        env = {"GNUPGHOME": home}
        _run_gpg_import(repo, keys, env)
        result = git(
            repo, "-c", "gpg.program=gpg", "-c", "gpg.minTrustLevel=undefined",
            "verify-tag", "--raw", ref, check=False, env=env,
        )  # fmt: skip
    output = result.stderr + result.stdout
    valid = _GPG_VALID.search(output)
    if result.returncode != 0 or not valid:
        raise TagRefusedError(
            f"refused {tag}: its GPG signature is not by a key in {settings.allowed_gpg_keys} "
            f"on {settings.trusted_ref} ({_reason(output)})"
        )
    good = _GPG_GOOD.search(output)
    uid = good.group("uid") if good else "unknown user id"
    return f"{uid} (gpg key {valid.group('fingerprint')})"


def _run_gpg_import(repo: Path, keys: str, env: dict[str, str]) -> None:
    try:
        run_command(["gpg", "--batch", "--quiet", "--import"], input_text=keys, env=env, cwd=repo)
    except CommandError as exc:
        raise ReleaseError(f"cannot load the trusted GPG keys: {exc}") from None


def _has_entries(signers: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in signers.splitlines())


def _reason(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if "[GNUPG:]" not in line and "error" in line.lower():
            return line
    plain = [line for line in lines if not line.startswith("[GNUPG:]")]
    return (plain or lines or ["no signature output"])[-1]
