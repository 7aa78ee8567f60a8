"""Bring one file's bytes into a partial file, resuming where an earlier try stopped.

Sources are `file://` paths, `http(s)://` URLs, archive FTP paths (fetched over HTTPS) and
`s3://bucket/key` objects (a delivery uploaded to S3, read with the environment's client).
The partial file's name comes from the catalog file id, so the next attempt of the same
download finds it and asks the source only for the rest (a Range request); a server that
ignores the range sends everything again and the partial is restarted. md5 and sha256 are
computed while streaming (the kept prefix is hashed once on resume), so the file is read once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import requests

from common.errors import JobError

log = logging.getLogger(__name__)

# The archive's FTP hosts serve the same paths over HTTPS, which resumes and passes proxies.
ARCHIVE_FTP_HOSTS = frozenset({"ftp.sra.ebi.ac.uk", "ftp.ebi.ac.uk", "ftp.ddbj.nig.ac.jp"})
_RETRYABLE = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class DownloadFailed(JobError):
    """The source did not deliver the file (missing, refused, or checksum mismatch)."""


@dataclass(frozen=True)
class Transfer:
    """What a fetch produced: the whole file's size and digests, and how it got there."""

    size: int
    md5: str
    sha256: str
    resumed_from: int
    requests: int


def download_url(url: str) -> str:
    """The URL to fetch: file:// and http(s):// as they are, archive FTP paths as https."""
    parsed = urlparse(url)
    if parsed.scheme in ("file", "http", "https", "s3"):
        return url
    if parsed.scheme == "ftp" and parsed.hostname in ARCHIVE_FTP_HOSTS:
        return "https://" + url[len("ftp://") :]
    if not parsed.scheme and url.split("/", 1)[0] in ARCHIVE_FTP_HOSTS:
        return "https://" + url
    raise DownloadFailed(
        f"cannot download {url!r}: only file://, http(s)://, s3:// and archive FTP paths"
    )


class _Digests:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.md5 = hashlib.md5()
        self.sha256 = hashlib.sha256()
        self.size = 0

    def update(self, data: bytes) -> None:
        self.md5.update(data)
        self.sha256.update(data)
        self.size += len(data)


def fetch(
    url: str,
    partial: Path,
    *,
    expected_size: int | None,
    retries: int = 3,
    timeout: float = 60.0,
    chunk_bytes: int = 64 * 1024,
    s3_client: Any = None,
) -> Transfer:
    """Complete `partial` from `url` (resuming it when it holds a prefix); an `s3://` source
    is read with `s3_client` (its own retries with backoff resume nothing: one request)."""
    url = download_url(url)
    if partial.exists() and expected_size is not None and partial.stat().st_size > expected_size:
        partial.unlink()
    digests = _Digests()
    if partial.exists():
        with open(partial, "rb") as handle:
            while block := handle.read(chunk_bytes):
                digests.update(block)
    resumed_from = digests.size
    if urlparse(url).scheme == "file":
        _copy_local(url, partial, digests, chunk_bytes)
        return Transfer(
            digests.size, digests.md5.hexdigest(), digests.sha256.hexdigest(), resumed_from, 0
        )
    if urlparse(url).scheme == "s3":
        if s3_client is None:
            raise DownloadFailed(f"cannot download {url}: no S3 client for this environment")
        if expected_size is None or digests.size < expected_size:
            _copy_s3(s3_client, url, partial, digests, chunk_bytes)
        return Transfer(
            digests.size, digests.md5.hexdigest(), digests.sha256.hexdigest(), resumed_from, 1
        )
    count = 0
    with requests.Session() as session:
        for attempt in range(retries + 1):
            if expected_size is not None and digests.size == expected_size:
                break
            count += 1
            try:
                _http_once(session, url, partial, digests, timeout, chunk_bytes)
                break
            except _RETRYABLE as exc:
                if attempt == retries:
                    raise DownloadFailed(
                        f"download of {url} broke off at {digests.size} bytes after "
                        f"{count} requests ({type(exc).__name__}); the retry resumes from there"
                    ) from None
                log.warning("download of %s broke off at %d bytes; resuming", url, digests.size)
                time.sleep(min(0.2 * 2**attempt, 5))
    return Transfer(
        digests.size, digests.md5.hexdigest(), digests.sha256.hexdigest(), resumed_from, count
    )


def _http_once(
    session: requests.Session,
    url: str,
    partial: Path,
    digests: _Digests,
    timeout: float,
    chunk_bytes: int,
) -> None:
    """One request for the rest of the file; `digests` always matches the partial's bytes."""
    headers = {"Range": f"bytes={digests.size}-"} if digests.size else {}
    with session.get(url, headers=headers, stream=True, timeout=timeout) as response:
        if response.status_code == 416 and digests.size:
            # The server says our prefix is already everything it has; size checks decide.
            return
        if response.status_code in (404, 410):
            raise DownloadFailed(f"{url} is not at the source (HTTP {response.status_code})")
        if response.status_code >= 500 or response.status_code == 429:
            raise requests.ConnectionError(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise DownloadFailed(f"the source refused {url} (HTTP {response.status_code})")
        mode = "ab"
        if response.status_code != 206 or not _range_starts_at(response, digests.size):
            if digests.size:
                log.info("server ignored the range request for %s; starting over", url)
            digests.reset()
            mode = "wb"
        with open(partial, mode) as out:
            for block in response.iter_content(chunk_bytes):
                out.write(block)
                digests.update(block)


def _range_starts_at(response: requests.Response, offset: int) -> bool:
    content_range = response.headers.get("Content-Range", "")
    try:
        return int(content_range.split()[1].split("-")[0]) == offset
    except (IndexError, ValueError):
        return False


def _copy_local(url: str, partial: Path, digests: _Digests, chunk_bytes: int) -> None:
    parsed = urlparse(url)
    source = Path(unquote(parsed.path))
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise DownloadFailed(f"source file {source} is missing; re-survey its delivery") from None
    except OSError as exc:
        raise DownloadFailed(f"cannot read source file {source}: {exc.strerror}") from None
    with handle, open(partial, "ab") as out:
        handle.seek(digests.size)
        while block := handle.read(chunk_bytes):
            out.write(block)
            digests.update(block)


def _copy_s3(client: Any, url: str, partial: Path, digests: _Digests, chunk_bytes: int) -> None:
    """The rest of an S3 object after the partial's bytes (a ranged GetObject), streamed."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = url.removeprefix("s3://").partition("/")
    request: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if digests.size:
        request["Range"] = f"bytes={digests.size}-"
    try:
        response = client.get_object(**request)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        if code in ("NoSuchKey", "404", "NoSuchBucket"):
            raise DownloadFailed(f"{url} is not at the source ({code})") from None
        if code == "InvalidRange":
            return  # the partial already holds every byte; the size check decides
        raise DownloadFailed(f"S3 refused {url} ({code})") from None
    except BotoCoreError as exc:
        raise DownloadFailed(f"cannot reach S3 for {url} ({type(exc).__name__})") from None
    mode = "ab"
    if digests.size and not response.get("ContentRange", "").startswith(f"bytes {digests.size}-"):
        digests.reset()
        mode = "wb"
    body = response["Body"]
    try:
        with open(partial, mode) as out:
            for block in body.iter_chunks(chunk_bytes):
                out.write(block)
                digests.update(block)
    except (BotoCoreError, OSError) as exc:
        raise DownloadFailed(
            f"download of {url} broke off at {digests.size} bytes ({type(exc).__name__}); "
            "the retry resumes from there"
        ) from None
    finally:
        body.close()
