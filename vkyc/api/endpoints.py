"""Every endpoint of the REST API, declared once: ``functions/*/app.py`` bind a handler to each, and
``docs/openapi.json`` is generated from this list (``python -m vkyc.api.openapi``). A unit test checks
that the apps serve exactly these endpoints.
"""

from __future__ import annotations

from vkyc.api.admin_endpoints import ADMIN
from vkyc.api.integrator_endpoints import KEY, V1
from vkyc.api.routes import Endpoint
from vkyc.protocol import report_rest, rest, v1
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
    "(`TOO_MANY_ATTEMPTS`, `Retry-After`; docs/security.md). After an admin reset the password, the "
    "login must also give `new_password` (`PASSWORD_CHANGE_REQUIRED` until it does).",
    body=LoginRequest,
    response=rest.Grant,
    errors=(
        "INVALID_CREDENTIALS",
        "ACCOUNT_DISABLED",
        "AGENT_NOT_FOUND_OR_IN_ANOTHER_CALL",
        "TOO_MANY_ATTEMPTS",
        "PASSWORD_CHANGE_REQUIRED",
        "LOGGED_IN_ELSEWHERE",
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

# -- the agent's workspace (issue #16; functions/reports) ----------------------------------------------

AGENTS = frozenset({Role.AGENT})

MY_CALLS = Endpoint(
    name="my_calls",
    method="GET",
    path="/me/calls",
    summary="The agent's own day: handled, missed, average handle time, and the day's calls with a search",
    description="`missed` counts the offers the agent rejected or let ring out that day; `handled` the "
    "calls the agent answered (inbound and call-backs); `average_handle_s` runs from the answer to the end.",
    query=rest.MyCallsQuery,
    response=rest.MyDay,
    roles=AGENTS,
    tags=("reads",),
)
DOSSIER_SEARCH = Endpoint(
    name="dossier_search",
    method="GET",
    path="/dossiers",
    summary="Find dossiers of the caller's units by id or by subscriber number",
    description="A subscriber number in any spelling finds the dossiers of that subscriber's most recent "
    "calls. Dossiers of units the caller does not serve are never listed.",
    query=rest.DossierSearchQuery,
    response=rest.DossierSearch,
    roles=STAFF,
    tags=("reads",),
)
QUEUES_WAITING = Endpoint(
    name="queues_waiting",
    method="GET",
    path="/queues/waiting",
    summary="The calls waiting in each queue of the supervisor's units, with their dossiers",
    response=rest.WaitingQueues,
    roles=SUPERVISORS,
    tags=("reads",),
)
WORKSPACE = (MY_CALLS, DOSSIER_SEARCH, QUEUES_WAITING)
# -- tickets for missed calls, the agent's side (functions/reports; seed 004) --------------------------

AGENT_TICKETS = Endpoint(
    name="agent_tickets",
    method="GET",
    path="/tickets",
    summary="The tickets for missed calls an agent may work on (call the customer back from one)",
    description="Not done, of the agent's serving unit, assigned to the agent, to one of the agent's "
    "groups, or to anyone; oldest first, at most 100: every ticket assigned to the agent by name (the "
    "100 oldest), then the oldest of their groups' and anyone's to make up 100. A supervisor gets an "
    "empty list. Start the call-back with `callback.start` and the ticket's `dossier_id` "
    "(docs/protocol.md): the ticket goes `in_progress`, and `done` once the call-back is answered and "
    "the dossier decided (docs/tickets.md).",
    response=v1.AgentTickets,
    roles=STAFF,
    tags=("reads",),
)

# -- the popup answer URL, the agent's side (functions/reports; seed 004) ------------------------------

ANSWER_URL = Endpoint(
    name="answer_url",
    method="GET",
    path="/calls/{call_id}/answer-url",
    summary="For the agent who answered a call: the unit's popup answer URL and iframe URL, filled in",
    description="The agent page asks once the call is answered and opens `url` in a new tab or a panel "
    "(`target`), `iframe_url` in the panel. Fields: userId, hotline, customerNumber, isCallOut, "
    "timeAnswer (Unix ms), callId (vkyc.domain.answer_url). Another agent's call, or one not answered, "
    "answers `CALL_NOT_FOUND`; a template that does not give an http(s) URL, "
    "`REQUEST_ANSWER_URL_ERROR` with the call id (the page also reports that code when it cannot open "
    "the URL).",
    params=rest.CallPath,
    response=rest.AnswerUrls,
    roles=frozenset({Role.AGENT}),
    errors=("CALL_NOT_FOUND", "REQUEST_ANSWER_URL_ERROR"),
    tags=("reads",),
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
    *WORKSPACE,
    AGENT_TICKETS,
    ANSWER_URL,
    REPORT_SUMMARY,
    REPORT_AGENTS,
    REPORT_CALLS,
    REPORT_ERRORS,
    # -- the integrator API (functions/integrations) --
    *V1,
    # -- the admin API (functions/admin) --
    *ADMIN,
)
assert len({e.name for e in ALL}) == len(ALL), "duplicate endpoint name"
