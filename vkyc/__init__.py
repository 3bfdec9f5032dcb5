"""vkyc core library: domain (pure), repositories (tables), services (use cases), adapters.

Chalice apps under ``functions/`` import this package; at packaging time it is vendored into
each app (``infra/``), so the handler code is the same locally and on AWS.
"""
