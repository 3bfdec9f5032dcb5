"""Units and the serving map ("unit 1 serves 4 and 6")."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vkyc.repositories.tables import Unit


@dataclass(frozen=True)
class UnitView:
    unit_id: str
    name: str
    served_by: str  # the unit whose agents verify this unit's calls (itself when absent)
    has_agents: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_units() -> list[UnitView]:
    """Every unit, by id. One Scan: the table holds a handful of items (9 regional companies)."""
    views = [UnitView(u.unit_id, u.name, u.served_by or u.unit_id, bool(u.has_agents)) for u in Unit.scan()]
    return sorted(views, key=lambda v: (len(v.unit_id), v.unit_id))
