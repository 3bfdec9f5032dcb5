"""Write the demo data into vkyc's tables, and print what a newcomer needs to log in.

``write_demo_data(data)`` takes an already validated ``DemoData`` (``schema.load_demo_file``), so a broken
file is refused before anything is written. ``load_demo(path)`` does both. ``python -m local.demo.load
[path]`` loads into the tables of the current environment (``vkyc.env``; they must exist, see
``vkyc.repositories.tables.create_all``) and prints the summary.

Idempotent: every item is written under an id taken from the file (unit number, group/queue id, hotline
number, username, dossier id, SUB_TYPE, API key digest), so loading twice leaves the same items.
- Configuration (units, groups, queues, hotlines, policy, settings, credentials, API keys) is upserted:
  the file wins. Nothing the file does not mention is deleted.
- Stateful items (agents, dossiers) are created through ``vkyc.repositories`` with their transition log,
  and left alone once they exist, so reloading never rewinds a live demo. A demo dossier in state A is
  created in N and walked N → W → A through the real machine, each step logged with actor ``demo-loader``
  and a request id derived from the dossier and the event (a half-finished load resumes where it stopped).

Stopgaps (the tables have no place for these yet; reported to the tables' owner). They are kept in the
``settings`` table under scopes of their own, never ``global`` / ``unit#…``, so a settings read never sees
them:
- ``credential`` / ``<username>``: ``{"role", "unit_id", "name", "password_hash"}`` (scrypt) for agents
  and supervisors (``Agent`` has no password field; supervisors have no table).
- ``api_key`` / ``sha256$<hex>``: ``{"unit_id", "name"}`` (no API key table).
- ``queue#<queue_id>`` / ``routing``: ``{"groups": [{"group", "priority", "overflow_after_s"}],
  "auto_ticket"}`` (``Queue`` keeps only a set of group ids).
- ``dossier#<dossier_id>`` / ``details``: customer name, ID number, payment type, dealer account, image
  keys, note (``Dossier`` keeps only subscriber, SUB_TYPE, customer type and the counter flag).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pynamodb.models import Model

from local.demo.schema import DEMO_FILE, DemoData, DemoDataError, Dossier, load_demo_file
from vkyc.domain.agent import AGENT
from vkyc.domain.dossier import DECISION_EVENTS, DOSSIER, DossierEvent, DossierState
from vkyc.repositories import tables
from vkyc.repositories.agents import AgentRepository
from vkyc.repositories.dossiers import DossierRepository
from vkyc.security.passwords import MalformedHashError, api_key_digest, hash_password, verify

ACTOR = "demo-loader"
DOSSIER_DECISIONS = frozenset(DECISION_EVENTS.values())

# Stopgap scopes in the settings table (see the module docstring).
CREDENTIAL_SCOPE = "credential"
API_KEY_SCOPE = "api_key"
GLOBAL_SCOPE = "global"


def unit_scope(unit_id: int | str) -> str:
    return f"unit#{unit_id}"


def queue_scope(queue_id: str) -> str:
    return f"queue#{queue_id}"


def dossier_scope(dossier_id: str) -> str:
    return f"dossier#{dossier_id}"


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


def _setting(scope: str, name: str, value: Any, at: datetime) -> tables.Setting:
    return tables.Setting(scope, name, value=value, updated_at=at, updated_by=ACTOR)


def _config_items(data: DemoData, at: datetime) -> dict[str, list[Model]]:
    """Every configuration item, by kind. Builds the items only; writes nothing."""
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
    groups: list[Model] = [tables.Group(g.id, unit_id=str(g.unit), name=g.name) for g in data.groups]
    queues: list[Model] = [
        tables.Queue(
            q.id,
            unit_id=str(q.unit),
            name=q.name,
            group_ids={qg.group for qg in q.groups},
            timeout_s=data.unit_settings(q.unit).queue_timeout_s,
        )
        for q in data.queues
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
    # ``Setting.value`` cannot hold JSON null (PynamoDB skips None), so None-valued fields are not
    # stored: absent means the ``CallSettings`` default. TOML has no null, so a file never sets one.
    settings: list[Model] = [
        _setting(GLOBAL_SCOPE, name, value, at)
        for name, value in data.settings.model_dump(mode="json").items()
        if value is not None
    ]
    for unit in data.units:
        if unit.settings:
            # Store the validated (normalized) values of the overridden fields only.
            merged = data.unit_settings(unit.id).model_dump(mode="json", include=set(unit.settings))
            settings += [
                _setting(unit_scope(unit.id), name, value, at)
                for name, value in merged.items()
                if value is not None
            ]
    stopgaps: list[Model] = [
        _setting(
            queue_scope(q.id),
            "routing",
            {"groups": [qg.model_dump(mode="json") for qg in q.groups], "auto_ticket": q.auto_ticket},
            at,
        )
        for q in data.queues
    ]
    stopgaps += [_setting(dossier_scope(d.id), "details", _dossier_details(d), at) for d in data.dossiers]
    api_keys: list[Model] = [
        _setting(API_KEY_SCOPE, api_key_digest(k.key), {"unit_id": str(k.unit), "name": k.name}, at)
        for k in data.api_keys
    ]
    return {
        "units": units,
        "groups": groups,
        "queues": queues,
        "hotlines": hotlines,
        "sub_type_policy": policy,
        "settings": settings,
        "queue_routing+dossier_details": stopgaps,
        "api_keys": api_keys,
    }


def _dossier_details(d: Dossier) -> dict[str, Any]:
    c = d.customer
    return {
        "customer_name": c.name,
        "id_number": c.id_number,
        "payment_type": c.payment_type.value,
        "dealer_account": d.dealer_account,
        "id_front_key": d.images.id_front_key,
        "id_back_key": d.images.id_back_key,
        "portrait_key": d.images.portrait_key,
        "note": d.note,
    }


def _credential_items(data: DemoData, at: datetime) -> list[Model]:
    """Credentials of agents and supervisors. A stored hash that still verifies is kept as it is, so a
    reload rewrites identical items (and skips ~50 ms of scrypt per person)."""
    existing: dict[str, str] = {}
    for item in tables.Setting.query(CREDENTIAL_SCOPE, consistent_read=True):
        value = item.value if isinstance(item.value, dict) else {}
        existing[item.name] = str(value.get("password_hash", ""))
    people = [("agent", a.username, a.unit, a.name, a.password) for a in data.agents]
    people += [("supervisor", s.username, s.unit, s.name, s.password) for s in data.supervisors]
    items: list[Model] = []
    for role, username, unit, name, password in people:
        stored = existing.get(username, "")
        try:
            password_hash = stored if stored and verify(password, stored) else hash_password(password)
        except MalformedHashError:  # a corrupt stored hash is simply replaced
            password_hash = hash_password(password)
        value = {"role": role, "unit_id": str(unit), "name": name, "password_hash": password_hash}
        items.append(_setting(CREDENTIAL_SCOPE, username, value, at))
    return items


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
            kyc_at_counter=d.counter_kyc_required,
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
    for kind, items in _config_items(data, when).items():
        _batch_put(items)
        summary.written[kind] = len(items)
    credentials = _credential_items(data, when)
    _batch_put(credentials)
    summary.written["credentials"] = len(credentials)

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
