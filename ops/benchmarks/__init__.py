"""Benchmarks: each measures Refinery's code against a peer tool in the same run."""
