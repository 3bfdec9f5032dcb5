"""Write the demo data into vkyc's tables, and print what a newcomer needs to log in.

``write_demo_data(data)`` takes an already validated ``DemoData`` (``schema.load_demo_file``), so a broken
file is refused before anything is written. ``load_demo(path)`` does both. ``python -m local.demo.load
[path]`` loads into the tables of the current environment (``vkyc.env``; they must exist, see
``vkyc.repositories.tables.create_all``) and prints the summary.

Configuration goes through the admin service (``vkyc.services.admin``, ``admin_people``,
``admin_settings``), the same schema, checks and audit log as the admin API (actor ``demo-loader``):
units (alone first, then the serving map), the SUB_TYPE policy, settings (the global scope gets every
field, explicit nulls included; a unit scope exactly the fields it overrides), groups, queues, hotlines,
accounts of agents (with their ``Agent`` state item), supervisors and admins (scrypt hashes of the
passwords), and integrator API keys (under their SHA-256 digest). Dossiers are ``Dossier`` items with the
customer, the image keys, the dealer account and the note.

Idempotent: every item is written under an id taken from the file (unit number, group/queue id, hotline
number, username, dossier id, SUB_TYPE, API key digest), so loading twice leaves the same items.
- Configuration is upserted: the file wins; what is stored as the file says is not written again (no
  audit entry). Nothing the file does not mention is deleted. A stored password hash that still
  verifies is kept (a fresh salt would change the item on every load), and creation times are set once.
- Dossiers are created through ``vkyc.repositories`` with their transition log, and left alone once they
  exist, so reloading never rewinds a live demo (nor rewrites a dossier's customer data). A demo dossier
  in state A is created in N and walked N → W → A through the real machine, each step logged with actor
  ``demo-loader`` and a request id derived from the dossier and the event (a half-finished load resumes
  where it stopped).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from local.demo.schema import DEMO_FILE, DemoData, DemoDataError, Dossier, load_demo_file
from vkyc.domain.dossier import DECISION_EVENTS, DOSSIER, DossierEvent, DossierState
from vkyc.domain.roles import UserRole
from vkyc.domain.switchboard import UnitConfig, UserConfig
from vkyc.protocol.admin import UserUpdate
from vkyc.repositories import tables
from vkyc.repositories.admin_kinds import GROUPS, HOTLINES, POLICY, QUEUES, UNITS
from vkyc.repositories.dossiers import DossierRepository
from vkyc.security.passwords import MalformedHashError, verify
from vkyc.services.admin import AdminCaller, AdminService
from vkyc.services.admin_people import PeopleService
from vkyc.services.admin_settings import SettingsAdmin

ACTOR = "demo-loader"
DOSSIER_DECISIONS = frozenset(DECISION_EVENTS.values())


@dataclass
class LoadSummary:
    """What ``write_demo_data`` did, and the data it wrote (for ``summary_text``).

    ``written``: configuration items upserted, per kind. ``created`` / ``kept``: stateful items (agents,
    dossiers) created by this load / found already there and left as they were.
    """

    data: DemoData
    written: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)


# --- writing ------------------------------------------------------------------------------------------


def _write_configuration(data: DemoData, summary: LoadSummary) -> None:
    """Units, policy, settings, groups, queues, hotlines, accounts and API keys, each through the admin
    service (``vkyc.services.admin``): the same schema, checks and audit log as the admin API. What is
    stored as the file says is left alone (no write, no audit entry), so a reload changes nothing."""
    caller = AdminCaller(ACTOR)
    config = AdminService()
    written: dict[str, int] = {}

    def count(kind: str, changed: bool) -> None:
        written[kind] = written.get(kind, 0) + int(changed)

    written["sub_type_policy"] = config.upsert_all(caller, POLICY, data.sub_type_policy)
    # Units first as they stand alone (a unit can only serve units that exist), then the serving map.
    stored_units = {item.unit_id for item in tables.Unit.scan()}
    alone = [
        UnitConfig(id=u.id, name=u.name, serves=(u.id,) if u.is_serving else ())
        for u in data.units
        if str(u.id) not in stored_units
    ]
    written["units"] = config.upsert_all(caller, UNITS, alone)
    written["units"] += config.upsert_all(caller, UNITS, [u.config() for u in data.units])
    # The whole global model, explicit nulls included, so the stored scope reads back as the file's
    # settings whatever the defaults become. A unit scope holds only what the unit overrides.
    scopes = SettingsAdmin()
    global_values = data.settings.model_dump(mode="json")
    for unit_id, values in [(None, global_values), *((u.id, u.settings) for u in data.units)]:
        if values:  # ``patch`` writes nothing (and audits nothing) when the scope already says this
            count("settings", scopes.patch(caller, unit_id, dict(values), [], None).rev != 0)
    written["groups"] = config.upsert_all(caller, GROUPS, data.groups)
    written["queues"] = config.upsert_all(caller, QUEUES, data.queues)
    written["hotlines"] = config.upsert_all(caller, HOTLINES, data.hotlines)
    people = PeopleService()
    specs = [
        *(
            UserConfig(
                username=a.username,
                name=a.name,
                role=UserRole.AGENT,
                unit=a.unit,
                groups=a.groups,
                password=a.password,
            )
            for a in data.agents
        ),
        *(
            UserConfig(
                username=s.username, name=s.name, role=UserRole.SUPERVISOR, unit=s.unit, password=s.password
            )
            for s in data.supervisors
        ),
        *(
            UserConfig(
                username=a.username, name=a.name, role=UserRole.ADMIN, unit=a.unit, password=a.password
            )
            for a in data.admins
        ),
    ]
    agents = {a.username for a in data.agents}
    summary.created["agents"] = summary.kept["agents"] = 0
    stored = {user.username: user for user in tables.User.scan()}  # one Scan, not a read per account
    states = {agent.agent_id: agent for agent in tables.Agent.scan()}
    for spec in specs:
        user = stored.get(spec.username)
        count("users", _write_user(people, caller, spec, user, states.get(spec.username)))
        if spec.username in agents:
            (summary.created if user is None else summary.kept)["agents"] += 1
    for api_key in data.api_keys:
        count("api_keys", people.import_key(caller, api_key.unit, api_key.name, api_key.key))
    summary.written.update(written)


def _write_user(
    people: PeopleService,
    caller: AdminCaller,
    spec: UserConfig,
    user: tables.User | None,
    agent: tables.Agent | None,
) -> bool:
    """Create the account, or bring ``user`` (as stored) to what the file says. A stored password hash
    that still verifies is kept (a fresh salt would change the item on every load, and scrypt costs
    ~50 ms)."""
    assert spec.password is not None
    if user is None:
        people.create_user(caller, spec)
        return True
    view = people.view(user, agent if user.agent_id else None)
    change = UserUpdate(name=spec.name, role=spec.role, unit=spec.unit, groups=spec.groups)
    changed = False
    if (view.name, view.role, view.unit, view.groups) != (
        spec.name,
        spec.role,
        spec.unit,
        tuple(sorted(spec.groups)),
    ):
        people.update_user(caller, spec.username, change, None)
        changed = True
    try:
        verifies = bool(user.password_hash) and verify(spec.password, user.password_hash)
    except MalformedHashError:
        verifies = False
    if not verifies:
        people.reset_password(caller, spec.username, spec.password, None, must_change=False)
        changed = True
    if view.disabled:
        people.set_disabled(caller, spec.username, False, None)
        changed = True
    return changed


def _path_from_initial(target: DossierState) -> list[tuple[DossierState, DossierEvent]]:
    """The shortest event path from the machine's initial state to ``target``: ``[(state, event), ...]``
    where ``event`` leaves ``state``. Derived from the table, so it follows any change of the machine."""
    previous: dict[DossierState, tuple[DossierState, DossierEvent]] = {}
    todo = deque([DOSSIER.initial])
    seen = {DOSSIER.initial}
    while todo:
        state = todo.popleft()
        for (source, event), after in DOSSIER.table.items():
            if source == state and after not in seen:
                seen.add(after)
                previous[after] = (source, event)
                todo.append(after)
    if target != DOSSIER.initial and target not in previous:
        raise ValueError(f"dossier state {target.value!r} cannot be reached from {DOSSIER.initial.value!r}")
    path: list[tuple[DossierState, DossierEvent]] = []
    state = target
    while state != DOSSIER.initial:
        source, event = previous[state]
        path.append((source, event))
        state = source
    return path[::-1]


def _request_id(dossier_id: str, step: int, event: DossierEvent | None) -> str:
    """The request id of step ``step`` (0 = creation) of a demo dossier's walk: fixed, so reruns are
    recognised by the transition layer and by ``_write_dossier``."""
    return f"demo:{dossier_id}:{step}:{event.value if event else 'create'}"


def _write_dossier(repo: DossierRepository, d: Dossier, at: datetime) -> bool:
    """Create the dossier and walk it to its demo state.

    Returns True if this call wrote anything (created it, or finished a walk an earlier load left
    half-done), False if it was already there (kept). A dossier whose last write was not the loader's
    (a demo user moved it) is kept as it is, even if its state lies on the demo path: a reload must not
    rewind a live demo.
    """
    path = _path_from_initial(d.state)
    item = repo.find(d.id)
    wrote = False
    if item is None:
        item = repo.create(
            d.id,
            unit_id=str(d.unit),
            request_id=_request_id(d.id, 0, None),
            actor=ACTOR,
            subscriber=d.customer.subscriber_number,
            sub_type=d.customer.sub_type,
            customer_type=d.customer.customer_type.value,
            payment_type=d.customer.payment_type.value,
            kyc_at_counter=d.counter_kyc_required,
            customer=tables.CustomerInfo(name=d.customer.name, id_number=d.customer.id_number),
            images=tables.DossierImages(
                id_front_key=d.images.id_front_key,
                id_back_key=d.images.id_back_key,
                portrait_key=d.images.portrait_key,
            ),
            dealer_account=d.dealer_account,
            note=d.note,
            reason="demo data",
            at=at,
        )
        wrote = True
    # Step k of the walk leaves path[k][0]; the loader reached it with request id k (0 = creation).
    done = next(
        (
            k
            for k, (state, _) in enumerate(path)
            if item.state == state.value
            and item.last_request_id == _request_id(d.id, k, path[k - 1][1] if k else None)
        ),
        None,
    )
    if done is None:
        return wrote  # at its demo state already, or moved by someone else: leave it
    for k in range(done, len(path)):
        event = path[k][1]
        last = k == len(path) - 1
        repo.transition(
            item,
            event,
            request_id=_request_id(d.id, k + 1, event),
            actor=ACTOR,
            reason=(d.note or "demo data") if last else "demo data",
            decided_by=ACTOR if last and event in DOSSIER_DECISIONS else None,
            at=at,
        )
    return True


def write_demo_data(data: DemoData, *, at: datetime | None = None) -> LoadSummary:
    """Write ``data`` into the bound tables (``vkyc.repositories.tables``); return what was done.

    Idempotent (see the module docstring). Raises PynamoDB / repository errors if a table is missing or
    unreachable; a failure part-way leaves what was written, and a rerun completes it.
    """
    when = at or datetime.now(UTC)
    summary = LoadSummary(data)
    _write_configuration(data, summary)

    dossiers = DossierRepository()
    created = kept = 0
    for dossier in data.dossiers:
        if _write_dossier(dossiers, dossier, when):
            created += 1
        else:
            kept += 1
    summary.created["dossiers"], summary.kept["dossiers"] = created, kept
    return summary


def load_demo(path: str | Path = DEMO_FILE) -> LoadSummary:
    """Validate the file, then write it. A file that fails validation raises ``DemoDataError`` and
    writes nothing."""
    return write_demo_data(load_demo_file(path))


# --- the summary ------------------------------------------------------------------------------------


def _table(rows: Iterable[Sequence[str]], header: Sequence[str]) -> list[str]:
    all_rows = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(header))]
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in all_rows
    ]


def summary_text(summary: LoadSummary) -> str:
    """The text ``make up`` prints: units and who serves them, logins with their demo passwords, API keys."""
    data = summary.data
    names = {u.id: u.name for u in data.units}
    lines = ["Demo data loaded. Demo secrets only: never reuse them.", "", "Units:"]
    unit_rows = []
    for unit in data.units:
        serving = data.serving_unit_of(unit.id)
        if unit.is_serving:
            answered = "agent team; answers units " + ", ".join(str(u) for u in unit.serves)
        elif serving is not None:
            answered = f"answered by unit {serving}"
        else:
            answered = "answered by no unit"
        unit_rows.append((str(unit.id), unit.name, answered))
    lines += _table(unit_rows, ("id", "name", "serving"))
    lines += ["", "Agents (TĐV):"]
    lines += _table(
        ((a.username, a.password, f"{a.unit} {names[a.unit]}", ", ".join(a.groups)) for a in data.agents),
        ("username", "password", "unit", "groups"),
    )
    lines += ["", "Supervisors:"]
    lines += _table(
        ((s.username, s.password, f"{s.unit} {names[s.unit]}") for s in data.supervisors),
        ("username", "password", "unit"),
    )
    lines += ["", "Administrators (web/admin.html, the admin API /admin/v1):"]
    lines += _table(
        (
            (a.username, a.password, f"{a.unit} {names[a.unit]}" if a.unit else "* (system-wide)")
            for a in data.admins
        ),
        ("username", "password", "unit"),
    )
    lines += ["", "Integrator API keys (per unit):"]
    lines += _table(((str(k.unit), k.name, k.key) for k in data.api_keys), ("unit", "integrator", "key"))
    states = ", ".join(
        f"{d.id} {d.state.value}{' (counter KYC)' if d.counter_kyc_required else ''}" for d in data.dossiers
    )
    lines += ["", f"Dossiers: {states}"]
    created = ", ".join(f"{k} {v}" for k, v in summary.created.items())
    kept = ", ".join(f"{k} {v}" for k, v in summary.kept.items())
    lines += [f"Created: {created}; already there, kept: {kept}."]
    return "\n".join(lines)


def print_summary(summary: LoadSummary, file: TextIO | None = None) -> None:
    """Print ``summary_text`` to ``file`` (default: standard output)."""
    print(summary_text(summary), file=file or sys.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m local.demo.load [path]``: validate, write, print. Exit 2 on invalid data."""
    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[0]) if args else DEMO_FILE
    try:
        summary = load_demo(path)
    except DemoDataError as exc:
        print(exc, file=sys.stderr)
        return 2
    print_summary(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
