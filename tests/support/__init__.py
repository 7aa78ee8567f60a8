"""Helpers the test suite shares: real services started on loopback, environment files."""
