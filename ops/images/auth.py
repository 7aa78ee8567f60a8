"""Registry credentials for pushes: ECR tokens from the AWS API, nothing for loopback.

An ECR registry (`<account>.dkr.ecr.<region>.amazonaws.com`) takes a short-lived token from
GetAuthorizationToken; it is handed to the engine in the push request's auth header by the
docker SDK, never on a command line or in a log.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import boto3

_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:/|$)", re.ASCII)


def ecr_registry(reference: str) -> tuple[str, str] | None:
    """(account, region) when `reference` lives in ECR, else None."""
    match = _ECR_HOST.match(reference)
    return (match.group(1), match.group(2)) if match else None


def registry_auth(reference: str, *, endpoint_url: str | None = None) -> dict[str, Any] | None:
    """The `auth_config` a push to `reference` needs (None: no credentials needed)."""
    ecr = ecr_registry(reference)
    if ecr is None:
        return None
    account, region = ecr
    client = boto3.client("ecr", region_name=region, endpoint_url=endpoint_url)
    data = client.get_authorization_token(registryIds=[account])["authorizationData"][0]
    username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return {
        "username": username,
        "password": password,
        "serveraddress": reference.split("/", 1)[0],
    }
