"""Applications are declared once, as data beside their code, and read without importing it."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from common.applications import HANDLER_MODULES_VARIABLE, Application, applications
from common.environments import REPO_ROOT
from common.errors import ConfigError
from ops.batch.definitions import image_for
from workers.registry import handler_for, load_handler_modules

MANIFEST = """
[[application]]
kind = "process"
name = "{name}"
version = "{version}"
memory_mb = 3000
image = "workers-r"
"""


def _package(root: Path, name: str, manifest: str, init: str = "") -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text(textwrap.dedent(init))
    (root / name / "applications.toml").write_text(manifest)


def test_every_built_in_application_has_code_bound_to_its_declaration(monkeypatch):
    monkeypatch.delenv(HANDLER_MODULES_VARIABLE, raising=False)
    declared = applications()
    for (kind, name), application in declared.items():
        assert handler_for(kind, name).application == application
        assert Path(application.manifest).is_relative_to(REPO_ROOT / "workers")
    assert ("process", "fastq_qc") in declared and ("index", "salmon") in declared
    assert declared[("download", "download")].pipeline == "download"
    assert declared[("survey", "delivery")].pipeline == "survey-delivery"


def test_an_outside_module_is_declared_without_being_imported(tmp_path, monkeypatch):
    # Importing this package would fail: the foreman must read its manifest alone.
    _package(tmp_path, "labapps", MANIFEST.format(name="lab_counts", version="2.1.0"),
             init="raise RuntimeError('job code imported')\n")  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(HANDLER_MODULES_VARIABLE, "labapps")
    found = applications()[("process", "lab_counts")]
    assert (found.version, found.memory_mb, found.image) == ("2.1.0", 3000, "workers-r")
    assert found.pipeline == "process-lab_counts"
    assert "labapps" not in sys.modules


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("[[application]]\nkind = 'process'\nname = 'x'\n", "version must be a non-empty string"),
        (
            "[[application]]\nkind='process'\nname='x'\nversion='1'\nvcpus=2\n",
            "unknown key 'vcpus'",
        ),
        ("[[application]]\nkind='process'\nname='a b'\nversion='1'\n", "may hold only"),
        ("[[application]]\nkind='process'\nname='x'\nversion='1'\nmemory_mb=-1\n", "memory_mb"),
        ("[[application]]\nkind='process'\nname='x'\nversion='1'\nnice=20\n", "from 0 to 19"),
        ("[[application]]\nkind='process'\nname='x'\nversion='1'\nnice=true\n", "from 0 to 19"),
        ("[[application]]\nkind='process'\nname='x'\nversion='1'\npreload=1\n", "true or false"),
        ("[application]\nkind='process'\n", r"expected only \[\[application\]\] tables"),
        ("[[application]\n", "not valid TOML"),
        ("[[application]]\nkind='process'\nname='fastq_qc'\nversion='9'\n", "declared in"),
    ],
)
def test_a_bad_manifest_is_one_line_naming_its_file(tmp_path, monkeypatch, manifest, message):
    _package(tmp_path, "badapps", manifest)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(HANDLER_MODULES_VARIABLE, "badapps")
    with pytest.raises(ConfigError, match=message) as caught:
        applications()
    assert "\n" not in str(caught.value) and "badapps" in str(caught.value)


def test_a_module_that_is_not_there_or_not_a_name_is_refused(monkeypatch):
    monkeypatch.setenv(HANDLER_MODULES_VARIABLE, "no_such_applications_here")
    with pytest.raises(ConfigError, match="not on the Python path"):
        applications()
    monkeypatch.setenv(HANDLER_MODULES_VARIABLE, "../etc")
    with pytest.raises(ConfigError, match="is not a module name"):
        applications()


def test_the_handler_decorator_refuses_a_name_its_manifest_does_not_declare(tmp_path, monkeypatch):
    _package(tmp_path, "strayapps", MANIFEST.format(name="declared", version="1.0.0"), init="""
        from workers.registry import handler

        @handler("process", "undeclared")
        def run(ctx):
            return {}
    """)  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="declares no process application 'undeclared'"):
        importlib.import_module("strayapps")


def test_an_application_image_sits_beside_the_workers_image():
    def named(image: str) -> Application:
        return Application("process", "x", "1", image=image)

    assert image_for(named("workers"), "127.0.0.1:5000/refinery/workers:1.2") == (
        "127.0.0.1:5000/refinery/workers:1.2"
    )
    assert image_for(named("workers-r"), "127.0.0.1:5000/refinery/workers:1.2") == (
        "127.0.0.1:5000/refinery/workers-r:1.2"
    )
    assert image_for(named("workers-r"), "127.0.0.1:5000/workers") == "127.0.0.1:5000/workers-r"


def test_a_declared_application_without_code_stops_the_worker_from_loading(tmp_path, monkeypatch):
    _package(tmp_path, "emptyapps", MANIFEST.format(name="promised", version="1.0.0"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(HANDLER_MODULES_VARIABLE, "emptyapps")
    with pytest.raises(ConfigError, match="declares process application 'promised', but no"):
        load_handler_modules()


def test_a_handler_in_another_module_than_declared_is_refused(tmp_path, monkeypatch):
    manifest = MANIFEST.format(name="placed", version="1.0.0") + 'module = "placedapps.other"\n'
    _package(tmp_path, "placedapps", manifest, init="""
        from workers.registry import handler

        @handler("process", "placed")
        def run(ctx):
            return {}
    """)  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="declares process application 'placed' in module"):
        importlib.import_module("placedapps")


def test_a_declared_module_that_does_not_exist_is_named(tmp_path, monkeypatch):
    manifest = MANIFEST.format(name="lost", version="1.0.0") + 'module = "lostapps.gone"\n'
    _package(tmp_path, "lostapps", manifest)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(HANDLER_MODULES_VARIABLE, "lostapps")
    with pytest.raises(ConfigError, match=r"handler module lostapps\.gone cannot be found"):
        handler_for("process", "lost")


def test_quality_statistics_yield_the_cores_to_the_quantification_beside_them():
    # fastq_qc is queued with the sample's salmon job and nothing waits on it.
    found = applications()
    assert found[("process", "fastq_qc")].nice > 0
    assert found[("process", "salmon")].nice == 0


def test_every_application_runs_in_an_image_the_release_builds():
    from ops.images.build import IMAGE_NAMES

    for application in applications().values():
        assert application.image in IMAGE_NAMES, (application.manifest, application.name)
    assert applications()[("process", "affy")].image == "affy"  # R is in that image alone
