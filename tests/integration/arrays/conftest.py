"""The arrays' tests use the workers' loopback HTTP server (recorded GEO answers, CEL files)."""

from tests.integration.workers.conftest import http_server  # noqa: F401 - fixture
