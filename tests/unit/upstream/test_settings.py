"""The upstreams file: what it declares, and one-line errors for what it gets wrong."""

from __future__ import annotations

import pytest

from ops.upstream.errors import UpstreamError
from ops.upstream.settings import read_upstream_settings

GOOD = """[upgrade]
test_command = "pytest -q"

[[upstreams]]
name = "core"
url = "https://example.org/core.git"
branch = "main"
local_branch = "dev"
"""


def _write(tmp_path, text: str):
    path = tmp_path / "infrastructure" / "upstreams.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_shipped_file_is_valid_and_declares_a_test_command():
    from common.environments import REPO_ROOT

    settings = read_upstream_settings(REPO_ROOT)
    assert settings.test_command and settings.migrations_dir == "foreman/sql/migrations"


def test_an_upstream_maps_to_its_local_branch_and_a_ref_of_its_own(tmp_path):
    _write(tmp_path, GOOD)
    settings = read_upstream_settings(tmp_path)
    upstream = settings.upstream(None)
    assert (upstream.name, upstream.local_branch) == ("core", "dev")
    assert upstream.fetched_ref == "refs/upstreams/core/main"
    assert settings.push_remote == "origin" and settings.dependency_files == ("pyproject.toml",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("test_command", "test_comand"), "unknown key upgrade.test_comand"),
        (GOOD.replace('branch = "main"\n', ""), "upstreams #1: branch is required"),
        (GOOD + GOOD.split("\n\n")[1], "the name 'core' is used twice"),
        ('[upgrade]\ntest_command = ""\n', "upgrade.test_command is required"),
        ("[upgrade\n", "not valid TOML"),
        (GOOD.replace('name = "core"', 'name = "a b"'), "may hold letters, digits, - and _"),
    ],
)
def test_mistakes_are_one_line_errors_naming_the_key(tmp_path, text, message):
    _write(tmp_path, text)
    with pytest.raises(UpstreamError) as caught:
        read_upstream_settings(tmp_path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_choosing_among_several_upstreams_needs_a_name(tmp_path):
    _write(tmp_path, GOOD + GOOD.split("\n\n")[1].replace('"core"', '"extra"'))
    settings = read_upstream_settings(tmp_path)
    with pytest.raises(UpstreamError, match="choose with --name"):
        settings.upstream(None)
    assert settings.upstream("extra").name == "extra"
