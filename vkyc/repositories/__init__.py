"""Repositories: the only code that knows table keys (``tables``), and the one place that persists
state transitions (``transitions``). Services use the per-entity repositories (``dossiers``, ``calls``,
``agents``, ``offers``) and ``transitions.commit`` when several items change together; configuration
and credentials are read and written through ``units``, ``queues``, ``settings``, ``users`` and
``api_keys``."""
