"""Files Refinery must be able to trust: their content digest, and secrets kept private.

One sha256 of a file for the lake, the backups and the uploads (`hashlib.file_digest`, which
reads in large buffers and releases the GIL while hashing, so threads use every core), one
copy of a stream that hashes what it writes, and one check that a file holding a secret is
readable by its owner only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from common.errors import ConfigError


def file_sha256(path: Path | str) -> str:
    """The hex sha256 of the file's content."""
    with open(path, "rb", buffering=0) as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def copy_stream_sha256(source: BinaryIO, target: BinaryIO, *, chunk: int = 4 << 20) -> str:
    """Copy `source` to `target` to its end; returns the hex sha256 of the bytes written, so
    a copy from the lake or a mirror is checked as it is made, without reading it again."""
    digest = hashlib.sha256()
    while block := source.read(chunk):
        digest.update(block)
        target.write(block)
    return digest.hexdigest()


def private_file(path: Path | str, what: str) -> Path:
    """`path` (with `~` expanded) if it is a file no one but its owner may read or write.

    `what` names the setting in the one-line ConfigError otherwise, e.g.
    "database password file" or "foreman_host.key_file".
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist")
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{what} {path} must be 0600 (chmod 600 {path})")
    return path
