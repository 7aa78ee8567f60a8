"""The shipped `local` environment in a state folder of the test's own (as the RNA-seq tests
use it), and the workers' loopback HTTP server (recorded GEO answers, CEL files)."""

from tests.acceptance.demo.conftest import LocalState, local_state  # noqa: F401 - fixture
from tests.integration.workers.conftest import http_server  # noqa: F401 - fixture
