"""Write the demo data into vkyc's tables, and print what a newcomer needs to log in.

``write_demo_data(data)`` takes an already validated ``DemoData`` (``schema.load_demo_file``), so a broken
file is refused before anything is written. ``load_demo(path)`` does both. ``python -m local.demo.load
[path]`` loads into the tables of the current environment (``vkyc.env``; they must exist, see
``vkyc.repositories.tables.create_all``) and prints the summary.

Where each part of the file goes:
- ``units``, ``groups`` (with their routing conditions), ``hotlines``, ``sub_type_policy``: their
  tables, one item each.
- ``queues``: ``queues`` (``vkyc.repositories.queues``), with the ordered groups (priority, overflow
  delay) and ``auto_ticket``; ``timeout_s`` is left absent, so the unit's ``queue_timeout_s`` applies.
- ``settings`` and ``units[].settings``: ``settings`` (``vkyc.repositories.settings``); the global scope
  gets every field, explicit nulls included, a unit scope exactly the fields it overrides.
- ``agents`` / ``supervisors``: an ``Agent`` state item (agents only) and a ``users`` account with a
  scrypt hash of the password (``vkyc.repositories.users``).
- ``api_keys``: ``api_keys`` under the key's SHA-256 digest (``vkyc.repositories.api_keys``).
- ``dossiers``: ``Dossier`` items with the customer, the image keys, the dealer account and the note.

Idempotent: every item is written under an id taken from the file (unit number, group/queue id, hotline
number, username, dossier id, SUB_TYPE, API key digest), so loading twice leaves the same items.
- Configuration (units, groups, queues, hotlines, policy, settings, users, API keys) is upserted: the
  file wins. Nothing the file does not mention is deleted. A stored password hash that still verifies
  is kept (a fresh salt would change the item on every load), and creation times are set once.
- Stateful items (agents, dossiers) are created through ``vkyc.repositories`` with their transition log,
  and left alone once they exist, so reloading never rewinds a live demo (nor rewrites a dossier's
  customer data). A demo dossier in state A is created in N and walked N → W → A through the real
  machine, each step logged with actor ``demo-loader`` and a request id derived from the dossier and the
  event (a half-finished load resumes where it stopped).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from pynamodb.models import Model

from local.demo.schema import DEMO_FILE, DemoData, DemoDataError, Dossier, load_demo_file
from vkyc.domain.agent import AGENT
from vkyc.domain.dossier import DECISION_EVENTS, DOSSIER, DossierEvent, DossierState
from vkyc.domain.roles import UserRole
from vkyc.repositories import api_keys, queues, settings, tables, users
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.security.passwords import MalformedHashError, api_key_digest, hash_password, verify

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


def _batch_put(items: Sequence[Model]) -> None:
    """Upsert items of one model in batches of 25 (PynamoDB retries unprocessed items)."""
    if not items:
        return
    with type(items[0]).batch_write() as batch:
        for item in items:
            batch.save(item)


def _config_items(data: DemoData) -> dict[str, list[Model]]:
    """The configuration items that have no repository of their own, by kind. Writes nothing."""
    units: list[Model] = []
    for unit in data.units:
        serving = data.serving_unit_of(unit.id)
        units.append(
            tables.Unit(
                str(unit.id),
                name=unit.name,
                # The table's convention: absent = served by itself.
                served_by=str(serving) if serving is not None and serving != unit.id else None,
                has_agents=unit.is_serving,
                device_limit=data.unit_settings(unit.id).device_licence_limit,
            )
        )
    groups: list[Model] = [
        tables.Group(
            g.id,
            unit_id=str(g.unit),
            name=g.name,
            # DynamoDB stores no empty set; None = any call (no condition).
            customer_types={str(t) for t in g.customer_types} or None,
            sub_types=set(g.sub_types) or None,
            dealer_channels=set(g.dealer_channels) or None,
        )
        for g in data.groups
    ]
    hotlines: list[Model] = [
        tables.Hotline(
            h.number,
            unit_id=str(h.unit),
            name=h.name,
            queue_id=h.queue,
            allow_call_out=h.allow_call_out,
            # DynamoDB stores no empty set; None = every group of the unit may call out.
            call_out_group_ids=set(h.call_out_groups) if h.call_out_groups else None,
        )
        for h in data.hotlines
    ]
    policy: list[Model] = [
        tables.SubTypePolicy(r.sub_type, name=r.name, icc_profile=r.icc_profile, khcn=r.khcn, khdn=r.khdn)
        for r in data.sub_type_policy
    ]
    return {"units": units, "groups": groups, "hotlines": hotlines, "sub_type_policy": policy}


def _write_queues(data: DemoData) -> int:
    for q in data.queues:
        queues.put_queue(
            q.id,
            unit_id=str(q.unit),
            name=q.name,
            groups=[
                tables.QueueGroup(group_id=g.group, priority=g.priority, overflow_after_s=g.overflow_after_s)
                for g in q.groups
            ],
            auto_ticket=q.auto_ticket,
        )
    return len(data.queues)


def _write_settings(data: DemoData, at: datetime) -> int:
    # The whole global model, explicit nulls included, so the stored scope reads back as the file's
    # settings whatever the defaults become. A unit scope holds only what the unit overrides.
    written = len(settings.put_settings(data.settings.model_dump(mode="json"), by=ACTOR, at=at))
    for unit in data.units:
        written += len(settings.put_settings(unit.settings, unit_id=str(unit.id), by=ACTOR, at=at))
    return written


def _password_hash(username: str, password: str) -> str:
    """The stored hash if it still verifies ``password`` (a reload then rewrites an identical item and
    skips ~50 ms of scrypt), else a new one. A corrupt stored hash is simply replaced."""
    user = users.find_user(username)
    if user is not None and user.password_hash:
        try:
            if verify(password, user.password_hash):
                return user.password_hash
        except MalformedHashError:
            pass
    return hash_password(password)


def _write_users(data: DemoData, at: datetime) -> int:
    """Accounts of agents (after their ``Agent`` items, so an account never names a missing agent) and
    supervisors. Agent ids are the usernames."""
    for a in data.agents:
        users.put_user(
            a.username,
            role=UserRole.AGENT,
            unit_id=str(a.unit),
            display_name=a.name,
            password_hash=_password_hash(a.username, a.password),
            agent_id=a.username,
            at=at,
        )
    for s in data.supervisors:
        users.put_user(
            s.username,
            role=UserRole.SUPERVISOR,
            unit_id=str(s.unit),
            display_name=s.name,
            password_hash=_password_hash(s.username, s.password),
            at=at,
        )
    return len(data.agents) + len(data.supervisors)


def _write_api_keys(data: DemoData, at: datetime) -> int:
    for k in data.api_keys:
        api_keys.put_api_key(api_key_digest(k.key), unit_id=str(k.unit), name=k.name, at=at)
    return len(data.api_keys)


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
    for kind, items in _config_items(data).items():
        _batch_put(items)
        summary.written[kind] = len(items)
    summary.written["queues"] = _write_queues(data)
    summary.written["settings"] = _write_settings(data, when)
    summary.written["api_keys"] = _write_api_keys(data, when)

    agents = AgentRepository()
    created = kept = 0
    for agent in data.agents:
        if agents.find(agent.username) is not None:
            kept += 1
            continue
        item = tables.Agent(
            agent.username, unit_id=str(agent.unit), name=agent.name, group_ids=set(agent.groups)
        )
        agents.create(item, AGENT, request_id=f"demo:agent:{agent.username}:create", actor=ACTOR, at=when)
        created += 1
    summary.created["agents"], summary.kept["agents"] = created, kept
    summary.written["users"] = _write_users(data, when)

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
