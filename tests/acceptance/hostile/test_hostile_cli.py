"""Hostile input through the real CLI: refused in one line, shown as it is, nothing written.

Every example runs `inv` in a subprocess against an environment of this module's own. For each
class of bad input — markup and terminal escapes, Unicode digits and look-alike letters,
undecodable bytes, NUL and control characters, very long strings, numbers out of range or not
numbers — a command either refuses it (exit 1 or 2, exactly one line on stderr, no traceback,
no row or file written) or, where the text is legitimate (a folder name with brackets, a
failure reason, a backup note), prints it literally.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.inputs import displayable
from tests.acceptance.hostile.conftest import assert_refused, run_inv, snapshot
from tests.acceptance.hostile.strategies import (
    MARKUP,
    TERMINAL,
    hostile_text,
    long_text,
    markup_text,
    not_a_number_in,
    unicode_accessions,
    with_undecodable_bytes,
)
from tests.support.foreman import fetch
from workers.surveyors.ena import looks_like_accession

pytestmark = pytest.mark.acceptance

# Each example starts `inv` (about a second): few examples, no deadline, no example database.
EXAMPLES = settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SHEET_HEADER = "project,sample_id,individual,species,tissue,run_id,read1\n"
SHEET_ROW = ["P1", "S1", "I1", "Homo sapiens", "blood", "R1", "r1.fq"]


def _not_usable_source(text: str) -> bool:
    """Not a valid accession and not an existing folder (those would rightly be queued)."""
    if text.startswith("-") or looks_like_accession(text):
        return False
    try:
        return not (Path(text.strip()).expanduser() / "samplesheet.csv").exists()
    except (OSError, ValueError, RuntimeError):  # RuntimeError: `~name` of no such user
        return True


# -- survey sources: queued only when valid -------------------------------------------------


@pytest.mark.slow
@EXAMPLES
@given(source=st.one_of(unicode_accessions(), hostile_text()).filter(_not_usable_source))
def test_a_hostile_survey_source_is_refused_in_one_line_and_nothing_is_queued(
    hostile_env, unchanged, source
):
    before = snapshot(hostile_env)
    line = assert_refused(run_inv("jobs.survey", "-e", hostile_env.name, f"--source={source}"))
    assert line.startswith("error: ")
    unchanged(before)


def test_a_ten_thousand_character_accession_is_refused_without_echoing_it(hostile_env, unchanged):
    before = snapshot(hostile_env)
    line = assert_refused(run_inv("jobs.survey", "-e", hostile_env.name, "SRR" + "1" * 9_997))
    assert len(line) < 200 and "10,000 characters" in line
    unchanged(before)


@pytest.mark.parametrize("digits", ["١٢٣٤٥٦٧", "١٢٣4567", "１２３４５６７", "۱۲۳۴۵۶۷"])
def test_an_accession_with_unicode_digits_is_not_queued(hostile_env, unchanged, digits):
    before = snapshot(hostile_env)
    line = assert_refused(run_inv("jobs.survey", "-e", hostile_env.name, "SRR" + digits))
    assert "not an ENA run, study or project accession" in line
    unchanged(before)


def test_a_delivery_folder_whose_path_is_not_utf8_is_refused(hostile_env, unchanged, tmp_path):
    folder = os.fsencode(tmp_path) + b"/delivery-\xff\xfe"
    os.mkdir(folder)
    with open(folder + b"/samplesheet.csv", "w") as sheet:
        sheet.write(SHEET_HEADER + ",".join(SHEET_ROW) + "\n")
    with open(folder + b"/r1.fq", "wb") as fastq:
        fastq.write(b"@r\nACGT\n+\nIIII\n")
    before = snapshot(hostile_env)
    line = assert_refused(run_inv("jobs.survey", "-e", hostile_env.name, folder))
    assert "not valid UTF-8" in line and "\\xff" in line
    unchanged(before)


@pytest.mark.slow
@EXAMPLES
@given(
    column=st.integers(0, len(SHEET_ROW) - 1),
    bad=st.one_of(
        st.sampled_from(["\x00", "\x1b[31m", "\x07", "\x7f", "\u202e", "\x1b]8;;x\x1b\\"]),
        long_text(1_001),
    ),
)
def test_nul_control_characters_and_long_fields_in_a_sample_sheet_are_refused_before_queueing(
    hostile_env, unchanged, tmp_path_factory, column, bad
):
    folder = tmp_path_factory.mktemp("sheet")
    row = list(SHEET_ROW)
    row[column] = row[column][:1] + bad + row[column][1:]
    (folder / "samplesheet.csv").write_text(SHEET_HEADER + ",".join(row) + "\n")
    (folder / "r1.fq").write_bytes(b"@r\nACGT\n+\nIIII\n")
    before = snapshot(hostile_env)
    line = assert_refused(run_inv("jobs.survey", "-e", hostile_env.name, str(folder)))
    assert "samplesheet.csv" in line and "line 2" in line  # the sheet and the line named
    unchanged(before)


# -- numbers and ids -----------------------------------------------------------------------


@pytest.mark.slow
@EXAMPLES
@given(value=not_a_number_in(1, 100))
def test_a_bad_attempts_number_is_refused_before_anything_is_retried(hostile_env, unchanged, value):
    before = snapshot(hostile_env)
    args = ("jobs.retry", "-e", hostile_env.name, "--all-failed", f"--attempts={value}")
    assert_refused(run_inv(*args))
    unchanged(before)


@EXAMPLES
@given(
    task=st.sampled_from(["jobs.retry", "jobs.cancel"]),
    value=st.one_of(not_a_number_in(1, 2**63 - 1), hostile_text()),
)
def test_a_bad_job_id_is_refused_in_one_line(hostile_env, unchanged, task, value):
    before = snapshot(hostile_env)
    assert_refused(run_inv(task, "-e", hostile_env.name, f"--job-id={value}"))
    unchanged(before)


@EXAMPLES
@given(value=not_a_number_in(0, 2**63 - 1))
def test_a_bad_log_job_number_is_refused_in_one_line(hostile_env, value):
    assert_refused(run_inv("logs", "-e", hostile_env.name, f"--job={value}"))


@EXAMPLES
@given(
    option=st.sampled_from([("samples", 1, 6), ("reads", 1, 100_000), ("timeout", 1, 86_400)]),
    data=st.data(),
)
def test_a_bad_demo_number_is_refused_before_anything_starts(server_tmp_path, option, data):
    """Its own state folder: a refused `local.demo` creates no database, delivery or foreman."""
    name, low, high = option
    value = data.draw(not_a_number_in(low, high))
    state = server_tmp_path / f"state-{name}"
    outcome = run_inv("local.demo", f"--{name}={value}", env={"REFINERY_STATE_DIR": str(state)})
    assert_refused(outcome)
    assert not state.exists() or not any(state.iterdir())


@EXAMPLES
@given(
    experiment=st.one_of(
        unicode_accessions(),
        st.sampled_from(["SRR1234567", "ERX20", "1.5", "-1", "0", "١", "²"]),
        hostile_text(),
    )
)
@pytest.mark.slow
def test_analyses_run_refuses_what_is_not_an_experiment_id(hostile_env, unchanged, experiment):
    before = snapshot(hostile_env)
    args = ("analyses.run", "-e", hostile_env.name, "no_op", f"--experiment={experiment}")
    assert_refused(run_inv(*args))
    unchanged(before)


@EXAMPLES
@given(application=hostile_text().filter(lambda text: not text.startswith("-")))
def test_analyses_run_refuses_an_unknown_or_malformed_application(
    hostile_env, unchanged, application
):
    before = snapshot(hostile_env)
    args = ("analyses.run", "-e", hostile_env.name, f"--application={application}",
            "--experiment=1")  # fmt: skip
    assert_refused(run_inv(*args))
    unchanged(before)


# -- free text: notes, names, references ---------------------------------------------------


@EXAMPLES
@given(
    note=st.one_of(
        with_undecodable_bytes(markup_text(with_terminal=False)),
        st.builds(lambda t, c: t + c, markup_text(with_terminal=False), st.sampled_from(TERMINAL)),
        long_text(501),
    )
)
@pytest.mark.slow
def test_a_backup_note_that_is_not_one_line_of_text_is_refused_and_no_backup_is_taken(
    hostile_env, unchanged, note
):
    before = snapshot(hostile_env)
    assert_refused(run_inv("db.backup", "-e", hostile_env.name, f"--note={note}"))
    unchanged(before)


@EXAMPLES
@given(
    task=st.sampled_from(["users.add", "users.remove", "data.delete"]),
    value=hostile_text().filter(lambda text: not text.startswith("-")),
)
def test_names_and_references_are_refused_in_one_line(hostile_env, unchanged, task, value):
    before = snapshot(hostile_env)
    if task == "data.delete":
        args = (task, "-e", hostile_env.name, f"--experiment={value}")
    else:
        args = (task, "-e", hostile_env.name, f"--name={value}", *(
            ["--role=analyst"] if task == "users.add" else []))  # fmt: skip
    assert_refused(run_inv(*args))
    unchanged(before)


# -- foreign text is shown, never interpreted ----------------------------------------------


def _squeezed(text: str) -> str:
    """Text without whitespace and table borders, so a wrapped cell compares to its value."""
    return "".join(char for char in text if not char.isspace() and char not in "│┃")


@EXAMPLES
@given(reason=markup_text())
def test_failure_reasons_with_markup_and_escapes_are_shown_literally(hostile_env, reason):
    fetch(hostile_env, "DELETE FROM jobs RETURNING id")
    fetch(
        hostile_env,
        "INSERT INTO jobs (kind, state, attempt, ended_at, failure_reason) "
        "VALUES ('survey', 'failed', 3, now(), %s) RETURNING id",
        (reason,),
    )
    outcome = run_inv("jobs.status", "-e", hostile_env.name, env={"COLUMNS": "3000"})
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stderr == ""
    assert "\x1b" not in outcome.stdout  # no colour, no hyperlink reached the terminal
    assert "recent failures" in outcome.stdout
    # Markup stays as typed; control characters show as escapes (the one rendering of them).
    assert _squeezed(displayable(reason, keep_newlines=True)) in _squeezed(outcome.stdout)
    fetch(hostile_env, "DELETE FROM jobs RETURNING id")


def test_a_delivery_folder_named_with_markup_is_queued_and_shown_as_named(hostile_env, tmp_path):
    folder = tmp_path / "mk[" / "]x [bold]y[link=x]z[/link] :warning:"  # mk[/]x…
    folder.mkdir(parents=True)
    (folder / "samplesheet.csv").write_text(SHEET_HEADER + ",".join(SHEET_ROW) + "\n")
    (folder / "r1.fq").write_bytes(b"@r\nACGT\n+\nIIII\n")
    outcome = run_inv("jobs.survey", "-e", hostile_env.name, str(folder))
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stderr == ""
    assert str(folder) in outcome.stdout
    fetch(hostile_env, "UPDATE jobs SET state = 'failed', attempt = 3, ended_at = now(), "
                       "failure_reason = 'ValidationError: ' || (payload->>'location') "
                       "RETURNING id")  # fmt: skip
    status = run_inv("jobs.status", "-e", hostile_env.name, env={"COLUMNS": "3000"})
    assert status.returncode == 0, status.stderr
    assert str(folder) in status.stdout
    fetch(hostile_env, "DELETE FROM jobs RETURNING id")


def test_backup_notes_with_markup_are_listed_literally(hostile_env):
    note = " ".join(MARKUP)
    taken = run_inv("db.backup", "-e", hostile_env.name, f"--note={note}")
    assert taken.returncode == 0, taken.stderr
    listing = run_inv("db.backups", "-e", hostile_env.name)
    assert listing.returncode == 0, listing.stderr
    assert "\x1b" not in listing.stdout
    assert "[/]" in listing.stdout
    assert _squeezed("[link=http://example.invalid]click[/link]") in _squeezed(listing.stdout)
    as_json = json.loads(run_inv("db.backups", "-e", hostile_env.name, "--json").stdout)
    assert as_json[-1]["note"] == note
