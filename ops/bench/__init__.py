"""Benchmarks: Refinery's own code against a peer, on the same machine in the same run."""
