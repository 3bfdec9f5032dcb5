"""The whole AWS side of vkyc on one machine, no Docker: moto server, API Gateway WebSocket
emulator, event-source runners, REST + static server, and ``up`` which starts them all.

Nothing in ``vkyc`` or ``functions`` imports this package; only tests, benchmarks and tools do.
"""
