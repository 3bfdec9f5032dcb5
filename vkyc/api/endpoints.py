"""Every endpoint of the REST API, declared once: ``functions/*/app.py`` bind a handler to each, and
``docs/openapi.json`` is generated from this list (``python -m vkyc.api.openapi``). A unit test checks
that the apps serve exactly these endpoints.
"""

from __future__ import annotations

from vkyc.api.integrator_endpoints import KEY, V1
from vkyc.api.routes import Endpoint
from vkyc.protocol import report_rest, rest
from vkyc.protocol.messages import Role
from vkyc.services.auth import LoginRequest, MobileTokenRequest, NodeTokenRequest

STAFF = frozenset({Role.AGENT, Role.SUPERVISOR})
SUPERVISORS = frozenset({Role.SUPERVISOR})

# -- tokens (functions/signaling) ----------------------------------------------------------------------

MOBILE_TOKEN = Endpoint(
    name="mobile_token",
    method="POST",
    path="/auth/mobile",
    summary="A token for the mobile SDK (called by the integrator backend)",
    description="The token lives 10 minutes: the app connects right away. The call is attributed to the "
    "unit of the API key; the dossier must belong to it. Wrong keys count against the source address "
    "(docs/security.md).",
    body=MobileTokenRequest,
    response=rest.Grant,
    api_key=True,
    errors=("AUTH_REQUIRED", "API_KEY_INVALID", "NOT_FOUND", "DOSSIER_OTHER_UNIT", "TOO_MANY_ATTEMPTS"),
    tags=("tokens",),
)
LOGIN = Endpoint(
    name="login",
    method="POST",
    path="/auth/login",
    summary="Agents and supervisors log in",
    description="The token lives 12 hours; it is also the bearer token of the reads. Failures count per "
    "account and per source address: past the allowance the account or address is locked for a time "
    "that doubles with each further failure, and even the right password is refused meanwhile "
    "(`TOO_MANY_ATTEMPTS`, `Retry-After`; docs/security.md).",
    body=LoginRequest,
    response=rest.Grant,
    errors=(
        "INVALID_CREDENTIALS",
        "ACCOUNT_DISABLED",
        "AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL",
        "TOO_MANY_ATTEMPTS",
    ),
    tags=("tokens",),
)
NODE_TOKEN = Endpoint(
    name="node_token",
    method="POST",
    path="/auth/node",
    summary="A token for a media node",
    description="The token lives 24 hours. Failures count per node id and per source address.",
    body=NodeTokenRequest,
    response=rest.Grant,
    errors=("INVALID_CREDENTIALS", "TOO_MANY_ATTEMPTS"),
    tags=("tokens",),
)

LOGOUT = Endpoint(
    name="logout",
    method="POST",
    path="/auth/logout",
    summary="Log out: the bearer token is revoked",
    description="The token is refused from now on, at `$connect` and on every REST call "
    "(`TOKEN_REVOKED`), and the WebSocket sessions it opened end (`session.ended`, reason `logged_out`). "
    "Other tokens of the same account are not touched. Sending `session.bye` on the socket revokes the "
    "token the same way. Idempotent: logging out again with the same token answers `TOKEN_REVOKED`.",
    response=rest.LoggedOut,
    roles=STAFF,
    tags=("tokens",),
)

# -- reads (functions/reports) -------------------------------------------------------------------------

HEALTH = Endpoint(
    name="health",
    method="GET",
    path="/health",
    summary="Whether the dependencies answer",
    description="Checks DynamoDB (every table is there) and the media bucket; a failure answers "
    "`SERVICE_UNAVAILABLE` naming each failed dependency. Kept 5 s per container.",
    response=rest.Health,
    tags=("reads",),
)
UNITS = Endpoint(
    name="units",
    method="GET",
    path="/units",
    summary="The units and who serves whom",
    response=rest.Units,
    tags=("reads",),
)
ME = Endpoint(
    name="me",
    method="GET",
    path="/me",
    summary="Who the token is, its reach, an agent's status and current work, and the page's settings",
    response=rest.Me,
    roles=STAFF,
    tags=("reads",),
)
DOSSIER = Endpoint(
    name="dossier",
    method="GET",
    path="/dossiers/{dossier_id}",
    summary="A dossier of the caller's units, with pre-signed image URLs",
    description="A dossier of a unit the caller does not serve answers `NOT_FOUND`, as one that does not "
    "exist: ids are not probed.",
    params=rest.DossierPath,
    response=rest.DossierDetail,
    roles=STAFF,
    errors=("NOT_FOUND",),
    tags=("reads",),
)
CALL = Endpoint(
    name="call",
    method="GET",
    path="/calls/{call_id}",
    summary="One call for a supervisor: timeline, offers, snapshots, recording",
    description="A call of a unit the supervisor does not serve answers `CALL_NOT_FOUND`, as one that "
    "does not exist: ids are not probed.",
    params=rest.CallPath,
    response=rest.CallDetail,
    roles=SUPERVISORS,
    errors=("CALL_NOT_FOUND",),
    tags=("reads",),
)
CALLS_PER_HOUR = Endpoint(
    name="calls_per_hour",
    method="GET",
    path="/reports/calls-per-hour",
    summary="Inbound calls of one local day per hour: answered, missed, service level against its target",
    query=rest.CallsPerHourQuery,
    response=rest.CallsPerHour,
    roles=SUPERVISORS,
    errors=("UNIT_NOT_SERVED",),
    tags=("reports",),
)
AUTH_EVENTS = Endpoint(
    name="auth_events",
    method="GET",
    path="/reports/auth-events",
    summary="The login audit trail of one local day: successes, failures, lockouts, tokens",
    description="Events are filed under the unit of the account or API key concerned; a supervisor reads "
    "those of the units it serves, an admin every unit's and `*` (no known unit). Kept 90 days.",
    query=rest.AuthEventsQuery,
    response=rest.AuthEvents,
    roles=SUPERVISORS,
    errors=("UNIT_NOT_SERVED",),
    tags=("reports",),
)

# -- reports on the aggregates (functions/reports; definitions in docs/reports.md) ---------------------

REPORT_CODES = (
    "UNIT_NOT_SERVED",
    "NOT_FOUND",
    "REPORT_RANGE_TOO_LONG",
    "REPORT_FILTERS_UNSUPPORTED",
)
_READERS = (
    "Supervisors read the units their unit serves, admins every unit, an integrator (its API key instead of "
    "a bearer token) its key's unit. A `unit_id` outside the reach answers `UNIT_NOT_SERVED` and no data; "
    "a queue, group or agent outside it `NOT_FOUND`. With `Accept: text/csv` the same report comes as "
    "CSV (UTF-8 with a byte-order mark, so that Excel shows Vietnamese), generated row by row."
)
REPORT_SUMMARY = Endpoint(
    name="report_summary",
    method="GET",
    path="/reports/summary",
    summary="Figures of a range in total and per bucket: queue, service level, handling, decisions, evidence",
    description="Read from the aggregates the tables' change streams keep (docs/reports.md): the cost "
    "depends on the range, never on the number of calls. Buckets are in the time zone of the unit asked "
    "(else the caller's). " + _READERS,
    query=report_rest.SummaryQuery,
    response=report_rest.Summary,
    roles=SUPERVISORS,
    api_key=True,
    key_schemes=KEY,
    csv=True,
    errors=REPORT_CODES,
    tags=("reports",),
)
REPORT_AGENTS = Endpoint(
    name="report_agents",
    method="GET",
    path="/reports/agents",
    summary="Each agent's work and time per state over a range, up to now",
    description=_READERS,
    query=report_rest.AgentsQuery,
    response=report_rest.AgentsReport,
    roles=SUPERVISORS,
    api_key=True,
    key_schemes=KEY,
    csv=True,
    errors=REPORT_CODES,
    tags=("reports",),
)
REPORT_CALLS = Endpoint(
    name="report_calls",
    method="GET",
    path="/reports/calls",
    summary="The call list: a range's calls newest first, filtered, by pages (CSV: every page)",
    description="Served from the calls' indexes (a unit's, an agent's, a subscriber's, a dossier's), "
    "never a scan: a page reads at most `limit` index entries per unit. " + _READERS,
    query=report_rest.CallsQuery,
    response=report_rest.CallList,
    roles=SUPERVISORS,
    api_key=True,
    key_schemes=KEY,
    csv=True,
    errors=REPORT_CODES,
    tags=("reports",),
)
REPORT_ERRORS = Endpoint(
    name="report_errors",
    method="GET",
    path="/reports/errors",
    summary="Calls that ended by an error, grouped by how they ended, with the newest call ids",
    description="Counts from the aggregates; for each group the newest call ids (at most 20), to open "
    "with `GET /calls/{call_id}`. " + _READERS,
    query=report_rest.ErrorsQuery,
    response=report_rest.ErrorsReport,
    roles=SUPERVISORS,
    api_key=True,
    key_schemes=KEY,
    csv=True,
    errors=REPORT_CODES,
    tags=("reports",),
)

ALL = (
    MOBILE_TOKEN,
    LOGIN,
    NODE_TOKEN,
    LOGOUT,
    HEALTH,
    UNITS,
    ME,
    DOSSIER,
    CALL,
    CALLS_PER_HOUR,
    AUTH_EVENTS,
    REPORT_SUMMARY,
    REPORT_AGENTS,
    REPORT_CALLS,
    REPORT_ERRORS,
    # -- the integrator API (functions/integrations) --
    *V1,
)
assert len({e.name for e in ALL}) == len(ALL), "duplicate endpoint name"
