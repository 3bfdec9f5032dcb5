"""The tests' protocol client lives in ``bench/signaling_client.py`` (the load drivers and benchmarks use
it too, and ``bench/`` never imports from ``tests/``)."""

from bench.signaling_client import Client, rest

__all__ = ["Client", "rest"]
