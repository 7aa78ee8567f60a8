"""The anonymisation rules file and the rehearsal check, without a database."""

from __future__ import annotations

import json

import pytest

from common.environments import REPO_ROOT, load_environment
from ops.staging.anonymise import hmac_key, read_rules
from ops.staging.errors import RefreshError, RehearsalRequiredError
from ops.staging.report import require_green_rehearsal
from tests.support.environments import write_environment


def test_the_shipped_rules_read_and_draw_a_fresh_key_per_refresh():
    rules = read_rules(REPO_ROOT / "infrastructure/anonymise.toml")
    assert {rule.label for rule in rules.rules} >= {"individuals.name", "analyses.run_by"}
    first, how = hmac_key(rules)
    assert len(first) == 32 and how == "random, for this refresh only"
    assert hmac_key(rules)[0] != first


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[columns]\n"individuals" = "hmac"\n', "must be table.column or table.column.key"),
        ('[columns]\n"individuals.name" = "scramble"\n', "the method is one of"),
        ("[columns]\n", "must list the personal columns"),
        ('[colums]\n"a.b" = "hmac"\n', "unknown section [colums]"),
    ],
)
def test_mistakes_in_the_rules_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "anonymise.toml"
    path.write_text(text)
    with pytest.raises(RefreshError) as caught:
        read_rules(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_configured_key_variable_must_be_set(tmp_path, monkeypatch):
    path = tmp_path / "anonymise.toml"
    path.write_text('[key]\nenv = "ANON_KEY"\n[columns]\n"a.b" = "hmac"\n')
    monkeypatch.delenv("ANON_KEY", raising=False)
    with pytest.raises(RefreshError, match="ANON_KEY, which is not set"):
        hmac_key(read_rules(path))
    monkeypatch.setenv("ANON_KEY", "fixed")
    assert hmac_key(read_rules(path)) == (b"fixed", "from ANON_KEY")


def test_only_a_green_rehearsal_of_the_same_commit_counts(tmp_path, monkeypatch):
    monkeypatch.setenv("REFINERY_ENVIRONMENTS_DIR", str(tmp_path / "envs"))
    monkeypatch.setenv("REFINERY_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "envs").mkdir()
    write_environment(tmp_path / "envs", "staging", {
        "database": {"kind": "embedded"}, "lake": {"backend": "filesystem", "root": "l"},
        "executor": {"kind": "null"},
    })  # fmt: skip
    staging = load_environment("staging")
    with pytest.raises(RehearsalRequiredError, match="and there is none"):
        require_green_rehearsal(staging, "a" * 40, "prod")
    folder = staging.state_dir / "rehearsals"
    folder.mkdir()
    for name, commit, outcome in (("1", "a" * 40, "failed"), ("2", "b" * 40, "succeeded")):
        (folder / f"{name}.json").write_text(
            json.dumps({"id": name, "commit": commit, "outcome": outcome})
        )
    with pytest.raises(RehearsalRequiredError, match=r"the latest \(2\) is succeeded for commit b"):
        require_green_rehearsal(staging, "a" * 40, "prod")
    assert require_green_rehearsal(staging, "b" * 40, "prod")["id"] == "2"
