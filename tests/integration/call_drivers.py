"""The simulated callers and agents live in ``bench/drivers.py`` (the load scenario and the benchmarks
share them, and ``bench/`` never imports from ``tests/``)."""

from bench.drivers import (
    PASSWORD,
    LoadUnit,
    create_unit,
    invalidate_routing,
    login_agent,
    mobile_client,
    new_dossier,
)

__all__ = [
    "PASSWORD",
    "LoadUnit",
    "create_unit",
    "invalidate_routing",
    "login_agent",
    "mobile_client",
    "new_dossier",
]
