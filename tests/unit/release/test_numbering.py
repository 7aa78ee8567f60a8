"""The next version: two counters, staging and prod, on one major.minor line."""

from __future__ import annotations

import pytest

from ops.release.errors import ReleaseError
from ops.release.numbering import hotfix_version, next_version

TAGS = ["v1.3.9", "v1.4.0-dev", "v1.4.1-dev", "v1.4.2-dev", "v1.4.0", "v1.3.10-dev", "junk"]


def test_each_environment_counts_its_own_patches_on_the_highest_line():
    assert next_version(TAGS, "staging") == "v1.4.3-dev"
    assert next_version(TAGS, "prod") == "v1.4.1"


def test_patches_compare_as_numbers_not_text():
    assert next_version(["v2.0.9-dev", "v2.0.10-dev"], "staging") == "v2.0.11-dev"


def test_a_new_line_starts_both_counters_at_zero():
    assert next_version(TAGS, "prod", "minor") == "v1.5.0"
    assert next_version(TAGS, "staging", "major") == "v2.0.0-dev"
    assert next_version(["v1.5.0-dev", *TAGS], "prod") == "v1.5.0"  # staging opened 1.5


def test_the_first_release_is_zero_one_zero():
    assert next_version([], "staging") == "v0.1.0-dev"
    assert next_version(["unrelated"], "prod") == "v0.1.0"


def test_a_hotfix_follows_the_last_production_release_not_staging():
    assert hotfix_version(["v1.5.3-dev", *TAGS]) == "v1.4.1"
    with pytest.raises(ReleaseError, match="no production release"):
        hotfix_version(["v1.0.0-dev"])


@pytest.mark.parametrize(("env", "bump"), [("local", "patch"), ("staging", "huge")])
def test_unknown_environment_or_bump_is_refused(env, bump):
    with pytest.raises(ReleaseError):
        next_version(TAGS, env, bump)
