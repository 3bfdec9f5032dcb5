"""The configuration kinds the admin service writes (units, groups, queues, hotlines, the SUB_TYPE
policy): each one's schema (``vkyc.domain``), its table, and the conversions between the two. The only
admin code that knows how a configuration object is stored (``vkyc.services.admin`` has the rules)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from vkyc.domain.policy import SubTypePolicy
from vkyc.domain.switchboard import Group, Hotline, Queue, QueueGroup, UnitConfig
from vkyc.repositories import tables
from vkyc.repositories.tables import VkycModel

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Kind(Generic[T]):
    """One kind of configuration object: its schema, its table and the conversions between them."""

    name: str
    model: type[T]
    table: type[VkycModel]
    id_of: Callable[[T], str]
    unit_of: Callable[[T], str | None]  # None: system-wide
    to_item: Callable[[T, Any], VkycModel]  # the object, the stored item or None → the item to store
    from_item: Callable[[Any], T]


def _set_or_none(values: Sequence[str]) -> set[str] | None:
    return {str(v) for v in values} or None  # DynamoDB stores no empty set


def _group_item(g: Group, old: Any) -> VkycModel:
    item = old or tables.Group(g.id)
    item.unit_id, item.name = str(g.unit), g.name
    item.customer_types = _set_or_none(g.customer_types)
    item.sub_types = _set_or_none(g.sub_types)
    item.dealer_channels = _set_or_none(g.dealer_channels)
    return item


def _group_view(item: Any) -> Group:
    return Group(
        id=item.group_id,
        unit=int(item.unit_id),
        name=item.name,
        customer_types=tuple(sorted(item.customer_types or ())),
        sub_types=tuple(sorted(item.sub_types or ())),
        dealer_channels=tuple(sorted(item.dealer_channels or ())),
    )


def _queue_item(q: Queue, old: Any) -> VkycModel:
    item = old or tables.Queue(q.id)
    item.unit_id, item.name, item.timeout_s, item.auto_ticket = (
        str(q.unit),
        q.name,
        q.timeout_s,
        q.auto_ticket,
    )
    entries = [
        tables.QueueGroup(group_id=g.group, priority=g.priority, overflow_after_s=g.overflow_after_s)
        for g in q.groups
    ]
    item.groups = sorted(entries, key=lambda e: e.priority)  # stable: ties keep the given order
    return item


def _queue_view(item: Any) -> Queue:
    return Queue(
        id=item.queue_id,
        unit=int(item.unit_id),
        name=item.name,
        groups=tuple(
            QueueGroup(group=e.group_id, priority=e.priority, overflow_after_s=e.overflow_after_s)
            for e in item.groups or ()
        ),
        timeout_s=item.timeout_s,
        auto_ticket=bool(item.auto_ticket),
    )


def _hotline_item(h: Hotline, old: Any) -> VkycModel:
    item = old or tables.Hotline(h.number)
    item.unit_id, item.name, item.queue_id, item.allow_call_out = (
        str(h.unit),
        h.name,
        h.queue,
        h.allow_call_out,
    )
    item.call_out_group_ids = _set_or_none(h.call_out_groups or ())
    return item


def _hotline_view(item: Any) -> Hotline:
    groups = item.call_out_group_ids
    return Hotline(
        number=item.hotline_id,
        unit=int(item.unit_id),
        name=item.name,
        queue=item.queue_id or "",
        allow_call_out=bool(item.allow_call_out),
        call_out_groups=tuple(sorted(groups)) if groups else None,
    )


def _policy_item(p: SubTypePolicy, old: Any) -> VkycModel:
    item = old or tables.SubTypePolicy(p.sub_type)
    item.name, item.icc_profile, item.khcn, item.khdn = p.name, p.icc_profile, p.khcn, p.khdn
    return item


def _policy_view(item: Any) -> SubTypePolicy:
    return SubTypePolicy(
        sub_type=item.sub_type, name=item.name, icc_profile=item.icc_profile, khcn=item.khcn, khdn=item.khdn
    )


def _unit_item(u: UnitConfig, old: Any) -> VkycModel:
    item = old or tables.Unit(str(u.id))
    item.name, item.has_agents = u.name, u.is_serving
    return item


def _unit_view(item: Any) -> UnitConfig:
    # ``serves`` is filled in by ``AdminService``: it is stored on the served units.
    return UnitConfig(id=int(item.unit_id), name=item.name)


GROUPS: Kind[Group] = Kind(
    "groups", Group, tables.Group, lambda g: g.id, lambda g: str(g.unit), _group_item, _group_view
)
QUEUES: Kind[Queue] = Kind(
    "queues", Queue, tables.Queue, lambda q: q.id, lambda q: str(q.unit), _queue_item, _queue_view
)
HOTLINES: Kind[Hotline] = Kind(
    "hotlines",
    Hotline,
    tables.Hotline,
    lambda h: h.number,
    lambda h: str(h.unit),
    _hotline_item,
    _hotline_view,
)
POLICY: Kind[SubTypePolicy] = Kind(
    "sub_type_policy",
    SubTypePolicy,
    tables.SubTypePolicy,
    lambda p: p.sub_type,
    lambda p: None,
    _policy_item,
    _policy_view,
)
UNITS: Kind[UnitConfig] = Kind(
    "units", UnitConfig, tables.Unit, lambda u: str(u.id), lambda u: None, _unit_item, _unit_view
)
KINDS: dict[str, Kind[Any]] = {k.name: k for k in (UNITS, GROUPS, QUEUES, HOTLINES, POLICY)}
