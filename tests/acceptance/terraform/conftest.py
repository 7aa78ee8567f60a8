"""Fixtures: a state bucket and lock table in moto, and null-stack environments using them."""

from tests.support.terraform import make_tf_env, state_backend  # noqa: F401 - fixtures
