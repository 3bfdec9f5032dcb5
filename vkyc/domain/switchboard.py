"""The switchboard's configuration objects, one pydantic model each: the single schema of every write,
whether it comes from the admin API (``vkyc.services.admin``) or from the demo file (``local/demo``,
which loads through the admin service).

Each model checks its own fields (``extra="forbid"``: a misspelt key is an error naming it). Checks
across objects (a group of another unit, a queue nobody answers) are the admin service's, against what
is stored, and the demo loader's, across the file.

Pure: imports nothing of vkyc's outside the domain.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vkyc.domain.policy import CustomerType, normalize_sub_type
from vkyc.domain.roles import UserRole

UnitId = Annotated[int, Field(strict=True, ge=1, le=999)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
"""Ids of groups and queues: lower-case letters, digits and dashes (they appear in URLs and keys)."""
Username = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=200)]
HotlineNumber = Annotated[str, Field(pattern=r"^\d{4,15}$")]
Password = Annotated[str, Field(min_length=8, max_length=128)]
Channel = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitConfig(ConfigModel):
    """A regional company. ``serves`` lists the units whose calls its agents answer (itself included)."""

    id: UnitId
    name: Text
    serves: tuple[UnitId, ...] = ()
    """Empty: this unit has no agent team and is served by another unit."""

    @property
    def is_serving(self) -> bool:
        return bool(self.serves)

    @model_validator(mode="after")
    def _serves_itself(self) -> UnitConfig:
        if self.serves and self.id not in self.serves:
            raise ValueError(f"serves: serving unit {self.id} must serve itself (add {self.id})")
        if len(set(self.serves)) != len(self.serves):
            raise ValueError("serves: a unit is listed twice")
        return self


class Group(ConfigModel):
    """A team of agents of one unit, optionally restricted to some calls (routing conditions).

    Each condition lists the values a call may have; empty (the default) = any call. A group with a
    condition takes only calls whose fact is listed (``vkyc.domain.routing.GroupRule``).
    """

    id: Slug
    unit: UnitId
    name: Text
    customer_types: tuple[CustomerType, ...] = ()
    """Only calls of these customer types (KHCN, KHDN)."""
    sub_types: tuple[str, ...] = ()
    """Only calls of these SUB_TYPEs (normalized; each must be in the SUB_TYPE policy)."""
    dealer_channels: tuple[Channel, ...] = ()
    """Only calls placed through these dealer channels (e.g. ``DBH`` dealer, ``DL`` shop)."""

    @field_validator("sub_types")
    @classmethod
    def _sub_types(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalize_sub_type(value) for value in values)


class QueueGroup(ConfigModel):
    """A group answering a queue: lower ``priority`` is offered first; an overflow group
    (``overflow_after_s`` set) joins only after the call has waited that many seconds."""

    group: Slug
    priority: Annotated[int, Field(strict=True, ge=1, le=100)] = 1
    overflow_after_s: Annotated[int, Field(strict=True, gt=0, le=3600)] | None = None


class Queue(ConfigModel):
    """Where inbound calls of a hotline wait for an agent of the listed groups."""

    id: Slug
    unit: UnitId
    name: Text
    groups: Annotated[tuple[QueueGroup, ...], Field(min_length=1)]
    timeout_s: Annotated[int, Field(strict=True, gt=0, le=3600)] | None = None
    """How long a caller may wait here; absent = the unit's ``queue_timeout_s`` setting."""
    auto_ticket: bool = False
    """Create a ticket per call of this queue (only if the global ``auto_ticket`` is on too, seed 004)."""

    @model_validator(mode="after")
    def _answerable(self) -> Queue:
        names = [qg.group for qg in self.groups]
        if len(set(names)) != len(names):
            raise ValueError("groups: a group is listed twice in this queue")
        if all(qg.overflow_after_s is not None for qg in self.groups):
            raise ValueError("groups: at least one group must answer without an overflow delay")
        return self


class Hotline(ConfigModel):
    """An entry point of a serving unit; inbound calls go to ``queue``."""

    number: HotlineNumber
    unit: UnitId
    name: Text
    queue: Slug
    allow_call_out: bool = False
    """Agents may place call-backs from this hotline."""
    call_out_groups: tuple[Slug, ...] | None = None
    """Groups allowed to call out; absent = every group of the unit. Only with ``allow_call_out``."""

    @model_validator(mode="after")
    def _call_out(self) -> Hotline:
        if self.call_out_groups is not None and not self.allow_call_out:
            raise ValueError("call_out_groups: set, but allow_call_out is false")
        return self


class UserConfig(ConfigModel):
    """A login account as an admin writes it: an agent (with its groups), a supervisor or an admin.

    ``unit`` is required but for a system-wide admin (absent). ``password`` is plain text, hashed before
    it is stored; on an update, absent keeps the password (a reset is its own operation).
    """

    username: Username
    name: Text
    role: UserRole
    unit: UnitId | None = None
    groups: tuple[Slug, ...] = ()
    """An agent's groups (at least one); empty for the other roles."""
    password: Password | None = None

    @model_validator(mode="after")
    def _role_rules(self) -> UserConfig:
        if self.role is not UserRole.ADMIN and self.unit is None:
            raise ValueError(f"unit: a {self.role.value} belongs to a unit")
        if self.role is UserRole.AGENT and not self.groups:
            raise ValueError("groups: an agent belongs to at least one group")
        if self.role is not UserRole.AGENT and self.groups:
            raise ValueError("groups: only agents belong to groups")
        if len(set(self.groups)) != len(self.groups):
            raise ValueError("groups: a group is listed twice")
        return self
