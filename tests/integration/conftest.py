"""Integration tests run against a whole vkyc stack in this process: the ``stack`` and ``stack_tables``
fixtures live in ``tests/conftest.py``, so that the browser tests (``tests/browser``) share the same
stack in one run (the Chalice apps are imported once per process)."""
