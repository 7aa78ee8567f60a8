"""`verify_tag` on real repositories: signatures checked by git against trusted keys only."""

from __future__ import annotations

import pytest

from ops.release.errors import TagRefusedError
from ops.release.verify import verify_tag

pytestmark = pytest.mark.integration


def test_ssh_signed_dev_tag_on_dev_deploys_to_staging(repos, ssh_key, tmp_path):
    repos.trust(ssh=[ssh_key])
    commit = repos.commit("dev", "feature")
    repos.sign_tag(ssh_key, "v1.0.0-dev", commit)

    checkout = repos.clone(tmp_path / "ci")
    verified = verify_tag(checkout, "v1.0.0-dev")

    assert (verified.environment, verified.branch, verified.method) == ("staging", "dev", "ssh")
    assert verified.commit == commit
    assert verified.signer.startswith("alice@example.org (ED25519 key SHA256:")
    assert verified.trusted_ref == "refs/remotes/origin/main"


def test_gpg_signed_release_tag_on_main_deploys_to_prod(repos, gpg_key, tmp_path):
    repos.trust(gpg=[gpg_key])
    commit = repos.git("rev-parse", "main")
    repos.sign_tag(gpg_key, "v1.0.0", commit)

    verified = verify_tag(repos.clone(tmp_path / "ci"), "v1.0.0")

    assert (verified.environment, verified.method, verified.commit) == ("prod", "gpg", commit)
    assert gpg_key.fingerprint in verified.signer and "bot@example.org" in verified.signer


def refused(checkout, tag: str) -> str:
    with pytest.raises(TagRefusedError) as caught:
        verify_tag(checkout, tag)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and message.startswith(f"refused {tag}")
    return message


def test_unsigned_and_lightweight_tags_are_refused(repos, ssh_key, tmp_path):
    repos.trust(ssh=[ssh_key])
    repos.git("tag", "-a", "-m", "unsigned", "v1.0.0-dev", "dev")
    repos.git("tag", "v1.0.1-dev", "dev")
    repos.git("push", "-q", "origin", "--tags")
    checkout = repos.clone(tmp_path / "ci")

    assert "is not signed" in refused(checkout, "v1.0.0-dev")
    assert "lightweight" in refused(checkout, "v1.0.1-dev")


def test_tags_signed_by_keys_outside_the_trusted_files_are_refused(
    repos, ssh_key, stranger_ssh_key, gpg_key, stranger_gpg_key, tmp_path
):
    repos.trust(ssh=[ssh_key], gpg=[gpg_key])
    repos.sign_tag(stranger_ssh_key, "v1.0.0-dev", "dev")
    repos.sign_tag(stranger_gpg_key, "v1.0.0", "main")
    checkout = repos.clone(tmp_path / "ci")

    assert "SSH signature is not by a key in" in refused(checkout, "v1.0.0-dev")
    assert "GPG signature is not by a key in" in refused(checkout, "v1.0.0")


def test_a_gpg_signed_tag_is_refused_while_no_gpg_signer_is_listed(
    repos, ssh_key, gpg_key, tmp_path
):
    repos.trust(ssh=[ssh_key])  # SSH signers only: the GPG keys file holds no key
    repos.sign_tag(gpg_key, "v1.0.0", "main")
    checkout = repos.clone(tmp_path / "ci")

    assert "GPG-signed, but refs/remotes/origin/main holds no GPG keys in" in refused(
        checkout, "v1.0.0"
    )


def test_a_tag_cannot_vouch_for_itself_with_keys_in_its_own_checkout(
    repos, ssh_key, stranger_ssh_key, tmp_path
):
    repos.trust(ssh=[ssh_key])
    # dev (not the protected branch) gains the stranger's key and a setting that points trust
    # at dev; the stranger's tag on that commit carries both in its own checkout.
    commit = repos.commit("dev", "self-signed", {
        "infrastructure/release/allowed_signers": stranger_ssh_key.allowed_signers_line,
        "infrastructure/release/release.toml": '[release]\nrelease_branch = "dev"\n',
    })  # fmt: skip
    repos.sign_tag(stranger_ssh_key, "v1.1.0-dev", commit)
    checkout = repos.clone(tmp_path / "ci")
    repos.git("checkout", "-q", "v1.1.0-dev", cwd=checkout)

    assert "not by a key in infrastructure/release/allowed_signers" in refused(
        checkout, "v1.1.0-dev"
    )


def test_misplaced_tags_are_refused_with_the_branch_they_must_be_on(repos, ssh_key, tmp_path):
    repos.trust(ssh=[ssh_key])
    dev_only = repos.commit("dev", "unreleased work")
    side = repos.commit("feature", "side branch")  # pushed, but on neither release branch
    repos.sign_tag(ssh_key, "v1.0.0", dev_only)
    repos.sign_tag(ssh_key, "v1.0.0-dev", side)
    checkout = repos.clone(tmp_path / "ci")

    assert f"points at {dev_only[:12]}, which is not on origin/main" in refused(checkout, "v1.0.0")
    assert "not on origin/dev (where staging releases" in refused(checkout, "v1.0.0-dev")


def test_a_signed_tag_renamed_to_another_version_is_refused(repos, ssh_key, tmp_path):
    repos.trust(ssh=[ssh_key])
    repos.sign_tag(ssh_key, "v1.0.0-dev", "main", push=False)
    tag_object = repos.git("rev-parse", "refs/tags/v1.0.0-dev")
    repos.git("update-ref", "refs/tags/v1.0.0", tag_object)
    repos.git("push", "-q", "origin", "refs/tags/v1.0.0")

    message = refused(repos.clone(tmp_path / "ci"), "v1.0.0")
    assert "named v1.0.0-dev, not v1.0.0" in message


@pytest.mark.parametrize("tag", ["v1.2", "latest", "v1.2.3-rc1"])
def test_names_that_are_not_release_tags_are_refused(repos, tag):
    assert "not a release version (vX.Y.Z-dev deploys only to staging" in refused(repos.work, tag)


def test_a_tag_that_does_not_exist_is_refused(repos):
    assert "no such tag" in refused(repos.work, "v9.9.9")
