"""Passwords kept in AWS Secrets Manager, read by ARN when a process needs them.

A worker container is given the secret's ARN by its job definition, never the password: it
asks Secrets Manager itself (its job role may read that one secret) when it first connects.
RDS keeps its managed master password as JSON (`{"username": …, "password": …}`); a plain
string secret is the password itself. Values are kept in memory for a few minutes, so a
long-running process picks up a rotated password without asking on every connection.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from common.environments import Environment
from common.errors import ConfigError

CACHE_SECONDS = 300.0
_cache: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()


def secret_password(env: Environment, secret_id: str) -> str:
    """The password held by the secret `secret_id` (an ARN or name), for `env`'s region."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(secret_id)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
    value = _read_secret(env, secret_id)
    password = _password_from(secret_id, value)
    with _lock:
        _cache[secret_id] = (now, password)
    return password


def _read_secret(env: Environment, secret_id: str) -> str:
    import boto3  # slow to import; only processes that use a secret pay for it
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "secretsmanager", region_name=env.aws.region, endpoint_url=env.aws.endpoint_url or None
    )
    try:
        response: dict[str, Any] = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise ConfigError(
            f"{env.name}: cannot read the database password from secret {secret_id} ({code}); "
            "check the secret exists and this identity may read it"
        ) from None
    except BotoCoreError as exc:
        raise ConfigError(
            f"{env.name}: cannot reach Secrets Manager for secret {secret_id} "
            f"({type(exc).__name__})"
        ) from None
    finally:
        client.close()
    value = response.get("SecretString")
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{env.name}: secret {secret_id} holds no text value")
    return value


def _password_from(secret_id: str, value: str) -> str:
    if value.lstrip().startswith("{"):
        try:
            document = json.loads(value)
        except json.JSONDecodeError:
            raise ConfigError(f"secret {secret_id} looks like JSON but does not parse") from None
        password = document.get("password") if isinstance(document, dict) else None
        if not isinstance(password, str) or not password:
            raise ConfigError(f"secret {secret_id} is JSON without a 'password' key")
        return password
    return value
