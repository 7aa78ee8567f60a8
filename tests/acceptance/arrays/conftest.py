"""The shipped `local` environment in a state folder of the test's own (as the demo's tests
use it)."""

from tests.acceptance.demo.conftest import LocalState, local_state  # noqa: F401 - fixture
