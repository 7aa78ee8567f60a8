"""Build contexts and the base OS mirror: what goes into an image, and from where."""

from __future__ import annotations

import threading
import zipfile

import pytest

from common.errors import ConfigError
from ops.images.base_os import apt_mirror
from ops.images.build import build_images, image_reference
from ops.images.context import (
    app_context,
    base_context,
    ensure_wheels,
    runtime_requirements,
    wheel_cache_dir,
)


def test_apt_mirror_reads_deb822_sources_and_skips_security(tmp_path):
    sources = tmp_path / "sources.list.d"
    sources.mkdir()
    (sources / "debian.sources").write_text(
        "Types: deb\n"
        "URIs: http://mirror.example/debian-security\n"
        "Suites: bookworm-security\n"
        "Components: main\n\n"
        "Types: deb deb-src\n"
        "# a comment: with a colon\n"
        "URIs: http://mirror.example/debian/\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
    )
    assert apt_mirror((sources,)) == "http://mirror.example/debian"


def test_apt_mirror_reads_one_line_sources_list(tmp_path):
    listing = tmp_path / "sources.list"
    listing.write_text(
        "# deb http://ignored.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main\n"
    )
    assert apt_mirror((tmp_path / "missing.d", listing)) == "http://one.example/debian"


def test_apt_mirror_without_a_bookworm_source_is_a_config_error(tmp_path):
    listing = tmp_path / "sources.list"
    listing.write_text("deb http://one.example/debian trixie main\n")
    with pytest.raises(ConfigError, match="no apt source for Debian bookworm"):
        apt_mirror((listing,))


def test_runtime_requirements_are_pinned_closure_without_test_extras():
    pins = runtime_requirements()
    names = {pin.split("==")[0].lower() for pin in pins}
    assert all("==" in pin for pin in pins)
    assert {"boto3", "botocore", "docker", "jinja2", "markupsafe", "psycopg2-binary"} <= names
    assert "pytest" not in names and "moto" not in names


def test_app_context_holds_only_code_and_package_data(tmp_path):
    context = app_context(tmp_path / "ctx", "workers")
    files = {path.relative_to(context).as_posix() for path in context.rglob("*") if path.is_file()}
    assert "Dockerfile" in files
    assert "app/foreman/executors/base.py" in files
    assert "app/foreman/sql/schema.sql" in files
    assert "app/workers/registry.py" in files
    # The shared core, and the environment files a container loads by name (no tfvars).
    assert "app/common/environments.py" in files
    assert {"app/infrastructure/environments/staging.toml"} <= files
    assert not any(name.endswith(".tfvars") for name in files)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in files)
    assert not any(name.startswith(("app/ops/", "app/tests/")) for name in files)


@pytest.mark.parametrize("name", ["salmon", "affy"])
def test_a_job_image_with_packages_of_its_own_installs_them_before_the_workers_code(tmp_path, name):
    context = app_context(tmp_path / "ctx", name)
    assert (context / "app" / "workers" / "registry.py").is_file()
    dockerfile = (context / "Dockerfile").read_text()
    # Packages first: a release that changed only code reuses their layer from the cache.
    assert dockerfile.index("apt-get install") < dockerfile.index("COPY app")
    assert dockerfile.rstrip().endswith('CMD ["python", "-m", "workers"]')


def test_base_context_has_pins_and_wheels_only(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "demo-1.0-py3-none-any.whl").write_bytes(b"not really a wheel")
    (wheels / "requirements.txt").write_text("ignored")
    context = base_context(tmp_path / "ctx", wheels=wheels, requirements=["demo==1.0"])
    assert (context / "requirements.txt").read_text() == "demo==1.0\n"
    assert sorted(p.name for p in (context / "wheels").iterdir()) == ["demo-1.0-py3-none-any.whl"]
    assert "ARG BASE_IMAGE" in (context / "Dockerfile").read_text()


def test_image_reference_joins_registry_name_and_version():
    assert image_reference("127.0.0.1:5000/", "workers", "1.2.0") == "127.0.0.1:5000/workers:1.2.0"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"names": ["web"]}, "unknown image 'web'"),
        ({"registry": ""}, "no image registry"),
        ({"version": "bad:tag"}, "invalid image version"),
    ],
)
def test_build_images_rejects_bad_input_before_touching_docker(kwargs, message):
    values = {
        "registry": "127.0.0.1:5000",
        "version": "1.0",
        "git_sha": "abc",
        "base_image": "os",
        "client": object(),  # never used: validation comes first
        **kwargs,
    }
    with pytest.raises(ConfigError, match=message):
        build_images(**values)


def _wheel(folder, name="demo", version="1.0"):
    """A minimal real wheel in `folder`, for pip to find without an index."""
    folder.mkdir(exist_ok=True)
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{name}/__init__.py", "")
        wheel.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")


def test_the_wheels_are_kept_in_the_users_cache_outside_any_clone(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert wheel_cache_dir() == tmp_path / "cache" / "refinery" / "wheels"


def test_two_builds_at_once_share_one_whole_folder_of_wheels(tmp_path, monkeypatch):
    _wheel(tmp_path / "index")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "index"))
    cache = tmp_path / "wheels"
    folders: list = []
    builds = [
        threading.Thread(target=lambda: folders.append(ensure_wheels(["demo==1.0"], cache)))
        for _ in range(2)
    ]
    for build in builds:
        build.start()
    for build in builds:
        build.join(120)
    assert len(folders) == 2 and folders[0] == folders[1]
    assert (folders[0] / "demo-1.0-py3-none-any.whl").is_file()
    assert (folders[0] / ".complete").is_file()
    assert not [p for p in cache.iterdir() if p.name.endswith(".partial")]
    # Found again without pip: with no wheel to be found, a build would fail.
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nowhere"))
    assert ensure_wheels(["demo==1.0"], cache) == folders[0]
