"""The demo data file (``demo.toml``): its pydantic model and its validated loader.

``load_demo_file(path)`` returns a ``DemoData`` or raises ``DemoDataError``; every problem is reported as
``<file>: <field path>: <message>``, e.g. ``demo.toml: agents[2].unit: unit 12 does not exist``, and a
TOML syntax error as ``<file>: TOML syntax error: ... (at line 3, column 7)``. All problems found are
reported at once, one per line.

Two layers of checks:
- per field (pydantic, ``extra="forbid"`` everywhere so a misspelt key is an error, not a silent default);
- across the file (``DemoData`` validator): references resolve, the serving map is coherent, names are
  unique, per-unit settings overrides are valid. These run on any ``DemoData``, also one built in code.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vkyc.domain.dossier import DossierState
from vkyc.domain.policy import (
    DEFAULT_SUB_TYPE_POLICY,
    CustomerType,
    PaymentType,
    SubTypePolicy,
    normalize_sub_type,
)
from vkyc.domain.settings import CallSettings, merge_settings, normalize_msisdn
from vkyc.domain.switchboard import (
    Group,
    Hotline,
    Queue,
    Slug,
    Text,
    UnitConfig,
    UnitId,
    Username,
)

DEMO_FILE = Path(__file__).with_name("demo.toml")
"""The demo data shipped with the repository (loaded by ``make up``)."""


# --- errors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One problem in the demo data: where (``agents[2].unit``; empty for the whole file) and what."""

    path: str
    message: str


class DemoDataError(Exception):
    """The demo data is unusable. ``issues`` lists every problem; ``str()`` gives one per line.

    Not a ``ValueError`` on purpose: pydantic would wrap a ``ValueError`` raised by a validator into a
    ``ValidationError`` and lose the field paths this error carries.
    """

    def __init__(self, source: str, issues: Sequence[Issue]) -> None:
        self.source = source
        self.issues = tuple(issues)
        lines = [f"{source}: {i.path}: {i.message}" if i.path else f"{source}: {i.message}" for i in issues]
        super().__init__("\n".join(lines))


def format_loc(loc: Iterable[int | str]) -> str:
    """A pydantic error location as a path: ``("agents", 2, "unit")`` → ``agents[2].unit``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def issues_from_validation_error(exc: ValidationError, prefix: str = "") -> list[Issue]:
    """One ``Issue`` per pydantic error, its path prefixed by ``prefix`` (a path itself)."""
    issues = []
    for error in exc.errors(include_url=False):
        loc, message = list(error["loc"]), str(error["msg"]).removeprefix("Value error, ")
        # A check of a whole object names its field first (``vkyc.domain.switchboard``): file it there.
        head, sep, rest = message.partition(": ")
        if sep and head.isidentifier():
            loc, message = [*loc, head], rest
        error = {**error, "loc": tuple(loc), "msg": message}
        path = format_loc(error["loc"])
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        issues.append(Issue(path, error["msg"]))
    return issues


# --- field types and the switchboard's objects (one schema with the admin API) ----------------------

S3Key = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9!_.*'()\-/]{0,1023}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Unit(UnitConfig):
    """A unit as the demo file writes it: the admin API's ``UnitConfig`` with its settings override."""

    settings: dict[str, Any] = Field(default_factory=dict)
    """Per-unit override of global ``CallSettings`` fields (see ``merge_settings``)."""

    def config(self) -> UnitConfig:
        return UnitConfig(id=self.id, name=self.name, serves=self.serves)


class Agent(_Model):
    """A verification operator (TĐV). ``password`` is plain text here, hashed before it is stored."""

    username: Username
    name: Text
    unit: UnitId
    groups: Annotated[tuple[Slug, ...], Field(min_length=1)]
    password: Annotated[str, Field(min_length=8, max_length=128)]


class Supervisor(_Model):
    """An admin / supervisor of one serving unit. ``password`` is plain text here, hashed when stored."""

    username: Username
    name: Text
    unit: UnitId
    password: Annotated[str, Field(min_length=8, max_length=128)]


class Admin(_Model):
    """An administrator (``web/admin.html``, ``/admin/v1``): bound to no unit (system-wide) or to one unit
    and the units it serves. ``password`` is plain text here, hashed when stored."""

    username: Username
    name: Text
    unit: UnitId | None = None
    password: Annotated[str, Field(min_length=8, max_length=128)]


class Customer(_Model):
    """The subscriber a dossier is about."""

    name: Text
    id_number: Annotated[str, Field(pattern=r"^(\d{9}|\d{12})$")]
    """CMND (9 digits) or CCCD (12 digits)."""
    subscriber_number: str
    """Stored normalized (``84…``), see ``normalize_msisdn``."""
    sub_type: str
    customer_type: CustomerType
    payment_type: PaymentType

    @field_validator("subscriber_number")
    @classmethod
    def _msisdn(cls, value: str) -> str:
        return normalize_msisdn(value)

    @field_validator("sub_type")
    @classmethod
    def _sub_type(cls, value: str) -> str:
        return normalize_sub_type(value)


class DossierImages(_Model):
    """S3 keys (media bucket) of the images eKYC captured."""

    id_front_key: S3Key
    id_back_key: S3Key
    portrait_key: S3Key


class Dossier(_Model):
    """A KYC dossier (hồ sơ) of a unit's dealer, in one of the states N, W, A, R, C, D."""

    id: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,39}$")]
    unit: UnitId
    state: DossierState
    counter_kyc_required: bool = False
    """Flagged "KYC at the counter required": no video call may be placed."""
    dealer_account: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{3,64}$")]
    customer: Customer
    images: DossierImages
    note: Annotated[str, Field(max_length=500)] = ""
    """Why the dossier is in this state (recorded as the reason of its initial transition)."""


class ApiKey(_Model):
    """An integrator's API key for one unit (tokens are per unit: a call is attributed to the unit)."""

    unit: UnitId
    name: Text
    key: Annotated[str, Field(min_length=32, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")]
    """Plain text here; at least 32 characters because only its SHA-256 digest is stored."""


class DemoData(_Model):
    """The whole demo file. Cross-file checks run in ``_cross_check``; see the module docstring."""

    settings: CallSettings = Field(default_factory=CallSettings)
    sub_type_policy: tuple[SubTypePolicy, ...] = DEFAULT_SUB_TYPE_POLICY
    """Absent: ``DEFAULT_SUB_TYPE_POLICY``. Present: replaces the whole table."""
    units: Annotated[tuple[Unit, ...], Field(min_length=1)]
    groups: tuple[Group, ...] = ()
    queues: tuple[Queue, ...] = ()
    hotlines: tuple[Hotline, ...] = ()
    agents: tuple[Agent, ...] = ()
    supervisors: tuple[Supervisor, ...] = ()
    admins: tuple[Admin, ...] = ()
    dossiers: tuple[Dossier, ...] = ()
    api_keys: tuple[ApiKey, ...] = ()

    @model_validator(mode="after")
    def _cross_check(self) -> DemoData:
        issues = _cross_issues(self)
        if issues:
            raise DemoDataError("demo data", issues)
        return self

    # --- derived views (computed, never stored in the file) ---

    def unit(self, unit_id: int) -> Unit:
        """The unit with this id (``KeyError`` if none)."""
        for unit in self.units:
            if unit.id == unit_id:
                return unit
        raise KeyError(unit_id)

    def serving_unit_of(self, unit_id: int) -> int | None:
        """The unit whose agents answer calls of ``unit_id``, or ``None`` if no unit serves it."""
        for unit in self.units:
            if unit_id in unit.serves:
                return unit.id
        return None

    def unit_settings(self, unit_id: int) -> CallSettings:
        """Global settings merged with the unit's override."""
        return merge_settings(self.settings, self.unit(unit_id).settings)


def _duplicates(values: Iterable[Any]) -> set[Any]:
    return {value for value, count in Counter(values).items() if count > 1}


def _cross_issues(data: DemoData) -> list[Issue]:
    """Every reference and uniqueness problem across the file (field-level checks already passed)."""
    issues: list[Issue] = []

    def bad(path: str, message: str) -> None:
        issues.append(Issue(path, message))

    # Units and the serving map.
    unit_ids = [u.id for u in data.units]
    for i, unit in enumerate(data.units):
        if unit.id in _duplicates(unit_ids):
            bad(f"units[{i}].id", f"unit {unit.id} is defined more than once")
    units = {u.id: u for u in data.units}
    serving = {u.id for u in data.units if u.is_serving}
    served_by: dict[int, int] = {}
    for i, unit in enumerate(data.units):
        for j, served in enumerate(unit.serves):
            path = f"units[{i}].serves[{j}]"
            if served not in units:
                bad(path, f"unit {served} does not exist")
            elif served in served_by and served_by[served] != unit.id:
                bad(path, f"unit {served} is already served by unit {served_by[served]}")
            elif served in served_by:
                bad(path, f"unit {served} is listed twice")
            else:
                served_by[served] = unit.id
        if unit.serves and unit.id not in unit.serves:
            bad(f"units[{i}].serves", f"serving unit {unit.id} must serve itself (add {unit.id})")

    def unit_ref(path: str, unit_id: int, *, must_serve: bool) -> bool:
        if unit_id not in units:
            bad(path, f"unit {unit_id} does not exist")
            return False
        if must_serve and unit_id not in serving:
            bad(path, f"unit {unit_id} has no agent team (its 'serves' list is empty)")
            return False
        return True

    # Per-unit settings overrides.
    for i, unit in enumerate(data.units):
        try:
            merge_settings(data.settings, unit.settings)
        except ValidationError as exc:
            issues.extend(issues_from_validation_error(exc, f"units[{i}].settings"))

    def settings_of(unit_id: int) -> CallSettings:
        try:
            return merge_settings(data.settings, units[unit_id].settings)
        except (KeyError, ValidationError):
            return data.settings  # already reported above

    # Groups. A condition on a SUB_TYPE the policy does not know would never match a call.
    known_sub_types = {row.sub_type for row in data.sub_type_policy}
    groups = {g.id: g for g in data.groups}
    for i, group in enumerate(data.groups):
        if group.id in _duplicates(g.id for g in data.groups):
            bad(f"groups[{i}].id", f"group {group.id!r} is defined more than once")
        unit_ref(f"groups[{i}].unit", group.unit, must_serve=True)
        for j, sub_type in enumerate(group.sub_types):
            if sub_type not in known_sub_types:
                bad(f"groups[{i}].sub_types[{j}]", f"SUB_TYPE {sub_type!r} is not in sub_type_policy")

    def group_ref(path: str, group_id: str, unit_id: int) -> None:
        group = groups.get(group_id)
        if group is None:
            bad(path, f"group {group_id!r} does not exist")
        elif group.unit != unit_id:
            bad(path, f"group {group_id!r} belongs to unit {group.unit}, not unit {unit_id}")

    # Queues.
    queues = {q.id: q for q in data.queues}
    for i, queue in enumerate(data.queues):
        if queue.id in _duplicates(q.id for q in data.queues):
            bad(f"queues[{i}].id", f"queue {queue.id!r} is defined more than once")
        unit_ok = unit_ref(f"queues[{i}].unit", queue.unit, must_serve=True)
        twice = _duplicates(qg.group for qg in queue.groups)
        timeout = settings_of(queue.unit).queue_timeout_s
        for j, qg in enumerate(queue.groups):
            path = f"queues[{i}].groups[{j}]"
            if unit_ok:
                group_ref(f"{path}.group", qg.group, queue.unit)
            if qg.group in twice:
                bad(f"{path}.group", f"group {qg.group!r} is listed twice in this queue")
            if qg.overflow_after_s is not None and qg.overflow_after_s >= timeout:
                bad(
                    f"{path}.overflow_after_s",
                    f"{qg.overflow_after_s} s is not below the queue timeout ({timeout} s): never used",
                )
        if all(qg.overflow_after_s is not None for qg in queue.groups):
            bad(f"queues[{i}].groups", "at least one group must answer without an overflow delay")

    # Hotlines.
    numbers = _duplicates(h.number for h in data.hotlines)
    for i, hotline in enumerate(data.hotlines):
        if hotline.number in numbers:
            bad(f"hotlines[{i}].number", f"hotline {hotline.number} is defined more than once")
        unit_ok = unit_ref(f"hotlines[{i}].unit", hotline.unit, must_serve=True)
        entry = queues.get(hotline.queue)
        if entry is None:
            bad(f"hotlines[{i}].queue", f"queue {hotline.queue!r} does not exist")
        elif unit_ok and entry.unit != hotline.unit:
            bad(f"hotlines[{i}].queue", f"queue {hotline.queue!r} belongs to unit {entry.unit}")
        if hotline.call_out_groups is not None:
            if not hotline.allow_call_out:
                bad(f"hotlines[{i}].call_out_groups", "set, but allow_call_out is false")
            for j, group_id in enumerate(hotline.call_out_groups if unit_ok else ()):
                group_ref(f"hotlines[{i}].call_out_groups[{j}]", group_id, hotline.unit)

    # People: agents, supervisors and admins share one login namespace.
    usernames = _duplicates(
        [a.username for a in data.agents]
        + [s.username for s in data.supervisors]
        + [a.username for a in data.admins]
    )
    for i, admin in enumerate(data.admins):
        if admin.username in usernames:
            bad(f"admins[{i}].username", f"username {admin.username!r} is used more than once")
        if admin.unit is not None:
            unit_ref(f"admins[{i}].unit", admin.unit, must_serve=False)
    for i, supervisor in enumerate(data.supervisors):
        if supervisor.username in usernames:
            bad(f"supervisors[{i}].username", f"username {supervisor.username!r} is used more than once")
        unit_ref(f"supervisors[{i}].unit", supervisor.unit, must_serve=True)
    for i, agent in enumerate(data.agents):
        if agent.username in usernames:
            bad(f"agents[{i}].username", f"username {agent.username!r} is used more than once")
        if unit_ref(f"agents[{i}].unit", agent.unit, must_serve=True):
            for j, group_id in enumerate(agent.groups):
                group_ref(f"agents[{i}].groups[{j}]", group_id, agent.unit)

    # Dossiers.
    policy = {row.sub_type for row in data.sub_type_policy}
    dossier_ids = _duplicates(d.id for d in data.dossiers)
    for i, dossier in enumerate(data.dossiers):
        if dossier.id in dossier_ids:
            bad(f"dossiers[{i}].id", f"dossier {dossier.id!r} is defined more than once")
        if unit_ref(f"dossiers[{i}].unit", dossier.unit, must_serve=False) and dossier.unit not in served_by:
            bad(f"dossiers[{i}].unit", f"unit {dossier.unit} is served by no unit: nobody could verify it")
        customer = dossier.customer
        if customer.payment_type is PaymentType.PREPAID and customer.sub_type not in policy:
            bad(
                f"dossiers[{i}].customer.sub_type",
                f"SUB_TYPE {customer.sub_type!r} is not in sub_type_policy (required for prepaid)",
            )

    # Integrator keys.
    keys = _duplicates(k.key for k in data.api_keys)
    for i, api_key in enumerate(data.api_keys):
        unit_ref(f"api_keys[{i}].unit", api_key.unit, must_serve=False)
        if api_key.key in keys:
            bad(f"api_keys[{i}].key", "this key is used more than once")

    # The policy table.
    for i, row in enumerate(data.sub_type_policy):
        if row.sub_type in _duplicates(r.sub_type for r in data.sub_type_policy):
            bad(f"sub_type_policy[{i}].sub_type", f"SUB_TYPE {row.sub_type!r} is listed more than once")

    return issues


def parse_demo_data(raw: dict[str, Any], source: str = "demo data") -> DemoData:
    """Validate an already-parsed mapping. Raises ``DemoDataError`` naming ``source`` and field paths."""
    try:
        return DemoData.model_validate(raw)
    except ValidationError as exc:
        raise DemoDataError(source, issues_from_validation_error(exc)) from None
    except DemoDataError as exc:  # from the cross-check, which does not know the source
        raise DemoDataError(source, exc.issues) from None


def load_demo_file(path: str | Path = DEMO_FILE) -> DemoData:
    """Read and validate a demo TOML file.

    Raises ``DemoDataError`` (message ``<path>: <field path>: <problem>``) if the file cannot be read,
    is not valid TOML (the message has the line and column), or fails any check.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DemoDataError(source, [Issue("", f"cannot read: {exc}")]) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's message ends with "(at line L, column C)".
        raise DemoDataError(source, [Issue("", f"TOML syntax error: {exc}")]) from None
    return parse_demo_data(raw, source)
