"""The SUB_TYPE policy table as stored (``tables.SubTypePolicy``), read as domain rows
(``vkyc.domain.policy.SubTypePolicy``).

The table is configuration (27 rows in the seed) read on every call request, so ``policy_rows`` keeps it
per process for ``CONFIG_TTL_S`` (see ``vkyc.repositories.settings_cache``): an edit reaches each warm
container within 30 s.
"""

from __future__ import annotations

from vkyc.domain.policy import SubTypePolicy, policy_index
from vkyc.repositories import tables
from vkyc.repositories.settings_cache import TtlCache

POLICY_CACHE: TtlCache[str, dict[str, SubTypePolicy]] = TtlCache()
"""The process's cache behind ``policy_rows``, keyed by table prefix; its ``clock`` may be replaced."""


def load_policy_rows() -> dict[str, SubTypePolicy]:
    """Every row of the table keyed by SUB_TYPE, read now (one Scan per 1 MB: one for the seed's rows).

    Raises ``pydantic.ValidationError`` for a stored row that does not validate, and ``DuplicateSubType``
    if two stored keys normalize to the same SUB_TYPE (``zp`` and ``ZP``): which one applies would be
    arbitrary, so neither is guessed.
    """
    rows = (
        SubTypePolicy(
            sub_type=item.sub_type,
            name=item.name,
            icc_profile=item.icc_profile,
            khcn=item.khcn,
            khdn=item.khdn,
        )
        for item in tables.SubTypePolicy.scan()
    )
    return policy_index(rows)


def policy_rows() -> dict[str, SubTypePolicy]:
    """The table keyed by SUB_TYPE, as read at most ``CONFIG_TTL_S`` ago in this process: no request
    when warm, else ``load_policy_rows``. Returns a fresh dict (the rows are immutable), so a caller
    changing it cannot change the cache."""
    return dict(POLICY_CACHE.get(tables.prefix(), load_policy_rows))
