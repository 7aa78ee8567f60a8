"""The lake area's catalog fixtures (folder and S3 lakes), shared with the runbook tests."""

from tests.integration.lake.conftest import catalog, lake_env

__all__ = ["catalog", "lake_env"]
