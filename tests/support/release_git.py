"""Real git repositories and real signing keys for the release tests.

`ReleaseRepos` is a bare repository on disk standing for the remote (its HEAD is `main`, the
protected default branch) and a working clone with `main` and `dev`. Keys are generated
here: SSH keys with `ssh-keygen`, GPG keys with `gpg --batch --quick-gen-key` in a GnuPG home
of their own, so nothing of the machine's own keys or configuration takes part.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SETTINGS = """[release]
development_branch = "dev"
release_branch = "main"
allowed_signers = "infrastructure/release/allowed_signers"
allowed_gpg_keys = "infrastructure/release/release-keys.asc"
"""
# A user's own ~/.gitconfig must not sign, verify or name anything in these tests.
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Release Tester",
    "GIT_AUTHOR_EMAIL": "tester@example.org",
    "GIT_COMMITTER_NAME": "Release Tester",
    "GIT_COMMITTER_EMAIL": "tester@example.org",
}


def run(*argv: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
        input_text: str | None = None) -> str:  # fmt: skip
    """Run a command for test setup; its failure fails the test with git's words."""
    result = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env={**os.environ, **GIT_ENV, **(env or {})},
        input=input_text, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"{argv}: {result.stderr}"
    return result.stdout


@dataclass
class SshKey:
    """An ed25519 key pair made by ssh-keygen."""

    private: Path
    principal: str

    @property
    def allowed_signers_line(self) -> str:
        public = self.private.with_suffix(".pub").read_text().split()
        return f'{self.principal} namespaces="git" {public[0]} {public[1]}\n'

    def sign_config(self) -> list[str]:
        return ["-c", "gpg.format=ssh", "-c", f"user.signingkey={self.private}"]


def make_ssh_key(folder: Path, principal: str) -> SshKey:
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / principal.split("@")[0]
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", private)
    return SshKey(private, principal)


@dataclass
class GpgKey:
    """A GPG signing key in a GnuPG home of its own (a short path: the agent's socket)."""

    home: Path
    fingerprint: str

    def public_armor(self) -> str:
        return run("gpg", "--batch", "--armor", "--export", self.fingerprint,
                   env={"GNUPGHOME": str(self.home)})  # fmt: skip

    def sign_config(self) -> list[str]:
        return ["-c", "gpg.format=openpgp", "-c", f"user.signingkey={self.fingerprint}"]

    def env(self) -> dict[str, str]:
        return {"GNUPGHOME": str(self.home)}

    def close(self) -> None:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, **self.env()},
                       capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(self.home, ignore_errors=True)


def make_gpg_key(uid: str) -> GpgKey:
    home = Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))
    os.chmod(home, 0o700)
    env = {"GNUPGHOME": str(home)}
    run("gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never",
        env=env)  # fmt: skip
    listing = run("gpg", "--batch", "--with-colons", "--list-secret-keys", env=env)
    fingerprint = next(
        line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
    )
    return GpgKey(home, fingerprint)


@dataclass
class ReleaseRepos:
    """A bare remote with `main` (protected, trusted) and `dev`, and a working clone."""

    origin: Path
    work: Path
    signer_files: dict[str, str] = field(default_factory=dict)

    def git(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
        return run("git", *args, cwd=cwd or self.work, env=env).strip()

    def commit(self, branch: str, message: str, files: dict[str, str] | None = None) -> str:
        """Commit on `branch` (created from the current one when new) and push it."""
        self.git("switch", "-q", branch) if self._has_branch(branch) else self.git(
            "switch", "-q", "-c", branch
        )
        for name, text in (files or {f"{message}.txt": message}).items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            self.git("add", name)
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", branch)
        return self.git("rev-parse", "HEAD")

    def trust(self, *, ssh: list[SshKey] = (), gpg: list[GpgKey] = ()) -> None:
        """Commit these keys as the allowed signers on main (the trusted branch)."""
        self.commit("main", "signers", {
            "infrastructure/release/allowed_signers":
                "# release signers\n" + "".join(k.allowed_signers_line for k in ssh),
            "infrastructure/release/release-keys.asc": "".join(k.public_armor() for k in gpg),
        })  # fmt: skip
        self.git("switch", "-q", "dev")
        self.git("merge", "-q", "--no-edit", "main")
        self.git("push", "-q", "origin", "dev")

    def sign_tag(self, key: SshKey | GpgKey, tag: str, revision: str, *, push: bool = True) -> None:
        env = key.env() if isinstance(key, GpgKey) else None
        self.git(*key.sign_config(), "tag", "-s", "-m", f"Release {tag}", tag, revision, env=env)
        if push:
            self.git("push", "-q", "origin", f"refs/tags/{tag}")

    def clone(self, folder: Path) -> Path:
        """A fresh checkout of the remote, as CI makes one."""
        run("git", "clone", "-q", self.origin, folder)
        return folder

    def _has_branch(self, branch: str) -> bool:
        return bool(self.git("branch", "--list", branch))


def make_release_repos(root: Path) -> ReleaseRepos:
    """main with the release settings, and dev branched from it, both pushed."""
    origin = root / "origin.git"
    run("git", "init", "-q", "--bare", "-b", "main", origin)
    work = root / "work"
    run("git", "init", "-q", "-b", "main", work)
    repos = ReleaseRepos(origin, work)
    repos.git("remote", "add", "origin", str(origin))
    repos.git("config", "user.name", "Release Tester")  # an engineer's own identity
    repos.git("config", "user.email", "tester@example.org")
    repos.commit("main", "settings", {
        "infrastructure/release/release.toml": SETTINGS,
        "infrastructure/release/allowed_signers": "# nobody yet\n",
    })  # fmt: skip
    repos.commit("dev", "start dev")
    return repos
