"""Every endpoint of the REST API, declared once: ``functions/*/app.py`` bind a handler to each, and
``docs/openapi.json`` is generated from this list (``python -m vkyc.api.openapi``). A unit test checks
that the apps serve exactly these endpoints.
"""

from __future__ import annotations

from vkyc.api.admin_endpoints import ADMIN
from vkyc.api.integrator_endpoints import V1
from vkyc.api.routes import Endpoint
from vkyc.protocol import rest
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
    # -- the integrator API (functions/integrations) --
    *V1,
    # -- the admin API (functions/admin) --
    *ADMIN,
)
assert len({e.name for e in ALL}) == len(ALL), "duplicate endpoint name"
